;; Green threads: SRFI-18, channels, interrupts, termination. Only the
;; initial thread prints, so the output does not depend on scheduling.
(define (show . xs) (for-each (lambda (x) (write x) (display " ")) xs) (newline))
(define (start thunk . name) (thread-start! (apply make-thread thunk name)))

;; Threads, names, specifics, results.
(define t (make-thread (lambda () (* 6 7)) 'worker))
(show (thread? t) (thread? 5) (thread-name t) (thread-specific t))
(thread-specific-set! t 'spec)
(show (thread-specific t) (eq? (thread-start! t) t) (thread-join! t))
(show (eq? (current-thread) (initial-thread)) (thread-name (initial-thread)))
(show (thread-join! (start (lambda () (eq? (current-thread) (current-thread))))))
(show (and (memq (initial-thread) (thread-list)) 'listed))

;; A busy thread does not starve the others.
(define spinning (start (lambda () (let loop () (loop))) 'spinner))
(define (count-to n) (let loop ((i 0)) (if (< i n) (loop (+ i 1)) i)))
(show (map thread-join! (map (lambda (n) (start (lambda () (count-to n)))) '(10 20000 30000))))
(thread-yield!)

;; Sleeping.
(define t0 (current-time))
(thread-sleep! 0.02)
(show (time? t0) (>= (- (time->seconds (current-time)) (time->seconds t0)) 0.02))
(show (time->seconds (seconds->time 12.5)))
(thread-sleep! (seconds->time (+ (time->seconds (current-time)) 0.01)))

;; Join timeouts.
(define sleeper (start (lambda () (thread-sleep! 0.3) 'woke)))
(show (thread-join! sleeper 0.01 'timed-out))
(show (guard (e ((join-timeout-exception? e) 'join-timeout-exception)) (thread-join! sleeper 0.01)))
(show (thread-join! sleeper))

;; Uncaught errors surface through thread-join!.
(define failing (start (lambda () (vector-ref (vector) 3))))
(show (guard (e ((uncaught-exception? e)
                 (list 'uncaught (error-object? (uncaught-exception-reason e)))))
        (thread-join! failing)))
(define raising (start (lambda () (raise 'boom))))
(show (guard (e ((uncaught-exception? e) (uncaught-exception-reason e))) (thread-join! raising)))

;; Mutexes.
(define m (make-mutex 'lock))
(show (mutex? m) (mutex? 1) (mutex-name m) (mutex-state m))
(mutex-specific-set! m 'ms)
(show (mutex-specific m))
(mutex-lock! m)
(show (eq? (mutex-state m) (current-thread)))
(show (thread-join! (start (lambda () (mutex-lock! m 0.01)))))
(mutex-unlock! m)
(mutex-lock! m #f #f)
(show (mutex-state m))
(mutex-unlock! m)
(show (mutex-state m))
(define counter 0)
(define workers
  (map (lambda (i)
         (start (lambda ()
                  (let loop ((k 0))
                    (if (< k 500)
                        (begin (mutex-lock! m)
                               (let ((c counter)) (thread-yield!) (set! counter (+ c 1)))
                               (mutex-unlock! m)
                               (loop (+ k 1))))))))
       '(1 2 3 4)))
(for-each thread-join! workers)
(show counter)

;; Abandoned mutexes: after terminate and after the runtime's abrupt kill.
(define am (make-mutex))
(define holder (start (lambda () (mutex-lock! am) (thread-sleep! 10))))
(thread-sleep! 0.01)
(thread-terminate! holder)
(show (mutex-state am))
(show (guard (e ((abandoned-mutex-exception? e) 'abandoned-mutex-exception)) (mutex-lock! am)))
(show (eq? (mutex-state am) (current-thread)))
(mutex-unlock! am)
(define holder2 (start (lambda () (mutex-lock! am) (thread-sleep! 10))))
(thread-sleep! 0.01)
(thread-terminate! holder2)
(show (guard (e ((abandoned-mutex-exception? e) 'abandoned-after-kill)) (mutex-lock! am)))
(mutex-unlock! am)
(show (guard (e ((terminated-thread-exception? e) 'terminated-thread-exception)) (thread-join! holder2)))

;; Condition variables: unlock-and-wait, signal, broadcast, timeout.
(define cv (make-condition-variable 'cv))
(show (condition-variable? cv) (condition-variable-name cv))
(condition-variable-specific-set! cv 'cs)
(show (condition-variable-specific cv))
(define cm (make-mutex))
(define ready #f)
(define waiter
  (start (lambda ()
           (mutex-lock! cm)
           (let loop ()
             (if ready
                 (begin (mutex-unlock! cm) 'saw-ready)
                 (begin (mutex-unlock! cm cv) (mutex-lock! cm) (loop)))))))
(thread-sleep! 0.01)
(mutex-lock! cm)
(set! ready #t)
(condition-variable-signal! cv)
(mutex-unlock! cm)
(show (thread-join! waiter))
(mutex-lock! cm)
(show (mutex-unlock! cm cv 0.01))
(define woken 0)
(define sleepers
  (map (lambda (i) (start (lambda () (mutex-lock! cm) (mutex-unlock! cm cv) (set! woken (+ woken 1)))))
       '(1 2 3)))
(thread-sleep! 0.01)
(condition-variable-broadcast! cv)
(for-each thread-join! sleepers)
(show woken)

;; Channels.
(define ch (make-channel))
(show (channel? ch) (channel? '()))
(define producer
  (start (lambda ()
           (let loop ((i 0)) (if (< i 5) (begin (channel-send! ch (* i i)) (loop (+ i 1)))))
           (channel-close! ch))))
(show (let loop ((acc '()))
        (let ((v (channel-receive ch)))
          (if (eof-object? v) (reverse acc) (loop (cons v acc))))))
(show (channel-closed? ch) (eof-object? (channel-receive ch)))
(show (channel-receive (make-channel) 0.01 'nothing))
(show (guard (e ((error-object? e) (error-object-message e))) (channel-receive (make-channel) 0.01)))
(show (guard (e ((error-object? e) (error-object-message e))) (channel-send! ch 1)))
(define buffered (make-channel 3))
(channel-send! buffered 'a)
(channel-send! buffered 'b)
(channel-send! buffered 'c)
(show (channel-receive buffered) (channel-receive buffered) (channel-receive buffered))

;; Interrupts: a thread blocked on a channel runs the thunk, then goes on waiting.
(define ich (make-channel))
(define log '())
(define receiver (start (lambda () (channel-receive ich))))
(thread-sleep! 0.01)
(show (thread-interrupt! receiver (lambda () (set! log (cons 'interrupted log)))))
(thread-sleep! 0.01)
(show log)
(channel-send! ich 'delivered)
(show (thread-join! receiver))
(define flag #f)
(thread-interrupt! spinning (lambda () (set! flag 'ran-in-spinner)))
(thread-sleep! 0.01)
(show flag)
(show (thread-interrupt! (current-thread) (lambda () (set! flag 'ran-here))) flag)

;; Termination unwinds: after-thunks run exactly once, even when a second
;; request arrives while one is running.
(define afters 0)
(define victim
  (start (lambda ()
           (dynamic-wind
            (lambda () #f)
            (lambda () (thread-sleep! 10))
            (lambda () (set! afters (+ afters 1)) (thread-sleep! 0.05))))))
(thread-sleep! 0.01)
(define first-killer (start (lambda () (thread-terminate! victim) 'first-done)))
(thread-sleep! 0.01)
(thread-terminate! victim)
(show afters (thread-join! first-killer))
(show (guard (e ((terminated-thread-exception? e) 'terminated)) (thread-join! victim)))
(define never-started (make-thread (lambda () 'no)))
(thread-terminate! never-started)
(show (guard (e ((terminated-thread-exception? e) 'terminated-before-start)) (thread-join! never-started)))

;; New threads inherit the parameterization of their creator.
(define p (make-parameter 'outer))
(define inherited (parameterize ((p 'inner)) (make-thread (lambda () (p)))))
(thread-start! inherited)
(show (thread-join! inherited) (p))

(thread-terminate! spinning)
(show (guard (e ((terminated-thread-exception? e) 'spinner-terminated)) (thread-join! spinning)))

;; Deadlock is reported, not a hang.
(show (guard (e ((error-object? e) (error-object-message e)))
        (thread-join! (make-thread (lambda () 1)))))
(show (guard (e ((error-object? e) (error-object-message e)))
        (mutex-lock! m) (mutex-lock! m)))
