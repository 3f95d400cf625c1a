//! Images that keep their threads (issue 23): `save-application` with
//! `#:threads 'keep` saves every thread as it is, and the image resumes
//! them (and the saving thread, from the call, which returns `restored`).
//! Each program runs in an `imp` process of its own (saves fork).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("imp-kept-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn imp(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imp"))
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run imp")
}

/// Run `args` in `cwd`; its standard output, which it must end with 0.
fn run_ok(cwd: &Path, args: &[&str]) -> String {
    let out = imp(cwd, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "imp {args:?}: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

// A computation thread saved half-way finishes in the image with the
// right answer, going on from where it was (its count of steps is not
// started over), beside the saving thread, which goes on from the
// `save-application` call; the parent, as before, gets the report.
#[test]
fn a_computation_saved_half_way_finishes_in_the_image() {
    let d = dir("computation");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define steps 0)
(define (sum-to n)
  (let loop ((i 1) (acc 0))
    (set! steps (+ steps 1))
    (if (= 0 (modulo i 1000)) (thread-yield!))
    (if (> i n) acc (loop (+ i 1) (+ acc i)))))
(define worker (make-thread (lambda () (sum-to 2000000)) 'summer))
(thread-start! worker)
(let wait () (if (< steps 500000) (begin (thread-yield!) (wait))))
(define r (save-application "p.img" #:threads 'keep))
(define at-save steps)
(display (list (if (pair? r) 'saved r) (image-threads-kept?)
               (thread-join! worker) (thread-name worker) (<= steps 2000001)))
(newline)
"#,
    )
    .expect("write");
    let parent = run_ok(&d, &["p.scm"]);
    assert_eq!(parent, "(saved #f 2000001000000 summer #t)\n");
    let image = run_ok(&d, &["--image", "p.img"]);
    assert_eq!(image, "(restored #t 2000001000000 summer #t)\n");
}

// A checkpoint loop: each step saves an image that keeps the threads and
// waits for the save. Killed with SIGKILL part-way, the program starts
// again from its last checkpoint and finishes with the right answer, having
// done no step twice past that checkpoint.
#[test]
fn a_killed_checkpoint_loop_resumes_from_its_last_checkpoint() {
    let d = dir("checkpoint");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define total 0)
(define (step i)
  (set! total (+ total i))
  (let ((r (save-application "ckpt.img" #:threads 'keep #:wait #t)))
    (when (eq? r 'restored)
      (display (list 'resumed-after i)) (newline))))
(let loop ((i 1))
  (when (<= i 20)
    (step i)
    (if (and (= i 8) (not (image-threads-kept?)))
        ;; Dies before step 9 is saved: the last checkpoint is step 8's.
        (%kill-self-for-test))
    (loop (+ i 1))))
(display (list 'total total)) (newline)
"#
        .replace(
            "(%kill-self-for-test)",
            "(process-wait (process-start \"sh\" '(\"-c\" \"kill -9 $PPID\") #:stdin 'null #:stdout 'null))",
        ),
    )
    .expect("write");
    let out = imp(&d, &["p.scm"]);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(9),
        "{out:?}"
    );
    assert!(d.join("ckpt.img").exists());
    let image = run_ok(&d, &["--image", "ckpt.img"]);
    assert_eq!(image, "(resumed-after 8)\n(total 210)\n");
}

// Producer and consumers over channels, saved mid-way: in the image every
// item is delivered exactly once (none lost, none twice), and the
// channel's waiting threads are still waiting on the same channel.
#[test]
fn producers_and_consumers_deliver_every_item_once_across_a_save() {
    let d = dir("channels");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define ch (make-channel 4))
(define got (make-vector 1000 0))
(define producer
  (make-thread (lambda ()
    (do ((i 0 (+ i 1))) ((= i 1000)) (channel-send! ch i))
    (channel-close! ch))))
(define (consumer)
  (make-thread (lambda ()
    (let loop ()
      (let ((x (channel-receive ch)))
        (unless (eof-object? x)
          (vector-set! got x (+ 1 (vector-ref got x)))
          (if (= 0 (modulo x 7)) (thread-yield!))
          (loop)))))))
(define consumers (list (consumer) (consumer) (consumer)))
(for-each thread-start! consumers)
(thread-start! producer)
(let wait () (if (< (vector-ref got 300) 1) (begin (thread-yield!) (wait))))
(define r (save-application "p.img" #:threads 'keep))
(for-each thread-join! consumers)
(display (list (if (pair? r) 'saved r)
               (let loop ((i 0) (ok #t)) (if (= i 1000) ok (loop (+ i 1) (and ok (= 1 (vector-ref got i))))))))
(newline)
"#,
    )
    .expect("write");
    assert_eq!(run_ok(&d, &["p.scm"]), "(saved #t)\n");
    assert_eq!(run_ok(&d, &["--image", "p.img"]), "(restored #t)\n");
}

// A thread asleep for 3 s, saved after about 1.5 s, wakes in the image
// after the time it had left (its deadline was stored relative to the
// save), not after another 3 s; a mutex a kept thread holds is still
// held by it; a thread blocked reading a pipe gets a stale-handle error
// it can catch; thread names and the thread list are as they were.
#[test]
fn sleeps_mutexes_and_stale_handles_across_a_save() {
    let d = dir("sleep");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define woke #f)
(define sleeper (make-thread (lambda () (thread-sleep! 3) (set! woke #t)) 'sleeper))
(define m (make-mutex 'm))
(define holder (make-thread (lambda () (mutex-lock! m) (thread-sleep! 2) (mutex-unlock! m)) 'holder))
(define reader-result #f)
(define p (process-start "sleep" '("30") #:stdin 'pipe #:stdout 'pipe))
(define reader
  (make-thread (lambda ()
    (set! reader-result
      (guard (e ((error-object? e)
                 (list 'caught (file-error? e) (error-object-message e))))
        (read-line (process-output p)))))
    'reader))
(for-each thread-start! (list sleeper holder reader))
(thread-sleep! 1.5)
(define r (save-application "p.img" #:threads 'keep))
(define t0 (current-jiffy))
(when (eq? r 'restored)
  (display (list 'held-by (thread-name (mutex-state m))))
  (newline)
  (thread-join! reader)
  (display reader-result)
  (newline)
  (display (map thread-name (list sleeper holder reader)))
  (newline)
  (thread-join! sleeper)
  (display (list 'woke woke (exact (round (* 1000 (/ (- (current-jiffy) t0) (jiffies-per-second)))))))
  (newline))
(if (pair? r) (process-kill p))
"#,
    )
    .expect("write");
    run_ok(&d, &["p.scm"]);
    let start = Instant::now();
    let out = run_ok(&d, &["--image", "p.img"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "(held-by holder)");
    assert!(
        lines[1].starts_with("(caught #t stale handle from a previous session"),
        "{out}"
    );
    assert_eq!(lines[2], "(sleeper holder reader)");
    let ms: u64 = lines[3]
        .trim_start_matches("(woke #t ")
        .trim_end_matches(')')
        .parse()
        .unwrap_or_else(|_| panic!("{out}"));
    // About 1.5 s left; never early, and well short of a full 3 s again.
    assert!((1200..2900).contains(&ms), "woke after {ms} ms: {out}");
    assert!(start.elapsed() < Duration::from_secs(30));
}

// 100,000 kept threads start in the image and all finish; the image
// works after it is copied to another directory; and without
// `#:threads`, a save still ends the other threads as before.
#[test]
fn many_kept_threads_a_copied_image_and_the_default() {
    let d = dir("many");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define gate (make-channel 0))
(define done 0)
(define ts
  (let loop ((i 0) (acc '()))
    (if (= i 100000) acc
        (loop (+ i 1)
              (cons (thread-start! (make-thread (lambda () (channel-receive gate) (set! done (+ done 1)))))
                    acc)))))
(thread-yield!)
(define r (save-application "p.img" #:threads 'keep))
(when (eq? r 'restored)
  (channel-close! gate)
  (for-each thread-join! ts)
  (display (list 'done done))
  (newline))
"#,
    )
    .expect("write");
    run_ok(&d, &["p.scm"]);
    let other = dir("many-copy");
    std::fs::copy(d.join("p.img"), other.join("moved.img")).expect("copy");
    std::fs::remove_file(d.join("p.img")).expect("remove");
    assert_eq!(run_ok(&other, &["--image", "moved.img"]), "(done 100000)\n");

    std::fs::write(
        d.join("q.scm"),
        r#"
(define t (thread-start! (make-thread (lambda () (let loop () (thread-sleep! 0.01) (loop))) 'looper)))
(save-application "q.img" #:toplevel
  (lambda () (display (list (image-threads-kept?) (length (thread-list)))) (newline)))
"#,
    )
    .expect("write");
    run_ok(&d, &["q.scm"]);
    assert_eq!(run_ok(&d, &["--image", "q.img"]), "(#f 1)\n");
}

// A server keeps its accept loop across a save (issue 23, item 3): the
// fork handlers see the save's mode (`save-threads-mode`), a restore hook
// sees that the image kept its threads, listens again and hands the new
// listener to the kept loop, whose accept on the old process's listener
// raised the stale-handle error; the loop's count of connections goes on.
#[test]
fn a_kept_accept_loop_takes_a_listener_from_a_restore_hook() {
    let d = dir("server");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define relisten (make-channel 1))
(define (local-port s) (call-with-values (lambda () (socket-local-address s)) (lambda (h p) p)))
(define listener (tcp-listen 0 #:host "127.0.0.1"))
(define port (local-port listener))
(define stale-seen 0)
(define (serve l n)
  (let ((next (guard (e ((socket-error? e) (set! stale-seen (+ stale-seen 1)) #f))
                (call-with-values (lambda () (tcp-accept l))
                  (lambda (in out)
                    (write-string (string-append "hello " (number->string n) "\n") out)
                    (close-port out) (close-port in) #t)))))
    (if next (serve l (+ n 1)) (serve (channel-receive relisten) n))))
(define server (thread-start! (make-thread (lambda () (serve listener 0)) 'server)))
(define (ask)
  (call-with-values (lambda () (tcp-connect "127.0.0.1" port))
    (lambda (in out) (let ((line (read-line in))) (close-port in) (close-port out) line))))
(define prepare-saw #f)
(define child-saw #f)
(register-fork-handlers! (lambda () (set! prepare-saw (save-threads-mode)))
                         #f
                         (lambda () (set! child-saw (save-threads-mode))))
(add-restore-hook!
 (lambda ()
   (when (image-threads-kept?)
     (let ((l (tcp-listen 0 #:host "127.0.0.1")))
       (set! port (local-port l))
       (channel-send! relisten l)))))
(define before (ask))
(define r (save-application "p.img" #:threads 'keep))
(write (list (if (pair? r) 'saved r) before (ask) prepare-saw child-saw (save-threads-mode)
             stale-seen (thread-name server)))
(newline)
"#,
    )
    .expect("write");
    let parent = run_ok(&d, &["p.scm"]);
    assert_eq!(
        parent,
        "(saved \"hello 0\" \"hello 1\" keep #f #f 0 server)\n"
    );
    let image = run_ok(&d, &["--image", "p.img"]);
    assert_eq!(
        image,
        "(restored \"hello 0\" \"hello 1\" keep keep #f 1 server)\n"
    );
}
