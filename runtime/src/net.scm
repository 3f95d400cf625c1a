;;; Sockets: SRFI-106 (basic socket interface) and the TCP, UDP and Unix
;;; conveniences people reach for first, on the primitives of prim/net.rs.
;;; Every step that waits (resolving, connecting, accepting, reading,
;;; writing) blocks one green thread; the others run.

;; ---- SRFI-106 constants ------------------------------------------------------

(define *af-unspec* 0)
(define *af-unix* 1)
(define *af-inet* 2)
(define *af-inet6* 10)
(define *sock-stream* 1)
(define *sock-dgram* 2)
(define *ai-passive* 1)
(define *ai-canonname* 2)
(define *ai-numerichost* 4)
(define *ai-v4mapped* 8)
(define *ai-all* 16)
(define *ai-addrconfig* 32)
(define *ipproto-ip* 0)
(define *ipproto-tcp* 6)
(define *ipproto-udp* 17)
(define *msg-none* 0)
(define *msg-oob* 1)
(define *msg-peek* 2)
(define *msg-waitall* 256)
(define *shut-rd* 0)
(define *shut-wr* 1)
(define *shut-rdwr* 2)

;; The name syntax expands to constants (user code cannot reach imp's
;; internal helpers, so nothing else would do). An unknown name matches
;; no rule: a syntax error naming the form.
(define-syntax address-family
  (syntax-rules (inet inet6 unspec unix)
    ((_ inet) 2) ((_ inet6) 10) ((_ unspec) 0) ((_ unix) 1)))
(define-syntax socket-domain
  (syntax-rules (stream datagram)
    ((_ stream) 1) ((_ datagram) 2)))
(define-syntax ip-protocol
  (syntax-rules (ip tcp udp)
    ((_ ip) 0) ((_ tcp) 6) ((_ udp) 17)))
;; Several names: the sum of their bits (name each once).
(define-syntax address-info
  (syntax-rules (canoname canonname numerichost v4mapped all addrconfig passive)
    ((_) 0)
    ((_ canoname rest ...) (+ 2 (address-info rest ...)))
    ((_ canonname rest ...) (+ 2 (address-info rest ...)))
    ((_ numerichost rest ...) (+ 4 (address-info rest ...)))
    ((_ v4mapped rest ...) (+ 8 (address-info rest ...)))
    ((_ all rest ...) (+ 16 (address-info rest ...)))
    ((_ addrconfig rest ...) (+ 32 (address-info rest ...)))
    ((_ passive rest ...) (+ 1 (address-info rest ...)))))
(define-syntax message-type
  (syntax-rules (none peek oob wait-all)
    ((_) 0)
    ((_ none rest ...) (message-type rest ...))
    ((_ peek rest ...) (+ 2 (message-type rest ...)))
    ((_ oob rest ...) (+ 1 (message-type rest ...)))
    ((_ wait-all rest ...) (+ 256 (message-type rest ...)))))
(define-syntax shutdown-method
  (syntax-rules (read write)
    ((_ read) 0) ((_ write) 1) ((_ read write) 2) ((_ write read) 2)))

;; ---- addresses ---------------------------------------------------------------

;; Well-known service names (what /etc/services gives most programs).
(define %services
  '(("http" . 80) ("https" . 443) ("ftp" . 21) ("ssh" . 22) ("telnet" . 23)
    ("smtp" . 25) ("domain" . 53) ("pop3" . 110) ("imap" . 143) ("ntp" . 123)
    ("imaps" . 993) ("pop3s" . 995) ("submission" . 587) ("ldap" . 389)
    ("http-alt" . 8080) ("echo" . 7) ("daytime" . 13)))

;; A port number from a service (an exact integer or a string of digits or
;; a service name).
(define (%service->port who service)
  (cond ((and (exact-integer? service) (<= 0 service 65535)) service)
        ((string? service)
         (let ((n (string->number service)))
           (cond ((and n (exact-integer? n) (<= 0 n 65535)) n)
                 ((assoc service %services) => cdr)
                 (else (error (string-append who ": unknown service") service)))))
        (else (error (string-append who ": expected a port number or service name") service))))

