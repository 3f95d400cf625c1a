;; SRFI-64 A Scheme API for test suites: results and counts through a
;; null runner, skipping and expected failures, groups, specifiers, the
;; callbacks, test-apply, and the simple runner's report.
(load "../r7rs/check.scm")

;; Run thunk with a fresh null runner that records each test's kind.
(define (kinds-of thunk)
  (let ((r (test-runner-null)) (kinds '()))
    (test-runner-on-test-end! r (lambda (r) (set! kinds (cons (test-result-kind r) kinds))))
    (test-with-runner r (thunk))
    (reverse kinds)))

(check (kinds-of (lambda ()
                   (test-begin "basic")
                   (test-assert "true" (= 1 1))
                   (test-assert #f)
                   (test-eqv 4 (+ 2 2))
                   (test-eqv "named" 4 5)
                   (test-equal '(1 (2)) (list 1 (list 2)))
                   (test-eq 'a 'a)
                   (test-eq "eq" (list 1) (list 1))
                   (test-approximate 1.0 1.05 0.1)
                   (test-approximate 1.0 1.5 0.1)
                   (test-assert (car '()))
                   (test-end "basic")))
       => '(pass fail pass fail pass pass fail pass fail fail))

;; test-error: any error, a predicate, no error, the wrong kind
(check (kinds-of (lambda ()
                   (test-begin "errors")
                   (test-error (vector-ref (vector 1 2) 9))
                   (test-error #t (car 1))
                   (test-error "file" file-error? (open-input-file "/no/such/file"))
                   (test-error "not a file error" file-error? (car 1))
                   (test-error (+ 1 1))
                   (test-end)))
       => '(pass pass pass fail fail))

;; skipping, by name and by count, undone at the end of the group
(check (kinds-of (lambda ()
                   (test-begin "outer")
                   (test-begin "g1")
                   (test-skip "test-a")
                   (test-assert "test-a" #t)
                   (test-assert "test-b" #t)
                   (test-skip 2)
                   (test-assert "c" #f)
                   (test-assert "d" #f)
                   (test-assert "e" #t)
                   (test-end "g1")
                   (test-assert "test-a" #t)
                   (test-end "outer")))
       => '(skip pass skip skip pass pass))

;; expected failures
(check (kinds-of (lambda ()
                   (test-begin "xf")
                   (test-expect-fail 2)
                   (test-eqv 1 2)
                   (test-eqv 1 1)
                   (test-eqv 1 1)
                   (test-expect-fail "known")
                   (test-assert "known" #f)
                   (test-end)))
       => '(xfail xpass pass xfail))

;; specifiers
(check (kinds-of (lambda ()
                   (test-begin "spec")
                   (test-skip (test-match-nth 2 2))
                   (test-assert "1" #t) (test-assert "2" #t) (test-assert "3" #t) (test-assert "4" #t)
                   (test-skip (test-match-any "x" "y"))
                   (test-assert "x" #t) (test-assert "y" #t) (test-assert "z" #t)
                   (test-skip (test-match-all "w" (lambda (r) #t)))
                   (test-assert "w" #t)
                   (test-end)))
       => '(pass skip skip pass skip skip pass skip))

;; counts, the group path and the test name
(define r (test-runner-null))
(define seen '())
(test-runner-on-test-begin! r (lambda (r) (set! seen (cons (test-runner-group-path r) seen))))
(test-with-runner r
  (test-begin "a")
  (test-group "b" (test-assert "in b" #t) (test-assert #f))
  (test-expect-fail 1)
  (test-assert #f)
  (test-skip 1)
  (test-assert #t)
  (test-end "a"))
(check (list (test-runner-pass-count r) (test-runner-fail-count r) (test-runner-xfail-count r)
             (test-runner-xpass-count r) (test-runner-skip-count r))
       => '(1 1 1 0 1))
(check (reverse seen) => '(("a" "b") ("a" "b") ("a") ("a")))
(check (test-runner-group-stack r) => '())
(check (test-runner-test-name r) => "")

;; a skipped group counts as skipped and runs nothing
(define ran #f)
(define r2 (test-runner-null))
(test-with-runner r2
  (test-begin "top")
  (test-skip "skipped group")
  (test-group "skipped group" (set! ran #t) (test-assert #t))
  (test-end))
(check (list ran (test-runner-skip-count r2) (test-runner-pass-count r2)) => '(#f 1 0))

;; cleanup runs even when the group's body raises
(define cleaned #f)
(check (guard (e (#t 'raised))
         (test-with-runner (test-runner-null)
           (test-group-with-cleanup "c" (raise 'boom) (set! cleaned #t))))
       => 'raised)
(check cleaned => #t)

;; result properties
(define r3 (test-runner-null))
(test-with-runner r3
  (test-begin "props")
  (test-eqv "p" 3 (+ 1 1))
  (check (test-result-kind r3) => 'fail)
  (check (test-passed? r3) => #f)
  (check (test-result-ref r3 'expected-value) => 3)
  (check (test-result-ref r3 'actual-value) => 2)
  (check (test-result-ref r3 'no-such 'dflt) => 'dflt)
  (test-result-set! r3 'mine 7)
  (check (test-result-ref r3 'mine) => 7)
  (test-result-remove r3 'mine)
  (check (test-result-ref r3 'mine) => #f)
  (check (assq 'result-kind (test-result-alist r3)) => '(result-kind . fail))
  (test-assert "ok" #t)
  (check (test-passed? r3) => #t)
  (test-result-clear r3)
  (check (test-result-alist r3) => '())
  (test-end))
(check (test-runner-aux-value r3) => #f)
(test-runner-aux-value! r3 'aux)
(check (test-runner-aux-value r3) => 'aux)

;; the callbacks for a wrong count and a wrong name
(define bad '())
(define r4 (test-runner-null))
(test-runner-on-bad-count! r4 (lambda (r actual expected) (set! bad (cons (list 'count actual expected) bad))))
(test-runner-on-bad-end-name! r4 (lambda (r b e) (set! bad (cons (list 'name b e) bad))))
(test-runner-on-group-begin! r4 (lambda (r name count) (set! bad (cons (list 'begin name count) bad))))
(test-runner-on-final! r4 (lambda (r) (set! bad (cons 'final bad))))
(test-with-runner r4
  (test-begin "counted" 3)
  (test-assert #t)
  (test-group "nested counts as one" (test-assert #t) (test-assert #t))
  (test-end "misnamed"))
(check (reverse bad) => '((begin "counted" 3) (begin "nested counts as one" #f)
                          (name "counted" "misnamed") (count 2 3) final))

;; test-apply runs only the tests its specifiers match
(check (kinds-of (lambda ()
                   (test-begin "apply")
                   (test-apply (test-match-name "b")
                               (lambda () (test-assert "a" #t) (test-assert "b" #t) (test-assert "c" #t)))
                   (test-assert "a" #t)
                   (test-end)))
       => '(skip pass skip pass))

;; test-read-eval-string
(check (test-read-eval-string "(+ 3 4)") => 7)
(check (test-read-eval-string "#\\newline") => #\newline)
(check-error (test-read-eval-string "(+ 3"))
(check-error (test-read-eval-string "(+ 3 4) "))
(check-error (test-read-eval-string "#\\newlin"))

;; the current runner, the factory and the simple runner's report
(check (test-runner-current) => #f)
(check-error (test-runner-get))
(check (test-runner? (test-runner-create)) => #t)
(check (test-runner? 5) => #f)
(define simple-report
  (call-with-output-string
   (lambda (port)
     (parameterize ((current-output-port port))
       (test-begin "simple")
       (check (test-runner? (test-runner-current)) => #t)
       (test-assert "good" #t)
       (test-eqv "bad" 1 2)
       (test-expect-fail 1)
       (test-assert "known" #f)
       (test-end "simple")))))
(check (test-runner-current) => #f)
(check simple-report => (string-append "%%%% Starting test simple\n"
                                "FAIL bad 2\n  expected-value: 1\n  actual-value: 2\n"
                                "# of expected passes      1\n"
                                "# of expected failures    1\n"
                                "# of unexpected failures  1\n"))
(define made 0)
(test-runner-factory (lambda () (set! made (+ made 1)) (test-runner-null)))
(test-begin "factory") (test-assert #t) (test-end)
(check made => 1)
(test-runner-factory test-runner-simple)
(check-error (test-end))

(report)
