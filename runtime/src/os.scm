;;; Files, directories and processes: SRFI-170's names where it has them,
;;; on the primitives of prim/fs.rs and prim/process.rs. A wait for a
;;; child blocks one green thread.

;; ---- files and directories ---------------------------------------------------

(define (directory-files . args)
  (let ((dir (if (pair? args) (car args) "."))
        (dot? (and (pair? args) (pair? (cdr args)) (cadr args))))
    (%directory-files dir dot? 'directory-files)))

(define (create-directory path . mode)
  (%create-directory path (if (pair? mode) (car mode) #o775)))

;; SRFI-170's directory objects: a snapshot of the names, read one at a
;; time (the eof object at the end).
(define-record-type directory-object
  (%make-directory-object names)
  directory-object?
  (names %directory-names %set-directory-names!))
(define (open-directory dir . dot)
  (%make-directory-object (%directory-files dir (and (pair? dot) (car dot)) 'open-directory)))
(define (read-directory d)
  (let ((names (%directory-names d)))
    (if (null? names)
        (eof-object)
        (begin (%set-directory-names! d (cdr names)) (car names)))))
(define (close-directory d) (%set-directory-names! d '()))

(define-record-type <file-info>
  (%make-file-info type device inode mode nlinks uid gid rdev size blksize
                   blocks atime mtime ctime)
  file-info?
  (type file-info:type)
  (device file-info:device)
  (inode file-info:inode)
  (mode file-info:mode)
  (nlinks file-info:nlinks)
  (uid file-info:uid)
  (gid file-info:gid)
  (rdev file-info:rdev)
  (size file-info:size)
  (blksize file-info:blksize)
  (blocks file-info:blocks)
  (atime file-info:atime)
  (mtime file-info:mtime)
  (ctime file-info:ctime))

;; (file-info path [follow?]): follow? (the default) describes what a
;; symbolic link points to; #f the link itself.
(define (file-info path . follow)
  (let ((v (%file-info path (or (null? follow) (car follow)))))
    (apply %make-file-info (vector->list v))))

(define (file-info-directory? fi) (eq? (file-info:type fi) 'directory))
(define (file-info-regular? fi) (eq? (file-info:type fi) 'regular))
(define (file-info-symlink? fi) (eq? (file-info:type fi) 'symlink))
(define (file-info-fifo? fi) (eq? (file-info:type fi) 'fifo))
(define (file-info-socket? fi) (eq? (file-info:type fi) 'socket))
(define (file-info-device? fi)
  (and (memq (file-info:type fi) '(block-device char-device)) #t))
(define (file-size path) (file-info:size (file-info path)))
(define (file-directory? path)
  (and (file-exists? path) (file-info-directory? (file-info path))))

;; The prefix create-temp-file puts before its random part.
;; #f (the default) means $TMPDIR (or /tmp), "imp-", the process id.
(define temp-file-prefix (make-parameter #f))

(define (create-temp-file . prefix)
  (%create-temp-file
   (cond ((pair? prefix) (car prefix))
         ((temp-file-prefix) => (lambda (p) p))
         (else (string-append (or (guard (e (#t #f)) (get-environment-variable "TMPDIR"))
                                  "/tmp")
                              "/imp-" (number->string (pid)) "-")))))

;; (call-with-temporary-file proc): proc gets the name of a new empty
;; file, which is deleted when proc returns or escapes.
(define (call-with-temporary-file proc)
  (let ((name (create-temp-file)))
    (dynamic-wind
      (lambda () #f)
      (lambda () (proc name))
      (lambda () (if (file-exists? name) (delete-file name))))))

;; ---- processes ---------------------------------------------------------------

(define-record-type process
  (%make-process pid job input output error status session)
  process?
  (pid process-pid)
  (job %process-job)
  (input process-input)
  (output process-output)
  (error process-error)
  (status %process-status %set-process-status!)
  (session %process-session))

(define %process-options
  '(#:stdin #:stdout #:stderr #:env #:directory #:binary))

;; (process-start program args #:stdin s #:stdout s #:stderr s #:env alist
;;                #:directory dir #:binary bool) => a process. Each stream
;; is 'pipe (the default: a port, process-input for the child's standard
;; input, process-output, process-error), 'inherit or 'null; #:stderr may
;; also be 'stdout (merged into process-output). #:env replaces the
;; environment with an alist of strings.
(define (process-start program args . opts)
  (%check-options "process-start" opts %process-options)
  (let ((v (%process-spawn program args
                           (%option opts #:env #f)
                           (%option opts #:directory #f)
                           (%option opts #:stdin 'pipe)
                           (%option opts #:stdout 'pipe)
                           (%option opts #:stderr 'pipe)
                           (%option opts #:binary #f))))
    (%make-process (vector-ref v 0) (vector-ref v 1) (vector-ref v 2)
                   (vector-ref v 3) (vector-ref v 4) #f (vector-ref v 5))))

;; (process-wait p #:timeout secs) => its exit code (128 + the signal's
;; number if a signal ended it), or #f if the timeout passed first. Other
;; threads run meanwhile.
(define (process-wait p . opts)
  (%check-options "process-wait" opts '(#:timeout))
  (let ((known (%process-status p)))
    (if known
        (%status-code known)
        (let ((deadline (%deadline (%option opts #:timeout #f))))
          (let wait ()
            (let ((r (%process-wait-until (%process-job p) deadline (%process-session p))))
              (cond ((eq? r 'taken)
                     ;; Another thread waiting for it took the status:
                     ;; it is in the record as soon as that thread goes on.
                     (or (%process-status p) (begin (thread-yield!) (wait))))
                    (r (%set-process-status! p r) (%status-code r))
                    (else #f))))))))

(define (%status-code r)
  (if (pair? r) (+ 128 (cdr (assq 'signal r))) r))

;; After process-wait: the exit code, or #f if a signal ended it; the
;; signal's number, or #f.
(define (process-exit-code p)
  (let ((r (%process-status p)))
    (cond ((not r) (error "process-exit-code: the process has not been waited for" p))
          ((pair? r) #f)
          (else r))))
(define (process-signal p)
  (let ((r (%process-status p)))
    (cond ((not r) (error "process-signal: the process has not been waited for" p))
          ((pair? r) (cdr (assq 'signal r)))
          (else #f))))

;; (process-kill p [signal]): send a signal (15, SIGTERM, unless given);
;; #f if the process had already ended.
(define (process-kill p . sig)
  (if (%process-status p)
      #f
      (%process-signal (%process-job p) (process-pid p) (if (pair? sig) (car sig) 15)
                       (%process-session p))))

;; (process-output->string cmd #:input s #:timeout secs #:env #:directory)
;; cmd: a list (program arg ...) or a string run by /bin/sh -c. The
;; program's standard output as a string; a timeout kills it and raises.
;; A program that fails raises an error naming its exit code and what it
;; wrote to standard error.
(define (process-output->string cmd . opts)
  (%check-options "process-output->string" opts '(#:input #:timeout #:env #:directory))
  (let* ((argv (cond ((string? cmd) (list "/bin/sh" "-c" cmd))
                     ((and (pair? cmd) (string? (car cmd))) cmd)
                     (else (error "process-output->string: expected a command string or list" cmd))))
         (input (%option opts #:input #f))
         (p (process-start (car argv) (cdr argv)
                           #:stdin (if input 'pipe 'null)
                           #:env (%option opts #:env #f)
                           #:directory (%option opts #:directory #f)))
         (err-text "")
         (err-thread (make-thread (lambda () (set! err-text (%read-all (process-error p))))))
         (in-thread (and input
                         (make-thread (lambda ()
                                        (write-string input (process-input p))
                                        (close-port (process-input p)))))))
    (thread-start! err-thread)
    (if in-thread (thread-start! in-thread))
    (let* ((deadline (%deadline (%option opts #:timeout #f)))
           (reader (make-thread (lambda () (%read-all (process-output p)))))
           (_ (thread-start! reader))
           (status (process-wait p #:timeout (%option opts #:timeout #f))))
      (if (not status)
          (begin
            (process-kill p 9)
            (process-wait p)
            (thread-terminate! reader)
            (thread-terminate! err-thread)
            (close-port (process-output p))
            (close-port (process-error p))
            (error "process-output->string: timed out; the program was killed" (car argv))))
      (let ((out (thread-join! reader)))
        (thread-join! err-thread)
        (close-port (process-output p))
        (close-port (process-error p))
        (if (not (eqv? status 0))
            (error (string-append "process-output->string: `" (if (string? cmd) cmd (car argv))
                                  "` exited with status "
                                  (number->string status)
                                  (if (string=? err-text "") "" (string-append ": " err-text)))
                   status)
            out)))))

(define (%read-all port)
  (let loop ((acc '()))
    (let ((s (read-string 65536 port)))
      (if (eof-object? s)
          (apply string-append (reverse acc))
          (loop (cons s acc))))))

;; The lines of process-output->string.
(define (process-output->lines cmd . opts)
  (let ((s (apply process-output->string cmd opts)))
    (let loop ((i 0) (start 0) (acc '()))
      (cond ((= i (string-length s))
             (reverse (if (> i start) (cons (substring s start i) acc) acc)))
            ((char=? (string-ref s i) #\newline)
             (loop (+ i 1) (+ i 1) (cons (substring s start i) acc)))
            (else (loop (+ i 1) start acc))))))
