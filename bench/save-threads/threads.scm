;; Saving a program with many runnable threads: N busy threads (half of
;; them inside a dynamic-wind whose after-thunk must run when the save
;; child ends them), then one save. Prints the save child's terminate
;; phase: its length and the thread switches made during it.
(define n (string->number (cadr (command-line))))
(define kind (caddr (command-line)))
(define (spin) (let loop ((i 0)) (loop (+ i 1))))
(define (winding) (dynamic-wind (lambda () #f) spin (lambda () #f)))
(do ((i 0 (+ i 1))) ((= i n))
  (thread-start! (make-thread (if (and (equal? kind "wind") (even? i)) winding spin))))
(thread-yield!)
(define r (save-application (string-append (cadddr (command-line)) "/threads.img")
                            #:save-timeout 600))
(display (list n kind
               (cdr (assq 'terminate-us r))
               (cdr (assq 'terminate-switches r))))
(newline)
(exit 0)
