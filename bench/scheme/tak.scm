;; tak: the Takeuchi function, repeated. Measures calls with three
;; arguments and integer comparison.

(define (tak x y z)
  (if (< y x)
      (tak (tak (- x 1) y z)
           (tak (- y 1) z x)
           (tak (- z 1) x y))
      z))

(define (repeat-tak times)
  (let loop ((i 1) (result (tak 18 12 6)))
    (if (< i times)
        (loop (+ i 1) (tak 18 12 6))
        result)))

(display (repeat-tak 400))
(newline)
