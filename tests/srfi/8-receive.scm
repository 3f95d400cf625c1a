;; SRFI-8 receive: the document's example and the formals' shapes.
(load "../r7rs/check.scm")

(check (receive (q r . rest) (values 1 2 3 4) (list q r rest)) => '(1 2 (3 4)))
(check (receive (a b) (values 1 2) (+ a b)) => 3)
(check (receive all (values 1 2 3) all) => '(1 2 3))
(check (receive () (values) 'none) => 'none)
(check (receive (x) 5 x) => 5)
(check (receive (q r) (floor/ 7 2) (list q r)) => '(3 1))
(check-error (receive (a b) (values 1) a))
(check-error (eval '(receive) (interaction-environment)))

(report)
