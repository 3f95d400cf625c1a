;; R7RS 4 Expressions: primitive expression types (4.1), derived
;; expression types (4.2) and macros (4.3). The hygiene checks of 4.3 are
;; in 4.3-hygiene.scm; include is not covered here.
(load "check.scm")

;; Captures what THUNK writes to the current output port.
(define (output-of thunk)
  (let ((port (open-output-string)))
    (parameterize ((current-output-port port))
      (thunk))
    (get-output-string port)))

;;; 4.1.1 Variable references

(define x 28)
(check x => 28)
(check-error totally-unbound-variable-for-4.1.1)

;;; 4.1.2 Literal expressions

(check (quote a) => 'a)
(check (quote #(a b c)) => (vector 'a 'b 'c))
(check (quote (+ 1 2)) => (list '+ 1 2))
(check 'a => (quote a))
(check '#(a b c) => (vector 'a 'b 'c))
(check '() => (list))
(check '(+ 1 2) => (list '+ 1 2))
(check '(quote a) => (list 'quote 'a))
(check ''a => (list 'quote 'a))
(check '145932 => 145932)
(check 145932 => 145932)
(check '"abc" => "abc")
(check "abc" => "abc")
(check '#\a => #\a)
(check #\a => #\a)
(check '#(a 10) => (vector 'a 10))
(check #(a 10) => (vector 'a 10))
(check '#u8(64 65) => (bytevector 64 65))
(check #u8(64 65) => (bytevector 64 65))
(check '#t => #t)
(check #t => #t)
(check #false => #f)
(check '`(a ,b ,@c) => '(quasiquote (a (unquote b) (unquote-splicing c))))

;;; 4.1.3 Procedure calls

(check (+ 3 4) => 7)
(check ((if #f + *) 3 4) => 12)
(check ((lambda () 5)) => 5)
(check (call-with-values (lambda () ((lambda () (values 1 2)))) list) => '(1 2))
(check-error (5 3))
(check-error ("not a procedure"))

;;; 4.1.4 Procedures

(check (procedure? (lambda (x) (+ x x))) => #t)
(check ((lambda (x) (+ x x)) 4) => 8)
(define reverse-subtract
  (lambda (x y) (- y x)))
(check (reverse-subtract 7 10) => 3)
(define add4
  (let ((x 4))
    (lambda (y) (+ x y))))
(check (add4 6) => 10)
(check ((lambda x x) 3 4 5 6) => '(3 4 5 6))
(check ((lambda x x)) => '())
(check ((lambda (x y . z) z) 3 4 5 6) => '(5 6))
(check ((lambda (x y . z) z) 3 4) => '())
(check ((lambda (x y . z) (list x y)) 3 4 5) => '(3 4))
(check ((lambda (a . b) (list a b)) 1) => '(1 ()))
;; The rest list is newly allocated, even when the arguments come from apply.
(check (let ((args (list 1 2 3)))
         (eq? args (apply (lambda r r) args)))
       => #f)
(check (let ((r ((lambda r r) 1 2)))
         (set-car! r 9)
         r)
       => '(9 2))
;; A body: definitions first, then expressions; the last value is returned.
(check ((lambda (n)
          (define (sq k) (* k k))
          (define m 3)
          (+ (sq n) m))
        4)
       => 19)
(check ((lambda () 1 2 3)) => 3)
;; Each call binds fresh locations.
(check (let ((mk (lambda (n) (lambda () (set! n (+ n 1)) n))))
         (let ((a (mk 0)) (b (mk 10)))
           (a) (a) (b)
           (list (a) (b))))
       => '(3 12))
(check-error ((lambda (x) x)))
(check-error ((lambda (x) x) 1 2))
(check-error ((lambda (x y . z) z) 1))
(check-error ((lambda () 1) 'extra))

;;; 4.1.5 Conditionals

(check (if (> 3 2) 'yes 'no) => 'yes)
(check (if (> 2 3) 'yes 'no) => 'no)
(check (if (> 3 2) (- 3 2) (+ 3 2)) => 1)
(check (if '() 'true 'false) => 'true)
(check (if 0 'true 'false) => 'true)
(check (if #f #f 'only) => 'only)
(check (if #t 'one-armed) => 'one-armed)
(check (let ((n 0)) (if #t (set! n 1) (set! n 2)) n) => 1)

;;; 4.1.6 Assignments

(define x2 2)
(check (+ x2 1) => 3)
(set! x2 4)
(check (+ x2 1) => 5)
(check (let ((v 1)) (set! v (+ v 10)) v) => 11)
(check (let ((v 1))
         ((lambda () (set! v 'inner)))
         v)
       => 'inner)
(check-error (set! totally-unbound-variable-for-4.1.6 1))

;;; 4.2.1 Conditionals: cond

(check (cond ((> 3 2) 'greater)
             ((< 3 2) 'less))
       => 'greater)
(check (cond ((> 3 3) 'greater)
             ((< 3 3) 'less)
             (else 'equal))
       => 'equal)
(check (cond ((assv 'b '((a 1) (b 2))) => cadr)
             (else #f))
       => 2)
(check (cond (#f 1) ((+ 1 2))) => 3)              ; a test-only clause yields the test
(check (cond ((memv 2 '(1 2 3))) (else 'no)) => '(2 3))
(check (cond (#f 1) (else 'a 'b 'c)) => 'c)
(check (cond (1 'a 'b) (else 'c)) => 'b)
(check (cond ((+ 1 1) => (lambda (v) (* v 10)))) => 20)
(check (call-with-values
           (lambda () (cond (#t => (lambda (v) (values v 'second)))))
         list)
       => '(#t second))
(check (let ((n 0))
         (cond ((begin (set! n (+ n 1)) #f) 'x)
               ((begin (set! n (+ n 10)) #t) 'y)
               ((begin (set! n (+ n 100)) #t) 'z))
         n)
       => 11)
(check (cond ('() 'empty-list-is-true) (else 'no)) => 'empty-list-is-true)

;;; case

(check (case (* 2 3)
         ((2 3 5 7) 'prime)
         ((1 4 6 8 9) 'composite))
       => 'composite)
(check (case (car '(c d))
         ((a e i o u) 'vowel)
         ((w y) 'semivowel)
         (else => (lambda (x) x)))
       => 'c)
(check (case (car '(c d))
         ((a e i o u) 'vowel)
         ((w y) 'semivowel)
         (else 'consonant))
       => 'consonant)
(check (case 5 ((1 2 3) 'small) ((4 5 6) => (lambda (n) (* n n))) (else 'big)) => 25)
(check (case #\a ((#\a) 'char-a) (else 'other)) => 'char-a)     ; eqv? on characters
(check (case 2.0 ((2) 'exact-two) ((2.0) 'inexact-two) (else 'none)) => 'inexact-two)
(check (case 1/2 ((1/2) 'half) (else 'none)) => 'half)
(check (case '() ((()) 'nil) (else 'none)) => 'nil)
(check (case #f ((#t) 'true) ((#f) 'false)) => 'false)
(check (case 'x ((x) 1 2 3)) => 3)
(check (case 'zz (else 'e1 'e2)) => 'e2)
(check (case (+ 1 1) ((1) 'one) (else => (lambda (k) (list k 'else)))) => '(2 else))
(check (let ((n 0)) (case (begin (set! n (+ n 1)) 'a) ((b) 1) ((a) 2)) n) => 1)  ; key evaluated once

;;; and, or

(check (and (= 2 2) (> 2 1)) => #t)
(check (and (= 2 2) (< 2 1)) => #f)
(check (and 1 2 'c '(f g)) => '(f g))
(check (and) => #t)
(check (and 5) => 5)
(check (and #f (car '())) => #f)                 ; stops at the first #f
(check (call-with-values (lambda () (and #t (values 1 2))) list) => '(1 2))
(check (or (= 2 2) (> 2 1)) => #t)
(check (or (= 2 2) (< 2 1)) => #t)
(check (or #f #f #f) => #f)
(check (or (memq 'b '(a b c)) (/ 3 0)) => '(b c))
(check (or) => #f)
(check (or #f 'x) => 'x)
(check (or '() 1) => '())
(check (call-with-values (lambda () (or #f (values 1 2))) list) => '(1 2))
;; The last expression of and/or is in tail position.
(check (let loop ((n 100000)) (and #t (if (= n 0) 'done (loop (- n 1))))) => 'done)
(check (let loop ((n 100000)) (or #f (if (= n 0) 'done (loop (- n 1))))) => 'done)

;;; when, unless

(check (output-of (lambda () (when (= 1 1.0) (display "1") (display "2")))) => "12")
(check (output-of (lambda () (unless (= 1 1.0) (display "1") (display "2")))) => "")
(check (output-of (lambda () (when #f (display "no")))) => "")
(check (output-of (lambda () (unless #f (display "a") (display "b")))) => "ab")
(check (let ((n 0)) (when '() (set! n (+ n 1)) (set! n (+ n 1))) n) => 2)   ; '() is true
(check (let ((n 0)) (unless 0 (set! n 1)) n) => 0)

;;; cond-expand

(check (cond-expand (r7rs 'yes) (else 'no)) => 'yes)
(check (cond-expand (this-feature-does-not-exist 'yes) (else 'no)) => 'no)
(check (cond-expand ((and r7rs (not foo)) 'a) (else 'b)) => 'a)
(check (cond-expand ((and r7rs foo) 'a) (else 'b)) => 'b)
(check (cond-expand ((or foo r7rs) 'a) (else 'b)) => 'a)
(check (cond-expand ((or foo bar) 'a) (else 'b)) => 'b)
(check (cond-expand ((not r7rs) 'a) (else 'b)) => 'b)
(check (cond-expand ((and) 'a) (else 'b)) => 'a)
(check (cond-expand ((or) 'a) (else 'b)) => 'b)
(check (cond-expand ((library (scheme base)) 'a) (else 'b)) => 'a)
(check (cond-expand ((library (no such library here)) 'a) (else 'b)) => 'b)
(check (cond-expand ((not (library (no such library here))) 'a) (else 'b)) => 'a)
(check (cond-expand (foo 1) (r7rs 2) (r7rs 3)) => 2)   ; the first true clause
(check (cond-expand (r7rs 1 2 3)) => 3)                ; expressions in a begin
(check (cond-expand (foo 1) (else 'e1 'e2)) => 'e2)
(check (pair? (memq 'r7rs (features))) => #t)
(check (let ((found (memq 'full-unicode (features))))
         (eq? (not found)
              (cond-expand (full-unicode #f) (else #t))))
       => #t)
;; A cond-expand at the top level expands to a begin, which may hold
;; definitions. (Done through eval: imp rejects the plain top-level form at
;; expansion time, which would abort this file.)
(check (begin
         (eval '(cond-expand
                  ((and r7rs (not foo)) (define ce-defined 'first))
                  (else (define ce-defined 'second)))
               (interaction-environment))
         (eval 'ce-defined (interaction-environment)))
       => 'first)

;;; 4.2.2 Binding constructs

(check (let ((x 2) (y 3))
         (* x y))
       => 6)
(check (let ((x 2) (y 3))
         (let ((x 7)
               (z (+ x y)))
           (* z x)))
       => 35)
(check (let () 5) => 5)
(check (let ((x 1)) (define y (+ x 1)) (* y 10)) => 20)
(check (let ((x 2) (y 3))
         (let* ((x 7)
                (z (+ x y)))
           (* z x)))
       => 70)
(check (let* () 5) => 5)
(check (let* ((x 1) (x (+ x 1)) (x (* x 10))) x) => 20)   ; need not be distinct
(check (let* ((a 1)) (define b (+ a 1)) (list a b)) => '(1 2))
(check (letrec ((even?
                 (lambda (n)
                   (if (zero? n)
                       #t
                       (odd? (- n 1)))))
                (odd?
                 (lambda (n)
                   (if (zero? n)
                       #f
                       (even? (- n 1))))))
         (even? 88))
       => #t)
(check (letrec ((fact (lambda (n) (if (= n 0) 1 (* n (fact (- n 1)))))))
         (fact 10))
       => 3628800)
(check (letrec () 'empty) => 'empty)
(define (means ton)
  (letrec*
     ((mean
        (lambda (f g)
          (f (/ (sum g ton) n))))
      (sum
        (lambda (g ton)
          (if (null? ton)
            (+)
            (if (number? ton)
                (g ton)
                (+ (sum g (car ton))
                   (sum g (cdr ton)))))))
      (n (sum (lambda (x) 1) ton)))
    (values (mean values values)
            (mean exp log)
            (mean / /))))
(check (call-with-values (lambda () (means '(3 (1 4))))
         (lambda (a g h) (list a (< 2.2894284 g 2.2894285) h)))
       => '(8/3 #t 36/19))
(check (letrec* ((p (lambda (x) (+ 1 (q (- x 1)))))
                 (q (lambda (y) (if (zero? y) 0 (+ 1 (p (- y 1))))))
                 (x (p 5))
                 (y x))
         y)
       => 5)
(check (letrec* ((a 1) (b (+ a 1)) (c (* b 10))) (list a b c)) => '(1 2 20))
(check (let-values (((root rem) (exact-integer-sqrt 32)))
         (* root rem))
       => 35)
(check (let-values (((a b) (values 1 2)) ((c) (values 3))) (list a b c)) => '(1 2 3))
(check (let-values ((all (values 1 2 3))) all) => '(1 2 3))
(check (let-values (((a . rest) (values 1 2 3))) (list a rest)) => '(1 (2 3)))
(check (let-values ((() (values))) 'none) => 'none)
(check (let-values (((a b) (values 1 2)) ((c d) (values 3 4))) (+ a b c d)) => 10)
(check (let ((a 'outer))
         (let-values (((a) (values 'inner)) ((b) (values a)))
           (list a b)))
       => '(inner outer))                          ; inits see the outer scope
(check (let-values (((q) (values 1))) (define r (+ q 1)) r) => 2)
(check-error (let-values (((a b) (values 1 2 3))) a))
(check (let ((a 'a) (b 'b) (x 'x) (y 'y))
         (let*-values (((a b) (values x y))
                       ((x y) (values a b)))
           (list a b x y)))
       => '(x y x y))
(check (let*-values (((a) (values 1)) ((b . c) (values a 2 3)) (d (values b c))) (list a b c d))
       => '(1 1 (2 3) (1 (2 3))))
(check (let*-values () 'empty) => 'empty)

;;; 4.2.3 Sequencing

(define x3 0)
(check (and (= x3 0)
            (begin (set! x3 5)
                   (+ x3 1)))
       => 6)
(check (output-of (lambda () (begin (display "4 plus 1 equals ")
                                    (display (+ 4 1)))))
       => "4 plus 1 equals 5")
(check (begin 1 2 3) => 3)
(check (call-with-values (lambda () (begin 'a (values 1 2))) list) => '(1 2))
(begin (define begin-defined-1 1) (define begin-defined-2 2))
(check (list begin-defined-1 begin-defined-2) => '(1 2))
(check (let () (begin (define a 1) (define b 2)) (+ a b)) => 3)

;;; 4.2.4 Iteration

(check (do ((vec (make-vector 5))
            (i 0 (+ i 1)))
           ((= i 5) vec)
         (vector-set! vec i i))
       => #(0 1 2 3 4))
(check (let ((x '(1 3 5 7 9)))
         (do ((x x (cdr x))
              (sum 0 (+ sum (car x))))
             ((null? x) sum)))
       => 25)
(check (do ((i 0 (+ i 1))) ((= i 3) 'a 'b 'c)) => 'c)
(check (do ((i 0 (+ i 1)) (acc '() (cons i acc))) ((= i 4) acc)) => '(3 2 1 0))
;; A variable without a step keeps its value (possibly set! by the commands).
(check (do ((i 0 (+ i 1)) (seen '())) ((= i 3) seen) (set! seen (cons i seen))) => '(2 1 0))
(check (let ((n 0)) (do () ((= n 4) n) (set! n (+ n 1)))) => 4)
;; Fresh bindings each iteration: closures capture distinct locations.
(check (let ((procs '()))
         (do ((i 0 (+ i 1))) ((= i 3))
           (set! procs (cons (lambda () i) procs)))
         (map (lambda (p) (p)) procs))
       => '(2 1 0))
;; Steps are computed from the old values (in parallel).
(check (do ((a 1 b) (b 2 a) (n 0 (+ n 1))) ((= n 3) (list a b))) => '(2 1))
(check (do ((i 0 (+ i 1))) ((= i 1000000) i)) => 1000000)
(check (let loop ((numbers '(3 -2 1 6 -5))
                  (nonneg '())
                  (neg '()))
         (cond ((null? numbers) (list nonneg neg))
               ((>= (car numbers) 0)
                (loop (cdr numbers)
                      (cons (car numbers) nonneg)
                      neg))
               ((< (car numbers) 0)
                (loop (cdr numbers)
                      nonneg
                      (cons (car numbers) neg)))))
       => '((6 1 3) (-5 -2)))
(check (let loop ((i 0)) (if (= i 1000000) i (loop (+ i 1)))) => 1000000)
(check (let f () 'no-bindings) => 'no-bindings)
(check (let fact ((n 5)) (if (= n 0) 1 (* n (fact (- n 1))))) => 120)
(check (let loop ((i 0)) (define j (+ i 1)) (if (> j 3) i (loop j))) => 3)
;; A loop's closure calling itself reuses its frame: each iteration still
;; gets fresh bindings (closures and assignments see their own).
(check (let loop ((i 0) (acc '()))
         (if (= i 3)
             (map (lambda (f) (f)) (reverse acc))
             (loop (+ i 1) (cons (lambda () i) acc))))
       => '(0 1 2))
(check (let loop ((i 0) (acc '()))
         (if (>= i 3)
             (map (lambda (f) (f)) (reverse acc))
             (let ((g (lambda () i)))
               (set! i (+ i 1))
               (loop i (cons g acc)))))
       => '(1 2 3))
;; A procedure whose name is reassigned calls what the name holds now.
(check (letrec ((f (lambda (n) (if (= n 0) 'old (f (- n 1))))))
         (let ((g f))
           (set! f (lambda (n) 'new))
           (g 3)))
       => 'new)
(check (let () (define (self) self) (eq? (self) self)) => #t)
(check (let loop ((n 5) . ()) (if (= n 0) 'ok (loop (- n 1)))) => 'ok)
(check (letrec ((count (lambda args (if (null? args) 0 (+ 1 (apply count (cdr args)))))))
         (count 'a 'b 'c))
       => 3)
;; The name is bound only in the body, not in the inits.
(check (let ((loop (lambda (x) 'outer)))
         (let loop ((v (loop 1))) v))
       => 'outer)
(check (procedure? (let loop () loop)) => #t)

;;; 4.2.5 Delayed evaluation

(check (force (delay (+ 1 2))) => 3)
(check (let ((p (delay (+ 1 2))))
         (list (force p) (force p)))
       => '(3 3))
(define integers
  (letrec ((next
            (lambda (n)
              (delay (cons n (next (+ n 1)))))))
    (next 0)))
(define head
  (lambda (stream) (car (force stream))))
(define tail
  (lambda (stream) (cdr (force stream))))
(check (head (tail (tail integers))) => 2)
(define (stream-filter p? s)
  (delay-force
   (if (null? (force s))
       (delay '())
       (let ((h (car (force s)))
             (t (cdr (force s))))
         (if (p? h)
             (delay (cons h (stream-filter p? t)))
             (stream-filter p? t))))))
(check (head (tail (tail (stream-filter odd? integers)))) => 5)
;; Filtering past a long run of rejected elements: the chain of pending
;; delay-force promises must be forced iteratively.
(check (head (stream-filter (lambda (n) (= n 200000)) integers)) => 200000)
(define pcount 0)
(define p
  (delay (begin (set! pcount (+ pcount 1))
                (if (> pcount px)
                    pcount
                    (force p)))))
(define px 5)
(check (promise? p) => #t)
(check (force p) => 6)
(check (promise? p) => #t)
(check (begin (set! px 10)
              (force p))
       => 6)
(check (let ((n 0))
         (let ((q (delay (begin (set! n (+ n 1)) n))))
           (force q) (force q) (force q)
           n))
       => 1)
(check (promise? (car (list (delay (* 3 7)) 13))) => #t)
(check (promise? (delay 1)) => #t)
(check (promise? (delay-force (delay 1))) => #t)
(check (promise? (make-promise 1)) => #t)
(check (promise? 1) => #f)
(check (promise? '()) => #f)
(check (force (make-promise 'v)) => 'v)
(check (let ((pr (delay 1))) (eq? pr (make-promise pr))) => #t)
(check (force (make-promise (make-promise 7))) => 7)
(check (force (delay-force (delay 'df))) => 'df)
(check (force (delay-force (make-promise 'mp))) => 'mp)
;; A long chain of delay-force must run in constant space.
(define (countdown n)
  (delay-force (if (= n 0) (delay 'done) (countdown (- n 1)))))
(check (force (countdown 1000000)) => 'done)
(define (loop-df n) (if (= n 0) (make-promise 'finished) (delay-force (loop-df (- n 1)))))
(check (force (loop-df 1000000)) => 'finished)
;; The delayed expression sees the parameters of the force that first requested it.
(define pparam (make-parameter 'outside))
(define ppromise (delay (pparam)))
(check (parameterize ((pparam 'at-force)) (force ppromise)) => 'at-force)
(check (force ppromise) => 'at-force)
;; ... and the exception handler of that force.
(check (guard (c (#t (list 'caught c))) (force (delay (raise 'oops)))) => '(caught oops))

;;; 4.2.6 Dynamic bindings

(define radix
  (make-parameter
   10
   (lambda (x)
     (if (and (exact-integer? x) (<= 2 x 16))
         x
         (error "invalid radix")))))
(define (f n) (number->string n (radix)))
(check (f 12) => "12")
(check (parameterize ((radix 2))
         (f 12))
       => "1100")
(check (f 12) => "12")
(check-error (parameterize ((radix 0))
               (f 12)))
(check (f 12) => "12")
(check-error (make-parameter 1 (lambda (x) (error "converter rejects init"))))
(define plain (make-parameter 'init))
(check (plain) => 'init)
(check (procedure? plain) => #t)
(check (parameterize ((plain 'a)) (plain)) => 'a)
(check (parameterize ((plain 'a)) (parameterize ((plain 'b)) (plain))) => 'b)
(check (parameterize ((plain 'a)) (parameterize ((plain 'b)) 'x) (plain)) => 'a)
(check (parameterize () 'no-bindings) => 'no-bindings)
(check (plain) => 'init)
(define doubled (make-parameter 10 (lambda (x) (* x 2))))
(check (doubled) => 20)                                   ; init is converted
(check (parameterize ((doubled 3)) (doubled)) => 6)       ; values are converted
(check (begin (parameterize ((doubled 3)) 'ignored) (doubled)) => 20)  ; restored unconverted
(check (parameterize ((doubled (doubled))) (doubled)) => 40)   ; the report's note
(define conversions 0)
(define counted (make-parameter 0 (lambda (x) (set! conversions (+ conversions 1)) x)))
(check (begin (parameterize ((counted 1)) (counted)) conversions) => 2)
(check (let ((p1 (make-parameter 1)) (p2 (make-parameter 2)))
         (parameterize ((p1 10) (p2 20)) (list (p1) (p2))))
       => '(10 20))
;; The body is a body: definitions are allowed.
(check (parameterize ((plain 'b)) (define y (plain)) (list y)) => '(b))
;; The binding is dynamic, not lexical.
(define (read-plain) (plain))
(check (parameterize ((plain 'dynamic)) (read-plain)) => 'dynamic)
;; Escaping by an exception restores the old value.
(check (begin (guard (c (#t 'ignored)) (parameterize ((plain 'inside)) (raise 'x)))
              (plain))
       => 'init)
(check (parameterize ((plain 'inside))
         (guard (c (#t (plain))) (raise 'x)))
       => 'inside)
;; Escaping and re-entering by a continuation switches the value back and forth.
(check (let ((k #f) (seen '()))
         (parameterize ((plain 'in))
           (call/cc (lambda (c) (set! k c)))
           (set! seen (cons (plain) seen)))
         (set! seen (cons (plain) seen))
         (if (< (length seen) 4) (k 'again))
         (reverse seen))
       => '(in init in init))

;;; 4.2.7 Exception handling

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
(check (guard (c (#t 'caught)) 'no-raise) => 'no-raise)
(check (guard (c ((symbol? c) (list 'sym c)) (else (list 'other c))) (raise 'boom)) => '(sym boom))
(check (guard (c ((symbol? c) (list 'sym c)) (else (list 'other c))) (raise 42)) => '(other 42))
(check (guard (c ((string? c))) (raise "s")) => #t)
(check (guard (c ((error-object? c) (error-object-message c))) (error "msg" 1 2)) => "msg")
(check (guard (c ((error-object? c) (error-object-irritants c))) (error "msg" 1 2)) => '(1 2))
(check (guard (c (#t (+ c 1))) (+ 1 (raise 10))) => 11)
(check (guard (c (else 'a 'b 'c)) (raise 'x)) => 'c)
;; No clause matches: re-raised to the outer handler.
(check (guard (outer ((symbol? outer) (list 'outer outer)))
         (guard (inner ((string? inner) (list 'inner inner)))
           (raise 'boom)))
       => '(outer boom))
(check (guard (outer (#t (list 'outer outer)))
         (guard (inner ((number? inner) 'number))
           (raise 'not-a-number)))
       => '(outer not-a-number))
;; ... with raise-continuable, in the dynamic environment of the original raise.
(check (with-exception-handler
        (lambda (c) 42)
        (lambda ()
          (+ (guard (c ((string? c) 's))
               (raise-continuable 'c))
             1)))
       => 43)
(check (parameterize ((plain 'outer-value))
         (guard (outer (#t outer))
           (with-exception-handler
            (lambda (c) (raise (plain)))
            (lambda ()
              (guard (inner (#f 'never))
                (parameterize ((plain 'at-raise))
                  (raise 'anything)))))))
       => 'at-raise)
;; The clauses run with the continuation and dynamic environment of the guard.
(check (let ((log '()))
         (guard (c (#t (set! log (cons 'handler log))))
           (dynamic-wind
            (lambda () (set! log (cons 'in log)))
            (lambda () (raise 'x))
            (lambda () (set! log (cons 'out log)))))
         (reverse log))
       => '(in out handler))
(check (parameterize ((plain 'guard-env))
         (guard (c (#t (plain)))
           (parameterize ((plain 'body-env))
             (raise 'x))))
       => 'guard-env)
(check (guard (c (#t (list 'caught c))) (guard (c2 (#t (raise (list 'again c2)))) (raise 1)))
       => '(caught (again 1)))
(check (guard (c ((assq 'a c) => cdr) (else 'none)) (raise '((b . 1)))) => 'none)
(check (guard (c (#t 'ok)) (define y 1) (raise y)) => 'ok)   ; the body is a body
(check (guard (c (#t (list c)))
         (call-with-values (lambda () (values 1 2)) (lambda (a b) (raise (+ a b)))))
       => '(3))
(check (call-with-values (lambda () (guard (c (#t c)) (values 1 2))) list) => '(1 2))

;;; 4.2.8 Quasiquotation

(check `(list ,(+ 1 2) 4) => '(list 3 4))
(check (let ((name 'a)) `(list ,name ',name)) => '(list a (quote a)))
(check `(a ,(+ 1 2) ,@(map abs '(4 -5 6)) b) => '(a 3 4 5 6 b))
(check `((foo ,(- 10 3)) ,@(cdr '(c)) . ,(car '(cons))) => '((foo 7) . cons))
(check `#(10 5 ,(sqrt 4) ,@(map sqrt '(16 9)) 8) => '#(10 5 2 4 3 8))
(check (let ((foo '(foo bar)) (@baz 'baz))
         `(list ,@foo , @baz))
       => '(list foo bar baz))
(check `(a `(b ,(+ 1 2) ,(foo ,(+ 1 3) d) e) f)
       => '(a `(b ,(+ 1 2) ,(foo 4 d) e) f))
(check (let ((name1 'x)
             (name2 'y))
         `(a `(b ,,name1 ,',name2 d) e))
       => '(a `(b ,x ,'y d) e))
(check (let ((a 3)) `((1 2) ,a ,4 ,'five 6)) => '((1 2) 3 4 five 6))
(check (quasiquote (list (unquote (+ 1 2)) 4)) => '(list 3 4))
(check '(quasiquote (list (unquote (+ 1 2)) 4)) => '`(list ,(+ 1 2) 4))
(check (car '`(list ,(+ 1 2) 4)) => 'quasiquote)
(check `abc => 'abc)
(check `(1 2 3) => '(1 2 3))
(check `() => '())
(check `,(+ 2 3) => 5)
(check `(1 ,@'() 2) => '(1 2))
(check `(,@'(1 2)) => '(1 2))
(check `(,@'(1 2) . 3) => '(1 2 . 3))
(check `(0 ,@'(1 2) ,@'(3)) => '(0 1 2 3))
(check `(1 . ,(+ 1 1)) => '(1 . 2))
(check `(1 ,@(list 2 3) . 4) => '(1 2 3 . 4))
(check `#(1 ,@(list 2 3)) => '#(1 2 3))
(check `#() => '#())
(check `#(,@'()) => '#())
(check `#(a ,(+ 1 2) #(nested ,(+ 2 2))) => '#(a 3 #(nested 4)))
(check `(a #(b ,(+ 1 1))) => '(a #(b 2)))
(check `(1 `,(+ 1 ,(+ 2 3)) 4) => '(1 `,(+ 1 5) 4))
(check `(1 `(,@(list ,@(list 2 3))) 4) => '(1 `(,@(list 2 3)) 4))
(check `(1 ```,,@,,@(list (+ 1 2)) 4) => '(1 ```,,@,3 4))
(check (let ((x 5)) `(a `(b ,(c ,x)))) => '(a `(b ,(c 5))))
(check `(a `(b ,@(c ,(+ 1 2)))) => '(a `(b ,@(c 3))))
(check `(quasiquote ,(+ 1 2)) => '(quasiquote (unquote (+ 1 2))))   ; a nested level
(check `(quasiquote ,,(+ 1 2)) => '(quasiquote (unquote 3)))
(check (let ((x '(1 2))) `(,x ,@x)) => '((1 2) 1 2))
(check (let ((l (list 1 2))) (eq? l (cadr `(0 ,l)))) => #t)

;;; 4.2.9 Case-lambda

(define range
  (case-lambda
   ((e) (range 0 e))
   ((b e) (do ((r '() (cons e r))
               (e (- e 1) (- e 1)))
              ((< e b) r)))))
(check (range 3) => '(0 1 2))
(check (range 3 5) => '(3 4))
(define plus
  (case-lambda
   (() 0)
   ((x) x)
   ((x y) (+ x y))
   ((x y z) (+ (+ x y) z))
   (args (apply + args))))
(check (plus) => 0)
(check (plus 1) => 1)
(check (plus 1 2) => 3)
(check (plus 1 2 3) => 6)
(check (plus 1 2 3 4) => 10)
(define which-clause
  (case-lambda
   ((a) 'one)
   ((a b) 'two)
   ((a . rest) (list 'rest rest))))
(check (which-clause 1) => 'one)
(check (which-clause 1 2) => 'two)
(check (which-clause 1 2 3) => '(rest (2 3)))
(check-error (which-clause))
(check-error ((case-lambda ((a) a) ((a b c) c)) 1 2))
(check ((case-lambda ((a . b) 'first) ((a) 'second)) 1) => 'first)   ; first match wins
(check (procedure? (case-lambda)) => #t)
(check ((case-lambda ((x) (define y (* x 2)) y)) 4) => 8)

;;; 4.3.1 Binding constructs for syntactic keywords

(check (let-syntax ((twice (syntax-rules () ((_ e) (begin e e)))))
         (let ((n 0)) (twice (set! n (+ n 1))) n))
       => 2)
(check (let-syntax () 5) => 5)
(check (let-syntax ((one (syntax-rules () ((_) 1)))
                    (two (syntax-rules () ((_) 2))))
         (+ (one) (two)))
       => 3)
(check (letrec-syntax
           ((my-and (syntax-rules ()
                      ((_) #t)
                      ((_ e) e)
                      ((_ e1 e2 ...) (if e1 (my-and e2 ...) #f)))))
         (list (my-and) (my-and 1 2 3) (my-and 1 #f 3)))
       => '(#t 3 #f))
(check (letrec-syntax
           ((ev? (syntax-rules () ((_) #t) ((_ x . r) (od? . r))))
            (od? (syntax-rules () ((_) #f) ((_ x . r) (ev? . r)))))
         (list (ev? a b c d) (od? a b c)))
       => '(#t #t))
;; letrec-syntax: a transformer sees the other keywords being bound. (The
;; let-syntax counterpart is in 4.3-hygiene.scm.)
(define-syntax ls-outer (syntax-rules () ((_) 'outer)))
(check (letrec-syntax ((ls-outer (syntax-rules () ((_) 'inner)))
                       (ls-user (syntax-rules () ((_) (ls-outer)))))
         (ls-user))
       => 'inner)
(check (let-syntax ((m (syntax-rules () ((_) 'v))))
         (define y (m))
         y)
       => 'v)

;;; 4.3.2 Pattern language

(define-syntax swap!
  (syntax-rules ()
    ((_ a b)
     (let ((tmp a))
       (set! a b)
       (set! b tmp)))))
(check (let ((p 1) (q 2)) (swap! p q) (list p q)) => '(2 1))
(define-syntax my-or
  (syntax-rules ()
    ((_) #f)
    ((_ e) e)
    ((_ e1 e2 ...)
     (let ((temp e1))
       (if temp temp (my-or e2 ...))))))
(check (my-or) => #f)
(check (my-or #f 2) => 2)
(check (my-or #f #f) => #f)
(check (let ((n 0)) (my-or (begin (set! n (+ n 1)) #f) (begin (set! n (+ n 1)) 'y)) n) => 2)
;; Literals
(define-syntax my-if
  (syntax-rules (then otherwise)
    ((_ c then t otherwise e) (if c t e))
    ((_ c then t) (if c t #f))))
(check (my-if #t then 'yes otherwise 'no) => 'yes)
(check (my-if #f then 'yes otherwise 'no) => 'no)
(check (my-if #t then 'only) => 'only)
(define-syntax literal-or-var
  (syntax-rules (lit)
    ((_ lit) 'literal)
    ((_ other) 'variable)))
(check (literal-or-var lit) => 'literal)
(check (literal-or-var lot) => 'variable)
(check (literal-or-var (lit)) => 'variable)
(define-syntax arrow-clause
  (syntax-rules (=>)
    ((_ a => b) (list a b))
    ((_ a b c) 'no-arrow)))
(check (arrow-clause 1 => 2) => '(1 2))
(check (arrow-clause 1 2 3) => 'no-arrow)
;; _ matches anything and binds nothing; several may appear.
(define-syntax second-of
  (syntax-rules ()
    ((_ _ b . _) 'b)))
(check (second-of 1 2 3 4) => 2)
(check (second-of x y) => 'y)
(define-syntax underscore-list
  (syntax-rules ()
    ((_ (_ x) ...) '(x ...))))
(check (underscore-list (a 1) (b 2) (c 3)) => '(1 2 3))
;; _ in the literals matches only _.
(define-syntax underscore-literal
  (syntax-rules (_)
    ((m _) 'underscore)
    ((m x) 'other)))
(check (underscore-literal _) => 'underscore)
(check (underscore-literal y) => 'other)
;; The keyword position is not matched.
(define-syntax ignore-keyword
  (syntax-rules ()
    ((anything-at-all x) 'x)))
(check (ignore-keyword q) => 'q)
;; Constants match by equal?.
(define-syntax const-match
  (syntax-rules ()
    ((_ 1) 'one)
    ((_ "s") 'string)
    ((_ #\c) 'char)
    ((_ #t) 'true)
    ((_ x) 'other)))
(check (list (const-match 1) (const-match "s") (const-match #\c) (const-match #t) (const-match 2))
       => '(one string char true other))
;; Ellipses: zero or more; nested; followed by more patterns; with a tail.
(define-syntax my-list
  (syntax-rules ()
    ((_ a ...) (list a ...))))
(check (my-list) => '())
(check (my-list 1 2 3) => '(1 2 3))
(define-syntax flat-nested
  (syntax-rules ()
    ((_ (a b ...) ...) '((b ... a) ...))))
(check (flat-nested (1 2 3) (4) (5 6)) => '((2 3 1) (4) (6 5)))
(check (flat-nested) => '())
(define-syntax my-let*
  (syntax-rules ()
    ((_ () body ...) (let () body ...))
    ((_ ((n v) rest ...) body ...) (let ((n v)) (my-let* (rest ...) body ...)))))
(check (my-let* ((a 1) (b (+ a 1)) (c (* b 3))) (list a b c)) => '(1 2 6))
(define-syntax pairs-of
  (syntax-rules ()
    ((_ (k v ...) ...) '((k . (v ...)) ...))))
(check (pairs-of (a 1 2) (b) (c 3)) => '((a 1 2) (b) (c 3)))
(define-syntax last-two
  (syntax-rules ()
    ((_ a ... b c) '((a ...) b c))))
(check (last-two 1 2 3 4) => '((1 2) 3 4))
(check (last-two 1 2) => '(() 1 2))
(define-syntax first-and-last
  (syntax-rules ()
    ((_ first mid ... last) '(first (mid ...) last))))
(check (first-and-last 1 2 3 4 5) => '(1 (2 3 4) 5))
(check (first-and-last 1 2) => '(1 () 2))
(define-syntax ellipsis-then-tail
  (syntax-rules ()
    ((_ (a ... b . r)) '((a ...) b r))))
(check (ellipsis-then-tail (1 2 3 . 4)) => '((1 2) 3 4))
(check (ellipsis-then-tail (1 2 3)) => '((1 2) 3 ()))
(check (ellipsis-then-tail (1 . 4)) => '(() 1 4))
(define-syntax count-args
  (syntax-rules ()
    ((_) 0)
    ((_ x y ...) (+ 1 (count-args y ...)))))
(check (count-args a b c d) => 4)
;; The ellipsis pattern requires a proper list.
(define-syntax proper-only
  (syntax-rules ()
    ((_ (a ...)) 'proper)
    ((_ other) 'improper)))
(check (proper-only (1 2 3)) => 'proper)
(check (proper-only (1 2 . 3)) => 'improper)
;; Dotted patterns
(define-syntax dotted
  (syntax-rules ()
    ((_ a . b) '(a b))))
(check (dotted 1 2 3) => '(1 (2 3)))
(check (dotted 1) => '(1 ()))
(define-syntax dotted-inner
  (syntax-rules ()
    ((_ (a b . c)) '(c b a))))
(check (dotted-inner (1 2 3 4)) => '((3 4) 2 1))
(check (dotted-inner (1 2)) => '(() 2 1))
(check (dotted-inner (1 2 . 3)) => '(3 2 1))
(define-syntax list-or-not
  (syntax-rules ()
    ((_ (a b)) 'two)
    ((_ (a . b)) 'pair)
    ((_ a) 'atom)))
(check (list (list-or-not (1 2)) (list-or-not (1 2 3)) (list-or-not (1)) (list-or-not 1))
       => '(two pair pair atom))
;; Vector patterns
(define-syntax vec-elements
  (syntax-rules ()
    ((_ #(a ...)) '(a ...))))
(check (vec-elements #(1 2 3)) => '(1 2 3))
(check (vec-elements #()) => '())
(define-syntax vec-fixed
  (syntax-rules ()
    ((_ #(a b)) '(b a))
    ((_ other) 'no-match)))
(check (vec-fixed #(1 2)) => '(2 1))
(check (vec-fixed #(1 2 3)) => 'no-match)
(check (vec-fixed (1 2)) => 'no-match)
(define-syntax vec-middle
  (syntax-rules ()
    ((_ #(a b ... c)) '(a (b ...) c))))
(check (vec-middle #(1 2 3 4)) => '(1 (2 3) 4))
(check (vec-middle #(1 4)) => '(1 () 4))
(define-syntax vec-nested
  (syntax-rules ()
    ((_ #((k v) ...)) '((v k) ...))))
(check (vec-nested #((a 1) (b 2))) => '((1 a) (2 b)))
;; Templates: vectors, dotted tails, constants.
(define-syntax to-vector
  (syntax-rules ()
    ((_ a ...) '#(a ... end))))
(check (to-vector 1 2) => '#(1 2 end))
(define-syntax to-dotted
  (syntax-rules ()
    ((_ a b) '(a . b))))
(check (to-dotted 1 2) => '(1 . 2))
(define-syntax each-twice
  (syntax-rules ()
    ((_ a ...) '((a a) ...))))
(check (each-twice 1 2) => '((1 1) (2 2)))
(define-syntax with-fixed
  (syntax-rules ()
    ((_ c (a ...)) '((c a) ...))))
(check (with-fixed k (1 2 3)) => '((k 1) (k 2) (k 3)))
;; A custom ellipsis identifier.
(define-syntax my-list2
  (syntax-rules ::: ()
    ((_ a :::) (list a :::))))
(check (my-list2 1 2 3) => '(1 2 3))
(define-syntax dots-are-plain
  (syntax-rules ::: ()
    ((_ a ...) '(a ...))))
(check (dots-are-plain 1 ...) => '(1 ...))
(check-error (eval '(dots-are-plain 1 2 3) (interaction-environment)))
(define-syntax nested-custom
  (syntax-rules ::: ()
    ((_ (a b :::) :::) '((b ::: a) :::))))
(check (nested-custom (1 2 3) (4 5)) => '((2 3 1) (5 4)))
;; The ellipsis listed among the literals matches only itself.
(define-syntax ellipsis-literal
  (syntax-rules (...)
    ((_ a ...) 'a-then-dots)
    ((_ a b) 'two)))
(check (ellipsis-literal 1 ...) => 'a-then-dots)
(check (ellipsis-literal 1 2) => 'two)
;; (... ...) and (... template) escapes.
(define-syntax be-like-begin
  (syntax-rules ()
    ((be-like-begin name)
     (define-syntax name
       (syntax-rules ()
         ((name expr (... ...))
          (begin expr (... ...))))))))
(be-like-begin sequence)
(check (sequence 1 2 3 4) => 4)
(define-syntax quote-dots
  (syntax-rules ()
    ((_ a) '(... (a ...)))))
(check (quote-dots 1) => '(1 ...))
(define-syntax single-dots
  (syntax-rules ()
    ((_) '(... ...))))
(check (single-dots) => '...)
;; Macros that expand into definitions.
(define-syntax define-two
  (syntax-rules ()
    ((_ a b v) (begin (define a v) (define b v)))))
(define-two two-a two-b 'same)
(check (list two-a two-b) => '(same same))
(check (let () (define-two la lb 3) (+ la lb)) => 6)
(define-syntax def-getter
  (syntax-rules ()
    ((_ name val) (define (name) val))))
(def-getter get-seven 7)
(check (get-seven) => 7)
;; A macro use may expand into another macro use (and into a macro definition).
(define-syntax make-const-macro
  (syntax-rules ()
    ((_ name v) (define-syntax name (syntax-rules () ((_) v))))))
(make-const-macro forty-two 42)
(check (forty-two) => 42)
;; No rule matches: an error.
(define-syntax only-one
  (syntax-rules ()
    ((_ a) a)))
(check-error (eval '(only-one 1 2) (interaction-environment)))

;;; 4.3.3 Signaling errors in macro transformers

(define-syntax simple-let
  (syntax-rules ()
    ((simple-let ((x . y) val) body1 body2 ...)
     (syntax-error "expected an identifier" (x . y)))
    ((simple-let (name val) body1 body2 ...)
     ((lambda (name) body1 body2 ...) val))))
(check (simple-let (z 5) (* z 2)) => 10)
;; A syntax error need not be catchable once expansion and evaluation are
;; separate, so the use is expanded by eval.
(check-error (eval '(simple-let ((z . y) 1) z) (interaction-environment)))
(check-error (eval '(let-syntax ((bad (syntax-rules () ((_) (syntax-error "bad use" 1 2)))))
                      (bad))
                   (environment '(scheme base))))

(report)
