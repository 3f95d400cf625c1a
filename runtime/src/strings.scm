;; SRFI-130 (cursor-based string library), with the names SRFI-13 adds
;; that programs use (string-tokenize, string-pad-left, string-titlecase):
;; boot loads this file after charset.scm. Strings index in constant time,
;; so a cursor is an index: every procedure takes cursors or indices
;; alike. Where a procedure takes a predicate it also takes a character or
;; a char-set (as SRFI-13 does). Searches return #f when nothing is found
;; (SRFI-13's convention; SRFI-130 returns the end cursor).

(define (string%check who s)
  (if (not (string? s)) (error (string-append who ": expected a string") s)))

;; The start and end given in opt (a list), checked against s.
(define (string%range who s opt)
  (string%check who s)
  (let* ((len (string-length s))
         (start (if (pair? opt) (car opt) 0))
         (end (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) len)))
    (if (not (and (exact-integer? start) (exact-integer? end) (<= 0 start end len)))
        (error (string-append who ": bad range") start end len))
    (values start end)))

;; A character predicate from a predicate, a character or a char-set.
(define (string%pred who x)
  (cond ((procedure? x) x)
        ((char? x) (lambda (c) (char=? c x)))
        ((char-set? x) (lambda (c) (char-set-contains? x c)))
        (else (error (string-append who ": expected a predicate, a character or a char-set") x))))

;; ---- cursors ----------------------------------------------------------------

(define (string-cursor? x) (and (exact-integer? x) (>= x 0)))
(define (string-cursor-start s) (string%check "string-cursor-start" s) 0)
(define (string-cursor-end s) (string%check "string-cursor-end" s) (string-length s))
(define (string%cursor who s c)
  (string%check who s)
  (if (not (and (exact-integer? c) (<= 0 c (string-length s))))
      (error (string-append who ": not a cursor of the string") c))
  c)
(define (string-cursor-next s c)
  (let ((c (string%cursor "string-cursor-next" s c)))
    (if (= c (string-length s)) (error "string-cursor-next: at the end" c))
    (+ c 1)))
(define (string-cursor-prev s c)
  (let ((c (string%cursor "string-cursor-prev" s c)))
    (if (= c 0) (error "string-cursor-prev: at the start" c))
    (- c 1)))
(define (string-cursor-forward s c n) (string%cursor "string-cursor-forward" s (+ (string%cursor "string-cursor-forward" s c) n)))
(define (string-cursor-back s c n) (string%cursor "string-cursor-back" s (- (string%cursor "string-cursor-back" s c) n)))
(define (string-cursor=? a b) (= a b))
(define (string-cursor<? a b) (< a b))
(define (string-cursor>? a b) (> a b))
(define (string-cursor<=? a b) (<= a b))
(define (string-cursor>=? a b) (>= a b))
(define (string-cursor-diff s start end)
  (- (string%cursor "string-cursor-diff" s end) (string%cursor "string-cursor-diff" s start)))
(define (string-cursor->index s c) (string%cursor "string-cursor->index" s c))
(define (string-index->cursor s i) (string%cursor "string-index->cursor" s i))
(define (string-ref/cursor s c) (string-ref s c))
(define (substring/cursors s start end) (substring s start end))
(define (string-copy/cursors s . opt)
  (call-with-values (lambda () (string%range "string-copy/cursors" s opt))
    (lambda (start end) (substring s start end))))
(define (string->list/cursors s . opt) (apply string->list s opt))
(define (string->vector/cursors s . opt) (apply string->vector s opt))

;; ---- predicates, constructors, conversion -----------------------------------------

(define (string-null? s) (string%check "string-null?" s) (= 0 (string-length s)))

