;; R7RS 6.10 Control features: procedure?, apply, the map and for-each
;; family, call/cc, values, call-with-values and dynamic-wind.
(load "check.scm")

;;; procedure?

(check (procedure? car) => #t)
(check (procedure? 'car) => #f)
(check (procedure? (lambda (x) (* x x))) => #t)
(check (procedure? '(lambda (x) (* x x))) => #f)
(check (call-with-current-continuation procedure?) => #t)
(check (procedure? (call/cc (lambda (k) k))) => #t)
(check (procedure? apply) => #t)
(check (procedure? (case-lambda ((x) x) ((x y) y))) => #t)
(check (procedure? (make-parameter 1)) => #t)
(check (procedure? "car") => #f)
(check (procedure? #f) => #f)

;;; apply

(check (apply + (list 3 4)) => 7)
(define compose
  (lambda (f g)
    (lambda args
      (f (apply g args)))))
(check ((compose sqrt *) 12 75) => 30)
(check (apply + '()) => 0)
(check (apply list '()) => '())
(check (apply list 1 2 '(3 4)) => '(1 2 3 4))
(check (apply list 1 2 '()) => '(1 2))
(check (apply max 3 '(1 7 2)) => 7)
(check (apply (lambda args args) 'a '(b c)) => '(a b c))
(check (apply (lambda (a . rest) (list a rest)) '(1 2 3)) => '(1 (2 3)))
(check (apply apply (list + (list 1 2))) => 3)
(check (apply vector 'a 'b '(c)) => #(a b c))
(check (let ((args (list 1 2))) (apply list args) args) => '(1 2))
(check-error (apply + 1 2))
(check-error (apply car '(1 2)))

;;; map

(check (map cadr '((a b) (d e) (g h))) => '(b e h))
(check (map (lambda (n) (expt n n)) '(1 2 3 4 5)) => '(1 4 27 256 3125))
(check (map + '(1 2 3) '(4 5 6 7)) => '(5 7 9))
(check (map + '(1 2 3 4) '(10 20)) => '(11 22))
(check (map + '(1 2) '(10 20 30) '(100 200 300 400)) => '(111 222))
(check (map list '(a b c) '(1 2 3) '(x y z)) => '((a 1 x) (b 2 y) (c 3 z)))
(check (map car '()) => '())
(check (map + '() '(1 2)) => '())
(check (let ((count 0))
         (let ((r (map (lambda (ignored)
                         (set! count (+ count 1))
                         count)
                       '(a b))))
           (or (equal? r '(1 2)) (equal? r '(2 1)))))
       => #t)
;; One list may be circular, as long as not all are.
(check (let ((c (list 1 2)))
         (set-cdr! (cdr c) c)
         (map + '(10 20 30 40 50) c))
       => '(11 22 31 42 51))
;; The result is a newly allocated list.
(check (let* ((l (list 1 2 3)) (r (map (lambda (x) x) l))) (eq? l r)) => #f)

;;; string-map

(check (string-map char-foldcase "AbdEgH") => "abdegh")
(check (string-map (lambda (c) (integer->char (+ 1 (char->integer c)))) "HAL")
       => "IBM")
(check (string-map (lambda (c k)
                     ((if (eqv? k #\u) char-upcase char-downcase) c))
                   "studlycaps xxx"
                   "ululululul")
       => "StUdLyCaPs")
(check (string-map char-upcase "") => "")
(check (string-map (lambda (a b c) (if (char<? a b) c a)) "abc" "bbbb" "xyz")
       => "xbc")

;;; string-for-each

(check (let ((v '()))
         (string-for-each
          (lambda (c) (set! v (cons (char->integer c) v)))
          "abcde")
         v)
       => '(101 100 99 98 97))
(check (let ((v '()))
         (string-for-each (lambda (a b) (set! v (cons (string a b) v)))
                          "abc" "xy")
         (reverse v))
       => '("ax" "by"))
(check (let ((n 0)) (string-for-each (lambda (c) (set! n (+ n 1))) "") n) => 0)

;;; map, vector-map and string-map returning more than once: the list an
;;; earlier return gave is not changed by a later one.
(define (returns-twice run)
  (let ((k #f) (results '()))
    (let ((r (run (lambda (x)
                    (call/cc (lambda (c)
                               (if (and (not k) (eqv? x 2)) (set! k c))
                               x))))))
      (set! results (cons r results))
      (if (< (length results) 2) (k 10)))
    (reverse results)))
(check (returns-twice (lambda (f) (map f '(1 2 3)))) => '((1 2 3) (1 10 3)))
(check (returns-twice (lambda (f) (map f '(2 3 4)))) => '((2 3 4) (10 3 4)))
(check (returns-twice (lambda (f) (map f '(1 2)))) => '((1 2) (1 10)))
(check (returns-twice (lambda (f) (map f '(2)))) => '((2) (10)))
;; Returning three times: the first two lists stay as they were.
(check (let ((k #f) (results '()))
         (let ((r (map (lambda (x)
                         (call/cc (lambda (c) (if (and (not k) (eqv? x 3)) (set! k c)) x)))
                       '(1 2 3 4 5))))
           (set! results (cons r results))
           (if (< (length results) 3) (k (* 10 (length results)))))
         (reverse results))
       => '((1 2 3 4 5) (1 2 10 4 5) (1 2 20 4 5)))
;; A continuation captured and left inside the procedure: the rest of the
;; list is still made in order.
(check (map (lambda (x) (call/cc (lambda (c) (* x x)))) '(1 2 3 4)) => '(1 4 9 16))
(check (map (lambda (x) (if (even? x) (call/cc (lambda (c) (c (- x)))) x)) '(1 2 3 4 5))
       => '(1 -2 3 -4 5))
(check (returns-twice (lambda (f) (map (lambda (x y) (f x)) '(1 2 3) '(a b c))))
       => '((1 2 3) (1 10 3)))
(check (returns-twice (lambda (f) (vector-map f #(1 2 3)))) => '(#(1 2 3) #(1 10 3)))
(check (returns-twice (lambda (f) (string-map (lambda (c) (if (eqv? (f (if (char=? c #\b) 2 1)) 10) #\X c)) "abc")))
       => '("abc" "aXc"))

;;; vector-map

(check (vector-map cadr '#((a b) (d e) (g h))) => #(b e h))
(check (vector-map (lambda (n) (expt n n)) '#(1 2 3 4 5)) => #(1 4 27 256 3125))
(check (vector-map + '#(1 2 3) '#(4 5 6 7)) => #(5 7 9))
(check (vector-map + #(1 2) #(10 20 30) #(100 200 300)) => #(111 222))
(check (vector-map car #()) => #())
(check (let ((count 0))
         (let ((r (vector-map (lambda (ignored)
                                (set! count (+ count 1))
                                count)
                              '#(a b))))
           (or (equal? r #(1 2)) (equal? r #(2 1)))))
       => #t)

;;; vector-for-each

(check (let ((v (make-list 5)))
         (vector-for-each
          (lambda (i) (list-set! v i (* i i)))
          '#(0 1 2 3 4))
         v)
       => '(0 1 4 9 16))
(check (let ((acc '()))
         (vector-for-each (lambda (a b) (set! acc (cons (+ a b) acc)))
                          #(1 2 3) #(10 20))
         acc)
       => '(22 11))

;;; for-each

(check (let ((v (make-vector 5)))
         (for-each (lambda (i)
                     (vector-set! v i (* i i)))
                   '(0 1 2 3 4))
         v)
       => #(0 1 4 9 16))
(check (let ((acc '()))
         (for-each (lambda (x) (set! acc (cons x acc))) '(1 2 3))
         acc)
       => '(3 2 1))
(check (let ((acc '()))
         (for-each (lambda (a b c) (set! acc (cons (list a b c) acc)))
                   '(1 2 3) '(4 5) '(6 7 8 9))
         (reverse acc))
       => '((1 4 6) (2 5 7)))
(check (let ((n 0)) (for-each (lambda (x) (set! n 1)) '()) n) => 0)

;;; call-with-current-continuation / call/cc

(check (call-with-current-continuation
        (lambda (exit)
          (for-each (lambda (x)
                      (if (negative? x)
                          (exit x)))
                    '(54 0 37 -3 245 19))
          #t))
       => -3)
(define list-length
  (lambda (obj)
    (call-with-current-continuation
     (lambda (return)
       (letrec ((r
                 (lambda (obj)
                   (cond ((null? obj) 0)
                         ((pair? obj)
                          (+ (r (cdr obj)) 1))
                         (else (return #f))))))
         (r obj))))))
(check (list-length '(1 2 3 4)) => 4)
(check (list-length '(a b . c)) => #f)
(check (call/cc (lambda (k) 1)) => 1)
(check (+ 1 (call/cc (lambda (k) (+ 10 (k 2))))) => 3)
(check (eq? call/cc call-with-current-continuation) => #t)

;; Re-entering a continuation several times. (more? bounds the number of
;; re-entries, so that a wrong implementation fails instead of looping.)
(define (make-limiter)
  (let ((count 0))
    (lambda () (set! count (+ count 1)) (< count 20))))
(check (let ((k #f) (n 0) (results '()) (more? (make-limiter)))
         (let ((v (call/cc (lambda (c) (set! k c) 0))))
           (set! results (cons v results))
           (set! n (+ n 1))
           (if (and (< n 4) (more?)) (k (* n 10)))
           (reverse results)))
       => '(0 10 20 30))
;; A local variable assigned after the capture keeps its new value when
;; the continuation is re-entered (variables denote locations).
(check (let ((n 0) (k #f) (more? (make-limiter)))
         (call/cc (lambda (c) (set! k c)))
         (set! n (+ n 1))
         (if (and (< n 3) (more?)) (k #f))
         n)
       => 3)
(check (let ((n (list 0)) (k #f) (more? (make-limiter)))
         (call/cc (lambda (c) (set! k c)))
         (set-car! n (+ (car n) 1))
         (if (and (< (car n) 3) (more?)) (k #f))
         (car n))
       => 3)
(check (let ((r '()) (k #f) (more? (make-limiter)))
         (let ((v (call/cc (lambda (c) (set! k c) 1))))
           (set! r (cons (+ 100 v) r)))
         (if (and (< (length r) 3) (more?)) (k (length r)))
         r)
       => '(102 101 101))

;; At the top level of a program, a continuation includes the rest of the
;; program: re-entering it re-runs the following top-level forms.
(define tl-k #f)
(define tl-trace '())
(set! tl-trace (cons (call/cc (lambda (c) (set! tl-k c) 0)) tl-trace))
(if (< (length tl-trace) 3) (tl-k (length tl-trace)))
(check tl-trace => '(2 1 0))

;; A generator built from call/cc that yields three values in turn.
(define (make-generator lst)
  (define return #f)
  (define resume #f)
  (lambda ()
    (call/cc
     (lambda (r)
       (set! return r)
       (if resume
           (resume #f)
           (begin
             (for-each (lambda (x)
                         (call/cc
                          (lambda (res)
                            (set! resume res)
                            (return x))))
                       lst)
             (return 'done)))))))
(define g3 (make-generator '(a b c)))
(check (let* ((x (g3)) (y (g3)) (z (g3)) (w (g3))) (list x y z w))
       => '(a b c done))

;; A continuation called with several values delivers them to call-with-values.
;; A continuation takes any number of values.
(check (call-with-values (lambda () (call/cc (lambda (k) (k 1 2)))) list)
       => '(1 2))
(check (call-with-values (lambda () (call/cc (lambda (k) (k)))) list)
       => '())
(check (call-with-values (lambda () (call/cc (lambda (k) (k 1)))) list)
       => '(1))

;;; values and call-with-values

(check (call-with-values (lambda () (values 4 5)) (lambda (a b) b)) => 5)
(check (call-with-values * -) => -1)
(check (call-with-values (lambda () (values)) list) => '())
(check (call-with-values (lambda () (values 1)) list) => '(1))
(check (call-with-values (lambda () 7) list) => '(7))
(check (call-with-values (lambda () (values 1 2 3)) +) => 6)
(check (+ 1 (values 2)) => 3)
(check (call-with-values (lambda () (values 1 2)) (lambda args args)) => '(1 2))
(check (let-values (((a b) (values 1 2)) ((c) (values 3))) (list a b c))
       => '(1 2 3))
(check (begin (values 1 2) 'ok) => 'ok)

;;; dynamic-wind

(check (let ((path '())
             (c #f))
         (let ((add (lambda (s)
                      (set! path (cons s path)))))
           (dynamic-wind
            (lambda () (add 'connect))
            (lambda ()
              (add (call-with-current-continuation
                    (lambda (c0)
                      (set! c c0)
                      'talk1))))
            (lambda () (add 'disconnect)))
           (if (< (length path) 4)
               (c 'talk2)
               (reverse path))))
       => '(connect talk1 disconnect connect talk2 disconnect))

(check (let ((trace '()))
         (let ((r (dynamic-wind (lambda () (set! trace (cons 'before trace)))
                                (lambda () 'result)
                                (lambda () (set! trace (cons 'after trace))))))
           (list r (reverse trace))))
       => '(result (before after)))

(check (call-with-values
        (lambda () (dynamic-wind (lambda () #f) (lambda () (values 1 2)) (lambda () #f)))
        list)
       => '(1 2))

;; Escaping out runs after.
(check (let ((trace '()))
         (call/cc
          (lambda (k)
            (dynamic-wind
             (lambda () (set! trace (cons 'in trace)))
             (lambda () (k 'escaped) (set! trace (cons 'not-reached trace)))
             (lambda () (set! trace (cons 'out trace))))))
         (reverse trace))
       => '(in out))

;; Nested: afters inner first on exit, befores outer first on re-entry.
(check (let ((trace '()) (k #f) (n 0) (more? (make-limiter)))
         (define (note x) (set! trace (cons x trace)))
         (dynamic-wind
          (lambda () (note 'in1))
          (lambda ()
            (dynamic-wind
             (lambda () (note 'in2))
             (lambda () (call/cc (lambda (c) (set! k c))) (note 'body))
             (lambda () (note 'out2))))
          (lambda () (note 'out1)))
         (set! n (+ n 1))
         (if (and (< n 3) (more?)) (k #f))
         (reverse trace))
       => '(in1 in2 body out2 out1 in1 in2 body out2 out1 in1 in2 body out2 out1))

;; Jumping from one dynamic extent into another: after of the first, then
;; before of the second.
(check (let ((trace '()) (k #f) (done #f) (more? (make-limiter)))
         (define (note x) (set! trace (cons x trace)))
         (dynamic-wind
          (lambda () (note 'a-in))
          (lambda () (call/cc (lambda (c) (set! k c))))
          (lambda () (note 'a-out)))
         (if (and (not done) (more?))
             (begin
               (set! done #t)
               (dynamic-wind
                (lambda () (note 'b-in))
                (lambda () (k #f))
                (lambda () (note 'b-out)))))
         (reverse trace))
       => '(a-in a-out b-in b-out a-in a-out))

;; The same two traces, keeping the loop state in a heap object rather than
;; in a local variable assigned after the capture.
(check (let ((trace '()) (k #f) (n (vector 0)))
         (define (note x) (set! trace (cons x trace)))
         (dynamic-wind
          (lambda () (note 'in1))
          (lambda ()
            (dynamic-wind
             (lambda () (note 'in2))
             (lambda () (call/cc (lambda (c) (set! k c))) (note 'body))
             (lambda () (note 'out2))))
          (lambda () (note 'out1)))
         (vector-set! n 0 (+ (vector-ref n 0) 1))
         (if (< (vector-ref n 0) 3) (k #f))
         (reverse trace))
       => '(in1 in2 body out2 out1 in1 in2 body out2 out1 in1 in2 body out2 out1))
(check (let ((trace '()) (k #f) (done (vector #f)))
         (define (note x) (set! trace (cons x trace)))
         (dynamic-wind
          (lambda () (note 'a-in))
          (lambda () (call/cc (lambda (c) (set! k c))))
          (lambda () (note 'a-out)))
         (if (not (vector-ref done 0))
             (begin
               (vector-set! done 0 #t)
               (dynamic-wind
                (lambda () (note 'b-in))
                (lambda () (k #f))
                (lambda () (note 'b-out)))))
         (reverse trace))
       => '(a-in a-out b-in b-out a-in a-out))
;; Re-entry from outside into the middle of nested extents runs befores
;; outer first; escaping out runs afters inner first.
(check (let ((trace '()) (k #f) (count (vector 0)))
         (define (note x) (set! trace (cons x trace)))
         (call/cc
          (lambda (out)
            (dynamic-wind
             (lambda () (note 'in1))
             (lambda ()
               (dynamic-wind
                (lambda () (note 'in2))
                (lambda ()
                  (call/cc (lambda (c) (set! k c)))
                  (vector-set! count 0 (+ 1 (vector-ref count 0)))
                  (out #f))
                (lambda () (note 'out2))))
             (lambda () (note 'out1)))))
         (if (< (vector-ref count 0) 2) (k #f))
         (reverse trace))
       => '(in1 in2 out2 out1 in1 in2 out2 out1))

;; An error raised inside the thunk and caught outside runs after.
(check (let ((trace '()))
         (guard (e (#t (set! trace (cons e trace))))
           (dynamic-wind
            (lambda () (set! trace (cons 'in trace)))
            (lambda () (raise 'boom))
            (lambda () (set! trace (cons 'out trace)))))
         (reverse trace))
       => '(in out boom))

;; The before and after thunks run in the dynamic environment of the
;; dynamic-wind call.
(check (let ((p (make-parameter 'outer)) (seen '()))
         (dynamic-wind
          (lambda () (set! seen (cons (p) seen)))
          (lambda () (parameterize ((p 'inner)) (p)))
          (lambda () (set! seen (cons (p) seen))))
         seen)
       => '(outer outer))

(report)
