;; The "batteries" benchmark, regexp: one search through a 100 MB text for
;; a pattern that matches only near its end, and every match of a pattern
;; that matches often. Prints "name ms count" lines.
(define text (call-with-input-file (cadr (command-line)) (lambda (p) (read-string 200000000 p))))
(define (ms-since t0) (/ (- (current-jiffy) t0) (/ (jiffies-per-second) 1000.0)))
(let* ((t0 (current-jiffy))
       (m (regexp-search '(: "needle-" (+ digit) "-" (+ alpha)) text))
       (ms (ms-since t0)))
  (display "search ") (display ms) (display " ") (display (regexp-match-submatch m 0)) (newline))
(let* ((t0 (current-jiffy))
       (n (regexp-fold '(: bow "w" (+ alpha)) (lambda (i m s acc) (+ acc 1)) 0 text))
       (ms (ms-since t0)))
  (display "count ") (display ms) (display " ") (display n) (newline))
