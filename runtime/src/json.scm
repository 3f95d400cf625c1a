;; SRFI-180: JSON (boot loads this file after regexp.scm). Reading a whole
;; value and writing are native (prim/json.rs); the streaming procedures
;; are built here on the native event reader, which reads a port only as
;; far as its token, so a file of any size streams in bounded memory.
;; An object is an alist with symbol keys, an array a vector, null the
;; symbol null.

(define json-nesting-depth-limit (make-parameter +inf.0))
(define json-number-of-character-limit (make-parameter +inf.0))

(define (json-null? x) (eq? x 'null))
(define (json-error? x) (and (error-object? x) (error-object-kind? x 'json-error)))
(define (json-error-reason e)
  (if (not (json-error? e)) (error "json-error-reason: expected a JSON error" e))
  (error-object-message e))

(define (json%limit x)
  (if (and (exact-integer? x) (>= x 0)) x #f))

;; The textual input port a reader reads: the argument, or a port over
;; the characters a generator gives (gathered first), or the current one.
(define (json%in who args)
  (let ((x (if (pair? args) (car args) (current-input-port))))
    (cond ((and (input-port? x) (textual-port? x)) x)
          ((procedure? x)
           (let loop ((acc '()))
             (let ((c (x)))
               (cond ((eof-object? c) (open-input-string (list->string (reverse acc))))
                     ((char? c) (loop (cons c acc)))
                     (else (error (string-append who ": the generator gave a non-character") c))))))
          (else (error (string-append who ": expected a textual input port or a generator of characters") x)))))

(define (json-read . port)
  (%json-read (json%in "json-read" port)
              (json%limit (json-nesting-depth-limit))
              (json%limit (json-number-of-character-limit))))

;; Raise a JSON error from Scheme.
(define (json%fail who msg . irritants)
  (%json-error (string-append who ": " msg) irritants))

;; The generator of the events of one JSON text of port: array-start,
;; array-end, object-start, object-end, and the values (an object's keys
;; as strings, each followed by its value), checked against the grammar
;; as they come (natively: %json-event); then the eof object.
(define (json-generator . port)
  (let* ((in (json%in "json-generator" port))
         ;; The open containers, what may come next, the characters read,
         ;; the two limits, the depth.
         (state (vector '() 0 0 (json%limit (json-nesting-depth-limit))
                        (json%limit (json-number-of-character-limit)) 0)))
    (lambda () (%json-event in state))))

;; Fold over the events of one JSON text: (proc value seed) for each
;; value (and each key, a string); (array-start seed) and (object-start
;; seed) give the seed inside a container, (array-end seed) and
;; (object-end seed) the container's value, given to proc with the seed
;; from before it.
(define (json-fold proc array-start array-end object-start object-end seed . port)
  (let ((next (apply json-generator port)))
    (let loop ((seed seed) (outer '()))
      (let ((e (next)))
        (cond ((eof-object? e) seed)
              ((eq? e 'array-start) (loop (array-start seed) (cons seed outer)))
              ((eq? e 'object-start) (loop (object-start seed) (cons seed outer)))
              ((eq? e 'array-end) (loop (proc (array-end seed) (car outer)) (cdr outer)))
              ((eq? e 'object-end) (loop (proc (object-end seed) (car outer)) (cdr outer)))
              (else (loop (proc e seed) outer)))))))

;; Generators of successive JSON texts of a port: separated by whitespace
;; (json-stream-read), one per line (json-lines-read), or each after an
;; RS character, RFC 7464 (json-sequence-read).
(define (json-stream-read . port)
  (let ((in (json%in "json-stream-read" port)))
    (lambda () (json-read in))))

(define (json-lines-read . port)
  (let ((in (json%in "json-lines-read" port)))
    (lambda ()
      (let loop ()
        (let ((line (read-line in)))
          (cond ((eof-object? line) line)
                ((string-null? (string-trim-both line)) (loop))
                (else
                 (let* ((p (open-input-string line))
                        (v (json-read p)))
                   (if (not (eof-object? (json-read p)))
                       (json%fail "json-lines-read" "more than one value on a line" line))
                   v))))))))

(define (json-sequence-read . port)
  (let ((in (json%in "json-sequence-read" port)))
    (lambda ()
      (let skip ()
        (let ((c (peek-char in)))
          (cond ((eof-object? c) c)
                ((char=? c #\x1E) (read-char in) (skip))
                ((char-whitespace? c) (read-char in) (skip))
                (else
                 ;; A text runs to the next RS; one that does not parse
                 ;; is skipped, as the RFC asks.
                 (let loop ((acc '()))
                   (let ((c (peek-char in)))
                     (if (or (eof-object? c) (char=? c #\x1E))
                         (let ((text (list->string (reverse acc))))
                           (call/cc
                            (lambda (k)
                              (with-exception-handler
                               (lambda (e) (if (json-error? e) (k (skip)) (raise e)))
                               (lambda () (json-read (open-input-string text)))))))
                         (begin (read-char in) (loop (cons c acc)))))))))))))

;; Write obj as JSON text to a port (or give its events to an accumulator).
(define (json-write obj . port)
  (let ((out (if (pair? port) (car port) (current-output-port))))
    (cond ((and (output-port? out) (textual-port? out)) (%json-write obj out))
          ((procedure? out) (json%emit obj out))
          (else (error "json-write: expected a textual output port or an accumulator" out)))))

;; The events of obj, in order, to the accumulator acc.
(define (json%emit obj acc)
  (cond ((vector? obj)
         (acc 'array-start)
         (vector-for-each (lambda (x) (json%emit x acc)) obj)
         (acc 'array-end))
        ((or (null? obj) (pair? obj))
         (acc 'object-start)
         (for-each (lambda (e)
                     (if (not (and (pair? e) (or (symbol? (car e)) (string? (car e)))))
                         (json%fail "json-write" "an object entry must be a pair with a symbol or string key" e))
                     (acc (if (symbol? (car e)) (symbol->string (car e)) (car e)))
                     (json%emit (cdr e) acc))
                   obj)
         (acc 'object-end))
        ((or (string? obj) (boolean? obj) (eq? obj 'null)
             (and (number? obj) (real? obj) (or (exact-integer? obj) (and (inexact? obj) (finite? obj)))))
         (acc obj))
        (else (json%fail "json-write" "a value with no JSON form" obj))))

;; An accumulator that writes the events given to it as JSON text to port.
(define (json-accumulator port)
  (let ((stack '()))   ; per open container: (kind . items so far)
    (define (in-object?) (and (pair? stack) (eq? (caar stack) 'object)))
    (define (key-next?) (and (in-object?) (even? (cdar stack))))
    (define (before-item! e)
      (if (and (key-next?) (not (string? e)))
          (json%fail "json-accumulator" "an object key must be a string" e))
      (if (pair? stack)
          (let* ((f (car stack)) (n (cdr f)))
            (if (and (> n 0) (or (eq? (car f) 'array) (even? n))) (write-char #\, port))
            (set-cdr! f (+ n 1)))))
    (define (after-item!)
      (if (and (in-object?) (odd? (cdar stack))) (write-char #\: port)))
    (lambda (e)
      (cond ((eof-object? e) #t)
            ((memq e '(array-start object-start))
             (before-item! e)
             (write-char (if (eq? e 'array-start) #\[ #\{) port)
             (set! stack (cons (cons (if (eq? e 'array-start) 'array 'object) 0) stack)))
            ((memq e '(array-end object-end))
             (if (or (null? stack)
                     (not (eq? (caar stack) (if (eq? e 'array-end) 'array 'object)))
                     (and (eq? (caar stack) 'object) (odd? (cdar stack))))
                 (json%fail "json-accumulator" "an end that closes nothing open" e))
             (set! stack (cdr stack))
             (write-char (if (eq? e 'array-end) #\] #\}) port))
            (else
             (before-item! e)
             (%json-write e port)
             (after-item!)))
      (if #f #f))))
