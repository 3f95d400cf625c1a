;; A library for the conformance suite (5.6-libraries.scm).
(define-library (imp-test points)
  (export make-point point? point-x (rename point-y y-of) point-sum
          swap! counter-value loaded-count)
  (import (scheme base))
  (include "points-body.scm")
  (begin
    ;; Private: the program has its own `helper`, `tmp` and `counter`.
    (define counter 0)
    (define (helper p) (+ (point-x p) (point-y p)))
    (define (point-sum p) (helper p))
    (define (counter-value) counter)
    (set! counter (+ counter 1))
    (define (loaded-count) counter)
    ;; A macro whose expansion uses a private procedure.
    (define-syntax swap!
      (syntax-rules ()
        ((_ a b) (let ((tmp a)) (set! a b) (set! b (identity tmp))))))
    (define (identity x) x)))
