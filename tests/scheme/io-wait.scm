;; Waiting for the OS never stops the other green threads: pipes read and
;; written by many threads, a full pipe, child processes.
(define (show . xs) (for-each (lambda (x) (write x) (display " ")) xs) (newline))
(define (start thunk) (thread-start! (make-thread thunk)))
(define (count-to n) (let loop ((i 0)) (if (< i n) (loop (+ i 1)) i)))

;; 100 threads blocked reading a pipe do not stop a computing thread.
(define-values (in out) (make-pipe))
(show (input-port? in) (output-port? out) (input-port? out))
(define results (make-channel 100))
(define readers
  (let loop ((i 0) (acc '()))
    (if (= i 100)
        acc
        (loop (+ i 1) (cons (start (lambda () (channel-send! results (read-line in)))) acc)))))
(thread-yield!)
(show (thread-join! (start (lambda () (count-to 2000000)))))
(let loop ((i 0))
  (if (< i 100)
      (begin (write-string (string-append "line " (number->string i) "\n") out) (loop (+ i 1)))))
(flush-output-port out)
(define lines (let loop ((i 0) (acc '())) (if (= i 100) acc (loop (+ i 1) (cons (channel-receive results) acc)))))
(for-each thread-join! readers)
(show (length lines) (apply + (map (lambda (l) (string->number (substring l 5 (string-length l)))) lines)))

;; read, read-char, peek-char and read-string wait for whole items.
(define-values (in2 out2) (make-pipe))
(define reader (start (lambda () (list (read in2) (read-char in2) (peek-char in2) (read-string 3 in2) (read in2)))))
(thread-yield!)
(write-string "(a (b" out2)
(flush-output-port out2)
(thread-yield!)
(write-string " c) \"str\")" out2)
(write-string "xyzw #(1 2)" out2)
(close-port out2)
(show (thread-join! reader))
(show (eof-object? (read in2)) (eof-object? (read-char in2)))

;; Characters split across writes arrive whole.
(define-values (in3 out3) (make-pipe))
(write-string "λ→✓\n" out3)
(close-port out3)
(show (read-line in3) (eof-object? (read-line in3)))

;; A writer filling a pipe nobody reads yet waits; the reader gets everything.
(define-values (in4 out4) (make-pipe))
(define chunk (make-string 50000 #\x))
(define writer (start (lambda () (let loop ((i 0)) (if (< i 6) (begin (write-string chunk out4) (loop (+ i 1))))) (close-port out4) 'written)))
(show (thread-join! (start (lambda () (count-to 100000)))))
(define total
  (let loop ((n 0))
    (let ((s (read-string 8192 in4)))
      (if (eof-object? s) n (loop (+ n (string-length s)))))))
(show total (thread-join! writer))

;; Child processes: their exit status, while other threads run.
(define ticks 0)
(define ticker (start (lambda () (let loop () (set! ticks (+ ticks 1)) (thread-yield!) (loop)))))
(show (process-run "sh" "-c" "sleep 0.1; exit 3") (> ticks 10))
(show (process-run "true") (process-run "false"))
(show (guard (e ((file-error? e) 'cannot-run)) (process-run "/nonexistent/program")))
(show (map thread-join! (map (lambda (i) (start (lambda () (process-run "sh" "-c" (string-append "exit " (number->string i)))))) '(1 2 3))))
(thread-terminate! ticker)
(show (guard (e ((error-object? e) 'closed)) (read-line (begin (close-port in) in))))

;; Interrupts reach threads waiting for the OS; they go on waiting after.
(define-values (in5 out5) (make-pipe))
(define ilog '())
(define r5 (start (lambda () (read-line in5))))
(thread-sleep! 0.01)
(thread-interrupt! r5 (lambda () (set! ilog (cons 'while-reading ilog))))
(thread-sleep! 0.01)
(show ilog)
(write-string "data\n" out5)
(show (thread-join! r5))
(define p5 (start (lambda () (process-run "sleep" "0.1"))))
(thread-sleep! 0.02)
(thread-interrupt! p5 (lambda () (set! ilog (cons 'while-waiting-for-a-process ilog))))
(show (thread-join! p5) ilog)
(define r6 (start (lambda () (read-line in5))))
(thread-sleep! 0.01)
(thread-terminate! r6)
(show (guard (e ((terminated-thread-exception? e) 'terminated-while-reading)) (thread-join! r6)))
