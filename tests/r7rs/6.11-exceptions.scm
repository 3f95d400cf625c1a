;; R7RS 6.11 Exceptions (and the guard syntax of 4.2.7): handlers, raise,
;; raise-continuable, error objects, read and file errors.
(load "check.scm")

;; Runs thunk with the current output port bound to a string port; returns
;; (list result printed-text).
(define (capture-output thunk)
  (let ((port (open-output-string)))
    (let ((result (parameterize ((current-output-port port)) (thunk))))
      (list result (get-output-string port)))))

;;; with-exception-handler

(check (with-exception-handler (lambda (e) 'handled) (lambda () (+ 1 2))) => 3)
(check (call-with-values
        (lambda () (with-exception-handler (lambda (e) 0) (lambda () (values 1 2))))
        list)
       => '(1 2))
;; The report's first example: escaping from the handler.
(check (capture-output
        (lambda ()
          (call-with-current-continuation
           (lambda (k)
             (with-exception-handler
              (lambda (x)
                (display "condition: ")
                (write x)
                (newline)
                (k 'exception))
              (lambda ()
                (+ 1 (raise 'an-error))))))))
       => '(exception "condition: an-error\n"))
;; The handler receives the raised object itself.
(check (let ((obj (list 1 2)))
         (eq? obj (call/cc
                   (lambda (k)
                     (with-exception-handler k (lambda () (raise obj)))))))
       => #t)
;; The handler runs in the dynamic environment of the raise ...
(check (let ((p (make-parameter 'outer)))
         (with-exception-handler
          (lambda (e) (p))
          (lambda ()
            (parameterize ((p 'inner))
              (raise-continuable 'x)))))
       => 'inner)
;; ... except that the current handler is the outer one.
(check (with-exception-handler
        (lambda (e) (list 'outer e))
        (lambda ()
          (with-exception-handler
           (lambda (e) (raise-continuable (list 'inner e)))
           (lambda () (raise-continuable 'x)))))
       => '(outer (inner x)))
(check (call/cc
        (lambda (k)
          (with-exception-handler
           (lambda (e) (k (list 'outer e)))
           (lambda ()
             (with-exception-handler
              (lambda (e) (raise (list 'inner e)))
              (lambda () (raise 'x)))))))
       => '(outer (inner x)))
;; The handler is uninstalled once the thunk returns.
(check (call/cc
        (lambda (k)
          (with-exception-handler
           (lambda (e) (k (list 'outer e)))
           (lambda ()
             (with-exception-handler (lambda (e) (k 'inner-still-installed))
                                     (lambda () 'done))
             (raise 'later)))))
       => '(outer later))

;;; raise

;; The report's second example: the handler returns, so a secondary
;; exception is raised (in the handler's dynamic environment).
(check-error
 (with-exception-handler
  (lambda (x) 'ignored)
  (lambda () (+ 1 (raise 'an-error)))))
(check (let ((port (open-output-string)))
         (guard (e (#t #t))
           (parameterize ((current-output-port port))
             (with-exception-handler
              (lambda (x)
                (display "something went wrong\n"))
              (lambda ()
                (+ 1 (raise 'an-error))))))
         (get-output-string port))
       => "something went wrong\n")
;; The secondary exception goes to the outer handler.
(check (call/cc
        (lambda (k)
          (with-exception-handler
           (lambda (e) (k 'secondary-reached-outer))
           (lambda ()
             (with-exception-handler
              (lambda (e) 'returned)
              (lambda () (raise 'first)))))))
       => 'secondary-reached-outer)
;; raise never returns to its caller.
(check (let ((after #f))
         (guard (e (#t after))
           (with-exception-handler
            (lambda (e) 'returned)
            (lambda () (raise 'boom) (set! after #t)))))
       => #f)
(check (guard (e (#t e)) (raise 42)) => 42)
(check (guard (e (#t e)) (raise "str")) => "str")
(check (guard (e (#t e)) (raise '(a . b))) => '(a . b))
(check (guard (e (#t e)) (raise #f)) => #f)
(check-error (raise 'anything))

;;; raise-continuable

(check (capture-output
        (lambda ()
          (with-exception-handler
           (lambda (con)
             (cond
              ((string? con)
               (display con))
              (else
               (display "a warning has been issued")))
             42)
           (lambda ()
             (+ (raise-continuable "should be a number")
                23)))))
       => '(65 "should be a number"))
(check (with-exception-handler
        (lambda (c) (* c 2))
        (lambda () (+ (raise-continuable 1) (raise-continuable 10))))
       => 22)
(check (with-exception-handler
        (lambda (c) (values 1 2))
        (lambda () (call-with-values (lambda () (raise-continuable 'x)) list)))
       => '(1 2))
(check (with-exception-handler
        (lambda (c) 'from-handler)
        (lambda () (raise-continuable 'x)))
       => 'from-handler)

;;; error, error-object?, error-object-message, error-object-irritants

(check (guard (e (#t (list (error-object? e)
                           (error-object-message e)
                           (error-object-irritants e))))
         (error "Something bad:" 1 'two "three"))
       => '(#t "Something bad:" (1 two "three")))
(check (guard (e (#t (error-object-irritants e))) (error "no irritants")) => '())
(check (guard (e ((error-object? e) (error-object-message e))) (error "msg"))
       => "msg")
(define (null-list? l)
  (cond ((pair? l) #f)
        ((null? l) #t)
        (else
         (error
          "null-list?: argument out of domain"
          l))))
(check (null-list? '()) => #t)
(check (null-list? '(1)) => #f)
(check (guard (e ((error-object? e)
                  (list (error-object-message e) (error-object-irritants e))))
         (null-list? 5))
       => '("null-list?: argument out of domain" (5)))
(check-error (error "plain error"))
(check (error-object? 'an-error) => #f)
(check (error-object? "a string") => #f)
(check (error-object? 42) => #f)
(check (guard (e (#t (error-object? e))) (raise 'sym)) => #f)
(check (guard (e (#t (error-object? e))) (error "x")) => #t)
;; error raises as if by raise: a handler that returns is an error.
(check-error (with-exception-handler (lambda (e) 0) (lambda () (error "x"))))
;; The irritant objects are kept as they are.
(check (let ((obj (vector 1 2)))
         (guard (e (#t (eq? obj (car (error-object-irritants e)))))
           (error "msg" obj)))
       => #t)
;; The handler of with-exception-handler sees the error object.
(check (call/cc
        (lambda (k)
          (with-exception-handler
           (lambda (e) (k (and (error-object? e) (error-object-message e))))
           (lambda () (error "via handler" 1)))))
       => "via handler")

;;; read-error?

(check (guard (e (#t (read-error? e))) (read (open-input-string "(1 2")))
       => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string "\"abc")))
       => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string "#(1 2")))
       => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string "(1 . 2 3)")))
       => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string "(1 . )")))
       => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string ")")))
       => #t)
(check (guard (e (#t (read-error? e))) (read (open-input-string "#\\nosuchcharname")))
       => #t)
(check (read-error? 'x) => #f)
(check (guard (e (#t (read-error? e))) (error "not a read error")) => #f)
(check (guard (e (#t (read-error? e))) (raise 'sym)) => #f)
;; A successful read after a complete datum raises nothing.
(check (read (open-input-string "(1 2)")) => '(1 2))

;;; file-error?

(check (guard (e (#t (file-error? e)))
         (open-input-file "tmp-surely-missing-file-6.11.txt"))
       => #t)
(check (guard (e (#t (file-error? e)))
         (open-output-file "tmp-surely-missing-dir-6.11/x.txt"))
       => #t)
(check (guard (e (#t (file-error? e)))
         (call-with-input-file "tmp-surely-missing-file-6.11.txt" read))
       => #t)
(check (guard (e (#t (file-error? e)))
         (with-input-from-file "tmp-surely-missing-file-6.11.txt" read))
       => #t)
(check (file-error? 'x) => #f)
(check (guard (e (#t (file-error? e))) (error "not a file error")) => #f)
(check (guard (e (#t (file-error? e))) (read (open-input-string "(1"))) => #f)
(check (guard (e (#t (read-error? e)))
         (open-input-file "tmp-surely-missing-file-6.11.txt"))
       => #f)

;;; guard (4.2.7)

(check (guard (condition
               ((assq 'a condition) => cdr)
               ((assq 'b condition)))
         (raise (list (cons 'a 42))))
       => 42)
(check (guard (condition
               ((assq 'a condition) => cdr)
               ((assq 'b condition)))
         (raise (list (cons 'b 23))))
       => '(b . 23))
(check (guard (e (#t 'never)) 7) => 7)
(check (guard (e ((symbol? e) 'first) (#t 'second)) (raise 'x)) => 'first)
(check (guard (e ((string? e) 'string) (else (list 'else e))) (raise 1))
       => '(else 1))
(check (guard (condition (else 'exception)) (+ 1 (raise 'an-error))) => 'exception)
(check (guard (condition (#t (list 'cond condition))) (+ 1 (raise 'an-error)))
       => '(cond an-error))
;; A guard with no matching clause re-raises to an outer guard ...
(check (guard (outer (#t (list 'outer outer)))
         (guard (e ((string? e) 'never)) (raise 'inner)))
       => '(outer inner))
(check (guard (e (#t #t)) (guard (condition (#f)) (+ 1 (raise 'an-error))) #f)
       => #t)
;; ... and to an outer handler installed by with-exception-handler.
(check (capture-output
        (lambda ()
          (call-with-current-continuation
           (lambda (k)
             (with-exception-handler
              (lambda (x)
                (display "reraised ") (write x) (newline)
                (k 'zero))
              (lambda ()
                (guard (condition
                        ((positive? condition) 'positive)
                        ((negative? condition) 'negative))
                  (raise 0))))))))
       => '(zero "reraised 0\n"))
(check (call-with-current-continuation
        (lambda (k)
          (with-exception-handler
           (lambda (x) (k 'not-reached))
           (lambda ()
             (guard (condition
                     ((positive? condition) 'positive)
                     ((negative? condition) 'negative))
               (raise -1))))))
       => 'negative)
;; With no matching clause, raise-continuable is re-invoked in the dynamic
;; environment of the original raise-continuable, so the outer handler's
;; value returns to the point of the raise inside the guard body.
(check (with-exception-handler
        (lambda (c) 42)
        (lambda ()
          (guard (e ((string? e) 'string))
            (+ (raise-continuable 'oops) 1))))
       => 43)
(check (with-exception-handler
        (lambda (c) 42)
        (lambda ()
          (guard (e ((string? e) 'string))
            (+ (raise-continuable "oops") 1))))
       => 'string)
;; The re-raise happens inside the dynamic extent of the original raise.
(check (let ((v '()))
         (guard (exn ((equal? exn 5) 'five))
           (guard (exn ((equal? exn 6) 'six))
             (dynamic-wind
              (lambda () (set! v (cons 'in v)))
              (lambda () (raise 5))
              (lambda () (set! v (cons 'out v))))))
         v)
       => '(out in out in))
;; The clauses are evaluated with the dynamic environment of the guard.
(check (let ((p (make-parameter 'outer)))
         (guard (e (#t (list e (p))))
           (parameterize ((p 'inner))
             (raise (p)))))
       => '(inner outer))
(check (let ((trace '()))
         (guard (e (#t (set! trace (cons 'clause trace))))
           (dynamic-wind
            (lambda () (set! trace (cons 'in trace)))
            (lambda () (raise 'x))
            (lambda () (set! trace (cons 'out trace)))))
         (reverse trace))
       => '(in out clause))
;; Errors raised by error are caught with their message.
(check (guard (e ((error-object? e) (error-object-message e))
                 (else 'other))
         (error "caught by guard" 1 2))
       => "caught by guard")
;; guard with several body expressions and internal definitions
(check (guard (e (#t e)) (define x 10) (set! x (+ x 1)) x) => 11)

;; an error whose irritants are circular, or hold the error itself, is
;; written finitely (the labels of write)
(check (let* ((l (list 1 2)) (p (open-output-string)))
         (set-cdr! (cdr l) l)
         (write (guard (e (#t e)) (error "m" l)) p)
         (get-output-string p))
       => "#<error \"m\" (#0=(1 2 . #0#))>")
(check (let* ((l (list 'x)) (e (guard (c (#t c)) (error "self" l))) (p (open-output-string)))
         (set-car! l e)
         (write e p)
         (get-output-string p))
       => "#0=#<error \"self\" ((#0#))>")
(check (guard (e (#t (error-object? e)))
         (with-exception-handler (lambda args args)
           (let ((l (list 1 2 3))) (set-cdr! (cddr l) l) (l))))
       => #t)

(report)
