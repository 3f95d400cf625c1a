//! Async native functions (issue 22, item 4): a host function returning a
//! future; the calling green thread waits, the others run.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use imp::Runtime;

/// A timer future driven by an OS thread of its own (no async runtime):
/// ready once `at` has passed; its waker is called from that thread.
struct Timer {
    at: Instant,
    shared: Arc<Mutex<(bool, Option<Waker>)>>,
    started: bool,
}

impl Timer {
    fn after(d: Duration) -> Timer {
        Timer {
            at: Instant::now() + d,
            shared: Arc::new(Mutex::new((false, None))),
            started: false,
        }
    }
}

impl Future for Timer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.shared.lock().expect("lock");
        if s.0 {
            return Poll::Ready(());
        }
        s.1 = Some(cx.waker().clone());
        drop(s);
        if !self.started {
            self.started = true;
            let shared = self.shared.clone();
            let at = self.at;
            std::thread::spawn(move || {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                let mut s = shared.lock().expect("lock");
                s.0 = true;
                if let Some(w) = s.1.take() {
                    w.wake();
                }
            });
        }
        Poll::Pending
    }
}

fn runtime() -> Runtime {
    let mut rt = Runtime::new().expect("runtime");
    rt.register_async("double-now", |(n,): (i64,)| async move { Ok(2 * n) })
        .expect("register");
    rt.register_async("sleep-then", |(ms, v): (u64, i64)| async move {
        Timer::after(Duration::from_millis(ms)).await;
        Ok(v)
    })
    .expect("register");
    rt.register_async("fail-later", |(ms,): (u64,)| async move {
        Timer::after(Duration::from_millis(ms)).await;
        Err::<i64, _>(imp::Error::Type("the host said no".into()))
    })
    .expect("register");
    rt
}

