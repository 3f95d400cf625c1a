;; R7RS 6.13 Input and output, textual ports only (binary ports are in
;; 6.13-binary-ports.scm). Temporary files are named tmp-6.13-*.txt and
;; deleted at the end.
(load "check.scm")

(define tmp-file "tmp-6.13-io.txt")
(define tmp-file-2 "tmp-6.13-io-2.txt")
(define tmp-load-file "tmp-6.13-load.txt")

(define (cleanup)
  (for-each (lambda (f) (if (file-exists? f) (delete-file f)))
            (list tmp-file tmp-file-2 tmp-load-file)))
(cleanup)

;; Output of (proc port) to a fresh string port, as a string.
(define (output-of proc)
  (let ((port (open-output-string)))
    (proc port)
    (get-output-string port)))
(define (write->string obj) (output-of (lambda (p) (write obj p))))
(define (display->string obj) (output-of (lambda (p) (display obj p))))

;;; 6.13.1 Ports: predicates

(define in (open-input-string "abc"))
(define out (open-output-string))
(check (input-port? in) => #t)
(check (output-port? in) => #f)
(check (textual-port? in) => #t)
(check (port? in) => #t)
(check (input-port? out) => #f)
(check (output-port? out) => #t)
(check (textual-port? out) => #t)
(check (port? out) => #t)
(check (port? "abc") => #f)
(check (port? 'port) => #f)
(check (input-port? "abc") => #f)
(check (output-port? '()) => #f)
(check (textual-port? 42) => #f)
(check (input-port? (current-input-port)) => #t)
(check (textual-port? (current-input-port)) => #t)
(check (output-port? (current-output-port)) => #t)
(check (textual-port? (current-output-port)) => #t)
(check (output-port? (current-error-port)) => #t)
(check (textual-port? (current-error-port)) => #t)
(check (port? (current-error-port)) => #t)

;;; input-port-open?, output-port-open?, close-port, close-input-port,
;;; close-output-port

(check (input-port-open? in) => #t)
(check (output-port-open? out) => #t)
(check (let ((p (open-input-string "x"))) (close-port p) (input-port-open? p)) => #f)
(check (let ((p (open-input-string "x"))) (close-input-port p) (input-port-open? p))
       => #f)
(check (let ((p (open-output-string))) (close-port p) (output-port-open? p)) => #f)
(check (let ((p (open-output-string))) (close-output-port p) (output-port-open? p))
       => #f)
;; Closing an already closed port has no effect.
(check (let ((p (open-input-string "x")))
         (close-port p) (close-port p) (close-input-port p)
         (input-port-open? p))
       => #f)
(check (let ((p (open-output-string)))
         (close-output-port p) (close-output-port p) (close-port p)
         (output-port-open? p))
       => #f)
;; A closed port is still a port.
(check (let ((p (open-input-string "x"))) (close-port p) (list (port? p) (input-port? p)))
       => '(#t #t))

;;; call-with-port

(check (call-with-port (open-input-string "abc") read-char) => #\a)
(check (let ((p (open-input-string "abc")))
         (call-with-port p read-char)
         (input-port-open? p))
       => #f)
(check (let ((p (open-output-string)))
         (call-with-port p (lambda (port) (write 'x port)))
         (output-port-open? p))
       => #f)
(check (call-with-values
        (lambda () (call-with-port (open-input-string "") (lambda (p) (values 1 2))))
        list)
       => '(1 2))

;;; open-input-string, open-output-string, get-output-string

(check (read-char (open-input-string "λx")) => #\λ)
(check (let ((p (open-output-string)))
         (write-char #\a p)
         (write-string "bc" p)
         (get-output-string p))
       => "abc")
(check (let ((p (open-output-string)))
         (display "first" p)
         (let ((s1 (get-output-string p)))
           (display " second" p)
           (list s1 (get-output-string p))))
       => '("first" "first second"))
(check (get-output-string (open-output-string)) => "")
(check (parameterize
           ((current-output-port
             (open-output-string)))
         (display "piece")
         (display " by piece ")
         (display "by piece.")
         (newline)
         (get-output-string (current-output-port)))
       => "piece by piece by piece.\n")

;;; 6.13.2 Input: read

(check (read (open-input-string "(a \"b\" #\\c 1.5 #(1 2) #u8(3))"))
       => '(a "b" #\c 1.5 #(1 2) #u8(3)))
(check (read (open-input-string "'a")) => '(quote a))
(check (read (open-input-string "`(a ,b ,@c)"))
       => '(quasiquote (a (unquote b) (unquote-splicing c))))
(check (read (open-input-string "  ; comment\n  #| block |# #;(skipped) 42")) => 42)
(check (read (open-input-string "#t #f")) => #t)
(check (read (open-input-string "|hello world|")) => (string->symbol "hello world"))
(check (read (open-input-string "(a . b)")) => '(a . b))
(check (let ((p (open-input-string "one (two) \"three\" 4")))
         (let* ((a (read p)) (b (read p)) (c (read p)) (d (read p)) (e (read p)))
           (list a b c d (eof-object? e))))
       => '(one (two) "three" 4 #t))
;; read leaves the port just after the datum.
(check (let ((p (open-input-string "(a) b")))
         (read p)
         (read-char p))
       => #\space)
(check (let ((p (open-input-string "abc;x")))
         (read p)
         (read-char p))
       => #\;)
;; At end of file read returns eof, and keeps doing so; the port stays open.
(check (eof-object? (read (open-input-string ""))) => #t)
(check (eof-object? (read (open-input-string "   ; only a comment"))) => #t)
(check (let ((p (open-input-string "x")))
         (read p)
         (list (eof-object? (read p)) (eof-object? (read p)) (input-port-open? p)))
       => '(#t #t #t))
;; read with datum labels.
(check (let ((x (read (open-input-string "#0=(a b . #0#)"))))
         (and (eq? x (cddr x)) (car x)))
       => 'a)
(check (let ((x (read (open-input-string "(#1=(p q) #1#)"))))
         (eq? (car x) (cadr x)))
       => #t)
(check (read (open-input-string "(#0=(p q) #0#)")) => (list (list 'p 'q) (list 'p 'q)))
(check (read (open-input-string "(#0=a #0#)")) => (list 'a 'a))
(check (vector-length (read (open-input-string "#(#0=(a) #0#)"))) => 2)
;; read uses the current input port by default.
(check (parameterize ((current-input-port (open-input-string "(x) y")))
         (list (read) (read) (eof-object? (read))))
       => '((x) y #t))

;;; read-char, peek-char

(check (let ((p (open-input-string "ab")))
         (let* ((a (peek-char p)) (b (read-char p)) (c (peek-char p))
                (d (read-char p)) (e (peek-char p)) (f (read-char p)))
           (list a b c d (eof-object? e) (eof-object? f))))
       => '(#\a #\a #\b #\b #t #t))
(check (eof-object? (read-char (open-input-string ""))) => #t)
(check (eof-object? (peek-char (open-input-string ""))) => #t)
(check (let ((p (open-input-string "x")))
         (peek-char p) (peek-char p)
         (read-char p))
       => #\x)
(check (parameterize ((current-input-port (open-input-string "qr")))
         (list (peek-char) (read-char) (read-char)))
       => '(#\q #\q #\r))

;;; read-line

(check (let ((p (open-input-string "abc\ndef")))
         (let* ((a (read-line p)) (b (read-line p)) (c (read-line p)))
           (list a b (eof-object? c))))
       => '("abc" "def" #t))
(check (let ((p (open-input-string "abc\n")))
         (let* ((a (read-line p)) (b (read-line p)))
           (list a (eof-object? b))))
       => '("abc" #t))
(check (let ((p (open-input-string "\n\nx")))
         (let* ((a (read-line p)) (b (read-line p)) (c (read-line p)))
           (list a b c)))
       => '("" "" "x"))
;; An end of line is a linefeed, a carriage return, or CR LF.
(check (let ((p (open-input-string "a\rb\r\nc\nd")))
         (let* ((a (read-line p)) (b (read-line p)) (c (read-line p)) (d (read-line p)))
           (list a b c d)))
       => '("a" "b" "c" "d"))
(check (eof-object? (read-line (open-input-string ""))) => #t)
(check (parameterize ((current-input-port (open-input-string "line1\nline2")))
         (list (read-line) (read-line)))
       => '("line1" "line2"))
(check (let ((p (open-input-string "ab\ncd")))
         (read-line p)
         (read-char p))
       => #\c)

;;; eof-object?, eof-object

(check (eof-object? (eof-object)) => #t)
(check (eof-object? 'eof) => #f)
(check (eof-object? "") => #f)
(check (eof-object? '()) => #f)
(check (eof-object? #f) => #f)
(check (eof-object? (read (open-input-string "eof"))) => #f)

;;; char-ready?

(check (char-ready? (open-input-string "abc")) => #t)
;; At end of file char-ready? returns #t.
(check (char-ready? (open-input-string "")) => #t)
(check (let ((p (open-input-string "a"))) (read-char p) (char-ready? p)) => #t)
(check (parameterize ((current-input-port (open-input-string "z"))) (char-ready?)) => #t)

;;; read-string

(check (read-string 3 (open-input-string "abcdef")) => "abc")
(check (let ((p (open-input-string "abcdef")))
         (let* ((a (read-string 4 p)) (b (read-string 4 p)) (c (read-string 4 p)))
           (list a b (eof-object? c))))
       => '("abcd" "ef" #t))
(check (eof-object? (read-string 5 (open-input-string ""))) => #t)
(check (read-string 10 (open-input-string "λμ")) => "λμ")
(check (parameterize ((current-input-port (open-input-string "hello")))
         (read-string 2))
       => "he")
(check (let ((p (open-input-string "abc")))
         (read-string 1 p)
         (read-char p))
       => #\b)

;;; 6.13.3 Output: write

(check (write->string "a\"b\\c") => "\"a\\\"b\\\\c\"")
(check (write->string "plain") => "\"plain\"")
(check (write->string #\a) => "#\\a")
(check (write->string #\space) => "#\\space")
(check (write->string #\newline) => "#\\newline")
(check (write->string 'sym) => "sym")
(check (write->string '(1 "two" #\3 (4 . 5))) => "(1 \"two\" #\\3 (4 . 5))")
(check (write->string #(a "b" #\c)) => "#(a \"b\" #\\c)")
(check (write->string #u8(1 2 255)) => "#u8(1 2 255)")
(check (write->string '()) => "()")
(check (write->string #t) => "#t")
(check (write->string #f) => "#f")
(check (write->string 42) => "42")
(check (write->string -1/2) => "-1/2")
(check (write->string 1.5) => "1.5")
;; Symbols that need escaping are written with vertical lines.
(check (write->string (string->symbol "hello world")) => "|hello world|")
(check (write->string (string->symbol "")) => "||")
;; Symbols that contain non-ASCII characters are escaped with vertical lines.
(check (write->string (string->symbol "λ")) => "|λ|")
;; What write prints, read reads back.
(check (read (open-input-string (write->string '(a "b\n\"c\"" #\x #(1 (2)) 3.25))))
       => '(a "b\n\"c\"" #\x #(1 (2)) 3.25))
(check (read (open-input-string (write->string (string->symbol "with space"))))
       => (string->symbol "with space"))
;; write uses the current output port by default.
(check (let ((p (open-output-string)))
         (parameterize ((current-output-port p)) (write "q"))
         (get-output-string p))
       => "\"q\"")

;;; Datum labels: write labels cycles, and only cycles.

(define circ (list 1 2 3))
(set-cdr! (cddr circ) circ)
(check (write->string circ) => "#0=(1 2 3 . #0#)")
(check (let ((x (read (open-input-string (write->string circ)))))
         (and (eq? x (cdddr x)) (list (car x) (cadr x) (caddr x))))
       => '(1 2 3))
(define circ-car (list 'a 'b))
(set-car! circ-car circ-car)
(check (let ((x (read (open-input-string (write->string circ-car)))))
         (and (eq? x (car x)) (cadr x)))
       => 'b)
(define circ-vec (vector 1 2))
(vector-set! circ-vec 1 circ-vec)
(check (write->string circ-vec) => "#0=#(1 #0#)")
(check (let ((v (read (open-input-string (write->string circ-vec)))))
         (and (eq? v (vector-ref v 1)) (vector-ref v 0)))
       => 1)
;; Shared but acyclic structure: no labels from write.
(define shared-pair (list 1 2))
(check (write->string (list shared-pair shared-pair)) => "((1 2) (1 2))")
(check (write->string (vector shared-pair shared-pair)) => "#((1 2) (1 2))")

;;; write-shared and write-simple

(check (output-of (lambda (p) (write-shared (list shared-pair shared-pair) p)))
       => "(#0=(1 2) #0#)")
(check (let ((x (read (open-input-string
                       (output-of (lambda (p) (write-shared (list shared-pair shared-pair) p)))))))
         (eq? (car x) (cadr x)))
       => #t)
(check (let ((x (read (open-input-string (output-of (lambda (p) (write-shared circ p)))))))
         (eq? x (cdddr x)))
       => #t)
(check (output-of (lambda (p) (write-shared '(1 2 3) p))) => "(1 2 3)")
(check (output-of (lambda (p) (write-shared "s" p))) => "\"s\"")
(check (output-of (lambda (p) (write-simple (list shared-pair shared-pair) p)))
       => "((1 2) (1 2))")
(check (output-of (lambda (p) (write-simple '(a "b" #\c) p))) => "(a \"b\" #\\c)")
(check (let ((p (open-output-string)))
         (parameterize ((current-output-port p))
           (write-shared 'x)
           (write-simple 'y))
         (get-output-string p))
       => "xy")

;;; display

(check (display->string "a\"b") => "a\"b")
(check (display->string #\a) => "a")
(check (display->string '(a "b" #\c)) => "(a b c)")
(check (display->string 'sym) => "sym")
(check (display->string (string->symbol "hello world")) => "hello world")
(check (display->string 42) => "42")
(check (display->string #(1 "x")) => "#(1 x)")
;; display does not loop forever on a cycle.
(check (string? (display->string circ)) => #t)
(check (let ((p (open-output-string)))
         (parameterize ((current-output-port p)) (display "d"))
         (get-output-string p))
       => "d")

;;; newline, write-char, write-string

(check (output-of (lambda (p) (newline p))) => "\n")
(check (output-of (lambda (p) (write-char #\x p) (write-char #\λ p))) => "xλ")
(check (output-of (lambda (p) (write-string "abcdef" p))) => "abcdef")
(check (output-of (lambda (p) (write-string "abcdef" p 2))) => "cdef")
(check (output-of (lambda (p) (write-string "abcdef" p 1 3))) => "bc")
(check (output-of (lambda (p) (write-string "abcdef" p 3 3))) => "")
(check (output-of (lambda (p) (write-string "abcdef" p 0 6))) => "abcdef")
(check (let ((p (open-output-string)))
         (parameterize ((current-output-port p))
           (newline)
           (write-char #\c)
           (write-string "s"))
         (get-output-string p))
       => "\ncs")

;;; flush-output-port

(check (let ((p (open-output-string)))
         (write-string "abc" p)
         (flush-output-port p)
         (get-output-string p))
       => "abc")
(check (begin (flush-output-port) 'ok) => 'ok)

;;; current-input-port, current-output-port, current-error-port as parameters

(check (let ((p (open-output-string)))
         (parameterize ((current-error-port p))
           (display "err" (current-error-port)))
         (get-output-string p))
       => "err")
(check (let ((before (current-output-port)))
         (parameterize ((current-output-port (open-output-string)))
           'inside)
         (eq? before (current-output-port)))
       => #t)
(check (let ((p (open-input-string "abc")))
         (eq? p (parameterize ((current-input-port p)) (current-input-port))))
       => #t)
;; Escaping from a parameterize restores the previous port.
(check (let ((before (current-output-port)))
         (call/cc
          (lambda (k)
            (parameterize ((current-output-port (open-output-string)))
              (k #f))))
         (eq? before (current-output-port)))
       => #t)

;;; Files: open-output-file, open-input-file

(check (let ((p (open-output-file tmp-file)))
         (let ((r (list (output-port? p) (textual-port? p) (input-port? p))))
           (write '(data "string" #\c 42) p)
           (newline p)
           (write-string "second line" p)
           (newline p)
           (close-output-port p)
           r))
       => '(#t #t #f))
(check (file-exists? tmp-file) => #t)
(check (let ((p (open-input-file tmp-file)))
         (let* ((r (list (input-port? p) (textual-port? p) (output-port? p)))
                (d (read p))
                (rest-of-line (read-line p))
                (l (read-line p))
                (e (read-line p)))
           (close-input-port p)
           (list r d rest-of-line l (eof-object? e) (input-port-open? p))))
       => '((#t #t #f) (data "string" #\c 42) "" "second line" #t #f))
(check (let ((p (open-input-file tmp-file)))
         (let ((c (read-char p)) (c2 (peek-char p)) (s (read-string 4 p)))
           (close-port p)
           (list c c2 s)))
       => '(#\( #\d "data"))
(check (let ((p (open-input-file tmp-file)))
         (let ((r (char-ready? p)))
           (close-port p)
           r))
       => #t)

;;; call-with-output-file, call-with-input-file

(check (call-with-output-file tmp-file-2
         (lambda (port)
           (write-string "hello\nworld\n" port)
           'written))
       => 'written)
(check (call-with-input-file tmp-file-2
         (lambda (port)
           (let* ((a (read-line port)) (b (read-line port)) (c (read-line port)))
             (list a b (eof-object? c)))))
       => '("hello" "world" #t))
(check (let ((saved #f))
         (call-with-input-file tmp-file-2 (lambda (port) (set! saved port) (read-char port)))
         (input-port-open? saved))
       => #f)
(check (let ((saved #f))
         (call-with-output-file tmp-file-2 (lambda (port) (set! saved port) (display "x" port)))
         (output-port-open? saved))
       => #f)
(check (call-with-values
        (lambda () (call-with-input-file tmp-file-2 (lambda (port) (values (read-char port) 2))))
        list)
       => '(#\x 2))

;;; with-output-to-file, with-input-from-file

(check (with-output-to-file tmp-file-2
         (lambda ()
           (write '(a "b" #\c))
           (newline)
           (display "line two")
           (newline)
           'returned))
       => 'returned)
(check (with-input-from-file tmp-file-2
         (lambda ()
           (let* ((d (read)) (nl (read-line)) (l (read-line)) (e (read-char)))
             (list d nl l (eof-object? e)))))
       => '((a "b" #\c) "" "line two" #t))
(check (let ((before (current-output-port)))
         (with-output-to-file tmp-file-2 (lambda () (display "z")))
         (eq? before (current-output-port)))
       => #t)
(check (let ((before (current-input-port)))
         (with-input-from-file tmp-file-2 (lambda () (read-char)))
         (eq? before (current-input-port)))
       => #t)
(check (let ((inner #f))
         (with-input-from-file tmp-file-2 (lambda () (set! inner (current-input-port))))
         (input-port-open? inner))
       => #f)
(check (call-with-values
        (lambda () (with-input-from-file tmp-file-2 (lambda () (values 1 2))))
        list)
       => '(1 2))
;; Escaping from with-output-to-file restores the output port.
(check (let ((before (current-output-port)))
         (call/cc (lambda (k) (with-output-to-file tmp-file-2 (lambda () (k #f)))))
         (eq? before (current-output-port)))
       => #t)

;;; load (of a small temporary file)

(call-with-output-file tmp-load-file
  (lambda (port)
    (write '(define loaded-from-6.13 (* 6 7)) port)
    (newline port)
    (write '(define (loaded-proc-6.13 x) (list 'loaded x)) port)
    (newline port)))
(let ((before-out (current-output-port)) (before-in (current-input-port)))
  (load tmp-load-file)
  (check (eq? before-out (current-output-port)) => #t)
  (check (eq? before-in (current-input-port)) => #t))
(check (eval 'loaded-from-6.13 (interaction-environment)) => 42)
(check (eval '(loaded-proc-6.13 1) (interaction-environment)) => '(loaded 1))
(load tmp-load-file (interaction-environment))
(check (eval 'loaded-from-6.13 (interaction-environment)) => 42)

(cleanup)
(check (file-exists? tmp-file) => #f)
(check (file-exists? tmp-load-file) => #f)

(report)
