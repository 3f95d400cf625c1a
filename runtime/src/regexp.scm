;; SRFI-115: regular expressions in SRE syntax (boot loads this file after
;; time.scm). An SRE is translated here into a pattern of the `regex`
;; crate's syntax, which prim/regexp.rs compiles (once per pattern, in a
;; cache) and runs in time linear in the text. Every submatch is a
;; numbered group of the pattern; names are kept here.

(define-record-type <regexp>
  (regexp%make sre pattern count names)
  regexp?
  (sre regexp%sre)
  (pattern regexp%pattern)
  (count regexp%count)
  (names regexp%names))

(define-record-type <regexp-match>
  (regexp%match regexp string spans)
  regexp-match?
  (regexp regexp%match-regexp)
  (string regexp%match-string)
  (spans regexp%match-spans))

;; ---- SRE to pattern ---------------------------------------------------------

(define (regexp%fail msg sre)
  (error (string-append "regexp: " msg) sre))

;; A character as the pattern writes it: ASCII letters and digits as they
;; are, every other as \x{HEX} (the same inside and outside a class).
(define (regexp%char c)
  (if (or (and (char<=? #\a c) (char<=? c #\z))
          (and (char<=? #\A c) (char<=? c #\Z))
          (and (char<=? #\0 c) (char<=? c #\9)))
      (string c)
      (string-append "\\x{" (number->string (char->integer c) 16) "}")))

(define (regexp%literal s)
  (let loop ((i 0) (acc '()))
    (if (= i (string-length s))
        (apply string-append (reverse acc))
        (loop (+ i 1) (cons (regexp%char (string-ref s i)) acc)))))

;; Named character sets: (names unicode-class ascii-class).
(define regexp%named-sets
  '(((any) "[\\x{0}-\\x{10FFFF}]" "[\\x{0}-\\x{10FFFF}]")
    ((nonl) "[^\\n]" "[^\\n]")
    ((ascii) "[\\x{0}-\\x{7F}]" "[\\x{0}-\\x{7F}]")
    ((lower-case lower) "[\\p{Lowercase}]" "[a-z]")
    ((upper-case upper) "[\\p{Uppercase}]" "[A-Z]")
    ((title-case title) "[\\p{Lt}]" "[\\x{0}&&\\x{1}]")
    ((alphabetic alpha) "[\\p{Alphabetic}]" "[a-zA-Z]")
    ((numeric num digit) "[\\p{Nd}]" "[0-9]")
    ((alphanumeric alphanum alnum) "[\\p{Alphabetic}\\p{Nd}]" "[a-zA-Z0-9]")
    ((punctuation punct) "[\\p{P}]" "[!-/:-@\\[-`{-~&&\\p{P}]")
    ((symbol) "[\\p{S}]" "[!-/:-@\\[-`{-~&&\\p{S}]")
    ((graphic graph) "[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}]" "[!-~]")
    ((whitespace white space) "[\\s]" "[\\t-\\r ]")
    ((printing print) "[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\s]" "[\\t-\\r -~]")
    ((control cntrl) "[\\p{Cc}]" "[\\x{0}-\\x{1F}\\x{7F}]")
    ((hex-digit xdigit) "[0-9a-fA-F]" "[0-9a-fA-F]")))

(define (regexp%named-set sym ascii?)
  (let loop ((l regexp%named-sets))
    (cond ((null? l) #f)
          ((memq sym (caar l)) (if ascii? (caddr (car l)) (cadr (car l))))
          (else (loop (cdr l))))))

;; The class of a char-set's ranges.
(define (regexp%ranges-class v)
  (if (= 0 (vector-length v))
      "[\\x{0}&&\\x{1}]"
      (let loop ((i (- (vector-length v) 2)) (acc '("]")))
        (if (< i 0)
            (apply string-append "[" acc)
            (loop (- i 2)
                  (cons (string-append (regexp%char (integer->char (vector-ref v i))) "-"
                                       (regexp%char (integer->char (- (vector-ref v (+ i 1)) 1))))
                        acc))))))

;; Is sre a character set (something a class can be made of)?
(define (regexp%cset? sre)
  (cond ((char? sre) #t)
        ((char-set? sre) #t)
        ((symbol? sre) (and (regexp%named-set sre #f) #t))
        ((string? sre) (= (string-length sre) 1))
        ((and (pair? sre) (string? (car sre)) (null? (cdr sre))) #t)
        ((not (pair? sre)) #f)
        ((memq (car sre) '(char-set / char-range)) #t)
        ((memq (car sre) '(~ - & and complement difference intersection))
         #t)
        ((memq (car sre) '(or |\||))
         (and (pair? (cdr sre)) (list? (cdr sre))
              (let loop ((l (cdr sre)))
                (or (null? l) (and (regexp%cset? (car l)) (loop (cdr l)))))))
        ((memq (car sre) '(w/nocase w/case w/ascii w/unicode))
         (and (pair? (cdr sre)) (null? (cddr sre)) (regexp%cset? (cadr sre))))
        (else #f)))

;; The class (a "[...]" string) of the character set sre.
(define (regexp%class sre ascii? fold?)
  (define (class-of x) (regexp%class x ascii? fold?))
  (define (ranges items)
    ;; (/ "az" #\0 #\9 ...): characters taken two by two.
    (let ((cs (let loop ((l items) (acc '()))
                (cond ((null? l) (reverse acc))
                      ((char? (car l)) (loop (cdr l) (cons (car l) acc)))
                      ((string? (car l))
                       (loop (cdr l) (append (reverse (string->list (car l))) acc)))
                      (else (regexp%fail "a range wants characters and strings" sre))))))
      (if (odd? (length cs))
          (regexp%fail "a range wants characters in pairs" sre))
      (let loop ((l cs) (acc '()))
        (if (null? l)
            (string-append "[" (apply string-append (reverse acc)) "]")
            (let ((a (car l)) (b (cadr l)))
              (if (char>? a b) (regexp%fail "a range whose end is before its start" sre))
              (loop (cddr l)
                    (cons (string-append (regexp%char a) "-" (regexp%char b)) acc)))))))
  (define (chars s)
    (if (= (string-length s) 0)
        "[\\x{0}&&\\x{1}]"
        (string-append "[" (regexp%literal s) "]")))
  (define (combine op parts)
    (string-append "["
                   (let loop ((l (cdr parts)) (acc (car parts)))
                     (if (null? l) acc (loop (cdr l) (string-append acc op (car l)))))
                   "]"))
  (let ((cls
         (cond ((char? sre) (string-append "[" (regexp%char sre) "]"))
               ((char-set? sre) (regexp%ranges-class (char-set%ranges sre)))
               ((string? sre) (chars sre))
               ((symbol? sre)
                (or (regexp%named-set sre ascii?) (regexp%fail "unknown character set" sre)))
               ((string? (car sre)) (chars (car sre)))
               ((eq? (car sre) 'char-set)
                (let ((x (if (pair? (cdr sre)) (cadr sre) #f)))
                  (cond ((string? x) (chars x))
                        ((char-set? x) (regexp%ranges-class (char-set%ranges x)))
                        (else (regexp%fail "char-set wants a string or a char-set" sre)))))
               ((memq (car sre) '(/ char-range)) (ranges (cdr sre)))
               ((memq (car sre) '(or |\||))
                (string-append "[" (apply string-append (map class-of (cdr sre))) "]"))
               ((memq (car sre) '(~ complement))
                (string-append "[^" (apply string-append (map class-of (cdr sre))) "]"))
               ((memq (car sre) '(- difference))
                (if (null? (cdr sre)) (regexp%fail "- wants a set" sre))
                (combine "--" (map class-of (cdr sre))))
               ((memq (car sre) '(& and intersection))
                (if (null? (cdr sre)) "[\\x{0}-\\x{10FFFF}]"
                    (combine "&&" (map class-of (cdr sre)))))
               ((eq? (car sre) 'w/nocase) (regexp%class (cadr sre) ascii? #t))
               ((eq? (car sre) 'w/case) (regexp%class (cadr sre) ascii? #f))
               ((eq? (car sre) 'w/ascii) (regexp%class (cadr sre) #t fold?))
               ((eq? (car sre) 'w/unicode) (regexp%class (cadr sre) #f fold?))
               (else (regexp%fail "not a character set" sre)))))
    (if fold? (string-append "(?i:" cls ")") cls)))

;; The pattern of sre; submatch numbers and names go in state, a pair
;; (count . names) updated in place.
(define (regexp%compile sre state ascii? fold? capture?)
  (define (sub x) (regexp%compile x state ascii? fold? capture?))
  (define (seq xs) (apply string-append (map sub xs)))
  (define (group xs) (string-append "(?:" (seq xs) ")"))
  (define (count-arg n)
    (if (and (exact-integer? n) (>= n 0)) (number->string n)
        (regexp%fail "a repetition count must be a non-negative exact integer" sre)))
  (define (capture name xs)
    (if capture?
        (begin
          (set-car! state (+ (car state) 1))
          (if name (set-cdr! state (cons (cons name (car state)) (cdr state))))
          (string-append "(" (seq xs) ")"))
        (group xs)))
  (define (folded s) (if fold? (string-append "(?i:" s ")") s))
  (define (within ascii? fold? capture?)
    (string-append "(?:"
                   (apply string-append
                          (map (lambda (x) (regexp%compile x state ascii? fold? capture?)) (cdr sre)))
                   ")"))
  (define (args n)
    (if (not (and (list? sre) (>= (length sre) (+ n 1))))
        (regexp%fail (string-append (symbol->string (car sre)) ": too few arguments") sre)))
  (cond
   ((string? sre) (folded (string-append "(?:" (regexp%literal sre) ")")))
   ((char? sre) (folded (regexp%char sre)))
   ((symbol? sre)
    (case sre
      ((bos) "\\A")
      ((eos) "\\z")
      ((bol) "(?m:^)")
      ((eol) "(?m:$)")
      ((bow) "\\b{start}")
      ((eow) "\\b{end}")
      ((nwb) "\\B")
      ((epsilon) "(?:)")
      ((word) (sub '(word+ any)))
      ((grapheme) "(?:\\r\\n|\\P{M}\\p{M}*)")
      (else (regexp%class sre ascii? fold?))))
   ((char-set? sre) (regexp%class sre ascii? fold?))
   ((not (and (pair? sre) (list? sre))) (regexp%fail "not an SRE" sre))
   ((string? (car sre)) (regexp%class sre ascii? fold?))
   (else
    (case (car sre)
      ((: seq) (group (cdr sre)))
      ((or |\||)
       (cond ((null? (cdr sre)) "[\\x{0}&&\\x{1}]")
             ((regexp%cset? sre) (regexp%class sre ascii? fold?))
             (else
              (let loop ((l (cddr sre)) (acc (sub (cadr sre))))
                (if (null? l)
                    (string-append "(?:" acc ")")
                    (loop (cdr l) (string-append acc "|" (sub (car l)))))))))
      ((*) (string-append (group (cdr sre)) "*"))
      ((+) (string-append (group (cdr sre)) "+"))
      ((?) (string-append (group (cdr sre)) "?"))
      ((*?) (string-append (group (cdr sre)) "*?"))
      ((??) (string-append (group (cdr sre)) "??"))
      ((=) (args 1) (string-append (group (cddr sre)) "{" (count-arg (cadr sre)) "}"))
      ((>=) (args 1) (string-append (group (cddr sre)) "{" (count-arg (cadr sre)) ",}"))
      ((** **?)
       (args 2)
       (let ((from (cadr sre)) (to (caddr sre)))
         (count-arg from)
         (if (and to (not (exact-integer? to))) (count-arg to))
         (cond ((and to (> from to))
                ;; Nothing can repeat more than at most: no match.
                "[\\x{0}&&\\x{1}]")
               (else
                (string-append (group (cdddr sre)) "{" (number->string from) ","
                               (if to (number->string to) "") "}"
                               (if (eq? (car sre) '**?) "?" ""))))))
      ((submatch $) (capture #f (cdr sre)))
      ((submatch-named ->)
       (args 1)
       (capture (cadr sre) (cddr sre)))
      ;; The flags hold inside: case folding, ASCII classes, capturing.
      ((w/nocase) (within ascii? #t capture?))
      ((w/case) (within ascii? #f capture?))
      ((w/ascii) (within #t fold? capture?))
      ((w/unicode) (within #f fold? capture?))
      ((w/nocapture) (within ascii? fold? #f))
      ((word) (string-append "\\b{start}" (group (cdr sre)) "\\b{end}"))
      ((word+)
       (sub `(word (+ (and (or alphanumeric #\_) (or ,@(cdr sre)))))))
      ((look-ahead look-behind neg-look-ahead neg-look-behind)
       (regexp%fail "look-around is not supported (the engine runs in linear time)" sre))
      ((backref)
       (regexp%fail "back-references are not supported (the engine runs in linear time)" sre))
      (else
       (if (regexp%cset? sre)
           (regexp%class sre ascii? fold?)
           (regexp%fail "unknown SRE operator" sre)))))))

(define (regexp re)
  (cond ((regexp? re) re)
        ((char-set? re) (regexp (char-set->sre re)))
        (else
         (let* ((state (cons 0 '()))
                (pattern (regexp%compile re state #f #f #t))
                (count (%regexp-compile pattern)))
           (regexp%make re pattern count (reverse (cdr state)))))))

(define-syntax rx
  (syntax-rules ()
    ((_ sre ...) (regexp `(: sre ...)))))

(define (regexp->sre re) (regexp%sre (regexp re)))

(define (valid-sre? x)
  (call/cc
   (lambda (k)
     (with-exception-handler
      (lambda (e) (k #f))
      (lambda () (regexp%compile x (cons 0 '()) #f #f #t) #t)))))

;; ---- matching ---------------------------------------------------------------

(define (regexp%range who str args)
  (if (not (string? str)) (error (string-append who ": expected a string") str))
  (let* ((len (string-length str))
         (start (if (pair? args) (car args) 0))
         (end (if (and (pair? args) (pair? (cdr args)) (cadr args)) (cadr args) len)))
    (if (not (and (exact-integer? start) (exact-integer? end)
                  (<= 0 start end len)))
        (error (string-append who ": bad range") start end))
    (values start end)))

(define (regexp%exec re str start end mode)
  (let* ((re (regexp re))
         (r (%regexp-exec (regexp%pattern re) str start end mode)))
    (cond ((not r) #f)
          ((= mode 2) (map (lambda (spans) (regexp%match re str spans)) r))
          (else (regexp%match re str r)))))

(define (regexp-search re str . range)
  (call-with-values (lambda () (regexp%range "regexp-search" str range))
    (lambda (start end) (regexp%exec re str start end 0))))

(define (regexp-matches re str . range)
  (call-with-values (lambda () (regexp%range "regexp-matches" str range))
    (lambda (start end) (regexp%exec re str start end 1))))

(define (regexp-matches? re str . range)
  (and (apply regexp-matches re str range) #t))

;; The spans of every match of re in str[start..end], in order: vectors
;; #(start0 end0 start1 end1 ...), made into match objects as needed.
(define (regexp%all who re str start end)
  (%regexp-exec (regexp%pattern (regexp re)) str start end 2))

(define (regexp-fold re kons knil str . opt)
  (let* ((finish (if (pair? opt) (car opt) (lambda (i m str acc) acc)))
         (range (if (pair? opt) (cdr opt) '()))
         (re (regexp re)))
    (call-with-values (lambda () (regexp%range "regexp-fold" str range))
      (lambda (start end)
        (let loop ((ms (regexp%all "regexp-fold" re str start end)) (i start) (acc knil))
          (if (null? ms)
              (finish i #f str acc)
              (let ((spans (car ms)))
                (loop (cdr ms) (vector-ref spans 1)
                      (kons i (regexp%match re str spans) str acc)))))))))

(define (regexp-extract re str . range)
  (call-with-values (lambda () (regexp%range "regexp-extract" str range))
    (lambda (start end)
      (let loop ((ms (regexp%all "regexp-extract" re str start end)) (acc '()))
        (if (null? ms)
            (reverse acc)
            (let ((s (vector-ref (car ms) 0)) (e (vector-ref (car ms) 1)))
              (loop (cdr ms) (if (= s e) acc (cons (substring str s e) acc)))))))))

(define (regexp-split re str . range)
  (call-with-values (lambda () (regexp%range "regexp-split" str range))
    (lambda (start end)
      (let loop ((ms (regexp%all "regexp-split" re str start end)) (i start) (acc '()))
        (if (null? ms)
            (reverse (cons (substring str i end) acc))
            (let ((ms-start (vector-ref (car ms) 0))
                  (ms-end (vector-ref (car ms) 1)))
              (if (= ms-start ms-end)
                  ;; An empty match splits only between characters.
                  (if (or (= ms-start start) (= ms-start end) (= ms-start i))
                      (loop (cdr ms) i acc)
                      (loop (cdr ms) ms-start (cons (substring str i ms-start) acc)))
                  (loop (cdr ms) ms-end (cons (substring str i ms-start) acc)))))))))

(define (regexp-partition re str . range)
  (call-with-values (lambda () (regexp%range "regexp-partition" str range))
    (lambda (start end)
      (let loop ((ms (regexp%all "regexp-partition" re str start end)) (i start) (acc '()))
        (if (null? ms)
            (reverse (if (or (< i end) (null? acc)) (cons (substring str i end) acc) acc))
            (let ((s (vector-ref (car ms) 0)) (e (vector-ref (car ms) 1)))
              (if (= s e)
                  (loop (cdr ms) i acc)
                  (loop (cdr ms) e (cons (substring str s e) (cons (substring str i s) acc))))))))))

;; The text subst stands for, for match m of str.
(define (regexp%subst who m str subst)
  (cond ((string? subst) subst)
        ((or (exact-integer? subst) (symbol? subst))
         (case subst
           ((pre) (substring str 0 (regexp-match-submatch-start m 0)))
           ((post) (substring str (regexp-match-submatch-end m 0) (string-length str)))
           (else (or (regexp-match-submatch m subst) ""))))
        ((procedure? subst) (subst m))
        ((list? subst)
         (apply string-append (map (lambda (x) (regexp%subst who m str x)) subst)))
        (else (error (string-append who ": bad substitution") subst))))

(define (regexp-replace re str subst . opt)
  (let* ((start (if (pair? opt) (car opt) 0))
         (end (if (and (pair? opt) (pair? (cdr opt)) (cadr opt))
                  (cadr opt)
                  (if (string? str) (string-length str) 0)))
         (count (if (and (pair? opt) (pair? (cdr opt)) (pair? (cddr opt))) (caddr opt) 0))
         (re (regexp re)))
    (regexp%range "regexp-replace" str (list start end))
    (if (not (and (exact-integer? count) (>= count 0)))
        (error "regexp-replace: expected a non-negative count" count))
    (let loop ((ms (regexp%all "regexp-replace" re str start end)) (k 0))
      (cond ((null? ms) str)
            ((< k count) (loop (cdr ms) (+ k 1)))
            (else
             (let ((m (regexp%match re str (car ms))))
               (string-append (substring str 0 (regexp-match-submatch-start m 0))
                              (regexp%subst "regexp-replace" m str subst)
                              (substring str (regexp-match-submatch-end m 0)
                                         (string-length str)))))))))

(define (regexp-replace-all re str subst . range)
  (let ((re (regexp re)))
    (call-with-values (lambda () (regexp%range "regexp-replace-all" str range))
      (lambda (start end)
        (let loop ((ms (regexp%all "regexp-replace-all" re str start end)) (i 0) (acc '()))
          (if (null? ms)
              (apply string-append (reverse (cons (substring str i (string-length str)) acc)))
              (let ((m (regexp%match re str (car ms))))
                (loop (cdr ms) (vector-ref (car ms) 1)
                      (cons (regexp%subst "regexp-replace-all" m str subst)
                            (cons (substring str i (vector-ref (car ms) 0)) acc))))))))))

;; ---- match objects -------------------------------------------------------------

(define (regexp%field who m field)
  (if (not (regexp-match? m)) (error (string-append who ": expected a regexp match") m))
  (let ((n (regexp%count (regexp%match-regexp m))))
    (cond ((and (exact-integer? field) (<= 0 field n)) field)
          ((and (symbol? field) (assq field (regexp%names (regexp%match-regexp m))))
           => cdr)
          (else (error (string-append who ": no such submatch") field)))))

(define (regexp-match-count m)
  (if (not (regexp-match? m)) (error "regexp-match-count: expected a regexp match" m))
  (regexp%count (regexp%match-regexp m)))

(define (regexp-match-submatch-start m field)
  (vector-ref (regexp%match-spans m) (* 2 (regexp%field "regexp-match-submatch-start" m field))))

(define (regexp-match-submatch-end m field)
  (vector-ref (regexp%match-spans m)
              (+ 1 (* 2 (regexp%field "regexp-match-submatch-end" m field)))))

(define (regexp-match-submatch m field)
  (let* ((k (regexp%field "regexp-match-submatch" m field))
         (spans (regexp%match-spans m))
         (s (vector-ref spans (* 2 k))))
    (and s (substring (regexp%match-string m) s (vector-ref spans (+ 1 (* 2 k)))))))

(define (regexp-match->list m)
  (let loop ((k (regexp-match-count m)) (acc '()))
    (if (< k 0) acc (loop (- k 1) (cons (regexp-match-submatch m k) acc)))))