(define (string-every pred s . opt)
  (let ((pred (string%pred "string-every" pred)))
    (call-with-values (lambda () (string%range "string-every" s opt))
      (lambda (start end)
        (let loop ((i start) (last #t))
          (if (= i end)
              last
              (let ((r (pred (string-ref s i)))) (and r (loop (+ i 1) r)))))))))

(define (string-any pred s . opt)
  (let ((pred (string%pred "string-any" pred)))
    (call-with-values (lambda () (string%range "string-any" s opt))
      (lambda (start end)
        (let loop ((i start))
          (and (< i end) (or (pred (string-ref s i)) (loop (+ i 1)))))))))

(define (string-tabulate proc len)
  (if (not (and (exact-integer? len) (>= len 0))) (error "string-tabulate: expected a length" len))
  (let ((s (make-string len)))
    (do ((i 0 (+ i 1))) ((= i len) s)
      (let ((c (proc i)))
        (if (not (char? c)) (error "string-tabulate: the procedure gave a non-character" c))
        (string-set! s i c)))))

;; The text a mapper's result adds: a character or a string.
(define (string%piece who x)
  (cond ((char? x) (string x))
        ((string? x) x)
        (else (error (string-append who ": expected a character or a string") x))))

(define (string-unfold stop? mapper successor seed . opt)
  (let ((base (if (pair? opt) (car opt) ""))
        (make-final (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) (lambda (x) ""))))
    (let loop ((seed seed) (acc (list base)))
      (if (stop? seed)
          (apply string-append (reverse (cons (string%piece "string-unfold" (make-final seed)) acc)))
          (loop (successor seed) (cons (string%piece "string-unfold" (mapper seed)) acc))))))

(define (string-unfold-right stop? mapper successor seed . opt)
  (let ((base (if (pair? opt) (car opt) ""))
        (make-final (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) (lambda (x) ""))))
    (let loop ((seed seed) (acc (list base)))
      (if (stop? seed)
          (apply string-append (cons (string%piece "string-unfold-right" (make-final seed)) acc))
          (loop (successor seed) (cons (string%piece "string-unfold-right" (mapper seed)) acc))))))

(define (reverse-list->string chars) (list->string (reverse chars)))

;; ---- selection ------------------------------------------------------------------------

(define (string%count who s n)
  (string%check who s)
  (if (not (and (exact-integer? n) (<= 0 n (string-length s))))
      (error (string-append who ": count out of range") n (string-length s))))
(define (string-take s n) (string%count "string-take" s n) (substring s 0 n))
(define (string-drop s n) (string%count "string-drop" s n) (substring s n (string-length s)))
(define (string-take-right s n)
  (string%count "string-take-right" s n)
  (substring s (- (string-length s) n) (string-length s)))
(define (string-drop-right s n)
  (string%count "string-drop-right" s n)
  (substring s 0 (- (string-length s) n)))

