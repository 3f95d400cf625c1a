;; SRFI-13 strings, served by the SRFI-130 library (130-strings.scm has
;; the rest): the SRFI-13 conventions a program relies on.
(load "../r7rs/check.scm")

;; searches give #f when nothing is found, an index otherwise
(check (string-index "abc" #\z) => #f)
(check (string-index "abc" #\c) => 2)
(check (string-index "a1b" char-numeric?) => 1)
(check (string-index "a1b" (char-set #\b)) => 2)
(check (string-contains "abc" "zz") => #f)
(check (string-skip "aaab" #\a) => 3)
;; character, char-set or predicate arguments
(check (string-count "banana" #\a) => 3)
(check (string-trim "xxhi" #\x) => "hi")
(check (string-every char-alphabetic? "abc") => #t)
;; the string first for filter and delete
(check (string-filter "a1b2" char-numeric?) => "12")
(check (string-delete "a1b2" char-numeric?) => "ab")
;; padding, tokens, titles, xsubstring
(check (string-pad "12" 5 #\0) => "00012")
(check (string-pad-right "12" 5 #\.) => "12...")
(check (string-tokenize "one two  three") => '("one" "two" "three"))
(check (string-titlecase "hELLO wORLD") => "Hello World")
(check (xsubstring "abc" 2 5) => "cab")
(check (string-join '("a" "b" "c") "-") => "a-b-c")
(check (string-null? "") => #t)
(check (string-prefix? "ab" "abc") => #t)
(check (string-suffix-length "xyz" "ayz") => 2)
(check (string-reverse "hello") => "olleh")
(check (string-concatenate '("x" "y")) => "xy")
(check-error (string-pad 'x 3))
(check-error (string-take "ab" 3))

(report)
