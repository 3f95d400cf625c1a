;; R7RS 6.14 System interface: load, file-exists?, delete-file,
;; command-line, environment variables, time, features.
;; exit and emergency-exit end the process, so they come last: the file
;; ends by calling exit inside dynamic-wind, and its after thunk reports.
;; The temporary file tmp-6.14-system.txt is deleted at the end.
(load "check.scm")

(define tmp-file "tmp-6.14-system.txt")
(define missing-file "tmp-6.14-surely-missing.txt")
(if (file-exists? tmp-file) (delete-file tmp-file))

(define (every? pred lst)
  (or (null? lst) (and (pred (car lst)) (every? pred (cdr lst)))))

;;; file-exists?

(check (file-exists? "check.scm") => #t)
(check (file-exists? missing-file) => #f)
(check (file-exists? tmp-file) => #f)
(check (begin (call-with-output-file tmp-file (lambda (p) (display "x" p)))
              (file-exists? tmp-file))
       => #t)
(check-error (file-exists? 'not-a-string))

;;; delete-file

(check (begin (delete-file tmp-file) (file-exists? tmp-file)) => #f)
;; Deleting a file that does not exist signals an error satisfying file-error?.
(check-error (delete-file missing-file))
(check (guard (e (#t (file-error? e))) (delete-file missing-file)) => #t)

;;; load

(call-with-output-file tmp-file
  (lambda (p)
    (write '(define loaded-6.14 'from-file) p)
    (write '(define (loaded-add-6.14 a b) (+ a b)) p)
    (write '(define-syntax loaded-swap-6.14
              (syntax-rules () ((_ a b) (let ((t a)) (set! a b) (set! b t)))))
           p)))
(load tmp-file)
(check (eval 'loaded-6.14 (interaction-environment)) => 'from-file)
(check (eval '(loaded-add-6.14 2 3) (interaction-environment)) => 5)
(check (eval '(let ((x 1) (y 2)) (loaded-swap-6.14 x y) (list x y))
             (interaction-environment))
       => '(2 1))
;; load with an explicit environment specifier.
(call-with-output-file tmp-file
  (lambda (p) (write '(define loaded-env-6.14 (* 6 7)) p)))
(load tmp-file (interaction-environment))
(check (eval 'loaded-env-6.14 (interaction-environment)) => 42)
;; load does not change the current ports.
(check (let ((in (current-input-port)) (out (current-output-port)))
         (load tmp-file)
         (and (eq? in (current-input-port)) (eq? out (current-output-port))))
       => #t)
;; Loading a missing file is an error.
(check-error (load missing-file))
(delete-file tmp-file)
(check (file-exists? tmp-file) => #f)

;;; command-line

(check (list? (command-line)) => #t)
(check (pair? (command-line)) => #t)
(check (every? string? (command-line)) => #t)

;;; get-environment-variable, get-environment-variables

(check (string? (get-environment-variable "PATH")) => #t)
(check (get-environment-variable "IMP_R7RS_SURELY_MISSING_VARIABLE_6_14") => #f)
(check (let ((vars (get-environment-variables)))
         (and (list? vars)
              (every? (lambda (entry)
                        (and (pair? entry) (string? (car entry)) (string? (cdr entry))))
                      vars)))
       => #t)
(check (let ((entry (assoc "PATH" (get-environment-variables))))
         (and entry (equal? (cdr entry) (get-environment-variable "PATH"))))
       => #t)
(check (assoc "IMP_R7RS_SURELY_MISSING_VARIABLE_6_14" (get-environment-variables)) => #f)

;;; current-second

(check (inexact? (current-second)) => #t)
(check (real? (current-second)) => #t)
;; Some time after 2020-01-01 and before 2200-01-01 (TAI seconds since 1970).
(check (< 1577836800 (current-second) 7258118400) => #t)
(check (let* ((a (current-second)) (b (current-second))) (<= a b)) => #t)

;;; current-jiffy, jiffies-per-second

(check (exact-integer? (current-jiffy)) => #t)
(check (let* ((a (current-jiffy)) (b (current-jiffy)) (c (current-jiffy)))
         (and (<= a b) (<= b c)))
       => #t)
(check (exact-integer? (jiffies-per-second)) => #t)
(check (positive? (jiffies-per-second)) => #t)
(check (= (jiffies-per-second) (jiffies-per-second)) => #t)
;; The report's time-length example returns a non-negative exact rational.
(define (time-length)
  (let ((list (make-list 100000))
        (start (current-jiffy)))
    (length list)
    (/ (- (current-jiffy) start)
       (jiffies-per-second))))
(check (let ((t (time-length))) (and (exact? t) (rational? t) (>= t 0))) => #t)
;; Jiffies advance consistently with seconds: after about 20 ms of busy
;; waiting on current-second, at least 10 ms' worth of jiffies have passed.
(check (let ((j0 (current-jiffy)) (s0 (current-second)))
         (let loop () (if (< (- (current-second) s0) 0.02) (loop)))
         (>= (- (current-jiffy) j0) (/ (jiffies-per-second) 100)))
       => #t)

;;; features

(check (list? (features)) => #t)
(check (every? symbol? (features)) => #t)
(check (and (memq 'r7rs (features)) #t) => #t)
(check (cond-expand (r7rs 'yes) (else 'no)) => 'yes)
;; A listed feature is one that cond-expand treats as true.
(check (if (memq 'full-unicode (features))
           (cond-expand (full-unicode #t) (else #f))
           #t)
       => #t)
(check (if (memq 'ratios (features)) (cond-expand (ratios #t) (else #f)) #t) => #t)

;;; read-error? and file-error? (see also 6.11-exceptions.scm)

(check (guard (e (#t (file-error? e))) (open-input-file missing-file)) => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string "(1 2"))) => #t)

;;; exit and emergency-exit
;;
;; These end the program, so the file ends here instead of with (report).
;; (exit 7) must run the outstanding dynamic-wind after thunk below, which
;; makes one more check and then reports and ends the program with
;; emergency-exit, whose own after thunk must not run. If the program ends
;; with status 7 and no "checks:" line, exit skipped the after thunk.

(check (procedure? exit) => #t)
(check (procedure? emergency-exit) => #t)
(define exit-after-thunk-ran #f)
(display "before exit: ") (display check-count)
(display " checks, ") (display check-failures) (display " failures") (newline)
(dynamic-wind
  (lambda () #f)
  (lambda () (exit 7))
  (lambda ()
    (set! exit-after-thunk-ran #t)
    (check exit-after-thunk-ran => #t)
    (dynamic-wind
      (lambda () #f)
      (lambda ()
        (display "checks: ") (display check-count)
        (display ", failures: ") (display check-failures) (newline)
        (emergency-exit (= check-failures 0)))   ; #t is success, #f failure
      (lambda ()
        (display "FAIL: emergency-exit ran a dynamic-wind after thunk") (newline)
        (emergency-exit 1)))))