fn eval(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => rt.write(&v),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

// A future ready at once returns its value without a wait; one that
// completes later is waited for by its thread alone: 100 green threads
// each awaiting a timer all finish with their own values, while another
// thread keeps counting; an error from the future is a Scheme error.
#[test]
fn async_natives_wait_one_thread_and_return_their_results() {
    let mut rt = runtime();
    assert_eq!(eval(&mut rt, "(double-now 21)"), "42");
    assert_eq!(
        eval(
            &mut rt,
            "(define ticks 0)
             (define ticker (make-thread (lambda () (let loop () (set! ticks (+ ticks 1)) (thread-sleep! 0.001) (loop)))))
             (thread-start! ticker)
             (define ts (map (lambda (i) (thread-start! (make-thread (lambda () (sleep-then 30 i)))))
                             (iota 100)))
             (define results (map thread-join! ts))
             (thread-terminate! ticker)
             (list (apply + results) (> ticks 0))"
        ),
        "(4950 #t)"
    );
    assert_eq!(
        eval(
            &mut rt,
            "(guard (e ((error-object? e) (error-object-message e))) (fail-later 5))"
        ),
        "\"the host said no\""
    );
    assert_eq!(rt.pending_futures(), 0);
}

// thread-interrupt! reaches a thread waiting for a future: the interrupt
// runs, and the thread goes back to waiting and gets the result.
#[test]
fn an_interrupt_reaches_a_thread_waiting_for_a_future() {
    let mut rt = runtime();
    assert_eq!(
        eval(
            &mut rt,
            "(define seen '())
             (define t (make-thread (lambda () (sleep-then 100 7))))
             (thread-start! t)
             (thread-sleep! 0.02)
             (thread-interrupt! t (lambda () (set! seen (cons 'interrupted seen))))
             (list (thread-join! t) seen)"
        ),
        "(7 (interrupted))"
    );
}

// The initial thread itself can wait (nothing else runs), and a future
// waited for inside a nested call from a host function (where no thread
// can switch) completes too.
#[test]
fn waits_in_the_initial_thread_and_in_a_nested_call() {
    let mut rt = runtime();
    rt.register("call-nested", |cx, (f,): (imp::Value,)| cx.call(&f, &[]))
        .expect("register");
    assert_eq!(eval(&mut rt, "(sleep-then 10 5)"), "5");
    assert_eq!(
        eval(&mut rt, "(call-nested (lambda () (sleep-then 10 6)))"),
        "6"
    );
}

// With tokio: a host embedding imp in a tokio program registers natives
// that await tokio timers; with the runtime entered on the thread that
// runs Scheme (its worker threads drive the timers), 1,000 green threads
// each await a 10 ms tokio sleep and every one gets its value.
#[test]
fn tokio_timers_in_a_thousand_green_threads() {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("tokio");
    let _entered = tokio_rt.enter();
    let mut rt = Runtime::new().expect("runtime");
    rt.register_async("tokio-sleep", |(ms, v): (u64, i64)| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(v)
    })
    .expect("register");
    assert_eq!(
        eval(
            &mut rt,
            "(define ts (map (lambda (i) (thread-start! (make-thread (lambda () (tokio-sleep 10 i)))))
                             (iota 1000)))
             (apply + (map thread-join! ts))"
        ),
        "499500"
    );
    assert_eq!(rt.pending_futures(), 0);
}

// The host's interrupt reaches a call waiting for a future that never
// completes: the call ends with a limit error, and the engine goes on.
#[test]
fn the_host_s_interrupt_ends_a_wait_for_a_future() {
    let mut rt = runtime();
    rt.register_async("never", |(): ()| async {
        std::future::pending::<()>().await;
        Ok(0)
    })
    .expect("register");
    let handle = rt.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    let r = rt.eval_str("(never)");
    stopper.join().expect("join");
    assert!(
        matches!(r, Err(imp::Error::Limit(_))),
        "{:?}",
        r.map(|v| rt.write(&v))
    );
    assert_eq!(eval(&mut rt, "(double-now 4)"), "8");
}

// `run_async` drives the green threads from a task of a single-threaded
// tokio runtime (no OS thread of imp's own runs Scheme, and tokio's
// timers fire on the same thread): 1,000 green threads each await a
// 10 ms tokio sleep, another sleeps in Scheme, and a tokio task runs
// beside them all the while.
#[test]
fn run_async_drives_the_threads_from_a_current_thread_tokio_runtime() {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio");
    let mut rt = Runtime::new().expect("runtime");
    rt.register_async("tokio-sleep", |(ms, v): (u64, i64)| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(v)
    })
    .expect("register");
    let ticks = tokio_rt.block_on(async {
        let ticker = tokio::spawn(async {
            let mut n = 0u32;
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                n += 1;
            }
            n
        });
        rt.eval_str(
            "(define total 0)
             (define slept #f)
             (for-each (lambda (i)
                         (thread-start! (make-thread (lambda () (let ((v (tokio-sleep 10 i))) (set! total (+ total v)))))))
                       (iota 1000))
             (thread-start! (make-thread (lambda () (thread-sleep! 0.02) (set! slept #t))))",
        )
        .expect("start");
        rt.run_async().await.expect("run_async");
        ticker.await.expect("ticker")
    });
    assert_eq!(ticks, 5);
    assert_eq!(eval(&mut rt, "(list total slept)"), "(499500 #t)");
    assert_eq!(rt.pending_futures(), 0);
    // Nothing left to run: it completes at once.
    tokio_rt.block_on(rt.run_async()).expect("idle");
}

// The host's interrupt reaches threads driven by `run_async` while the
// task is pending (it wakes the task), and ends the run with a limit
// error; the engine goes on.
#[test]
fn the_host_s_interrupt_ends_a_pending_run_async() {
    let mut rt = runtime();
    rt.register_async("never", |(): ()| async {
        std::future::pending::<()>().await;
        Ok(0)
    })
    .expect("register");
    eval(&mut rt, "(thread-start! (make-thread (lambda () (never))))");
    let handle = rt.interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio");
    let r = tokio_rt.block_on(rt.run_async());
    stopper.join().expect("join");
    assert!(matches!(r, Err(imp::Error::Limit(_))), "{r:?}");
    assert_eq!(eval(&mut rt, "(double-now 4)"), "8");
}
