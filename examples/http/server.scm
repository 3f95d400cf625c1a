;;; A small HTTP/1.1 server: keep-alive, a green thread per connection, a
;;; static answer (/), a JSON answer built per request (/json), and 404.
;;;
;;;   imp examples/http/server.scm PORT             serve from source
;;;   imp examples/http/server.scm --image FILE     save an image that serves
;;;   imp examples/http/server.scm --executable FILE  the same, as one executable
;;;   imp --image FILE PORT   or   ./FILE PORT      serve from the image
;;;
;;; It prints `listening on PORT` once it accepts connections. With
;;; IMP_HTTP_SAVE_EVERY=SECONDS it saves itself (save-application, to
;;; $IMP_HTTP_SAVE_DIR/server.img) that often while it serves; with
;;; IMP_HTTP_HEAP_MB=N it first builds N MB of live data, so the saves
;;; have a heap of that size to write.

(define hello-body "Hello, world!\n")

(define (response status reason type body keep-alive?)
  (string-append "HTTP/1.1 " status " " reason "\r\n"
                 "Content-Type: " type "\r\n"
                 "Content-Length: " (number->string (string-length body)) "\r\n"
                 (if keep-alive? "" "Connection: close\r\n")
                 "\r\n"
                 body))

(define hello (response "200" "OK" "text/plain" hello-body #t))
(define hello/close (response "200" "OK" "text/plain" hello-body #f))
(define not-found (response "404" "Not Found" "text/plain" "not found\n" #t))
(define not-found/close (response "404" "Not Found" "text/plain" "not found\n" #f))

(define requests 0)

(define (json-answer keep-alive?)
  (set! requests (+ requests 1))
  (response "200" "OK" "application/json"
            (string-append "{\"message\":\"Hello, world!\",\"n\":"
                           (number->string requests) "}")
            keep-alive?))

;; "GET /path HTTP/1.1" => "/path" (or #f if the line is not a request).
(define (request-path line)
  (let ((n (string-length line)))
    (let find-space ((i 0))
      (cond ((= i n) #f)
            ((char=? (string-ref line i) #\space)
             (let find-end ((j (+ i 1)))
               (cond ((or (= j n) (char=? (string-ref line j) #\space))
                      (substring line (+ i 1) j))
                     (else (find-end (+ j 1))))))
            (else (find-space (+ i 1)))))))

(define (strip-cr s)
  (let ((n (string-length s)))
    (if (and (> n 0) (char=? (string-ref s (- n 1)) #\return))
        (substring s 0 (- n 1))
        s)))

;; Does this header line ask to close the connection?
(define (connection-close? h)
  (let ((n (string-length h)))
    (and (> n 11)
         (string-ci=? (substring h 0 11) "connection:")
         (string-ci=? (strip-whitespace (substring h 11 n)) "close"))))

(define (strip-whitespace s)
  (let loop ((i 0) (j (string-length s)))
    (cond ((and (< i j) (char-whitespace? (string-ref s i))) (loop (+ i 1) j))
          ((and (< i j) (char-whitespace? (string-ref s (- j 1)))) (loop i (- j 1)))
          (else (substring s i j)))))

(define (answer path keep-alive?)
  (cond ((string=? path "/") (if keep-alive? hello hello/close))
        ((string=? path "/json") (json-answer keep-alive?))
        (else (if keep-alive? not-found not-found/close))))

;; Serve requests on one connection until the client closes it or asks to.
(define (serve-connection in out)
  (let next-request ()
    (let ((line (read-line in)))
      (if (not (eof-object? line))
          (let ((path (request-path (strip-cr line))))
            (let headers ((close? #f))
              (let ((h (read-line in)))
                (cond ((eof-object? h) #f)
                      ((string=? (strip-cr h) "")
                       (write-string (answer (or path "/") (not close?)) out)
                       (flush-output-port out)
                       (if (not close?) (next-request)))
                      (else (headers (or close? (connection-close? h))))))))))))

(define (serve port)
  (let ((listener (tcp-listen port #:host "127.0.0.1" #:backlog 4096)))
    (display "listening on ")
    (display port)
    (newline)
    (flush-output-port)
    (let accept-loop ()
      (let-values (((in out)
                    ;; Out of descriptors (or a connection gone before it
                    ;; was taken): wait a moment and go on accepting.
                    (let retry ()
                      (guard (e ((socket-error? e) (thread-sleep! 0.01) (retry)))
                        (tcp-accept listener)))))
        (thread-start!
         (make-thread
          (lambda ()
            ;; A client that resets or vanishes ends only its own thread.
            (guard (e (#t #f)) (serve-connection in out))
            (guard (e (#t #f)) (close-port out))
            (guard (e (#t #f)) (close-port in)))))
        (accept-loop)))))

;; ---- saving while serving -----------------------------------------------------

(define ballast '())

(define (build-ballast mb)
  ;; mb MB of live data: strings of 1 KB, a thousand to the megabyte.
  (set! ballast
        (let loop ((i (* mb 1000)) (acc '()))
          (if (= i 0) acc (loop (- i 1) (cons (make-string 1000 #\x) acc))))))

(define (env-number name)
  (let ((v (get-environment-variable name)))
    (and v (string->number v))))

(define (start-saver every dir)
  (thread-start!
   (make-thread
    (lambda ()
      (let loop ((n 1))
        (thread-sleep! every)
        (guard (e (#t (display "save failed: " (current-error-port))
                      (display (if (error-object? e) (error-object-message e) e)
                               (current-error-port))
                      (newline (current-error-port))))
          (let ((report (save-application (string-append dir "/server.img") #:toplevel main)))
            (display "saved ")
            (display n)
            (display ": fork pause ")
            (display (cdr (assq 'fork-pause-us report)))
            (display " us, image ")
            (display (quotient (cdr (assq 'image-bytes report)) 1048576))
            (display " MiB\n")
            (flush-output-port)))
        (loop (+ n 1))))
    'saver)))

(define (main)
  (let* ((args (command-line))
         (port (if (pair? (cdr args)) (string->number (list-ref args (- (length args) 1))) #f)))
    (if (not port)
        (begin (display "usage: server.scm PORT\n" (current-error-port)) (exit 64)))
    (let ((mb (env-number "IMP_HTTP_HEAP_MB")))
      (if mb (build-ballast mb)))
    (let ((every (env-number "IMP_HTTP_SAVE_EVERY")))
      (if every
          (start-saver every (or (get-environment-variable "IMP_HTTP_SAVE_DIR") "/tmp"))))
    (serve port)))

(let ((args (command-line)))
  (cond ((and (= (length args) 3) (string=? (cadr args) "--image"))
         (save-application (caddr args) #:toplevel main))
        ((and (= (length args) 3) (string=? (cadr args) "--executable"))
         (save-application (caddr args) #:toplevel main #:executable #t))
        (else (main))))
