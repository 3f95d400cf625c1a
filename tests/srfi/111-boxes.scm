;; SRFI-111 Boxes.
(load "../r7rs/check.scm")

(define b (box 1))
(check (box? b) => #t)
(check (box? 1) => #f)
(check (box? (vector 1)) => #f)
(check (unbox b) => 1)
(set-box! b 'two)
(check (unbox b) => 'two)
(check (eq? b b) => #t)
(check (let ((c (box '()))) (set-box! c (cons 1 (unbox c))) (set-box! c (cons 2 (unbox c))) (unbox c)) => '(2 1))
;; a box that holds itself prints finitely
(check (let ((b (box 1)) (p (open-output-string))) (set-box! b b) (write b p) (get-output-string p))
       => "#0=#<box value: #0#>")
(check-error (unbox 5))
(check-error (set-box! 'x 1))
(check-error (box))

(report)
