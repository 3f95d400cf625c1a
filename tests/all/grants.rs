//! What a runtime's scripts may do outside it: `Runtime::builder` grants
//! nothing unless asked, each grant opens exactly its own doors, and the
//! host itself is never refused.

use std::path::{Path, PathBuf};

use imp::{Grants, Runtime};

/// A fresh directory for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("imp-grants-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
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

fn eval(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => rt.write(&v),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

fn refused(rt: &mut Runtime, src: &str, doing: &str) {
    match rt.eval_str(src) {
        Ok(v) => panic!("{src} should be refused, gave {}", rt.write(&v)),
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.contains(&format!("{doing} is not granted to this engine")),
                "{src}: {m}"
            );
        }
    }
    // The engine goes on.
    assert_eq!(eval(rt, "(+ 1 2)"), "3");
}

fn sandbox() -> Runtime {
    Runtime::builder().build().expect("runtime")
}

#[test]
fn new_grants_everything_and_the_builder_nothing() {
    assert_eq!(Runtime::new().expect("runtime").grants(), Grants::ALL);
    assert_eq!(sandbox().grants(), Grants::NONE);
    let rt = Runtime::builder()
        .allow_read_files()
        .allow_environment()
        .build()
        .expect("runtime");
    assert_eq!(
        rt.grants(),
        Grants {
            read_files: true,
            environment: true,
            ..Grants::NONE
        }
    );
}

#[test]
fn without_grants_every_file_door_is_shut() {
    let d = Dir::new("shut");
    let existing = d.file("keep.txt");
    std::fs::write(&existing, "(define secret 42)\n").expect("write");
    let fresh = d.file("new.txt");
    let mut rt = sandbox();
    let read = "reading files";
    let write = "writing files";
    for src in [
        format!("(open-input-file {existing:?})"),
        format!("(open-binary-input-file {existing:?})"),
        format!("(call-with-input-file {existing:?} read-line)"),
        format!("(with-input-from-file {existing:?} read-line)"),
        format!("(file-exists? {existing:?})"),
        format!("(load {existing:?})"),
        format!("(include {existing:?})"),
    ] {
        refused(&mut rt, &src, read);
    }
    for src in [
        format!("(open-output-file {fresh:?})"),
        format!("(open-binary-output-file {fresh:?})"),
        format!("(call-with-output-file {fresh:?} (lambda (p) (write 1 p)))"),
        format!("(with-output-to-file {fresh:?} (lambda () (write 1)))"),
        format!("(delete-file {existing:?})"),
        format!("(save-application {fresh:?})"),
    ] {
        refused(&mut rt, &src, write);
    }
    assert!(Path::new(&existing).exists(), "delete-file was refused");
    assert!(!Path::new(&fresh).exists(), "nothing was written");
    assert!(rt.global::<i64>("secret").is_err(), "nothing was loaded");
    // Scripts see an ordinary file error.
    assert_eq!(
        eval(
            &mut rt,
            &format!("(guard (e ((file-error? e) 'no)) (open-input-file {existing:?}))")
        ),
        "no"
    );
}

#[test]
fn without_grants_programs_and_the_environment_are_shut() {
    let mut rt = sandbox();
    refused(&mut rt, "(process-run \"true\")", "running programs");
    refused(
        &mut rt,
        "(get-environment-variable \"PATH\")",
        "reading environment variables",
    );
    refused(
        &mut rt,
        "(get-environment-variables)",
        "reading environment variables",
    );
}

#[test]
fn each_grant_opens_only_its_own_door() {
    let d = Dir::new("each");
    let f = d.file("data.txt");
    std::fs::write(&f, "hello\n").expect("write");

    let mut reader = Runtime::builder().allow_read_files().build().expect("rt");
    assert_eq!(
        eval(
            &mut reader,
            &format!("(call-with-input-file {f:?} read-line)")
        ),
        "\"hello\""
    );
    assert_eq!(eval(&mut reader, &format!("(file-exists? {f:?})")), "#t");
    refused(
        &mut reader,
        &format!("(delete-file {f:?})"),
        "writing files",
    );
    refused(&mut reader, "(process-run \"true\")", "running programs");

    let out = d.file("out.txt");
    let mut writer = Runtime::builder().allow_write_files().build().expect("rt");
    eval(
        &mut writer,
        &format!("(call-with-output-file {out:?} (lambda (p) (display \"written\" p)))"),
    );
    assert_eq!(std::fs::read_to_string(&out).expect("out"), "written");
    refused(
        &mut writer,
        &format!("(open-input-file {f:?})"),
        "reading files",
    );

    let mut env = Runtime::builder().allow_environment().build().expect("rt");
    std::env::set_var("IMP_GRANTS_TEST", "yes");
    assert_eq!(
        eval(&mut env, "(get-environment-variable \"IMP_GRANTS_TEST\")"),
        "\"yes\""
    );
    refused(
        &mut env,
        &format!("(open-input-file {f:?})"),
        "reading files",
    );

    let mut procs = Runtime::builder().allow_processes().build().expect("rt");
    assert_eq!(eval(&mut procs, "(process-run \"true\")"), "0");
    refused(
        &mut procs,
        "(get-environment-variables)",
        "reading environment variables",
    );
}

