(define-library (imp-test folded)
  (export shout)
  (import (scheme base))
  (include-ci "folded-body.scm"))
