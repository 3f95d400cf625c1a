//! The REPL driven as a person drives it: through a pseudo-terminal (the
//! `imp` process gets it as its controlling terminal, so Ctrl-C is a real
//! SIGINT), and through pipes.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};

/// A running `imp` on a pseudo-terminal, and everything it printed.
struct Session {
    master: std::fs::File,
    child: Child,
    /// All output so far, escape sequences removed.
    text: String,
    /// All output so far, as the terminal got it.
    raw: Vec<u8>,
    /// How much of `text` earlier expectations consumed.
    seen: usize,
}

fn history_file(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("imp-repl-tests-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("dir");
    d.join(name)
}

/// Remove terminal escape sequences (CSI and the like) and carriage returns.
fn plain(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    // Parameters, then one final byte in @..~.
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

impl Session {
    fn start(history: &Path, args: &[&str]) -> Session {
        let size = Winsize {
            ws_row: 40,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        let fd = |f: &OwnedFd| Stdio::from(f.try_clone().expect("dup"));
        // `setsid -c`: a new session whose controlling terminal is the
        // pseudo-terminal, as a login shell's would be.
        let child = Command::new("setsid")
            .arg("-c")
            .arg(env!("CARGO_BIN_EXE_imp"))
            .args(args)
            .env("TERM", "xterm")
            .env("IMP_HISTORY", history)
            .stdin(fd(&slave))
            .stdout(fd(&slave))
            .stderr(fd(&slave))
            .spawn()
            .expect("spawn imp on a pty");
        drop(slave);
        let mut s = Session {
            master: std::fs::File::from(pty.master),
            child,
            text: String::new(),
            raw: Vec::new(),
            seen: 0,
        };
        s.prompt();
        s
    }

    fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("type");
    }

    /// Read for up to `d`.
    fn read_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        let mut raw = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => break,
                Ok(_) => {
                    let mut buf = [0u8; 4096];
                    match self.master.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            raw.extend_from_slice(&buf[..n]);
                            // Stop early once something arrived and
                            // nothing follows for a moment.
                            let mut more = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
                            if poll(&mut more, PollTimeout::from(20u16)) == Ok(0) {
                                break;
                            }
                        }
                    }
                }
                Err(_) => break,
            }
        }
        self.text.push_str(&plain(&String::from_utf8_lossy(&raw)));
        self.raw.extend_from_slice(&raw);
    }

    /// Wait (up to 10 s) until the output after the last expectation
    /// contains `needle`; return that output up to and including it.
    fn expect(&mut self, needle: &str) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = self.text[self.seen..].find(needle) {
                let upto = self.seen + i + needle.len();
                let got = self.text[self.seen..upto].to_string();
                self.seen = upto;
                return got;
            }
            assert!(
                Instant::now() < end,
                "waited 10 s for {needle:?}; the session so far:\n{}",
                self.text
            );
            self.read_for(Duration::from_millis(200));
        }
    }

    /// Wait until a fresh prompt `p` is the last thing on the screen (after
    /// a new line: not a redraw of the line being edited); return the
    /// output since the last expectation.
    fn prompt_is(&mut self, p: &str) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let rest = &self.text[self.seen..];
            if rest.ends_with(p) && rest.contains('\n') {
                let got = rest.to_string();
                self.seen = self.text.len();
                return got;
            }
            assert!(
                Instant::now() < end,
                "waited 10 s for the prompt {p:?}; the session so far:\n{}",
                self.text
            );
            self.read_for(Duration::from_millis(100));
        }
    }

    /// The output of an entry, up to the next prompt.
    fn prompt(&mut self) -> String {
        self.prompt_is("imp> ")
    }

    /// Type Ctrl-D at an empty prompt and wait for the exit status.
    fn quit(mut self) -> i32 {
        self.send("\u{4}");
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            self.read_for(Duration::from_millis(50));
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code().unwrap_or(-1);
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("imp did not exit on Ctrl-D; the session:\n{}", self.text);
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn multi_line_entries_get_a_continuation_prompt() {
    let mut s = Session::start(&history_file("multi"), &[]);
    s.send("(define (square x)\r");
    s.prompt_is("...> ");
    s.send("  (* x x))\r");
    s.prompt();
    s.send("(square 12) \"two\\nlines\"\r");
    let out = s.prompt();
    assert!(out.contains("144\n\"two\\nlines\"\n"), "{out}");
    // Strings and block comments that span lines wait for their end too.
    s.send("(string-length \"ab\r");
    s.prompt_is("...> ");
    s.send("cd\") #| a comment\r");
    s.prompt_is("...> ");
    s.send("still |#\r");
    let out = s.prompt();
    assert!(out.contains("\n5\n"), "{out}");
    // Several values, one a line; *1 holds the last result.
    s.send("(values 1 'b) *1\r");
    let out = s.prompt();
    assert!(out.contains("1\nb\n1\n"), "{out}");
    s.send("(list *1 *2 *3)\r");
    let out = s.prompt();
    assert!(out.contains("(1 1 5)"), "{out}");
    assert_eq!(s.quit(), 0);
}

// See issue #20, item 17: output that did not end in a newline was drawn
// over by the next prompt.
#[test]
fn issue_20_17_output_without_a_newline_is_not_drawn_over_by_the_prompt() {
    let mut s = Session::start(&history_file("fresh-line"), &[]);
    s.send("(display \"abc-no-newline\")\r");
    s.prompt();
    let raw = String::from_utf8_lossy(&s.raw).into_owned();
    let at = raw.rfind("abc-no-newline").expect("the output was written");
    let rest = &raw[at..];
    let prompt = rest.find("imp> ").expect("a prompt follows");
    assert!(
        rest[..prompt].contains('\n'),
        "the prompt was drawn on the output's line: {rest:?}"
    );
    // Output that ends its line gets no blank line after it.
    s.send("(display \"whole line\\n\")\r");
    let out = s.prompt();
    assert!(out.ends_with("whole line\nimp> "), "{out:?}");
    assert_eq!(s.quit(), 0);
}

#[test]
fn history_is_kept_across_sessions_and_symbols_complete() {
    let h = history_file("history");
    let _ = std::fs::remove_file(&h);
    let mut s = Session::start(&h, &[]);
    s.send("(define zebra-quux-unique 4242)\r");
    s.prompt();
    assert_eq!(s.quit(), 0);
    let saved = std::fs::read_to_string(&h).expect("history file");
    assert!(saved.contains("(define zebra-quux-unique 4242)"), "{saved}");

    let mut s = Session::start(&h, &[]);
    // Up-arrow brings the entry back; run it again.
    s.send("\u{1b}[A");
    s.expect("(define zebra-quux-unique 4242)");
    s.send("\r");
    s.prompt();
    // Tab completes a name defined in this session.
    s.send("zebra-q\t");
    s.expect("zebra-quux-unique");
    s.send("\r");
    let out = s.prompt();
    assert!(out.contains("4242"), "{out}");
    assert_eq!(s.quit(), 0);
}

#[test]
fn background_output_appears_above_the_line_being_typed() {
    let mut s = Session::start(&history_file("background"), &[]);
    s.send(
        "(define ticker (make-thread (lambda () (let loop ((i 1)) (display \"tick \") (display i) (newline) \
         (thread-sleep! 0.05) (if (< i 8) (loop (+ i 1))))) 'ticker))\r",
    );
    s.prompt();
    s.send("(thread-start! ticker)\r");
    s.prompt();
    // Half a line, while the ticker prints.
    s.send("(+ 40");
    s.expect("tick 6\n");
    // The prompt and the half-typed line are drawn again below the output.
    s.expect("imp> (+ 40");
    s.send(" 2)\r");
    let out = s.prompt();
    assert!(out.contains("42"), "{out}");
    assert_eq!(s.quit(), 0);
}

#[test]
fn ctrl_c_stops_the_evaluation_not_the_process_or_the_threads() {
    let mut s = Session::start(&history_file("interrupt"), &[]);
    s.send(
        "(define count 0) (define worker (thread-start! (make-thread (lambda () \
         (let loop () (set! count (+ count 1)) (thread-sleep! 0.01) (loop))) 'worker)))\r",
    );
    s.prompt();
    s.send("(let loop () (loop))\r");
    s.read_for(Duration::from_millis(300));
    let t0 = Instant::now();
    s.send("\u{3}");
    s.expect("interrupted");
    s.prompt();
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(200),
        "the prompt came back after {took:?}"
    );
    // The background thread still runs.
    s.send("(define before count)\r");
    s.prompt();
    s.read_for(Duration::from_millis(200));
    s.send("(list (> count before) (thread? worker))\r");
    let out = s.prompt();
    assert!(out.contains("(#t #t)"), "{out}");
    // Ctrl-C at the prompt drops the line being typed.
    s.send("(this is dropped");
    s.expect("dropped");
    s.send("\u{3}");
    s.prompt();
    s.send("(+ 1 1)\r");
    let out = s.prompt();
    assert!(out.contains("\n2\n"), "{out}");
    assert_eq!(s.quit(), 0);
}

