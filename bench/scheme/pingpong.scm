;; pingpong: the main program and an echo thread pass a number back and
;; forth over two unbuffered channels, 1,000,000 round trips. The main
;; program sends n on channel a; the echo thread receives it and sends n+1
;; on channel b. Measures channel hand-offs and the thread switches they
;; force. Closing channel a ends the echo thread.

(define round-trips 1000000)

(define a (make-channel))
(define b (make-channel))

;; Answer every n received on a with n+1 on b, until a is closed.
(define (echo)
  (let loop ()
    (let ((n (channel-receive a)))
      (if (not (eof-object? n))
          (begin
            (channel-send! b (+ n 1))
            (loop))))))

(define echo-thread (make-thread echo))
(thread-start! echo-thread)

(define (play i n)
  (if (= i round-trips)
      n
      (begin
        (channel-send! a n)
        (play (+ i 1) (channel-receive b)))))

(display (play 0 0))
(newline)
(channel-close! a)
(thread-join! echo-thread)
