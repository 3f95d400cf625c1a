;; R7RS 6.6 Characters: char?, comparisons (several arguments, -ci),
;; classification, digit-value, char<->integer, case mappings, names.
(load "check.scm")

;; char?
(check (char? #\a) => #t)
(check (char? #\x03BB) => #t)
(check (char? "a") => #f)
(check (char? 97) => #f)
(check (char? 'a) => #f)

;; Character names (the report's table) and hex escapes.
(check (char->integer #\alarm) => 7)
(check (char->integer #\backspace) => 8)
(check (char->integer #\delete) => #x7F)
(check (char->integer #\escape) => #x1B)
(check (char->integer #\newline) => 10)
(check (char->integer #\null) => 0)
(check (char->integer #\return) => 13)
(check (char->integer #\space) => 32)
(check (char->integer #\tab) => 9)
(check (char->integer #\ ) => 32)
(check (char->integer #\x41) => 65)
(check #\x41 => #\A)
(check #\x03BB => (integer->char #x3BB))
(check #\x3bb => #\x3BB)
(check (char->integer #\x) => 120)
(check (char->integer #\() => 40)
(check (char->integer #\λ) => #x3BB)
(check (char->integer #\x10FFFF) => #x10FFFF)
(check (char=? #\a #\A) => #f)
(check (read (open-input-string "#\\space")) => #\space)
(check (read (open-input-string "#\\x41")) => #\A)
(check (read (open-input-string "#\\a")) => #\a)
(check (let ((p (open-output-string))) (write #\a p) (get-output-string p)) => "#\\a")
(check (let ((p (open-output-string))) (display #\a p) (get-output-string p)) => "a")
(check (let ((p (open-output-string))) (write #\space p)
         (read (open-input-string (get-output-string p)))) => #\space)
(check (let ((p (open-output-string))) (write #\alarm p)
         (read (open-input-string (get-output-string p)))) => #\alarm)
(check (let ((p (open-output-string))) (write #\x3BB p)
         (read (open-input-string (get-output-string p)))) => #\x3BB)

;; Comparisons, two and several arguments.
(check (char=? #\a #\a) => #t)
(check (char=? #\a #\b) => #f)
(check (char=? #\a #\a #\a) => #t)
(check (char=? #\a #\a #\b) => #f)
(check (char<? #\a #\b) => #t)
(check (char<? #\a #\b #\c) => #t)
(check (char<? #\a #\c #\b) => #f)
(check (char<? #\a #\b #\a) => #f)
(check (char<? #\a #\a) => #f)
(check (char<? #\A #\a) => #t)
(check (char>? #\c #\b #\a) => #t)
(check (char>? #\c #\a #\b) => #f)
(check (char>? #\a #\a) => #f)
(check (char<=? #\a #\a #\b) => #t)
(check (char<=? #\a #\b #\a) => #f)
(check (char>=? #\c #\c #\a) => #t)
(check (char>=? #\c #\a #\b) => #f)
(check (char<? #\z #\x3BB) => #t)
(check (char<? #\x3BB #\x10000) => #t)

;; -ci comparisons: as if char-foldcase were applied.
(check (char-ci=? #\A #\a) => #t)
(check (char-ci=? #\a #\A #\a) => #t)
(check (char-ci=? #\a #\A #\b) => #f)
(check (char-ci<? #\a #\B #\c) => #t)
(check (char-ci<? #\a #\B #\b) => #f)
(check (char-ci>? #\C #\b #\A) => #t)
(check (char-ci>? #\C #\b #\B) => #f)
(check (char-ci<=? #\a #\A #\b) => #t)
(check (char-ci<=? #\b #\A) => #f)
(check (char-ci>=? #\B #\b #\A) => #t)
(check (char-ci>=? #\a #\B) => #f)
;; ASCII codes: #\Z < #\_ < #\a, but folded: #\z > #\_
(check (char<? #\Z #\_) => #t)
(check (char-ci<? #\Z #\_) => #f)
(check (char-ci=? #\x3C2 #\x3C3 #\x3A3) => #t)   ; ς σ Σ
(check (char-ci=? #\Ж #\ж) => #t)
(check (char-ci=? #\Ä #\ä) => #t)

;; Classification.
(check (char-alphabetic? #\a) => #t)
(check (char-alphabetic? #\Z) => #t)
(check (char-alphabetic? #\1) => #f)
(check (char-alphabetic? #\space) => #f)
(check (char-alphabetic? #\x3BB) => #t)
(check (char-alphabetic? #\x4E00) => #t)          ; CJK ideograph
(check (char-alphabetic? #\-) => #f)
(check (char-numeric? #\0) => #t)
(check (char-numeric? #\9) => #t)
(check (char-numeric? #\a) => #f)
(check (char-numeric? #\x0664) => #t)             ; ARABIC-INDIC DIGIT FOUR
(check (char-numeric? #\x00BD) => #f)             ; ½: Numeric_Type=Numeric
(check (char-numeric? #\x00B2) => #f)             ; ²: Numeric_Type=Digit
(check (char-whitespace? #\space) => #t)
(check (char-whitespace? #\tab) => #t)
(check (char-whitespace? #\newline) => #t)
(check (char-whitespace? #\return) => #t)
(check (char-whitespace? #\x0C) => #t)
(check (char-whitespace? #\x00A0) => #t)          ; NO-BREAK SPACE
(check (char-whitespace? #\x3000) => #t)          ; IDEOGRAPHIC SPACE
(check (char-whitespace? #\a) => #f)
(check (char-whitespace? #\x200B) => #f)          ; ZERO WIDTH SPACE is not White_Space
(check (char-upper-case? #\A) => #t)
(check (char-upper-case? #\a) => #f)
(check (char-upper-case? #\1) => #f)
(check (char-upper-case? #\x3A3) => #t)
(check (char-upper-case? #\Ж) => #t)
(check (char-lower-case? #\a) => #t)
(check (char-lower-case? #\A) => #f)
(check (char-lower-case? #\x3C2) => #t)
(check (char-lower-case? #\ß) => #t)
(check (char-lower-case? #\1) => #f)
(check (char-upper-case? #\x4E00) => #f)          ; alphabetic, neither case
(check (char-lower-case? #\x4E00) => #f)

;; digit-value (report's examples first).
(check (digit-value #\3) => 3)
(check (digit-value #\x0664) => 4)
(check (digit-value #\x0AE6) => 0)
(check (digit-value #\x0EA6) => #f)
(check (digit-value #\0) => 0)
(check (digit-value #\9) => 9)
(check (digit-value #\a) => #f)
(check (digit-value #\space) => #f)
(check (digit-value #\xFF19) => 9)                ; FULLWIDTH DIGIT NINE
(check (digit-value #\x00BD) => #f)

;; char->integer / integer->char
(check (char->integer #\a) => 97)
(check (integer->char 97) => #\a)
(check (integer->char #x3BB) => #\x3BB)
(check (char->integer (integer->char 5000)) => 5000)
(check (char->integer (integer->char #x1F600)) => #x1F600)
(check (integer->char 0) => #\null)
(check (char<? (integer->char 100) (integer->char 200)) => #t)
(check-error (integer->char -1))
(check-error (integer->char #x110000))
(check-error (integer->char #xD800))
(check-error (char->integer "a"))

;; Case mappings: ASCII.
(check (char-upcase #\a) => #\A)
(check (char-upcase #\A) => #\A)
(check (char-downcase #\A) => #\a)
(check (char-downcase #\a) => #\a)
(check (char-foldcase #\A) => #\a)
(check (char-foldcase #\a) => #\a)
(check (char-upcase #\1) => #\1)
(check (char-downcase #\-) => #\-)
(check (char-foldcase #\space) => #\space)
;; Latin-1
(check (char-upcase #\ä) => #\Ä)
(check (char-downcase #\Ö) => #\ö)
(check (char-foldcase #\É) => #\é)
(check (char-upcase #\xFF) => #\x178)            ; ÿ -> Ÿ (outside Latin-1)
(check (char-downcase #\x178) => #\xFF)
(check (char-upcase #\ß) => #\ß)                 ; no single-character uppercase
(check (char-foldcase #\xB5) => #\x3BC)          ; MICRO SIGN folds to μ
;; Latin Extended
(check (char-upcase #\x101) => #\x100)           ; ā -> Ā
(check (char-downcase #\x141) => #\x142)         ; Ł -> ł
(check (char-foldcase #\x141) => #\x142)
(check (char-foldcase #\x17F) => #\s)            ; LONG S folds to s
(check (char-foldcase #\x1C5) => #\x1C6)         ; Dž folds to dž
(check (char-upcase #\x138) => #\x138)           ; ĸ has no uppercase
(check (char-foldcase #\x130) => #\x130)         ; İ: only F/T foldings, simple fold is identity
;; Greek, including the sigmas
(check (char-upcase #\x3C3) => #\x3A3)           ; σ -> Σ
(check (char-upcase #\x3C2) => #\x3A3)           ; ς -> Σ
(check (char-downcase #\x3A3) => #\x3C3)         ; Σ -> σ
(check (char-foldcase #\x3A3) => #\x3C3)         ; Σ -> σ
(check (char-foldcase #\x3C2) => #\x3C3)         ; ς -> σ
(check (char-foldcase #\x3C3) => #\x3C3)
(check (char-upcase #\x3BB) => #\x39B)           ; λ -> Λ
(check (char-downcase #\x394) => #\x3B4)         ; Δ -> δ
;; Cyrillic
(check (char-upcase #\д) => #\Д)
(check (char-downcase #\Ж) => #\ж)
(check (char-foldcase #\Ё) => #\ё)
(check (char-upcase #\ё) => #\Ё)
(check (char-downcase #\x410) => #\x430)         ; А -> а
;; Non-cased letters are returned unchanged.
(check (char-upcase #\x4E00) => #\x4E00)
(check (char-downcase #\x4E00) => #\x4E00)
(check (char-foldcase #\x0664) => #\x0664)

(report)
