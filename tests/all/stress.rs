//! Programs run under the GC stress mode: every allocation collects and
//! moves every young object, and the heap is verified after each collection.

use imp::{Options, Runtime};

#[test]
fn representative_program_runs_under_gc_stress() {
    let mut rt = Runtime::with_options(Options {
        gc_stress: true,
        ..Default::default()
    })
    .expect("runtime");
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
