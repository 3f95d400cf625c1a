;; SRFI-26 cut and cute: the document's examples, rest slots, and the
;; difference between the two (when the non-slot expressions run).
(load "../r7rs/check.scm")

(check ((cut cons (+ 1 1) <>) 3) => '(2 . 3))
(check ((cut list 1 <> 3 <> 5) 2 4) => '(1 2 3 4 5))
(check ((cut list) ) => '())
(check ((cut list 1 <> 3 <...>) 2) => '(1 2 3))
(check ((cut list 1 <> 3 <...>) 2 4 5 6) => '(1 2 3 4 5 6))
(check ((cut <> 1 2) +) => 3)
(check ((cut <> <>) car '(x y)) => 'x)
(check (map (cut * 2 <>) '(1 2 3 4)) => '(2 4 6 8))
(check (map (cut vector-set! <> 0 <>) (list (vector 1) (vector 2)) '(a b)) => (map (lambda (v x) (vector-set! v 0 x)) (list (vector 1) (vector 2)) '(a b)))
(check ((cut apply + <...>) '(1 2 3)) => 6)
(check ((cut + <...>)) => 0)
;; cut evaluates its expressions at each call, cute once, when made
(check (let* ((n 0) (f (cut list (begin (set! n (+ n 1)) n) <>))) (f 'a) (f 'b)) => '(2 b))
(check (let* ((n 0) (f (cute list (begin (set! n (+ n 1)) n) <>))) (f 'a) (f 'b)) => '(1 b))
(check (let* ((n 0) (f (cute list (begin (set! n (+ n 1)) n) <...>))) (f 1 2) (list n (f 3))) => '(1 (1 3)))
(check ((cute cons (+ 1 1) <>) 3) => '(2 . 3))
(check ((cute <> 5) -) => -5)
;; the slots are the procedure's arguments, in order
(check (procedure? (cut list <> <>)) => #t)
(check-error ((cut list <> <>) 1))
(check-error ((cute list <>) 1 2))

(report)
