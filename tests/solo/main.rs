//! Tests that need the process they run in to themselves: they fork it,
//! or set its panic hook. They live in a binary of their own without the
//! test harness (`harness = false`): `main` runs them one after another on
//! the only thread there is, so no other test's thread can hold a lock
//! across a `fork` or panic into a hook a test set. Every child is waited
//! for with a bound, so a child that hangs fails its test instead of the
//! run.
#![forbid(unsafe_code)]

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use imp::{Runtime, Value};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

type Test = (&'static str, fn());

fn main() {
    let tests: &[Test] = &[
        ("fork_while_helpers_are_busy", fork_while_helpers_are_busy),
        (
            "issue_20_a_forked_child_takes_none_of_the_parents_wake_ups",
            a_forked_child_takes_none_of_the_parents_wake_ups,
        ),
        (
            "issue_20_a_forked_child_has_none_of_the_parents_port_descriptors",
            a_forked_child_has_none_of_the_parents_port_descriptors,
        ),
        (
            "a_running_engine_is_saved_by_fork_from_rust",
            a_running_engine_is_saved_by_fork_from_rust,
        ),
        (
            "the_host_saves_by_fork_whatever_the_grants",
            the_host_saves_by_fork_whatever_the_grants,
        ),
        (
            "issue_20_11_a_native_function_s_panic_prints_nothing_unless_asked",
            a_native_function_s_panic_prints_nothing_unless_asked,
        ),
        (
            "issue_22_a_save_while_a_future_is_pending",
            a_save_while_a_future_is_pending,
        ),
        (
            "issue_23_a_host_save_keeps_the_green_threads",
            a_host_save_keeps_the_green_threads,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|x| name.contains(x.as_str())) {
            continue;
        }
        ran += 1;
        let r = std::panic::catch_unwind(f);
        println!(
            "test {name} ... {}",
            if r.is_ok() { "ok" } else { "FAILED" }
        );
        if r.is_err() {
            failed.push(*name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(101);
    }
}

/// Wait for `child` at most `secs` seconds; kill it if it is still running.
fn wait_bounded(child: Pid, secs: u64) -> WaitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let st = waitpid(child, Some(WaitPidFlag::WNOHANG)).expect("waitpid");
        if st != WaitStatus::StillAlive {
            return st;
        }
        if std::time::Instant::now() >= deadline {
            let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(child, None);
            return WaitStatus::StillAlive;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn eval(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => rt.write(&v),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

/// Forks while helper threads are busy (some hammering the registered
/// locks, some waiting for child processes, one blocked on stdin) and
/// checks that the child can take and release every registered lock and
/// go on running Scheme code, green threads included, while the parent's
/// helpers and waits are unharmed.
fn fork_while_helpers_are_busy() {
    let mut rt = Runtime::new().expect("runtime");
    eval(
        &mut rt,
        "(define sleepers
           (map (lambda (i) (thread-start! (make-thread (lambda () (process-run \"sleep\" \"0.3\")))))
                '(1 2 3)))
         (thread-sleep! 0.02)
         ;; Grown into fresh pages: the collector's prefault helper
         ;; thread runs too.
         (define big (iota 400000))",
    );
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            let (d, s) = rt.vm().os.lock_handles();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    d.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(String::new());
                    d.lock().unwrap_or_else(|e| e.into_inner()).clear();
                    s.lock().unwrap_or_else(|e| e.into_inner()).started += 0;
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let names = rt.vm().os.registry.names();
    assert!(names.len() >= 2, "{names:?}");
    match rt.vm().fork_process().expect("fork") {
        ForkResult::Child => {
            // Only this thread exists now.
            rt.vm().os.registry.check_all();
            // The sleepers' process jobs stayed with the parent's helpers:
            // their waits end with an error here, never a hang.
            let ok = rt
                .eval_str(
                    "(define m (make-mutex))
                     (define t (thread-start! (make-thread (lambda () (mutex-lock! m) (* 6 7)))))
                     (list (thread-join! t)
                           (map (lambda (s) (guard (e (#t 'failed)) (thread-join! s))) sleepers)
                           (apply + (map (lambda (x) 1) (append big big))))",
                )
                .map(|v| rt.write(&v))
                .unwrap_or_default();
            imp::fork::exit_child(if ok == "(42 (failed failed failed) 800000)" {
                0
            } else {
                1
            });
        }
        ForkResult::Parent { child } => {
            let status = wait_bounded(child, 20);
            stop.store(true, Ordering::Relaxed);
            for h in hammers {
                h.join().expect("hammer");
            }
            assert_eq!(status, WaitStatus::Exited(child, 0));
            // The parent goes on too, its helpers intact.
            let v = eval(&mut rt, "(map thread-join! sleepers)");
            assert_eq!(v, "(0 0 0)");
        }
    }
}

/// The identity of the pipe a descriptor is one end of.
fn pipe_id(fd: i32) -> (u64, u64) {
    let st = nix::sys::stat::fstat(fd).expect("fstat");
    (st.st_dev, st.st_ino)
}

// See issue #20 (item 1): the save child kept the parent's wake pipe and
// could drain its wake-ups, leaving the parent asleep with work waiting.
fn a_forked_child_takes_none_of_the_parents_wake_ups() {
    let mut rt = Runtime::new().expect("runtime");
    // A helper will complete a job (and write a wake-up) while the child
    // polls as hard as it can.
    eval(
        &mut rt,
        "(define worker (thread-start! (make-thread (lambda () (process-run \"sleep\" \"0.2\")))))",
    );
    let parent_pipe = pipe_id(rt.vm().os.wake_fd());
    match rt.vm().fork_process().expect("fork") {
        ForkResult::Child => {
            let own = pipe_id(rt.vm().os.wake_fd()) != parent_pipe;
            // Poll (and drain whatever wake pipe this is) for half a second.
            let t0 = std::time::Instant::now();
            while t0.elapsed() < std::time::Duration::from_millis(500) {
                let _ = rt.vm().os.poll(10_000);
            }
            imp::fork::exit_child(if own { 0 } else { 1 });
        }
        ForkResult::Parent { child } => {
            // The parent waits for the job with no other thread to run:
            // only the helper's wake-up can end the wait.
            let v = eval(&mut rt, "(thread-join! worker)");
            assert_eq!(v, "0");
            assert_eq!(wait_bounded(child, 20), WaitStatus::Exited(child, 0));
        }
    }
}

// See issue #20 (item 1): "drop every piece of the parent's OS state it
// must not touch". A pipe's write end left open in a child would keep the
// parent's reader from its end of file.
fn a_forked_child_has_none_of_the_parents_port_descriptors() {
    let mut rt = Runtime::new().expect("runtime");
    eval(&mut rt, "(define-values (in out) (make-pipe))");
    match rt.vm().fork_process().expect("fork") {
        ForkResult::Child => {
            // The ports refuse I/O here, naming why.
            let msg = match rt.eval_str("(write-string \"x\" out)") {
                Err(e) => e.to_string(),
                Ok(_) => String::new(),
            };
            let ok = msg.contains("parent process");
            // Stay alive a while: the parent's reader must see its end of
            // file meanwhile.
            std::thread::sleep(std::time::Duration::from_millis(500));
            imp::fork::exit_child(if ok { 0 } else { 1 });
        }
        ForkResult::Parent { child } => {
            let t0 = std::time::Instant::now();
            let v = eval(&mut rt, "(close-port out) (read-char in)");
            assert_eq!(v, "#<eof>");
            // Reached while the child still sleeps (it holds no write end).
            let early = t0.elapsed() < std::time::Duration::from_millis(500)
                || waitpid(child, Some(WaitPidFlag::WNOHANG)) == Ok(WaitStatus::StillAlive);
            assert_eq!(wait_bounded(child, 20), WaitStatus::Exited(child, 0));
            assert!(early, "the end of file waited for the child");
        }
    }
    let _ = std::io::stdout().as_raw_fd();
}

fn a_running_engine_is_saved_by_fork_from_rust() {
    let mut rt = Runtime::new().expect("runtime");
    eval(&mut rt, "(define state (list 'saved 42))");
    let dir = std::env::temp_dir().join(format!("imp-fork-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("f.img");
    let report = rt.save_forked(&path, None).expect("save");
    let key = rt.symbol("image-bytes").expect("sym");
    let entry: Value = rt.call_global("assq", (key, &report)).expect("assq");
    let bytes: i64 = rt.call_global("cdr", (entry,)).expect("bytes");
    assert_eq!(bytes as u64, std::fs::metadata(&path).expect("file").len());
    // This engine went on; the image has the state.
    eval(&mut rt, "(set! state 'changed)");
    let (mut again, _) = Runtime::from_image(&path).expect("load");
    assert_eq!(eval(&mut again, "state"), "(saved 42)");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A future the test completes by hand: pending until `open` is set.
type Gate = std::sync::Arc<std::sync::Mutex<(bool, Option<std::task::Waker>)>>;

/// Register `(wait-gate)`: an async native whose future is ready (with 7)
/// once `gate` is open.
fn register_gate(rt: &mut Runtime, gate: Gate) -> Result<(), imp::Error> {
    rt.register_async("wait-gate", move |(): ()| {
        let gate = gate.clone();
        std::future::poll_fn(move |cx| {
            let mut g = gate.lock().expect("gate");
            if g.0 {
                std::task::Poll::Ready(Ok(7))
            } else {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
    })
}

/// A green thread waits for an async native's future while the engine is
/// saved by fork: the save goes through (the child never polls the
/// future), the parent's thread gets its result once the future
/// completes, and the image, whose host registers the function again,
/// calls it anew.
fn a_save_while_a_future_is_pending() {
    let gate: Gate = Default::default();

    let mut rt = Runtime::new().expect("runtime");
    register_gate(&mut rt, gate.clone()).expect("register");
    eval(
        &mut rt,
        "(define t (thread-start! (make-thread (lambda () (wait-gate))))) (thread-yield!)",
    );
    assert_eq!(rt.pending_futures(), 1);
    let dir = std::env::temp_dir().join(format!("imp-future-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("f.img");
    rt.save_forked(&path, None).expect("save");
    // The future completes after the save; the waiting thread gets it.
    {
        let mut g = gate.lock().expect("gate");
        g.0 = true;
        if let Some(w) = g.1.take() {
            w.wake();
        }
    }
    assert_eq!(eval(&mut rt, "(thread-join! t)"), "7");
    assert_eq!(rt.pending_futures(), 0);
    let (mut again, _) = Runtime::from_image(&path).expect("load");
    register_gate(&mut again, gate.clone()).expect("register again");
    assert_eq!(eval(&mut again, "(wait-gate)"), "7");
    let _ = std::fs::remove_dir_all(&dir);
}

fn the_host_saves_by_fork_whatever_the_grants() {
    let dir = std::env::temp_dir().join(format!("imp-fork-grants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let img = dir.join("saved.img");
    let mut rt = Runtime::builder().build().expect("runtime");
    eval(&mut rt, "(define answer 42)");
    rt.save_forked(&img, None).expect("host save");
    assert!(img.exists());
    // A script in the same engine could not have.
    let x = dir.join("x.img");
    let e = rt
        .eval_str(&format!("(save-application {:?})", x.display().to_string()))
        .expect_err("refused");
    assert!(e.to_string().contains("writing files"), "{e}");
    assert!(!x.exists());
    let (mut again, _) = Runtime::from_image(&img).expect("load");
    assert_eq!(eval(&mut again, "answer"), "42");
    let _ = std::fs::remove_dir_all(&dir);
}

thread_local! {
    /// Panics the recording hook saw on this thread.
    static SEEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

// See issue #20, item 11: a panic inside a registered native function
// became the documented Scheme error, but Rust's panic hook printed its
// message and backtrace on stderr first.
fn a_native_function_s_panic_prints_nothing_unless_asked() {
    // The host's own hook: it counts the panics it is given.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| SEEN.with(|s| s.set(s.get() + 1))));
    let mut rt = Runtime::new().expect("runtime");
    rt.register(
        "boom",
        |_: &mut imp::Scope, _: ()| -> Result<i64, imp::Error> { panic!("kaboom") },
    )
    .expect("register");
    let e = rt.eval_str("(boom)").expect_err("a Scheme error");
    assert!(e.to_string().contains("kaboom"), "{e}");
    assert_eq!(SEEN.with(|s| s.get()), 0, "the host's hook saw the panic");
    // The engine goes on, and a guard catches the error.
    assert_eq!(eval(&mut rt, "(guard (e (#t 'caught)) (boom))"), "caught");
    // A host that asks sees them.
    rt.show_native_panics(true);
    let _ = rt.eval_str("(boom)");
    assert_eq!(SEEN.with(|s| s.get()), 1);
    // A panic outside a native call still reaches the host's hook.
    rt.show_native_panics(false);
    let r = std::panic::catch_unwind(|| panic!("the host's own"));
    assert!(r.is_err());
    assert_eq!(SEEN.with(|s| s.get()), 2);
    // The runtime's hook (in front of this one) stays for the process.
    drop(previous);
}

/// Issue 23, item 4: `save_forked_with(.., keep_threads(true))` from Rust
/// keeps the other green threads, and `from_image` resumes them: a
/// computation half-way, a thread asleep, a thread blocked on a channel
/// (fed from Rust in the image), a thread waiting for a host future
/// (stale there), and a mutex still held. The host drives them with
/// `join`, `run_until_idle` and `run_for`; the saving engine goes on.
fn a_host_save_keeps_the_green_threads() {
    let gate: Gate = Default::default();

    let mut rt = Runtime::new().expect("runtime");
    register_gate(&mut rt, gate.clone()).expect("register");
    eval(
        &mut rt,
        "(define steps 0)
         (define inbox (make-channel 0))
         (define m (make-mutex 'held))
         ;; Sums 1..200000 in steps, yielding between them.
         (define counter
           (thread-start! (make-thread (lambda ()
             (let loop ((i 1) (sum 0))
               (if (> i 200000) sum
                   (begin (when (= 0 (remainder i 1000)) (set! steps (+ steps 1)) (thread-yield!))
                          (loop (+ i 1) (+ sum i)))))))))
         (define sleeper (thread-start! (make-thread (lambda () (thread-sleep! 0.4) 'slept))))
         (define reader (thread-start! (make-thread (lambda () (list 'got (channel-receive inbox))))))
         (define owner (thread-start! (make-thread (lambda () (mutex-lock! m) (thread-sleep! 1000)))))
         (define waiter (thread-start! (make-thread (lambda ()
           (guard (e (#t (list 'stale (error-object-message e)))) (wait-gate))))))
         (let wait () (when (< steps 20) (thread-yield!) (wait)))",
    );
    let dir = std::env::temp_dir().join(format!("imp-host-kept-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("kept.img");
    let report = rt
        .save_forked_with(&path, &imp::SaveOptions::new().keep_threads(true))
        .expect("save");
    assert!(
        rt.write(&report).contains("image-bytes"),
        "{}",
        rt.write(&report)
    );
    assert!(!rt.threads_kept());
    // This engine goes on: its counter finishes here too.
    assert_eq!(eval(&mut rt, "(thread-join! counter)"), "20000100000");
    let started = std::time::Instant::now();
    let (mut again, top) = Runtime::from_image(&path).expect("load");
    assert!(top.is_none(), "the host's call is not the image's toplevel");
    assert!(again.threads_kept());
    register_gate(&mut again, gate.clone()).expect("register again");
    let at_load = eval(&mut again, "steps");
    let at_load: i64 = at_load.parse().expect("steps");
    assert!(
        (20..200).contains(&at_load),
        "saved half-way: {at_load} steps"
    );
    // The computation goes on from where it was.
    let counter: Value = again.global("counter").expect("counter");
    let sum: i64 = again.join(&counter).expect("join");
    assert_eq!(sum, 20_000_100_000);
    // The channel reader is still waiting; the host feeds it.
    let inbox: Value = again.global("inbox").expect("inbox");
    again.send(&inbox, "hello").expect("send");
    assert_eq!(eval(&mut again, "(thread-join! reader)"), "(got \"hello\")");
    // The future belonged to the saving process: the waiter gets an error.
    again.run_until_idle().expect("idle");
    let w = eval(&mut again, "(thread-join! waiter)");
    assert!(
        w.starts_with("(stale \"an async native call's future is not here"),
        "{w}"
    );
    // The mutex is still owned by its thread, asleep for 1000 s.
    assert_eq!(eval(&mut again, "(eq? (mutex-state m) owner)"), "#t");
    // The sleeper wakes 0.4 s after its start, less what it slept before.
    again
        .run_for(std::time::Duration::from_millis(10))
        .expect("run_for");
    assert_eq!(eval(&mut again, "(thread-join! sleeper)"), "slept");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(&dir);
}