;; The addresses of host (a string, or #f), as #(family "ip" port) vectors,
;; looked up on a helper thread when it is a name; only those of family
;; (*af-inet*, *af-inet6*, or *af-unspec* for both).
(define (%net-resolve who host port family passive?)
  (let* ((r (%resolve (string->symbol who) host port passive?))
         (all (if (exact-integer? r) (%resolve-wait r host port (string->symbol who)) r))
         (want (cond ((= family *af-inet*) 0) ((= family *af-inet6*) 1) (else #f)))
         (these (if want
                    (let loop ((l all) (acc '()))
                      (cond ((null? l) (reverse acc))
                            ((= (vector-ref (car l) 0) want) (loop (cdr l) (cons (car l) acc)))
                            (else (loop (cdr l) acc))))
                    all)))
    (if (null? these)
        (raise (%net-condition who host port 'unknown-host
                               "no address of the requested family"))
        these)))

(define (%net-condition who host port cause text)
  (guard (e (#t e))
    (%socket-error-raise who host port cause text)))

(define (%socket-error-raise who host port cause text)
  (%raise-socket-error
   (string-append who ": " (if (string? host) host "the socket")
                  (if (exact-integer? port)
                      (string-append " port " (number->string port))
                      "")
                  ": " text)
   host port cause))

(define (socket-error? e) (error-object-kind? e 'socket-error))

(define (%family-code family)
  (cond ((= family *af-inet6*) 1) ((= family *af-unix*) 2) (else 0)))
(define (%type-code type) (if (= type *sock-dgram*) 1 0))

;; Connect a new socket to the first of addrs that answers; the last error
;; if none does. deadline: #f or the scheduler's clock.
(define (%connect-any who addrs name type deadline)
  (let loop ((as addrs) (last-error #f))
    (if (null? as)
        (raise last-error)
        (let* ((a (car as))
               (fam (if (string? a) 2 (vector-ref a 0)))
               (s (%socket-open fam (%type-code type))))
          (guard (e ((and (socket-error? e) (pair? (cdr as)))
                     (%socket-close s)
                     (loop (cdr as) e))
                    (#t (%socket-close s) (raise e)))
            (if (not (%socket-connect! s a name (string->symbol who)))
                (%socket-connect-wait s a name deadline (string->symbol who)))
            s)))))

;; ---- SRFI-106 ----------------------------------------------------------------

(define (make-client-socket node service . opts)
  (let* ((family (if (pair? opts) (car opts) *af-inet*))
         (type (if (and (pair? opts) (pair? (cdr opts))) (cadr opts) *sock-stream*)))
    (if (= family *af-unix*)
        (%connect-any "make-client-socket" (list node) node type #f)
        (let* ((port (%service->port "make-client-socket" service))
               (addrs (%net-resolve "make-client-socket" node port family #f)))
          (%connect-any "make-client-socket" addrs node type #f)))))

(define (make-server-socket service . opts)
  (let* ((family (if (pair? opts) (car opts) *af-inet*))
         (type (if (and (pair? opts) (pair? (cdr opts))) (cadr opts) *sock-stream*)))
    (if (= family *af-unix*)
        (%listen-on "make-server-socket" (list service) service type 4096)
        (let* ((port (%service->port "make-server-socket" service))
               (host (if (= family *af-inet6*) "::" #f))
               (addrs (%net-resolve "make-server-socket" host port family #t)))
          (%listen-on "make-server-socket" addrs host type 4096)))))

(define (%listen-on who addrs name type backlog)
  (let* ((a (car addrs))
         (fam (if (string? a) 2 (vector-ref a 0)))
         (s (%socket-open fam (%type-code type))))
    (guard (e (#t (%socket-close s) (raise e)))
      (if (= type *sock-dgram*)
          (%socket-bind! s a name)
          (%socket-listen! s a backlog name))
      s)))

(define (socket-accept socket . opts)
  (%check-options "socket-accept" opts '(#:timeout))
  (%socket-accept socket (%deadline (%option opts #:timeout #f))))

(define (socket-send socket bv . flags)
  (%no-flags "socket-send" flags)
  (if (= (%socket-type socket) 1)
      (%socket-send-to socket bv #f #f #f)
      (begin
        (%socket-queue! socket bv 0 (bytevector-length bv))
        (%socket-flush socket #f)
        (bytevector-length bv))))

(define (socket-recv socket size . flags)
  (%no-flags "socket-recv" flags)
  (%socket-recv socket size #f))

(define (%no-flags who flags)
  (if (and (pair? flags) (not (eqv? (car flags) 0)))
      (error (string-append who ": only *msg-none* is supported as flags") (car flags))))

(define (socket-shutdown socket how)
  (if (not (memv how (list *shut-rd* *shut-wr* *shut-rdwr*)))
      (error "socket-shutdown: expected *shut-rd*, *shut-wr* or *shut-rdwr*" how))
  (%socket-shutdown socket how))

(define (socket-close socket) (%socket-close socket))

(define (socket-input-port socket) (%socket-port socket #t #t))
(define (socket-output-port socket) (%socket-port socket #f #t))

(define (call-with-socket socket proc)
  (call-with-values (lambda () (proc socket))
    (lambda results
      (socket-close socket)
      (apply values results))))

;; ---- the conveniences --------------------------------------------------------

(define (%timeout-us who t)
  (cond ((not t) #f)
        ((and (real? t) (>= t 0) (< t 1e12)) (exact (round (* t 1e6))))
        (else (error (string-append who ": a timeout is #f or a non-negative number of seconds") t))))

;; (socket-set-timeout! s read-seconds [write-seconds]): the longest a read
;; or write on s (or a port over it) waits before a socket-error; #f: no
;; limit.
(define (socket-set-timeout! s read . write)
  (%socket-timeouts! s (%timeout-us "socket-set-timeout!" read)
                     (%timeout-us "socket-set-timeout!"
                                  (if (pair? write) (car write) read))))

(define (%socket-ports s binary?)
  (let* ((in (%socket-port s #t binary?))
         (out (%socket-port s #f binary?)))
    ;; The ports own the connection: closing both closes it.
    (%socket-release! s)
    (values in out)))

;; (tcp-connect host port #:timeout secs #:read-timeout secs
;;              #:write-timeout secs #:binary bool #:family fam)
;; => input port, output port
(define (tcp-connect host port . opts)
  (%check-options "tcp-connect" opts
                      '(#:timeout #:read-timeout #:write-timeout #:binary #:family))
  (let ((s (tcp-connect-socket host port opts)))
    (%socket-ports s (%option opts #:binary #f))))

;; The socket tcp-connect makes (its ports: socket-input-port …).
(define (tcp-connect-socket host port . rest)
  (let* ((opts (if (and (pair? rest) (list? (car rest)) (null? (cdr rest))) (car rest) rest))
         (port (%service->port "tcp-connect" port))
         (deadline (%deadline (%option opts #:timeout #f)))
         (family (%option opts #:family *af-unspec*))
         (addrs (%net-resolve "tcp-connect" host port family #f))
         (s (%connect-any "tcp-connect" addrs host *sock-stream* deadline)))
    (%socket-timeouts! s (%timeout-us "tcp-connect" (%option opts #:read-timeout #f))
                       (%timeout-us "tcp-connect" (%option opts #:write-timeout #f)))
    s))

;; (tcp-listen port #:host h #:backlog n) => a listening socket. Port 0
;; takes any free port (socket-local-address says which).
(define (tcp-listen port . opts)
  (%check-options "tcp-listen" opts '(#:host #:backlog))
  (let* ((host (%option opts #:host #f))
         (backlog (%option opts #:backlog 4096))
         (port (%service->port "tcp-listen" port))
         (addrs (%net-resolve "tcp-listen" host port *af-unspec* #t)))
    (if (not (and (exact-integer? backlog) (> backlog 0)))
        (error "tcp-listen: #:backlog must be a positive exact integer" backlog))
    (%listen-on "tcp-listen" addrs host *sock-stream* backlog)))

;; (tcp-accept listener #:timeout secs #:binary bool) => input port, output port
(define (tcp-accept listener . opts)
  (%check-options "tcp-accept" opts '(#:timeout #:binary #:read-timeout #:write-timeout))
  (let ((s (%socket-accept listener (%deadline (%option opts #:timeout #f)))))
    (%socket-timeouts! s (%timeout-us "tcp-accept" (%option opts #:read-timeout #f))
                       (%timeout-us "tcp-accept" (%option opts #:write-timeout #f)))
    (%socket-ports s (%option opts #:binary #f))))

;; (tcp-accept-socket listener #:timeout secs) => the connection's socket.
(define (tcp-accept-socket listener . opts)
  (%check-options "tcp-accept-socket" opts '(#:timeout))
  (%socket-accept listener (%deadline (%option opts #:timeout #f))))

;; (udp-open #:host h #:port p #:family fam) => a datagram socket, bound
;; when a port is given.
(define (udp-open . opts)
  (%check-options "udp-open" opts '(#:host #:port #:family))
  (let ((port (%option opts #:port #f))
        (host (%option opts #:host #f))
        (family (%option opts #:family *af-inet*)))
    (if port
        (let ((addrs (%net-resolve "udp-open" (or host (if (= family *af-inet6*) "::" #f))
                                   (%service->port "udp-open" port) family #t)))
          (%listen-on "udp-open" addrs host *sock-dgram* 1))
        (%socket-open (%family-code family) 1))))

;; (udp-send socket bytevector host port) => bytes sent
(define (udp-send socket bv host port)
  (let ((a (car (%net-resolve "udp-send" host (%service->port "udp-send" port)
                              (if (= (%socket-family socket) 1) *af-inet6* *af-inet*) #f))))
    (%socket-send-to socket bv a host #f)))

;; (udp-receive socket size #:timeout secs) => bytevector, host, port
(define (udp-receive socket size . opts)
  (%check-options "udp-receive" opts '(#:timeout))
  (let* ((r (%socket-recv-from socket size (%deadline (%option opts #:timeout #f))))
         (a (cdr r)))
    (if (vector? a)
        (values (car r) (vector-ref a 1) (vector-ref a 2))
        (values (car r) a #f))))

;; (unix-connect path #:binary bool) => input port, output port
(define (unix-connect path . opts)
  (%check-options "unix-connect" opts '(#:binary))
  (let ((s (%connect-any "unix-connect" (list path) path *sock-stream* #f)))
    (%socket-ports s (%option opts #:binary #f))))

;; (unix-listen path #:backlog n) => a listening socket
(define (unix-listen path . opts)
  (%check-options "unix-listen" opts '(#:backlog))
  (%listen-on "unix-listen" (list path) path *sock-stream* (%option opts #:backlog 4096)))

(define (%address->values a)
  (if (vector? a) (values (vector-ref a 1) (vector-ref a 2)) (values a #f)))

;; The addresses of a socket or a port over one: host and port (a Unix
;; socket's: its path and #f).
(define (socket-local-address s) (%address->values (%socket-address s #f)))
(define (socket-peer-address s) (%address->values (%socket-address s #t)))

;; (tcp-addresses port) => local host, local port, peer host, peer port
(define (tcp-addresses s)
  (let-values (((lh lp) (socket-local-address s))
               ((ph pp) (socket-peer-address s)))
    (values lh lp ph pp)))

(define (socket-family s)
  (case (%socket-family s) ((0) *af-inet*) ((1) *af-inet6*) (else *af-unix*)))
(define (socket-type s) (if (= (%socket-type s) 1) *sock-dgram* *sock-stream*))
