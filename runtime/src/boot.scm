;;; The part of the standard library written in Scheme. Loaded into every
;;; fresh runtime. Procedures that call procedures live here so that the
;;; VM stays stackless: Scheme-to-Scheme calls never go through Rust.

(define (call-with-values producer consumer) (%apply-values consumer (producer)))

(define (dynamic-wind before thunk after)
  (before)
  (%set-winders! (cons (cons before after) (%winders)))
  (%apply-values
   (lambda vals
     (%set-winders! (cdr (%winders)))
     (after)
     (apply values vals))
   (thunk)))

;; Run after-thunks out of the current winders and before-thunks into `to`.
(define (%rewind to)
  (let ((from (%winders)))
    (cond ((eq? from to) #t)
          ((>= (length from) (length to))
           (%set-winders! (cdr from))
           ((cdr (car from)))
           (%rewind to))
          (else
           (%rewind (cdr to))
           ((car (car to)))
           (%set-winders! to)))))

(define (call-with-current-continuation f)
  (%call/cc
   (lambda (k)
     (let ((winders (%winders)))
       (f (lambda vals (%rewind winders) (apply k vals)))))))
(define call/cc call-with-current-continuation)

(define (%with-handlers hs thunk)
  (let ((old (%handlers)))
    (dynamic-wind (lambda () (%set-handlers! hs))
                  thunk
                  (lambda () (%set-handlers! old)))))

(define (with-exception-handler handler thunk)
  (if (not (procedure? handler))
      (error "with-exception-handler: expected a procedure" handler))
  (%with-handlers (cons handler (%handlers)) thunk))

(define (raise obj)
  (let ((hs (%handlers)))
    (if (null? hs)
        (%no-handler obj)
        (begin
          (%with-handlers (cdr hs) (lambda () ((car hs) obj)))
          (%with-handlers (cdr hs)
                          (lambda () (error "exception handler returned from a non-continuable raise" obj)))))))

(define (raise-continuable obj)
  (let ((hs (%handlers)))
    (if (null? hs)
        (%no-handler obj)
        (%with-handlers (cdr hs) (lambda () ((car hs) obj))))))

;; Nothing handles obj: in the initial thread, unwind to the host; in any
;; other green thread, the thread ends with obj as its uncaught condition.
(define (%no-handler obj)
  (if (eq? (current-thread) (%initial-thread))
      (%uncaught obj)
      (begin (%thread-fail! obj)
             (if %thread-failure-hook
                 (%thread-failure-hook (current-thread) obj))
             (%thread-unwind-and-end))))

;; Called with a green thread and the condition it failed with, when one
;; ends that way (the REPL reports it), or #f. It must not raise.
(define %thread-failure-hook #f)

;; Run every after-thunk of the running green thread, then end it.
(define (%thread-unwind-and-end)
  (%rewind '())
  (%end-thread))

;; A limit the host set tripped (thread.rs, `trip_limit`): run the running
;; thread's after-thunks, then end the host's call. No handler is called.
(define (%limit-unwind message)
  (%rewind '())
  (%limit-abort message))

;; The host interrupted while the initial thread waited (thread.rs,
;; `interrupt_waiting_initial`): it runs this as an interrupt.
(define (%limit-interrupt)
  (%limit-unwind "interrupted by the host"))

;; (exit [status]): run every outstanding dynamic-wind after-thunk of the
;; running thread, then end the process (emergency-exit does not unwind).
(define (exit . status)
  (%rewind '())
  (apply %exit status))

;; (load path [environment]): read, compile and run each form in turn.
;; Each step advances a copy of the read state, so a continuation captured
;; in one form and invoked later goes on with the forms after that one.
;; (disassemble proc): print the bytecode of a compiled procedure.
(define (disassemble proc) (display (%disassemble proc)))

(define (load path . env) (%load-run (%load-open path)))
(define (%load-run state)
  (let %load-forms ((state state))
    (let* ((next (vector-copy state))
           (thunk (%load-next next)))
      (if (eof-object? thunk)
          (if #f #f)
          (begin (thunk) (%load-forms next))))))

(define (error-object-kind? e kind) (and (error-object? e) (eq? (%error-object-kind e) kind)))
(define (read-error? e) (error-object-kind? e 'read-error))
(define (file-error? e) (error-object-kind? e 'file-error))

(define (make-parameter value . converter)
  (if (pair? converter)
      (%make-parameter ((car converter) value) (car converter))
      (%make-parameter value)))

(define (%parameterize params vals thunk)
  ;; Deep binding: the running thread's parameterization is an alist that
  ;; parameterize extends for the dynamic extent of thunk.
  (let ((new (map (lambda (p v)
                    (cons p (let ((c (%parameter-converter p))) (if c (c v) v))))
                  params vals))
        (outer #f))
    (dynamic-wind
     (lambda ()
       (set! outer (%params))
       (%set-params! (append new outer)))
     thunk
     (lambda () (%set-params! outer)))))

(define current-output-port (%make-parameter (%make-console-port 0)))
(define current-error-port (%make-parameter (%make-console-port 1)))
(define current-input-port (%make-parameter (%make-console-port 4)))

(define (make-promise v) (if (promise? v) v (%make-promise #t v)))
(define (force p)
  (if (promise? p)
      (if (%promise-done? p)
          (%promise-value p)
          (let ((p2 ((%promise-value p))))
            (if (not (%promise-done? p))
                (if (promise? p2)
                    (%promise-update! p (%promise-done? p2) (%promise-value p2))
                    (%promise-update! p #t p2)))
            (force p)))
      p))

;;; Lists

;; The accumulator is reversed in place only if no continuation was
;; captured meanwhile: a continuation captured inside F and invoked after
;; map returned must find the accumulator as it was, and must not change
;; the list returned before (R7RS 6.10).
(define (%map-result acc captures)
  (if (eq? captures (%captures)) (reverse! acc) (reverse acc)))

;; `%map1` and `%for-each1`, over one list, are written in bytecode
;; (runtime/src/vm/assembled.rs).

(define (%cars ls)
  (let loop ((ls ls) (acc '()))
    (if (pair? ls) (loop (cdr ls) (cons (car (car ls)) acc)) (reverse! acc))))
(define (%cdrs ls)
  (let loop ((ls ls) (acc '()))
    (if (pair? ls) (loop (cdr ls) (cons (cdr (car ls)) acc)) (reverse! acc))))
(define (%any-null? ls)
  (if (pair? ls) (if (pair? (car ls)) (%any-null? (cdr ls)) #t) #f))

(define (map f l . ls)
  (if (null? ls)
      ;; No %check-list here: map and for-each are hot, a check would be
      ;; a second walk of every list (10% of a map-heavy program), and
      ;; they stay interruptible and within the heap's limit.
      (%map1 f l)
      (let ((c (%captures)))
        (let loop ((ls (cons l ls)) (acc '()))
          (if (%any-null? ls)
              (%map-result acc c)
              (loop (%cdrs ls) (cons (apply f (%cars ls)) acc)))))))

(define (for-each f l . ls)
  (if (null? ls)
      (%for-each1 f l)
      (let loop ((ls (cons l ls)))
        (if (not (%any-null? ls))
            (begin (apply f (%cars ls)) (loop (%cdrs ls)))))))

(define (member x l . eq)
  (if (null? eq)
      (%member x l)
      (let loop ((l l))
        (cond ((not (pair? l)) #f)
              (((car eq) x (car l)) l)
              (else (loop (cdr l)))))))

(define (assoc x l . eq)
  (if (null? eq)
      (%assoc x l)
      (let loop ((l l))
        (cond ((not (pair? l)) #f)
              (((car eq) x (car (car l))) (car l))
              (else (loop (cdr l)))))))

(define (filter pred l)
  (let loop ((l (%check-list 'filter l)) (acc '()) (c (%captures)))
    (cond ((null? l) (%map-result acc c))
          ((pred (car l)) (loop (cdr l) (cons (car l) acc) c))
          (else (loop (cdr l) acc c)))))
(define (remove pred l) (filter (lambda (x) (not (pred x))) l))
(define (partition pred l)
  (let ((c (%captures)))
    (let loop ((l (%check-list 'partition l)) (yes '()) (no '()))
      (cond ((null? l)
             (let ((safe (eq? c (%captures))))
               (values (if safe (reverse! yes) (reverse yes))
                       (if safe (reverse! no) (reverse no)))))
            ((pred (car l)) (loop (cdr l) (cons (car l) yes) no))
            (else (loop (cdr l) yes (cons (car l) no)))))))
(define (delete x l . eq)
  (let ((same? (if (pair? eq) (car eq) equal?)))
    (filter (lambda (y) (not (same? x y))) l)))
(define (delete-duplicates l . eq)
  (let ((same? (if (pair? eq) (car eq) equal?)))
    (let loop ((l (%check-list 'delete-duplicates l)) (acc '()) (c (%captures)))
      (cond ((null? l) (%map-result acc c))
            ((member (car l) acc same?) (loop (cdr l) acc c))
            (else (loop (cdr l) (cons (car l) acc) c))))))
(define (fold kons knil l . ls)
  (if (null? ls)
      (let loop ((l (%check-list 'fold l)) (acc knil))
        (if (pair? l) (loop (cdr l) (kons (car l) acc)) acc))
      (let loop ((ls (cons l ls)) (acc knil))
        (if (%any-null? ls) acc
            (loop (%cdrs ls) (apply kons (append (%cars ls) (list acc))))))))
(define (fold-left f acc l)
  (if (pair? l) (fold-left f (f acc (car l)) (cdr l)) acc))
;; The lists' elements, one list of them per position up to the end of the
;; shortest list, last position first.
(define (%rows-reversed ls)
  (let loop ((ls ls) (acc '()))
    (if (%any-null? ls) acc (loop (%cdrs ls) (cons (%cars ls) acc)))))
(define (fold-right kons knil l . ls)
  (if (null? ls)
      (let loop ((l (reverse (%check-list 'fold-right l))) (acc knil))
        (if (pair? l) (loop (cdr l) (kons (car l) acc)) acc))
      (let loop ((rows (%rows-reversed (cons l ls))) (acc knil))
        (if (pair? rows)
            (loop (cdr rows) (apply kons (append (car rows) (list acc))))
            acc))))
(define (reduce f ridentity l)
  (if (null? l) ridentity (fold f (car l) (cdr l))))
(define (concatenate lists)
  (if (not (list? lists)) (error "concatenate: expected a list of lists" lists))
  (if (null? lists)
      '()
      (let loop ((ls (cdr (reverse lists))) (acc (last lists)))
        (if (pair? ls) (loop (cdr ls) (append (car ls) acc)) acc))))
(define (append-map f l . ls)
  (concatenate (if (null? ls) (%map1 f l) (apply map f l ls))))
(define (filter-map f l . ls)
  (if (null? ls)
      (let loop ((l (%check-list 'filter-map l)) (acc '()) (c (%captures)))
        (if (null? l) (%map-result acc c)
            (let ((v (f (car l))))
              (loop (cdr l) (if v (cons v acc) acc) c))))
      (let loop ((ls (cons l ls)) (acc '()) (c (%captures)))
        (if (%any-null? ls) (%map-result acc c)
            (let ((v (apply f (%cars ls))))
              (loop (%cdrs ls) (if v (cons v acc) acc) c))))))
(define (find pred l)
  (let loop ((l l))
    (cond ((not (pair? l)) #f) ((pred (car l)) (car l)) (else (loop (cdr l))))))
(define (find-tail pred l)
  (let loop ((l l))
    (cond ((not (pair? l)) #f) ((pred (car l)) l) (else (loop (cdr l))))))
(define (any pred l . ls)
  (if (null? ls)
      (let loop ((l l))
        (cond ((not (pair? l)) #f) ((pred (car l)) => (lambda (v) v)) (else (loop (cdr l)))))
      (let loop ((ls (cons l ls)))
        (cond ((%any-null? ls) #f)
              ((apply pred (%cars ls)) => (lambda (v) v))
              (else (loop (%cdrs ls)))))))
(define (every pred l . ls)
  (if (null? ls)
      (let loop ((l l) (last #t))
        (if (pair? l)
            (let ((v (pred (car l)))) (if v (loop (cdr l) v) #f))
            last))
      (let loop ((ls (cons l ls)) (last #t))
        (if (%any-null? ls)
            last
            (let ((v (apply pred (%cars ls)))) (if v (loop (%cdrs ls) v) #f))))))
(define (count pred l . ls)
  (if (null? ls)
      (let loop ((l (%check-list 'count l)) (n 0)) (if (pair? l) (loop (cdr l) (if (pred (car l)) (+ n 1) n)) n))
      (let loop ((ls (cons l ls)) (n 0))
        (if (%any-null? ls)
            n
            (loop (%cdrs ls) (if (apply pred (%cars ls)) (+ n 1) n))))))
(define (list-index pred l . ls)
  (if (null? ls)
      (let loop ((l l) (i 0))
        (cond ((not (pair? l)) #f) ((pred (car l)) i) (else (loop (cdr l) (+ i 1)))))
      (let loop ((ls (cons l ls)) (i 0))
        (cond ((%any-null? ls) #f)
              ((apply pred (%cars ls)) i)
              (else (loop (%cdrs ls) (+ i 1)))))))
(define (iota n . rest)
  (let ((start (if (pair? rest) (car rest) 0))
        (step (if (and (pair? rest) (pair? (cdr rest))) (cadr rest) 1)))
    (let loop ((i (- n 1)) (acc '()))
      (if (< i 0) acc (loop (- i 1) (cons (+ start (* i step)) acc))))))
(define (first l) (car l))
(define (second l) (cadr l))
(define (third l) (caddr l))
(define (fourth l) (cadddr l))
(define (fifth l) (car (cddddr l)))
(define (sixth l) (cadr (cddddr l)))
(define (seventh l) (caddr (cddddr l)))
(define (eighth l) (cadddr (cddddr l)))
(define (ninth l) (car (cddddr (cddddr l))))
(define (tenth l) (cadr (cddddr (cddddr l))))
(define (last l) (car (last-pair l)))
(define (take l k) (if (= k 0) '() (cons (car l) (take (cdr l) (- k 1)))))
(define (drop l k) (list-tail l k))
(define (take-while pred l)
  (let loop ((l l) (acc '()) (c (%captures)))
    (if (and (pair? l) (pred (car l)))
        (loop (cdr l) (cons (car l) acc) c)
        (%map-result acc c))))
(define (drop-while pred l)
  (let loop ((l l))
    (if (and (pair? l) (pred (car l))) (loop (cdr l)) l)))
(define (list-set! l k v) (set-car! (list-tail l k) v))
(define (assert-procedure who f) (if (not (procedure? f)) (error (string-append (symbol->string who) ": expected a procedure") f)))

;;; Sorting. %sort-fast! sorts natively when less? is a primitive order on
;;; real numbers, characters or strings; otherwise a stable merge sort calls
;;; less?.

;; Merge two sorted chains of pairs by relinking them, stably (a's elements
;; first among equals); only pairs where the run switches lists are relinked.
;; (car a) or (car b) was just taken as the latest element of the result.
(define (%merge-from-a! less? a b)
  (let ((na (cdr a)))
    (cond ((null? na) (set-cdr! a b))
          ((less? (car b) (car na)) (set-cdr! a b) (%merge-from-b! less? na b))
          (else (%merge-from-a! less? na b)))))
(define (%merge-from-b! less? a b)
  (let ((nb (cdr b)))
    (cond ((null? nb) (set-cdr! b a))
          ((less? (car nb) (car a)) (%merge-from-b! less? a nb))
          (else (set-cdr! b a) (%merge-from-a! less? a nb)))))
(define (%merge! less? a b)
  (if (less? (car b) (car a))
      (begin (%merge-from-b! less? a b) b)
      (begin (%merge-from-a! less? a b) a)))

;; Sort the n > 0 pairs of the fresh list l by relinking them. The recursion
;; is log2(n) deep.
(define (%merge-sort! less? l n)
  (let ((rest l))
    (let sort ((n n))
      (cond ((= n 1)
             (let ((p rest)) (set! rest (cdr p)) (set-cdr! p '()) p))
            ((= n 2)
             (let* ((p rest) (q (cdr p)))
               (set! rest (cdr q))
               (if (less? (car q) (car p))
                   (begin (set-cdr! q p) (set-cdr! p '()) q)
                   (begin (set-cdr! q '()) p))))
            (else
             (let* ((h (quotient n 2)) (a (sort h)) (b (sort (- n h))))
               (%merge! less? a b)))))))

(define (%list-sort who less? l)
  (assert-procedure who less?)
  (if (not (list? l)) (error (string-append (symbol->string who) ": expected a list") l))
  (if (null? l)
      '()
      (let ((c (list-copy l)))
        (if (%sort-fast! less? c) c (%merge-sort! less? c (length c))))))

;; Sort the elements start..end of vector v in place.
(define (%vector-sort! who less? v start end)
  (assert-procedure who less?)
  (if (and (< start end) (not (%sort-fast! less? v start end)))
      (let loop ((i start) (l (%merge-sort! less? (vector->list v start end) (- end start))))
        (if (pair? l) (begin (vector-set! v i (car l)) (loop (+ i 1) (cdr l)))))))

;; The (start . end) of a vector procedure's optional [start [end]] arguments.
(define (%vector-range who v range)
  (if (not (vector? v)) (error (string-append (symbol->string who) ": expected a vector") v))
  (let* ((len (vector-length v))
         (start (if (pair? range) (car range) 0))
         (end (if (and (pair? range) (pair? (cdr range))) (cadr range) len)))
    (if (not (and (exact-integer? start) (exact-integer? end) (<= 0 start end len)))
        (error (string-append (symbol->string who) ": range out of bounds") start end len))
    (cons start end)))

(define (list-sort less? l) (%list-sort 'list-sort less? l))
(define (vector-sort less? v . range)
  (let* ((r (%vector-range 'vector-sort v range))
         (c (vector-copy v (car r) (cdr r))))
    (%vector-sort! 'vector-sort less? c 0 (vector-length c))
    c))
(define (vector-sort! less? v . range)
  (let ((r (%vector-range 'vector-sort! v range)))
    (%vector-sort! 'vector-sort! less? v (car r) (cdr r))))
(define (sort seq less?)
  (cond ((list? seq) (%list-sort 'sort less? seq))
        ((vector? seq)
         (let ((c (vector-copy seq)))
           (%vector-sort! 'sort less? c 0 (vector-length c))
           c))
        (else (error "sort: expected a list or a vector" seq))))
(define (sort! seq less?)
  (cond ((list? seq)
         (assert-procedure 'sort! less?)
         ;; In place: the sorted elements go back into seq's pairs.
         (if (and (pair? seq) (not (%sort-fast! less? seq)))
             (let loop ((p seq) (l (%merge-sort! less? (list-copy seq) (length seq))))
               (if (pair? p) (begin (set-car! p (car l)) (loop (cdr p) (cdr l))))))
         seq)
        ((vector? seq) (%vector-sort! 'sort! less? seq 0 (vector-length seq)) seq)
        (else (error "sort!: expected a list or a vector" seq))))

(define (caar x) (car (car x)))
(define (cadr x) (car (cdr x)))
(define (cdar x) (cdr (car x)))
(define (cddr x) (cdr (cdr x)))
(define (caaar x) (car (car (car x))))
(define (caadr x) (car (car (cdr x))))
(define (cadar x) (car (cdr (car x))))
(define (caddr x) (car (cdr (cdr x))))
(define (cdaar x) (cdr (car (car x))))
(define (cdadr x) (cdr (car (cdr x))))
(define (cddar x) (cdr (cdr (car x))))
(define (cdddr x) (cdr (cdr (cdr x))))
(define (cadddr x) (car (cdr (cdr (cdr x)))))
(define (cddddr x) (cdr (cdr (cdr (cdr x)))))
(define (caaaar x) (car (car (car (car x)))))
(define (caaadr x) (car (car (car (cdr x)))))
(define (caadar x) (car (car (cdr (car x)))))
(define (caaddr x) (car (car (cdr (cdr x)))))
(define (cadaar x) (car (cdr (car (car x)))))
(define (cadadr x) (car (cdr (car (cdr x)))))
(define (caddar x) (car (cdr (cdr (car x)))))
(define (cdaaar x) (cdr (car (car (car x)))))
(define (cdaadr x) (cdr (car (car (cdr x)))))
(define (cdadar x) (cdr (car (cdr (car x)))))
(define (cdaddr x) (cdr (car (cdr (cdr x)))))
(define (cddaar x) (cdr (cdr (car (car x)))))
(define (cddadr x) (cdr (cdr (car (cdr x)))))
(define (cdddar x) (cdr (cdr (cdr (car x)))))

;;; (scheme complex) for the real numbers imp has: a real is its own real
;;; part and has no imaginary part.
(define (real-part z) (if (not (number? z)) (error "real-part: expected a number" z)) z)
(define (imag-part z) (if (not (number? z)) (error "imag-part: expected a number" z)) 0)
(define (magnitude z) (abs z))
(define (angle z)
  (cond ((not (number? z)) (error "angle: expected a number" z))
        ((negative? z) (if (exact? z) (atan 0 -1) (atan 0.0 -1.0)))
        ((exact? z) 0)
        (else 0.0)))
(define (make-rectangular x y)
  (if (and (exact? y) (zero? y))
      x
      (error "make-rectangular: complex numbers are not supported" x y)))
(define (make-polar m a)
  (if (and (exact? a) (zero? a))
      m
      (error "make-polar: complex numbers are not supported" m a)))


;;; Vectors and strings with procedures

(define (vector-map f v . vs)
  (list->vector (apply map f (vector->list v) (map vector->list vs))))
(define (vector-for-each f v . vs)
  (apply for-each f (vector->list v) (map vector->list vs)))
(define (string-map f s . ss)
  (list->string (apply map f (string->list s) (map string->list ss))))
(define (string-for-each f s . ss)
  (apply for-each f (string->list s) (map string->list ss)))

;;; Hash tables (SRFI-69 names)

(define %missing (list 'missing))
(define (hash-table-ref table key . fail)
  (let ((v (hash-table-ref/default table key %missing)))
    (cond ((not (eq? v %missing))
           (if (and (pair? fail) (pair? (cdr fail))) ((cadr fail) v) v))
          ((pair? fail) ((car fail)))
          (else (error "hash-table-ref: key not found" key)))))
;; (hash-table-update! table key f [failure [success]]): SRFI-69's, with
;; SRFI-125's success procedure.
(define (hash-table-update! table key f . more)
  (hash-table-set! table key (f (apply hash-table-ref table key more))))
(define (hash-table-update!/default table key f default)
  (hash-table-set! table key (f (hash-table-ref/default table key default))))
(define (hash-table-walk table f)
  (for-each (lambda (p) (f (car p) (cdr p))) (hash-table->alist table)))
;; (hash-table-fold kons knil table), SRFI-125's order, or SRFI-69's
;; (hash-table-fold table kons knil).
(define (hash-table-fold a b c)
  (let ((table (if (hash-table? a) a c))
        (kons (if (hash-table? a) b a))
        (knil (if (hash-table? a) c b)))
    (fold (lambda (p acc) (kons (car p) (cdr p) acc)) knil (hash-table->alist table))))
;; (alist->hash-table alist [equivalence [hash]]): the first association
;; of a key wins.
(define (alist->hash-table alist . args)
  (let ((table (apply make-hash-table args)))
    (let loop ((l alist))
      (cond ((and (pair? l) (pair? (car l)))
             (if (not (hash-table-contains? table (caar l)))
                 (hash-table-set! table (caar l) (cdar l)))
             (loop (cdr l)))
            ((not (null? l))
             (error "alist->hash-table: expected an association list" alist))))
    table))
;; Add table2's associations to table1 (replacing table1's for the same
;; key) and return table1.
(define (hash-table-merge! table1 table2)
  (if (not (hash-table? table1)) (error "hash-table-merge!: expected a hash table" table1))
  (if (not (hash-table? table2)) (error "hash-table-merge!: expected a hash table" table2))
  (for-each (lambda (p) (hash-table-set! table1 (car p) (cdr p))) (hash-table->alist table2))
  table1)

;; Tables of a Scheme equivalence or hash function (kind GENERIC in
;; prim/hash.rs, which hands their lookups and updates here): the same
;; buckets as the native tables, chains of entries #(key value next).
(define (%generic-index t key buckets)
  (let ((h ((hash-table-hash-function t) key)))
    (if (not (and (exact-integer? h) (>= h 0)))
        (error "hash table: the hash function gave what is not a non-negative exact integer" h))
    (modulo h (vector-length buckets))))
(define (%generic-entry t key)
  (let ((b (%hash-table-buckets t)) (same? (hash-table-equivalence-function t)))
    (let loop ((e (vector-ref b (%generic-index t key b))))
      (cond ((null? e) #f)
            ((same? (vector-ref e 0) key) e)
            (else (loop (vector-ref e 2)))))))
(define (%generic-ref/default t key default)
  (let ((e (%generic-entry t key))) (if e (vector-ref e 1) default)))
(define (%generic-contains? t key) (if (%generic-entry t key) #t #f))
(define (%generic-set! t key value)
  (let ((e (%generic-entry t key)))
    (if e
        (vector-set! e 1 value)
        (let ((n (hash-table-count t)))
          (if (>= n (vector-length (%hash-table-buckets t))) (%generic-grow! t))
          (let* ((b (%hash-table-buckets t)) (i (%generic-index t key b)))
            (vector-set! b i (vector key value (vector-ref b i)))
            (%hash-table-set-buckets! t b (+ n 1)))))))
(define (%generic-grow! t)
  (let* ((old (%hash-table-buckets t))
         (new (make-vector (* 2 (vector-length old)) '())))
    (do ((i 0 (+ i 1))) ((= i (vector-length old)))
      (let loop ((e (vector-ref old i)))
        (if (not (null? e))
            (let ((next (vector-ref e 2)) (j (%generic-index t (vector-ref e 0) new)))
              (vector-set! e 2 (vector-ref new j))
              (vector-set! new j e)
              (loop next)))))
    (%hash-table-set-buckets! t new (hash-table-count t))))
(define (%generic-delete! t key)
  (let* ((b (%hash-table-buckets t))
         (i (%generic-index t key b))
         (same? (hash-table-equivalence-function t)))
    (let loop ((prev #f) (e (vector-ref b i)))
      (cond ((null? e) 0)
            ((same? (vector-ref e 0) key)
             (if prev (vector-set! prev 2 (vector-ref e 2)) (vector-set! b i (vector-ref e 2)))
             (%hash-table-set-buckets! t b (- (hash-table-count t) 1))
             1)
            (else (loop e (vector-ref e 2)))))))
(define (%generic-copy t . mutable)
  (let ((c (make-hash-table (hash-table-equivalence-function t) (hash-table-hash-function t))))
    (for-each (lambda (p) (%generic-set! c (car p) (cdr p))) (hash-table->alist t))
    c))

;;; File and output helpers

(define (call-with-input-file path proc)
  (let ((port (open-input-file path)))
    (call-with-values (lambda () (proc port))
      (lambda vals (close-port port) (apply values vals)))))
(define (call-with-output-file path proc)
  (let ((port (open-output-file path)))
    (call-with-values (lambda () (proc port))
      (lambda vals (close-port port) (apply values vals)))))
(define (with-input-from-file path thunk)
  (let ((port (open-input-file path)))
    (call-with-values
        (lambda () (parameterize ((current-input-port port)) (thunk)))
      (lambda vals (close-port port) (apply values vals)))))
(define (with-output-to-file path thunk)
  (let ((port (open-output-file path)))
    (call-with-values
        (lambda () (parameterize ((current-output-port port)) (thunk)))
      (lambda vals (close-port port) (apply values vals)))))

(define (call-with-output-string proc)
  (let ((port (open-output-string)))
    (proc port)
    (get-output-string port)))
(define (with-output-to-string thunk)
  (let ((port (open-output-string)))
    (parameterize ((current-output-port port)) (thunk))
    (get-output-string port)))
(define (call-with-port port proc)
  (call-with-values (lambda () (proc port))
    (lambda vals (close-port port) (apply values vals))))
(define (format dest fmt . args)
  (let ((s (apply %format fmt args)))
    (cond ((eq? dest #f) s)
          ((eq? dest #t) (display s))
          (else (display s dest)))))

(define (floor/ n d) (values (floor-quotient n d) (floor-remainder n d)))
(define (truncate/ n d) (values (truncate-quotient n d) (truncate-remainder n d)))
(define (exact-integer-sqrt n)
  (let ((s (%exact-integer-sqrt n))) (values s (- n (* s s)))))
