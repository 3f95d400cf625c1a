(define-library (imp-test shapes)
  (export area describe filter)
  (import (scheme base) (prefix (imp-test points) p:))
  (include-library-declarations "shapes-decls.scm")
  (cond-expand
    (r7rs (begin (define dialect 'r7rs)))
    (else (begin (define dialect 'other))))
  (begin
    ;; Shadows the built-in filter inside this library only, and is used
    ;; before it is defined.
    (define (describe p) (list (filter (p:point-x p)) dialect))
    (define (filter x) (list 'shapes-filter x))
    (define (area p) (* (p:point-x p) (p:y-of p)))))
