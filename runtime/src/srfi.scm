;; SRFIs written in Scheme, built in like the rest (boot loads this file
;; after boot.scm, threads.scm, net.scm and os.scm): the rest of SRFI-1,
;; SRFI-2 (and-let*), SRFI-26 (cut, cute), SRFI-111 (boxes), SRFI-151 past
;; its core operations (prim/bits.rs), and SRFI-133 past R7RS's vectors.

;; ---- SRFI-1: lists ------------------------------------------------------

(define (%check-count who k)
  (if (not (and (exact-integer? k) (>= k 0)))
      (error (string-append who ": expected a non-negative exact integer") k)))

(define (%check-proc who p)
  (if (not (procedure? p)) (error (string-append who ": expected a procedure") p)))

(define (xcons a b) (cons b a))

(define (list-tabulate n proc)
  (%check-count "list-tabulate" n)
  (%check-proc "list-tabulate" proc)
  (let loop ((i (- n 1)) (acc '()))
    (if (< i 0) acc (loop (- i 1) (cons (proc i) acc)))))

(define (circular-list x . more)
  (let ((l (cons x more)))
    (set-cdr! (last-pair l) l)
    l))

(define (proper-list? x) (list? x))

;; Walk x with a pointer at twice the speed of another: %circular if they
;; meet, else what the list ends in.
(define %circular (list 'circular))
(define (%list-end x)
  (let loop ((fast x) (slow x))
    (cond ((not (pair? fast)) fast)
          ((not (pair? (cdr fast))) (cdr fast))
          (else (let ((fast (cddr fast)) (slow (cdr slow)))
                  (if (eq? fast slow) %circular (loop fast slow)))))))

(define (circular-list? x)
  (eq? (%list-end x) %circular))

(define (dotted-list? x)
  (let ((end (%list-end x)))
    (not (or (null? end) (eq? end %circular)))))

(define (not-pair? x) (not (pair? x)))

(define (null-list? l)
  (cond ((pair? l) #f)
        ((null? l) #t)
        (else (error "null-list?: expected a proper or circular list" l))))

(define (list= elt= . lists)
  (%check-proc "list=" elt=)
  (let outer ((lists lists))
    (or (null? lists) (null? (cdr lists))
        (and (let inner ((a (car lists)) (b (cadr lists)))
               (cond ((null? a) (null? b))
                     ((null? b) #f)
                     (else (and (elt= (car a) (car b)) (inner (cdr a) (cdr b))))))
             (outer (cdr lists))))))

(define (car+cdr p) (values (car p) (cdr p)))

(define (take-right lis k)
  (%check-count "take-right" k)
  (let loop ((lag lis) (lead (drop lis k)))
    (if (pair? lead) (loop (cdr lag) (cdr lead)) lag)))

(define (drop-right lis k)
  (%check-count "drop-right" k)
  (let loop ((lag lis) (lead (drop lis k)) (acc '()))
    (if (pair? lead)
        (loop (cdr lag) (cdr lead) (cons (car lag) acc))
        (reverse acc))))

(define (split-at x i) (values (take x i) (drop x i)))

(define (length+ x)
  (if (eq? (%list-end x) %circular)
      #f
      (let loop ((x x) (n 0)) (if (pair? x) (loop (cdr x) (+ n 1)) n))))

(define (append-reverse rev-head tail)
  (let loop ((l rev-head) (acc tail))
    (if (pair? l) (loop (cdr l) (cons (car l) acc)) acc)))

(define (zip l . more) (apply map list l more))

(define (unzip1 l) (map car l))
(define (unzip2 l) (values (map car l) (map cadr l)))
(define (unzip3 l) (values (map car l) (map cadr l) (map caddr l)))
(define (unzip4 l) (values (map car l) (map cadr l) (map caddr l) (map cadddr l)))
(define (unzip5 l)
  (values (map car l) (map cadr l) (map caddr l) (map cadddr l)
          (map (lambda (x) (car (cddddr x))) l)))

(define (unfold stop? mapper successor seed . tail-gen)
  (let loop ((seed seed) (acc '()))
    (if (stop? seed)
        (append-reverse acc (if (pair? tail-gen) ((car tail-gen) seed) '()))
        (loop (successor seed) (cons (mapper seed) acc)))))

(define (unfold-right stop? mapper successor seed . tail)
  (let loop ((seed seed) (acc (if (pair? tail) (car tail) '())))
    (if (stop? seed) acc (loop (successor seed) (cons (mapper seed) acc)))))

;; The lists' pairs side by side while none has run out, else #f.
(define (%cdrs lists)
  (if (any null? lists) #f (map cdr lists)))

(define (pair-fold kons knil lis . more)
  (%check-proc "pair-fold" kons)
  (if (null? more)
      (let loop ((l lis) (acc knil))
        (if (pair? l)
            (let ((next (cdr l))) (loop next (kons l acc)))
            acc))
      (let loop ((ls (cons lis more)) (acc knil))
        (if (any (lambda (l) (not (pair? l))) ls)
            acc
            (let ((next (map cdr ls)))
              (loop next (apply kons (append ls (list acc)))))))))

(define (pair-fold-right kons knil lis . more)
  (%check-proc "pair-fold-right" kons)
  (let ((ls (cons lis more)))
    (let loop ((ls ls) (stack '()))
      (if (any (lambda (l) (not (pair? l))) ls)
          (let unwind ((stack stack) (acc knil))
            (if (null? stack) acc
                (unwind (cdr stack) (apply kons (append (car stack) (list acc))))))
          (loop (map cdr ls) (cons ls stack))))))

(define (reduce-right f ridentity lis)
  (%check-proc "reduce-right" f)
  (if (null? lis)
      ridentity
      (let ((rev (reverse lis)))
        (let walk ((l (cdr rev)) (acc (car rev)))
          (if (null? l) acc (walk (cdr l) (f (car l) acc)))))))

(define (pair-for-each proc lis . more)
  (%check-proc "pair-for-each" proc)
  (let loop ((ls (cons lis more)))
    (if (not (any (lambda (l) (not (pair? l))) ls))
        (let ((next (map cdr ls)))
          (apply proc ls)
          (loop next)))))

(define (map-in-order f lis . more)
  (%check-proc "map-in-order" f)
  (let loop ((ls (cons lis more)) (acc '()))
    (if (any (lambda (l) (not (pair? l))) ls)
        (reverse acc)
        (let ((x (apply f (map car ls))))
          (loop (map cdr ls) (cons x acc))))))

(define (span pred lis)
  (%check-proc "span" pred)
  (let loop ((l lis) (acc '()))
    (if (and (pair? l) (pred (car l)))
        (loop (cdr l) (cons (car l) acc))
        (values (reverse acc) l))))

(define (break pred lis) (span (lambda (x) (not (pred x))) lis))

(define (alist-cons key datum alist) (cons (cons key datum) alist))

(define (alist-copy alist)
  (map (lambda (e) (if (pair? e) (cons (car e) (cdr e)) e)) alist))

(define (alist-delete key alist . maybe=)
  (let ((= (if (pair? maybe=) (car maybe=) equal?)))
    (remove (lambda (e) (= key (car e))) alist)))

;; The linear-update variants may reuse their arguments' pairs; these do
;; not (SRFI-1 allows either).
(define take! take)
(define drop-right! drop-right)
(define split-at! split-at)
(define append! append)
(define concatenate! concatenate)
(define append-reverse! append-reverse)
(define append-map! append-map)
(define filter! filter)
(define partition! partition)
(define remove! remove)
(define take-while! take-while)
(define span! span)
(define break! break)
(define delete! delete)
(define delete-duplicates! delete-duplicates)
(define alist-delete! alist-delete)

;; Sets as lists, compared with `=` (called with an element of the
;; earlier list first).
(define (%lset-member? = x lis)
  (let loop ((l lis))
    (and (pair? l) (or (= (car l) x) (loop (cdr l))))))

(define (lset<= = . lists)
  (%check-proc "lset<=" =)
  (let loop ((lists lists))
    (or (null? lists) (null? (cdr lists))
        (and (every (lambda (x) (%lset-member? = x (cadr lists))) (car lists))
             (loop (cdr lists))))))

(define (lset= = . lists)
  (%check-proc "lset=" =)
  (let loop ((lists lists))
    (or (null? lists) (null? (cdr lists))
        (and (every (lambda (x) (%lset-member? = x (cadr lists))) (car lists))
             (every (lambda (x) (%lset-member? = x (car lists))) (cadr lists))
             (loop (cdr lists))))))

(define (lset-adjoin = lis . elts)
  (%check-proc "lset-adjoin" =)
  (fold (lambda (x acc) (if (%lset-member? = x acc) acc (cons x acc))) lis elts))

(define (lset-union = . lists)
  (%check-proc "lset-union" =)
  (fold (lambda (lis acc)
          (cond ((null? acc) lis)
                ((eq? lis acc) acc)
                (else (fold (lambda (x acc) (if (%lset-member? = x acc) acc (cons x acc)))
                            acc lis))))
        '() lists))

(define (lset-intersection = lis . more)
  (%check-proc "lset-intersection" =)
  (filter (lambda (x) (every (lambda (m) (%lset-member? = x m)) more)) lis))

(define (lset-difference = lis . more)
  (%check-proc "lset-difference" =)
  (filter (lambda (x) (not (any (lambda (m) (%lset-member? = x m)) more))) lis))

(define (lset-xor = . lists)
  (%check-proc "lset-xor" =)
  (fold (lambda (b a)
          (append (lset-difference = a b) (lset-difference = b a)))
        '() lists))

(define (lset-diff+intersection = lis . more)
  (%check-proc "lset-diff+intersection" =)
  (partition (lambda (x) (not (any (lambda (m) (%lset-member? = x m)) more))) lis))

(define lset-union! lset-union)
(define lset-intersection! lset-intersection)
(define lset-difference! lset-difference)
(define lset-xor! lset-xor)
(define lset-diff+intersection! lset-diff+intersection)

;; ---- SRFI-2: and-let* -----------------------------------------------------

(define-syntax and-let*
  (syntax-rules ()
    ((_ ()) #t)
    ((_ () body ...) (let () body ...))
    ;; A last clause without a body gives its value.
    ((_ ((var expr))) (let ((var expr)) var))
    ((_ ((expr))) expr)
    ((_ (var)) var)
    ((_ ((var expr) clause ...) body ...)
     (let ((var expr)) (if var (and-let* (clause ...) body ...) #f)))
    ((_ ((expr) clause ...) body ...)
     (if expr (and-let* (clause ...) body ...) #f))
    ((_ (var clause ...) body ...)
     (if var (and-let* (clause ...) body ...) #f))))

;; ---- SRFI-26: cut and cute ------------------------------------------------

;; Each walks the positions with itself, behind a keyword no program
;; writes: (cut #:walk (slot ...) (position ...) more ...).
(define-syntax cut
  (syntax-rules (<> <...>)
    ((_ #:walk (slot ...) (position ...))
     (lambda (slot ...) (position ...)))
    ((_ #:walk (slot ...) (position ...) <...>)
     (lambda (slot ... . rest) (apply position ... rest)))
    ((_ #:walk (slot ...) (position ...) <> . more)
     (cut #:walk (slot ... x) (position ... x) . more))
    ((_ #:walk (slot ...) (position ...) expr . more)
     (cut #:walk (slot ...) (position ... expr) . more))
    ((_ . positions) (cut #:walk () () . positions))))

;; The expressions that are not slots are evaluated once, when the
;; procedure is made.
(define-syntax cute
  (syntax-rules (<> <...>)
    ((_ #:walk (slot ...) (binding ...) (position ...))
     (let (binding ...) (lambda (slot ...) (position ...))))
    ((_ #:walk (slot ...) (binding ...) (position ...) <...>)
     (let (binding ...) (lambda (slot ... . rest) (apply position ... rest))))
    ((_ #:walk (slot ...) (binding ...) (position ...) <> . more)
     (cute #:walk (slot ... x) (binding ...) (position ... x) . more))
    ((_ #:walk (slot ...) (binding ...) (position ...) expr . more)
     (cute #:walk (slot ...) (binding ... (x expr)) (position ... x) . more))
    ((_ . positions) (cute #:walk () () () . positions))))

;; ---- SRFI-111: boxes ------------------------------------------------------

(define-record-type <box>
  (box value)
  box?
  (value unbox set-box!))

;; ---- SRFI-151: bitwise operations, past the core --------------------------

(define (%check-index who k)
  (if (not (and (exact-integer? k) (>= k 0)))
      (error (string-append who ": expected a non-negative exact integer") k)))

(define (%check-field who start end)
  (%check-index who start)
  (%check-index who end)
  (if (< end start) (error (string-append who ": the field ends before it starts") start end)))

(define (%mask len) (- (arithmetic-shift 1 len) 1))

(define (bitwise-nand i j) (bitwise-not (bitwise-and i j)))
(define (bitwise-nor i j) (bitwise-not (bitwise-ior i j)))
(define (bitwise-andc1 i j) (bitwise-and (bitwise-not i) j))
(define (bitwise-andc2 i j) (bitwise-and i (bitwise-not j)))
(define (bitwise-orc1 i j) (bitwise-ior (bitwise-not i) j))
(define (bitwise-orc2 i j) (bitwise-ior i (bitwise-not j)))

(define (bitwise-if mask i j)
  (bitwise-ior (bitwise-and mask i) (bitwise-and (bitwise-not mask) j)))

(define (copy-bit index i set?)
  (%check-index "copy-bit" index)
  (if set?
      (bitwise-ior i (arithmetic-shift 1 index))
      (bitwise-and i (bitwise-not (arithmetic-shift 1 index)))))

(define (bit-swap index1 index2 i)
  (%check-index "bit-swap" index1)
  (%check-index "bit-swap" index2)
  (let ((b1 (bit-set? index1 i)) (b2 (bit-set? index2 i)))
    (copy-bit index2 (copy-bit index1 i b2) b1)))

(define (any-bit-set? test-bits i) (not (zero? (bitwise-and test-bits i))))
(define (every-bit-set? test-bits i) (= test-bits (bitwise-and test-bits i)))

(define (bit-field i start end)
  (%check-field "bit-field" start end)
  (bitwise-and (arithmetic-shift i (- start)) (%mask (- end start))))

(define (bit-field-any? i start end)
  (%check-field "bit-field-any?" start end)
  (not (zero? (bit-field i start end))))

(define (bit-field-every? i start end)
  (%check-field "bit-field-every?" start end)
  (= (bit-field i start end) (%mask (- end start))))

(define (bit-field-clear i start end)
  (%check-field "bit-field-clear" start end)
  (bitwise-and i (bitwise-not (arithmetic-shift (%mask (- end start)) start))))

(define (bit-field-set i start end)
  (%check-field "bit-field-set" start end)
  (bitwise-ior i (arithmetic-shift (%mask (- end start)) start)))

(define (bit-field-replace dest source start end)
  (%check-field "bit-field-replace" start end)
  (let ((m (arithmetic-shift (%mask (- end start)) start)))
    (bitwise-if m (arithmetic-shift source start) dest)))

(define (bit-field-replace-same dest source start end)
  (%check-field "bit-field-replace-same" start end)
  (bitwise-if (arithmetic-shift (%mask (- end start)) start) source dest))

(define (bit-field-rotate i count start end)
  (%check-field "bit-field-rotate" start end)
  (if (not (exact-integer? count)) (error "bit-field-rotate: expected an exact integer" count))
  (let ((width (- end start)))
    (if (<= width 0)
        i
        (let* ((count (modulo count width))
               (field (bit-field i start end))
               (rotated (bitwise-ior (bitwise-and (arithmetic-shift field count) (%mask width))
                                     (arithmetic-shift field (- count width)))))
          (bit-field-replace i rotated start end)))))

(define (bit-field-reverse i start end)
  (%check-field "bit-field-reverse" start end)
  (let loop ((k 0) (field (bit-field i start end)) (acc 0))
    (if (= k (- end start))
        (bit-field-replace i acc start end)
        (loop (+ k 1) (arithmetic-shift field -1)
              (bitwise-ior (arithmetic-shift acc 1) (bitwise-and field 1))))))

(define (bits->list i . len)
  (let ((n (if (pair? len) (car len) (integer-length i))))
    (%check-index "bits->list" n)
    (let loop ((k (- n 1)) (acc '()))
      (if (< k 0) acc (loop (- k 1) (cons (bit-set? k i) acc))))))

(define (bits->vector i . len) (list->vector (apply bits->list i len)))

(define (list->bits lis)
  (let loop ((l lis) (k 0) (acc 0))
    (cond ((null? l) acc)
          ((not (boolean? (car l))) (error "list->bits: expected booleans" (car l)))
          (else (loop (cdr l) (+ k 1) (if (car l) (bitwise-ior acc (arithmetic-shift 1 k)) acc))))))

(define (vector->bits v) (list->bits (vector->list v)))

(define (bits . bools) (list->bits bools))

(define (bitwise-fold proc seed i)
  (let ((n (integer-length i)))
    (let loop ((k 0) (acc seed))
      (if (= k n) acc (loop (+ k 1) (proc (bit-set? k i) acc))))))

(define (bitwise-for-each proc i)
  (let ((n (integer-length i)))
    (let loop ((k 0))
      (if (< k n) (begin (proc (bit-set? k i)) (loop (+ k 1)))))))

(define (bitwise-unfold stop? mapper successor seed)
  (let loop ((state seed) (k 0) (acc 0))
    (if (stop? state)
        acc
        (loop (successor state) (+ k 1)
              (if (mapper state) (bitwise-ior acc (arithmetic-shift 1 k)) acc)))))

(define (make-bitwise-generator i)
  (let ((k 0))
    (lambda ()
      (let ((b (bit-set? k i)))
        (set! k (+ k 1))
        b))))

;; ---- SRFI-133: vectors ------------------------------------------------------

;; The range [start, end) of v that the optional arguments name, checked.
(define (%vector-range who v opt)
  (if (not (vector? v)) (error (string-append who ": expected a vector") v))
  (let* ((len (vector-length v))
         (start (if (pair? opt) (car opt) 0))
         (end (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) len)))
    (if (not (and (exact-integer? start) (exact-integer? end) (<= 0 start end len)))
        (error (string-append who ": bad range for a vector of length "
                              (number->string len))
               start end))
    (values start end)))

;; The shortest length of the vectors vs, each checked.
(define (%vectors-length who vs)
  (for-each (lambda (v) (if (not (vector? v)) (error (string-append who ": expected a vector") v)))
            vs)
  (apply min (map vector-length vs)))

(define (%vector-refs vs i) (map (lambda (v) (vector-ref v i)) vs))

(define (vector-unfold f len . seeds)
  (%check-count "vector-unfold" len)
  (let ((v (make-vector len)))
    (apply vector-unfold! f v 0 len seeds)
    v))

(define (vector-unfold-right f len . seeds)
  (%check-count "vector-unfold-right" len)
  (let ((v (make-vector len)))
    (apply vector-unfold-right! f v 0 len seeds)
    v))

;; Fill v[i] for each i in order from f's first value; f's other values
;; are the next seeds.
(define (%unfold-into! who f v indexes seeds)
  (%check-proc who f)
  (let loop ((is indexes) (seeds seeds))
    (if (pair? is)
        (call-with-values (lambda () (apply f (car is) seeds))
          (lambda (x . next)
            (vector-set! v (car is) x)
            (loop (cdr is) next))))))

(define (vector-unfold! f v start end . seeds)
  (%vector-range "vector-unfold!" v (list start end))
  (%unfold-into! "vector-unfold!" f v (iota (- end start) start) seeds))

(define (vector-unfold-right! f v start end . seeds)
  (%vector-range "vector-unfold-right!" v (list start end))
  (%unfold-into! "vector-unfold-right!" f v (reverse (iota (- end start) start)) seeds))

(define (vector-reverse-copy v . opt)
  (call-with-values (lambda () (%vector-range "vector-reverse-copy" v opt))
    (lambda (start end)
      (let ((r (make-vector (- end start))))
        (do ((i start (+ i 1)) (j (- end start 1) (- j 1))) ((= i end) r)
          (vector-set! r j (vector-ref v i)))))))

(define (vector-concatenate vs) (apply vector-append vs))

(define (vector-append-subvectors . args)
  (let loop ((args args) (parts '()))
    (cond ((null? args) (apply vector-append (reverse parts)))
          ((not (and (pair? (cdr args)) (pair? (cddr args))))
           (error "vector-append-subvectors: expected vector, start, end triples" args))
          (else (loop (cdddr args)
                      (cons (vector-copy (car args) (cadr args) (caddr args)) parts))))))

(define (vector-empty? v)
  (if (not (vector? v)) (error "vector-empty?: expected a vector" v))
  (= 0 (vector-length v)))

(define (vector= elt=? . vs)
  (%check-proc "vector=" elt=?)
  (let loop ((vs vs))
    (or (null? vs) (null? (cdr vs))
        (let ((a (car vs)) (b (cadr vs)))
          (and (= (vector-length a) (vector-length b))
               (let each ((i 0))
                 (or (= i (vector-length a))
                     (and (elt=? (vector-ref a i) (vector-ref b i)) (each (+ i 1)))))
               (loop (cdr vs)))))))

(define (vector-fold kons knil v . more)
  (%check-proc "vector-fold" kons)
  (let ((vs (cons v more)))
    (let ((n (%vectors-length "vector-fold" vs)))
      (let loop ((i 0) (acc knil))
        (if (= i n) acc (loop (+ i 1) (apply kons acc (%vector-refs vs i))))))))

(define (vector-fold-right kons knil v . more)
  (%check-proc "vector-fold-right" kons)
  (let ((vs (cons v more)))
    (let ((n (%vectors-length "vector-fold-right" vs)))
      (let loop ((i (- n 1)) (acc knil))
        (if (< i 0) acc (loop (- i 1) (apply kons acc (%vector-refs vs i))))))))

(define (vector-map! f v . more)
  (%check-proc "vector-map!" f)
  (let* ((vs (cons v more)) (n (%vectors-length "vector-map!" vs)))
    (do ((i 0 (+ i 1))) ((= i n))
      (vector-set! v i (apply f (%vector-refs vs i))))))

(define (vector-count pred v . more)
  (%check-proc "vector-count" pred)
  (let* ((vs (cons v more)) (n (%vectors-length "vector-count" vs)))
    (let loop ((i 0) (c 0))
      (if (= i n) c (loop (+ i 1) (if (apply pred (%vector-refs vs i)) (+ c 1) c))))))

(define (vector-cumulate f knil v)
  (%check-proc "vector-cumulate" f)
  (let* ((n (%vectors-length "vector-cumulate" (list v))) (r (make-vector n)))
    (let loop ((i 0) (acc knil))
      (if (= i n)
          r
          (let ((acc (f acc (vector-ref v i))))
            (vector-set! r i acc)
            (loop (+ i 1) acc))))))

(define (vector-index pred v . more)
  (%check-proc "vector-index" pred)
  (let* ((vs (cons v more)) (n (%vectors-length "vector-index" vs)))
    (let loop ((i 0))
      (cond ((= i n) #f) ((apply pred (%vector-refs vs i)) i) (else (loop (+ i 1)))))))

(define (vector-index-right pred v . more)
  (%check-proc "vector-index-right" pred)
  (let* ((vs (cons v more)) (n (%vectors-length "vector-index-right" vs)))
    (let loop ((i (- n 1)))
      (cond ((< i 0) #f) ((apply pred (%vector-refs vs i)) i) (else (loop (- i 1)))))))

(define (vector-skip pred v . more)
  (apply vector-index (lambda xs (not (apply pred xs))) v more))

(define (vector-skip-right pred v . more)
  (apply vector-index-right (lambda xs (not (apply pred xs))) v more))

(define (vector-binary-search v value cmp . opt)
  (%check-proc "vector-binary-search" cmp)
  (call-with-values (lambda () (%vector-range "vector-binary-search" v opt))
    (lambda (start end)
      (let loop ((lo start) (hi end))
        (and (< lo hi)
             (let* ((mid (quotient (+ lo hi) 2)) (c (cmp (vector-ref v mid) value)))
               (cond ((zero? c) mid)
                     ((negative? c) (loop (+ mid 1) hi))
                     (else (loop lo mid)))))))))

(define (vector-any pred v . more)
  (%check-proc "vector-any" pred)
  (let* ((vs (cons v more)) (n (%vectors-length "vector-any" vs)))
    (let loop ((i 0))
      (and (< i n) (or (apply pred (%vector-refs vs i)) (loop (+ i 1)))))))

(define (vector-every pred v . more)
  (%check-proc "vector-every" pred)
  (let* ((vs (cons v more)) (n (%vectors-length "vector-every" vs)))
    (let loop ((i 0) (last #t))
      (if (= i n)
          last
          (let ((r (apply pred (%vector-refs vs i))))
            (and r (loop (+ i 1) r)))))))

(define (vector-partition pred v)
  (%check-proc "vector-partition" pred)
  (let* ((n (%vectors-length "vector-partition" (list v)))
         (yes (vector-count pred v))
         (r (make-vector n)))
    (let loop ((i 0) (y 0) (no yes))
      (if (= i n)
          (values r yes)
          (let ((x (vector-ref v i)))
            (if (pred x)
                (begin (vector-set! r y x) (loop (+ i 1) (+ y 1) no))
                (begin (vector-set! r no x) (loop (+ i 1) y (+ no 1)))))))))

(define (vector-swap! v i j)
  (let ((x (vector-ref v i)))
    (vector-set! v i (vector-ref v j))
    (vector-set! v j x)))

(define (vector-reverse! v . opt)
  (call-with-values (lambda () (%vector-range "vector-reverse!" v opt))
    (lambda (start end)
      (let loop ((i start) (j (- end 1)))
        (if (< i j) (begin (vector-swap! v i j) (loop (+ i 1) (- j 1))))))))

(define (vector-reverse-copy! to at from . opt)
  (call-with-values (lambda () (%vector-range "vector-reverse-copy!" from opt))
    (lambda (start end)
      (%vector-range "vector-reverse-copy!" to (list at (+ at (- end start))))
      (vector-copy! to at (vector-reverse-copy from start end)))))

(define (reverse-vector->list v . opt)
  (call-with-values (lambda () (%vector-range "reverse-vector->list" v opt))
    (lambda (start end)
      (let loop ((i start) (acc '()))
        (if (= i end) acc (loop (+ i 1) (cons (vector-ref v i) acc)))))))

(define (reverse-list->vector lis) (list->vector (reverse lis)))
