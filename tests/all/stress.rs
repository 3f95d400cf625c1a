//! Programs run under the GC stress mode: every allocation collects and
//! moves every young object, and the heap is verified after each collection.

use imp::{Options, Runtime};

/// A runtime whose every allocation collects.
fn stress_runtime() -> Runtime {
    Runtime::with_options(Options {
        gc_stress: true,
        ..Default::default()
    })
    .expect("runtime")
}

#[test]
fn representative_program_runs_under_gc_stress() {
    let mut rt = stress_runtime();
    let src = r#"
      (define (make-tree d) (if (= d 0) '() (cons (make-tree (- d 1)) (make-tree (- d 1)))))
      (define (check t) (if (null? t) 1 (+ 1 (check (car t)) (check (cdr t)))))
      (define v (make-vector 10 '()))
      (let loop ((i 0)) (if (< i 10) (begin (vector-set! v i (make-tree 5)) (loop (+ i 1)))))
      (define counter (let ((n 0)) (lambda () (set! n (+ n 1)) n)))
      (counter) (counter)
      (define s (string-append "abc" (number->string (* 99999999999 99999999999))))
      (list (check (vector-ref v 9)) (counter) s (map (lambda (x) (* x 1.5)) '(1 2))
            (call/cc (lambda (k) (dynamic-wind (lambda () #f) (lambda () (k 'escaped)) (lambda () #f)))))
    "#;
    let v = rt.eval_str(src).expect("runs under stress");
    assert_eq!(
        rt.write(&v),
        "(63 3 \"abc9999999999800000000001\" (1.5 3.0) escaped)"
    );
    assert!(rt.gc_stats().minor_collections > 1000);
    rt.verify_heap().expect("verifies");
}

#[test]
fn map_and_for_each_run_under_gc_stress() {
    let mut rt = stress_runtime();
    // `map` builds its list forward, setting the cdr of pairs that the
    // collections keep promoting; a continuation re-entering it switches
    // to building in reverse and copying.
    let src = r#"
      (define xs (iota 400))
      (define ps (map (lambda (x) (cons x (* x x))) xs))
      (gc)
      (define back (map car ps))
      (define sum 0)
      (for-each (lambda (p) (set! sum (+ sum (cdr p)))) ps)
      (define runs
        (let ((k #f) (runs '()))
          (let ((r (map (lambda (x)
                          (call/cc (lambda (c) (if (and (not k) (= x 200)) (set! k c)) x)))
                        xs)))
            (set! runs (cons r runs))
            (if (< (length runs) 2) (k 'again))
            runs)))
      (list (equal? back xs) (length ps) sum (equal? (cadr runs) xs)
            (list-ref (car runs) 199) (list-ref (car runs) 200) (list-ref (car runs) 201)
            (length (car runs)))
    "#;
    let v = rt.eval_str(src).expect("runs under stress");
    assert_eq!(rt.write(&v), "(#t 400 21253400 #t 199 again 201 400)");
    rt.verify_heap().expect("verifies");
}

#[test]
fn strings_widen_in_place_under_gc_stress() {
    let mut rt = stress_runtime();
    // Old strings (collected into the old generation) widened while young
    // objects are everywhere: the widened string must keep its new body
    // alive through minor and major collections.
    let src = r#"
      (define strs (map (lambda (i) (make-string 5 (integer->char (+ 97 i)))) '(0 1 2 3)))
      (gc)
      (for-each (lambda (s) (string-set! s 2 #\λ)) strs)
      (define junk (map (lambda (i) (make-vector 10 i)) (iota 200)))
      (string-fill! (car strs) #\Ω 0 1)
      (gc)
      (define t (make-hash-table equal?))
      (for-each (lambda (s) (hash-table-set! t s (string-length s))) strs)
      (list strs (hash-table-ref/default t "bbλbb" #f) (apply string-append strs))
    "#;
    let v = rt.eval_str(src).expect("runs under stress");
    assert_eq!(
        rt.write(&v),
        "((\"Ωaλaa\" \"bbλbb\" \"ccλcc\" \"ddλdd\") 5 \"Ωaλaabbλbbccλccddλdd\")"
    );
    rt.verify_heap().expect("verifies");
}

#[test]
fn threads_run_under_gc_stress() {
    let mut rt = stress_runtime();
    let src = r#"
      (define m (make-mutex))
      (define ch (make-channel 2))
      (define total 0)
      (define (worker i)
        (lambda ()
          (let loop ((k 0))
            (if (< k 30)
                (begin (mutex-lock! m) (set! total (+ total i)) (mutex-unlock! m)
                       (if (= 0 (remainder k 7)) (thread-yield!))
                       (loop (+ k 1)))))
          (channel-send! ch (list 'done i))
          i))
      (define ts (map (lambda (i) (thread-start! (make-thread (worker i) i))) '(1 2 3)))
      (define got (list (channel-receive ch) (channel-receive ch) (channel-receive ch)))
      (define p (make-parameter 'outer))
      (define inner (parameterize ((p 'inner)) (make-thread (lambda () (thread-sleep! 0.001) (p)))))
      (thread-start! inner)
      (list (map thread-join! ts) total (length got) (thread-join! inner)
            (guard (e ((uncaught-exception? e) 'uncaught))
              (thread-join! (thread-start! (make-thread (lambda () (car '())))))))
    "#;
    let v = rt.eval_str(src).expect("runs under stress");
    assert_eq!(rt.write(&v), "((1 2 3) 180 3 inner uncaught)");
    rt.verify_heap().expect("verifies");
}

#[test]
fn fused_instructions_keep_their_operands_alive_under_gc_stress() {
    let mut rt = stress_runtime();
    // `ConsLocal` and `ConsReturn` allocate with both halves still on the
    // stack; the compare-and-branch instructions on locals fall back to
    // generic arithmetic (which allocates) for bignums and flonums.
    let src = r#"
      (define (build n) (if (= n 0) (cons #f #f) (cons (build (- n 1)) (build (+ n -1)))))
      (define (count t) (if (car t) (+ 1 (count (car t)) (count (cdr t))) 1))
      (define (keep l) (let loop ((l l) (acc '())) (if (pair? l) (loop (cdr l) (cons (* 1.0 (car l)) acc)) acc)))
      (define (below? a b) (if (< a b) 'y 'n))
      (define (big? a) (if (> a 10) 'y 'n))
      (list (count (build 6)) (keep '(1 2 3))
            (below? (expt 2 80) (expt 2 81)) (big? (expt 2 70)) (big? 10.5) (below? 2.5 1))
    "#;
    let v = rt.eval_str(src).expect("runs under stress");
    assert_eq!(rt.write(&v), "(127 (3.0 2.0 1.0) y y y n)");
    rt.verify_heap().expect("verifies");
}
