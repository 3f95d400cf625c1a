;;;; The "images" benchmark, SBCL side.
;;;;
;;;;   sbcl --dynamic-space-size MB --non-interactive --no-sysinit --no-userinit \
;;;;        --load build.lisp --end-toplevel-options SIZE-MB CORE-PATH
;;;;
;;;; Builds the same data as build.scm (same kinds, same counts per unit,
;;;; SIZE-MB * 1240 units), collects, prints what it measured as
;;;; "name value" lines, then calls save-lisp-and-die. The last line before
;;;; the call, "save-start-epoch SECONDS", is the wall clock just before it:
;;;; run.sh subtracts it from the time the process ended to get the save time.
;;;;
;;;; With CORE-PATH "-" it builds and reports but does not save.

(defpackage :images-bench (:use :common-lisp))
(in-package :images-bench)

(defconstant +units-per-mb+ 1240)
(defconstant +tag-count+ 16)
(defconstant +cell-count+ 24)
(defparameter *name-padding*
  "-abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz")
(defparameter *big-base* (expt 10 40))

(defstruct item id name tags cells weight action)

(defvar *table* nil)   ; id -> item
(defvar *index* nil)   ; vector of every item, in order

(defun epoch-seconds ()
  (multiple-value-bind (sec usec) (sb-ext:get-time-of-day)
    (+ sec (/ usec 1d6))))

(defun make-unit (i)
  (let ((tags '())
        (cells (make-array +cell-count+ :initial-element 0)))
    (dotimes (k +tag-count+)
      (push (+ i k) tags))
    (dotimes (k +cell-count+)
      (setf (svref cells k) (* i k)))
    (make-item :id i
               :name (concatenate 'string "item-" (princ-to-string i)
                                  *name-padding*)
               :tags tags
               :cells cells
               :weight (* (+ i 1) *big-base*)
               :action (lambda (x) (+ x i)))))

(defun build (n)
  (setf *table* (make-hash-table :test 'eql :size n)
        *index* (make-array n :initial-element nil))
  (dotimes (i n)
    (let ((u (make-unit i)))
      (setf (svref *index* i) u
            (gethash i *table*) u))))

(defun probe-sum (n)
  (let ((sum 0))
    (dotimes (k 100 sum)
      (let ((u (gethash (mod (* k 7919) n) *table*)))
        (incf sum (+ (funcall (item-action u) 1)
                     (length (item-tags u))
                     (svref (item-cells u) 1)
                     (length (item-name u))))))))

(defun report (name value)
  (format t "~a ~a~%" name value))

(defun run (size-mb core)
  (let* ((n (* size-mb +units-per-mb+))
         (t0 (epoch-seconds)))
    (build n)
    (sb-ext:gc :full t)
    (report "units" n)
    (report "setup-s" (format nil "~,6f" (- (epoch-seconds) t0)))
    (report "live-bytes" (sb-kernel:dynamic-usage))
    (report "check" (probe-sum n))
    (unless (string= core "-")
      (report "save-start-epoch" (format nil "~,6f" (epoch-seconds)))
      (finish-output)
      (sb-ext:save-lisp-and-die core))
    (finish-output)))

(let ((args (last sb-ext:*posix-argv* 2)))
  (run (parse-integer (first args)) (second args)))
