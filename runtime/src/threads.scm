;;; Green threads: SRFI-18, channels and interrupts, built on the
;;; scheduler's primitives (thread.rs). Every wait registers the thread as
;;; a waiter (atomically, in a primitive), then parks, then re-checks: a
;;; wake-up between the two leaves a permit, so none is lost.

;; ---- conditions --------------------------------------------------------------

(define-record-type join-timeout-exception
  (%make-join-timeout-exception)
  join-timeout-exception?)
(define-record-type abandoned-mutex-exception
  (%make-abandoned-mutex-exception)
  abandoned-mutex-exception?)
(define-record-type terminated-thread-exception
  (%make-terminated-thread-exception)
  terminated-thread-exception?)
(define-record-type uncaught-exception
  (%make-uncaught-exception reason)
  uncaught-exception?
  (reason uncaught-exception-reason))

;; ---- time --------------------------------------------------------------------
;; SRFI-18's time objects are SRFI-19's (time.scm): current-time, time?,
;; time->seconds and seconds->time are defined there.

;; A timeout (#f, a time object, or seconds from now) as a deadline on the
;; scheduler's clock (microseconds), or #f for none.
(define (%deadline timeout)
  (cond ((not timeout) #f)
        ((time? timeout)
         (+ (%now-us)
            (exact (round (* 1e6 (max 0 (- (time->seconds timeout) (current-second))))))))
        ((and (real? timeout) (nan? timeout))
         (error "expected a timeout: a time object, a number of seconds, or #f" timeout))
        ;; Longer than the scheduler's clock can count: no deadline.
        ((and (real? timeout) (> timeout 1e12)) #f)
        ((real? timeout) (+ (%now-us) (exact (round (* 1e6 (max 0 timeout))))))
        (else (error "expected a timeout: a time object, a number of seconds, or #f" timeout))))

;; The scheduler's interrupt for a thread blocked in a primitive (an I/O
;; wait) that nothing can end.
(define (%raise-deadlock)
  (error "deadlock: every thread is waiting and nothing can wake one"))

(define (%park* deadline)
  (let ((r (%park deadline)))
    (if (eq? r '%deadlock)
        (error "deadlock: every thread is waiting and nothing can wake one")
        r)))

;; ---- threads -----------------------------------------------------------------

;; Run by the scheduler when a thread with pending interrupts resumes.
(define (%run-interrupts)
  (let loop ((l (%take-interrupts!)))
    (if (pair? l)
        (begin ((car l)) (loop (append (cdr l) (%take-interrupts!)))))))

(define (make-thread thunk . name)
  (%make-thread thunk (if (pair? name) (car name) #f)))

(define (thread-start! t) (%thread-start! t))

(define (initial-thread) (%initial-thread))

(define (thread-yield!) (%yield) (if #f #f))

(define (thread-sleep! timeout)
  (if (not timeout) (error "thread-sleep!: expected a timeout" timeout))
  (let ((deadline (%deadline timeout)))
    (let loop ()
      (if (< (%now-us) deadline)
          (begin (%park* deadline) (loop))))))

;; Wait until thread t has ended; #f if the deadline passed first.
(define (%wait-for-end t deadline)
  (let loop ()
    (cond ((eq? (%thread-state t) 'terminated) #t)
          (else
           (%enqueue-waiter! (%thread-joiners t))
           (cond ((eq? (%thread-state t) 'terminated) (%cancel-wait!) #t)
                 ((eq? (%park* deadline) 'timeout) (%cancel-wait!) #f)
                 (else (loop)))))))

(define (thread-join! t . opt)
  (if (not (thread? t)) (error "thread-join!: expected a thread" t))
  (if (eq? t (current-thread)) (error "thread-join!: a thread cannot join itself" t))
  (let ((deadline (%deadline (if (pair? opt) (car opt) #f))))
    (if (%wait-for-end t deadline)
        (case (%thread-end-kind t)
          ((normal) (%thread-result t))
          ((failed) (raise (%make-uncaught-exception (%thread-result t))))
          (else (raise (%make-terminated-thread-exception))))
        (if (and (pair? opt) (pair? (cdr opt)))
            (cadr opt)
            (raise (%make-join-timeout-exception))))))

(define (%terminate-current!)
  (if (eq? (current-thread) (initial-thread))
      (exit 0)
      (%thread-unwind-and-end)))

(define (thread-terminate! t)
  (let ((r (%thread-begin-terminate! t)))
    (cond ((eq? r 'done) (if #f #f))
          ((eq? t (current-thread))
           ;; A second request while unwinding is ignored, so an
           ;; after-thunk already running is not cut short or re-entered.
           (if (eq? r 'unwind) (%terminate-current!)))
          (else
           (if (eq? r 'unwind) (%thread-interrupt! t %terminate-current!))
           (%wait-for-end t #f)
           (if #f #f)))))

(define (thread-interrupt! t thunk)
  (if (not (procedure? thunk)) (error "thread-interrupt!: expected a procedure" thunk))
  (if (eq? t (current-thread))
      (begin (thunk) #t)
      (%thread-interrupt! t thunk)))

(define (thread-list) (%thread-list))

;; Let every other thread run until none is ready (those waiting for a
;; timer, a channel or I/O stay waiting): what a host calls to drive them.
(define (%run-until-idle)
  (let loop ()
    (if (%others-runnable?)
        (begin (thread-yield!) (loop)))))

;; ---- mutexes and condition variables -----------------------------------------

(define (make-mutex . name) (%make-mutex (if (pair? name) (car name) #f)))

(define (mutex-state m) (%mutex-state m))

(define (mutex-lock! m . opt)
  (let ((deadline (%deadline (if (pair? opt) (car opt) #f)))
        (owner (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) (current-thread))))
    (let loop ()
      (let ((r (%mutex-acquire! m owner)))
        (cond ((eq? r #t) #t)
              ((eq? r 'abandoned) (raise (%make-abandoned-mutex-exception)))
              ((eq? (%park* deadline) 'timeout) (%cancel-wait!) #f)
              (else (loop)))))))

(define (mutex-unlock! m . opt)
  (if (and (pair? opt) (car opt))
      (let ((cv (car opt))
            (deadline (%deadline (if (pair? (cdr opt)) (cadr opt) #f))))
        (%enqueue-waiter! (%condvar-waiters cv))
        (%mutex-release! m)
        (let loop ()
          (let ((r (%park* deadline)))
            (cond ((eq? r 'timeout) (%cancel-wait!) #f)
                  ((eq? r '%interrupted) (loop))
                  (else #t)))))
      (begin (%mutex-release! m) #t)))

(define (make-condition-variable . name)
  (%make-condition-variable (if (pair? name) (car name) #f)))

;; ---- channels ----------------------------------------------------------------

(define (make-channel . capacity)
  (%make-channel (if (pair? capacity) (car capacity) 0)))

;; Returns once the value is received, or buffered within the capacity.
(define (channel-send! ch v)
  (let ((seq (%channel-send! ch v)))
    (let loop ()
      (if (not (%channel-sent-taken? ch seq))
          (begin (%park* #f) (loop))))))

;; The next value; the eof object once the channel is closed and empty.
;; With a timeout: the default if given, else an error, when it passes.
(define (channel-receive ch . opt)
  (let ((deadline (%deadline (if (pair? opt) (car opt) #f))))
    (let loop ()
      (let ((r (%channel-try-receive! ch)))
        (cond ((pair? r) (car r))
              ((eof-object? r) r)
              ((eq? (%park* deadline) 'timeout)
               (%cancel-wait!)
               (if (and (pair? opt) (pair? (cdr opt)))
                   (cadr opt)
                   (error "channel-receive: timed out" ch)))
              (else (loop)))))))

;; For the host: (v) if a value is ready now, () if none is, the eof object
;; once the channel is closed and empty.
(define (%channel-poll ch)
  (thread-yield!)
  (let* ((none (list 'none))
         (r (channel-receive ch 0 none)))
    (cond ((eq? r none) '())
          ((eof-object? r) r)
          (else (list r)))))

;; ---- processes ---------------------------------------------------------------

;; Run a program with the same standard input and output; its exit status
;; (128 + the signal number if a signal ended it). Other threads run while
;; it does.
(define (process-run cmd . args)
  (%process-wait (%process-start cmd args)))

;; The procedure an async native function is (Runtime::register_async):
;; start the future, then wait for its result.
(define (%make-async-wrapper start)
  (lambda args (%await-future (apply start args))))

;; ---- saving the running system ----------------------------------------------

;; Fork handlers, the pthread_atfork discipline for Scheme libraries:
;; prepare thunks run before the fork in reverse order of registration,
;; parent and child thunks after it, in order. #f skips a slot.
(define %fork-handlers '())
(define (register-fork-handlers! prepare parent child)
  (for-each (lambda (p)
              (if (and p (not (procedure? p)))
                  (error "register-fork-handlers!: expected a procedure or #f" p)))
            (list prepare parent child))
  (set! %fork-handlers (append %fork-handlers (list (vector prepare parent child)))))
(define (%run-fork-handlers which handlers)
  (for-each (lambda (h) (let ((f (vector-ref h which))) (if f (f)))) handlers))

;; Thunks an image runs when it starts, each under a handler: one that
;; fails is reported and skipped.
(define %restore-hooks '())
(define (add-restore-hook! thunk)
  (if (not (procedure? thunk)) (error "add-restore-hook!: expected a procedure" thunk))
  (set! %restore-hooks (append %restore-hooks (list thunk))))
(define (%run-restore-hooks hooks)
  (for-each (lambda (h)
              (call/cc
               (lambda (skip)
                 (with-exception-handler
                  (lambda (e)
                    (display "imp: a restore hook failed and was skipped:\n" (current-error-port))
                    (%print-error e)
                    (skip #f))
                  h))))
            hooks))

;; In a save child: every other thread is asked to unwind (one with
;; nothing to unwind ends at once); those not done when the deadline
;; passes are ended without running any more of their code. The requests
;; and the kills are single primitives, and the deadline wakes this thread
;; ahead of the others, so the phase is linear in the number of threads
;; and bounded by the timeout.
(define (%terminate-other-threads! timeout)
  (let ((deadline (%deadline timeout)))
    (%terminate-others!)
    (let loop ()
      (if (and (> (%unwinding-count) 0)
               (not (eq? (%park* deadline) 'timeout)))
          (loop)))
    (%kill-others!)))

;; Keyword options `#:key value ...`: the value of `key` (or `default`),
;; and a check that they come in pairs and are among `allowed`.
(define (%option opts key default)
  (let loop ((o opts))
    (cond ((or (null? o) (null? (cdr o))) default)
          ((eq? (car o) key) (cadr o))
          (else (loop (cddr o))))))

(define (%check-options who opts allowed)
  (let loop ((o opts))
    (cond ((null? o) #t)
          ((not (memq (car o) allowed))
           (error (string-append who ": unknown option") (car o)))
          ((null? (cdr o)) (error (string-append who ": option without a value") (car o)))
          (else (loop (cddr o))))))

(define %save-options
  '(#:toplevel #:fork #:executable #:kill-timeout #:save-timeout #:wait #:threads #:resume))

;; What the save being made does with the other threads ('keep or
;; 'terminate), for its fork handlers; #f when no save is being made.
(define %save-threads #f)
(define (save-threads-mode) %save-threads)

;; A save's timeout option: a finite number of seconds, at least `least`.
(define (%check-seconds option v least)
  (if (not (and (real? v) (not (nan? v)) (< (abs v) +inf.0) (>= v least)))
      (error (string-append "save-application: " option
                            " must be a finite number of seconds no less than "
                            (number->string least))
             v)))

;; (save-application path #:toplevel proc #:fork bool #:kill-timeout secs
;;                   #:save-timeout secs #:wait bool #:threads 'terminate|'keep
;;                   #:resume bool)
;; With #:threads 'keep the other threads are saved as they are, and the
;; image resumes them; without a #:toplevel (and unless #:resume is #f) it
;; also continues the calling thread from this call, which returns the
;; symbol `restored` there.
(define (save-application path . opts)
  (if (not (string? path)) (error "save-application: expected a file name string" path))
  (%check-options "save-application" opts %save-options)
  (let ((toplevel (%option opts #:toplevel #f))
        (fork? (%option opts #:fork #t))
        (kill-timeout (%option opts #:kill-timeout 1))
        (save-timeout (%option opts #:save-timeout 60))
        (wait? (%option opts #:wait #t))
        (executable? (%option opts #:executable #f))
        (threads (%option opts #:threads 'terminate))
        (resume? (%option opts #:resume #t)))
    (if (and toplevel (not (procedure? toplevel)))
        (error "save-application: #:toplevel must be a procedure" toplevel))
    (if (not (memq threads '(terminate keep)))
        (error "save-application: #:threads must be 'terminate or 'keep" threads))
    (%check-seconds "#:kill-timeout" kill-timeout 0)
    (%check-seconds "#:save-timeout" save-timeout 0.001)
    (let* ((keep? (eq? threads 'keep))
           (resume #f)
           (restored? (and keep? (not toplevel) resume?
                           (call-with-current-continuation
                            (lambda (k) (set! resume k) #f)))))
      (cond
       (restored? 'restored)
       (else
        (let ((toplevel (or toplevel (and keep? resume? (lambda () (resume 'restored))))))
          ;; In the save child (or this process, without a fork): keep the
          ;; other threads for the image, or end them.
          (define (settle-threads)
            (if keep? (%save-keep-threads!) (%terminate-other-threads! kill-timeout)))
          (if fork?
              (let ((r (dynamic-wind
                        (lambda () (set! %save-threads threads))
                        (lambda ()
                          (%run-fork-handlers 0 (reverse %fork-handlers))
                          (let ((r (%save-fork path save-timeout)))
                            (if (eq? r 'child)
                                ;; The child never returns to the program: any
                                ;; error ends it, reported to the parent.
                                (with-exception-handler
                                 %save-child-fail
                                 (lambda ()
                                   (%save-child-phase 'child-handlers)
                                   (%run-fork-handlers 2 %fork-handlers)
                                   (%save-child-phase 'terminate-threads)
                                   (settle-threads)
                                   ;; The image is not in a save.
                                   (set! %save-threads #f)
                                   (%save-child-finish path toplevel %restore-hooks executable?)))
                                (begin (%run-fork-handlers 1 %fork-handlers) r))))
                        (lambda () (set! %save-threads #f)))))
                (let ((finish (lambda () (cons (cons 'path path) (%save-wait r)))))
                  (if wait? (finish) finish)))
              (begin
                (settle-threads)
                (%save-image path toplevel %restore-hooks executable?)
                (exit 0)))))))))
