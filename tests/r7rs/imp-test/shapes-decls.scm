(export shape-version)
(begin (define shape-version 2))
