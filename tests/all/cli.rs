//! The `imp` binary, run as a user runs it.

use std::io::Write;
use std::process::{Command, Stdio};

fn imp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imp"))
}

fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = imp()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn imp");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("imp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn eval_flag_prints_the_value() {
    let (code, out, _) = run_with_stdin(&["-e", "(+ 1 2)"], "");
    assert_eq!((code, out.as_str()), (0, "3\n"));
}

#[test]
fn program_sees_its_command_line_and_exit_status() {
    let p = temp_file(
        "args.scm",
        "(write (cdr (command-line))) (newline) (exit 3)",
    );
    let (code, out, _) = run_with_stdin(&[p.to_str().expect("utf8"), "a", "b c"], "");
    assert_eq!(out, "(\"a\" \"b c\")\n");
    assert_eq!(code, 3);
}

#[test]
fn uncaught_error_reports_location_and_backtrace_and_exits_70() {
    let p = temp_file(
        "err.scm",
        "(define (inner x) (vector-ref x 0))\n(define (outer) (inner 42))\n(outer)\n",
    );
    let (code, out, err) = run_with_stdin(&[p.to_str().expect("utf8")], "");
    assert_eq!(code, 70);
    assert_eq!(out, "");
    assert!(err.contains("vector-ref"), "{err}");
    assert!(err.contains("err.scm:1"), "{err}");
    assert!(err.contains("inner"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn help_and_version() {
    let (code, out, _) = run_with_stdin(&["--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("usage: imp"));
    let (code, out, _) = run_with_stdin(&["--version"], "");
    assert_eq!(code, 0);
    assert!(out.starts_with("imp "));
}

#[test]
fn piped_repl_prints_one_result_per_line_and_survives_errors() {
    let (code, out, err) = run_with_stdin(
        &[],
        "(define x 10)\n(+ x 1)\n(car '())\n(* x 2)\n(list 1\n 2)\n",
    );
    assert_eq!(out, "11\n20\n(1 2)\n");
    assert!(err.contains("car"), "{err}");
    assert_eq!(
        code, 70,
        "an error in piped input is reflected in the status"
    );
    assert!(!out.contains("imp>"));
}

#[test]
fn reading_standard_input_lets_other_threads_run() {
    // The input arrives late; a busy thread keeps counting meanwhile, and
    // read, read-line and read-char all see the same stream.
    let prog = temp_file(
        "stdin-threads.scm",
        "(define n 0)
         (define counter (thread-start! (make-thread (lambda () (let loop () (set! n (+ n 1)) (loop))))))
         (define first (read-line))
         (define datum (read))
         (define c (read-char))
         (define rest (read-line))
         (write (list first datum c rest (read-line) (> n 100000)))
         (newline)",
    );
    let mut child = imp()
        .arg(&prog)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn imp");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(b"hello\n(1 2\n 3)").expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(100));
    stdin.write_all(b" tail\n").expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "(\"hello\" (1 2 3) #\\space \"tail\" #<eof> #t)\n");
}
