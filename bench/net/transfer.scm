;;; 1 GB through a TCP connection on 127.0.0.1 between two green threads
;;; of one process: socket-send of 1 MiB bytevectors, socket-recv of up to
;;; 1 MiB. Prints the bytes received and the rate.
;;;   imp bench/net/transfer.scm [MiB]

(define mib (let ((a (command-line))) (if (pair? (cdr a)) (string->number (cadr a)) 1024)))
(define chunk (make-bytevector (* 1024 1024) 7))
(define listener (tcp-listen 0 #:host "127.0.0.1"))
(define-values (host port) (socket-local-address listener))

(define receiver
  (make-thread
   (lambda ()
     (let ((s (tcp-accept-socket listener)))
       (let loop ((total 0))
         (let ((b (socket-recv s (* 1024 1024))))
           (if (= (bytevector-length b) 0)
               (begin (socket-close s) total)
               (loop (+ total (bytevector-length b))))))))))
(thread-start! receiver)

(define t0 (current-jiffy))
(define s (tcp-connect-socket "127.0.0.1" port))
(do ((i 0 (+ i 1))) ((= i mib)) (socket-send s chunk))
(socket-shutdown s *shut-wr*)
(define total (thread-join! receiver))
(define secs (/ (- (current-jiffy) t0) (jiffies-per-second)))
(socket-close s)
(display "bytes ") (display total) (newline)
(display "seconds ") (display (exact->inexact secs)) (newline)
(display "GB/s ") (display (/ total secs 1e9)) (newline)
