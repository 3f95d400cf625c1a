//! Saving the running system and starting from images, through the `imp`
//! binary and the Rust API.

use std::path::{Path, PathBuf};
use std::process::Command;

use imp::Runtime;

fn imp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imp"))
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("imp-images-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// Run `imp ARGS` in `cwd`; (status, stdout, stderr).
fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = imp().current_dir(cwd).args(args).output().expect("run imp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A program with data of every kind, 20 threads that allocate and hold
/// mutexes, saving from `saver` (initial or thread) with `fork`.
fn program(image: &str, fork: bool, from_thread: bool) -> String {
    format!(
        r#"
(define data (list 1 2.5 "str" #(a b c) (expt 2 100) #\x 'sym))
(define table (make-hash-table eq?))
(define keys (map (lambda (i) (list i)) (iota 100000)))
(for-each (lambda (k) (hash-table-set! table k (car k))) keys)
(define strings (make-hash-table string=?))
(hash-table-set! strings "k" 'v)
(define-record-type point (make-point x y) point? (x point-x) (y point-y))
(define p (make-point 3 4))
(define counter (let ((n 0)) (lambda () (set! n (+ n 1)) n)))
(counter)
(define locks (map (lambda (i) (make-mutex i)) (iota 20)))
(define total 0)
(define workers
  (map (lambda (m)
         (thread-start!
          (make-thread
           (lambda ()
             (mutex-lock! m)
             (let loop ((acc '()) (n 0))
               (set! total (+ total 1))
               (loop (if (> n 50) '() (cons (make-vector 8 n) acc)) (if (> n 50) 0 (+ n 1))))))))
       locks))
(thread-sleep! 0.05)
(define (main)
  (write (list data
               (hash-table-ref/default table (list-ref keys 77777) 'missing)
               (hash-table-count table)
               (hash-table-ref/default strings "k" #f)
               (point-y p) (counter)
               (map mutex-state (list (car locks) (cadr locks)))
               (length (thread-list))
               (cdr (command-line))))
  (newline))
(define (save) (save-application {image:?} #:toplevel main #:fork {fork}))
(define result
  {saver})
(define before total)
(thread-sleep! 0.05)
(write (list 'parent (pair? result) (> total before) (counter) (length (thread-list))
             (hash-table-ref/default table (list-ref keys 5) #f)))
(newline)
(write (map (lambda (k) (assq k result))
            '(path image-bytes objects fork-pause-us purify-us write-us sync-us)))
(newline)
"#,
        fork = if fork { "#t" } else { "#f" },
        saver = if from_thread {
            "(thread-join! (thread-start! (make-thread save)))"
        } else {
            "(save)"
        }
    )
}

const IMAGE_OUTPUT: &str = "((1 2.5 \"str\" #(a b c) 1267650600228229401496703205376 #\\x sym) 77777 100000 v 4 2 (abandoned abandoned) 1 (\"one\" \"two\"))\n";

/// The saving program's output: its own state after the save, then the
/// save's report, whose figures must be there and the size the file's.
fn check_parent_output(d: &Path, out: &str, err: &str) {
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("(parent #t #t 2 21 5)"), "{out}{err}");
    let report = lines.next().unwrap_or_default();
    let size = std::fs::metadata(d.join("saved.img")).expect("image").len();
    assert!(
        report.starts_with(&format!(
            "((path . \"saved.img\") (image-bytes . {size}) (objects . "
        )),
        "{report}"
    );
    for k in ["fork-pause-us", "purify-us", "write-us", "sync-us"] {
        assert!(
            report.contains(&format!("({k} . ")),
            "{k} missing from {report}"
        );
    }
    assert!(!report.contains("#f"), "{report}");
    assert_eq!(lines.next(), None, "{out}");
}

#[test]
fn save_while_threads_run_and_start_from_the_image() {
    let d = dir("fork");
    std::fs::write(d.join("prog.scm"), program("saved.img", true, false)).expect("write");
    let (code, out, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    // The parent went on: its threads kept running, its data unchanged.
    check_parent_output(&d, &out, &err);
    let (code, out, err) = run(&d, &["--image", "saved.img", "one", "two"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, IMAGE_OUTPUT);
    let (code, out, err) = run(&d, &["--check-image", "saved.img"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok"), "{out}");
}

#[test]
fn save_from_another_thread() {
    let d = dir("thread");
    std::fs::write(d.join("prog.scm"), program("saved.img", true, true)).expect("write");
    let (code, out, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    check_parent_output(&d, &out, &err);
    let (code, out, err) = run(&d, &["--image", "saved.img", "one", "two"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, IMAGE_OUTPUT);
}

#[test]
fn save_without_fork_exits() {
    let d = dir("nofork");
    std::fs::write(d.join("prog.scm"), program("saved.img", false, false)).expect("write");
    let (code, out, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "the process ends with the save");
    let (code, out, err) = run(&d, &["--image", "saved.img", "one", "two"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, IMAGE_OUTPUT);
}

#[test]
fn an_image_without_toplevel_starts_the_repl_with_every_definition() {
    let d = dir("repl");
    std::fs::write(
        d.join("prog.scm"),
        "(define x 41) (define (f) (+ x 1)) (save-application \"r.img\")",
    )
    .expect("write");
    let (code, _, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    let out = imp()
        .current_dir(&d)
        .args(["--image", "r.img"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"(f)\n(* x 2)\n")?;
            c.wait_with_output()
        })
        .expect("repl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n82\n");
}

#[test]
fn a_save_that_hangs_is_killed_and_leaves_the_old_image() {
    let d = dir("hang");
    // An older image at the path.
    std::fs::write(
        d.join("old.scm"),
        "(define v 'old) (save-application \"x.img\" #:toplevel (lambda () (display v)))",
    )
    .expect("write");
    let (code, _, err) = run(&d, &["old.scm"]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(d.join("x.img")).expect("old image");
    std::fs::write(
        d.join("hang.scm"),
        "(register-fork-handlers! #f #f (lambda () (let loop () (loop))))
         (display (guard (e ((error-object? e) (error-object-message e)))
                    (save-application \"x.img\" #:save-timeout 0.5)))
         (newline)",
    )
    .expect("write");
    let (code, out, err) = run(&d, &["hang.scm"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("timed out") && out.contains("child-handlers"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(d.join("x.img")).expect("image"),
        before,
        "the old image is intact"
    );
    let names: Vec<String> = std::fs::read_dir(&d)
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".tmp-")),
        "temporary file left: {names:?}"
    );
    let (_, out, _) = run(&d, &["--image", "x.img"]);
    assert_eq!(out, "old");
}

#[test]
fn refusals_name_the_file_and_the_cause() {
    let d = dir("bad");
    let (code, _, err) = run(&d, &["-e", "(save-application \"/nonexistent-dir/x.img\")"]);
    assert_eq!(code, 70);
    assert!(err.contains("/nonexistent-dir/x.img"), "{err}");
    std::fs::write(
        d.join("ok.scm"),
        "(define v 1) (save-application \"ok.img\" #:toplevel (lambda () (display v)))",
    )
    .expect("write");
    assert_eq!(run(&d, &["ok.scm"]).0, 0);
    let good = std::fs::read(d.join("ok.img")).expect("image");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.img", vec![], "empty"),
        (
            "text.img",
            b"(display 1)\n".repeat(1000),
            "not an imp image",
        ),
        (
            "truncated.img",
            good[..good.len() - 1000].to_vec(),
            "truncated",
        ),
        (
            "flipped.img",
            {
                let mut b = good.clone();
                b[65536 + 5000] ^= 0x20;
                b
            },
            "damaged",
        ),
        (
            "version.img",
            {
                let mut b = good.clone();
                b[8] = 7;
                b
            },
            "format version 7",
        ),
        (
            "fingerprint.img",
            {
                let mut b = good.clone();
                b[16] ^= 1;
                // Keep the header checksum right so the fingerprint check is reached.
                let mut h = b[..124].to_vec();
                h[..8].copy_from_slice(b"IMPIMAGE");
                let c = crc32(&h);
                b[124..128].copy_from_slice(&c.to_le_bytes());
                b
            },
            "another object layout",
        ),
    ];
    for (name, bytes, want) in cases {
        std::fs::write(d.join(name), &bytes).expect("write");
        for flag in ["--image", "--check-image"] {
            let (code, out, err) = run(&d, &[flag, name]);
            assert_eq!(code, 70, "{flag} {name}: {out}");
            assert!(
                err.contains(name) && err.contains(want),
                "{flag} {name}: wanted {want:?} in {err}"
            );
        }
    }
    let (code, _, err) = run(&d, &["--image", "missing.img"]);
    assert_eq!(code, 70);
    assert!(err.contains("missing.img"), "{err}");
}

/// CRC-32 (IEEE), for patching a header in the test.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn images_saved_from_images_and_through_the_api() {
    let d = dir("api");
    let mut rt = Runtime::new().expect("runtime");
    rt.eval_str("(define greeting \"hello\") (define (main) (string-append greeting \" world\"))")
        .expect("define");
    rt.eval_str("(define narrow (string-copy \"abc\")) (define widened (string-copy \"xyz\")) (string-set! widened 1 #\\λ)")
        .expect("strings");
    let main = rt.eval_str("main").expect("main");
    let r = rt.save_image(d.join("a.img"), Some(&main)).expect("save");
    assert!(r.image_bytes > 0 && r.objects > 100);
    // The runtime goes on after an in-process save.
    let g = rt.eval_str("greeting").expect("eval");
    assert_eq!(rt.write(&g), "\"hello\"");
    let (mut b, top) = Runtime::from_image(d.join("a.img")).expect("load");
    let top = top.expect("toplevel");
    let v = b.call(&top, &[]).expect("call");
    assert_eq!(b.write(&v), "\"hello world\"");
    // Change it and save again from the loaded image.
    b.eval_str("(set! greeting \"goodbye\") (define extra (make-vector 3 'x))")
        .expect("change");
    // Strings from the image: one widened there, one widened now (in the
    // mapped static space), both surviving a collection and another save.
    b.eval_str("(string-set! narrow 0 #\\μ) (gc)")
        .expect("widen in image");
    let s = b
        .eval_str("(list narrow widened (string-length widened))")
        .expect("strings");
    assert_eq!(b.write(&s), "(\"μbc\" \"xλz\" 3)");
    b.verify_heap().expect("verify");
    b.save_image(d.join("b.img"), Some(&top))
        .expect("save again");
    let (mut c, top) = Runtime::from_image(d.join("b.img")).expect("load again");
    let v = c.call(&top.expect("toplevel"), &[]).expect("call");
    assert_eq!(c.write(&v), "\"goodbye world\"");
    let extra = c.eval_str("extra").expect("extra");
    assert_eq!(c.write(&extra), "#(x x x)");
    c.collect_garbage().expect("gc");
    c.verify_heap().expect("verify");
    let after = c
        .eval_str("(list greeting (vector-ref extra 0))")
        .expect("after gc");
    assert_eq!(c.write(&after), "(\"goodbye\" x)");
    let s = c
        .eval_str("(list narrow widened (equal? narrow \"μbc\"))")
        .expect("strings");
    assert_eq!(c.write(&s), "(\"μbc\" \"xλz\" #t)");
}

#[test]
fn fifty_saves_in_a_row_while_threads_run() {
    let d = dir("fifty");
    std::fs::write(
        d.join("prog.scm"),
        r#"
(define n 0)
(define ticker (thread-start! (make-thread (lambda () (let loop () (set! n (+ n 1)) (thread-yield!) (loop))))))
(define data (map (lambda (i) (cons i (number->string i))) (iota 1000)))
(let loop ((i 0))
  (if (< i 50)
      (begin
        (set! data (cons i data))
        (save-application (string-append "s" (number->string i) ".img")
                          #:toplevel (lambda () (write (list (car data) (length data) (length (thread-list))))))
        (loop (+ i 1)))))
(write (> n 0))
"#,
    )
    .expect("write");
    let (code, out, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "#t");
    for i in [0, 1, 25, 49] {
        let (code, out, err) = run(&d, &["--image", &format!("s{i}.img")]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("({i} {} 1)", 1001 + i));
    }
}

#[test]
fn executable_images_run_alone_from_anywhere() {
    let d = dir("exe");
    std::fs::write(
        d.join("prog.scm"),
        r#"(define n 41)
           (define (second)
             (write (list 'second n (cdr (command-line))))
             (newline))
           (define (main)
             (set! n (+ n 1))
             (write (list 'first n (cdr (command-line))))
             (newline)
             ;; An executable image saves another: the new file holds the
             ;; program once, not the first image too.
             (save-application "second" #:toplevel second #:executable #t))
           (save-application "first" #:toplevel main #:executable #t)"#,
    )
    .expect("write");
    let (code, _, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    let sub = d.join("elsewhere");
    std::fs::create_dir_all(&sub).expect("sub");
    let out = Command::new(d.join("first"))
        .current_dir(&sub)
        .args(["x", "--image", "-e"])
        .output()
        .expect("run first");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(first 42 (\"x\" \"--image\" \"-e\"))\n"
    );
    let out = Command::new(sub.join("second"))
        .current_dir(&d)
        .arg("y")
        .output()
        .expect("run second");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(second 42 (\"y\"))\n"
    );
    let first = std::fs::metadata(d.join("first")).expect("first").len();
    let second = std::fs::metadata(sub.join("second")).expect("second").len();
    assert!(
        second < first + 200_000,
        "the second executable holds one program: {first} vs {second}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sub.join("second"))
        .expect("md")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable bits");
}

#[test]
fn save_from_the_repl() {
    let d = dir("from-repl");
    let out = imp()
        .current_dir(&d)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(
                b"(define answer 42)\n(define t (thread-start! (make-thread (lambda () (let loop () (loop))))))\n(car (save-application \"repl.img\"))\nanswer\n",
            )?;
            c.wait_with_output()
        })
        .expect("repl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(path . \"repl.img\")\n42\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = imp()
        .current_dir(&d)
        .args(["--image", "repl.img"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(b"(list answer (length (thread-list)))\n")?;
            c.wait_with_output()
        })
        .expect("image repl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "(42 1)\n");
}

#[test]
fn stale_handles_fences_and_one_save_at_a_time() {
    let d = dir("stale");
    std::fs::write(
        d.join("prog.scm"),
        r#"(define-values (in out) (make-pipe))
           (define (main)
             (display (guard (e ((file-error? e) (error-object-message e))) (write-string "x" out)))
             (newline))
           (save-application "s.img" #:toplevel main)
           (register-fork-handlers! #f #f (lambda () (display "from the child")))
           (display (guard (e ((error-object? e) (error-object-message e))) (save-application "t.img")))
           (newline)
           (register-fork-handlers! #f #f #f)
           (define later (save-application "u.img" #:wait #f #:toplevel (lambda () (thread-sleep! 1))))
           (display (procedure? later))
           (newline)"#,
    )
    .expect("write");
    let (code, out, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("not allowed while saving"), "{out}");
    assert_eq!(lines[1], "#t");
    assert!(!d.join("t.img").exists());
    let (code, out, _) = run(&d, &["--image", "s.img"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("stale handle from a previous session"),
        "{out}"
    );
    std::fs::write(
        d.join("twice.scm"),
        r#"(register-fork-handlers! #f #f (lambda () (thread-sleep! 0.3)))
           (define first (save-application "a.img" #:wait #f))
           (display (guard (e ((error-object? e) (error-object-message e))) (save-application "b.img")))
           (newline)
           (display (car (first)))
           (newline)"#,
    )
    .expect("write");
    let (code, out, err) = run(&d, &["twice.scm"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("a save is already running"), "{out}");
    assert!(out.contains("(path . a.img)"), "{out}");
}

/// Images damaged in their body but with valid checksums (what a fuzzer
/// that understands the format produces): the structural check refuses or
/// accepts each, and never crashes.
#[test]
fn structural_check_survives_resealed_damage() {
    use imp_images::{Image, ImageMeta, SectionKind, SectionOut};
    let d = dir("reseal");
    let mut rt = Runtime::new().expect("runtime");
    rt.eval_str("(define data (list 1 \"two\" #(3 4) (expt 2 80) (make-hash-table)))")
        .expect("data");
    rt.save_image(d.join("base.img"), None).expect("save");
    let img = Image::open_unchecked(&d.join("base.img")).expect("open");
    let body = img.read_section(&img.sections[0]).expect("body");
    let meta = ImageMeta {
        fingerprint: img.fingerprint,
        static_region_offset: img.static_region_offset,
        roots: img.roots.clone(),
        primitives: img.primitives.clone(),
        writer: img.writer.clone(),
    };
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for round in 0..200 {
        let mut b = body.clone();
        for _ in 0..1 + round % 4 {
            let at = (next() % b.len() as u64) as usize;
            b[at] ^= 1 << (next() % 8);
        }
        let p = d.join("damaged.img");
        let s = [SectionOut {
            kind: SectionKind::Static,
            region_offset: img.static_region_offset,
            bytes: &b,
        }];
        imp_images::write_image(&p, &meta, &s).expect("write");
        if imp::image::check(&p).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 20, "only {refused} of 200 damaged images refused");
}

#[test]
fn libraries_and_imports_survive_an_image() {
    let d = dir("libraries");
    std::fs::create_dir_all(d.join("t")).expect("dir");
    std::fs::write(
        d.join("t/lib.sld"),
        "(define-library (t lib) (export hello twice!) (import (scheme base))
           (begin (define (secret x) (* x 100))
                  (define (hello x) (list 'hello (secret x)))
                  (define-syntax twice! (syntax-rules () ((_ v) (set! v (secret v)))))))",
    )
    .expect("write");
    std::fs::write(
        d.join("prog.scm"),
        "(import (scheme base) (t lib)) (define secret 'mine) (save-application \"l.img\")",
    )
    .expect("write");
    let (code, _, err) = run(&d, &["prog.scm"]);
    assert_eq!(code, 0, "{err}");
    // The library's file is gone: the image must not need it.
    std::fs::remove_file(d.join("t/lib.sld")).expect("rm");
    let out = imp()
        .current_dir(&d)
        .args(["--image", "l.img"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(
                b"(hello 1)\nsecret\n(import (prefix (t lib) t:))\n(t:hello 2)\n(define v 3)\n(twice! v)\nv\n",
            )?;
            c.wait_with_output()
        })
        .expect("repl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(hello 100)\nmine\n(hello 200)\n300\n"
    );
}

#[test]
fn an_image_saved_after_a_full_collection_in_place_holds_what_lives() {
    let d = dir("in-place");
    let mut empty = Runtime::new().expect("runtime");
    let base = empty
        .save_image(d.join("empty.img"), None)
        .expect("save empty")
        .image_bytes;
    let mut rt = Runtime::new().expect("runtime");
    // The kept list's 300,000 pairs take 7.2 MB; the dropped one's 4.8 MB
    // become holes in the old generation, which the save must not copy.
    // (Less dies than lives, with the boot's own garbage besides, so the
    // full collection sweeps in place rather than copying.)
    let src = "(define (build n) (let loop ((i 0) (acc '()))
                 (if (= i n) acc (loop (+ i 1) (cons (list i) acc)))))
               (define keep (build 150000))
               (define drop (build 100000))
               (set! drop #f)
               (define before (cdr (assq 'majors-in-place (gc-stats))))
               (gc)
               (- (cdr (assq 'majors-in-place (gc-stats))) before)";
    let n = rt.eval_str(src).expect("build");
    assert_eq!(rt.write(&n), "1");
    rt.verify_heap().expect("verify");
    let r = rt.save_image(d.join("kept.img"), None).expect("save");
    let kept = 150_000 * 2 * 24;
    assert!(
        // Sections are padded to 64 KiB (IMAGE-FORMAT §1), in either image.
        r.image_bytes + imp_images::ALIGN >= base + kept && r.image_bytes < base + kept + (1 << 20),
        "empty {base}, saved {}",
        r.image_bytes
    );
    let (mut b, _) = Runtime::from_image(d.join("kept.img")).expect("load");
    let v = b
        .eval_str("(list (length keep) (apply + (map car keep)) (caar keep))")
        .expect("read back");
    assert_eq!(b.write(&v), "(150000 11249925000 149999)");
    b.verify_heap().expect("verify loaded");
}

// See issue #20, item 14
#[test]
fn issue_20_14_seeded_damage_never_crashes_the_loader() {
    use imp::image::fuzz::{LoadFuzz, Start};
    let d = dir("fuzz-smoke");
    let fuzz = LoadFuzz::new(&d).expect("base image");
    // Per mode: started, refused, failed as it restored.
    let mut seen = [[0usize; 3]; 4];
    for seed in 0..320u64 {
        let mode = (seed % 4) as u8;
        let len = match mode {
            0 => 64 + (seed as usize * 37) % 9000,
            1 | 2 => 5 * (1 + (seed as usize % 6)),
            _ => 9,
        };
        let input = LoadFuzz::input(seed, mode, len);
        let out = fuzz.run(&input).expect("write the input");
        // What the check accepts, the loader does not refuse.
        assert!(
            !(out.checked && out.start == Start::Refused),
            "seed {seed}: checked, then refused"
        );
        let k = match out.start {
            Start::Started => 0,
            Start::Refused => 1,
            Start::Failed => 2,
        };
        seen[mode as usize][k] += 1;
    }
    // Random bytes never start; unsealed flips mostly do not.
    assert_eq!(seen[0][0], 0, "{seen:?}");
    assert!(seen[2][1] > 60, "{seen:?}");
    assert!(seen[1][1] > 10 && seen[3][1] > 10, "{seen:?}");
}

/// A program whose data makes an image of about 26 MB (past the 16 MiB up
/// to which a load checks the whole body first): records of lists,
/// strings, vectors and bignums, then 8 MB of bytes nothing reads but the
/// checksum. Its toplevel, by its first argument: none, print a checksum
/// of all the data; `hello`, print hello; `spin`, loop for ever without
/// output; `write FILE`, write a file.
const LARGE: &str = r#"
(define n 110000)
(define (unit i)
  (list i (number->string i) (vector i (* i i)) (* (+ i 1) 100000000000000000000)))
(define data (make-vector n #f))
(do ((i 0 (+ i 1))) ((= i n)) (vector-set! data i (unit i)))
(define pad (make-bytevector 8000000 7))
(define (sum-unit u)
  (+ (car u) (string-length (cadr u)) (vector-ref (caddr u) 1)
     (modulo (cadddr u) 1000003)))
(define (checksum)
  (let loop ((i 0) (s 0))
    (if (< i n)
        (loop (+ i 1) (modulo (+ (* s 31) (sum-unit (vector-ref data i))) 1000000007))
        (let pads ((j 0) (s s))
          (if (< j (bytevector-length pad))
              (pads (+ j 4096) (+ s (bytevector-u8-ref pad j)))
              s)))))
(define (main)
  (let ((args (cdr (command-line))))
    (cond ((null? args) (display (checksum)) (newline))
          ((equal? (car args) "hello") (display "hello") (newline))
          ((equal? (car args) "spin") (let loop ((i 0)) (loop (+ i 1))))
          ((equal? (car args) "write")
           (call-with-output-file (cadr args) (lambda (p) (display "x" p)))))))
(save-application "large.img" #:toplevel main)
"#;

/// The large image, saved once per test that asks (in its own directory),
/// and its static section's place in the file and length.
fn large_image(d: &Path) -> (Vec<u8>, u64, u64) {
    std::fs::write(d.join("large.scm"), LARGE).expect("write");
    let (code, out, err) = run(d, &["large.scm"]);
    assert_eq!(code, 0, "{out}{err}");
    let img = imp_images::Image::open_unchecked(&d.join("large.img")).expect("open");
    assert!(img.len > imp_images::VERIFY_BODY_LIMIT, "{} bytes", img.len);
    let s = &img.sections[0];
    let bytes = std::fs::read(d.join("large.img")).expect("read");
    (bytes, s.file_offset, s.len)
}

/// Where in the file a chunk of the section holds nothing but `pad`'s
/// bytes (so only the checksum run reads it): the middle of its longest
/// run of 7s.
fn inside_pad(bytes: &[u8]) -> usize {
    let (mut best, mut best_len, mut at, mut len) = (0, 0, 0, 0);
    for (i, &b) in bytes.iter().enumerate() {
        if b == 7 {
            if len == 0 {
                at = i;
            }
            len += 1;
            if len > best_len {
                (best, best_len) = (at, len);
            }
        } else {
            len = 0;
        }
    }
    assert!(best_len > 4 << 20, "no pad found");
    best + best_len / 2
}

/// Run `imp ARGS` with a deadline (a hang fails the test instead of
/// stopping the suite); (status, stdout, stderr).
fn run_bounded(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    use std::io::Read;
    let mut child = imp()
        .current_dir(cwd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run imp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("imp {args:?} did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read");
    (status.code().unwrap_or(-1), out, err)
}

/// The damage error for chunk `chunk` of `name`, and nothing else.
fn assert_damage(name: &str, chunk: u64, code: i32, out: &str, err: &str) {
    assert_eq!(code, 70, "{name}: {out}{err}");
    assert_eq!(out, "", "{name}: output before the error");
    assert!(
        err.contains(name)
            && err.contains(&format!(
                "damaged image: chunk {chunk} of its static section"
            ))
            && err.contains("does not match its checksum"),
        "{name}: {err}"
    );
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert_eq!(err.lines().count(), 1, "{name}: {err}");
}

// See issue #20, item 12
#[test]
fn issue_20_12_bit_flips_in_a_large_image_end_in_an_error_before_any_output() {
    let d = dir("large-flips");
    let (good, start, len) = large_image(&d);
    let (code, right, err) = run(&d, &["--image", "large.img"]);
    assert_eq!(code, 0, "{err}");
    // Seeded places over the whole section, and one in the data the
    // checksum reads last.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut places: Vec<u64> = (0..7)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            start + x % len
        })
        .collect();
    places.push(inside_pad(&good) as u64);
    places.push(start + len - 1);
    for (k, &at) in places.iter().enumerate() {
        let mut b = good.clone();
        b[at as usize] ^= 1 << (k % 8);
        let name = format!("flip-{k}.img");
        std::fs::write(d.join(&name), &b).expect("write");
        let (code, out, err) = run_bounded(&d, &["--image", &name]);
        assert_damage(&name, (at - start) >> 20, code, &out, &err);
        assert_ne!(out, right);
    }
}

// See issue #20, item 12
#[test]
fn issue_20_12_damage_the_program_never_reads_still_stops_it_before_any_effect() {
    let d = dir("large-effects");
    let (mut bytes, start, _) = large_image(&d);
    let at = inside_pad(&bytes);
    bytes[at] ^= 0x10;
    std::fs::write(d.join("pad.img"), &bytes).expect("write");
    let chunk = (at as u64 - start) >> 20;
    // Output waits for the whole body to be checked.
    let (code, out, err) = run_bounded(&d, &["--image", "pad.img", "hello"]);
    assert_damage("pad.img", chunk, code, &out, &err);
    // A loop with no output is stopped by the checker.
    let (code, out, err) = run_bounded(&d, &["--image", "pad.img", "spin"]);
    assert_damage("pad.img", chunk, code, &out, &err);
    // No file is made.
    let (code, out, err) = run_bounded(&d, &["--image", "pad.img", "write", "made.txt"]);
    assert_damage("pad.img", chunk, code, &out, &err);
    assert!(!d.join("made.txt").exists());
    // The same image undamaged does all three but the loop.
    let (code, out, _) = run(&d, &["--image", "large.img", "write", "made.txt"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(d.join("made.txt").exists());
}

// See issue #20, item 12
#[test]
fn issue_20_12_the_api_reports_damage_as_an_image_error_naming_the_chunk() {
    let d = dir("large-api");
    let (mut bytes, start, _) = large_image(&d);
    let at = inside_pad(&bytes);
    bytes[at] ^= 0x01;
    std::fs::write(d.join("pad.img"), &bytes).expect("write");
    let chunk = (at as u64 - start) >> 20;
    // The start does not wait for the body; the first call's end does.
    let (mut rt, top) = Runtime::from_image(d.join("pad.img")).expect("starts");
    let top = top.expect("toplevel");
    rt.set_command_line(&["x".into(), "hello".into()])
        .expect("args");
    let want = format!("damaged image: chunk {chunk} of its static section");
    for _ in 0..2 {
        match rt.call(&top, &[]) {
            Err(imp::Error::Image(m)) => assert!(m.contains("pad.img") && m.contains(&want), "{m}"),
            r => panic!("{r:?}"),
        }
    }
    // Nothing runs on it any more.
    assert!(matches!(rt.eval_str("(+ 1 2)"), Err(imp::Error::Image(_))));
}

/// `bytes` (an image) with root `name` set to `value` and, if `patch`
/// says so, words of its static section changed; every checksum right.
fn resealed(bytes: &[u8], d: &Path, roots: &[(&str, u64)], patch: &[(usize, u64)]) -> Vec<u8> {
    use imp_images::{Image, ImageMeta, SectionKind, SectionOut};
    let src = d.join("reseal-src.img");
    std::fs::write(&src, bytes).expect("write");
    let img = Image::open_unchecked(&src).expect("open");
    let mut body = img.read_section(&img.sections[0]).expect("body");
    for &(word, v) in patch {
        body[word * 8..word * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    let mut meta = ImageMeta {
        fingerprint: img.fingerprint,
        static_region_offset: img.static_region_offset,
        roots: img.roots.clone(),
        primitives: img.primitives.clone(),
        writer: img.writer.clone(),
    };
    for (name, v) in roots {
        for r in meta.roots.iter_mut().filter(|r| r.0 == *name) {
            r.1 = *v;
        }
    }
    let out = d.join("reseal-out.img");
    let s = [SectionOut {
        kind: SectionKind::Static,
        region_offset: img.static_region_offset,
        bytes: &body,
    }];
    imp_images::write_image(&out, &meta, &s).expect("reseal");
    std::fs::read(&out).expect("read")
}

/// Both `--check-image` and `--image` refuse `name` with an error naming
/// it and containing one of `wants` (the structural check and the loader
/// word some faults each their own way), without a panic or output.
fn assert_refused(d: &Path, name: &str, wants: &[&str]) {
    for flag in ["--check-image", "--image"] {
        let (code, out, err) = run_bounded(d, &[flag, name]);
        assert_eq!(code, 70, "{flag} {name}: {out}{err}");
        assert_eq!(out, "", "{flag} {name}");
        assert!(
            err.starts_with(&format!("imp: {name}: damaged image: "))
                && wants.iter().any(|w| err.contains(w)),
            "{flag} {name}: wanted one of {wants:?} in {err}"
        );
        assert!(!err.contains("panicked"), "{flag} {name}: {err}");
        assert_eq!(err.lines().count(), 1, "{flag} {name}: {err}");
    }
}

// See issue #20, item 14
#[test]
fn issue_20_14_crafted_roots_are_refused_by_the_check_and_the_loader() {
    let d = dir("crafted-roots");
    std::fs::write(
        d.join("ok.scm"),
        "(define v (list 1 2)) (add-restore-hook! (lambda () 1)) (save-application \"ok.img\" #:toplevel (lambda () (display v)))",
    )
    .expect("write");
    let (code, out, err) = run(&d, &["ok.scm"]);
    assert_eq!(code, 0, "{out}{err}");
    let good = std::fs::read(d.join("ok.img")).expect("image");
    let img = imp_images::Image::open_unchecked(&d.join("ok.img")).expect("open");
    let end = img.static_region_offset + img.sections[0].len;
    let roots: Vec<String> = img.roots.iter().map(|r| r.0.clone()).collect();
    assert_eq!(roots.len(), 10, "{roots:?}");
    for (k, root) in roots.iter().enumerate() {
        for (v, want) in [
            (u64::MAX, "which is no value"),
            (0x1, "outside the image"),
            (end | 1, "outside the image"),
            (0xffff_ffff_ffff_fff9, "outside the image"),
        ] {
            if root == "symbol-count" && v == 0x1 {
                continue;
            }
            let name = format!("root-{k}-{v:x}.img");
            std::fs::write(d.join(&name), resealed(&good, &d, &[(root, v)], &[])).expect("write");
            let want = if root == "symbol-count" {
                "is not a count"
            } else {
                want
            };
            // The structural check words a bad reference its own way.
            for flag in ["--check-image", "--image"] {
                let (code, out, err) = run_bounded(&d, &[flag, &name]);
                assert_eq!(code, 70, "{flag} {root}={v:#x}: {out}{err}");
                assert_eq!(out, "");
                assert!(
                    err.starts_with(&format!("imp: {name}: damaged image: "))
                        && (err.contains(want) || err.contains("which is no object of the image")),
                    "{flag} {root}={v:#x}: {err}"
                );
                assert!(!err.contains("panicked"), "{err}");
            }
        }
    }
    // A root of the right kind of value but the wrong kind of object.
    let toplevel = img.root("toplevel").expect("toplevel");
    let name = "ports-swapped.img";
    std::fs::write(
        d.join(name),
        resealed(&good, &d, &[("output-port", toplevel)], &[]),
    )
    .expect("write");
    assert_refused(
        &d,
        name,
        &[
            "`output-port` root is not a parameter object",
            "a closure with a bad size",
        ],
    );
}

// See issue #20, item 14
#[test]
fn issue_20_14_a_bad_reference_or_a_bad_shape_inside_is_refused() {
    let d = dir("crafted-body");
    std::fs::write(
        d.join("ok.scm"),
        "(define data (list 123456789 2 3)) (save-application \"ok.img\" #:toplevel (lambda () (display (length data))))",
    )
    .expect("write");
    let (code, out, err) = run(&d, &["ok.scm"]);
    assert_eq!(code, 0, "{out}{err}");
    let good = std::fs::read(d.join("ok.img")).expect("image");
    let img = imp_images::Image::open_unchecked(&d.join("ok.img")).expect("open");
    let body = img.read_section(&img.sections[0]).expect("body");
    let base = img.static_region_offset;
    let word = |i: usize| u64::from_le_bytes(body[i * 8..i * 8 + 8].try_into().expect("8"));
    // The symbol table's first bucket refers outside the image: what the
    // loader itself follows.
    let tab = ((img.root("symbol-table").expect("root") & !7) - base) as usize / 8;
    let name = "bucket-out.img";
    std::fs::write(
        d.join(name),
        resealed(&good, &d, &[], &[(tab + 1, 0x7fff_0000_0001)]),
    )
    .expect("write");
    assert_refused(
        &d,
        name,
        &["outside the image", "which is no object of the image"],
    );
    // The output port's parameter with one field too many: a bad shape.
    let param = ((img.root("output-port").expect("root") & !7) - base) as usize / 8;
    let h = word(param);
    let name = "param-shape.img";
    std::fs::write(
        d.join(name),
        resealed(&good, &d, &[], &[(param, h + (1 << 32))]),
    )
    .expect("write");
    assert_refused(&d, name, &["a parameter with a bad size or length"]);
    // The list the program walks, cut by a reference outside the heap:
    // the loader never follows it, the program does, and the damage is
    // reported as the check finds it, not as a panic.
    let car = (0..body.len() / 8)
        .find(|&i| word(i) == 123456789 << 1)
        .expect("the list's first pair");
    let name = "list-out.img";
    std::fs::write(
        d.join(name),
        resealed(&good, &d, &[], &[(car + 1, 0x7fff_0000_0001)]),
    )
    .expect("write");
    assert_refused(&d, name, &["which is no object of the image"]);
}

// Issue 23, item 5: a large image whose body matched every checksum is
// marked (in `IMP_CHECKED_IMAGES`), and its next start maps it without
// holding its first effect for the check. The mark names the very file:
// the same path written again with damage is checked whole again, and
// the damage still ends the start before any output.
#[test]
fn issue_23_a_checked_image_is_marked_and_a_changed_one_is_checked_again() {
    let d = dir("checked-mark");
    let (good, start, _) = large_image(&d);
    let marks = d.join("marks");
    let run_marked = |args: &[&str]| {
        let out = imp()
            .current_dir(&d)
            .env("IMP_CHECKED_IMAGES", &marks)
            .args(args)
            .output()
            .expect("run imp");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    std::fs::write(d.join("m.img"), &good).expect("write");
    // A file changed within the last 100 ms is not marked (its times may
    // not change on the next write): let it settle.
    std::thread::sleep(std::time::Duration::from_millis(150));
    let first = run_marked(&["--image", "m.img", "hello"]);
    assert_eq!(first, (0, "hello\n".to_string(), String::new()));
    let files: Vec<_> = std::fs::read_dir(&marks)
        .expect("marks")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1, "one mark");
    let mark = std::fs::read_to_string(files[0].path()).expect("mark");
    assert!(
        mark.contains("m.img") && mark.contains(&format!("size {}", good.len())),
        "{mark}"
    );
    // Marked: the same answer.
    let (code, sum, _) = run_marked(&["--image", "m.img"]);
    assert_eq!(code, 0);
    assert!(!sum.is_empty());
    // The same file written again, with damage nothing reads but the check.
    let mut bad = good.clone();
    let at = inside_pad(&bad);
    bad[at] ^= 0x04;
    std::fs::write(d.join("m.img"), &bad).expect("write");
    let (code, out, err) = run_marked(&["--image", "m.img", "hello"]);
    assert_damage("m.img", (at as u64 - start) >> 20, code, &out, &err);
    // No marks at all when the variable is empty: the check holds output.
    std::fs::write(d.join("n.img"), &good).expect("write");
    let out = imp()
        .current_dir(&d)
        .env("IMP_CHECKED_IMAGES", "")
        .args(["--image", "n.img", "hello"])
        .output()
        .expect("run imp");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(std::fs::read_dir(&marks).expect("marks").count(), 1);
    let _ = std::fs::remove_dir_all(&d);
}

// A save whose file cannot grow (the file-size limit, as a full disk
// would) fails with the cause named once, in the program, which goes on;
// the earlier image is left as it was and no temporary file stays. The
// image is written on a thread of the save child: its error comes back
// through the copying thread.
#[test]
fn a_save_that_cannot_write_names_the_cause_and_keeps_the_old_image() {
    let d = dir("efbig");
    std::fs::write(
        d.join("p.scm"),
        r#"
(define big (make-vector 3000000 1))
(display (guard (e (#t (list 'error (error-object-message e)))) (save-application "p.img")))
(newline)
(display "still here")
(newline)
"#,
    )
    .expect("write");
    std::fs::write(d.join("p.img"), "old").expect("write");
    let out = Command::new("sh")
        .current_dir(&d)
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 8192; exec {} p.scm",
            env!("CARGO_BIN_EXE_imp")
        ))
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .starts_with("(error save-application: p.img: cannot write the image: File too large"),
        "{stdout}"
    );
    assert!(stdout.ends_with("still here\n"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(d.join("p.img")).expect("old"),
        "old"
    );
    let left: Vec<_> = std::fs::read_dir(&d)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    let _ = std::fs::remove_dir_all(&d);
}

// See issue #23, item 5: the threads an image kept are checked as each is
// first resumed, not all at the start. One whose saved state is malformed
// (the checksums made right over it) ends the run with the damaged-image
// error before it runs, and the full check finds it at once.
#[test]
fn issue_23_a_malformed_kept_thread_is_refused_when_it_is_resumed() {
    let d = dir("crafted-kept-thread");
    std::fs::write(
        d.join("ok.scm"),
        r#"(define ch (make-channel 0))
(define t (make-thread (lambda () (display (channel-receive ch)) (newline)) 'waiter))
(thread-start! t)
(thread-yield!)
(save-application "ok.img" #:threads 'keep
                  #:toplevel (lambda () (display "start ") (channel-send! ch 'resumed) (thread-join! t)))"#,
    )
    .expect("write");
    let (code, out, err) = run(&d, &["ok.scm"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_bounded(&d, &["--image", "ok.img"]);
    assert_eq!((code, out.as_str()), (0, "start resumed\n"), "{err}");
    let good = std::fs::read(d.join("ok.img")).expect("image");
    let img = imp_images::Image::open_unchecked(&d.join("ok.img")).expect("open");
    let body = img.read_section(&img.sections[0]).expect("body");
    let base = img.static_region_offset;
    let word = |i: usize| u64::from_le_bytes(body[i * 8..i * 8 + 8].try_into().expect("8"));
    let at = |r: u64| ((r & !7) - base) as usize / 8;
    // `#(caller threads …)`: the first thread of the list that did not save.
    let kept = at(img.root("threads").expect("threads root"));
    let caller = word(kept + 1);
    let mut l = word(kept + 2);
    let waiter = loop {
        let t = word(at(l) + 1);
        if t != caller {
            break at(t);
        }
        l = word(at(l) + 2);
    };
    // Its saved stack (field 5) becomes the fixnum 7.
    let name = "kept-thread.img";
    std::fs::write(
        d.join(name),
        resealed(&good, &d, &[], &[(waiter + 1 + 5, 7 << 1)]),
    )
    .expect("write");
    let (code, out, err) = run_bounded(&d, &["--image", name]);
    assert_eq!(code, 70, "{out}{err}");
    assert_eq!(
        out, "start ",
        "the toplevel runs; the thread does not: {err}"
    );
    assert!(
        err.starts_with(&format!(
            "imp: {name}: damaged image: its kept thread at offset "
        )) && err.contains("is a thread whose saved stack is an integer"),
        "{err}"
    );
    let (code, out, err) = run_bounded(&d, &["--check-image", name]);
    assert_eq!((code, out.as_str()), (70, ""), "{err}");
    assert!(err.contains("damaged thread list"), "{err}");
}

// See issue #24: the new kinds of data survive an image: complex numbers
// (their own object, checked by the structural check), compiled regexps
// (compiled again in the image's process), tables of a Scheme equivalence,
// char-sets, dates, and JSON read after the start.
#[test]
fn issue_24_batteries_data_survives_an_image() {
    let d = dir("batteries");
    std::fs::write(
        d.join("b.scm"),
        r#"(define z (list 1+2i (sqrt -4) 1/2-3/4i))
(define re (regexp '(+ (/ "09"))))
(define cs (char-set-union char-set:letter (char-set #\1)))
(define tbl (make-hash-table string-ci=?))
(hash-table-set! tbl "Key" 1)
(define t (make-date 0 0 0 12 1 1 2020 0))
(save-application "b.img" #:toplevel
  (lambda ()
    (write (list z (regexp-match->list (regexp-search re "ab123")) (char-set-contains? cs #\x3bb)
                 (hash-table-ref tbl "KEY") (date->string t "~4")
                 (json-read (open-input-string "{\"a\":[1]}"))))))"#,
    )
    .expect("write");
    let (code, out, err) = run(&d, &["b.scm"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&d, &["--image", "b.img"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            r#"((1+2i +2i 1/2-3/4i) ("123") #t 1 "2020-01-01T12:00:00Z" ((a . #(1))))"#
        ),
        "{err}"
    );
    let (code, out, err) = run(&d, &["--check-image", "b.img"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("b.img: ok"), "{out}");
}
