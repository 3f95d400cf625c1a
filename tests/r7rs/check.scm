;; The conformance suite's checker: each section file loads this, makes
;; its checks, and ends with (report). A check compares with equal?, except
;; that numbers compare with eqv? (so 2 and 2.0 differ, as exactness must).

(define check-failures 0)
(define check-count 0)

(define (check-same? a b)
  (if (and (number? a) (number? b))
      (or (eqv? a b) (and (nan? a) (nan? b)))
      (equal? a b)))

(define (check-report-failure expr got expected)
  (set! check-failures (+ check-failures 1))
  (display "FAIL: ")
  (write expr)
  (display "\n  got:      ")
  (write got)
  (display "\n  expected: ")
  (write expected)
  (newline))

(define-syntax check
  (syntax-rules (=>)
    ((_ expr => expected)
     (let ((got (guard (e (#t (list 'raised (if (error-object? e) (error-object-message e) e))))
                  expr)))
       (set! check-count (+ check-count 1))
       (if (not (check-same? got expected))
           (check-report-failure 'expr got expected))))))

;; (check-error expr): evaluating expr raises something.
(define-syntax check-error
  (syntax-rules ()
    ((_ expr)
     (let ((raised (guard (e (#t #t)) expr #f)))
       (set! check-count (+ check-count 1))
       (if (not raised)
           (check-report-failure 'expr 'no-error 'an-error))))))

(define (report)
  (display "checks: ")
  (display check-count)
  (display ", failures: ")
  (display check-failures)
  (newline)
  (exit (if (= check-failures 0) 0 1)))
