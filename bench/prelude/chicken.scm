;; Prelude for CHICKEN 5 csi: SRFI-69 is an egg there, not part of the core,
;; so this file supplies the three hash-table names the benchmarks use, as a
;; small table written in plain R7RS-small. run.sh puts it in front of each
;; program. It keys on equal? and hashes strings and exact integers.
;;
;; A table is a vector #(count buckets); buckets is a vector of association
;; lists. The table doubles its buckets when it holds two entries per bucket.

(define (ptable-string-hash s)
  (let ((n (string-length s)))
    (let loop ((i 0) (h 5381))
      (if (= i n)
          h
          (loop (+ i 1)
                (modulo (+ (* h 33) (char->integer (string-ref s i)))
                        33554393))))))

(define (ptable-hash key)
  (cond ((string? key) (ptable-string-hash key))
        ((and (integer? key) (exact? key)) (modulo key 33554393))
        (else 0)))

(define (ptable-bucket-index key buckets)
  (modulo (ptable-hash key) (vector-length buckets)))

;; The pair (key . value) of KEY in association list ALIST, or #f.
(define (ptable-find key alist)
  (cond ((null? alist) #f)
        ((equal? key (car (car alist))) (car alist))
        (else (ptable-find key (cdr alist)))))

(define (make-hash-table . ignored)
  (vector 0 (make-vector 64 '())))

(define (ptable-grow! table)
  (let* ((old (vector-ref table 1))
         (new (make-vector (* 2 (vector-length old)) '())))
    (let loop ((i 0))
      (if (< i (vector-length old))
          (begin
            (for-each
             (lambda (entry)
               (let ((j (ptable-bucket-index (car entry) new)))
                 (vector-set! new j (cons entry (vector-ref new j)))))
             (vector-ref old i))
            (loop (+ i 1)))))
    (vector-set! table 1 new)))

(define (hash-table-set! table key value)
  (let* ((buckets (vector-ref table 1))
         (i (ptable-bucket-index key buckets))
         (entry (ptable-find key (vector-ref buckets i))))
    (if entry
        (set-cdr! entry value)
        (begin
          (vector-set! buckets i (cons (cons key value) (vector-ref buckets i)))
          (vector-set! table 0 (+ 1 (vector-ref table 0)))
          (if (> (vector-ref table 0) (* 2 (vector-length buckets)))
              (ptable-grow! table))))))

(define (hash-table-ref/default table key default)
  (let* ((buckets (vector-ref table 1))
         (entry (ptable-find key (vector-ref buckets
                                              (ptable-bucket-index key buckets)))))
    (if entry (cdr entry) default)))
