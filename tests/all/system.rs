//! Files, directories and processes (`runtime/src/os.scm`,
//! `runtime/src/prim/fs.rs`, `runtime/src/prim/process.rs`): what the
//! procedures do, the errors they raise, and the grants that gate them.
//!
//! Everything that changes the process (the umask, the current directory)
//! or starts children runs as a Scheme program file in a per-test
//! directory through the `imp` binary, killed if it outlives a limit; the
//! test process itself never forks. Only the grant refusals run in
//! process, and they start nothing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use imp::Runtime;

/// The longest any one program may run: only a hang comes near it.
const LIMIT: Duration = Duration::from_secs(20);

/// A fresh directory for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("imp-system-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        // Canonical, so that it can be compared with what real-path,
        // current-directory and a child's pwd report.
        Dir(std::fs::canonicalize(&d).expect("canonical temp dir"))
    }
    fn path(&self) -> String {
        self.0.display().to_string()
    }
    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of `imp` gave.
struct Out {
    status: i32,
    stdout: String,
    stderr: String,
}

/// Run the program `src` as `prog.scm` in `d` (its current directory),
/// with the extra environment `env`, killing it after [`LIMIT`]. Output
/// is drained while it runs, so a chatty program cannot block.
fn run_in(d: &Dir, src: &str, env: &[(&str, &str)]) -> Out {
    let f = d.0.join("prog.scm");
    std::fs::write(&f, src).expect("write program");
    let mut child = Command::new(env!("CARGO_BIN_EXE_imp"))
        .current_dir(&d.0)
        .arg(&f)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn imp");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code().unwrap_or(-1);
        }
        if t0.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("imp did not finish within {LIMIT:?}: {src}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Out {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Run `src` in `d` and require a clean exit with exactly `expected` on
/// standard output.
fn expect_output(d: &Dir, src: &str, expected: &str) {
    expect_output_env(d, src, &[], expected);
}

fn expect_output_env(d: &Dir, src: &str, env: &[(&str, &str)], expected: &str) {
    let o = run_in(d, src, env);
    assert_eq!(o.status, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert_eq!(o.stdout, expected, "stderr:\n{}", o.stderr);
    assert_eq!(o.stderr, "", "stdout:\n{}", o.stdout);
}

/// Scheme helpers the programs share: `show` writes a datum and a
/// newline; `(caught thunk)` is the thunk's value, or for a raised
/// condition `(file-error message irritants)` / `(error message
/// irritants)`; `octal` writes the permission bits of a mode in octal.
const PRELUDE: &str = r#"
(define (show x) (write x) (newline))
(define (caught thunk)
  (guard (e ((file-error? e)
             (list 'file-error (error-object-message e) (error-object-irritants e)))
            ((error-object? e)
             (list 'error (error-object-message e) (error-object-irritants e))))
    (thunk)))
(define (octal mode) (number->string (modulo mode 512) 8))
(define (perm path) (octal (file-info:mode (file-info path #f))))
;; The file type bits of a mode: 4 a directory, 8 a regular file, 10 a link.
(define (type-bits path) (quotient (file-info:mode (file-info path #f)) 4096))
(define (read-all port)
  (let loop ((acc '()))
    (let ((c (read-char port)))
      (if (eof-object? c) (list->string (reverse acc)) (loop (cons c acc))))))
"#;

fn program(body: &str) -> String {
    format!("{PRELUDE}\n{body}")
}

// ---- directories and files -------------------------------------------------------------

// Proves the directory procedures do what SRFI-170 says, observed through
// file-info: create-directory's mode (default #o775) is filtered by the
// umask set-umask! installed, umask reads it back; directory-files is
// sorted and hides dotfiles unless asked; open/read/close-directory walk
// the same names; rename-file moves; delete-directory removes an empty
// directory; file-info's type bits in the mode agree with its predicates.
#[test]
fn directories_are_made_listed_read_renamed_and_deleted() {
    let d = Dir::new("dirs");
    expect_output(
        &d,
        &program(
            r#"
(set-umask! #o027)
(show (number->string (umask) 8))
(create-directory "plain")            ; #o775 less #o027
(create-directory "open" #o777)       ; #o777 less #o027
(create-directory "private" #o700)
(create-directory "readonly" #o555)
(show (map perm '("plain" "open" "private" "readonly")))
(show (map type-bits '("plain" "open")))
(show (file-info-directory? (file-info "plain")))
(show (file-info-regular? (file-info "plain")))
(for-each (lambda (n) (call-with-output-file (string-append "plain/" n)
                        (lambda (p) (display n p))))
          '("zeta" "alpha" ".hidden" "Mid" "beta"))
(show (directory-files "plain"))
(show (directory-files "plain" #t))
(define dir (open-directory "plain"))
(show (let loop ((acc '()))
        (let ((n (read-directory dir)))
          (if (eof-object? n) (reverse acc) (loop (cons n acc))))))
(show (eof-object? (read-directory dir)))
(define dir2 (open-directory "plain" #t))
(show (read-directory dir2))
(close-directory dir2)
(show (eof-object? (read-directory dir2)))
(rename-file "plain/zeta" "plain/omega")
(show (directory-files "plain"))
(show (call-with-input-file "plain/omega" read-line))
(rename-file "open" "renamed")
(show (list (file-exists? "open") (file-info-directory? (file-info "renamed"))))
(delete-directory "renamed")
(show (file-exists? "renamed"))
(show (directory-files "."))
"#,
        ),
        r#""27"
("750" "750" "700" "550")
(4 4)
#t
#f
("Mid" "alpha" "beta" "zeta")
(".hidden" "Mid" "alpha" "beta" "zeta")
("Mid" "alpha" "beta" "zeta")
#t
".hidden"
#t
("Mid" "alpha" "beta" "omega")
"zeta"
(#f #t)
#f
("plain" "private" "prog.scm" "readonly")
"#,
    );
}

// Proves links and sizes: create-symlink makes a link read-symlink reads
// back; file-info with follow #f describes the link itself and with
// follow #t (and by default) its target; a dangling link is a symlink
// unfollowed and an error followed; real-path resolves to the absolute
// target; create-hard-link gives the file two links (and the same inode);
// truncate-file shrinks and grows, seen by file-size; set-file-mode sets
// the permission bits exactly (the umask does not apply); the uid and
// mtime accessors give the owner and a real time.
#[test]
fn links_sizes_and_modes() {
    let d = Dir::new("links");
    expect_output(
        &d,
        &program(
            r#"
(call-with-output-file "data" (lambda (p) (display "hello world" p)))
(create-symlink "data" "link")
(show (read-symlink "link"))
(show (list (file-info-symlink? (file-info "link" #f))
            (file-info-regular? (file-info "link" #f))
            (type-bits "link")))
(show (list (file-info-symlink? (file-info "link" #t))
            (file-info-regular? (file-info "link" #t))
            (file-info-symlink? (file-info "link"))))
(show (file-info:size (file-info "link")))
(show (real-path "link"))
(create-symlink "nowhere" "dangling")
(show (file-info:type (file-info "dangling" #f)))
(show (caught (lambda () (file-info "dangling"))))
(create-hard-link "data" "hard")
(show (list (file-info:nlinks (file-info "data")) (file-info:nlinks (file-info "hard"))))
(show (= (file-info:inode (file-info "data")) (file-info:inode (file-info "hard"))))
(truncate-file "data" 5)
(show (list (file-size "data") (call-with-input-file "hard" read-line)))
(truncate-file "data" 8)
(show (file-size "data"))
(set-umask! #o077)
(set-file-mode "data" #o644)
(show (perm "data"))
(set-file-mode "data" #o4751)
(show (number->string (modulo (file-info:mode (file-info "data")) 4096) 8))
(show (= (file-info:uid (file-info "data")) (user-uid)))
(show (= (file-info:gid (file-info "data")) (user-gid)))
(show (and (real? (file-info:mtime (file-info "data"))) (> (file-info:mtime (file-info "data")) 1.0e9)))
"#,
        ),
        &format!(
            r#""data"
(#t #f 10)
(#f #t #f)
11
"{}"
symlink
(file-error "file-info: cannot get information on `dangling`: No such file or directory" ("dangling"))
(2 2)
#t
(5 "hello")
8
"644"
"4751"
#t
#t
#t
"#,
            d.file("data")
        ),
    );
}

// Proves temporary files: create-temp-file makes a new empty file of mode
// #o600 named by $TMPDIR, "imp-" and the pid by default and by
// temp-file-prefix when it is set; two calls give two names;
// call-with-temporary-file hands proc such a file and deletes it both when
// proc returns and when it escapes through a continuation.
#[test]
fn temporary_files_are_private_and_cleaned_up() {
    let d = Dir::new("temp");
    let tmpdir = d.path();
    expect_output_env(
        &d,
        &program(
            r#"
(set-umask! #o000)
(define dflt (create-temp-file))
(define want (string-append (current-directory) "/imp-" (number->string (pid)) "-"))
(show (string=? want (substring dflt 0 (string-length want))))
(show (list (file-exists? dflt) (perm dflt) (file-size dflt)))
(delete-file dflt)
(define named
  (parameterize ((temp-file-prefix (string-append (current-directory) "/mine-")))
    (list (create-temp-file) (create-temp-file))))
(show (map (lambda (n) (substring n (string-length (current-directory)) (+ 6 (string-length (current-directory))))) named))
(show (string=? (car named) (cadr named)))
(show (map perm named))
;; The explicit prefix, then 12 hex digits.
(show (let ((n (create-temp-file (string-append (current-directory) "/explicit-"))))
        (string-length (substring n (string-length (current-directory)) (string-length n)))))
(define seen #f)
(show (call-with-temporary-file
        (lambda (name)
          (set! seen name)
          (call-with-output-file name (lambda (p) (display "x" p)))
          (list (file-exists? name) (perm name) (file-size name)))))
(show (file-exists? seen))
(define escaped
  (call/cc (lambda (k)
    (call-with-temporary-file (lambda (name) (set! seen name) (k (file-exists? name))) ))))
(show (list escaped (file-exists? seen)))
(show (guard (e ((string? e) e))
        (call-with-temporary-file (lambda (name) (set! seen name) (raise "raised")))))
(show (file-exists? seen))
"#,
        ),
        &[("TMPDIR", &tmpdir)],
        r#"#t
(#t "600" 0)
("/mine-" "/mine-")
#f
("600" "600")
22
(#t "600" 1)
#f
(#t #f)
"raised"
#f
"#,
    );
    // Left behind: the two named files and the explicit one, nothing else.
    let mut left: Vec<String> = std::fs::read_dir(&d.0)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "prog.scm")
        .map(|n| n.split('-').next().unwrap_or("").to_string())
        .collect();
    left.sort();
    assert_eq!(left, ["explicit", "mine", "mine"]);
}

// ---- errors ----------------------------------------------------------------------------

// Proves each failure is a file-error whose message names the operation,
// the path and the operating system's reason, with the path as irritant,
// and that the program goes on after catching it (nothing was changed).
#[test]
fn failures_are_file_errors_naming_the_path_and_the_reason() {
    let d = Dir::new("errors");
    std::fs::create_dir(d.0.join("full")).expect("dir");
    std::fs::write(d.0.join("full/x"), "x").expect("file");
    std::fs::write(d.0.join("plain"), "x").expect("file");
    expect_output(
        &d,
        &program(
            r#"
(show (caught (lambda () (delete-directory "full"))))
(show (caught (lambda () (delete-directory "plain"))))
(show (caught (lambda () (file-info "missing"))))
(show (caught (lambda () (file-info "missing" #f))))
(show (caught (lambda () (file-size "missing"))))
(show (caught (lambda () (create-directory "full"))))
(show (caught (lambda () (create-directory "no/such/parent"))))
(show (caught (lambda () (directory-files "plain"))))
(show (caught (lambda () (directory-files "missing"))))
(show (caught (lambda () (read-symlink "plain"))))
(show (caught (lambda () (real-path "missing"))))
(show (caught (lambda () (truncate-file "missing" 0))))
(show (caught (lambda () (set-file-mode "missing" #o600))))
(show (caught (lambda () (create-symlink "x" "plain"))))
(show (caught (lambda () (create-hard-link "missing" "h"))))
(show (caught (lambda () (set-current-directory! "missing"))))
(show (caught (lambda () (create-directory "bad" #o10000))))
;; Nothing changed.
(show (directory-files "full"))
(show (directory-files "."))
"#,
        ),
        r#"(file-error "delete-directory: cannot delete directory `full`: Directory not empty" ("full"))
(file-error "delete-directory: cannot delete directory `plain`: Not a directory" ("plain"))
(file-error "file-info: cannot get information on `missing`: No such file or directory" ("missing"))
(file-error "file-info: cannot get information on `missing`: No such file or directory" ("missing"))
(file-error "file-info: cannot get information on `missing`: No such file or directory" ("missing"))
(file-error "create-directory: cannot create directory `full`: File exists" ("full"))
(file-error "create-directory: cannot create directory `no/such/parent`: No such file or directory" ("no/such/parent"))
(file-error "directory-files: cannot list `plain`: Not a directory" ("plain"))
(file-error "directory-files: cannot list `missing`: No such file or directory" ("missing"))
(file-error "read-symlink: cannot read the link `plain`: Invalid argument" ("plain"))
(file-error "real-path: cannot resolve `missing`: No such file or directory" ("missing"))
(file-error "truncate-file: cannot truncate `missing`: No such file or directory" ("missing"))
(file-error "set-file-mode: cannot set the mode of `missing`: No such file or directory" ("missing"))
(file-error "create-symlink: cannot make `plain` a symbolic link to `x`: File exists" ("plain"))
(file-error "create-hard-link: cannot make `h` a hard link to `missing`: No such file or directory" ("h"))
(file-error "set-current-directory!: cannot change to `missing`: No such file or directory" ("missing"))
(error "create-directory: expected permission bits from 0 to #o7777, got an integer" (4096))
("x")
("full" "plain" "prog.scm")
"#,
    );
}

// Proves rename-file's error names the missing file, the destination and
// the reason, and reads "rename A to B" (it once read "rename to B A").
#[test]
fn rename_file_error_reads_from_then_to() {
    let d = Dir::new("rename-error");
    expect_output(
        &d,
        &program(r#"(show (caught (lambda () (rename-file "missing" "other"))))"#),
        "(file-error \"rename-file: cannot rename `missing` to `other`: No such file or \
         directory\" (\"missing\"))\n",
    );
}

// Proves open-directory's errors name open-directory, the operation the
// program called (they once named directory-files, which it uses).
#[test]
fn open_directory_error_names_open_directory() {
    let d = Dir::new("opendir-error");
    expect_output(
        &d,
        &program(r#"(show (caught (lambda () (open-directory "missing"))))"#),
        "(file-error \"open-directory: cannot list `missing`: No such file or directory\" \
         (\"missing\"))\n",
    );
}

// ---- the current directory ---------------------------------------------------------------

// Proves current-directory starts at the directory imp was started in,
// set-current-directory! changes it for relative file names, listings and
// children, a failed change leaves it where it was, and going back works.
// (Through the binary: the test process's own directory is not touched.)
#[test]
fn the_current_directory_moves_and_relative_names_follow() {
    let d = Dir::new("cwd");
    std::fs::create_dir(d.0.join("sub")).expect("sub");
    expect_output(
        &d,
        &program(
            r#"
(define start (current-directory))
(show start)
(set-current-directory! "sub")
(show (current-directory))
(call-with-output-file "made-here" (lambda (p) (display "x" p)))
(show (directory-files "."))
(show (process-output->string "pwd"))
(show (caught (lambda () (set-current-directory! "nope"))))
(show (current-directory))
(set-current-directory! "..")
(show (equal? (current-directory) start))
(show (file-exists? "sub/made-here"))
(set-current-directory! (string-append start "/sub"))
(show (real-path "."))
"#,
        ),
        &format!(
            r#""{0}"
"{0}/sub"
("made-here")
"{0}/sub\n"
(file-error "set-current-directory!: cannot change to `nope`: No such file or directory" ("nope"))
"{0}/sub"
#t
#t
"{0}/sub"
"#,
            d.path()
        ),
    );
    assert!(d.0.join("sub/made-here").exists());
}

// ---- processes -----------------------------------------------------------------------------

// Proves a child's output is read line by line as it comes while other
// green threads run: a ticker thread sleeping 10 ms at a time has advanced
// by the time the reader sees the end of file (the reader blocks only its
// own thread), and the lines arrive whole and in order.
#[test]
fn a_childs_output_is_read_while_other_threads_run() {
    let d = Dir::new("reader");
    expect_output(
        &d,
        &program(
            r#"
(define ticks 0)
(define done #f)
(define ticker
  (make-thread (lambda ()
    (let loop ()
      (if (not done)
          (begin (thread-sleep! 0.01) (set! ticks (+ ticks 1)) (loop)))))))
(thread-start! ticker)
(define p (process-start "sh" '("-c" "for i in 1 2 3; do echo $i; sleep 0.1; done")))
(define reader
  (make-thread (lambda ()
    (let loop ((acc '()))
      (let ((l (read-line (process-output p))))
        (if (eof-object? l) (reverse acc) (loop (cons l acc))))))))
(thread-start! reader)
(define lines (thread-join! reader))
(define ticks-at-eof ticks)
(set! done #t)
(thread-join! ticker)
(show lines)
(show (process-wait p))
(show (> ticks-at-eof 0))
(show (and (exact-integer? (process-pid p)) (> (process-pid p) 0)))
"#,
        ),
        "(\"1\" \"2\" \"3\")\n0\n#t\n#t\n",
    );
}

// Proves exit statuses and signals: an exit code comes back from
// process-wait and process-exit-code (process-signal #f), and again from a
// second process-wait; process-exit-code before the wait is an error; a
// child killed by process-kill's default SIGTERM waits as 143 with
// process-signal 15 and process-exit-code #f; process-kill after the wait
// is #f; process-wait #:timeout on a child that outlives it is #f and the
// child can then be killed (SIGKILL here: 137) and waited for; a child that
// kills itself is seen the same way.
#[test]
fn exit_codes_signals_kill_and_wait_timeouts() {
    let d = Dir::new("status");
    expect_output(
        &d,
        &program(
            r#"
(define p (process-start "sh" '("-c" "exit 7")))
(show (let ((r (caught (lambda () (process-exit-code p)))))
        (list (car r) (cadr r) (eq? p (car (caddr r))))))
(show (list (process-wait p) (process-exit-code p) (process-signal p)))
(show (process-wait p))
(define q (process-start "sleep" '("10")))
(show (process-kill q))
(show (list (process-wait q) (process-signal q) (process-exit-code q)))
(show (process-kill q))
(define r (process-start "sleep" '("5")))
(show (process-wait r #:timeout 0.1))
(show (process-kill r))
(show (list (process-wait r) (process-signal r) (process-exit-code r)))
(define s (process-start "sleep" '("5")))
(show (process-wait s #:timeout 0))
(show (process-kill s 9))
(show (list (process-wait s #:timeout 5) (process-signal s) (process-exit-code s)))
(define t (process-start "sh" '("-c" "kill -9 $$")))
(show (list (process-wait t) (process-signal t) (process-exit-code t)))
(define u (process-start "true" '() #:stdin 'null #:stdout 'null #:stderr 'null))
(show (list (process-input u) (process-output u) (process-error u) (process-wait u)))
"#,
        ),
        r#"(error "process-exit-code: the process has not been waited for" #t)
(7 7 #f)
7
#t
(143 15 #f)
#f
#f
#t
(143 15 #f)
#f
#t
(137 9 #f)
(137 9 #f)
(#f #f #f 0)
"#,
    );
}

// Proves #:env replaces the environment (the child sees FOO, and not a
// variable imp itself has, which a child without #:env does see) and
// #:directory sets the child's working directory; #:stderr 'stdout merges
// both streams into process-output in order (process-error is #f); a
// child's standard error is its own pipe otherwise.
#[test]
fn environment_directory_and_merged_error() {
    let d = Dir::new("env");
    std::fs::create_dir(d.0.join("sub")).expect("sub");
    expect_output_env(
        &d,
        &program(&format!(
            r#"
(define p (process-start "sh" '("-c" "echo $FOO; pwd; echo ${{IMP_SYSTEM_SECRET:-unset}}")
                         #:env '(("FOO" . "bar") ("PATH" . "/usr/bin:/bin"))
                         #:directory {sub:?}))
(show (read-all (process-output p)))
(show (process-wait p))
(define inherit (process-start "sh" '("-c" "echo ${{IMP_SYSTEM_SECRET:-unset}}; pwd")))
(show (read-all (process-output inherit)))
(show (process-wait inherit))
(define m (process-start "sh" '("-c" "echo out; echo err 1>&2; echo out2") #:stderr 'stdout))
(show (list (read-all (process-output m)) (process-error m)))
(show (process-wait m))
(define e (process-start "sh" '("-c" "echo oops 1>&2; echo fine; exit 3")))
(show (list (read-all (process-output e)) (read-all (process-error e)) (process-wait e)))
"#,
            sub = d.file("sub")
        )),
        &[("IMP_SYSTEM_SECRET", "visible")],
        &format!(
            r#""bar\n{0}/sub\nunset\n"
0
"visible\n{0}\n"
0
("out\nerr\nout2\n" #f)
0
("fine\n" "oops\n" 3)
"#,
            d.path()
        ),
    );
}

// Proves the input pipe: what is written to process-input reaches `cat`,
// and close-port on process-input gives the child its end of file (else
// the read below would never end); with #:binary #t the three ports are
// binary and bytes (NUL, 255) go through unchanged.
#[test]
fn input_pipes_textual_and_binary() {
    let d = Dir::new("stdin");
    expect_output(
        &d,
        &program(
            r#"
(define c (process-start "cat" '()))
(show (list (textual-port? (process-input c)) (textual-port? (process-output c))))
(write-string "line one\nline two\n" (process-input c))
(close-port (process-input c))
(show (read-all (process-output c)))
(show (process-wait c))
(define b (process-start "cat" '() #:binary #t))
(show (map binary-port? (list (process-input b) (process-output b) (process-error b))))
(write-bytevector (bytevector 0 1 2 255 10 0) (process-input b))
(close-port (process-input b))
(show (let loop ((acc '()))
        (let ((u (read-u8 (process-output b))))
          (if (eof-object? u) (reverse acc) (loop (cons u acc))))))
(show (eof-object? (read-u8 (process-error b))))
(show (process-wait b))
"#,
        ),
        "(#t #t)\n\"line one\\nline two\\n\"\n0\n(#t #t #t)\n(0 1 2 255 10 0)\n#t\n0\n",
    );
}

// Proves process-output->string and process-output->lines: a list runs the
// program directly (arguments with spaces stay whole), a string runs
// /bin/sh -c; #:input feeds standard input (a megabyte too, so writing and
// reading overlap); #:env and #:directory reach the child; a non-zero exit
// raises an error naming the program, the status and what it wrote to
// standard error (status as irritant); #:timeout kills a `sleep 5` and
// raises; a missing program is a file-error "cannot run"; an unknown
// option is an error.
#[test]
fn process_output_to_string_and_lines() {
    let d = Dir::new("output");
    std::fs::create_dir(d.0.join("sub")).expect("sub");
    expect_output(
        &d,
        &program(
            r#"
(show (process-output->string '("echo" "a" "b  c")))
(show (process-output->string "echo $((6*7)); echo two"))
(show (process-output->string '("tr" "a-z" "A-Z") #:input "shout\n"))
(show (process-output->string "cat" #:input ""))
(show (string-length (process-output->string "cat" #:input (make-string 1000000 #\a))))
(show (process-output->lines "printf 'x\\ny\\nz'"))
(show (process-output->lines '("printf" "1\n\n2\n")))
(show (process-output->lines "true"))
(show (process-output->string "echo $FOO; pwd" #:env '(("FOO" . "baz")) #:directory "sub"))
(show (caught (lambda () (process-output->string "echo partial; echo bad thing >&2; exit 4"))))
(show (caught (lambda () (process-output->string '("sh" "-c" "exit 2")))))
(show (caught (lambda () (process-output->lines "exit 1"))))
(show (caught (lambda () (process-output->string '("sleep" "5") #:timeout 0.2))))
(show (caught (lambda () (process-output->string '("no-such-program-imp-test")))))
(show (caught (lambda () (process-output->string '("echo") #:bogus 1))))
(show (caught (lambda () (process-output->string 42))))
"#,
        ),
        &format!(
            r#""a b  c\n"
"42\ntwo\n"
"SHOUT\n"
""
1000000
("x" "y" "z")
("1" "" "2")
()
"baz\n{}/sub\n"
(error "process-output->string: `echo partial; echo bad thing >&2; exit 4` exited with status 4: bad thing\n" (4))
(error "process-output->string: `sh` exited with status 2" (2))
(error "process-output->string: `exit 1` exited with status 1" (1))
(error "process-output->string: timed out; the program was killed" ("sleep"))
(file-error "process-start: cannot run `no-such-program-imp-test`: No such file or directory" ("no-such-program-imp-test"))
(error "process-output->string: unknown option" (#:bogus))
(error "process-output->string: expected a command string or list" (42))
"#,
            d.path()
        ),
    );
}

// Proves that two green threads waiting for the same child both get its
// status (process-wait is documented to return the exit code; it does not
// say only one waiter may have it).
// (The second waiter once blocked on a job whose status the first had
// taken: without #:timeout it hung, with one it returned #f.)
#[test]
fn two_threads_waiting_for_one_child_both_see_it_end() {
    let d = Dir::new("two-waiters");
    expect_output(
        &d,
        &program(
            r#"
(define p (process-start "sleep" '("0.2")))
(define w1 (make-thread (lambda () (process-wait p #:timeout 2))))
(define w2 (make-thread (lambda () (process-wait p #:timeout 2))))
(thread-start! w1)
(thread-start! w2)
(show (list (thread-join! w1) (thread-join! w2)))
"#,
        ),
        "(0 0)\n",
    );
}

// Proves that a #:directory that does not exist is reported as such.
// (Spawning fails in the child's chdir, and the error once blamed the
// program: "cannot run `sh`: No such file or directory".)
#[test]
fn a_missing_directory_for_a_child_is_named_in_the_error() {
    let d = Dir::new("bad-dir");
    let o = run_in(
        &d,
        &program(
            r#"(show (caught (lambda () (process-start "sh" '("-c" "true") #:directory "/no/such/dir"))))"#,
        ),
        &[],
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(
        o.stdout.starts_with("(file-error \"process-start: "),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("/no/such/dir") && o.stdout.contains("No such file or directory"),
        "the error should name the missing directory: {}",
        o.stdout
    );
}

// ---- grants ----------------------------------------------------------------------------------

fn eval(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => rt.write(&v),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

/// `src` is refused with "`who`: `doing` is not granted to this engine",
/// and the engine goes on.
fn refused(rt: &mut Runtime, src: &str, who: &str, doing: &str) {
    match rt.eval_str(src) {
        Ok(v) => panic!("{src} should be refused, gave {}", rt.write(&v)),
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.contains(&format!("{who}: {doing} is not granted to this engine")),
                "{src}: {m}"
            );
        }
    }
    assert_eq!(eval(rt, "(+ 1 2)"), "3");
}

// Proves a sandboxed runtime (Runtime::builder() with no grants) refuses
// every file, directory and process procedure with the message naming the
// procedure and the missing grant, and that the refusal happens before
// anything is touched (the directory, the link and the new names do not
// appear; nothing is deleted, renamed or re-moded; no child is started).
// File refusals are file-errors; a script can catch them.
#[test]
fn a_sandbox_refuses_files_directories_and_processes() {
    let d = Dir::new("sandbox");
    let f = d.file("data");
    std::fs::write(&f, "x").expect("file");
    let empty = d.file("empty");
    std::fs::create_dir(&empty).expect("dir");
    let fresh = d.file("fresh");
    let dir = d.path();
    let mut rt = Runtime::builder().build().expect("runtime");
    let read = "reading files";
    let write = "writing files";
    for (src, who) in [
        (format!("(directory-files {dir:?})"), "directory-files"),
        (format!("(open-directory {dir:?})"), "open-directory"),
        (format!("(file-info {f:?})"), "file-info"),
        (format!("(file-size {f:?})"), "file-info"),
        (format!("(read-symlink {f:?})"), "read-symlink"),
        (format!("(real-path {f:?})"), "real-path"),
        ("(current-directory)".to_string(), "current-directory"),
        ("(umask)".to_string(), "umask"),
    ] {
        refused(&mut rt, &src, who, read);
    }
    for (src, who) in [
        (format!("(create-directory {fresh:?})"), "create-directory"),
        (
            format!("(create-directory {fresh:?} #o700)"),
            "create-directory",
        ),
        (format!("(delete-directory {empty:?})"), "delete-directory"),
        (format!("(rename-file {f:?} {fresh:?})"), "rename-file"),
        (format!("(set-file-mode {f:?} #o777)"), "set-file-mode"),
        (format!("(truncate-file {f:?} 0)"), "truncate-file"),
        (
            format!("(create-symlink {f:?} {fresh:?})"),
            "create-symlink",
        ),
        (
            format!("(create-hard-link {f:?} {fresh:?})"),
            "create-hard-link",
        ),
        (
            format!("(set-current-directory! {dir:?})"),
            "set-current-directory!",
        ),
        ("(set-umask! #o777)".to_string(), "set-umask!"),
        ("(create-temp-file)".to_string(), "create-temp-file"),
        (format!("(create-temp-file {fresh:?})"), "create-temp-file"),
        (
            "(call-with-temporary-file (lambda (n) n))".to_string(),
            "create-temp-file",
        ),
    ] {
        refused(&mut rt, &src, who, write);
    }
    let touched = d.file("touched");
    for src in [
        "(process-start \"true\" '())".to_string(),
        format!("(process-start \"touch\" '({touched:?}) #:stdout 'null)"),
        format!("(process-output->string '(\"touch\" {touched:?}))"),
        format!("(process-output->string \"touch {touched}\")"),
        format!("(process-output->lines \"touch {touched}\")"),
    ] {
        refused(&mut rt, &src, "process-start", "running programs");
    }
    assert_eq!(
        eval(
            &mut rt,
            &format!(
                "(list (guard (e ((file-error? e) 'file-error)) (file-info {f:?}))
                       (guard (e ((file-error? e) 'file-error)) (create-directory {fresh:?}))
                       (guard (e ((file-error? e) 'file-error) (#t 'error)) (process-start \"true\" '())))"
            )
        ),
        "(file-error file-error error)"
    );
    // Nothing was touched.
    assert!(!Path::new(&fresh).exists() && !Path::new(&fresh).is_symlink());
    assert!(Path::new(&empty).is_dir());
    assert_eq!(std::fs::read_to_string(&f).expect("data"), "x");
    let mut names: Vec<String> = std::fs::read_dir(&d.0)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["data", "empty"]);
}

// Proves each file grant opens only its own door: allow_read_files lets
// file-info, directory-files, open-directory, read-symlink and real-path
// work but still refuses create-directory (nothing is created);
// allow_write_files lets create-directory and delete-directory work (seen
// from Rust) but refuses file-info; neither lets a program run.
#[test]
fn the_read_and_write_grants_open_only_their_own_doors() {
    let d = Dir::new("grants");
    let f = d.file("data");
    std::fs::write(&f, "four").expect("file");
    std::os::unix::fs::symlink("data", d.0.join("link")).expect("symlink");
    let link = d.file("link");
    let dir = d.path();
    let fresh = d.file("fresh");

    let mut reader = Runtime::builder().allow_read_files().build().expect("rt");
    assert_eq!(
        eval(
            &mut reader,
            &format!("(list (file-size {f:?}) (file-info-regular? (file-info {f:?})))")
        ),
        "(4 #t)"
    );
    assert_eq!(
        eval(&mut reader, &format!("(directory-files {dir:?})")),
        "(\"data\" \"link\")"
    );
    assert_eq!(
        eval(
            &mut reader,
            &format!("(read-directory (open-directory {dir:?}))")
        ),
        "\"data\""
    );
    assert_eq!(
        eval(&mut reader, &format!("(read-symlink {link:?})")),
        "\"data\""
    );
    assert_eq!(
        eval(&mut reader, &format!("(real-path {link:?})")),
        format!("{f:?}")
    );
    refused(
        &mut reader,
        &format!("(create-directory {fresh:?})"),
        "create-directory",
        "writing files",
    );
    refused(
        &mut reader,
        "(process-output->string \"echo hi\")",
        "process-start",
        "running programs",
    );
    assert!(!Path::new(&fresh).exists());

    let mut writer = Runtime::builder().allow_write_files().build().expect("rt");
    eval(&mut writer, &format!("(create-directory {fresh:?})"));
    assert!(Path::new(&fresh).is_dir());
    refused(
        &mut writer,
        &format!("(file-info {fresh:?})"),
        "file-info",
        "reading files",
    );
    refused(
        &mut writer,
        &format!("(directory-files {dir:?})"),
        "directory-files",
        "reading files",
    );
    eval(&mut writer, &format!("(delete-directory {fresh:?})"));
    assert!(!Path::new(&fresh).exists());
    refused(
        &mut writer,
        "(process-start \"true\" '())",
        "process-start",
        "running programs",
    );
}

// ---- large reads and writes -------------------------------------------------------------

// Proves a large read-string and read-bytevector from a file take time
// linear in their size (a 40 MB read once took minutes, re-copying the
// buffer at every 64 KiB), return exactly the file's contents, and let
// other threads run while they go (a ticker thread counts its turns
// during each), as does a large write-string.
#[test]
fn large_file_reads_and_writes_are_whole_and_let_other_threads_run() {
    let d = Dir::new("large-io");
    expect_output(
        &d,
        &program(
            r#"
(define ticks 0)
(define ticker
  (make-thread (lambda () (let loop () (set! ticks (+ ticks 1)) (thread-yield!) (loop)))))
(thread-start! ticker)
(define n 40000000)
(define text (make-string n #\x))
(string-set! text (- n 1) #\y)
(set! ticks 0)
(call-with-output-file "big.txt" (lambda (p) (write-string text p)))
(show (list 'write (file-size "big.txt") (> ticks 0)))
(set! ticks 0)
(define back (call-with-input-file "big.txt" (lambda (p) (read-string (* 2 n) p))))
(show (list 'read-string (string-length back) (string=? back text) (> ticks 0)))
(set! ticks 0)
(define bytes
  (call-with-port (open-binary-input-file "big.txt") (lambda (p) (read-bytevector (* 2 n) p))))
(show (list 'read-bytevector (bytevector-length bytes) (bytevector-u8-ref bytes (- n 1))
            (> ticks 0)))
;; A read of part of the file leaves the rest for the next one.
(call-with-input-file "big.txt"
  (lambda (p)
    (let* ((a (read-string (- n 1) p)) (b (read-string 10 p)) (c (read-string 10 p)))
      (show (list (string-length a) b c)))))
"#,
        ),
        "(write 40000000 #t)\n(read-string 40000000 #t #t)\n(read-bytevector 40000000 121 #t)\n(39999999 \"y\" #<eof>)\n",
    );
}

// Proves read-line of a long line is whole and linear: 20 MB on one line
// from a file, and 5 MB written to a pipe in 10 KB pieces by another
// thread (a long line once copied its buffer at every piece read).
#[test]
fn long_lines_are_read_whole_from_files_and_pipes() {
    let d = Dir::new("long-lines");
    expect_output(
        &d,
        &program(
            r#"
(call-with-output-file "long.txt"
  (lambda (p) (write-string (make-string 20000000 #\x) p) (write-string "\r\nnext\n" p)))
(call-with-input-file "long.txt"
  (lambda (p) (show (list (string-length (read-line p)) (read-line p) (read-line p)))))
(define-values (i o) (make-pipe))
(thread-start!
 (make-thread
  (lambda ()
    (do ((k 0 (+ k 1))) ((= k 500)) (write-string (make-string 10000 #\y) o))
    (write-string "\nend" o)
    (close-port o))))
(show (list (string-length (read-line i)) (read-line i) (read-line i)))
"#,
        ),
        "(20000000 \"next\" #<eof>)\n(5000000 \"end\" #<eof>)\n",
    );
}
