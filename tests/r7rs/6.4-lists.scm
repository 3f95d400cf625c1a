;; R7RS 6.4 Pairs and lists, with the 3- and 4-level compositions of the
;; (scheme cxr) library.
(load "check.scm")

;;; Lists and improper lists; set-cdr! changes list-ness.

(check '(a . (b . (c . (d . (e . ()))))) => '(a b c d e))
(check '(a b c . d) => '(a . (b . (c . d))))
(define x (list 'a 'b 'c))
(define y x)
(check y => '(a b c))
(check (list? y) => #t)
(set-cdr! x 4)
(check x => '(a . 4))
(check (eqv? x y) => #t)
(check y => '(a . 4))
(check (list? y) => #f)
(set-cdr! x x)
(check (list? x) => #f)
;; Reader abbreviations are two-element lists.
(check ''a => '(quote a))
(check '`a => '(quasiquote a))
(check ',a => '(unquote a))
(check ',@a => '(unquote-splicing a))
(check (car ''a) => 'quote)
(check (length '',a) => 2)

;;; pair?

(check (pair? '(a . b)) => #t)
(check (pair? '(a b c)) => #t)
(check (pair? '()) => #f)
(check (pair? '#(a b)) => #f)
(check (pair? (cons 1 2)) => #t)
(check (pair? 'a) => #f)
(check (pair? "ab") => #f)

;;; cons

(check (cons 'a '()) => '(a))
(check (cons '(a) '(b c d)) => '((a) b c d))
(check (cons "a" '(b c)) => '("a" b c))
(check (cons 'a 3) => '(a . 3))
(check (cons '(a b) 'c) => '((a b) . c))
(check (eqv? (cons 1 2) (cons 1 2)) => #f)
(check (let ((p (cons 1 2))) (eq? p (cons 1 2))) => #f)

;;; car, cdr

(check (car '(a b c)) => 'a)
(check (car '((a) b c d)) => '(a))
(check (car '(1 . 2)) => 1)
(check-error (car '()))
(check (cdr '((a) b c d)) => '(b c d))
(check (cdr '(1 . 2)) => 2)
(check-error (cdr '()))
(check-error (car 5))
(check-error (car "pair"))
(check-error (car #(1 2)))
(check-error (cdr 'sym))
(check-error (car))
(check-error (car '(1) '(2)))

;;; set-car!, set-cdr!

(define (f) (list 'not-a-constant-list))
(define (g) '(constant-list))
(check (let ((l (f))) (set-car! l 3) l) => '(3))
;; Altering a literal constant "is an error" that imp does not signal
;; (doc/LANGUAGE.md); the constant is an ordinary pair.
(check (pair? (g)) => #t)
(check (let ((p (cons 1 2))) (set-car! p 'a) (set-cdr! p 'b) p) => '(a . b))
(check (let ((l (list 1 2 3))) (set-cdr! (cdr l) '()) l) => '(1 2))
(check (let* ((l (list 1 2)) (alias l)) (set-car! l 'changed) alias) => '(changed 2))
(check-error (set-car! '() 1))
(check-error (set-cdr! 5 1))

;;; caar, cadr, cdar, cddr and the 24 cxr compositions

(define (cxr-tree path depth)
  (if (= depth 0)
      (string->symbol path)
      (cons (cxr-tree (string-append path "a") (- depth 1))
            (cxr-tree (string-append path "d") (- depth 1)))))
;; In a tree of depth n, an n-letter c...r reaches the leaf named by its
;; letters read right to left (the order they apply in).
(define t2 (cxr-tree "" 2))
(define t3 (cxr-tree "" 3))
(define t4 (cxr-tree "" 4))
(check (caar t2) => 'aa)
(check (cadr t2) => 'da)
(check (cdar t2) => 'ad)
(check (cddr t2) => 'dd)
(check (caar '((a b) c)) => 'a)
(check (cadr '(1 2 3)) => 2)
(check (cdar '((1 . 2) 3)) => 2)
(check (cddr '(1 2 3)) => '(3))
(check (caaar t3) => 'aaa)
(check (caadr t3) => 'daa)
(check (cadar t3) => 'ada)
(check (caddr t3) => 'dda)
(check (cdaar t3) => 'aad)
(check (cdadr t3) => 'dad)
(check (cddar t3) => 'add)
(check (cdddr t3) => 'ddd)
(check (caaaar t4) => 'aaaa)
(check (caaadr t4) => 'daaa)
(check (caadar t4) => 'adaa)
(check (caaddr t4) => 'ddaa)
(check (cadaar t4) => 'aada)
(check (cadadr t4) => 'dada)
(check (caddar t4) => 'adda)
(check (cadddr t4) => 'ddda)
(check (cdaaar t4) => 'aaad)
(check (cdaadr t4) => 'daad)
(check (cdadar t4) => 'adad)
(check (cdaddr t4) => 'ddad)
(check (cddaar t4) => 'aadd)
(check (cddadr t4) => 'dadd)
(check (cdddar t4) => 'addd)
(check (cddddr t4) => 'dddd)
(check (caddr '(1 2 3 4)) => 3)
(check (cadddr '(1 2 3 4)) => 4)
(check (cddddr '(1 2 3 4 5)) => '(5))
(check-error (cadr '(1)))
(check-error (caddr '(1 2)))
(check-error (cddddr '(1 2 3)))

;;; null?

(check (null? '()) => #t)
(check (null? (list)) => #t)
(check (null? '(a)) => #f)
(check (null? #f) => #f)
(check (null? (vector)) => #f)
(check (null? "") => #f)
(check (null? 'nil) => #f)

;;; list?

(check (list? '(a b c)) => #t)
(check (list? '()) => #t)
(check (list? '(a . b)) => #f)
(check (let ((x (list 'a)))
         (set-cdr! x x)
         (list? x))
       => #f)
(check (let ((x (list 'a 'b 'c)))
         (set-cdr! (cddr x) (cdr x))
         (list? x))
       => #f)
(check (list? '(a b . c)) => #f)
(check (list? 'a) => #f)
(check (list? #(a b)) => #f)
(check (list? (cons 1 '())) => #t)

;;; make-list

(check (make-list 2 3) => '(3 3))
(check (make-list 0 'x) => '())
(check (make-list 0) => '())
(check (length (make-list 5)) => 5)
(check (list? (make-list 3)) => #t)
(check (let ((l (make-list 3 'a))) (set-car! (cdr l) 'b) l) => '(a b a))
(check (let ((s (string #\a))) (eq? s (cadr (make-list 2 s)))) => #t)

;;; list

(check (list 'a (+ 3 4) 'c) => '(a 7 c))
(check (list) => '())
(check (list 1) => '(1))
(check (list '() '()) => '(() ()))
(check (let ((l (list 1 2))) (set-car! l 0) l) => '(0 2))

;;; length

(check (length '(a b c)) => 3)
(check (length '(a (b) (c d e))) => 3)
(check (length '()) => 0)
(check (length (make-list 100000 0)) => 100000)
(check (exact? (length '(1 2))) => #t)

;;; append

(check (append '(x) '(y)) => '(x y))
(check (append '(a) '(b c d)) => '(a b c d))
(check (append '(a (b)) '((c))) => '(a (b) (c)))
(check (append '(a b) '(c . d)) => '(a b c . d))
(check (append '() 'a) => 'a)
(check (append) => '())
(check (append '(1)) => '(1))
(check (append 'a) => 'a)
(check (append '(1 2) 3) => '(1 2 . 3))
(check (append '() '()) => '())
(check (append '(1) '() '(2 3) '() '(4)) => '(1 2 3 4))
(check (append '(1) '(2) '(3) 4) => '(1 2 3 . 4))
(check (append '() '() '(1 . 2)) => '(1 . 2))
(check (let ((l (list 1 2))) (eq? l (append l))) => #t)       ; one argument: returned
(check (let ((l (list 3))) (eq? l (cddr (append '(1 2) l)))) => #t)   ; shares the last
(check (let ((l (list 3))) (eq? l (append '() l))) => #t)
(check (let ((a (list 1 2))) (eq? a (append a '()))) => #f)  ; otherwise newly allocated
(check (let* ((a (list 1 2)) (r (append a '(3)))) (set-car! r 'x) a) => '(1 2))
(check-error (append '(1 . 2) '(3)))
(check-error (append 'a '(1)))

;;; reverse

(check (reverse '(a b c)) => '(c b a))
(check (reverse '(a (b c) d (e (f)))) => '((e (f)) d (b c) a))
(check (reverse '()) => '())
(check (reverse '(1)) => '(1))
(check (let* ((l (list 1)) (r (reverse l))) (eq? l r)) => #f)
(check (let* ((l (list 1 2 3)) (r (reverse l))) (set-car! r 'x) l) => '(1 2 3))
(check (length (reverse (make-list 100000 'a))) => 100000)
(check-error (reverse '(1 . 2)))

;;; list-tail

(check (list-tail '(a b c d) 2) => '(c d))
(check (list-tail '(a b c d) 0) => '(a b c d))
(check (list-tail '(a b c d) 4) => '())
(check (let ((l (list 1 2 3))) (eq? (list-tail l 1) (cdr l))) => #t)
(check (let ((l (list 1 2 3))) (eq? (list-tail l 0) l)) => #t)
(check (list-tail '(1 2 . 3) 2) => 3)
(check-error (list-tail '(a b) 3))

;;; list-ref

(check (list-ref '(a b c d) 2) => 'c)
(check (list-ref '(a b c d)
                 (exact (round 1.8)))
       => 'c)
(check (list-ref '(a b c d) 0) => 'a)
(check (list-ref '(a b c d) 3) => 'd)
(check (let ((c (list 'a 'b)))
         (set-cdr! (cdr c) c)          ; circular
         (list (list-ref c 4) (list-ref c 5)))
       => '(a b))
(check-error (list-ref '(a b c) 3))
(check-error (list-ref '(a b c) -1))

;;; list-set!

(check (let ((ls (list 'one 'two 'five!)))
         (list-set! ls 2 'three)
         ls)
       => '(one two three))
(check (let ((ls (list 1 2 3)))
         (list-set! ls 0 'zero)
         ls)
       => '(zero 2 3))
(check-error (list-set! (list 1 2) 2 'x))

;;; memq, memv, member

(check (memq 'a '(a b c)) => '(a b c))
(check (memq 'b '(a b c)) => '(b c))
(check (memq 'a '(b c d)) => #f)
(check (memq (list 'a) '(b (a) c)) => #f)
(check (member (list 'a)
               '(b (a) c))
       => '((a) c))
(check (member "B"
               '("a" "b" "c")
               string-ci=?)
       => '("b" "c"))
(check (memv 101 '(100 101 102)) => '(101 102))
(check (memq 'a '()) => #f)
(check (memv 'a '()) => #f)
(check (member 'a '()) => #f)
(check (let ((l (list 1 2 3))) (eq? (memv 2 l) (cdr l))) => #t)   ; a sublist, not a copy
(check (memv 1.0 '(1 2 1.0)) => '(1.0))
(check (memv 1/2 (list 0.5 (/ 2 4))) => '(1/2))
(check (memv (expt 2 100) (list 1 (expt 2 100) 3)) => (list (expt 2 100) 3))
(check (memv #\b '(#\a #\b)) => '(#\b))
(check (memq 'c '(a b c . d)) => '(c . d))
(check (member "b" '("a" "b" "c")) => '("b" "c"))
(check (member '(1 #(2)) '(0 (1 #(2)) 3)) => '((1 #(2)) 3))
(check (member 2.0 '(1 2 3) =) => '(2 3))
(check (member 2.0 '(1 2 3)) => #f)
(check (member 5 '(1 2 3) =) => #f)
(check (member 'x '(a b c) (lambda (a b) #t)) => '(a b c))
(check (member "B" '("a" "b") string=?) => #f)
(check (memq #f '(1 #f 2)) => '(#f 2))

;;; assq, assv, assoc

(define e '((a 1) (b 2) (c 3)))
(check (assq 'a e) => '(a 1))
(check (assq 'b e) => '(b 2))
(check (assq 'd e) => #f)
(check (assq (list 'a) '(((a)) ((b)) ((c)))) => #f)
(check (assoc (list 'a) '(((a)) ((b)) ((c)))) => '((a)))
(check (assoc 2.0 '((1 1) (2 4) (3 9)) =) => '(2 4))
(check (assv 5 '((2 3) (5 7) (11 13))) => '(5 7))
(check (assq 'a '()) => #f)
(check (assv 1 '()) => #f)
(check (assoc "a" '()) => #f)
(check (eq? (assq 'b e) (cadr e)) => #t)     ; the pair itself
(check (assq 'x '((x . 1) (x . 2))) => '(x . 1))   ; the first
(check (assv 1/2 '((0.5 . inexact) (1/2 . exact))) => '(1/2 . exact))
(check (assv #\b '((#\a . 1) (#\b . 2))) => '(#\b . 2))
(check (assv 2.0 '((2 . exact) (2.0 . inexact))) => '(2.0 . inexact))
(check (assoc 2.0 '((1 1) (2 4) (3 9))) => #f)
(check (assoc "b" '(("a" . 1) ("b" . 2))) => '("b" . 2))
(check (assoc '(k) '(((k) . v))) => '((k) . v))
(check (assoc "B" '(("a" . 1) ("b" . 2)) string-ci=?) => '("b" . 2))
(check (assoc 10 '((1 . a) (20 . b) (30 . c)) (lambda (a b) (< (abs (- a b)) 15))) => '(1 . a))
(check (assq #f '((1 . 2) (#f . found))) => '(#f . found))

;;; list-copy

(define a '(1 8 2 8)) ; a may be immutable
(define b (list-copy a))
(set-car! b 3)        ; b is mutable
(check b => '(3 8 2 8))
(check a => '(1 8 2 8))
(check (list-copy '()) => '())
(check (list-copy '(1 2 3)) => '(1 2 3))
(check (let ((l (list 1 2))) (eq? l (list-copy l))) => #f)
(check (let* ((l (list 1 2)) (c (list-copy l))) (eq? (cdr l) (cdr c))) => #f)  ; every pair copied
(check (let* ((s (string #\x)) (c (list-copy (list s)))) (eq? s (car c))) => #t)  ; cars shared
(check (list-copy '(1 2 . 3)) => '(1 2 . 3))
(check (let* ((tl (string #\t)) (c (list-copy (cons 1 tl)))) (eq? tl (cdr c))) => #t)
(check (list-copy 'sym) => 'sym)
;; A circular list is an error, not a copy that never ends.
(check-error (let ((c (list 1 2 3))) (set-cdr! (cddr c) c) (list-copy c)))
(check-error (let ((c (list 1))) (set-cdr! c c) (last-pair c)))
(check (list-copy 5) => 5)
(check (let ((v (vector 1 2))) (eq? v (list-copy v))) => #t)

(report)
