;; spawn: start 1,000,000 threads, each returning its index, keep them all
;; in a list, then join them and sum the results. Measures what a thread
;; costs to create, start, finish and join, and the memory it holds.

(define thread-count 1000000)

;; Start threads 0 .. N-1; the list of them, thread 0 first.
(define (start-threads n)
  (let loop ((i (- n 1)) (threads '()))
    (if (< i 0)
        threads
        (let ((t (make-thread (lambda () i))))
          (thread-start! t)
          (loop (- i 1) (cons t threads))))))

(define (join-all threads total)
  (if (null? threads)
      total
      (join-all (cdr threads) (+ total (thread-join! (car threads))))))

(display (join-all (start-threads thread-count) 0))
(newline)
