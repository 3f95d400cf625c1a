;; bintrees: the binary-trees benchmark, max depth 16. Allocates many
;; short-lived trees and one long-lived one. Measures allocation and the
;; garbage collector. A node is a pair of subtrees; a leaf is (#f . #f).

(define (make-tree depth)
  (if (= depth 0)
      (cons #f #f)
      (cons (make-tree (- depth 1))
            (make-tree (- depth 1)))))

;; Number of nodes in TREE.
(define (check tree)
  (if (car tree)
      (+ 1 (check (car tree)) (check (cdr tree)))
      1))

(define (power-of-two n)
  (let loop ((i 0) (acc 1))
    (if (= i n)
        acc
        (loop (+ i 1) (* acc 2)))))

(define min-depth 4)
(define max-depth 16)

(define (stretch depth)
  (display "stretch tree of depth ")
  (display depth)
  (display "\t check: ")
  (display (check (make-tree depth)))
  (newline))

;; Build and check ITERATIONS trees of DEPTH, one at a time.
(define (sum-checks iterations depth)
  (let loop ((i 0) (sum 0))
    (if (= i iterations)
        sum
        (loop (+ i 1) (+ sum (check (make-tree depth)))))))

(define (depths depth)
  (cond ((<= depth max-depth)
         (let ((iterations (power-of-two (+ (- max-depth depth) min-depth))))
           (display iterations)
           (display "\t trees of depth ")
           (display depth)
           (display "\t check: ")
           (display (sum-checks iterations depth))
           (newline)
           (depths (+ depth 2))))))

(stretch (+ max-depth 1))

(define long-lived (make-tree max-depth))

(depths min-depth)

(display "long lived tree of depth ")
(display max-depth)
(display "\t check: ")
(display (check long-lived))
(newline)
