;; R7RS 5 Program structure, except libraries: variable definitions
;; (5.3), internal definitions (5.3.2), define-values (5.3.3), syntax
;; definitions (5.4) and record-type definitions (5.5).
(load "check.scm")

;;; 5.3.1 Top level definitions

(define add3
  (lambda (x) (+ x 3)))
(check (add3 3) => 6)
(define first car)
(check (first '(1 2)) => 1)

;; (define (variable formals) body)
(define (two-args a b) (list b a))
(check (two-args 1 2) => '(2 1))
(define (no-args) 'none)
(check (no-args) => 'none)
(define (with-rest a b . rest) (list a b rest))
(check (with-rest 1 2) => '(1 2 ()))
(check (with-rest 1 2 3 4) => '(1 2 (3 4)))
(define (only-rest . all) all)
(check (only-rest) => '())
(check (only-rest 1 2 3) => '(1 2 3))
(check-error (two-args 1))
(check-error (with-rest 1))
;; The body may start with definitions.
(define (body-with-defs n)
  (define k 10)
  (define (times-k m) (* m k))
  (times-k n))
(check (body-with-defs 4) => 40)

;; A top-level define of a bound variable acts like set!.
(define redefined 1)
(define (get-redefined) redefined)
(define redefined 2)
(check (get-redefined) => 2)
(check redefined => 2)
;; A procedure defined later may be referred to earlier in a body.
(define (calls-later) (defined-later 5))
(define (defined-later n) (* n n))
(check (calls-later) => 25)
;; Defining a name the base library also binds makes a new binding.
(define (square x) (list 'my-square x))
(check (square 3) => '(my-square 3))
;; A definition's value is its expression's value, stored in a new location.
(define defined-by-expr (+ 1 2))
(check defined-by-expr => 3)
(set! defined-by-expr 'changed)
(check defined-by-expr => 'changed)
;; A top-level begin splices its definitions.
(begin
  (define spliced-a 1)
  (define spliced-b (+ spliced-a 1)))
(check (list spliced-a spliced-b) => '(1 2))
;; A global definition may come after a procedure that refers to it.
(define (use-later-global) later-global)
(define later-global 'now-defined)
(check (use-later-global) => 'now-defined)
;; Curried define, (define ((f a) b) ...), is not R7RS; not tested.

;; A procedure calling the global it was defined as calls what the global
;; holds at the time of the call, after a redefinition or a set! too.
(define (countdown n) (if (= n 0) 'original (countdown (- n 1))))
(define old-countdown countdown)
(set! countdown (lambda (n) (list 'replaced n)))
(check (old-countdown 3) => '(replaced 2))
(define (depth n) (if (= n 0) 0 (+ 1 (depth (- n 1)))))
(define old-depth depth)
(check (old-depth 10) => 10)
(define (depth n) 100)
(check (old-depth 3) => 101)
(define (sum-to n acc) (if (= n 0) acc (sum-to (- n 1) (+ acc n))))
(check (sum-to 100000 0) => 5000050000)
(check (old-countdown 0) => 'original)

;;; 5.3.2 Internal definitions

(check (let ((x 5))
         (define foo (lambda (y) (bar x y)))
         (define bar (lambda (a b) (+ (* a b) a)))
         (foo (+ x 3)))
       => 45)
(check (let ((x 5))
         (letrec* ((foo (lambda (y) (bar x y)))
                   (bar (lambda (a b) (+ (* a b) a))))
           (foo (+ x 3))))
       => 45)
;; Definitions are local to the body.
(define shadowed 'global)
(check (let () (define shadowed 'local) shadowed) => 'local)
(check shadowed => 'global)
;; Evaluated in order, left to right, like letrec*.
(check (let ()
         (define a 1)
         (define b (+ a 1))
         (define c (* b 10))
         (list a b c))
       => '(1 2 20))
;; Mutual recursion among internal definitions.
(check (let ()
         (define (ev? n) (if (= n 0) #t (od? (- n 1))))
         (define (od? n) (if (= n 0) #f (ev? (- n 1))))
         (list (ev? 10) (od? 7)))
       => '(#t #t))
;; Internal definitions in every kind of body.
(check ((lambda () (define v 'lambda) v)) => 'lambda)
(check (let* ((a 1)) (define v (+ a 1)) v) => 2)
(check (letrec ((a 1)) (define v (+ a 2)) v) => 3)
(check (letrec* ((a 1)) (define v (+ a 3)) v) => 4)
(check (let-values (((a b) (values 1 2))) (define v (+ a b)) v) => 3)
(check (let*-values (((a) (values 1))) (define v (* a 7)) v) => 7)
(check (let-syntax () (define v 'let-syntax) v) => 'let-syntax)
(check (letrec-syntax () (define v 'letrec-syntax) v) => 'letrec-syntax)
(check (parameterize () (define v 'parameterize) v) => 'parameterize)
(check (guard (e (#t 'raised)) (define v 'guard) v) => 'guard)
(check ((case-lambda ((a) (define v (list a)) v)) 1) => '(1))
(check (let loop ((i 0)) (define v (* i 2)) (if (< i 2) (loop (+ i 1)) v)) => 4)
(define (fn-with-internal-define-procedure x)
  (define (helper y . more) (cons y more))
  (helper x 'extra))
(check (fn-with-internal-define-procedure 1) => '(1 extra))
;; (begin definition ...) in a body is the same as the definitions.
(check (let ()
         (begin (define a 1) (define b 2))
         (define c 3)
         (+ a b c))
       => 6)
(check (let ()
         (begin (define a 1) (begin (define b (+ a 1))))
         (list a b))
       => '(1 2))
;; Macros can expand into internal definitions.
(define-syntax def-const
  (syntax-rules ()
    ((_ name value) (define name value))))
(check (let () (def-const k 99) k) => 99)
(define-syntax def-both
  (syntax-rules ()
    ((_ a b) (begin (define a 'a-value) (define b 'b-value)))))
(check (let () (def-both p q) (list p q)) => '(a-value b-value))
;; Internal definitions refer to the enclosing scope's variables.
(check (let ((outer 10))
         (define inner (+ outer 1))
         inner)
       => 11)
;; Each call gets fresh internal bindings.
(define (make-acc)
  (define total 0)
  (lambda (n) (set! total (+ total n)) total))
(check (let ((a1 (make-acc)) (a2 (make-acc)))
         (a1 5) (a2 100)
         (list (a1 1) (a2 1)))
       => '(6 101))

;;; 5.3.3 Multiple-value definitions

(define-values (x y) (exact-integer-sqrt 17))
(check (list x y) => '(4 1))
(check (let ()
         (define-values (x y) (values 1 2))
         (+ x y))
       => 3)
(define-values (dv-a . dv-rest) (values 1 2 3))
(check (list dv-a dv-rest) => '(1 (2 3)))
(define-values dv-all (values 'p 'q))
(check dv-all => '(p q))
(define-values () (values))
(define-values (dv-single) (values 'only))
(check dv-single => 'only)
(check (let ()
         (define-values (a b . c) (values 1 2 3 4))
         (list a b c))
       => '(1 2 (3 4)))
(check (let ()
         (define-values all (values 1 2))
         all)
       => '(1 2))
(check (let ()
         (define-values (a) (values 1))
         (define-values (b c) (values (+ a 1) (+ a 2)))
         (define d (+ b c))
         (list a b c d))
       => '(1 2 3 5))
;; define-values mixed with define, mutually referring procedures.
(check (let ()
         (define-values (ev? od?)
           (values (lambda (n) (if (= n 0) #t (od? (- n 1))))
                   (lambda (n) (if (= n 0) #f (ev? (- n 1))))))
         (ev? 6))
       => #t)
(check (let () (define-values () (values)) 'empty-formals) => 'empty-formals)
(check-error (let () (define-values (a b) (values 1)) a))
(check-error (let () (define-values (a) (values 1 2)) a))
;; Top-level define-values of an already defined variable assigns it.
(define dv-re 1)
(define-values (dv-re) (values 2))
(check dv-re => 2)

;;; 5.4 Syntax definitions

(check (let ((x 1) (y 2))
         (define-syntax swap!
           (syntax-rules ()
             ((swap! a b)
              (let ((tmp a))
                (set! a b)
                (set! b tmp)))))
         (swap! x y)
         (list x y))
       => '(2 1))
;; An internal syntax definition is local to its body.
(define-syntax which (syntax-rules () ((_) 'global-which)))
(check (let () (define-syntax which (syntax-rules () ((_) 'local-which))) (which)) => 'local-which)
(check (which) => 'global-which)
;; Internal syntax and variable definitions mixed; a macro used by a later
;; definition in the same body.
(check (let ()
         (define-syntax sq (syntax-rules () ((_ e) (* e e))))
         (define nine (sq 3))
         (define (f n) (sq n))
         (list nine (f 4)))
       => '(9 16))
;; An internal macro expanding into a definition.
(check (let ()
         (define-syntax defv (syntax-rules () ((_ n v) (define n v))))
         (defv a 1)
         (defv b (+ a 1))
         (list a b))
       => '(1 2))
;; A top-level macro, recursive, used in a procedure defined before a use.
(define-syntax my-and
  (syntax-rules ()
    ((_) #t)
    ((_ e) e)
    ((_ e1 e2 ...) (if e1 (my-and e2 ...) #f))))
(check (list (my-and) (my-and 1 2) (my-and 1 #f 3)) => '(#t 2 #f))
;; A top-level syntax definition may replace an earlier one for later uses.
(define-syntax redef-mac (syntax-rules () ((_) 'first)))
(check (redef-mac) => 'first)
(define-syntax redef-mac (syntax-rules () ((_) 'second)))
(check (redef-mac) => 'second)

;;; 5.5 Record-type definitions

(define-record-type <pare>
  (kons x y)
  pare?
  (x kar set-kar!)
  (y kdr))
(check (pare? (kons 1 2)) => #t)
(check (pare? (cons 1 2)) => #f)
(check (kar (kons 1 2)) => 1)
(check (kdr (kons 1 2)) => 2)
(check (let ((k (kons 1 2)))
         (set-kar! k 3)
         (kar k))
       => 3)
(check (let ((k (kons 1 2)))
         (set-kar! k 3)
         (kdr k))
       => 2)
(check (procedure? kons) => #t)
(check (procedure? pare?) => #t)
(check (procedure? kar) => #t)
(check (procedure? set-kar!) => #t)
;; The predicate is #f for everything else.
(check (map pare? (list 1 'a "s" #\c '() (vector 1 2) (lambda () 1) #t)) => '(#f #f #f #f #f #f #f #f))
;; Records are disjoint from other types.
(check (let ((k (kons 1 2)))
         (list (pair? k) (vector? k) (procedure? k) (symbol? k) (string? k)))
       => '(#f #f #f #f #f))
;; Each construction is a new object; records compare by identity under eqv?.
(check (let ((k (kons 1 2))) (eqv? k k)) => #t)
(check (eqv? (kons 1 2) (kons 1 2)) => #f)
(check (eq? (kons 1 2) (kons 1 2)) => #f)
;; Constructor taking a subset of the fields, in a different order.
(define-record-type point3
  (make-point3 z x)
  point3?
  (x point3-x set-point3-x!)
  (y point3-y set-point3-y!)
  (z point3-z))
(check (let ((p (make-point3 3 1))) (list (point3-x p) (point3-z p))) => '(1 3))
(check (let ((p (make-point3 3 1)))
         (set-point3-y! p 2)
         (list (point3-x p) (point3-y p) (point3-z p)))
       => '(1 2 3))
(check-error (make-point3 1))
(check-error (make-point3 1 2 3))
;; A constructor with no fields; a type with no fields.
(define-record-type empty-rec (make-empty-rec) empty-rec?)
(check (empty-rec? (make-empty-rec)) => #t)
(define-record-type lazy-rec (make-lazy-rec) lazy-rec? (slot lazy-slot set-lazy-slot!))
(check (let ((r (make-lazy-rec))) (set-lazy-slot! r 'filled) (lazy-slot r)) => 'filled)
;; define-record-type is generative: same name and shape, different type.
(define-record-type <pare2>
  (kons2 x y)
  pare2?
  (x kar2)
  (y kdr2))
(check (pare? (kons2 1 2)) => #f)
(check (pare2? (kons 1 2)) => #f)
(check (pare2? (kons2 1 2)) => #t)
;; Accessors and modifiers reject records of another type (and non-records).
(check-error (kar (kons2 1 2)))
(check-error (kar (cons 1 2)))
(check-error (kar 5))
(check-error (set-kar! (kons2 1 2) 0))
(check-error (set-kar! 'not-a-record 0))
;; Records in bodies.
(check (let ()
         (define-record-type node (make-node val next) node? (val node-val) (next node-next set-node-next!))
         (let ((n (make-node 1 '())))
           (set-node-next! n (make-node 2 '()))
           (list (node? n) (node-val n) (node-val (node-next n)))))
       => '(#t 1 2))
;; Fields hold any values, including other records and procedures.
(check (let ((inner (kons 'a 'b)))
         (kar (kdr (kons 1 inner))))
       => 'a)
(check ((kar (kons (lambda (n) (* n 2)) #f)) 21) => 42)
;; Record values are separate: mutating one does not affect another.
(check (let ((r1 (kons 1 2)) (r2 (kons 1 2)))
         (set-kar! r1 'changed)
         (list (kar r1) (kar r2)))
       => '(changed 1))

(report)
