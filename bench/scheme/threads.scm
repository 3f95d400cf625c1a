;; threads: 100,000 threads started at once, each yielding 10 times and
;; returning how often it yielded; the main program joins them all and sums
;; the results. Measures thread creation, scheduling and context switches.
;; Threads are SRFI-18's: make-thread, thread-start!, thread-yield!,
;; thread-join!.

(define thread-count 100000)
(define yields 10)

;; The body of every thread: yield YIELDS times, return the count.
(define (worker)
  (let loop ((count 0))
    (if (< count yields)
        (begin
          (thread-yield!)
          (loop (+ count 1)))
        count)))

;; Start N threads; the list of them.
(define (start-threads n)
  (let loop ((i 0) (threads '()))
    (if (= i n)
        threads
        (let ((t (make-thread worker)))
          (thread-start! t)
          (loop (+ i 1) (cons t threads))))))

(define (join-all threads total)
  (if (null? threads)
      total
      (join-all (cdr threads) (+ total (thread-join! (car threads))))))

(display (join-all (start-threads thread-count) 0))
(newline)
