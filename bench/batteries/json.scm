;; The "batteries" benchmark, JSON: read a file whole with json-read, and
;; stream it with json-fold counting its values. Prints "name ms count".
(define file (cadr (command-line)))
(define (ms-since t0) (/ (- (current-jiffy) t0) (/ (jiffies-per-second) 1000.0)))
(let* ((t0 (current-jiffy))
       (v (call-with-input-file file json-read))
       (ms (ms-since t0)))
  (display "read ") (display ms) (display " ") (display (vector-length v)) (newline))
(let* ((t0 (current-jiffy))
       (n (call-with-input-file file
            (lambda (p)
              (json-fold (lambda (v s) (if (pair? v) (cadr v) (+ s 1)))
                         values (lambda (s) (list 'end s)) values (lambda (s) (list 'end s)) 0 p))))
       (ms (ms-since t0)))
  (display "stream ") (display ms) (display " ") (display n) (newline))
