;; The REPL's listener: a green thread (the initial one) that reads entries
;; from the console, evaluates them and prints the results, while other
;; threads go on running. The console is standard input: a line editor on
;; its own OS thread when it is a terminal (the `imp` binary), the plain
;; descriptor otherwise (no prompts are shown then).

(define *1 #f)
(define *2 #f)
(define *3 #f)
(define %repl-last-error #f)
(define %repl-failed #f)     ; an error happened (exit status when piped)

;; SIGINT (Ctrl-C while an evaluation runs) interrupts this thread with
;; this thunk; the condition it raises takes the listener back to its
;; prompt.
(define %sigint-target #f)
(define %user-interrupt (list 'user-interrupt))
(define (%user-interrupt-thunk) (raise %user-interrupt))

(define (%repl-shift! v)
  (set! *3 *2)
  (set! *2 *1)
  (set! *1 v))

(define (%repl-print-values vals)
  (for-each (lambda (v)
              (if (not (eq? v (if #f #f)))
                  (begin (write v) (newline))))
            vals)
  (if (and (pair? vals) (not (eq? (car vals) (if #f #f))))
      (%repl-shift! (car vals))))

(define (%repl-report c)
  (flush-output-port)
  (if (eq? c %user-interrupt)
      (begin (display "interrupted" (current-error-port))
             (newline (current-error-port)))
      (begin
        (set! %repl-last-error c)
        (set! %repl-failed #t)
        (display (%condition-report c) (current-error-port))
        (newline (current-error-port)))))

;; A green thread ended with an uncaught condition: say so (above the
;; prompt, on a terminal), with the thread's name. Anything that goes wrong
;; in saying it is dropped: the thread is ending anyway.
(define (%repl-thread-failed t c)
  (call-with-current-continuation
   (lambda (k)
     (with-exception-handler
      (lambda (e) (k #f))
      (lambda ()
        (let ((p (current-error-port))
              (name (thread-name t)))
          (display "error in thread " p)
          (if name (write name p) (display "(unnamed)" p))
          (display ":\n" p)
          (display (%condition-report c) p)
          (newline p)
          (flush-output-port p)))))))

;; Run thunk; on any condition, report it and return #f (else #t).
(define (%repl-guard thunk)
  (call-with-current-continuation
   (lambda (k)
     (with-exception-handler
      (lambda (c) (k (begin (%repl-report c) #f)))
      (lambda () (thunk) #t)))))

;; Evaluate every form of `text' in turn, printing each one's values.
(define (%repl-eval-text state)
  (let loop ()
    (let ((thunk #f))
      (if (%repl-guard (lambda () (set! thunk (%load-next state))))
          (if (not (eof-object? thunk))
              (if (%repl-guard
                   (lambda ()
                     (call-with-values thunk
                       (lambda vals (%repl-print-values vals)))))
                  (loop)))))
    (%source-close state)))

;; ---- commands ---------------------------------------------------------------

(define %repl-commands
  '(("help" "" "this list")
    ("time" " EXPR" "evaluate EXPR; wall and CPU time, allocation, collections")
    ("describe" " EXPR" "what the value of EXPR is")
    ("apropos" " TEXT" "bound names that contain TEXT")
    ("x" " EXPR" "the bytecode of the procedure EXPR evaluates to")
    ("threads" "" "every thread: name, state, what it waits for")
    ("bt" " [full]" "the backtrace of the last error (full: imp's own frames too)")
    ("load" " FILE" "load FILE")
    ("save" " FILE" "save the running system as an image (save-application)")
    ("gc" "" "collect garbage and show the heap's figures")
    ("quit" " [CODE]" "leave (also Ctrl-D)")))

(define (%repl-help)
  (display "Commands (a comma, then the command):\n")
  (for-each (lambda (c)
              (let ((head (string-append "," (car c) (cadr c))))
                (display "  ")
                (display head)
                (display (make-string (max 1 (- 16 (string-length head))) #\space))
                (display (caddr c))
                (newline)))
            %repl-commands)
  (display "Results are kept in *1, *2 and *3. Ctrl-C stops an evaluation.\n"))

;; The data in `text' (a command's argument), read with the reader.
(define (%repl-args text)
  (let ((p (open-input-string text)))
    (let loop ((acc '()))
      (let ((d (read p)))
        (if (eof-object? d) (reverse acc) (loop (cons d acc)))))))

(define (%repl-eval-arg text)
  (let ((args (%repl-args text)))
    (if (null? args)
        (error "this command needs an expression")
        (eval (car args) (interaction-environment)))))

(define (%repl-string-arg text)
  (let ((args (%repl-args text)))
    (cond ((null? args) (error "this command needs an argument"))
          ((string? (car args)) (car args))
          ((symbol? (car args)) (symbol->string (car args)))
          (else (error "expected a file name or text" (car args))))))

(define (%repl-gc-line)
  (let ((s (gc-stats)))
    (define (f k) (cdr (assq k s)))
    (display (string-append
              "; " (number->string (f 'minor-collections)) " minor and "
              (number->string (f 'major-collections)) " major collections, "
              (number->string (quotient (f 'live-bytes) 1024)) " KiB live, "
              (number->string (quotient (f 'bytes-allocated) 1024)) " KiB allocated in all\n"))))

(define (%repl-seconds us)
  ;; "1.234 s" or "12.345 ms"
  (define (fixed3 n)       ; n thousandths
    (let ((r (number->string (remainder n 1000))))
      (string-append (number->string (quotient n 1000)) "."
                     (make-string (- 3 (string-length r)) #\0) r)))
  (if (>= us 1000000)
      (string-append (fixed3 (quotient us 1000)) " s")
      (string-append (fixed3 us) " ms")))

(define (%repl-time text)
  (let* ((s0 (gc-stats))
         (w0 (current-jiffy))
         (c0 (%cpu-time-us))
         (vals (call-with-values (lambda () (%repl-eval-arg text)) list))
         (w1 (current-jiffy))
         (c1 (%cpu-time-us))
         (s1 (gc-stats)))
    (define (d k) (- (cdr (assq k s1)) (cdr (assq k s0))))
    (display (string-append
              "; " (%repl-seconds (quotient (* (- w1 w0) 1000000) (jiffies-per-second))) " wall, "
              (%repl-seconds (- c1 c0)) " CPU, "
              (number->string (d 'bytes-allocated)) " bytes allocated, "
              (number->string (+ (d 'minor-collections) (d 'major-collections))) " collections\n"))
    (%repl-print-values vals)))

(define (%repl-threads)
  (for-each (lambda (t)
              (display "  ")
              (write (thread-name t))
              (display "  ")
              (display (%thread-state t))
              (let ((w (%thread-waiting-for t)))
                (if w (begin (display ", waiting for ") (display w))))
              (if (eq? t (current-thread)) (display "  (this listener)"))
              (newline))
            (thread-list)))

(define (%repl-command line)
  (let* ((n (string-length line))
         (end (let loop ((i 1))
                (if (or (= i n) (char-whitespace? (string-ref line i))) i (loop (+ i 1)))))
         (name (substring line 1 end))
         (rest (substring line end n)))
    (cond ((string=? name "help") (%repl-help))
          ((string=? name "quit")
           (let ((args (%repl-args rest)))
             (exit (if (pair? args) (car args) 0))))
          ((string=? name "gc") (gc) (%repl-gc-line))
          ((string=? name "time") (%repl-time rest))
          ((string=? name "describe")
           (display (%describe (%repl-eval-arg rest)))
           (newline))
          ((string=? name "apropos")
           (for-each (lambda (s) (display "  ") (display s) (newline))
                     (%apropos (%repl-string-arg rest))))
          ((string=? name "x") (disassemble (%repl-eval-arg rest)))
          ((string=? name "threads") (%repl-threads))
          ((string=? name "bt")
           (if %repl-last-error
               (begin (display (%condition-report
                                %repl-last-error
                                (if (equal? (%repl-args rest) '(full)) 'full 'backtrace)))
                      (newline))
               (display "no error yet\n")))
          ((string=? name "load") (load (%repl-string-arg rest)))
          ((string=? name "save")
           (let ((r (save-application (%repl-string-arg rest))))
             (display "; saved ")
             (display (cdr (assq 'path r)))
             (display ": ")
             (display (cdr (assq 'image-bytes r)))
             (display " bytes\n")))
          (else (error (string-append "unknown command ," name "; ,help lists them"))))))

;; ---- the loop ---------------------------------------------------------------

(define (%repl-blank? s)
  (let loop ((i 0))
    (or (= i (string-length s))
        (and (char-whitespace? (string-ref s i)) (loop (+ i 1))))))

(define (%repl-trim-left s)
  (let loop ((i 0))
    (if (and (< i (string-length s)) (char-whitespace? (string-ref s i)))
        (loop (+ i 1))
        (substring s i (string-length s)))))

;; The next entry from the console; the symbol `interrupted' if Ctrl-C
;; came while waiting for it, `skipped' if the line was not text (it is
;; reported, and the entry it was part of dropped).
(define (%repl-read prompt)
  (call-with-current-continuation
   (lambda (k)
     (with-exception-handler
      (lambda (c)
        (cond ((eq? c %user-interrupt) (k 'interrupted))
              ((read-error? c) (%repl-report c) (k 'skipped))
              (else (raise-continuable c))))
      (lambda () (%console-read prompt))))))

;; (%repl): run the listener until the end of input or `,quit'. Returns
;; #t if every entry went well. An entry of several lines is kept as a list
;; of its lines (newest first) and a scanner that follows its brackets, so
;; it is joined and read only once it may be complete: the cost of an
;; entry is in proportion to its length.
(define (%repl)
  (set! %sigint-target (current-thread))
  (set! %thread-failure-hook %repl-thread-failed)
  ;; A session's own state: an image saved from a session whose entry
  ;; failed must not start out failed.
  (set! %repl-failed #f)
  (set! %repl-last-error #f)
  (let loop ((pieces '()) (scanner #f))
    (let ((text (%repl-read (if (null? pieces) "imp> " "...> "))))
      (cond ((memq text '(interrupted skipped)) (loop '() #f))
            ((eof-object? text)
             (if (pair? pieces)
                 (%repl-report (%repl-error-object "end of input inside an entry"
                                                   (%repl-join pieces))))
             (not %repl-failed))
            ((and (> (string-length text) 0) (char=? (string-ref text 0) (integer->char 0)))
             ;; Ctrl-C in the middle of an entry: drop it.
             (loop '() #f))
            ((and (null? pieces) (%repl-blank? text)) (loop '() #f))
            ((and (null? pieces) (char=? (string-ref (%repl-trim-left text) 0) #\,))
             (%repl-guard (lambda () (%repl-command (%repl-trim-left text))))
             (loop '() #f))
            (else
             (let ((scanner (or scanner (%source-scanner))))
               (if (%source-scan! scanner text)
                   (let* ((entry (%repl-join (cons text pieces)))
                          (state (%source-open entry "<repl>")))
                     (if (eq? state 'incomplete)
                         (loop (list entry) scanner)
                         (begin (%repl-eval-text state)
                                (loop '() #f))))
                   (loop (cons text pieces) scanner))))))))

;; The lines of an entry (newest first) as one string.
(define (%repl-join pieces)
  (if (null? (cdr pieces)) (car pieces) (apply string-append (reverse pieces))))

(define (%repl-error-object message text)
  (call-with-current-continuation
   (lambda (k)
     (with-exception-handler k (lambda () (error message text))))))
