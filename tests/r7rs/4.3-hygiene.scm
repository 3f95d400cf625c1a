;; R7RS 4.3 Macros: hygiene and referential transparency of syntax-rules
;; macros, and the scoping of let-syntax and letrec-syntax (4.3.1, 4.3.2).
(load "check.scm")

;;; A binding inserted by a macro does not capture the user's identifiers.

(define-syntax my-or
  (syntax-rules ()
    ((my-or) #f)
    ((my-or e) e)
    ((my-or e1 e2 ...)
     (let ((temp e1))
       (if temp
           temp
           (my-or e2 ...))))))
(check (let ((temp 5)) (my-or #f temp)) => 5)
(check (let ((x #f) (y 7) (temp 8)) (my-or x temp y)) => 8)

(define-syntax swap!
  (syntax-rules ()
    ((_ a b)
     (let ((tmp a))
       (set! a b)
       (set! b tmp)))))
(check (let ((tmp 1) (other 2)) (swap! tmp other) (list tmp other)) => '(2 1))
(check (let ((tmp 1) (other 2)) (swap! other tmp) (list tmp other)) => '(2 1))

;; The report's letrec-syntax example (4.3.1): the user binds temp, let and if.
(check (letrec-syntax
           ((my-or (syntax-rules ()
                     ((my-or) #f)
                     ((my-or e) e)
                     ((my-or e1 e2 ...)
                      (let ((temp e1))
                        (if temp
                            temp
                            (my-or e2 ...)))))))
         (let ((x #f)
               (y 7)
               (temp 8)
               (let odd?)
               (if even?))
           (my-or x
                  (let temp)
                  (if y)
                  y)))
       => 7)

;; A named let inserted by a macro does not capture the user's loop.
(define-syntax while
  (syntax-rules ()
    ((_ c body ...) (let loop () (when c body ... (loop))))))
(check (let ((loop 0) (i 0))
         (while (< i 3) (set! i (+ i 1)) (set! loop (+ loop 1)))
         loop)
       => 3)

;; A definition inserted by a macro in a body is renamed.
(check (let ()
         (define-syntax def-tmp
           (syntax-rules () ((_ v) (define tmp v))))
         (define tmp 'user)
         (def-tmp 'macro)
         tmp)
       => 'user)

;;; A free identifier inserted by a macro refers to the binding visible
;;; where the macro was defined, whatever surrounds the use.

;; The report's let-syntax example (4.3.1): the user binds if.
(check (let-syntax ((given-that (syntax-rules ()
                                  ((given-that test stmt1 stmt2 ...)
                                   (if test
                                       (begin stmt1
                                              stmt2 ...))))))
         (let ((if #t))
           (given-that if (set! if 'now))
           if))
       => 'now)

(check (let ((x 'outer))
         (let-syntax ((m (syntax-rules () ((m) x))))
           (let ((x 'inner))
             (m))))
       => 'outer)

(define-syntax my-unless
  (syntax-rules ()
    ((_ c body) (if c #f body))))
(check (let ((if (lambda args 'user-if))) (my-unless #f 'ok)) => 'ok)
(check (let ((if list)) (my-or #f 'second)) => 'second)

(define-syntax first-of
  (syntax-rules ()
    ((_ l) (car l))))
(check (let ((car cdr)) (first-of '(1 2))) => 1)

(define-syntax make-pair-of
  (syntax-rules ()
    ((_ a b) (cons a b))))
(check (let ((cons list)) (make-pair-of 1 2)) => '(1 . 2))

(define global-value 'global)
(define-syntax get-global
  (syntax-rules ()
    ((_) global-value)))
(check (let ((global-value 'local)) (get-global)) => 'global)

;; The report's cond example (4.3.2): => bound as a variable is not the
;; auxiliary keyword.
(check (let ((=> #f))
         (cond (#t => 'ok)))
       => 'ok)

;; A literal matches only an identifier with the same binding.
(define-syntax is-else
  (syntax-rules (else)
    ((_ else) 'literal)
    ((_ other) 'not-literal)))
(check (is-else else) => 'literal)
(check (let ((else 1)) (is-else else)) => 'not-literal)
(check (let ((else #f)) (cond (else 'taken) (#t 'not-else))) => 'not-else)

;;; Scopes of syntactic keywords

;; let-syntax: a transformer does not see the keywords bound by the same
;; let-syntax, so ls-outer in ls-user's template is the outer one.
(define-syntax ls-outer (syntax-rules () ((_) 'outer)))
(check (let-syntax ((ls-outer (syntax-rules () ((_) 'inner)))
                    (ls-user (syntax-rules () ((_) (ls-outer)))))
         (ls-user))
       => 'outer)

;; A local variable shadows a syntactic keyword.
(define-syntax kw (syntax-rules () ((_) 'macro)))
(check (let ((kw (lambda () 'procedure))) (kw)) => 'procedure)
(check ((lambda (kw) (kw)) (lambda () 'argument)) => 'argument)
(check (let ((when (lambda (a b) (list a b)))) (when #f 'x)) => '(#f x))

;; A macro defined inside a procedure refers to that procedure's variables.
(define (make-counter)
  (let ((n 0))
    (define-syntax bump! (syntax-rules () ((_) (begin (set! n (+ n 1)) n))))
    (lambda () (let ((n 'shadow)) (bump!)))))
(check (let ((c (make-counter))) (c) (c)) => 2)

;; A macro-defining macro: the inner macro's introduced binding is renamed.
(define-syntax define-my-or2
  (syntax-rules ()
    ((_ name)
     (define-syntax name
       (syntax-rules ()
         ((_ a b) (let ((t a)) (if t t b))))))))
(define-my-or2 or2)
(check (let ((t 'user-t)) (or2 #f t)) => 'user-t)

;; a keyword in a pattern matches that keyword (and nothing else)
(define-syntax kw-pick
  (syntax-rules ()
    ((_ #:first a b) a)
    ((_ #:second a b) b)
    ((_ other a b) 'neither)))
(check (list (kw-pick #:first 1 2) (kw-pick #:second 1 2) (kw-pick #:third 1 2)) => '(1 2 neither))

(report)
