;; closures: a 1,000,000-element list, five rounds of mapping a closure
;; that captures the round number, then folding another closure over the
;; result. Measures closure creation and calls, map, and list allocation.

(define size 1000000)

;; The list (0 1 ... n-1).
(define (make-range n)
  (let loop ((i (- n 1)) (acc '()))
    (if (< i 0)
        acc
        (loop (- i 1) (cons i acc)))))

(define (fold-list f acc lst)
  (if (null? lst)
      acc
      (fold-list f (f acc (car lst)) (cdr lst))))

(define numbers (make-range size))

(define (one-round k)
  (fold-list (lambda (acc x) (+ acc x))
             0
             (map (lambda (x) (+ x k)) numbers)))

(define (rounds k total)
  (if (> k 5)
      total
      (rounds (+ k 1) (+ total (one-round k)))))

(display (rounds 1 0))
(newline)
