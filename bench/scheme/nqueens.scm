;; nqueens: count all placements of 8 queens, with lists. Measures list
;; allocation (cons, append), short recursive walks and comparisons.

;; The list (1 2 ... n).
(define (one-to n)
  (let loop ((i n) (acc '()))
    (if (= i 0)
        acc
        (loop (- i 1) (cons i acc)))))

;; Is a queen in row ROW safe from the queens already PLACED, the nearest
;; of which is DIST columns away?
(define (ok? row dist placed)
  (cond ((null? placed) #t)
        ((= (car placed) (+ row dist)) #f)
        ((= (car placed) (- row dist)) #f)
        (else (ok? row (+ dist 1) (cdr placed)))))

;; CANDIDATES are rows still free to try in this column, REJECTED are free
;; rows already tried here, PLACED the rows of the queens so far.
(define (try candidates rejected placed)
  (if (null? candidates)
      (if (null? rejected) 1 0)
      (+ (if (ok? (car candidates) 1 placed)
             (try (append (cdr candidates) rejected)
                  '()
                  (cons (car candidates) placed))
             0)
         (try (cdr candidates)
              (cons (car candidates) rejected)
              placed))))

(define (queens n)
  (try (one-to n) '() '()))

(define (repeat-queens times)
  (let loop ((i 1) (result (queens 8)))
    (if (< i times)
        (loop (+ i 1) (queens 8))
        result)))

(display (repeat-queens 300))
(newline)
