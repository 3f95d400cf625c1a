;; SRFIs written in Scheme, built in like the rest (boot loads this file
;; after boot.scm, threads.scm, net.scm and os.scm): the rest of SRFI-1,
;; SRFI-2 (and-let*), SRFI-26 (cut, cute), SRFI-111 (boxes), SRFI-151 past
;; its core operations (prim/bits.rs), SRFI-133 past R7RS's vectors,
;; SRFI-143 (fixnums), SRFI-64 (test suites), SRFI-158 (generators and
;; accumulators) and SRFI-27 (random numbers).

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
(define (%vector-bounds who v opt)
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
  (%vector-bounds "vector-unfold!" v (list start end))
  (%unfold-into! "vector-unfold!" f v (iota (- end start) start) seeds))

(define (vector-unfold-right! f v start end . seeds)
  (%vector-bounds "vector-unfold-right!" v (list start end))
  (%unfold-into! "vector-unfold-right!" f v (reverse (iota (- end start) start)) seeds))

(define (vector-reverse-copy v . opt)
  (call-with-values (lambda () (%vector-bounds "vector-reverse-copy" v opt))
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
  (call-with-values (lambda () (%vector-bounds "vector-binary-search" v opt))
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
  (call-with-values (lambda () (%vector-bounds "vector-reverse!" v opt))
    (lambda (start end)
      (let loop ((i start) (j (- end 1)))
        (if (< i j) (begin (vector-swap! v i j) (loop (+ i 1) (- j 1))))))))

(define (vector-reverse-copy! to at from . opt)
  (call-with-values (lambda () (%vector-bounds "vector-reverse-copy!" from opt))
    (lambda (start end)
      (%vector-bounds "vector-reverse-copy!" to (list at (+ at (- end start))))
      (vector-copy! to at (vector-reverse-copy from start end)))))

(define (reverse-vector->list v . opt)
  (call-with-values (lambda () (%vector-bounds "reverse-vector->list" v opt))
    (lambda (start end)
      (let loop ((i start) (acc '()))
        (if (= i end) acc (loop (+ i 1) (cons (vector-ref v i) acc)))))))

(define (reverse-list->vector lis) (list->vector (reverse lis)))

;; ---- SRFI-143: fixnums ----------------------------------------------------
;; imp's fixnums are the exact integers in [-2^62, 2^62 - 1]. An argument
;; that is not one, or a result that would not be one, is an error that
;; says so (the R6RS model; the SRFI allows any behaviour).

(define fx-width 63)
(define fx-greatest (- (expt 2 62) 1))
(define fx-least (- (expt 2 62)))

(define (fixnum? x) (and (exact-integer? x) (<= fx-least x fx-greatest)))

(define (%fx who x)
  (if (fixnum? x) x (error (string-append who ": expected a fixnum") x)))

(define (%fxs who xs) (for-each (lambda (x) (%fx who x)) xs) xs)

(define (%fx-result who r)
  (if (fixnum? r) r (error (string-append who ": the result is not a fixnum") r)))

(define (fx=? i . more) (apply = (%fxs "fx=?" (cons i more))))
(define (fx<? i . more) (apply < (%fxs "fx<?" (cons i more))))
(define (fx>? i . more) (apply > (%fxs "fx>?" (cons i more))))
(define (fx<=? i . more) (apply <= (%fxs "fx<=?" (cons i more))))
(define (fx>=? i . more) (apply >= (%fxs "fx>=?" (cons i more))))
(define (fxzero? i) (zero? (%fx "fxzero?" i)))
(define (fxpositive? i) (positive? (%fx "fxpositive?" i)))
(define (fxnegative? i) (negative? (%fx "fxnegative?" i)))
(define (fxodd? i) (odd? (%fx "fxodd?" i)))
(define (fxeven? i) (even? (%fx "fxeven?" i)))
(define (fxmax i . more) (apply max (%fxs "fxmax" (cons i more))))
(define (fxmin i . more) (apply min (%fxs "fxmin" (cons i more))))

(define (fx+ i j) (%fx-result "fx+" (+ (%fx "fx+" i) (%fx "fx+" j))))
(define (fx- i j) (%fx-result "fx-" (- (%fx "fx-" i) (%fx "fx-" j))))
(define (fxneg i) (%fx-result "fxneg" (- (%fx "fxneg" i))))
(define (fx* i j) (%fx-result "fx*" (* (%fx "fx*" i) (%fx "fx*" j))))
(define (fxquotient i j) (%fx-result "fxquotient" (quotient (%fx "fxquotient" i) (%fx "fxquotient" j))))
(define (fxremainder i j) (remainder (%fx "fxremainder" i) (%fx "fxremainder" j)))
(define (fxabs i) (%fx-result "fxabs" (abs (%fx "fxabs" i))))
(define (fxsquare i) (%fx-result "fxsquare" (square (%fx "fxsquare" i))))
(define (fxsqrt i)
  (if (negative? (%fx "fxsqrt" i)) (error "fxsqrt: expected a non-negative fixnum" i))
  (exact-integer-sqrt i))

;; s as q * 2^w + r with r in [-2^(w-1), 2^(w-1)): (values r q).
(define (%fx-carry s)
  (let* ((d (expt 2 fx-width))
         (q (floor-quotient (+ s (quotient d 2)) d)))
    (values (- s (* q d)) q)))

(define (fx+/carry i j k) (%fxs "fx+/carry" (list i j k)) (%fx-carry (+ i j k)))
(define (fx-/carry i j k) (%fxs "fx-/carry" (list i j k)) (%fx-carry (- i j k)))
(define (fx*/carry i j k) (%fxs "fx*/carry" (list i j k)) (%fx-carry (+ (* i j) k)))

(define (fxnot i) (bitwise-not (%fx "fxnot" i)))
(define (fxand . is) (apply bitwise-and (%fxs "fxand" is)))
(define (fxior . is) (apply bitwise-ior (%fxs "fxior" is)))
(define (fxxor . is) (apply bitwise-xor (%fxs "fxxor" is)))

(define (%fx-shift who i count)
  (%fx who i)
  (if (not (and (exact-integer? count) (< (abs count) fx-width)))
      (error (string-append who ": the count must be a fixnum of magnitude below fx-width") count))
  (%fx-result who (arithmetic-shift i count)))

(define (fxarithmetic-shift i count) (%fx-shift "fxarithmetic-shift" i count))
(define (fxarithmetic-shift-left i count)
  (if (and (exact-integer? count) (negative? count))
      (error "fxarithmetic-shift-left: expected a non-negative count" count))
  (%fx-shift "fxarithmetic-shift-left" i count))
(define (fxarithmetic-shift-right i count)
  (if (and (exact-integer? count) (negative? count))
      (error "fxarithmetic-shift-right: expected a non-negative count" count))
  (%fx-shift "fxarithmetic-shift-right" i (if (exact-integer? count) (- count) count)))

(define (fxbit-count i) (bit-count (%fx "fxbit-count" i)))
(define (fxlength i) (integer-length (%fx "fxlength" i)))
(define (fxif mask i j) (%fxs "fxif" (list mask i j)) (bitwise-if mask i j))

(define (%fx-index who k)
  (if (not (and (exact-integer? k) (<= 0 k) (< k fx-width)))
      (error (string-append who ": the index must be in [0, fx-width)") k)))

(define (fxbit-set? index i)
  (%fx-index "fxbit-set?" index)
  (bit-set? index (%fx "fxbit-set?" i)))
(define (fxcopy-bit index i set?)
  (%fx-index "fxcopy-bit" index)
  (%fx-result "fxcopy-bit" (copy-bit index (%fx "fxcopy-bit" i) set?)))
(define (fxfirst-set-bit i) (first-set-bit (%fx "fxfirst-set-bit" i)))
(define (fxbit-field i start end)
  (%fxs "fxbit-field" (list i start end))
  (bit-field i start end))
(define (fxbit-field-rotate i count start end)
  (%fxs "fxbit-field-rotate" (list i count start end))
  (%fx-result "fxbit-field-rotate" (bit-field-rotate i count start end)))
(define (fxbit-field-reverse i start end)
  (%fxs "fxbit-field-reverse" (list i start end))
  (%fx-result "fxbit-field-reverse" (bit-field-reverse i start end)))

;; ---- SRFI-64: a test API --------------------------------------------------
;; The helpers the macros expand into are named test%...: a macro's
;; template refers to a global by name, and the %... names are hidden once
;; boot is done.

(define-record-type <test-runner>
  (test%make-runner)
  test-runner?
  (pass test-runner-pass-count test%runner-pass!)
  (fail test-runner-fail-count test%runner-fail!)
  (xpass test-runner-xpass-count test%runner-xpass!)
  (xfail test-runner-xfail-count test%runner-xfail!)
  (skip test-runner-skip-count test%runner-skip!)
  (stack test-runner-group-stack test%runner-stack!)
  ;; per open group, innermost first: #(expected-count executed skips fails)
  (frames test%runner-frames test%runner-frames!)
  (skips test%runner-skips test%runner-skips!)
  (fails test%runner-fails test%runner-fails!)
  (run-list test%runner-run-list test%runner-run-list!)
  (result test-result-alist test%runner-result!)
  (name test-runner-test-name test%runner-name!)
  (aux test-runner-aux-value test-runner-aux-value!)
  (installed test%runner-installed? test%runner-installed!)
  (on-test-begin test-runner-on-test-begin test-runner-on-test-begin!)
  (on-test-end test-runner-on-test-end test-runner-on-test-end!)
  (on-group-begin test-runner-on-group-begin test-runner-on-group-begin!)
  (on-group-end test-runner-on-group-end test-runner-on-group-end!)
  (on-bad-count test-runner-on-bad-count test-runner-on-bad-count!)
  (on-bad-end-name test-runner-on-bad-end-name test-runner-on-bad-end-name!)
  (on-final test-runner-on-final test-runner-on-final!))

(define (test-runner-reset r)
  (test%runner-pass! r 0) (test%runner-fail! r 0) (test%runner-xpass! r 0)
  (test%runner-xfail! r 0) (test%runner-skip! r 0)
  (test%runner-stack! r '()) (test%runner-frames! r '())
  (test%runner-skips! r '()) (test%runner-fails! r '()) (test%runner-run-list! r #t)
  (test%runner-result! r '()) (test%runner-name! r "") (test%runner-installed! r #f))

(define (test-runner-group-path r) (reverse (test-runner-group-stack r)))

(define (test-runner-null)
  (let ((r (test%make-runner)))
    (test-runner-reset r)
    (test-runner-aux-value! r #f)
    (test-runner-on-test-begin! r (lambda (r) #f))
    (test-runner-on-test-end! r (lambda (r) #f))
    (test-runner-on-group-begin! r (lambda (r name count) #f))
    (test-runner-on-group-end! r (lambda (r) #f))
    (test-runner-on-bad-count! r (lambda (r actual expected) #f))
    (test-runner-on-bad-end-name! r (lambda (r begin-name end-name) #f))
    (test-runner-on-final! r (lambda (r) #f))
    r))

(define (test-on-test-begin-simple r) #f)

(define (test-on-test-end-simple r)
  (let ((kind (test-result-kind r)))
    (when (memq kind '(fail xpass))
      (display (if (eq? kind 'fail) "FAIL " "XPASS "))
      (display (test-runner-test-name r))
      (let ((file (test-result-ref r 'source-file)) (form (test-result-ref r 'source-form)))
        (when form (display " ") (write form)))
      (newline)
      (for-each (lambda (p)
                  (let ((v (test-result-ref r p '%none)))
                    (unless (eq? v '%none)
                      (display "  ") (display p) (display ": ")
                      (write (if (error-object? v) (condition/report-string* v) v))
                      (newline))))
                '(expected-value actual-value expected-error actual-error)))))

;; An error object's message and irritants as one string.
(define (condition/report-string* e)
  (call-with-output-string
   (lambda (p)
     (display (error-object-message e) p)
     (for-each (lambda (x) (display " " p) (write x p)) (error-object-irritants e)))))

(define (test-on-group-begin-simple r name count)
  (when (null? (test-runner-group-stack r))
    (display "%%%% Starting test ") (display name) (newline)))

(define (test-on-group-end-simple r) #f)

(define (test-on-bad-count-simple r actual expected)
  (display "*** Total number of tests was ") (display actual)
  (display " but should be ") (display expected) (display ". ***") (newline))

(define (test-on-bad-end-name-simple r begin-name end-name)
  (error "test-end: the group being ended is not the one named" begin-name end-name))

(define (test-on-final-simple r)
  (for-each (lambda (label count)
              (when (> count 0)
                (display label) (display count) (newline)))
            '("# of expected passes      " "# of expected failures    "
              "# of unexpected successes " "# of unexpected failures  "
              "# of skipped tests        ")
            (list (test-runner-pass-count r) (test-runner-xfail-count r)
                  (test-runner-xpass-count r) (test-runner-fail-count r)
                  (test-runner-skip-count r))))

(define (test-runner-simple)
  (let ((r (test-runner-null)))
    (test-runner-on-test-begin! r test-on-test-begin-simple)
    (test-runner-on-test-end! r test-on-test-end-simple)
    (test-runner-on-group-begin! r test-on-group-begin-simple)
    (test-runner-on-group-end! r test-on-group-end-simple)
    (test-runner-on-bad-count! r test-on-bad-count-simple)
    (test-runner-on-bad-end-name! r test-on-bad-end-name-simple)
    (test-runner-on-final! r test-on-final-simple)
    r))

(define testtest%runner-current #f)
(define (test-runner-current . r)
  (if (pair? r) (set! testtest%runner-current (car r)) testtest%runner-current))

(define (test-runner-get)
  (or testtest%runner-current (error "test-runner-get: there is no current test runner")))

(define testtest%runner-factory test-runner-simple)
(define (test-runner-factory . f)
  (if (pair? f) (set! testtest%runner-factory (car f)) testtest%runner-factory))

(define (test-runner-create) (testtest%runner-factory))

(define (test-result-ref r name . default)
  (let ((p (assq name (test-result-alist r))))
    (cond (p (cdr p)) ((pair? default) (car default)) (else #f))))

(define (test-result-set! r name value)
  (test%runner-result! r (cons (cons name value)
                           (remove (lambda (p) (eq? (car p) name)) (test-result-alist r)))))

(define (test-result-remove r name)
  (test%runner-result! r (remove (lambda (p) (eq? (car p) name)) (test-result-alist r))))

(define (test-result-clear r) (test%runner-result! r '()))

(define (test-result-kind . r)
  (test-result-ref (if (pair? r) (car r) (test-runner-get)) 'result-kind))

(define (test-passed? . r)
  (and (memq (apply test-result-kind r) '(pass xpass)) #t))

;; Specifiers: procedures of the runner, or a count or a name.
(define (test-match-name name) (lambda (r) (equal? name (test-runner-test-name r))))

(define (test-match-nth n . count)
  (let ((count (if (pair? count) (car count) 1)) (i 0))
    (lambda (r)
      (set! i (+ i 1))
      (and (>= i n) (< i (+ n count))))))

(define (test%specifier s)
  (cond ((procedure? s) s)
        ((exact-integer? s) (test-match-nth 1 s))
        ((string? s) (test-match-name s))
        (else (error "test: a specifier is a procedure, a count or a name" s))))

(define (test-match-any . specs)
  (let ((specs (map test%specifier specs)))
    (lambda (r) (fold (lambda (s any) (or (s r) any)) #f specs))))

(define (test-match-all . specs)
  (let ((specs (map test%specifier specs)))
    (lambda (r) (fold (lambda (s all) (and (s r) all)) #t specs))))

(define (test-skip spec)
  (let ((r (test-runner-get)))
    (test%runner-skips! r (cons (test%specifier spec) (test%runner-skips r)))))

(define (test-expect-fail spec)
  (let ((r (test-runner-get)))
    (test%runner-fails! r (cons (test%specifier spec) (test%runner-fails r)))))

;; Does any of specs match r? Every one is applied (they may count).
(define (test%any? specs r) (fold (lambda (s any) (or (s r) any)) #f specs))

(define (test%counted! r)
  (let ((frames (test%runner-frames r)))
    (if (pair? frames)
        (vector-set! (car frames) 1 (+ 1 (vector-ref (car frames) 1))))))

(define (test-begin name . count)
  (unless testtest%runner-current
    (let ((r (test-runner-create)))
      (test%runner-installed! r #t)
      (test-runner-current r)))
  (let ((r (test-runner-get)))
    (test%runner-name! r name)
    ((test-runner-on-group-begin r) r name (if (pair? count) (car count) #f))
    (test%counted! r)
    (test%runner-frames! r (cons (vector (if (pair? count) (car count) #f) 0
                                     (test%runner-skips r) (test%runner-fails r))
                             (test%runner-frames r)))
    (test%runner-stack! r (cons name (test-runner-group-stack r)))))

(define (test-end . name)
  (let* ((r (test-runner-get))
         (stack (test-runner-group-stack r)))
    (if (null? stack) (error "test-end: no test group is open"))
    (when (and (pair? name) (not (equal? (car name) (car stack))))
      ((test-runner-on-bad-end-name r) r (car stack) (car name)))
    (let ((frame (car (test%runner-frames r))))
      (when (and (vector-ref frame 0) (not (= (vector-ref frame 0) (vector-ref frame 1))))
        ((test-runner-on-bad-count r) r (vector-ref frame 1) (vector-ref frame 0)))
      ((test-runner-on-group-end r) r)
      (test%runner-skips! r (vector-ref frame 2))
      (test%runner-fails! r (vector-ref frame 3))
      (test%runner-frames! r (cdr (test%runner-frames r)))
      (test%runner-stack! r (cdr stack))
      (when (null? (cdr stack))
        ((test-runner-on-final r) r)
        (when (test%runner-installed? r) (test-runner-current #f))))))

;; Run one test: thunk gives (values passed? properties) or raises.
(define (test%run name form thunk)
  (let ((r (test-runner-get)))
    (test-result-clear r)
    (test%runner-name! r (if name name ""))
    (when form (test-result-set! r 'source-form form))
    (let* ((skip? (or (test%any? (test%runner-skips r) r)
                      (and (not (eq? (test%runner-run-list r) #t))
                           (not (test%any? (test%runner-run-list r) r)))))
           (xfail? (and (not skip?) (test%any? (test%runner-fails r) r))))
      (test-result-set! r 'result-kind (cond (skip? 'skip) (xfail? 'xfail) (else #f)))
      ((test-runner-on-test-begin r) r)
      (test%counted! r)
      (if skip?
          (test%runner-skip! r (+ 1 (test-runner-skip-count r)))
          (let ((ok (guard (e (#t (test-result-set! r 'actual-error e) #f))
                      (thunk r))))
            (let ((kind (if ok (if xfail? 'xpass 'pass) (if xfail? 'xfail 'fail))))
              (test-result-set! r 'result-kind kind)
              (case kind
                ((pass) (test%runner-pass! r (+ 1 (test-runner-pass-count r))))
                ((fail) (test%runner-fail! r (+ 1 (test-runner-fail-count r))))
                ((xpass) (test%runner-xpass! r (+ 1 (test-runner-xpass-count r))))
                (else (test%runner-xfail! r (+ 1 (test-runner-xfail-count r))))))))
      ((test-runner-on-test-end r) r)
      (test-result-kind r))))

;; A comparison test: expected and actual evaluated inside the test.
(define (test%compare name form same? expected-thunk actual-thunk)
  (test%run name form
             (lambda (r)
               (let ((expected (expected-thunk)))
                 (test-result-set! r 'expected-value expected)
                 (let ((actual (actual-thunk)))
                   (test-result-set! r 'actual-value actual)
                   (same? expected actual))))))

(define-syntax test-assert
  (syntax-rules ()
    ((_ expr) (test-assert #f expr))
    ((_ name expr)
     (test%run name 'expr (lambda (r) (let ((v expr)) (test-result-set! r 'actual-value v) v))))))

(define-syntax test-eqv
  (syntax-rules ()
    ((_ expected expr) (test-eqv #f expected expr))
    ((_ name expected expr) (test%compare name 'expr eqv? (lambda () expected) (lambda () expr)))))

(define-syntax test-equal
  (syntax-rules ()
    ((_ expected expr) (test-equal #f expected expr))
    ((_ name expected expr) (test%compare name 'expr equal? (lambda () expected) (lambda () expr)))))

(define-syntax test-eq
  (syntax-rules ()
    ((_ expected expr) (test-eq #f expected expr))
    ((_ name expected expr) (test%compare name 'expr eq? (lambda () expected) (lambda () expr)))))

(define-syntax test-approximate
  (syntax-rules ()
    ((_ expected expr error) (test-approximate #f expected expr error))
    ((_ name expected expr error)
     (test%compare name 'expr
                    (lambda (e a) (and (>= a (- e error)) (<= a (+ e error))))
                    (lambda () expected) (lambda () expr)))))

;; The error type: #t for any error, or a predicate on what was raised
;; (error-object?, file-error?, read-error?, a record predicate, ...).
(define (test%error name form type thunk)
  (test%run name form
             (lambda (r)
               (test-result-set! r 'expected-error type)
               (guard (e (#t (test-result-set! r 'actual-error e)
                             (or (eq? type #t) (and (procedure? type) (type e) #t))))
                 (let ((v (thunk)))
                   (test-result-set! r 'actual-value v)
                   #f)))))

(define-syntax test-error
  (syntax-rules ()
    ((_ expr) (test%error #f 'expr #t (lambda () expr)))
    ((_ type expr) (test%error #f 'expr type (lambda () expr)))
    ((_ name type expr) (test%error name 'expr type (lambda () expr)))))

(define (test-read-eval-string s)
  (let* ((p (open-input-string s)) (form (read p)))
    (if (not (eof-object? (peek-char p)))
        (error "test-read-eval-string: text after the expression" s))
    (eval form (interaction-environment))))

(define (test%group-skipped? name)
  (let ((r (test-runner-get)))
    (test%runner-name! r name)
    (test%any? (test%runner-skips r) r)))

(define-syntax test-group
  (syntax-rules ()
    ((_ name body ...)
     (let ((n name))
       (unless testtest%runner-current (test-runner-current (test-runner-create)))
       (if (test%group-skipped? n)
           (let ((r (test-runner-get)))
             (test%runner-skip! r (+ 1 (test-runner-skip-count r)))
             (test%counted! r))
           (dynamic-wind
            (lambda () (test-begin n))
            (lambda () body ...)
            (lambda () (test-end n))))))))

(define-syntax test-group-with-cleanup
  (syntax-rules ()
    ((_ name body ... cleanup)
     (test-group name (dynamic-wind (lambda () #f) (lambda () body ...) (lambda () cleanup))))))

(define-syntax test-with-runner
  (syntax-rules ()
    ((_ runner body ...)
     (let ((saved testtest%runner-current) (r runner))
       (dynamic-wind
        (lambda () (test-runner-current r))
        (lambda () body ...)
        (lambda () (test-runner-current saved)))))))

(define (test-apply first . rest)
  (let* ((runner? (test-runner? first))
         (r (if runner? first (or testtest%runner-current (test-runner-create))))
         (args (if runner? rest (cons first rest)))
         (proc (last args))
         (specs (map test%specifier (drop-right args 1))))
    (test-with-runner r
      (let ((saved (test%runner-run-list r)))
        (dynamic-wind
         (lambda () (test%runner-run-list! r (if (null? specs) #t specs)))
         proc
         (lambda () (test%runner-run-list! r saved)))))))

;; ---- SRFI-158: generators and accumulators --------------------------------
;; A generator is a procedure of no arguments that returns the end-of-file
;; object once it is exhausted; an accumulator, a procedure of one.

(define (generator . items)
  (lambda ()
    (if (null? items)
        (eof-object)
        (let ((x (car items))) (set! items (cdr items)) x))))

(define (circular-generator x . more)
  (let* ((all (cons x more)) (l all))
    (lambda ()
      (when (null? l) (set! l all))
      (let ((v (car l))) (set! l (cdr l)) v))))

(define (make-iota-generator count . opt)
  (%check-count "make-iota-generator" count)
  (let* ((start (if (pair? opt) (car opt) 0))
         (step (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) 1))
         (exact (and (exact? start) (exact? step)))
         (i 0))
    (lambda ()
      (if (>= i count)
          (eof-object)
          (let ((v (+ start (* i step))))
            (set! i (+ i 1))
            (if exact v (inexact v)))))))

(define (make-range-generator start . opt)
  (let* ((end (if (pair? opt) (car opt) #f))
         (step (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) 1))
         (exact (and (exact? start) (exact? step)))
         (i 0))
    (lambda ()
      (let ((v (+ start (* i step))))
        (if (and end (>= v end))
            (eof-object)
            (begin (set! i (+ i 1)) (if exact v (inexact v))))))))

;; proc runs in its own continuation; yield jumps back to the caller.
(define (make-coroutine-generator proc)
  (define return #f)
  (define resume #f)
  (define (yield v) (call/cc (lambda (k) (set! resume k) (return v))))
  (lambda ()
    (call/cc
     (lambda (r)
       (set! return r)
       (if resume
           (resume #f)
           (begin
             (proc yield)
             (set! resume (lambda (v) (return (eof-object))))
             (return (eof-object))))))))

(define (list->generator lis)
  (lambda ()
    (if (null? lis) (eof-object) (let ((x (car lis))) (set! lis (cdr lis)) x))))

(define (%indexed->generator who len ref obj opt)
  (let* ((n (len obj))
         (start (if (pair? opt) (car opt) 0))
         (end (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) n)))
    (if (not (and (exact-integer? start) (exact-integer? end) (<= 0 start end n)))
        (error (string-append who ": bad range") start end))
    (lambda ()
      (if (>= start end)
          (eof-object)
          (let ((x (ref obj start))) (set! start (+ start 1)) x)))))

(define (vector->generator v . opt) (%indexed->generator "vector->generator" vector-length vector-ref v opt))
(define (string->generator s . opt) (%indexed->generator "string->generator" string-length string-ref s opt))
(define (bytevector->generator b . opt)
  (%indexed->generator "bytevector->generator" bytevector-length bytevector-u8-ref b opt))

(define (reverse-vector->generator v . opt)
  (let* ((n (vector-length v))
         (start (if (pair? opt) (car opt) 0))
         (end (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) n)))
    (if (not (and (exact-integer? start) (exact-integer? end) (<= 0 start end n)))
        (error "reverse-vector->generator: bad range" start end))
    (lambda ()
      (if (<= end start)
          (eof-object)
          (begin (set! end (- end 1)) (vector-ref v end))))))

(define (make-for-each-generator for-each obj)
  (make-coroutine-generator (lambda (yield) (for-each yield obj))))

(define (make-unfold-generator stop? mapper successor seed)
  (lambda ()
    (if (stop? seed)
        (eof-object)
        (let ((v (mapper seed))) (set! seed (successor seed)) v))))

(define (gcons* . args)
  (if (null? args) (error "gcons*: expected a generator"))
  (let ((items (drop-right args 1)) (gen (last args)))
    (lambda ()
      (if (null? items) (gen) (let ((x (car items))) (set! items (cdr items)) x)))))

(define (gappend . gens)
  (lambda ()
    (let loop ()
      (if (null? gens)
          (eof-object)
          (let ((v ((car gens))))
            (if (eof-object? v) (begin (set! gens (cdr gens)) (loop)) v))))))

(define (gflatten gen)
  (let ((items '()))
    (lambda ()
      (let loop ()
        (if (pair? items)
            (let ((x (car items))) (set! items (cdr items)) x)
            (let ((l (gen)))
              (if (eof-object? l) l (begin (set! items l) (loop)))))))))

(define (ggroup gen k . padding)
  (%check-count "ggroup" k)
  (lambda ()
    (let loop ((i 0) (acc '()))
      (if (= i k)
          (reverse acc)
          (let ((v (gen)))
            (cond ((not (eof-object? v)) (loop (+ i 1) (cons v acc)))
                  ((null? acc) v)
                  ((pair? padding) (append (reverse acc) (make-list (- k i) (car padding))))
                  (else (reverse acc))))))))

(define (gmerge less? gen . more)
  (if (null? more)
      gen
      ;; The head each generator holds: a pair (value) or '() once done.
      (let ((gens (cons gen more)) (heads #f))
        (lambda ()
          (unless heads
            (set! heads (map (lambda (g) (let ((v (g))) (if (eof-object? v) '() (list v)))) gens)))
          (let loop ((hs heads) (gs gens) (best #f) (best-i #f) (i 0))
            (cond ((pair? hs)
                   (if (and (pair? (car hs)) (or (not best) (less? (caar hs) (car best))))
                       (loop (cdr hs) (cdr gs) (car hs) i (+ i 1))
                       (loop (cdr hs) (cdr gs) best best-i (+ i 1))))
                  ((not best) (eof-object))
                  (else
                   (let ((v (car best)) (g (list-ref gens best-i)))
                     (set! heads (let refill ((hs heads) (j 0))
                                   (cond ((null? hs) '())
                                         ((= j best-i)
                                          (cons (let ((n (g))) (if (eof-object? n) '() (list n))) (cdr hs)))
                                         (else (cons (car hs) (refill (cdr hs) (+ j 1)))))))
                     v))))))))

(define (gmap proc gen . more)
  (if (null? more)
      (lambda () (let ((v (gen))) (if (eof-object? v) v (proc v))))
      (let ((gens (cons gen more)))
        (lambda ()
          (let ((vs (map (lambda (g) (g)) gens)))
            (if (any eof-object? vs) (eof-object) (apply proc vs)))))))

(define (gcombine proc seed gen . more)
  (let ((gens (cons gen more)))
    (lambda ()
      (let ((vs (map (lambda (g) (g)) gens)))
        (if (any eof-object? vs)
            (eof-object)
            (call-with-values (lambda () (apply proc (append vs (list seed))))
              (lambda (v next) (set! seed next) v)))))))

(define (gfilter pred gen)
  (lambda ()
    (let loop ()
      (let ((v (gen)))
        (if (or (eof-object? v) (pred v)) v (loop))))))

(define (gremove pred gen) (gfilter (lambda (v) (not (pred v))) gen))

(define (gstate-filter proc seed gen)
  (lambda ()
    (let loop ()
      (let ((v (gen)))
        (if (eof-object? v)
            v
            (call-with-values (lambda () (proc v seed))
              (lambda (keep? next)
                (set! seed next)
                (if keep? v (loop)))))))))

(define (gtake gen k . padding)
  (%check-count "gtake" k)
  (let ((i 0))
    (lambda ()
      (if (>= i k)
          (eof-object)
          (let ((v (gen)))
            (set! i (+ i 1))
            (if (and (eof-object? v) (pair? padding)) (car padding) v))))))

(define (gdrop gen k)
  (%check-count "gdrop" k)
  (lambda ()
    (let loop ()
      (if (> k 0)
          (begin (set! k (- k 1)) (if (eof-object? (gen)) (eof-object) (loop)))
          (gen)))))

(define (gtake-while pred gen)
  (let ((done #f))
    (lambda ()
      (if done
          (eof-object)
          (let ((v (gen)))
            (if (or (eof-object? v) (not (pred v)))
                (begin (set! done #t) (eof-object))
                v))))))

(define (gdrop-while pred gen)
  (let ((dropping #t))
    (lambda ()
      (if dropping
          (let loop ()
            (let ((v (gen)))
              (if (and (not (eof-object? v)) (pred v))
                  (loop)
                  (begin (set! dropping #f) v))))
          (gen)))))

(define (gdelete item gen . maybe=)
  (let ((= (if (pair? maybe=) (car maybe=) equal?)))
    (gfilter (lambda (v) (not (= item v))) gen)))

(define (gdelete-neighbor-dups gen . maybe=)
  (let ((= (if (pair? maybe=) (car maybe=) equal?)) (first #t) (prev #f))
    (lambda ()
      (let loop ()
        (let ((v (gen)))
          (cond ((eof-object? v) v)
                ((and (not first) (= prev v)) (loop))
                (else (set! first #f) (set! prev v) v)))))))

(define (gindex value-gen index-gen)
  (let ((at 0))
    (lambda ()
      (let ((i (index-gen)))
        (if (eof-object? i)
            i
            (begin
              (if (not (and (exact-integer? i) (>= i at)))
                  (error "gindex: the indexes must be increasing exact integers" i))
              (let loop ()
                (let ((v (value-gen)))
                  (cond ((eof-object? v) v)
                        ((= at i) (set! at (+ at 1)) v)
                        (else (set! at (+ at 1)) (loop)))))))))))

(define (gselect value-gen truth-gen)
  (lambda ()
    (let loop ()
      (let ((v (value-gen)) (t (truth-gen)))
        (cond ((or (eof-object? v) (eof-object? t)) (eof-object))
              (t v)
              (else (loop)))))))

(define (generator->reverse-list gen . k)
  (let ((n (if (pair? k) (car k) #f)))
    (if n (%check-count "generator->reverse-list" n))
    (let loop ((i 0) (acc '()))
      (if (and n (>= i n))
          acc
          (let ((v (gen)))
            (if (eof-object? v) acc (loop (+ i 1) (cons v acc))))))))

(define (generator->list gen . k) (reverse (apply generator->reverse-list gen k)))
(define (generator->vector gen . k) (list->vector (apply generator->list gen k)))
(define (generator->string gen . k) (list->string (apply generator->list gen k)))

(define (generator->vector! v at gen)
  (let loop ((i at) (n 0))
    (if (>= i (vector-length v))
        n
        (let ((x (gen)))
          (if (eof-object? x) n (begin (vector-set! v i x) (loop (+ i 1) (+ n 1))))))))

(define (generator-fold proc seed gen . more)
  (let ((gens (cons gen more)))
    (let loop ((acc seed))
      (let ((vs (map (lambda (g) (g)) gens)))
        (if (any eof-object? vs) acc (loop (apply proc (append vs (list acc)))))))))

(define (generator-for-each proc gen . more)
  (let ((gens (cons gen more)))
    (let loop ()
      (let ((vs (map (lambda (g) (g)) gens)))
        (unless (any eof-object? vs) (apply proc vs) (loop))))))

(define (generator-map->list proc gen . more)
  (let ((gens (cons gen more)))
    (let loop ((acc '()))
      (let ((vs (map (lambda (g) (g)) gens)))
        (if (any eof-object? vs) (reverse acc) (loop (cons (apply proc vs) acc)))))))

(define (generator-find pred gen)
  (let loop ()
    (let ((v (gen)))
      (cond ((eof-object? v) #f) ((pred v) v) (else (loop))))))

(define (generator-count pred gen)
  (let loop ((n 0))
    (let ((v (gen)))
      (if (eof-object? v) n (loop (if (pred v) (+ n 1) n))))))

(define (generator-any pred gen)
  (let loop ()
    (let ((v (gen)))
      (and (not (eof-object? v)) (or (pred v) (loop))))))

(define (generator-every pred gen)
  (let loop ((last #t))
    (let ((v (gen)))
      (if (eof-object? v)
          last
          (let ((r (pred v))) (and r (loop r)))))))

(define (generator-unfold gen unfold . args)
  (apply unfold eof-object? (lambda (x) x) (lambda (x) (gen)) (gen) args))

(define (make-accumulator kons knil finalizer)
  (let ((state knil))
    (lambda (x)
      (if (eof-object? x)
          (finalizer state)
          (set! state (kons x state))))))

(define (count-accumulator) (make-accumulator (lambda (x n) (+ n 1)) 0 (lambda (n) n)))
(define (list-accumulator) (make-accumulator cons '() reverse))
(define (reverse-list-accumulator) (make-accumulator cons '() (lambda (l) l)))
(define (vector-accumulator) (make-accumulator cons '() (lambda (l) (list->vector (reverse l)))))
(define (reverse-vector-accumulator) (make-accumulator cons '() list->vector))
(define (string-accumulator) (make-accumulator cons '() (lambda (l) (list->string (reverse l)))))
(define (bytevector-accumulator)
  (make-accumulator cons '() (lambda (l) (apply bytevector (reverse l)))))
(define (sum-accumulator) (make-accumulator + 0 (lambda (n) n)))
(define (product-accumulator) (make-accumulator * 1 (lambda (n) n)))

(define (vector-accumulator! v at)
  (lambda (x)
    (if (eof-object? x)
        v
        (begin (vector-set! v at x) (set! at (+ at 1))))))

(define (bytevector-accumulator! b at)
  (lambda (x)
    (if (eof-object? x)
        b
        (begin (bytevector-u8-set! b at x) (set! at (+ at 1))))))

;; ---- SRFI-27: sources of random bits --------------------------------------
;; Each source is L'Ecuyer's combined multiple recursive generator
;; MRG32k3a: two three-word recurrences modulo primes just under 2^32,
;; whose products stay fixnums. Its period is about 2^191.

(define-record-type <random-source>
  (random%make-source state)
  random-source?
  (state random%state random%state!))

(define random%m1 4294967087)
(define random%m2 4294944443)

(define (make-random-source) (random%make-source (vector 12345 12345 12345 12345 12345 12345)))

;; The next raw value, in [0, m1).
(define (random%next! s)
  (let* ((v (random%state s))
         (p1 (modulo (- (* 1403580 (vector-ref v 1)) (* 810728 (vector-ref v 0))) random%m1))
         (p2 (modulo (- (* 527612 (vector-ref v 5)) (* 1370589 (vector-ref v 3))) random%m2)))
    (vector-set! v 0 (vector-ref v 1))
    (vector-set! v 1 (vector-ref v 2))
    (vector-set! v 2 p1)
    (vector-set! v 3 (vector-ref v 4))
    (vector-set! v 4 (vector-ref v 5))
    (vector-set! v 5 p2)
    (modulo (- p1 p2) random%m1)))

(define (random-source-state-ref s)
  (if (not (random-source? s)) (error "random-source-state-ref: expected a random source" s))
  (cons 'mrg32k3a (vector->list (random%state s))))

(define (random%valid-state? st)
  (and (list? st) (= (length st) 7) (eq? (car st) 'mrg32k3a)
       (every exact-integer? (cdr st))
       (let ((a (take (cdr st) 3)) (b (drop (cdr st) 3)))
         (and (every (lambda (x) (<= 0 x (- random%m1 1))) a)
              (every (lambda (x) (<= 0 x (- random%m2 1))) b)
              (any positive? a) (any positive? b)))))


(define (random-source-state-set! s state)
  (if (not (random-source? s)) (error "random-source-state-set!: expected a random source" s))
  (if (not (random%valid-state? state))
      (error "random-source-state-set!: not a state of an imp random source" state))
  (random%state! s (list->vector (cdr state))))

;; A state made from the integers in seeds (any number of them), each
;; word kept in range and not all zero.
(define (random%seed! s seeds)
  (let loop ((i 0) (h 88172645463325252) (acc '()))
    (if (= i 6)
        (let* ((v (list->vector (reverse acc))))
          (if (= 0 (+ (vector-ref v 0) (vector-ref v 1) (vector-ref v 2))) (vector-set! v 0 1))
          (if (= 0 (+ (vector-ref v 3) (vector-ref v 4) (vector-ref v 5))) (vector-set! v 3 1))
          (random%state! s v))
        (let* ((h (fold (lambda (x h) (modulo (+ (* h 6364136223846793005) x 1442695040888963407)
                                              18446744073709551616))
                        (+ h i) seeds))
               (m (if (< i 3) random%m1 random%m2)))
          (loop (+ i 1) h (cons (modulo (quotient h 65536) m) acc))))))

(define (random-source-randomize! s)
  (if (not (random-source? s)) (error "random-source-randomize!: expected a random source" s))
  (random%seed! s (list (current-jiffy) (exact (floor (* 1000000 (current-second)))))))

(define (random-source-pseudo-randomize! s i j)
  (if (not (random-source? s)) (error "random-source-pseudo-randomize!: expected a random source" s))
  (if (not (and (exact-integer? i) (>= i 0) (exact-integer? j) (>= j 0)))
      (error "random-source-pseudo-randomize!: expected two non-negative exact integers" i j))
  (random%seed! s (list i j)))

;; A uniform integer in [0, n): draws of m1 - 1 values combined until
;; they cover n, with rejection of the top partial range.
(define (random%integer s n)
  (let* ((base (- random%m1 1))
         (digits (let loop ((k 1) (range base))
                   (if (>= range n) (cons k range) (loop (+ k 1) (* range base)))))
         (k (car digits)) (range (cdr digits))
         (limit (- range (modulo range n))))
    (let retry ()
      (let ((x (let draw ((j 0) (x 0))
                 (if (= j k) x
                     (let ((r (random%next! s)))
                       (if (= r base) (draw j x) (draw (+ j 1) (+ (* x base) r))))))))
        (if (< x limit) (modulo x n) (retry))))))

(define (random-source-make-integers s)
  (if (not (random-source? s)) (error "random-source-make-integers: expected a random source" s))
  (lambda (n)
    (if (not (and (exact-integer? n) (positive? n)))
        (error "random-integer: expected a positive exact integer" n))
    (random%integer s n)))

(define (random-source-make-reals s . unit)
  (if (not (random-source? s)) (error "random-source-make-reals: expected a random source" s))
  (if (and (pair? unit) (not (and (real? (car unit)) (< 0 (car unit) 1))))
      (error "random-source-make-reals: the unit must be a real in (0, 1)" (car unit)))
  ;; (x + 1) / (m1 + 1) for x in [0, m1): never 0 nor 1.
  (lambda () (/ (+ (random%next! s) 1.0) (+ random%m1 1.0))))

(define default-random-source (make-random-source))
(define random-integer (random-source-make-integers default-random-source))
(define random-real (random-source-make-reals default-random-source))
