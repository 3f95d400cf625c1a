//! The Rust API, used as an embedding host would.

use imp::{Error, Runtime, Value};

fn eval(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => rt.write(&v),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

fn err(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => panic!("{src} should fail, gave {}", rt.write(&v)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn runtime_evaluates_and_keeps_definitions() {
    let mut rt = Runtime::new().expect("runtime");
    eval(&mut rt, "(define (sq x) (* x x))");
    assert_eq!(eval(&mut rt, "(sq 12)"), "144");
    let v = rt.eval_str("(sq 3)").expect("eval");
    assert_eq!(v.as_i64(&rt), Some(9));
}

#[test]
fn two_runtimes_do_not_interfere() {
    let mut a = Runtime::new().expect("a");
    let mut b = Runtime::new().expect("b");
    eval(&mut a, "(define x 1)");
    eval(&mut b, "(define x 2)");
    assert_eq!(eval(&mut a, "x"), "1");
    assert_eq!(eval(&mut b, "x"), "2");
}

#[test]
fn bad_input_is_an_error_naming_cause_and_location_and_the_runtime_survives() {
    let mut rt = Runtime::new().expect("runtime");
    eval(&mut rt, "(define kept 'yes)");
    let cases: &[(&str, &[&str])] = &[
        ("(+ 1 2", &["line 1", "("]),
        ("(car 5)", &["car", "pair", "5"]),
        (
            "(undefined-thing)",
            &["unbound variable", "undefined-thing"],
        ),
        ("(5 6)", &["non-procedure"]),
        ("((lambda (x) x))", &["wrong number of arguments"]),
        ("(vector-ref (vector 1) 'a)", &["vector-ref"]),
        ("#x1g", &["bad number syntax"]),
        (")", &["unexpected"]),
    ];
    for (src, needles) in cases {
        let e = err(&mut rt, src);
        for n in *needles {
            assert!(e.contains(n), "error for {src:?} is {e:?}, lacks {n:?}");
        }
        assert_eq!(eval(&mut rt, "kept"), "yes", "runtime unusable after {src}");
    }
}

#[test]
fn errors_from_files_carry_file_and_line() {
    let dir = std::env::temp_dir().join(format!("imp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("bad.scm");
    std::fs::write(&path, "(define (f x)\n  (car x))\n\n(f 7)\n").expect("write");
    let mut rt = Runtime::new().expect("runtime");
    let e = rt
        .eval_file(path.to_str().expect("utf8"))
        .expect_err("fails");
    let text = e.to_string();
    assert!(text.contains("bad.scm:2"), "{text}");
    assert!(
        text.contains("f (") || text.contains("f ("),
        "backtrace names f: {text}"
    );
    match e {
        Error::Raised(r) => {
            assert_eq!(
                r.location.as_deref().map(|l| l.ends_with("bad.scm:2")),
                Some(true)
            );
            assert!(
                r.backtrace.iter().any(|l| l.starts_with("f ")),
                "{:?}",
                r.backtrace
            );
        }
        other => panic!("expected Raised, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_million_non_tail_frames_work() {
    let mut rt = Runtime::new().expect("runtime");
    let src = "(define (count n) (if (= n 0) 0 (+ 1 (count (- n 1))))) (count 1000000)";
    assert_eq!(eval(&mut rt, src), "1000000");
}

#[test]
fn a_frame_limit_raises_a_catchable_error() {
    let mut rt = Runtime::with_options(imp::Options {
        max_frames: Some(10_000),
        ..Default::default()
    })
    .expect("runtime");
    let src = "(define (count n) (if (= n 0) 0 (+ 1 (count (- n 1)))))
               (guard (e (#t (error-object-message e))) (count 100000))";
    assert!(eval(&mut rt, src).contains("stack depth limit"));
    assert_eq!(eval(&mut rt, "(count 100)"), "100");
}

#[test]
fn ten_million_tail_calls_run_in_constant_memory() {
    let mut rt = Runtime::new().expect("runtime");
    let src = "(define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc 1)))) (loop 10000000 0)";
    assert_eq!(eval(&mut rt, src), "10000000");
    // Tail calls reuse the frame: the heap holds nothing per iteration.
    let stats = rt.gc_stats();
    assert!(
        stats.live_bytes < 8 << 20,
        "live bytes {}",
        stats.live_bytes
    );
}

#[test]
fn heap_copied_to_another_address_keeps_every_definition() {
    let mut rt = Runtime::new().expect("runtime");
    eval(
        &mut rt,
        "(define data (list 1 \"two\" 'three (vector 4 5) 12345678901234567890))
         (define counter 0)
         (define (bump!) (set! counter (+ counter 1)) counter)
         (define ht (make-hash-table eq?))
         (hash-table-set! ht 'k 'v)",
    );
    let mut copy = rt.copy_to_new_heap().expect("copy");
    assert_ne!(copy.heap_address(), rt.heap_address());
    drop(rt);
    copy.verify_heap().expect("copy verifies");
    assert_eq!(
        eval(&mut copy, "data"),
        "(1 \"two\" three #(4 5) 12345678901234567890)"
    );
    assert_eq!(eval(&mut copy, "(bump!) (bump!)"), "2");
    assert_eq!(eval(&mut copy, "(hash-table-ref/default ht 'k #f)"), "v");
    assert_eq!(
        eval(&mut copy, "(map (lambda (x) (* x x)) '(1 2 3))"),
        "(1 4 9)"
    );
}

#[test]
fn values_survive_collections() {
    let mut rt = Runtime::new().expect("runtime");
    let v = rt.eval_str("(list 1 2 3)").expect("list");
    eval(
        &mut rt,
        "(define junk (make-vector 100000 'x)) (gc) (set! junk #f) (gc)",
    );
    assert_eq!(rt.write(&v), "(1 2 3)");
}

#[test]
fn green_threads_live_across_api_calls() {
    let mut rt = Runtime::new().expect("runtime");
    eval(
        &mut rt,
        "(define ch (make-channel))
         (define producer
           (thread-start! (make-thread (lambda () (channel-send! ch 'one) (channel-send! ch 'two) 'finished))))",
    );
    // The producer is suspended between calls and resumes when a later call waits.
    assert_eq!(eval(&mut rt, "(channel-receive ch)"), "one");
    assert_eq!(eval(&mut rt, "(channel-receive ch)"), "two");
    assert_eq!(eval(&mut rt, "(thread-join! producer)"), "finished");
    // An error in a thread is that thread's, not the caller's.
    assert_eq!(
        eval(
            &mut rt,
            "(guard (e ((uncaught-exception? e) 'caught)) (thread-join! (thread-start! (make-thread (lambda () (car 1))))))"
        ),
        "caught"
    );
}

#[test]
fn exit_from_a_green_thread_reaches_the_host_and_the_runtime_survives() {
    let mut rt = Runtime::new().expect("runtime");
    match rt.eval_str("(thread-join! (thread-start! (make-thread (lambda () (exit 7)))))") {
        Err(Error::Exit(7)) => {}
        Err(e) => panic!("expected exit 7, got {e}"),
        Ok(v) => panic!("expected exit 7, got {}", rt.write(&v)),
    }
    assert_eq!(
        eval(&mut rt, "(eq? (current-thread) (initial-thread))"),
        "#t"
    );
    assert_eq!(
        eval(
            &mut rt,
            "(thread-join! (thread-start! (make-thread (lambda () (+ 1 2)))))"
        ),
        "3"
    );
    let e = err(&mut rt, "(mutex-lock! (make-mutex) 'not-a-timeout)");
    assert!(e.contains("timeout"), "{e}");
}

#[test]
fn load_runs_forms_as_ordinary_calls() {
    // Threads switch and continuations work inside a loaded file, and
    // errors name the file and line.
    let dir = std::env::temp_dir().join(format!("imp-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let lib = dir.join("lib.scm");
    std::fs::write(
        &lib,
        "(define (lib-f x) (* x 10))
         (define ch (make-channel))
         (define t (thread-start! (make-thread (lambda () (channel-send! ch 'from-thread)))))
         (define got (channel-receive ch))
         (define count 0)
         (set! count (+ count (call/cc (lambda (k) k 1))))",
    )
    .expect("write");
    let bad = dir.join("bad.scm");
    std::fs::write(&bad, "(define ok 1)\n(car 'x)\n").expect("write");
    let mut rt = Runtime::new().expect("runtime");
    let src = format!(
        "(load {:?}) (list (lib-f 4) got count)",
        lib.display().to_string()
    );
    assert_eq!(eval(&mut rt, &src), "(40 from-thread 1)");
    let e = err(&mut rt, &format!("(load {:?})", bad.display().to_string()));
    assert!(e.contains("car") && e.contains("bad.scm:2"), "{e}");
    assert_eq!(eval(&mut rt, "ok"), "1");
    let e = err(&mut rt, "(load \"/nonexistent/file.scm\")");
    assert!(
        e.contains("load: cannot read") && e.contains("/nonexistent/file.scm"),
        "{e}"
    );
}

#[test]
fn file_ports_and_redirected_output() {
    let dir = std::env::temp_dir().join(format!("imp-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("data.txt").display().to_string();
    let g = dir.join("out.txt").display().to_string();
    let mut rt = Runtime::new().expect("runtime");
    let src = format!(
        "(call-with-output-file {f:?}
           (lambda (p) (write (list 1 \"two\" 'three) p) (newline p) (display \"second line\" p)))
         (with-output-to-file {g:?} (lambda () (display \"redirected\") (newline)))
         (list (call-with-input-file {f:?}
                 (lambda (p) (list (read p) (read-char p) (read-line p) (read-line p))))
               (with-input-from-file {g:?} read-line)
               (with-output-to-string (lambda () (write 'in-a-string)))
               (file-exists? {f:?})
               (begin (delete-file {f:?}) (file-exists? {f:?})))"
    );
    assert_eq!(
        eval(&mut rt, &src),
        "(((1 \"two\" three) #\\newline \"second line\" #<eof>) \"redirected\" \"in-a-string\" #t #f)"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).expect("read"),
        "redirected\n"
    );
    let e = err(&mut rt, "(open-input-file \"/nonexistent/dir/file\")");
    assert!(
        e.contains("cannot open") && e.contains("/nonexistent/dir/file"),
        "{e}"
    );
    let e = err(&mut rt, &format!("(delete-file {f:?})"));
    assert!(e.contains("delete-file"), "{e}");
}

/// The image build.rs wrote and the `imp` binary starts from.
static BOOT_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/boot.img"));

#[test]
fn the_embedded_boot_image_starts_a_whole_runtime() {
    let (mut rt, top) = Runtime::from_image_bytes(BOOT_IMAGE).expect("boot image");
    assert!(top.is_none());
    // The standard library, macros, records, libraries and threads work.
    assert_eq!(
        eval(&mut rt, "(list-sort < (map (lambda (x) (* x x)) '(3 1 2)))"),
        "(1 4 9)"
    );
    assert_eq!(
        eval(&mut rt, "(let-values (((q r) (floor/ 7 2))) (list q r))"),
        "(3 1)"
    );
    eval(
        &mut rt,
        "(define-record-type point (make-point x y) point? (x px) (y py))",
    );
    assert_eq!(eval(&mut rt, "(px (make-point 5 6))"), "5");
    eval(
        &mut rt,
        "(define-library (emb lib) (export f) (import (scheme base)) (begin (define (f) 'from-lib)))",
    );
    eval(&mut rt, "(import (prefix (emb lib) e:))");
    assert_eq!(eval(&mut rt, "(e:f)"), "from-lib");
    assert_eq!(
        eval(
            &mut rt,
            "(thread-join! (thread-start! (make-thread (lambda () (+ 20 22)))))"
        ),
        "42"
    );
    // The process's environment is read now, not at build time.
    std::env::set_var("IMP_EMBED_TEST_VAR", "now");
    assert_eq!(
        eval(&mut rt, "(get-environment-variable \"IMP_EMBED_TEST_VAR\")"),
        "\"now\""
    );
    // Two engines from the same bytes are independent.
    let (mut other, _) = Runtime::from_image_bytes(BOOT_IMAGE).expect("second");
    eval(&mut rt, "(define only-here 1)");
    assert!(err(&mut other, "only-here").contains("unbound variable"));
}

#[test]
fn image_bytes_that_are_not_an_image_are_refused() {
    for bytes in [
        &b""[..],
        &b"not an image at all"[..],
        &BOOT_IMAGE[..BOOT_IMAGE.len() / 2],
    ] {
        match Runtime::from_image_bytes(bytes) {
            Err(Error::Image(m)) => assert!(!m.is_empty()),
            Err(e) => panic!("wrong error kind: {e}"),
            Ok(_) => panic!("{} bytes accepted as an image", bytes.len()),
        }
    }
    // A damaged byte in the body is caught too (a flipped bit in the middle).
    let mut bad = BOOT_IMAGE.to_vec();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    assert!(Runtime::from_image_bytes(&bad).is_err());
}

#[test]
fn a_call_budget_stops_a_runaway_loop_and_the_engine_goes_on() {
    let mut rt = Runtime::new().expect("runtime");
    rt.set_fuel(Some(50_000));
    let e = err(&mut rt, "(let loop () (loop))");
    assert!(e.contains("fuel exhausted"), "{e}");
    // See issue #20, item 20: a guard caught the limit and looped on,
    // ~200 million calls under a 100,000 budget. The limit ends the host's
    // call: after-thunks run, handlers do not, and nothing goes on.
    rt.set_fuel(Some(100_000));
    eval(
        &mut rt,
        "(define after 0) (define handled 0) (define laps 0)",
    );
    let e = rt
        .eval_str(
            "(let retry ()
               (set! laps (+ laps 1))
               (guard (e (#t (set! handled (+ handled 1)) (retry)))
                 (dynamic-wind (lambda () #f)
                               (lambda () (let loop () (loop)))
                               (lambda () (set! after (+ after 1))))))",
        )
        .expect_err("the limit ends the call");
    assert!(matches!(e, imp::Error::Limit(_)), "{e}");
    rt.set_fuel(None);
    assert_eq!(eval(&mut rt, "(list laps handled after)"), "(1 0 1)");
    // An after-thunk that never ends cannot keep the call going.
    rt.set_fuel(Some(50_000));
    let e = rt
        .eval_str(
            "(dynamic-wind (lambda () #f) (lambda () (let l () (l))) (lambda () (let l () (l))))",
        )
        .expect_err("the limit ends the call");
    assert!(matches!(e, imp::Error::Limit(_)), "{e}");
    // The budget stays used up until the host refills it.
    assert!(matches!(
        rt.eval_str("(let l () (l))"),
        Err(imp::Error::Limit(_))
    ));
    // Calls that `map` and `for-each` make count: over a circular list
    // they run out of budget too, with a procedure that calls nothing and
    // with a primitive.
    for src in [
        "(let ((c (list 1))) (set-cdr! c c) (for-each (lambda (x) x) c))",
        "(let ((c (list (list 1)))) (set-cdr! c c) (map car c))",
    ] {
        rt.set_fuel(Some(50_000));
        let e = err(&mut rt, src);
        assert!(e.contains("fuel exhausted"), "{src}: {e}");
    }
    // Code within the budget is unaffected, and the budget goes down.
    rt.set_fuel(Some(1_000_000));
    assert_eq!(
        eval(
            &mut rt,
            "(let loop ((i 0)) (if (< i 100000) (loop (+ i 1)) i))"
        ),
        "100000"
    );
    let left = rt.fuel().expect("budget");
    assert!(
        left < 1_000_000 - 90_000 && left > 1_000_000 - 110_000,
        "{left}"
    );
    rt.set_fuel(None);
    assert_eq!(
        eval(
            &mut rt,
            "(let loop ((i 0)) (if (< i 2000000) (loop (+ i 1)) i))"
        ),
        "2000000"
    );
}

#[test]
fn an_interrupt_from_another_thread_stops_the_running_code() {
    let mut rt = Runtime::new().expect("runtime");
    let h = rt.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.interrupt();
    });
    let started = std::time::Instant::now();
    let e = err(&mut rt, "(let loop ((i 0)) (loop (+ i 1)))");
    t.join().expect("thread");
    assert!(e.contains("interrupted by the host"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(eval(&mut rt, "(+ 1 2)"), "3");
    // A guard cannot catch it (issue #20, item 20): an interrupt ends the
    // host's call.
    let h = rt.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.interrupt();
    });
    let r = rt.eval_str("(let retry () (guard (e (#t (retry))) (let loop () (loop))))");
    t.join().expect("thread");
    assert!(matches!(r, Err(imp::Error::Limit(_))), "{r:?}");
    // A runtime asleep (every thread waiting for a timer) wakes for it.
    let h = rt.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.interrupt();
    });
    let r = rt.eval_str(
        "(define woke #f)
         (dynamic-wind (lambda () #f) (lambda () (thread-sleep! 100000)) (lambda () (set! woke #t)))",
    );
    t.join().expect("thread");
    assert!(matches!(r, Err(imp::Error::Limit(_))), "{r:?}");
    assert_eq!(eval(&mut rt, "woke"), "#t");
    // The handle is Send + Sync.
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&rt.interrupt_handle());
}

#[test]
fn a_heap_limit_raises_a_catchable_error_and_the_engine_goes_on() {
    let mut rt = Runtime::new().expect("runtime");
    rt.collect_garbage().expect("gc");
    let base = rt.gc_stats().live_bytes;
    rt.set_heap_limit(Some(base + 16 * 1024 * 1024));
    // One big object over the limit.
    let e = err(&mut rt, "(define big (make-vector 10000000 0))");
    assert!(e.contains("heap limit exceeded"), "{e}");
    // Growing data over the limit, caught in Scheme.
    assert_eq!(
        eval(
            &mut rt,
            "(guard (e ((error-object? e) 'too-big))
               (let loop ((l '()) (i 0)) (loop (cons i l) (+ i 1))))"
        ),
        "too-big"
    );
    // Garbage is not counted against the limit: lots of short-lived data fits.
    assert_eq!(
        eval(&mut rt, "(let loop ((i 0) (n 0)) (if (= i 200) n (loop (+ i 1) (+ n (length (make-list 10000 i))))))"),
        "2000000"
    );
    rt.set_heap_limit(None);
    assert_eq!(
        eval(&mut rt, "(vector-length (make-vector 3000000 0))"),
        "3000000"
    );
}

#[test]
fn a_stack_depth_limit_raises_a_catchable_error() {
    let mut rt = Runtime::new().expect("runtime");
    rt.set_max_frames(1000);
    eval(
        &mut rt,
        "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))",
    );
    assert_eq!(eval(&mut rt, "(deep 500)"), "500");
    let e = err(&mut rt, "(deep 5000)");
    assert!(
        e.contains("deep") || e.contains("stack") || e.contains("frames"),
        "{e}"
    );
    assert_eq!(
        eval(&mut rt, "(guard (e (#t 'caught)) (deep 5000))"),
        "caught"
    );
    assert_eq!(eval(&mut rt, "(deep 900)"), "900");
}

#[test]
fn the_host_drives_green_threads_and_talks_to_them_through_channels() {
    let mut rt = Runtime::new().expect("runtime");
    eval(
        &mut rt,
        "(define log '())
         (define (note x) (set! log (cons x log)))
         (define workers
           (map (lambda (i) (thread-start! (make-thread (lambda () (note i) (thread-yield!) (note (* 10 i)) i))))
                '(1 2 3)))
         (define sleeper (thread-start! (make-thread (lambda () (thread-sleep! 0.05) (note 'woke)))))",
    );
    // Between calls the threads are suspended; run_until_idle runs the
    // ready ones to the end, but does not wait for the sleeper.
    rt.run_until_idle().expect("idle");
    assert_eq!(
        eval(&mut rt, "(list-sort < (filter number? log))"),
        "(1 2 3 10 20 30)"
    );
    assert_eq!(eval(&mut rt, "(memq 'woke log)"), "#f");
    rt.run_for(std::time::Duration::from_millis(200))
        .expect("slice");
    assert_eq!(eval(&mut rt, "(and (memq 'woke log) #t)"), "#t");
    let w: Value = rt.eval_str("(cadr workers)").expect("thread");
    assert_eq!(rt.join::<i64>(&w).expect("join"), 2);

    // A Scheme thread that doubles what the host sends it.
    eval(
        &mut rt,
        "(define in (make-channel 10))
         (define out (make-channel 10))
         (define doubler
           (thread-start! (make-thread (lambda ()
             (let loop ()
               (let ((x (channel-receive in)))
                 (if (eof-object? x)
                     'done
                     (begin (channel-send! out (* 2 x)) (loop)))))))))",
    );
    let inch: Value = rt.global("in").expect("in");
    let outch: Value = rt.global("out").expect("out");
    for i in 1..=5 {
        rt.call_global::<()>("channel-send!", (&inch, i))
            .expect("send");
    }
    let mut got = Vec::new();
    for _ in 1..=5 {
        got.push(
            rt.call_global::<i64>("channel-receive", (&outch,))
                .expect("receive"),
        );
    }
    assert_eq!(got, [2, 4, 6, 8, 10]);
    rt.call_global::<()>("channel-close!", (&inch,))
        .expect("close");
    let d: Value = rt.global("doubler").expect("doubler");
    assert_eq!(rt.join::<String>(&d).expect("join"), "done");
}

#[test]
fn an_engine_booted_from_the_embedded_image_calls_back_into_the_host() {
    let (mut rt, _) = Runtime::from_image_bytes_with(BOOT_IMAGE, |rt| {
        rt.register("host-scale", |_, (x, k): (f64, f64)| Ok(x * k))
    })
    .expect("boot image with natives");
    eval(
        &mut rt,
        "(define (scaled xs) (map (lambda (x) (host-scale x 2.5)) xs))",
    );
    let v: Vec<f64> = rt.call_global("scaled", (vec![1.0, 2.0],)).expect("call");
    assert_eq!(v, [2.5, 5.0]);
}

#[test]
fn host_sends_to_and_receives_from_scheme_channels() {
    let mut rt = Runtime::new().expect("runtime");
    let jobs = rt.make_channel(0).expect("channel");
    let results = rt.make_channel(4).expect("channel");
    // Nothing there yet: try_receive does not wait.
    assert_eq!(rt.try_receive::<i64>(&results).expect("poll"), None);
    let start = rt
        .eval_str(
            "(lambda (in out)
               (thread-start! (make-thread (lambda ()
                 (let loop ()
                   (let ((x (channel-receive in)))
                     (if (eof-object? x)
                         (channel-close! out)
                         (begin (channel-send! out (string-append \"got \" x)) (loop)))))))))",
        )
        .expect("worker");
    let _: Value = rt.call_value(&start, (&jobs, &results)).expect("start");
    // A rendezvous send returns once the worker has taken the value.
    rt.send(&jobs, "a").expect("send");
    rt.send(&jobs, "b").expect("send");
    assert_eq!(
        rt.receive::<String>(&results).expect("receive").as_deref(),
        Some("got a")
    );
    rt.run_until_idle().expect("idle");
    assert_eq!(
        rt.try_receive::<String>(&results).expect("poll").as_deref(),
        Some("got b")
    );
    rt.close_channel(&jobs).expect("close");
    // The worker sees the end and closes its output: the host sees None.
    assert_eq!(rt.receive::<String>(&results).expect("end"), None);
    assert_eq!(rt.try_receive::<String>(&results).expect("end"), None);
    // Sending on a closed channel, or a wrong type, is an error; the engine goes on.
    assert!(rt.send(&jobs, 1).is_err());
    let e = rt.receive::<i64>(&start).expect_err("not a channel");
    assert!(e.to_string().contains("channel"), "{e}");
    let ch = rt.make_channel(1).expect("channel");
    rt.send(&ch, "text").expect("buffered");
    assert!(matches!(rt.receive::<i64>(&ch), Err(Error::Type(_))));
    assert_eq!(rt.eval_str("(+ 1 2)").expect("usable").as_i64(&rt), Some(3));
}

#[test]
fn a_receive_no_thread_can_answer_is_an_error_not_a_hang() {
    let mut rt = Runtime::new().expect("runtime");
    let ch = rt.make_channel(0).expect("channel");
    let e = rt.receive::<i64>(&ch).expect_err("deadlock");
    assert!(e.to_string().contains("deadlock"), "{e}");
    let e = rt.send(&ch, 1).expect_err("deadlock");
    assert!(e.to_string().contains("deadlock"), "{e}");
    assert_eq!(rt.eval_str("(+ 1 2)").expect("usable").as_i64(&rt), Some(3));
}

#[test]
fn try_receive_gives_the_green_threads_a_turn() {
    let mut rt = Runtime::new().expect("runtime");
    let ch = rt.make_channel(4).expect("channel");
    let start = rt
        .eval_str(
            "(lambda (ch) (thread-start! (make-thread (lambda () (channel-send! ch 'ready)))))",
        )
        .expect("start");
    let _: Value = rt.call_value(&start, (&ch,)).expect("thread");
    let mut got = None;
    for _ in 0..3 {
        got = rt.try_receive::<String>(&ch).expect("poll");
        if got.is_some() {
            break;
        }
    }
    assert_eq!(got.as_deref(), Some("ready"));
}

#[test]
fn data_built_in_bulk_is_promoted_in_place_and_stays_whole() {
    let mut rt = Runtime::new().expect("runtime");
    // Two million fresh pairs, all alive: most nurseries are promoted where
    // they lie rather than copied. The list, an eq? table keyed by its
    // pairs, and their identity hashes must come through unchanged, and
    // through the full collection after.
    let src = "(define big (let loop ((i 0) (acc '()))
                             (if (= i 1000000) acc (loop (+ i 1) (cons (list i) acc)))))
               (define t (make-hash-table eq?))
               (let loop ((l big) (k 0))
                 (if (and (pair? l) (< k 1000))
                     (begin (hash-table-set! t (car l) k) (loop (cdr l) (+ k 1)))))
               (define (check)
                 (let loop ((l big) (k 0) (sum 0) (ok #t))
                   (if (pair? l)
                       (loop (cdr l) (+ k 1) (+ sum (caar l))
                             (and ok (or (>= k 1000) (eqv? (hash-table-ref/default t (car l) #f) k))))
                       (list sum ok))))
               (check)";
    assert_eq!(eval(&mut rt, src), "(499999500000 #t)");
    let stats = rt.gc_stats();
    assert!(stats.promotions > 0, "{stats:?}");
    assert_eq!(
        eval(
            &mut rt,
            "(> (cdr (assq 'promotions-in-place (gc-stats))) 0)"
        ),
        "#t"
    );
    assert_eq!(eval(&mut rt, "(gc) (check)"), "(499999500000 #t)");
}

#[test]
fn a_full_collection_marks_in_place_or_compacts_a_mostly_dead_heap() {
    let mut rt = Runtime::new().expect("runtime");
    // `keep` survives and `drop` (half as large again) dies: the full
    // collection marks in place and leaves `drop`'s space as holes that
    // new data fills. Then `keep` dies too and the next full collection,
    // finding most of the heap dead, copies the little left instead. The
    // lists, and eq? tables keyed by their pairs, come through both.
    let src = "(define (build n) (let loop ((i 0) (acc '()))
                 (if (= i n) acc (loop (+ i 1) (cons (list i) acc)))))
               (define (table l)
                 (let ((t (make-hash-table eq?)))
                   (for-each (lambda (p) (hash-table-set! t p (car p))) l)
                   t))
               (define (check l t n)
                 (let loop ((l l) (k (- n 1)) (ok #t))
                   (if (pair? l)
                       (loop (cdr l) (- k 1)
                             (and ok (= (caar l) k) (eqv? (hash-table-ref/default t (car l) #f) k)))
                       (and ok (= k -1)))))
               (define (stat k) (cdr (assq k (gc-stats))))
               (define keep (build 400000))
               (define drop (build 600000))
               (define kt (table keep))
               (set! drop #f)
               (define majors (stat 'major-collections))
               (define in-place (stat 'majors-in-place))
               (gc)
               (list (check keep kt 400000)
                     (- (stat 'major-collections) majors)
                     (- (stat 'majors-in-place) in-place))";
    assert_eq!(eval(&mut rt, src), "(#t 1 1)");
    let src = "(define more (build 200000))
               (define mt (table more))
               (list (check keep kt 400000) (check more mt 200000))";
    assert_eq!(eval(&mut rt, src), "(#t #t)");
    let src = "(set! keep #f)
               (set! kt #f)
               (gc)
               (list (check more mt 200000)
                     (- (stat 'major-collections) majors)
                     (- (stat 'majors-in-place) in-place))";
    assert_eq!(eval(&mut rt, src), "(#t 2 1)");
}

// See issue #20, item 21: arithmetic on huge numbers ignored the budget
// and the interrupt handle (`(expt 7 1000000)` ran 18 s under a budget of
// a million calls). Its work now counts against the budget.
#[test]
fn issue_20_21_work_on_huge_numbers_counts_against_the_call_budget() {
    let mut rt = Runtime::new().expect("runtime");
    rt.set_fuel(Some(1_000_000));
    let r = rt.eval_str("(let loop ((i 0)) (expt 7 1000000) (loop (+ i 1)))");
    assert!(matches!(r, Err(imp::Error::Limit(_))), "{r:?}");
    rt.set_fuel(Some(1_000_000));
    let r = rt.eval_str("(define x (expt 3 3000000)) (let loop () (* x x) (loop))");
    assert!(matches!(r, Err(imp::Error::Limit(_))), "{r:?}");
    // Within the budget, it computes.
    rt.set_fuel(None);
    assert_eq!(eval(&mut rt, "(exact-integer? (* x x))"), "#t");
    // A heap limit refuses a number that could not be kept, before the
    // work is done.
    rt.set_heap_limit(Some(16 << 20));
    let e = err(&mut rt, "(* (expt 3 30000000) (expt 3 30000000))");
    assert!(e.contains("heap"), "{e}");
}

// See issue #20, item 23: a Value of one runtime used with another read the
// other runtime's heap.
#[test]
fn issue_20_23_a_value_of_another_runtime_is_an_error() {
    let mut a = Runtime::new().expect("a");
    let mut b = Runtime::new().expect("b");
    let va = a.eval_str("(list 'from 'a)").expect("a value");
    let _vb = b.eval_str("(list 'from 'b)").expect("b value");
    assert_eq!(a.write(&va), "(from a)");
    assert_eq!(b.write(&va), "#<value of another runtime>");
    assert_eq!(va.as_i64(&b), None);
    let car = b.eval_str("car").expect("car");
    let e = b.call(&car, &[&va]).expect_err("wrong runtime");
    assert!(e.to_string().contains("another runtime"), "{e}");
    let e = b.set_global("x", &va).expect_err("wrong runtime");
    assert!(e.to_string().contains("another runtime"), "{e}");
    let r: Result<Vec<String>, _> = b.get(&va);
    assert!(r.is_err());
    // Both go on.
    assert_eq!(eval(&mut a, "(+ 1 2)"), "3");
    assert_eq!(eval(&mut b, "(+ 1 2)"), "3");
}

// See issue #20, item 22: string hashing was unseeded FNV, so keys chosen
// in advance could all land in one bucket. The key is chosen at random by
// each runtime: hashes differ between runtimes, tables still find their
// keys, and a table from an image is rehashed under the new key.
#[test]
fn issue_20_22_tables_hash_under_a_key_of_each_runtime() {
    let mut a = Runtime::new().expect("a");
    let mut b = Runtime::new().expect("b");
    let src = "(list (string-hash \"some key\") (equal-hash '(\"k\" 1)))";
    assert_ne!(eval(&mut a, src), eval(&mut b, src));
    let dir = std::env::temp_dir().join(format!("imp-keyed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let img = dir.join("t.img");
    eval(
        &mut a,
        "(define t (make-hash-table string=?))
         (do ((i 0 (+ i 1))) ((= i 1000)) (hash-table-set! t (number->string i) i))",
    );
    a.save_image(&img, None).expect("save");
    let (mut c, _) = Runtime::from_image(&img).expect("load");
    assert_eq!(
        eval(
            &mut c,
            "(list (hash-table-ref/default t \"999\" #f) (hash-table-count t))"
        ),
        "(999 1000)"
    );
    eval(&mut c, "(hash-table-set! t \"new\" -1)");
    assert_eq!(eval(&mut c, "(hash-table-ref/default t \"new\" #f)"), "-1");
    let _ = std::fs::remove_dir_all(&dir);
}

// Deep data and code on a host thread with a small stack: the expander,
// the compiler and the conversions between data and code recurse as deep
// as the data nests (up to the reader's 10,000 levels), and move to a new
// stack segment rather than overflow Rust's 2 MiB default for spawned
// threads. A circular structure is an error.
#[test]
fn deep_data_on_a_two_mib_thread_is_a_value_or_an_error() {
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut rt = imp::Runtime::new().expect("runtime");
            let deep_vector = rt
                .eval_str(
                    "(define (deep n) (if (= n 0) 1 (vector (deep (- n 1)))))
                     (let ((v (eval (list 'quote (deep 9990)) (interaction-environment))))
                       (let count ((v v) (n 0)) (if (vector? v) (count (vector-ref v 0) (+ n 1)) n)))",
                )
                .expect("deep vector");
            assert_eq!(deep_vector.as_i64(&rt), Some(9990));
            let text = format!("(quote {}{})", "(".repeat(9990), ")".repeat(9990));
            let v = rt.eval_str(&text).expect("deep list");
            assert_eq!(rt.write(&v).len(), 2 * 9990);
            let e = rt
                .eval_str(
                    "(environment (let ((v (vector 1 2))) (vector-set! v 0 v) v))",
                )
                .expect_err("circular");
            assert!(e.to_string().contains("circular"), "{e}");
            let code = format!("(+ 1 {}0{})", "(+ 1 ".repeat(1500), ")".repeat(1500));
            assert_eq!(rt.eval_str(&code).expect("deep code").as_i64(&rt), Some(1501));
        })
        .expect("thread");
    t.join().expect("no overflow");
}
