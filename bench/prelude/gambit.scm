;; Prelude for Gambit's interpreter gsi. run.sh puts it in front of every
;; program. Gambit has SRFI-18 green threads of its own, which the thread
;; benchmarks use as they are; what it lacks is supplied here:
;;
;; - the SRFI-69 hash-table names strhash uses, on Gambit's native tables;
;; - channels (make-channel, channel-send!, channel-receive,
;;   channel-close!), built on Gambit's SRFI-18 mutexes and condition
;;   variables, with imp's semantics: capacity 0 (the default) makes an
;;   unbuffered channel whose channel-send! returns once a receiver has
;;   taken the value; a buffered send waits only while the buffer is full;
;;   channel-receive returns the eof object once the channel is closed and
;;   empty.
;;
;; Internal names start with "gambit-".

;; --- SRFI-69 names ---------------------------------------------------------

(define (make-hash-table . test)
  (if (pair? test)
      (make-table test: (car test))
      (make-table)))

(define (hash-table-set! table key value)
  (table-set! table key value))

(define (hash-table-ref/default table key default)
  (table-ref table key default))

;; --- channels --------------------------------------------------------------
;; A channel is a vector #(mutex changed capacity first last count closed?):
;; CHANGED is the condition variable broadcast whenever an item is queued
;; or taken or the channel closes; FIRST and LAST are the first and last
;; cells of the item list (FIRST is () when it is empty). Each item is a
;; pair (value . taken?), so an unbuffered sender can wait for its own item
;; to be taken.

(define (make-channel . capacity)
  (vector (make-mutex)
          (make-condition-variable)
          (if (pair? capacity) (car capacity) 0)
          '()
          '()
          0
          #f))

(define (gambit-channel-mutex channel) (vector-ref channel 0))
(define (gambit-channel-changed channel) (vector-ref channel 1))
(define (gambit-channel-capacity channel) (vector-ref channel 2))
(define (gambit-channel-count channel) (vector-ref channel 5))
(define (gambit-channel-closed? channel) (vector-ref channel 6))

;; Wait on the channel's condition variable; the mutex is held before and
;; after.
(define (gambit-channel-wait channel)
  (mutex-unlock! (gambit-channel-mutex channel)
                 (gambit-channel-changed channel))
  (mutex-lock! (gambit-channel-mutex channel)))

(define (gambit-channel-put! channel item)
  (let ((cell (list item)))
    (if (null? (vector-ref channel 3))
        (vector-set! channel 3 cell)
        (set-cdr! (vector-ref channel 4) cell))
    (vector-set! channel 4 cell)
    (vector-set! channel 5 (+ (gambit-channel-count channel) 1))
    (condition-variable-broadcast! (gambit-channel-changed channel))))

(define (channel-send! channel value)
  (let ((item (cons value #f))
        (capacity (gambit-channel-capacity channel)))
    (mutex-lock! (gambit-channel-mutex channel))
    (if (= capacity 0)
        (begin
          (gambit-channel-check-open channel)
          (gambit-channel-put! channel item)
          (let wait ()
            (if (not (cdr item))
                (begin
                  (gambit-channel-wait channel)
                  (wait)))))
        (let wait ()
          (gambit-channel-check-open channel)
          (if (< (gambit-channel-count channel) capacity)
              (gambit-channel-put! channel item)
              (begin
                (gambit-channel-wait channel)
                (wait)))))
    (mutex-unlock! (gambit-channel-mutex channel))))

(define (gambit-channel-check-open channel)
  (if (gambit-channel-closed? channel)
      (begin
        (mutex-unlock! (gambit-channel-mutex channel))
        (error "channel-send!: the channel is closed" channel))))

(define (channel-receive channel)
  (mutex-lock! (gambit-channel-mutex channel))
  (let wait ()
    (cond ((pair? (vector-ref channel 3))
           (let* ((cell (vector-ref channel 3))
                  (item (car cell)))
             (vector-set! channel 3 (cdr cell))
             (vector-set! channel 5 (- (gambit-channel-count channel) 1))
             (set-cdr! item #t)
             (condition-variable-broadcast! (gambit-channel-changed channel))
             (mutex-unlock! (gambit-channel-mutex channel))
             (car item)))
          ((gambit-channel-closed? channel)
           (mutex-unlock! (gambit-channel-mutex channel))
           (eof-object))
          (else
           (gambit-channel-wait channel)
           (wait)))))

(define (channel-close! channel)
  (mutex-lock! (gambit-channel-mutex channel))
  (vector-set! channel 6 #t)
  (condition-variable-broadcast! (gambit-channel-changed channel))
  (mutex-unlock! (gambit-channel-mutex channel)))
