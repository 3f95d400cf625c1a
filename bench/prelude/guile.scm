;; Prelude for Guile 3: the benchmarks use the SRFI-69 hash-table names
;; (make-hash-table, hash-table-set!, hash-table-ref/default), which Guile
;; ships as a module. run.sh puts this file in front of each program.
(use-modules (srfi srfi-69))
