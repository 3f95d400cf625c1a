;; SRFI-2 and-let*: the document's forms and examples.
(load "../r7rs/check.scm")

(check (and-let* () 1) => 1)
(check (and-let* () 1 2) => 2)
(check (and-let* ()) => #t)
(check (let ((x #f)) (and-let* (x))) => #f)
(check (let ((x 1)) (and-let* (x))) => 1)
(check (and-let* ((x #f))) => #f)
(check (and-let* ((x 1))) => 1)
(check (and-let* ((#f) (x 1))) => #f)
(check (and-let* ((2) (x 1))) => 1)
(check (and-let* ((x 1) (y (+ x 1))) y) => 2)
(check (and-let* ((x 1) (y (+ x 1))) (* x y) (+ x y)) => 3)
(check (let ((x 1)) (and-let* (x (y (+ x 1))) y)) => 2)
(check (and-let* ((x 5) ((> x 3)) (y (* x 2))) y) => 10)
(check (and-let* ((x 5) ((> x 30)) (y (* x 2))) y) => #f)
;; the body is not evaluated, nor any clause after a false one
(check (let ((n 0)) (and-let* ((x #f) (y (begin (set! n 1) 2))) (set! n 2)) n) => 0)
;; the document's example
(define alist '((a . 1) (b . 2)))
(check (and-let* ((entry (assq 'b alist)) (v (cdr entry)) ((even? v))) (* v 10)) => 20)
(check (and-let* ((entry (assq 'c alist))) (cdr entry)) => #f)
;; clauses bind in order; a later one sees an earlier one
(check (and-let* ((x 2) (x (* x x)) (x (* x x))) x) => 16)
(check-error (eval '(and-let* ((x 1 2)) x) (interaction-environment)))

(report)
