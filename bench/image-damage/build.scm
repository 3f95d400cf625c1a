;; The image for bench/image-damage/run.sh.
;;
;;   imp build.scm SIZE-MB IMAGE-PATH
;;
;; Builds about SIZE-MB MiB of data that every part of the image's heap
;; holds a share of (records of a string, a list, a vector, a bignum, a
;; flonum and a closure), saves it with save-application, and exits. The
;; image's toplevel, `main', with no argument prints 1 (the start-up
;; probe); with "entry" it prints the microseconds from the runtime's
;; creation to the toplevel's first instruction (the load); with "sum" it
;; reads every unit, every character of every string included, and prints
;; a checksum of it all (the damage experiment's answer).

(define units-per-mb 3630)

(define-record-type unit
  (make-unit id name tags cells big real action)
  unit?
  (id unit-id)
  (name unit-name)
  (tags unit-tags)
  (cells unit-cells)
  (big unit-big)
  (real unit-real)
  (action unit-action))

(define (build i)
  (make-unit i
             (string-append "unit-" (number->string i))
             (list i (+ i 1) (* 3 i))
             (vector i (* i i) (- i))
             (* (+ i 1) 100000000000000000000)
             (/ (+ i 1) 8.0)
             (lambda (x) (+ x i))))

(define data #f)

(define (mix s x) (modulo (+ (* s 31) x) 1000000007))

(define (string-sum s)
  (let loop ((k 0) (acc 0))
    (if (= k (string-length s))
        acc
        (loop (+ k 1) (mix acc (char->integer (string-ref s k)))))))

(define (unit-sum u)
  (let* ((s (mix 0 (unit-id u)))
         (s (mix s (string-sum (unit-name u))))
         (s (fold-left mix s (unit-tags u)))
         (s (mix s (vector-ref (unit-cells u) 0)))
         (s (mix s (vector-ref (unit-cells u) 1)))
         (s (mix s (+ 1000000007 (vector-ref (unit-cells u) 2))))
         (s (mix s (modulo (unit-big u) 1000003)))
         (s (mix s (exact (floor (* 8 (unit-real u)))))))
    (mix s ((unit-action u) 1))))

(define (checksum)
  (let loop ((i 0) (s 0))
    (if (= i (vector-length data))
        s
        (loop (+ i 1) (mix s (unit-sum (vector-ref data i)))))))

(define (main)
  (let ((entered (current-jiffy))
        (args (cdr (command-line))))
    (cond ((null? args) (display 1) (newline))
          ((equal? (car args) "entry") (display entered) (newline))
          ((equal? (car args) "sum") (display (checksum)) (newline))
          (else (display "usage: IMAGE [entry|sum]") (newline) (exit 2)))))

(let ((args (cdr (command-line))))
  (if (= (length args) 2)
      (let ((n (* units-per-mb (string->number (car args)))))
        (set! data (make-vector n #f))
        (do ((i 0 (+ i 1))) ((= i n))
          (vector-set! data i (build i)))
        (gc)
        (save-application (cadr args) #:toplevel main #:fork #f))
      (begin
        (display "usage: imp build.scm SIZE-MB IMAGE-PATH")
        (newline)
        (exit 2))))
