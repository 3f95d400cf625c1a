;; R7RS 6.5 Symbols: symbol?, symbol=?, symbol->string, string->symbol,
;; with the identifier syntax of 2.1 (|...| symbols, peculiar identifiers,
;; case sensitivity and #!fold-case).
(load "check.scm")

;; Writes OBJ with write and reads it back.
(define (write-read obj)
  (let ((out (open-output-string)))
    (write obj out)
    (read (open-input-string (get-output-string out)))))
(define (written obj)
  (let ((out (open-output-string)))
    (write obj out)
    (get-output-string out)))

;;; symbol?

(check (symbol? 'foo) => #t)
(check (symbol? (car '(a b))) => #t)
(check (symbol? "bar") => #f)
(check (symbol? 'nil) => #t)
(check (symbol? '()) => #f)
(check (symbol? #f) => #f)
(check (symbol? #\a) => #f)
(check (symbol? 1) => #f)
(check (symbol? (string->symbol "x")) => #t)
(check (symbol? (string->symbol "")) => #t)
(check (symbol? 'symbol?) => #t)
(check (symbol? symbol?) => #f)
;; The report's identifier examples (2.1) are all symbols.
(check (map symbol? '(... + +soup+ <=? ->string a34kTMNs lambda list->vector q V17a
                      |two words| |two\x20;words| the-word-recursion-has-many-meanings))
       => '(#t #t #t #t #t #t #t #t #t #t #t #t #t))
;; Peculiar identifiers.
(check (map symbol? '(+ - ... -> ->x +a -b +.a .a .. +@ -- +-)) => '(#t #t #t #t #t #t #t #t #t #t #t #t #t))
(check (symbol->string '->x) => "->x")
(check (symbol->string '...) => "...")
(check (symbol->string '.a) => ".a")
;; Other extended identifier characters.
(check (symbol->string '!$%&*/:<=>?^_~) => "!$%&*/:<=>?^_~")
(check (symbol->string 'a1+-.@) => "a1+-.@")
(check (symbol->string 'λ) => "λ")
(check (eq? 'λ (string->symbol "λ")) => #t)

;;; symbol=?

(check (symbol=? 'a 'a) => #t)
(check (symbol=? 'a 'b) => #f)
(check (symbol=? 'a 'A) => #f)
(check (symbol=? 'a 'a 'a) => #t)
(check (symbol=? 'a 'a 'b) => #f)
(check (symbol=? 'b 'a 'a) => #f)
(check (symbol=? 'abc (string->symbol "abc") (string->symbol (string #\a #\b #\c))) => #t)
(check (symbol=? '|x y| (string->symbol "x y")) => #t)
(check (symbol=? 'nil 'nil) => #t)

;;; symbol->string

(check (symbol->string 'flying-fish) => "flying-fish")
(check (symbol->string 'Martin) => "Martin")
(check (symbol->string
        (string->symbol "Malvina"))
       => "Malvina")
(check (symbol->string 'a) => "a")
(check (string? (symbol->string 'a)) => #t)
;; The name comes back without escapes.
(check (symbol->string '|two words|) => "two words")
(check (symbol->string '|two\x20;words|) => "two words")
(check (symbol->string (string->symbol "K. Harper, M.D.")) => "K. Harper, M.D.")
(check-error (symbol->string "not a symbol"))
(check-error (symbol->string))

;;; string->symbol

(check (string->symbol "mISSISSIppi") => 'mISSISSIppi)
(check (symbol->string (string->symbol "mISSISSIppi")) => "mISSISSIppi")
(check (eqv? 'bitBlt (string->symbol "bitBlt")) => #t)
(check (eqv? 'LollyPop
             (string->symbol
              (symbol->string 'LollyPop)))
       => #t)
(check (string=? "K. Harper, M.D."
                 (symbol->string
                  (string->symbol "K. Harper, M.D.")))
       => #t)
(check (eq? (string->symbol "abc") (string->symbol "abc")) => #t)
(check (eq? (string->symbol "abc") 'abc) => #t)
(check (eq? (string->symbol "abc") (string->symbol "abd")) => #f)
(check (symbol->string (string->symbol "")) => "")
(check (symbol->string (string->symbol "123")) => "123")
(check (symbol? (string->symbol "123")) => #t)
(check (symbol->string (string->symbol "with space")) => "with space")
(check (symbol->string (string->symbol "(paren")) => "(paren")
;; No escape interpretation in the argument.
(check (symbol->string (string->symbol "a\\x41;")) => "a\\x41;")
(check (string-length (symbol->string (string->symbol "a\\x41;"))) => 6)
(check (eq? (string->symbol "a|b") '|a\|b|) => #t)
;; Mutating the argument string afterwards leaves the symbol alone.
(check (let* ((s (string #\a #\b))
              (sym (string->symbol s)))
         (string-set! s 0 #\z)
         (list (symbol->string sym) (eq? sym 'ab)))
       => '("ab" #t))
(check-error (string->symbol 'already-a-symbol))
(check-error (string->symbol 5))

;;; |...| syntax (2.1)

(check (eq? '|two words| '|two\x20;words|) => #t)
(check (eq? '|abc| 'abc) => #t)
(check (eq? '|ABC| 'abc) => #f)
(check (symbol->string '||) => "")
(check (eq? '|| (string->symbol "")) => #t)
(check (symbol->string '|a\|b|) => "a|b")
(check (symbol->string '|a\x41;b|) => "aAb")
(check (symbol->string '|\x3bb;|) => "λ")
(check (symbol->string '|a\tb|) => (string #\a #\tab #\b))
(check (symbol->string '|a\nb|) => (string #\a #\newline #\b))
(check (symbol->string '|a\\b|) => "a\\b")
(check (symbol->string '|(|) => "(")
(check (symbol->string '|1.5|) => "1.5")
(check (symbol? '|1.5|) => #t)
(check (symbol->string '|#t|) => "#t")
(check (symbol->string '|;not a comment|) => ";not a comment")
(check (symbol->string '|"|) => "\"")
(check (length '(|a b| c)) => 2)

;;; Written symbols read back as the same symbol.

(check (eq? (write-read 'abc) 'abc) => #t)
(check (eq? (write-read '|two words|) '|two words|) => #t)
(check (eq? (write-read (string->symbol "")) (string->symbol "")) => #t)
(check (eq? (write-read (string->symbol "123")) (string->symbol "123")) => #t)
(check (eq? (write-read (string->symbol "a|b")) (string->symbol "a|b")) => #t)
(check (eq? (write-read (string->symbol "K. Harper, M.D.")) (string->symbol "K. Harper, M.D.")) => #t)
(check (eq? (write-read (string->symbol "ABC")) (string->symbol "ABC")) => #t)
(check (eq? (write-read (string->symbol "#foo")) (string->symbol "#foo")) => #t)
(check (eq? (write-read (string->symbol ".")) (string->symbol ".")) => #t)
(check (eq? (write-read (string->symbol "a\nb")) (string->symbol "a\nb")) => #t)
(check (written 'abc) => "abc")
(check (written '|two words|) => "|two words|")
(check (written (string->symbol "")) => "||")
;; display writes the name without escapes.
(check (let ((out (open-output-string))) (display '|two words| out) (get-output-string out)) => "two words")

;;; Case sensitivity and #!fold-case

(check (eq? 'abc 'ABC) => #f)
(check (eq? 'abc 'Abc) => #f)
(check (symbol->string 'ABC) => "ABC")
(check (eq? 'ABC (string->symbol "ABC")) => #t)
(check (eq? 'ABC (string->symbol "abc")) => #f)
(check (let ((Q 1) (q 2)) (list Q q)) => '(1 2))
(check (read (open-input-string "#!fold-case ABC")) => 'abc)
(check (read (open-input-string "#!fold-case |ABC|")) => 'ABC)
(check (let ((port (open-input-string "#!fold-case A #!no-fold-case B")))
         (let* ((first (read port)) (second (read port)))
           (list first second)))
       => '(a B))
(check (read (open-input-string "#!no-fold-case ABC")) => 'ABC)
#!fold-case
(check (EQ? 'Hello 'hello) => #t)
(check (SYMBOL->STRING 'FooBar) => "foobar")
(check (symbol->string '|FooBar|) => "FooBar")
#!no-fold-case
(check (eq? 'Hello 'hello) => #f)

;; a written symbol reads back as itself, barred where a reader could
;; take it for something else
(define (written x) (let ((p (open-output-string))) (write x p) (get-output-string p)))
(check (written (string->symbol "+NaN.0abc")) => "|+NaN.0abc|")
(check (written (string->symbol "-inf.0x")) => "|-inf.0x|")
(check (written (string->symbol "+5")) => "|+5|")
(check (written (string->symbol "1s2")) => "|1s2|")
(check (written (string->symbol "a b")) => "|a b|")
(check (written (string->symbol "")) => "||")
(check (written 'plain) => "plain")
(for-each (lambda (s)
            (let ((sym (string->symbol s)))
              (check (eq? (read (open-input-string (written sym))) sym) => #t)))
          '("+NaN.0abc" "+nan.0" "-inf.0" "+i" "1+" "+5" "+.5" "-" "..." "." "1/2" "#t"
            "a;b" "a\"b" "a|b" "" " " "\x0;" "λ" "a\nb" "+1i" "1e5" "1d5" "#x10" "@a" "'a"
            "a,b" "{" "#" "1" "-1.5" "+a" ".a" "1@2" "A"))

(report)
