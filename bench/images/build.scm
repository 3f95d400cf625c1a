;; The "images" benchmark, imp side.
;;
;;   imp build.scm SIZE-MB IMAGE-PATH [SAVES]
;;
;; Builds a mix of long-lived data (records, lists, vectors, strings,
;; closures, bignums, one hash table) scaled so that the live heap after a
;; full collection is about SIZE-MB MiB, then saves the running system with
;; save-application in fork mode (the program goes on while a child writes
;; the image) and prints what it measured, one "name value" line each:
;;
;;   units N            data units built (hash-table entries)
;;   setup-s S          seconds spent building the data and collecting
;;   live-bytes B       live-bytes from (gc-stats) after (gc)
;;   rss-kb K           VmRSS of this process just before the save
;;   fork-pause-us U    how long fork stopped this process (from the result):
;;                      the median over SAVES saves of the same data (default 1)
;;   fork-pauses-us L   each of those pauses, in order
;;   image-bytes B      the image's size (from the result)
;;   purify-us U        the child's time copying the heap (from the result)
;;   write-us U         the child's time writing the file, sync included
;;   sync-us U          of which waiting for the disk
;;   save-s S           wall time of the save-application call (child included)
;;   after-rss-kb K     VmRSS of this process once the save had returned
;;
;; The image's toplevel is `main' below: with no arguments it prints 1 and
;; returns (the start-up probe); with "hold SECONDS" it reads a few entries,
;; prints "ready SUM" and sleeps that long (the shared-memory probe).
;;
;; The shape of one unit is mirrored by build.lisp for SBCL: keep the two in
;; step.

(define units-per-mb 1240)        ; 124,000 units at 100 MB: about 100 MiB live
(define tag-count 16)
(define cell-count 24)
(define name-padding "-abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz")
(define big-base (expt 10 40))

(define-record-type item
  (make-item id name tags cells weight action)
  item?
  (id item-id)
  (name item-name)
  (tags item-tags)
  (cells item-cells)
  (weight item-weight)
  (action item-action))

(define (now-us) (current-jiffy))
(define (seconds-since t0)
  (/ (exact->inexact (- (now-us) t0)) (jiffies-per-second)))

;; One unit: a record holding a fresh string, a list, a vector, a bignum and
;; a closure over the unit's number.
(define (make-unit i)
  (let ((tags (let loop ((k 0) (acc '()))
                (if (= k tag-count) acc (loop (+ k 1) (cons (+ i k) acc)))))
        (cells (make-vector cell-count 0)))
    (do ((k 0 (+ k 1))) ((= k cell-count))
      (vector-set! cells k (* i k)))
    (make-item i
               (string-append "item-" (number->string i) name-padding)
               tags
               cells
               (* (+ i 1) big-base)
               (lambda (x) (+ x i)))))

(define table #f)   ; id -> item
(define index #f)   ; vector of every item, in order

(define (build! n)
  (set! table (make-hash-table eq?))
  (set! index (make-vector n #f))
  (do ((i 0 (+ i 1))) ((= i n))
    (let ((u (make-unit i)))
      (vector-set! index i u)
      (hash-table-set! table i u))))

;; A few lookups, so a started image touches some of its data.
(define (probe-sum n)
  (let loop ((k 0) (sum 0))
    (if (= k 100)
        sum
        (let* ((id (modulo (* k 7919) n))
               (u (hash-table-ref/default table id #f)))
          (loop (+ k 1)
                (+ sum ((item-action u) 1) (length (item-tags u))
                   (vector-ref (item-cells u) 1)
                   (string-length (item-name u))))))))

(define (main)
  (let ((args (cdr (command-line))))
    (cond ((null? args)
           (display 1)
           (newline))
          ((string=? (car args) "hold")
           (let ((secs (string->number (cadr args))))
             (display "ready ")
             (display (probe-sum (vector-length index)))
             (newline)
             (flush-output-port)
             (thread-sleep! secs)))
          (else
           (display "unknown arguments: ")
           (write args)
           (newline)
           (exit 2)))))

;; VmRSS in kB from /proc/self/status.
(define (string-starts? s prefix)
  (and (>= (string-length s) (string-length prefix))
       (string=? (substring s 0 (string-length prefix)) prefix)))

(define (vm-rss-kb)
  (call-with-input-file "/proc/self/status"
    (lambda (port)
      (let loop ()
        (let ((line (read-line port)))
          (cond ((eof-object? line) -1)
                ((string-starts? line "VmRSS:")
                 (let ((p (open-input-string
                           (substring line 6 (string-length line)))))
                   (read p)))
                (else (loop))))))))

(define (report name value)
  (display name)
  (display " ")
  (display value)
  (newline))

(define (insert x sorted)
  (if (or (null? sorted) (<= x (car sorted)))
      (cons x sorted)
      (cons (car sorted) (insert x (cdr sorted)))))

(define (median xs)
  (let ((v (list->vector (fold-left (lambda (acc x) (insert x acc)) '() xs))))
    (vector-ref v (quotient (vector-length v) 2))))

(define (run size-mb path saves)
  (let* ((n (* size-mb units-per-mb))
         (t0 (now-us)))
    (build! n)
    (gc)
    (let ((setup (seconds-since t0))
          (live (cdr (assq 'live-bytes (gc-stats))))
          (rss (vm-rss-kb)))
      (report "units" n)
      (report "setup-s" setup)
      (report "live-bytes" live)
      (report "rss-kb" rss)
      (flush-output-port)
      (let* ((t1 (now-us))
             (result (save-application path #:toplevel main
                                       #:save-timeout 1800))
             (save (seconds-since t1))
             ;; More saves of the same data, for the pause alone: one fork
             ;; is a noisy figure.
             (pauses (let more ((k 1) (acc (list (cdr (assq 'fork-pause-us result)))))
                       (if (>= k saves)
                           (reverse acc)
                           (let ((r (save-application path #:toplevel main
                                                      #:save-timeout 1800)))
                             (more (+ k 1) (cons (cdr (assq 'fork-pause-us r)) acc)))))))
        (report "fork-pause-us" (median pauses))
        (display "fork-pauses-us")
        (for-each (lambda (p) (display " ") (display p)) pauses)
        (newline)
        (for-each (lambda (k) (report k (cdr (assq k result))))
                  '(image-bytes purify-us write-us sync-us))
        (report "save-s" save)
        (report "after-rss-kb" (vm-rss-kb))
        (report "check" (probe-sum n))
        (flush-output-port)))))

(let ((args (cdr (command-line))))
  (if (memv (length args) '(2 3))
      (run (string->number (car args)) (cadr args)
           (if (= (length args) 3) (string->number (caddr args)) 1))
      (begin
        (display "usage: imp build.scm SIZE-MB IMAGE-PATH [SAVES]\n")
        (exit 2))))
