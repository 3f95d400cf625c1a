;; Prelude for the thread benchmarks (threads, spawn, pingpong) under Guile
;; and CHICKEN's csi. Guile's SRFI-18 threads are operating-system threads,
;; too heavy for 100,000 or 1,000,000 of them, and CHICKEN 5 has no
;; threads in its core. So this file supplies the procedures those
;; benchmarks use as cooperative green threads, written with call/cc in
;; plain R7RS-small:
;;
;;   make-thread thread-start! thread-yield! thread-join!
;;   make-channel channel-send! channel-receive channel-close!
;;
;; run.sh puts it in front of those benchmarks only, after the
;; implementation's own prelude. The main program counts as a thread.
;; Nothing is preemptive: a thread runs until it yields, blocks or ends.
;; Blocking is a loop of yields: thread-join! yields until its thread has
;; finished, and the channel procedures yield until they can proceed.
;; Internal names start with "gt-".
;;
;; Scheduling. The ready queue holds one entry per runnable thread: either
;; the continuation of a thread that yielded, or the start procedure of a
;; thread not yet run; each is called with one ignored argument and never
;; returns to its caller. The first time any thread gives up the processor
;; the scheduler point is captured as a continuation (gt-scheduler); from
;; then on every switch goes back to that point, which calls the next entry.
;; So each thread runs on top of one shallow stack rather than on top of
;; the thread that ran before it, and capturing a continuation costs the
;; same for the 100,000th thread as for the first.

;; --- queues: a pair (first-cell . last-cell); first-cell is () if empty ---

(define (gt-make-queue) (cons '() '()))

(define (gt-queue-empty? q) (null? (car q)))

(define (gt-enqueue! q x)
  (let ((cell (list x)))
    (if (null? (car q))
        (set-car! q cell)
        (set-cdr! (cdr q) cell))
    (set-cdr! q cell)))

(define (gt-dequeue! q)
  (let* ((cell (car q))
         (x (car cell)))
    (set-car! q (cdr cell))
    ;; Unlink the cell, so that a stray reference to it (Guile's collector
    ;; scans copied stacks conservatively) does not keep every later cell,
    ;; and every continuation queued since, alive.
    (set-car! cell #f)
    (set-cdr! cell '())
    x))

;; --- the scheduler ---------------------------------------------------------

(define gt-ready (gt-make-queue))

(define gt-scheduler #f)

;; Leave the current thread (whose continuation, if it is to go on, is
;; already queued) and run the next ready one. Never returns.
(define (gt-switch)
  (if gt-scheduler
      (gt-scheduler #f)
      (begin
        (call-with-current-continuation
         (lambda (k) (set! gt-scheduler k)))
        (if (gt-queue-empty? gt-ready)
            (error "green threads: deadlock, no thread is ready to run")
            ((gt-dequeue! gt-ready) #f)))))

;; --- threads ---------------------------------------------------------------
;; A thread is a vector #(thunk done? result). (Records would read better,
;; but Guile's default environment has no define-record-type.)

(define (gt-new-thread thunk) (vector thunk #f #f))
(define (gt-thread-thunk thread) (vector-ref thread 0))
(define (gt-thread-done? thread) (vector-ref thread 1))
(define (gt-thread-done-set! thread done) (vector-set! thread 1 done))
(define (gt-thread-result thread) (vector-ref thread 2))
(define (gt-thread-result-set! thread result) (vector-set! thread 2 result))

(define (make-thread thunk . name)
  (gt-new-thread thunk))

(define (thread-start! thread)
  (gt-enqueue! gt-ready
               (lambda (ignored)
                 (gt-thread-result-set! thread ((gt-thread-thunk thread)))
                 (gt-thread-done-set! thread #t)
                 (gt-switch)))
  thread)

(define (thread-yield!)
  (call-with-current-continuation
   (lambda (k)
     (gt-enqueue! gt-ready k)
     (gt-switch))))

(define (thread-join! thread . timeout)
  (let wait ()
    (if (gt-thread-done? thread)
        (gt-thread-result thread)
        (begin
          (thread-yield!)
          (wait)))))

;; --- channels --------------------------------------------------------------
;; A channel holds a queue of items, each a pair (value . taken?). A send
;; on an unbuffered channel (capacity 0) queues its item and waits until a
;; receiver has taken it; a send on a buffered channel waits until fewer
;; than capacity items are queued and returns once its item is queued. A
;; receive waits for an item, or returns the eof object once the channel
;; is closed and empty. A channel is a vector #(capacity items count closed?).

(define gt-eof (read (open-input-string "")))

(define (gt-new-channel capacity) (vector capacity (gt-make-queue) 0 #f))
(define (gt-channel-capacity channel) (vector-ref channel 0))
(define (gt-channel-items channel) (vector-ref channel 1))
(define (gt-channel-count channel) (vector-ref channel 2))
(define (gt-channel-count-set! channel count) (vector-set! channel 2 count))
(define (gt-channel-closed? channel) (vector-ref channel 3))
(define (gt-channel-closed-set! channel closed) (vector-set! channel 3 closed))

(define (make-channel . capacity)
  (gt-new-channel (if (pair? capacity) (car capacity) 0)))

(define (gt-channel-put! channel item)
  (if (gt-channel-closed? channel)
      (error "channel-send!: the channel is closed" channel))
  (gt-enqueue! (gt-channel-items channel) item)
  (gt-channel-count-set! channel (+ (gt-channel-count channel) 1)))

(define (channel-send! channel value)
  (let ((item (cons value #f)))
    (if (= (gt-channel-capacity channel) 0)
        (begin
          (gt-channel-put! channel item)
          (let wait ()
            (if (not (cdr item))
                (begin
                  (thread-yield!)
                  (wait)))))
        (let wait ()
          (if (< (gt-channel-count channel) (gt-channel-capacity channel))
              (gt-channel-put! channel item)
              (begin
                (thread-yield!)
                (wait)))))))

(define (channel-receive channel)
  (let wait ()
    (cond ((not (gt-queue-empty? (gt-channel-items channel)))
           (let ((item (gt-dequeue! (gt-channel-items channel))))
             (gt-channel-count-set! channel (- (gt-channel-count channel) 1))
             (set-cdr! item #t)
             (car item)))
          ((gt-channel-closed? channel) gt-eof)
          (else
           (thread-yield!)
           (wait)))))

(define (channel-close! channel)
  (gt-channel-closed-set! channel #t))
