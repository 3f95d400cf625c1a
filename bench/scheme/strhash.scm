;; strhash: 200,000 string keys "k0" .. "k199999" stored in a hash table,
;; then each looked up again. Measures number->string, string-append,
;; string hashing and hash-table growth. Hash tables use the SRFI-69 names.

(define key-count 200000)

(define (key i)
  (string-append "k" (number->string i)))

(define table (make-hash-table string=?))

(define (fill i)
  (cond ((< i key-count)
         (hash-table-set! table (key i) i)
         (fill (+ i 1)))))

(define (sum-lookups i acc)
  (if (< i key-count)
      (sum-lookups (+ i 1) (+ acc (hash-table-ref/default table (key i) 0)))
      acc))

(fill 0)
(display (sum-lookups 0 0))
(newline)