#[test]
fn errors_backtraces_and_commands() {
    let mut s = Session::start(&history_file("errors"), &[]);
    s.send("(define (inner x) (car x)) (define (outer y) (+ 1 (inner y)))\r");
    s.prompt();
    s.send("(outer 5)\r");
    let out = s.prompt();
    assert!(out.contains("error: car: expected a pair"), "{out}");
    assert!(out.contains("inner"), "{out}");
    // Definitions survive the error.
    s.send("(outer '(41))\r");
    let out = s.prompt();
    assert!(out.contains("42"), "{out}");
    s.send(",bt\r");
    let out = s.prompt();
    assert!(out.contains("0: inner") && out.contains("outer"), "{out}");
    s.send(
        "(define sleeper (thread-start! (make-thread (lambda () (thread-sleep! 60)) 'sleeper)))\r",
    );
    s.prompt();
    s.send(",threads\r");
    let out = s.prompt();
    assert!(out.contains("sleeper") && out.contains("blocked"), "{out}");
    assert!(out.contains("this listener"), "{out}");
    s.send(",describe \"abc\"\r");
    let out = s.prompt();
    assert!(out.contains("is a string of 3 characters"), "{out}");
    s.send("(define (count-down n) (if (= n 0) 'done (count-down (- n 1))))\r");
    s.prompt();
    s.send(",x count-down\r");
    let out = s.prompt();
    assert!(
        out.contains("count-down: 1 required, 1 slots")
            && out.contains("JumpUnlessNumEqImm")
            && out.contains("TailSelfGlobal")
            && out.contains("; count-down, 1 slots"),
        "{out}"
    );
    s.send(",x 42\r");
    let out = s.prompt();
    assert!(
        out.contains("disassemble: expected a compiled procedure"),
        "{out}"
    );
    s.send(",apropos hash-table-ref\r");
    let out = s.prompt();
    assert!(out.contains("hash-table-ref/default"), "{out}");
    s.send(",time (length (make-list 1000 0))\r");
    let out = s.prompt();
    assert!(
        out.contains(" wall, ")
            && out.contains(" CPU, ")
            && out.contains("bytes allocated")
            && out.contains("1000"),
        "{out}"
    );
    s.send(",gc\r");
    let out = s.prompt();
    assert!(out.contains("KiB live"), "{out}");
    let image = history_file("from-repl.img");
    let _ = std::fs::remove_file(&image);
    s.send(&format!(",save {}\r", image.display()));
    let out = s.prompt();
    assert!(out.contains("; saved "), "{out}");
    assert!(
        std::fs::metadata(&image).is_ok_and(|m| m.len() > 0),
        "{out}"
    );
    s.send(",nonsense\r");
    let out = s.prompt();
    assert!(out.contains("unknown command ,nonsense"), "{out}");
    assert_eq!(s.quit(), 0);
}

fn piped(input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imp"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn imp");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn piped_input_gets_plain_output_and_a_telling_status() {
    let (code, out, err) = piped("(+ 1 2)\n(define (f x)\n  (* x 2))\n(f 21) \"s\"\n,help\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("3\n42\n\"s\"\nCommands"), "{out}");
    assert!(
        !out.contains('\u{1b}') && !out.contains("imp>") && !out.contains("...>"),
        "{out}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
    // Background threads run while the listener waits for input.
    let (code, out, _) = piped(
        "(define t (thread-start! (make-thread (lambda () (display \"from thread\") (newline)))))\n\
         (thread-join! t)\n",
    );
    assert_eq!(code, 0);
    assert!(out.contains("from thread"), "{out}");
    let (code, out, err) = piped("(car 1)\n(+ 2 2)\n");
    assert_eq!(code, 70, "an entry failed");
    assert_eq!(out, "4\n");
    assert!(err.contains("error: car"), "{err}");
    let (code, _, _) = piped("(exit 3)\n");
    assert_eq!(code, 3);
    let (code, _, err) = piped("(+ 1\n");
    assert_eq!(code, 70, "unfinished entry at end of input");
    assert!(err.contains("end of input inside an entry"), "{err}");
}
