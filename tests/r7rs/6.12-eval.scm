;; R7RS 6.12 Environments and evaluation: environment, eval,
;; scheme-report-environment, null-environment, interaction-environment.
(load "check.scm")

(define base-env (environment '(scheme base)))

;;; eval with (environment '(scheme base))

(check (eval '(* 7 3) (environment '(scheme base))) => 21)
(check (eval '(* 7 3) base-env) => 21)
(check (eval 5 base-env) => 5)
(check (eval "str" base-env) => "str")
(check (eval #\a base-env) => #\a)
(check (eval ''sym base-env) => 'sym)
(check (eval '(quote (1 2)) base-env) => '(1 2))
(check (eval (list '+ 1 2) base-env) => 3)
(check (eval (list 'quote (list 1 2)) base-env) => '(1 2))
(check (eval '(if #f 1 2) base-env) => 2)
(check (eval '(let ((x 1) (y 2)) (+ x y)) base-env) => 3)
(check (eval '(let loop ((i 0) (acc '())) (if (= i 3) acc (loop (+ i 1) (cons i acc))))
             base-env)
       => '(2 1 0))
(check (eval '(let-values (((a b) (values 1 2))) (list a b)) base-env) => '(1 2))
(check (eval '(letrec ((even? (lambda (n) (if (= n 0) #t (odd? (- n 1)))))
                       (odd? (lambda (n) (if (= n 0) #f (even? (- n 1))))))
                (even? 100))
             base-env)
       => #t)
(check (eval '((lambda (x) (define y (* x 2)) (+ x y)) 5) base-env) => 15)
(check ((eval '(lambda (x) (* x x)) base-env) 5) => 25)
(check (call-with-values (lambda () (eval '(values 1 2) base-env)) list) => '(1 2))
(check (eval '(let-syntax ((my-if (syntax-rules () ((_ c a b) (cond (c a) (else b))))))
                (my-if #t 'yes 'no))
             base-env)
       => 'yes)
(check (eval '(guard (e (#t (list 'caught e))) (raise 'x)) base-env) => '(caught x))
(check (eval '(vector-map + #(1 2) #(10 20)) base-env) => #(11 22))
(check (eval '(string->symbol "abc") base-env) => 'abc)
;; eval with a definition in an immutable environment signals an error.
(check-error (eval '(define foo 32) (environment '(scheme base))))
;; Errors raised by the evaluated code propagate out of eval.
(check-error (eval '(car '()) base-env))
(check (guard (e ((error-object? e) (error-object-message e)))
         (eval '(error "from eval" 1) base-env))
       => "from eval")
(check (guard (e (#t e)) (eval '(raise 'boom) base-env)) => 'boom)
(check-error (eval 'surely-unbound-variable-6-12 base-env))

;;; environment with several import sets

(check (eval '(char-upcase #\a) (environment '(scheme base) '(scheme char))) => #\A)
(check (eval '(caddr '(1 2 3)) (environment '(scheme base) '(scheme cxr))) => 3)
(check (eval '(finite? 1.5) (environment '(scheme base) '(scheme inexact))) => #t)
(check (eval '(force (delay (+ 1 2))) (environment '(scheme base) '(scheme lazy)))
       => 3)
(check (let ((p (open-output-string)))
         ((eval '(lambda (port) (write "x" port) (display "y" port))
                (environment '(scheme base) '(scheme write)))
          p)
         (get-output-string p))
       => "\"x\"y")
;; Import sets: only, except, prefix, rename.
(check (eval '(car '(1 2)) (environment '(only (scheme base) car quote))) => 1)
(check-error (eval '(cdr '(1 2)) (environment '(only (scheme base) car quote))))
(check (eval '(b:car (b:quote (1 2))) (environment '(prefix (scheme base) b:))) => 1)
(check-error (eval '(car (b:quote (1 2))) (environment '(prefix (scheme base) b:))))
(check (eval '(first '(1 2)) (environment '(rename (scheme base) (car first)))) => 1)
(check (eval '(cdr '(1 2)) (environment '(except (scheme base) car))) => '(2))
(check-error (eval '(car '(1 2)) (environment '(except (scheme base) car))))

;; Every standard library exports all of imp's built-ins (doc/LANGUAGE.md),
;; so (scheme base) alone gives char-upcase too.
(check (eval '(char-upcase #\a) (environment '(scheme base))) => #\A)
;; Unknown libraries cannot be imported.
(check-error (environment '(surely no such library)))

;;; scheme-report-environment

(check (eval '(+ 1 2) (scheme-report-environment 5)) => 3)
(check (eval '(car '(a b)) (scheme-report-environment 5)) => 'a)
(check (eval '(let loop ((i 0)) (if (< i 3) (loop (+ i 1)) i)) (scheme-report-environment 5))
       => 3)
(check (eval '(call-with-current-continuation (lambda (k) (+ 1 (k 42))))
             (scheme-report-environment 5))
       => 42)
(check (eval '(call-with-values (lambda () (values 1 2)) cons)
             (scheme-report-environment 5))
       => '(1 . 2))
(check (eval '(dynamic-wind (lambda () #f) (lambda () 'in) (lambda () #f))
             (scheme-report-environment 5))
       => 'in)
(check (eval '(string->list "ab") (scheme-report-environment 5)) => '(#\a #\b))
(check (eval '(exact->inexact 1/2) (scheme-report-environment 5)) => 0.5)
(check-error (scheme-report-environment 1234))

;;; null-environment

(check (let ((f (eval '(lambda (f x) (f x x))
                      (null-environment 5))))
         (f + 10))
       => 20)
(check (eval '(if #t 1 2) (null-environment 5)) => 1)
(check (eval '(let ((x 1)) (cond (#f x) (else 'c))) (null-environment 5))
       => 'c)
(check (eval '(quote (a b)) (null-environment 5)) => '(a b))
(check (eval '(let-syntax ((k (syntax-rules () ((_ x) x)))) (k 7)) (null-environment 5))
       => 7)
;; Only syntactic keywords are bound.
(check-error (eval '(car '(1 2)) (null-environment 5)))
(check-error (null-environment 1234))

;;; interaction-environment

(check (eval '(+ 1 2) (interaction-environment)) => 3)
(check (eval '(vector-map - #(1 2)) (interaction-environment)) => #(-1 -2))
;; It is mutable: definitions made by eval are visible to later evals.
(eval '(define ie-var 32) (interaction-environment))
(check (eval 'ie-var (interaction-environment)) => 32)
(eval '(set! ie-var 33) (interaction-environment))
(check (eval 'ie-var (interaction-environment)) => 33)
(eval '(define (ie-double x) (* x 2)) (interaction-environment))
(check (eval '(ie-double 21) (interaction-environment)) => 42)
(eval '(define-syntax ie-swap!
         (syntax-rules ()
           ((_ a b) (let ((tmp a)) (set! a b) (set! b tmp)))))
      (interaction-environment))
(check (eval '(let ((x 1) (y 2)) (ie-swap! x y) (list x y)) (interaction-environment))
       => '(2 1))
(eval '(define-values (ie-a ie-b) (values 1 2)) (interaction-environment))
(check (eval '(list ie-a ie-b) (interaction-environment)) => '(1 2))
(eval '(define-record-type ie-point (ie-make-point x y) ie-point?
         (x ie-point-x) (y ie-point-y))
      (interaction-environment))
(check (eval '(ie-point-x (ie-make-point 3 4)) (interaction-environment)) => 3)
(check (eval '(begin (define ie-c 5) (+ ie-c 1)) (interaction-environment)) => 6)
(check (eval 'ie-c (interaction-environment)) => 5)
;; Redefinition replaces the binding.
(eval '(define ie-var 'redefined) (interaction-environment))
(check (eval 'ie-var (interaction-environment)) => 'redefined)
;; A definition made in the interaction environment is not seen by a
;; freshly made (scheme base) environment.
(check-error (eval 'ie-double (environment '(scheme base))))

;; keywords in data given to eval stay keywords
(check (let ((v (eval '(list #:a '#:b) (interaction-environment)))) (map keyword? v)) => '(#t #t))
(check (eval '(let ((k #:key)) (eq? k #:key)) (interaction-environment)) => #t)

(report)
