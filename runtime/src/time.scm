;; SRFI-19: time and date (boot loads this file after collections.scm).
;; prim/time.rs reads the clocks and the local time zone; the rest is here:
;; times (a type, seconds and nanoseconds), dates in the proleptic
;; Gregorian calendar, the TAI-UTC leap second table, Julian days,
;; formatting and parsing.

(define time-duration 'time-duration)
(define time-monotonic 'time-monotonic)
(define time-process 'time-process)
(define time-tai 'time-tai)
(define time-thread 'time-thread)
(define time-utc 'time-utc)
(define time%types '(time-duration time-monotonic time-process time-tai time-thread time-utc))

(define-record-type <time>
  (time%make type nanosecond second)
  time?
  (type time-type time%set-type!)
  (nanosecond time-nanosecond time%set-nanosecond!)
  (second time-second time%set-second!))

(define (time%check who t) (if (not (time? t)) (error (string-append who ": expected a time") t)))
(define (time%check-type who type)
  (if (not (memq type time%types)) (error (string-append who ": not a time type") type)))
(define (time%check-int who x)
  (if (not (exact-integer? x)) (error (string-append who ": expected an exact integer") x)))

;; A time of `type` from a count of nanoseconds: the second and the
;; nanosecond have the same sign, the nanosecond below 10^9 in size.
(define (time%from-ns type total)
  (time%make type (truncate-remainder total 1000000000) (truncate-quotient total 1000000000)))
(define (time%ns t) (+ (* (time-second t) 1000000000) (time-nanosecond t)))

(define (make-time type nanosecond second)
  (time%check-type "make-time" type)
  (time%check-int "make-time" nanosecond)
  (time%check-int "make-time" second)
  (if (not (< -1000000000 nanosecond 1000000000))
      (error "make-time: the nanosecond is out of range" nanosecond))
  (time%from-ns type (+ (* second 1000000000) nanosecond)))

(define (set-time-type! t type) (time%check "set-time-type!" t) (time%check-type "set-time-type!" type) (time%set-type! t type))
(define (set-time-nanosecond! t n) (time%check "set-time-nanosecond!" t) (time%check-int "set-time-nanosecond!" n) (time%set-nanosecond! t n))
(define (set-time-second! t s) (time%check "set-time-second!" t) (time%check-int "set-time-second!" s) (time%set-second! t s))
(define (copy-time t) (time%check "copy-time" t) (time%make (time-type t) (time-nanosecond t) (time-second t)))

(define (time-resolution . type) 1)

;; SRFI-18's view of a UTC time: seconds since the epoch, inexact.
(define (time->seconds t)
  (time%check "time->seconds" t)
  (inexact (/ (time%ns t) 1000000000)))
(define (seconds->time s)
  (if (not (real? s)) (error "seconds->time: expected a real number" s))
  (time%from-ns time-utc (exact (round (* (exact s) 1000000000)))))

(define (current-time . type)
  (let ((type (if (pair? type) (car type) time-utc)))
    (time%check-type "current-time" type)
    (case type
      ((time-utc) (let ((c (%clock-time 0))) (time%make time-utc (cdr c) (car c))))
      ((time-tai) (time-utc->time-tai (current-time time-utc)))
      ((time-monotonic) (time-utc->time-monotonic (current-time time-utc)))
      ((time-thread) (let ((c (%clock-time 2))) (time%make time-thread (cdr c) (car c))))
      ((time-process) (let ((c (%clock-time 3))) (time%make time-process (cdr c) (car c))))
      (else (error "current-time: there is no clock of durations" type)))))

;; ---- comparing and arithmetic ----------------------------------------------------

(define (time%same-type who a b)
  (time%check who a)
  (time%check who b)
  (if (not (eq? (time-type a) (time-type b)))
      (error (string-append who ": times of different types") (time-type a) (time-type b))))
(define (time=? a b) (time%same-type "time=?" a b) (= (time%ns a) (time%ns b)))
(define (time<? a b) (time%same-type "time<?" a b) (< (time%ns a) (time%ns b)))
(define (time<=? a b) (time%same-type "time<=?" a b) (<= (time%ns a) (time%ns b)))
(define (time>? a b) (time%same-type "time>?" a b) (> (time%ns a) (time%ns b)))
(define (time>=? a b) (time%same-type "time>=?" a b) (>= (time%ns a) (time%ns b)))

(define (time-difference a b)
  (time%same-type "time-difference" a b)
  (time%from-ns time-duration (- (time%ns a) (time%ns b))))
(define (time%set! t from)
  (time%set-type! t (time-type from))
  (time%set-second! t (time-second from))
  (time%set-nanosecond! t (time-nanosecond from))
  t)
(define (time-difference! a b) (time%set! a (time-difference a b)))

(define (time%duration who d)
  (time%check who d)
  (if (not (eq? (time-type d) time-duration)) (error (string-append who ": expected a duration") d)))
(define (add-duration t d)
  (time%check "add-duration" t)
  (time%duration "add-duration" d)
  (time%from-ns (time-type t) (+ (time%ns t) (time%ns d))))
(define (subtract-duration t d)
  (time%check "subtract-duration" t)
  (time%duration "subtract-duration" d)
  (time%from-ns (time-type t) (- (time%ns t) (time%ns d))))
(define (add-duration! t d) (time%set! t (add-duration t d)))
(define (subtract-duration! t d) (time%set! t (subtract-duration t d)))

;; ---- UTC, TAI and monotonic time ---------------------------------------------------

;; Days from 1970-01-01 to year-month-day (proleptic Gregorian).
(define (time%days-from-civil y m d)
  (let* ((y (if (<= m 2) (- y 1) y))
         (era (floor-quotient y 400))
         (yoe (- y (* era 400)))
         (mp (modulo (+ m 9) 12))
         (doy (+ (quotient (+ (* 153 mp) 2) 5) (- d 1)))
         (doe (+ (* yoe 365) (quotient yoe 4) (- (quotient yoe 100)) doy)))
    (+ (* era 146097) doe -719468)))

;; The (year month day) of a count of days from 1970-01-01.
(define (time%civil-from-days z)
  (let* ((z (+ z 719468))
         (era (floor-quotient z 146097))
         (doe (- z (* era 146097)))
         (yoe (quotient (+ doe (- (quotient doe 1460)) (quotient doe 36524) (- (quotient doe 146096))) 365))
         (doy (- doe (+ (* 365 yoe) (quotient yoe 4) (- (quotient yoe 100)))))
         (mp (quotient (+ (* 5 doy) 2) 153))
         (d (+ (- doy (quotient (+ (* 153 mp) 2) 5)) 1))
         (m (if (< mp 10) (+ mp 3) (- mp 9)))
         (y (+ yoe (* era 400) (if (<= m 2) 1 0))))
    (list y m d)))

;; TAI - UTC from each UTC second it took effect, latest first.
(define time%leap-seconds
  (reverse
   (map (lambda (e) (cons (* 86400 (time%days-from-civil (car e) (cadr e) 1)) (caddr e)))
        '((1972 1 10) (1972 7 11) (1973 1 12) (1974 1 13) (1975 1 14) (1976 1 15) (1977 1 16)
          (1978 1 17) (1979 1 18) (1980 1 19) (1981 7 20) (1982 7 21) (1983 7 22) (1985 7 23)
          (1988 1 24) (1990 1 25) (1991 1 26) (1992 7 27) (1993 7 28) (1994 7 29) (1996 1 30)
          (1997 7 31) (1999 1 32) (2006 1 33) (2009 1 34) (2012 7 35) (2015 7 36) (2017 1 37)))))

(define (time%utc->tai-offset s)
  (let loop ((l time%leap-seconds))
    (cond ((null? l) 0) ((>= s (caar l)) (cdar l)) (else (loop (cdr l))))))
(define (time%tai->utc-offset s)
  (let loop ((l time%leap-seconds))
    (cond ((null? l) 0) ((>= (- s (cdar l)) (caar l)) (cdar l)) (else (loop (cdr l))))))

(define (time%convert who t from to shift)
  (time%check who t)
  (if (not (eq? (time-type t) from)) (error (string-append who ": expected a time of type " (symbol->string from)) t))
  (time%make to (time-nanosecond t) (+ (time-second t) (shift (time-second t)))))

(define (time-utc->time-tai t) (time%convert "time-utc->time-tai" t time-utc time-tai time%utc->tai-offset))
(define (time-tai->time-utc t)
  (time%convert "time-tai->time-utc" t time-tai time-utc (lambda (s) (- (time%tai->utc-offset s)))))
;; Monotonic time is TAI under another type (as in the SRFI's model).
(define (time-tai->time-monotonic t) (time%convert "time-tai->time-monotonic" t time-tai time-monotonic (lambda (s) 0)))
(define (time-monotonic->time-tai t) (time%convert "time-monotonic->time-tai" t time-monotonic time-tai (lambda (s) 0)))
(define (time-utc->time-monotonic t) (time-tai->time-monotonic (time-utc->time-tai t)))
(define (time-monotonic->time-utc t) (time-tai->time-utc (time-monotonic->time-tai t)))
(define (time-utc->time-tai! t) (time%set! t (time-utc->time-tai t)))
(define (time-tai->time-utc! t) (time%set! t (time-tai->time-utc t)))
(define (time-tai->time-monotonic! t) (time%set! t (time-tai->time-monotonic t)))
(define (time-monotonic->time-tai! t) (time%set! t (time-monotonic->time-tai t)))
(define (time-utc->time-monotonic! t) (time%set! t (time-utc->time-monotonic t)))
(define (time-monotonic->time-utc! t) (time%set! t (time-monotonic->time-utc t)))

;; ---- dates -----------------------------------------------------------------------

(define-record-type <date>
  (date%make nanosecond second minute hour day month year zone-offset)
  date?
  (nanosecond date-nanosecond)
  (second date-second)
  (minute date-minute)
  (hour date-hour)
  (day date-day)
  (month date-month)
  (year date-year)
  (zone-offset date-zone-offset))

(define (time%leap-year? y) (and (= 0 (modulo y 4)) (or (not (= 0 (modulo y 100))) (= 0 (modulo y 400)))))
(define (time%month-days y m)
  (if (= m 2) (if (time%leap-year? y) 29 28) (vector-ref #(31 28 31 30 31 30 31 31 30 31 30 31) (- m 1))))

(define (make-date nanosecond second minute hour day month year zone-offset)
  (for-each (lambda (x) (time%check-int "make-date" x))
            (list nanosecond second minute hour day month year zone-offset))
  (if (not (and (<= 0 nanosecond 999999999) (<= 0 second 60) (<= 0 minute 59) (<= 0 hour 23)
                (<= 1 month 12) (<= 1 day (time%month-days year month))
                (< -86400 zone-offset 86400)))
      (error "make-date: a field is out of range"
             (list nanosecond second minute hour day month year zone-offset)))
  (date%make nanosecond second minute hour day month year zone-offset))

(define (time%check-date who d) (if (not (date? d)) (error (string-append who ": expected a date") d)))

(define (time%local-offset seconds) (%local-offset seconds))

;; The date of a UTC instant, `seconds` after the epoch, in zone `tz`.
(define (time%utc-date seconds nanosecond tz)
  (let* ((local (+ seconds tz))
         (days (floor-quotient local 86400))
         (secs (- local (* days 86400)))
         (ymd (time%civil-from-days days)))
    (date%make nanosecond (modulo secs 60) (modulo (quotient secs 60) 60) (quotient secs 3600)
               (caddr ymd) (cadr ymd) (car ymd) tz)))

(define (time-utc->date t . tz)
  (time%check "time-utc->date" t)
  (if (not (eq? (time-type t) time-utc)) (error "time-utc->date: expected a UTC time" t))
  (let ((s (floor-quotient (time%ns t) 1000000000))
        (ns (floor-remainder (time%ns t) 1000000000)))
    (time%utc-date s ns (if (pair? tz) (car tz) (time%local-offset s)))))
(define (time-tai->date t . tz) (apply time-utc->date (time-tai->time-utc t) tz))
(define (time-monotonic->date t . tz) (apply time-utc->date (time-monotonic->time-utc t) tz))

(define (date->time-utc d)
  (time%check-date "date->time-utc" d)
  (let ((s (+ (* 86400 (time%days-from-civil (date-year d) (date-month d) (date-day d)))
              (* 3600 (date-hour d)) (* 60 (date-minute d)) (date-second d)
              (- (date-zone-offset d)))))
    (time%from-ns time-utc (+ (* s 1000000000) (date-nanosecond d)))))
(define (date->time-tai d) (time-utc->time-tai (date->time-utc d)))
(define (date->time-monotonic d) (time-utc->time-monotonic (date->time-utc d)))

(define (current-date . tz)
  (apply time-utc->date (current-time time-utc) tz))

(define (date-year-day d)
  (time%check-date "date-year-day" d)
  (+ 1 (- (time%days-from-civil (date-year d) (date-month d) (date-day d))
          (time%days-from-civil (date-year d) 1 1))))

;; 0 for Sunday.
(define (date-week-day d)
  (time%check-date "date-week-day" d)
  (modulo (+ 4 (time%days-from-civil (date-year d) (date-month d) (date-day d))) 7))

;; The week of the year the date is in, weeks starting on
;; day-of-week-starting-week (0: Sunday); days before the first such day
;; are in week 0.
(define (date-week-number d day-of-week-starting-week)
  (time%check-date "date-week-number" d)
  (let* ((jan1 (modulo (+ 4 (time%days-from-civil (date-year d) 1 1)) 7))
         (before-first (modulo (- day-of-week-starting-week jan1) 7)))
    (quotient (+ (- (date-year-day d) 1 before-first) 7) 7)))

;; ---- Julian days -------------------------------------------------------------------

(define time%jd-epoch 4881175/2)        ; the Julian day of 1970-01-01T00:00Z
(define time%mjd-offset 4800001/2)      ; JD - MJD

(define (time-utc->julian-day t)
  (time%check "time-utc->julian-day" t)
  (+ (/ (time%ns t) (* 86400 1000000000)) time%jd-epoch))
(define (time-tai->julian-day t) (time-utc->julian-day (time-tai->time-utc t)))
(define (time-monotonic->julian-day t) (time-utc->julian-day (time-monotonic->time-utc t)))
(define (time-utc->modified-julian-day t) (- (time-utc->julian-day t) time%mjd-offset))
(define (time-tai->modified-julian-day t) (- (time-tai->julian-day t) time%mjd-offset))
(define (time-monotonic->modified-julian-day t) (- (time-monotonic->julian-day t) time%mjd-offset))
(define (date->julian-day d) (time-utc->julian-day (date->time-utc d)))
(define (date->modified-julian-day d) (- (date->julian-day d) time%mjd-offset))

(define (julian-day->time-utc jd)
  (if (not (real? jd)) (error "julian-day->time-utc: expected a real number" jd))
  (time%from-ns time-utc (round (exact (* (- (exact jd) time%jd-epoch) 86400 1000000000)))))
(define (julian-day->time-tai jd) (time-utc->time-tai (julian-day->time-utc jd)))
(define (julian-day->time-monotonic jd) (time-utc->time-monotonic (julian-day->time-utc jd)))
(define (julian-day->date jd . tz) (apply time-utc->date (julian-day->time-utc jd) tz))
(define (modified-julian-day->time-utc mjd) (julian-day->time-utc (+ (exact mjd) time%mjd-offset)))
(define (modified-julian-day->time-tai mjd) (julian-day->time-tai (+ (exact mjd) time%mjd-offset)))
(define (modified-julian-day->time-monotonic mjd) (julian-day->time-monotonic (+ (exact mjd) time%mjd-offset)))
(define (modified-julian-day->date mjd . tz) (apply julian-day->date (+ (exact mjd) time%mjd-offset) tz))
(define (current-julian-day) (time-utc->julian-day (current-time time-utc)))
(define (current-modified-julian-day) (time-utc->modified-julian-day (current-time time-utc)))

;; ---- date->string ------------------------------------------------------------------

(define time%day-names '#("Sunday" "Monday" "Tuesday" "Wednesday" "Thursday" "Friday" "Saturday"))
(define time%month-names
  '#("January" "February" "March" "April" "May" "June" "July" "August" "September" "October"
     "November" "December"))
(define (time%abbrev s) (substring s 0 3))

(define (time%pad n width pad)
  (let ((s (number->string (abs n))))
    (string-append (if (< n 0) "-" "")
                   (if (< (string-length s) width) (make-string (- width (string-length s)) pad) "")
                   s)))

(define (time%zone offset)
  (if (= offset 0)
      "Z"
      (string-append (if (< offset 0) "-" "+")
                     (time%pad (quotient (abs offset) 3600) 2 #\0)
                     (time%pad (quotient (modulo (abs offset) 3600) 60) 2 #\0))))

;; The ISO 8601 week number (1 to 53) of a date.
(define (time%iso-week d)
  (let* ((days (time%days-from-civil (date-year d) (date-month d) (date-day d)))
         (wday (modulo (+ 3 days) 7))          ; 0 for Monday
         (thursday (+ days (- 3 wday)))        ; the Thursday of its week
         (year (car (time%civil-from-days thursday))))
    (+ 1 (quotient (- thursday (time%days-from-civil year 1 1)) 7))))

(define (date->string d . format)
  (time%check-date "date->string" d)
  (let ((fmt (if (pair? format) (car format) "~c"))
        (out (open-output-string)))
    (if (not (string? fmt)) (error "date->string: expected a format string" fmt))
    (let loop ((i 0))
      (cond
       ((= i (string-length fmt)) (get-output-string out))
       ((not (char=? (string-ref fmt i) #\~)) (write-char (string-ref fmt i) out) (loop (+ i 1)))
       ((= (+ i 1) (string-length fmt)) (error "date->string: the format ends in ~" fmt))
       (else
        (let ((c (string-ref fmt (+ i 1)))
              (put (lambda (s) (write-string s out)))
              (sub (lambda (f) (write-string (date->string d f) out))))
          (case c
            ((#\~) (put "~"))
            ((#\a) (put (time%abbrev (vector-ref time%day-names (date-week-day d)))))
            ((#\A) (put (vector-ref time%day-names (date-week-day d))))
            ((#\b #\h) (put (time%abbrev (vector-ref time%month-names (- (date-month d) 1)))))
            ((#\B) (put (vector-ref time%month-names (- (date-month d) 1))))
            ((#\c) (sub "~a ~b ~d ~H:~M:~S~z ~Y"))
            ((#\d) (put (time%pad (date-day d) 2 #\0)))
            ((#\D #\x) (sub "~m/~d/~y"))
            ((#\e) (put (time%pad (date-day d) 2 #\space)))
            ((#\f)
             (put (time%pad (date-second d) 2 #\0))
             (if (> (date-nanosecond d) 0)
                 (let* ((frac (time%pad (date-nanosecond d) 9 #\0))
                        (end (let trim ((e 9)) (if (char=? (string-ref frac (- e 1)) #\0) (trim (- e 1)) e))))
                   (put ".") (put (substring frac 0 end)))))
            ((#\H) (put (time%pad (date-hour d) 2 #\0)))
            ((#\I) (put (time%pad (let ((h (modulo (date-hour d) 12))) (if (= h 0) 12 h)) 2 #\0)))
            ((#\j) (put (time%pad (date-year-day d) 3 #\0)))
            ((#\k) (put (time%pad (date-hour d) 2 #\space)))
            ((#\l) (put (time%pad (let ((h (modulo (date-hour d) 12))) (if (= h 0) 12 h)) 2 #\space)))
            ((#\m) (put (time%pad (date-month d) 2 #\0)))
            ((#\M) (put (time%pad (date-minute d) 2 #\0)))
            ((#\n) (put "\n"))
            ((#\N) (put (time%pad (date-nanosecond d) 9 #\0)))
            ((#\p) (put (if (< (date-hour d) 12) "AM" "PM")))
            ((#\r) (sub "~I:~M:~S ~p"))
            ((#\s) (put (number->string (time-second (date->time-utc d)))))
            ((#\S) (put (time%pad (date-second d) 2 #\0)))
            ((#\t) (put "\t"))
            ((#\T #\X) (sub "~H:~M:~S"))
            ((#\U) (put (time%pad (date-week-number d 0) 2 #\0)))
            ((#\V) (put (time%pad (time%iso-week d) 2 #\0)))
            ((#\w) (put (number->string (date-week-day d))))
            ((#\W) (put (time%pad (date-week-number d 1) 2 #\0)))
            ((#\y) (put (time%pad (modulo (date-year d) 100) 2 #\0)))
            ((#\Y) (put (number->string (date-year d))))
            ((#\z #\Z) (put (time%zone (date-zone-offset d))))
            ((#\1) (sub "~Y-~m-~d"))
            ((#\2) (sub "~H:~M:~S~z"))
            ((#\3) (sub "~H:~M:~S"))
            ((#\4) (sub "~Y-~m-~dT~H:~M:~S~z"))
            ((#\5) (sub "~Y-~m-~dT~H:~M:~S"))
            (else (error "date->string: unknown directive" (string #\~ c))))
          (loop (+ i 2))))))))

;; ---- string->date ------------------------------------------------------------------

(define (string->date input template)
  (if (not (string? input)) (error "string->date: expected a string" input))
  (if (not (string? template)) (error "string->date: expected a template string" template))
  (let ((n (string-length input))
        (fields (vector 0 0 0 0 1 1 0 #f)))     ; ns s min h d mon y zone
    (define (fail what at)
      (error (string-append "string->date: " what " at character " (number->string at) " of the input") input))
    (define (skip-blanks i) (if (and (< i n) (char=? (string-ref input i) #\space)) (skip-blanks (+ i 1)) i))
    ;; Up to `most` digits from i: (value . next), at least one.
    (define (digits i most what)
      (let loop ((j i) (v 0))
        (if (and (< j n) (< (- j i) most) (char-numeric? (string-ref input j)))
            (loop (+ j 1) (+ (* v 10) (digit-value (string-ref input j))))
            (if (= j i) (fail (string-append "expected " what) i) (cons v j)))))
    (define (name i names what)
      (let loop ((k 0))
        (if (= k (vector-length names))
            (fail (string-append "expected " what) i)
            (let* ((full (vector-ref names k)) (abbr (time%abbrev full)))
              (cond ((and (<= (+ i (string-length full)) n)
                          (string-ci=? (substring input i (+ i (string-length full))) full))
                     (cons k (+ i (string-length full))))
                    ((and (<= (+ i 3) n) (string-ci=? (substring input i (+ i 3)) abbr))
                     (cons k (+ i 3)))
                    (else (loop (+ k 1))))))))
    (define (set-field! k r) (vector-set! fields k (car r)) (cdr r))
    (let loop ((t 0) (i 0))
      (cond
       ((= t (string-length template))
        (if (< i n) (fail "unexpected text" i))
        (let ((y (vector-ref fields 6)) (zone (vector-ref fields 7)))
          (make-date (vector-ref fields 0) (vector-ref fields 1) (vector-ref fields 2) (vector-ref fields 3)
                     (vector-ref fields 4) (vector-ref fields 5) y
                     (or zone (time%local-offset (time-second (current-time time-utc)))))))
       ((not (char=? (string-ref template t) #\~))
        (if (and (< i n) (char=? (string-ref input i) (string-ref template t)))
            (loop (+ t 1) (+ i 1))
            (fail (string-append "expected `" (string (string-ref template t)) "`") i)))
       ((= (+ t 1) (string-length template)) (error "string->date: the template ends in ~" template))
       (else
        (let ((c (string-ref template (+ t 1))))
          (loop (+ t 2)
                (case c
                  ((#\~) (if (and (< i n) (char=? (string-ref input i) #\~)) (+ i 1) (fail "expected `~`" i)))
                  ((#\a #\A) (cdr (name i time%day-names "a day name")))
                  ((#\b #\B #\h)
                   (let ((r (name i time%month-names "a month name")))
                     (vector-set! fields 5 (+ 1 (car r))) (cdr r)))
                  ((#\d) (set-field! 4 (digits i 2 "a day")))
                  ((#\e) (set-field! 4 (digits (skip-blanks i) 2 "a day")))
                  ((#\H) (set-field! 3 (digits i 2 "an hour")))
                  ((#\k) (set-field! 3 (digits (skip-blanks i) 2 "an hour")))
                  ((#\m) (set-field! 5 (digits i 2 "a month")))
                  ((#\M) (set-field! 2 (digits i 2 "a minute")))
                  ((#\S) (set-field! 1 (digits i 2 "a second")))
                  ((#\N) (set-field! 0 (digits i 9 "nanoseconds")))
                  ((#\y)
                   (let ((r (digits i 2 "a year")))
                     ;; Within fifty years of now.
                     (let* ((now (date-year (current-date 0)))
                            (y (+ (car r) (* 100 (quotient now 100))))
                            (y (cond ((> (- y now) 50) (- y 100)) ((> (- now y) 50) (+ y 100)) (else y))))
                       (vector-set! fields 6 y)
                       (cdr r))))
                  ((#\Y)
                   (let* ((neg (and (< i n) (char=? (string-ref input i) #\-)))
                          (r (digits (if neg (+ i 1) i) 9 "a year")))
                     (vector-set! fields 6 (if neg (- (car r)) (car r)))
                     (cdr r)))
                  ((#\z)
                   (cond ((and (< i n) (memv (string-ref input i) '(#\Z #\z)))
                          (vector-set! fields 7 0) (+ i 1))
                         ((and (< i n) (memv (string-ref input i) '(#\+ #\-)))
                          (let* ((sign (if (char=? (string-ref input i) #\-) -1 1))
                                 (h (digits (+ i 1) 2 "a zone's hours"))
                                 (j (cdr h))
                                 (j (if (and (< j n) (char=? (string-ref input j) #\:)) (+ j 1) j))
                                 (m (digits j 2 "a zone's minutes")))
                            (vector-set! fields 7 (* sign (+ (* 3600 (car h)) (* 60 (car m)))))
                            (cdr m)))
                         (else (fail "expected a time zone" i))))
                  (else (error "string->date: unknown directive" (string #\~ c)))))))))))
