;;; The bench/http server on Guile 3's own web server, (web server):
;;; run-server with a handler, on the stock `http' implementation. That
;;; server is single-threaded: one poll loop reads a request, calls the
;;; handler and writes the answer, one client at a time.
;;;
;;;   guile bench/http/guile.scm PORT
;;;
;;; GET / answers "Hello, world!\n" as text/plain, GET /json a small JSON
;;; object built per request, anything else 404 "not found\n". Every
;;; answer carries Content-Length. See bench/http/README.md.

(use-modules (web server)
             (web request)
             (web response)
             (web uri)
             (rnrs bytevectors))

(define port
  (let ((args (cdr (command-line))))
    (or (and (pair? args) (string->number (car args)))
        (begin
          (display "usage: guile guile.scm PORT\n" (current-error-port))
          (exit 2)))))

;; Bodies are bytevectors: given a string, sanitize-response would append
;; ";charset=utf-8" to the Content-Type, which the other servers do not send.
(define hello (string->utf8 "Hello, world!\n"))
(define not-found (string->utf8 "not found\n"))

(define served 0)

(define (reply request code type body)
  (values (build-response
           #:code code
           #:headers
           `((content-type . (,type))
             (content-length . ,(bytevector-length body))
             ;; The stock server decides keep-alive from the response alone,
             ;; so a client's "Connection: close" is passed on here.
             ,@(if (memq 'close (request-connection request))
                   '((connection . (close)))
                   '())))
          body))

(define (handler request body)
  (set! served (+ served 1))
  (let ((path (uri-path (request-uri request))))
    (cond
     ((and (eq? (request-method request) 'GET) (string=? path "/"))
      (reply request 200 'text/plain hello))
     ((and (eq? (request-method request) 'GET) (string=? path "/json"))
      (reply request 200 'application/json
             (string->utf8
              (format #f "{\"message\":\"Hello, world!\",\"n\":~a}" served))))
     (else
      (reply request 404 'text/plain not-found)))))

;; The stock `http' implementation, with its open step wrapped: it listens
;; with a backlog of 128, so the socket is made here, handed to it, and
;; listened on again with 4096 (Linux takes a second listen() as a new
;; backlog); then the ready line is printed.
(define http (lookup-server-impl 'http))

(define (open-4096 . params)
  (let ((sock (socket PF_INET SOCK_STREAM 0)))
    (setsockopt sock SOL_SOCKET SO_REUSEADDR 1)
    (bind sock AF_INET (inet-pton AF_INET "127.0.0.1") port)
    (let ((server (apply (server-impl-open http) #:socket sock params)))
      (listen sock 4096)
      (format #t "listening on ~a~%" port)
      (force-output (current-output-port))
      server)))

(define http-4096
  (make-server-impl 'http-4096
                    open-4096
                    (server-impl-read http)
                    (server-impl-write http)
                    (server-impl-close http)))

(run-server handler http-4096 '())
