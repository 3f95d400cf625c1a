;; SRFI-14: character sets, Unicode-aware (boot loads this file after
;; srfi.scm). A char-set holds its characters as a vector of ranges,
;; #(from0 to0 from1 to1 ...): code points from <= c < to, sorted, apart
;; and never adjacent; surrogates are never members. The standard sets are
;; made from the Unicode tables of the regex engine (%char-class-ranges)
;; when first used, so they cost the boot nothing. The linear-update
;; procedures (the `!' ones) return a new set, as the SRFI allows.

(define-record-type <char-set>
  (char-set%make ranges)
  char-set?
  (ranges char-set%raw char-set%set-raw!))

;; The ranges of cs (a standard set's are computed here the first time).
(define (char-set%ranges cs)
  (let ((r (char-set%raw cs)))
    (if (string? r)
        (let ((v (%char-class-ranges r)))
          (char-set%set-raw! cs v)
          v)
        r)))

(define (char-set%check who cs)
  (if (not (char-set? cs)) (error (string-append who ": expected a char-set") cs)))

(define (char-set%ranges-of who cs)
  (char-set%check who cs)
  (char-set%ranges cs))

;; Ranges from a list of code points in any order, with repeats.
(define (char-set%from-points points)
  (let loop ((l (sort points <)) (acc '()))
    (cond ((null? l) (list->vector (reverse acc)))
          ((and (pair? acc) (<= (car l) (car acc)))
           (loop (cdr l) (if (= (car l) (car acc))
                             (cons (+ (car l) 1) (cdr acc))
                             acc)))
          (else (loop (cdr l) (cons (+ (car l) 1) (cons (car l) acc)))))))

;; A vector of ranges from a list of (from . to) pairs, sorted and merged.
(define (char-set%normalize pairs)
  (let loop ((l (sort pairs (lambda (a b) (< (car a) (car b))))) (acc '()))
    (cond ((null? l) (list->vector (reverse acc)))
          ((>= (caar l) (cdar l)) (loop (cdr l) acc))
          ((and (pair? acc) (<= (caar l) (car acc)))
           (loop (cdr l) (cons (max (car acc) (cdar l)) (cdr acc))))
          (else (loop (cdr l) (cons (cdar l) (cons (caar l) acc)))))))

(define (char-set%pairs v)
  (let loop ((i (- (vector-length v) 2)) (acc '()))
    (if (< i 0) acc (loop (- i 2) (cons (cons (vector-ref v i) (vector-ref v (+ i 1))) acc)))))

(define char-set%surrogates '((#xD800 . #xE000)))

(define (char-set%contains? v cp)
  (let loop ((lo 0) (hi (quotient (vector-length v) 2)))
    (if (>= lo hi)
        #f
        (let* ((mid (quotient (+ lo hi) 2))
               (from (vector-ref v (* 2 mid)))
               (to (vector-ref v (+ 1 (* 2 mid)))))
          (cond ((< cp from) (loop lo mid))
                ((>= cp to) (loop (+ mid 1) hi))
                (else #t))))))

;; The complement of ranges v within the characters (never surrogates).
(define (char-set%invert v)
  (char-set%minus (char-set%invert-raw v) (char-set%normalize char-set%surrogates)))

(define (char-set%union a b)
  (char-set%normalize (append (char-set%pairs a) (char-set%pairs b))))

(define (char-set%intersect a b)
  (let loop ((i 0) (j 0) (acc '()))
    (if (or (= i (vector-length a)) (= j (vector-length b)))
        (list->vector (reverse acc))
        (let ((lo (max (vector-ref a i) (vector-ref b j)))
              (hi (min (vector-ref a (+ i 1)) (vector-ref b (+ j 1)))))
          (let ((acc (if (< lo hi) (cons hi (cons lo acc)) acc)))
            (if (< (vector-ref a (+ i 1)) (vector-ref b (+ j 1)))
                (loop (+ i 2) j acc)
                (loop i (+ j 2) acc)))))))

(define (char-set%minus a b) (char-set%intersect a (char-set%invert-raw b)))

;; The complement without removing surrogates (they are never in a set).
(define (char-set%invert-raw v)
  (let loop ((i 0) (at 0) (acc '()))
    (if (= i (vector-length v))
        (char-set%normalize (reverse (cons (cons at #x110000) acc)))
        (loop (+ i 2) (vector-ref v (+ i 1)) (cons (cons at (vector-ref v i)) acc)))))

(define (char-set%char-list who x)
  (cond ((char? x) (list (char->integer x)))
        ((string? x) (map char->integer (string->list x)))
        ((list? x)
         (map (lambda (c)
                (if (char? c) (char->integer c) (error (string-append who ": expected a character") c)))
              x))
        (else (error (string-append who ": expected characters") x))))

;; ---- building -----------------------------------------------------------------

(define (char-set . chars)
  (char-set%make (char-set%from-points (char-set%char-list "char-set" chars))))

(define (char-set%base who base)
  (cond ((not base) '#())
        ((char-set? base) (char-set%ranges base))
        (else (error (string-append who ": expected a char-set") base))))

(define (list->char-set chars . base)
  (char-set%make (char-set%union (char-set%from-points (char-set%char-list "list->char-set" chars))
                                 (char-set%base "list->char-set" (and (pair? base) (car base))))))
(define (list->char-set! chars base) (list->char-set chars base))

(define (string->char-set s . base)
  (if (not (string? s)) (error "string->char-set: expected a string" s))
  (char-set%make (char-set%union (char-set%from-points (char-set%char-list "string->char-set" s))
                                 (char-set%base "string->char-set" (and (pair? base) (car base))))))
(define (string->char-set! s base) (string->char-set s base))

(define (ucs-range->char-set from to . opt)
  (if (not (and (exact-integer? from) (exact-integer? to) (<= 0 from to)))
      (error "ucs-range->char-set: expected a range of code points" from to))
  (let* ((error? (and (pair? opt) (car opt)))
         (base (and (pair? opt) (pair? (cdr opt)) (cadr opt)))
         (to (if (> to #x110000)
                 (if error? (error "ucs-range->char-set: past the last code point" to) #x110000)
                 to)))
    (if (and error? (< from #xE000) (> to #xD800))
        (error "ucs-range->char-set: the range holds surrogates, which are not characters" from to))
    (char-set%make
     (char-set%union (char-set%minus (char-set%normalize (list (cons (min from to) to)))
                                     (char-set%normalize char-set%surrogates))
                     (char-set%base "ucs-range->char-set" base)))))
(define (ucs-range->char-set! from to error? base) (ucs-range->char-set from to error? base))

(define (char-set-filter pred cs . base)
  (char-set%make
   (char-set%union
    (char-set%from-points
     (char-set-fold (lambda (c acc) (if (pred c) (cons (char->integer c) acc) acc)) '() cs))
    (char-set%base "char-set-filter" (and (pair? base) (car base))))))
(define (char-set-filter! pred cs base) (char-set-filter pred cs base))

(define (->char-set x)
  (cond ((char-set? x) x)
        ((string? x) (string->char-set x))
        ((char? x) (char-set x))
        (else (error "->char-set: expected a char-set, a string or a character" x))))

(define (char-set-copy cs) (char-set%make (vector-copy (char-set%ranges-of "char-set-copy" cs))))

;; ---- comparing ------------------------------------------------------------------

(define (char-set= . sets)
  (or (null? sets)
      (let ((v (char-set%ranges-of "char-set=" (car sets))))
        (let loop ((l (cdr sets)))
          (or (null? l)
              (and (equal? v (char-set%ranges-of "char-set=" (car l))) (loop (cdr l))))))))

(define (char-set<= . sets)
  (or (null? sets)
      (let loop ((a (char-set%ranges-of "char-set<=" (car sets))) (l (cdr sets)))
        (or (null? l)
            (let ((b (char-set%ranges-of "char-set<=" (car l))))
              (and (equal? (char-set%intersect a b) a) (loop b (cdr l))))))))

(define (char-set-hash cs . bound)
  (let* ((v (char-set%ranges-of "char-set-hash" cs))
         (h (let loop ((i 0) (h 0))
              (if (= i (vector-length v)) h
                  (loop (+ i 1) (modulo (+ (* h 31) (vector-ref v i)) 536870909))))))
    (if (and (pair? bound) (car bound) (> (car bound) 0)) (modulo h (car bound)) h)))

;; ---- iterating --------------------------------------------------------------------

;; A cursor is the code point of a member, or #f past the last.
(define (char-set-cursor cs)
  (let ((v (char-set%ranges-of "char-set-cursor" cs)))
    (if (= 0 (vector-length v)) #f (vector-ref v 0))))

(define (char-set-ref cs cursor)
  (if (not (and (exact-integer? cursor) (char-set%contains? (char-set%ranges cs) cursor)))
      (error "char-set-ref: not a cursor of this set" cursor))
  (integer->char cursor))

(define (char-set-cursor-next cs cursor)
  (let ((v (char-set%ranges-of "char-set-cursor-next" cs)) (next (+ cursor 1)))
    (let loop ((i 0))
      (cond ((= i (vector-length v)) #f)
            ((< next (vector-ref v i)) (vector-ref v i))
            ((< next (vector-ref v (+ i 1))) next)
            (else (loop (+ i 2)))))))

(define (end-of-char-set? cursor) (not cursor))

(define (char-set-fold kons knil cs)
  (let ((v (char-set%ranges-of "char-set-fold" cs)))
    (let loop ((i 0) (acc knil))
      (if (= i (vector-length v))
          acc
          (loop (+ i 2)
                (let inner ((c (vector-ref v i)) (acc acc))
                  (if (= c (vector-ref v (+ i 1))) acc
                      (inner (+ c 1) (kons (integer->char c) acc)))))))))

(define (char-set-unfold p f g seed . base)
  (let loop ((seed seed) (acc '()))
    (if (p seed)
        (list->char-set acc (if (pair? base) (car base) (char-set)))
        (loop (g seed) (cons (f seed) acc)))))
(define (char-set-unfold! p f g seed base) (char-set-unfold p f g seed base))

(define (char-set-for-each proc cs)
  (char-set-fold (lambda (c acc) (proc c) acc) #f cs)
  (if #f #f))

(define (char-set-map proc cs)
  (list->char-set (char-set-fold (lambda (c acc) (cons (proc c) acc)) '() cs)))

(define (char-set->list cs) (reverse (char-set-fold cons '() cs)))
(define (char-set->string cs) (list->string (char-set->list cs)))

;; ---- querying ---------------------------------------------------------------------

(define (char-set-size cs)
  (let ((v (char-set%ranges-of "char-set-size" cs)))
    (let loop ((i 0) (n 0))
      (if (= i (vector-length v)) n
          (loop (+ i 2) (+ n (- (vector-ref v (+ i 1)) (vector-ref v i))))))))

(define (char-set-count pred cs)
  (char-set-fold (lambda (c n) (if (pred c) (+ n 1) n)) 0 cs))

(define (char-set-contains? cs c)
  (if (not (char? c)) (error "char-set-contains?: expected a character" c))
  (char-set%contains? (char-set%ranges-of "char-set-contains?" cs) (char->integer c)))

(define (char-set-every pred cs)
  (call/cc (lambda (k) (char-set-fold (lambda (c acc) (or (pred c) (k #f))) #t cs))))

(define (char-set-any pred cs)
  (call/cc (lambda (k) (char-set-fold (lambda (c acc) (let ((r (pred c))) (if r (k r) #f))) #f cs))))

;; ---- algebra ----------------------------------------------------------------------

(define (char-set-adjoin cs . chars)
  (char-set%make (char-set%union (char-set%ranges-of "char-set-adjoin" cs)
                                 (char-set%from-points (char-set%char-list "char-set-adjoin" chars)))))
(define (char-set-delete cs . chars)
  (char-set%make (char-set%minus (char-set%ranges-of "char-set-delete" cs)
                                 (char-set%from-points (char-set%char-list "char-set-delete" chars)))))
(define (char-set-adjoin! cs . chars) (apply char-set-adjoin cs chars))
(define (char-set-delete! cs . chars) (apply char-set-delete cs chars))

(define (char-set-complement cs)
  (char-set%make (char-set%invert (char-set%ranges-of "char-set-complement" cs))))
(define (char-set-complement! cs) (char-set-complement cs))

(define (char-set%fold-sets who op start sets)
  (let loop ((l sets) (acc start))
    (if (null? l) (char-set%make acc)
        (loop (cdr l) (op acc (char-set%ranges-of who (car l)))))))

(define (char-set-union . sets) (char-set%fold-sets "char-set-union" char-set%union '#() sets))
(define (char-set-intersection . sets)
  (if (null? sets)
      (char-set-complement (char-set))
      (char-set%fold-sets "char-set-intersection" char-set%intersect
                          (char-set%ranges-of "char-set-intersection" (car sets)) (cdr sets))))
(define (char-set-difference cs . sets)
  (char-set%fold-sets "char-set-difference" char-set%minus
                      (char-set%ranges-of "char-set-difference" cs) sets))
(define (char-set-xor . sets)
  (char-set%fold-sets "char-set-xor"
                      (lambda (a b) (char-set%union (char-set%minus a b) (char-set%minus b a)))
                      '#() sets))
(define (char-set-diff+intersection cs . sets)
  (let ((others (apply char-set-union sets)))
    (values (char-set-difference cs others) (char-set-intersection cs others))))
(define (char-set-union! . sets) (apply char-set-union sets))
(define (char-set-intersection! . sets) (apply char-set-intersection sets))
(define (char-set-difference! cs . sets) (apply char-set-difference cs sets))
(define (char-set-xor! . sets) (apply char-set-xor sets))
(define (char-set-diff+intersection! cs1 cs2 . sets) (apply char-set-diff+intersection cs1 cs2 sets))

;; ---- the standard sets --------------------------------------------------------------

(define char-set:lower-case (char-set%make "\\p{Lowercase}"))
(define char-set:upper-case (char-set%make "\\p{Uppercase}"))
(define char-set:title-case (char-set%make "\\p{Lt}"))
(define char-set:letter (char-set%make "\\p{L}"))
(define char-set:digit (char-set%make "\\p{Nd}"))
(define char-set:letter+digit (char-set%make "[\\p{L}\\p{Nd}]"))
(define char-set:graphic (char-set%make "[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}]"))
(define char-set:printing (char-set%make "[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\p{White_Space}]"))
(define char-set:whitespace (char-set%make "\\p{White_Space}"))
(define char-set:iso-control (char-set%make "[\\x00-\\x1F\\x7F-\\x9F]"))
(define char-set:punctuation (char-set%make "\\p{P}"))
(define char-set:symbol (char-set%make "\\p{S}"))
(define char-set:hex-digit (char-set%make "[0-9A-Fa-f]"))
(define char-set:blank (char-set%make "[\\p{Zs}\\t]"))
(define char-set:ascii (char-set%make "[\\x00-\\x7F]"))
(define char-set:empty (char-set%make '#()))
(define char-set:full (char-set%make '#(0 #xD800 #xE000 #x110000)))

;; The SRE of a char-set (SRFI-115): its ranges as (/ from to ...).
(define (char-set->sre cs)
  (let ((v (char-set%ranges-of "char-set->sre" cs)))
    (if (= 0 (vector-length v))
        '(or)
        (cons '/ (let loop ((i (- (vector-length v) 2)) (acc '()))
                   (if (< i 0) acc
                       (loop (- i 2) (cons (integer->char (vector-ref v i))
                                           (cons (integer->char (- (vector-ref v (+ i 1)) 1)) acc)))))))))