#[test]
fn libraries_on_disk_need_the_read_grant_and_libraries_in_the_heap_do_not() {
    let d = Dir::new("libs");
    std::fs::create_dir_all(d.0.join("grants")).expect("dir");
    std::fs::write(
        d.0.join("grants/util.sld"),
        "(define-library (grants util) (export triple) (import (scheme base)) (begin (define (triple x) (* 3 x))))",
    )
    .expect("write");
    let main = d.file("main.scm");
    let src = "(import (scheme base) (grants util)) (triple 5)";

    let mut rt = sandbox();
    let e = rt.eval_named(src, &main).expect_err("refused");
    assert!(
        e.to_string()
            .contains("library (grants util) is not defined in this engine, and reading library files is not granted"),
        "{e}"
    );
    assert_eq!(
        eval(
            &mut rt,
            "(cond-expand ((library (grants util)) 'yes) (else 'no))"
        ),
        "no"
    );
    // A library defined by a script is there to import.
    eval(
        &mut rt,
        "(define-library (mine) (export f) (import (scheme base)) (begin (define (f) 'mine)))",
    );
    assert_eq!(eval(&mut rt, "(import (mine)) (f)"), "mine");

    let mut reader = Runtime::builder().allow_read_files().build().expect("rt");
    let v = reader.eval_named(src, &main).expect("imports");
    assert_eq!(reader.write(&v), "15");
}

#[test]
fn the_host_reads_and_saves_whatever_the_grants() {
    let d = Dir::new("host");
    let prog = d.file("prog.scm");
    let other = d.file("other.scm");
    std::fs::write(&other, "(define loaded 'yes)\n").expect("write");
    std::fs::write(
        &prog,
        format!(
            "(define answer 42)\n(define outcome (guard (e ((file-error? e) (error-object-message e))) (load {other:?})))\n"
        ),
    )
    .expect("write");
    let mut rt = sandbox();
    rt.run_program(&prog).expect("the host runs the program");
    assert_eq!(rt.global::<i64>("answer").expect("answer"), 42);
    let outcome: String = rt.global("outcome").expect("outcome");
    assert!(outcome.contains("not granted"), "{outcome}");
    rt.eval_file(&other).expect("the host loads a file");
    assert_eq!(eval(&mut rt, "loaded"), "yes");

    // The host saves the engine (in this process; saving by fork is in
    // tests/fork); a script in it could not have.
    let img = d.file("saved.img");
    rt.save_image(&img, None).expect("host save");
    assert!(Path::new(&img).exists());
    refused(
        &mut rt,
        &format!("(save-application {:?})", d.file("x.img")),
        "writing files",
    );
    assert!(!Path::new(&d.file("x.img")).exists());
}

#[test]
fn grants_belong_to_the_host_not_to_the_image() {
    let d = Dir::new("image");
    let img = d.file("lib.img");
    let f = d.file("data.txt");
    std::fs::write(&f, "line\n").expect("write");
    let mut rt = sandbox();
    eval(
        &mut rt,
        &format!("(define (peek) (call-with-input-file {f:?} read-line))"),
    );
    rt.save_image(&img, None).expect("save");

    // Loaded plainly: everything granted, as Runtime::new.
    let (mut full, _) = Runtime::from_image(&img).expect("load");
    assert_eq!(eval(&mut full, "(peek)"), "\"line\"");

    // Loaded through the builder: its grants and limits.
    let (mut boxed, _) = Runtime::builder()
        .fuel(100_000)
        .build_from_image(&img, |_| Ok(()))
        .expect("load");
    assert_eq!(boxed.grants(), Grants::NONE);
    refused(&mut boxed, "(peek)", "reading files");
    let e = boxed.eval_str("(let loop () (loop))").expect_err("fuel");
    assert!(e.to_string().contains("fuel exhausted"), "{e}");

    let bytes = std::fs::read(&img).expect("read image");
    let (mut reader, _) = Runtime::builder()
        .allow_read_files()
        .build_from_image_bytes(&bytes, |_| Ok(()))
        .expect("load");
    assert_eq!(eval(&mut reader, "(peek)"), "\"line\"");
}

#[test]
fn builder_limits_fire_and_the_engine_goes_on() {
    let mut rt = Runtime::builder()
        .heap_limit(32 << 20)
        .max_frames(1_000)
        .build()
        .expect("rt");
    let e = rt.eval_str("(make-vector 50000000 0)").expect_err("heap");
    assert!(e.to_string().contains("heap limit"), "{e}");
    let e = rt
        .eval_str("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1))))) (deep 5000)")
        .expect_err("frames");
    assert!(e.to_string().to_lowercase().contains("stack"), "{e}");
    assert_eq!(eval(&mut rt, "(deep 100)"), "100");
}

#[test]
fn a_copied_heap_keeps_the_hosts_policy_limits_and_functions() {
    let mut rt = Runtime::builder().fuel(1_000_000).build().expect("rt");
    rt.register("twice", |_, (x,): (i64,)| Ok(2 * x))
        .expect("register");
    rt.eval_str("(define (f) (twice 21))").expect("define");
    let mut copy = rt.copy_to_new_heap().expect("copy");
    assert_eq!(copy.grants(), Grants::NONE);
    refused(&mut copy, "(file-exists? \"/\")", "reading files");
    assert!(copy.fuel().is_some_and(|f| f <= 1_000_000));
    assert!(copy.eval_str("(let loop () (loop))").is_err());
    copy.set_fuel(None);
    assert_eq!(eval(&mut copy, "(f)"), "42");
}