;; (string-pad s len [char start end]): s[start..end] right-aligned in len
;; characters: padded on the left, or its leftmost characters dropped.
(define (string-pad s len . opt)
  (let ((c (if (pair? opt) (car opt) #\space)))
    (call-with-values (lambda () (string%range "string-pad" s (if (pair? opt) (cdr opt) '())))
      (lambda (start end)
        (if (not (and (exact-integer? len) (>= len 0))) (error "string-pad: expected a length" len))
        (if (not (char? c)) (error "string-pad: expected a character" c))
        (let ((n (- end start)))
          (if (>= n len)
              (substring s (- end len) end)
              (string-append (make-string (- len n) c) (substring s start end))))))))
(define (string-pad-left s len . opt) (apply string-pad s len opt))

(define (string-pad-right s len . opt)
  (let ((c (if (pair? opt) (car opt) #\space)))
    (call-with-values (lambda () (string%range "string-pad-right" s (if (pair? opt) (cdr opt) '())))
      (lambda (start end)
        (if (not (and (exact-integer? len) (>= len 0))) (error "string-pad-right: expected a length" len))
        (if (not (char? c)) (error "string-pad-right: expected a character" c))
        (let ((n (- end start)))
          (if (>= n len)
              (substring s start (+ start len))
              (string-append (substring s start end) (make-string (- len n) c))))))))

(define (string%trim-args who opt)
  (values (string%pred who (if (pair? opt) (car opt) char-whitespace?))
          (if (pair? opt) (cdr opt) '())))

(define (string-trim s . opt)
  (call-with-values (lambda () (string%trim-args "string-trim" opt))
    (lambda (pred range)
      (call-with-values (lambda () (string%range "string-trim" s range))
        (lambda (start end)
          (let loop ((i start))
            (if (and (< i end) (pred (string-ref s i))) (loop (+ i 1)) (substring s i end))))))))

(define (string-trim-right s . opt)
  (call-with-values (lambda () (string%trim-args "string-trim-right" opt))
    (lambda (pred range)
      (call-with-values (lambda () (string%range "string-trim-right" s range))
        (lambda (start end)
          (let loop ((i end))
            (if (and (> i start) (pred (string-ref s (- i 1)))) (loop (- i 1)) (substring s start i))))))))

(define (string-trim-both s . opt)
  (call-with-values (lambda () (string%trim-args "string-trim-both" opt))
    (lambda (pred range)
      (call-with-values (lambda () (string%range "string-trim-both" s range))
        (lambda (start end)
          (let* ((a (let loop ((i start)) (if (and (< i end) (pred (string-ref s i))) (loop (+ i 1)) i)))
                 (b (let loop ((i end)) (if (and (> i a) (pred (string-ref s (- i 1)))) (loop (- i 1)) i))))
            (substring s a b)))))))

;; ---- prefixes and suffixes ----------------------------------------------------------------

;; The two ranges of (s1 s2 [start1 end1 start2 end2]).
(define (string%two who s1 s2 opt)
  (call-with-values (lambda () (string%range who s1 (if (pair? opt) opt '())))
    (lambda (start1 end1)
      (call-with-values (lambda () (string%range who s2 (if (and (pair? opt) (pair? (cdr opt))) (cddr opt) '())))
        (lambda (start2 end2) (values start1 end1 start2 end2))))))

(define (string-prefix-length s1 s2 . opt)
  (call-with-values (lambda () (string%two "string-prefix-length" s1 s2 opt))
    (lambda (start1 end1 start2 end2)
      (let loop ((i start1) (j start2))
        (if (and (< i end1) (< j end2) (char=? (string-ref s1 i) (string-ref s2 j)))
            (loop (+ i 1) (+ j 1))
            (- i start1))))))

(define (string-suffix-length s1 s2 . opt)
  (call-with-values (lambda () (string%two "string-suffix-length" s1 s2 opt))
    (lambda (start1 end1 start2 end2)
      (let loop ((i end1) (j end2))
        (if (and (> i start1) (> j start2) (char=? (string-ref s1 (- i 1)) (string-ref s2 (- j 1))))
            (loop (- i 1) (- j 1))
            (- end1 i))))))

(define (string-prefix? s1 s2 . opt)
  (call-with-values (lambda () (string%two "string-prefix?" s1 s2 opt))
    (lambda (start1 end1 start2 end2)
      (and (<= (- end1 start1) (- end2 start2))
           (= (string-prefix-length s1 s2 start1 end1 start2 end2) (- end1 start1))))))

(define (string-suffix? s1 s2 . opt)
  (call-with-values (lambda () (string%two "string-suffix?" s1 s2 opt))
    (lambda (start1 end1 start2 end2)
      (and (<= (- end1 start1) (- end2 start2))
           (= (string-suffix-length s1 s2 start1 end1 start2 end2) (- end1 start1))))))

;; ---- searching ----------------------------------------------------------------------------

(define (string-index s pred . opt)
  (let ((pred (string%pred "string-index" pred)))
    (call-with-values (lambda () (string%range "string-index" s opt))
      (lambda (start end)
        (let loop ((i start))
          (cond ((= i end) #f) ((pred (string-ref s i)) i) (else (loop (+ i 1)))))))))

(define (string-index-right s pred . opt)
  (let ((pred (string%pred "string-index-right" pred)))
    (call-with-values (lambda () (string%range "string-index-right" s opt))
      (lambda (start end)
        (let loop ((i end))
          (cond ((= i start) #f) ((pred (string-ref s (- i 1))) (- i 1)) (else (loop (- i 1)))))))))

(define (string-skip s pred . opt)
  (let ((pred (string%pred "string-skip" pred)))
    (apply string-index s (lambda (c) (not (pred c))) opt)))

(define (string-skip-right s pred . opt)
  (let ((pred (string%pred "string-skip-right" pred)))
    (apply string-index-right s (lambda (c) (not (pred c))) opt)))

(define (string-contains s1 s2 . opt)
  (call-with-values (lambda () (string%two "string-contains" s1 s2 opt))
    (lambda (start1 end1 start2 end2) (%string-search s1 s2 start1 end1 start2 end2 #f))))

(define (string-contains-right s1 s2 . opt)
  (call-with-values (lambda () (string%two "string-contains-right" s1 s2 opt))
    (lambda (start1 end1 start2 end2) (%string-search s1 s2 start1 end1 start2 end2 #t))))

;; ---- the whole string ---------------------------------------------------------------------

(define (string-reverse s . opt)
  (call-with-values (lambda () (string%range "string-reverse" s opt))
    (lambda (start end) (list->string (reverse (string->list s start end))))))

(define (string-concatenate strings)
  (if (not (list? strings)) (error "string-concatenate: expected a list of strings" strings))
  (for-each (lambda (s) (string%check "string-concatenate" s)) strings)
  (apply string-append strings))

(define (string-concatenate-reverse strings . opt)
  (let* ((final (if (pair? opt) (car opt) ""))
         (end (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) (string-length final))))
    (string-concatenate (reverse (cons (substring final 0 end) strings)))))

(define (string-fold kons knil s . opt)
  (call-with-values (lambda () (string%range "string-fold" s opt))
    (lambda (start end)
      (let loop ((i start) (acc knil))
        (if (= i end) acc (loop (+ i 1) (kons (string-ref s i) acc)))))))

(define (string-fold-right kons knil s . opt)
  (call-with-values (lambda () (string%range "string-fold-right" s opt))
    (lambda (start end)
      (let loop ((i end) (acc knil))
        (if (= i start) acc (loop (- i 1) (kons (string-ref s (- i 1)) acc)))))))

(define (string-for-each-cursor proc s . opt)
  (call-with-values (lambda () (string%range "string-for-each-cursor" s opt))
    (lambda (start end)
      (do ((i start (+ i 1))) ((= i end)) (proc i)))))

;; The characters from..to of the endless repetition of s[start..end]
;; (SRFI-13's xsubstring).
(define (string-replicate s from . opt)
  (let ((to (if (pair? opt) (car opt) #f)))
    (call-with-values (lambda () (string%range "string-replicate" s (if (pair? opt) (cdr opt) '())))
      (lambda (start end)
        (let* ((n (- end start))
               (to (or to (+ from n))))
          (if (not (and (exact-integer? from) (exact-integer? to) (<= from to)))
              (error "string-replicate: bad range" from to))
          (if (and (= n 0) (< from to)) (error "string-replicate: an empty string repeats nothing" s))
          (let ((out (make-string (- to from))))
            (do ((i from (+ i 1))) ((= i to) out)
              (string-set! out (- i from) (string-ref s (+ start (modulo i n)))))))))))
(define (xsubstring s from . opt) (apply string-replicate s from opt))

(define (string-count s pred . opt)
  (let ((pred (string%pred "string-count" pred)))
    (call-with-values (lambda () (string%range "string-count" s opt))
      (lambda (start end)
        (let loop ((i start) (n 0))
          (if (= i end) n (loop (+ i 1) (if (pred (string-ref s i)) (+ n 1) n))))))))

;; s1 with s1[start1..end1] replaced by s2[start2..end2].
(define (string-replace s1 s2 start1 end1 . opt)
  (call-with-values (lambda () (string%range "string-replace" s1 (list start1 end1)))
    (lambda (start1 end1)
      (call-with-values (lambda () (string%range "string-replace" s2 opt))
        (lambda (start2 end2)
          (string-append (substring s1 0 start1) (substring s2 start2 end2)
                         (substring s1 end1 (string-length s1))))))))

;; (string-split s [delimiter grammar limit start end]): the fields of s
;; between occurrences of delimiter (a string or a character); with no
;; delimiter, the runs of non-whitespace. grammar: infix (the default),
;; strict-infix (an empty s is an error), prefix (a leading empty field is
;; dropped), suffix (a trailing one is). At most limit splits are made.
(define (string-split s . opt)
  (let* ((delim (if (pair? opt) (car opt) #f))
         (grammar (if (and (pair? opt) (pair? (cdr opt))) (cadr opt) 'infix))
         (rest (if (and (pair? opt) (pair? (cdr opt))) (cddr opt) '()))
         (limit (if (pair? rest) (car rest) #f))
         (range (if (pair? rest) (cdr rest) '())))
    (call-with-values (lambda () (string%range "string-split" s range))
      (lambda (start end)
        (if (not (memq grammar '(infix strict-infix prefix suffix)))
            (error "string-split: grammar must be infix, strict-infix, prefix or suffix" grammar))
        (if (and limit (not (and (exact-integer? limit) (>= limit 0))))
            (error "string-split: expected a limit of splits" limit))
        (cond
         ((not delim) (string-tokenize s (char-set-complement char-set:whitespace) start end))
         ((and (= start end) (eq? grammar 'strict-infix))
          (error "string-split: an empty string under strict-infix" s))
         ((= start end) '())
         (else
          (let* ((d (cond ((char? delim) (string delim))
                          ((string? delim) delim)
                          (else (error "string-split: expected a string or a character delimiter" delim))))
                 (m (string-length d)))
            (if (= m 0) (error "string-split: the delimiter is empty" delim))
            (let loop ((i start) (from start) (splits 0) (acc '()))
              (cond
               ((or (> (+ i m) end) (and limit (= splits limit)))
                (let ((fields (reverse (cons (substring s from end) acc))))
                  (let* ((fields (if (and (eq? grammar 'prefix) (pair? fields) (string-null? (car fields)))
                                     (cdr fields) fields))
                         (fields (if (and (eq? grammar 'suffix) (pair? fields)
                                          (string-null? (car (last-pair fields))))
                                     (reverse (cdr (reverse fields))) fields)))
                    fields)))
               ((string-prefix? d s 0 m i (+ i m))
                (loop (+ i m) (+ i m) (+ splits 1) (cons (substring s from i) acc)))
               (else (loop (+ i 1) from splits acc)))))))))))

(define (string-filter pred s . opt)
  ;; SRFI-13 put the string first: either order is taken.
  (if (and (string? pred) (not (string? s)))
      (apply string-filter s pred opt)
      (let ((pred (string%pred "string-filter" pred)))
        (call-with-values (lambda () (string%range "string-filter" s opt))
          (lambda (start end)
            (let loop ((i start) (acc '()))
              (if (= i end)
                  (list->string (reverse acc))
                  (loop (+ i 1) (let ((c (string-ref s i))) (if (pred c) (cons c acc) acc))))))))))

(define (string-remove pred s . opt)
  (if (and (string? pred) (not (string? s)))
      (apply string-remove s pred opt)
      (let ((pred (string%pred "string-remove" pred)))
        (apply string-filter (lambda (c) (not (pred c))) s opt))))
(define (string-delete pred s . opt) (apply string-remove pred s opt))

;; ---- from SRFI-13 -----------------------------------------------------------------------

;; The maximal runs of characters of token-set (default: the graphic
;; ones) in s[start..end].
(define (string-tokenize s . opt)
  (let ((pred (string%pred "string-tokenize" (if (pair? opt) (car opt) char-set:graphic))))
    (call-with-values (lambda () (string%range "string-tokenize" s (if (pair? opt) (cdr opt) '())))
      (lambda (start end)
        (let loop ((i start) (acc '()))
          (let ((a (let skip ((i i)) (if (and (< i end) (not (pred (string-ref s i)))) (skip (+ i 1)) i))))
            (if (= a end)
                (reverse acc)
                (let ((b (let run ((i a)) (if (and (< i end) (pred (string-ref s i))) (run (+ i 1)) i))))
                  (loop b (cons (substring s a b) acc))))))))))

;; Each word (a run of letters) with its first letter in title case and
;; the rest in lower case.
(define (string-titlecase s . opt)
  (call-with-values (lambda () (string%range "string-titlecase" s opt))
    (lambda (start end)
      (let ((out (string-copy s start end)))
        (let loop ((i 0) (in-word #f))
          (if (= i (string-length out))
              out
              (let ((c (string-ref out i)))
                (if (char-alphabetic? c)
                    (begin
                      (string-set! out i (if in-word (char-downcase c) (char-upcase c)))
                      (loop (+ i 1) #t))
                    (loop (+ i 1) #f)))))))))
