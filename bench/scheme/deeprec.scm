;; deeprec: sum-list a 1,000,000-element list with a recursion that is not a
;; tail call, so a million frames are live at the deepest point. Measures
;; how deep the stack can go and what deep stacks cost.

(define size 1000000)

;; The list (0 1 ... n-1).
(define (make-range n)
  (let loop ((i (- n 1)) (acc '()))
    (if (< i 0)
        acc
        (loop (- i 1) (cons i acc)))))

(define (sum-list l)
  (if (null? l)
      0
      (+ (car l) (sum-list (cdr l)))))

(display (sum-list (make-range size)))
(newline)
