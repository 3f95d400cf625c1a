;; R7RS 5.2 and 5.6: import declarations and libraries. The libraries are
;; in imp-test/ beside this file (found on the library search path: the
;; directory of the program first).
(import (scheme base)
        (scheme write)
        (imp-test points)
        (prefix (imp-test shapes) s:)
        (rename (only (imp-test folded) shout) (shout yell)))
(load "check.scm")

;;; Exports, renamed exports, records

(define p (make-point 3 4))
(check (point? p) => #t)
(check (point-x p) => 3)
(check (y-of p) => 4)
(check (point-sum p) => 7)

;;; Private names do not meet the program's

(define (helper x) 'program-helper)
(define counter 'program-counter)
(check (helper 1) => 'program-helper)
(check (point-sum p) => 7)
(check (counter-value) => 1)
(check counter => 'program-counter)
(check (guard (e (#t 'unbound)) point-y) => 'unbound)   ; exported only as y-of
(check (guard (e (#t 'unbound)) identity) => 'unbound)  ; private

;;; An exported macro uses the library's private procedure, hygienically

(define tmp 'program-tmp)
(define identity 'program-identity)
(check (let ((a 1) (b 2)) (swap! a b) (list a b)) => '(2 1))
(check (let ((tmp 1) (b 2)) (swap! tmp b) (list tmp b)) => '(2 1))
(check (list tmp identity) => '(program-tmp program-identity))

;;; prefix, rename, only; a library importing a library

(check (s:area p) => 12)
(check (s:describe p) => '((shapes-filter 3) r7rs))
(check (s:filter 9) => '(shapes-filter 9))
(check (filter odd? '(1 2 3)) => '(1 3))          ; the built-in, here
(check s:shape-version => 2)                       ; include-library-declarations
(check (guard (e (#t 'unbound)) (eval 'area (interaction-environment))) => 'unbound)
(check (yell 'hi) => '(loud hi))                   ; include-ci folded the body
(check (guard (e (#t 'unbound)) (eval 'shout (interaction-environment))) => 'unbound)

;;; A library's body runs once, however often it is imported

(import (imp-test points))
(import (only (imp-test points) loaded-count))
(check (loaded-count) => 1)

;;; except

(import (except (imp-test shapes) area describe filter))
(check shape-version => 2)
(check (guard (e (#t 'unbound)) (eval 'area (interaction-environment))) => 'unbound)

;;; cond-expand's library requirement

(check (cond-expand ((library (imp-test points)) 'yes) (else 'no)) => 'yes)
(check (cond-expand ((library (scheme base)) 'yes) (else 'no)) => 'yes)
(check (cond-expand ((library (imp-test no-such)) 'yes) (else 'no)) => 'no)
(check (cond-expand ((and r7rs (not (library (no such)))) 'ok) (else 'no)) => 'ok)

;;; Errors

(check-error (eval '(import (imp-test no-such)) (interaction-environment)))
(check-error (eval '(import (only (scheme base) car) extra) (interaction-environment)))
(check-error (eval '(define-library (scheme base) (begin)) (interaction-environment)))
(check-error (eval '(define-library (imp-test bad) (frobnicate)) (interaction-environment)))
(check-error (eval '(let () (import (scheme base)) 1) (interaction-environment)))

;;; environment with user libraries

(check (eval '(point-sum (make-point 1 2)) (environment '(scheme base) '(imp-test points))) => 3)
(check (eval '(p:area (p:make-point 2 5))
             (environment '(prefix (imp-test shapes) p:) '(prefix (imp-test points) p:)))
       => 10)
(check-error (eval 'helper (environment '(imp-test points))))

;;; include and include-ci at the top level and in a body

(check (let () (include "imp-test/points-body.scm") (point-x (make-point 8 9))) => 8)
;; include-ci reads the file as if it began with #!fold-case.
(check (let () (include-ci "imp-test/folded-body.scm") (shout 'hi)) => '(loud hi))
(check-error (eval '(let () (include "imp-test/folded-body.scm") (SHOUT 'hi))
                   (interaction-environment)))

;;; At the top level, the program's own definition wins over an import

(define (point-sum p) 'program-point-sum)
(check (point-sum p) => 'program-point-sum)
(check (point-x p) => 3)

(report)
