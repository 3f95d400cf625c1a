//! The `imp` binary: runs programs, evaluates expressions, and the REPL.
#![forbid(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

mod terminal;
use std::process::ExitCode;

use imp::{Error, Runtime};

const USAGE: &str = "\
usage: imp [OPTIONS] [FILE [ARGS...]]

  imp                 start the REPL
  imp FILE [ARGS...]  run the program in FILE; (command-line) is (FILE ARGS...)
  imp -e EXPR         evaluate EXPR and print its value
  imp -               read a program from standard input

  imp --image IMAGE [ARGS...]
                      start from a saved image: run its toplevel with ARGS,
                      or the REPL if it has none

options:
  -e, --eval EXPR     evaluate EXPR, print the result, exit
  --image-info IMAGE  print an image's header, sections and roots
  --check-image IMAGE verify an image completely (checksums, every object)
  -h, --help          show this help
  -V, --version       show the version

exit status: 0 success, 64 a usage error, 70 an uncaught error (or the
status the program gave to `exit`)
";

/// Exit status for an uncaught error (EX_SOFTWARE).
const EXIT_ERROR: u8 = 70;
/// Exit status for a command line imp does not understand (EX_USAGE).
const EXIT_USAGE: u8 = 64;

/// Raise the soft limit on open descriptors to the hard one, as Go's
/// runtime does: a server's green threads each hold a connection, and
/// the usual soft limit of 1024 would refuse the 1025th.
fn raise_descriptor_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

fn main() -> ExitCode {
    raise_descriptor_limit();
    // Arguments as the system gave them: not all are UTF-8.
    let args: Vec<OsString> = std::env::args_os().collect();
    // An executable image: this binary with an image appended runs it,
    // passing every argument to the program. One whose image is damaged
    // refuses to run at all: it never falls back to being plain imp.
    match embedded_image() {
        Embedded::Image(exe) => {
            return match start_image(&exe, &args) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("imp: {e:#}");
                    ExitCode::from(EXIT_ERROR)
                }
            };
        }
        Embedded::Damaged(why) => {
            eprintln!("imp: {why}");
            return ExitCode::from(EXIT_ERROR);
        }
        Embedded::None => {}
    }
    match run(&args[1..]) {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("imp: {msg}\n{USAGE}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// A command line imp does not understand: what is wrong with it.
struct Usage(String);

/// Run the command line `args` (without the program name).
fn run(args: &[OsString]) -> Result<ExitCode, Usage> {
    let first = args.first().map(|a| a.as_os_str());
    let flag = first.and_then(OsStr::to_str);
    Ok(match flag {
        Some("-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("imp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("-e" | "--eval") => {
            let Some(expr) = args.get(1) else {
                return Err(Usage("-e needs an expression".into()));
            };
            if let Some(extra) = args.get(2) {
                return Err(Usage(format!(
                    "-e takes one expression; unexpected `{}`",
                    extra.to_string_lossy()
                )));
            }
            eval_expression(expr)
        }
        Some("--image") => {
            let Some(image) = args.get(1) else {
                return Err(Usage("--image needs an image file".into()));
            };
            match start_image(Path::new(image), &args[1..]) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("imp: {e:#}");
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
        Some(flag @ ("--image-info" | "--check-image")) => {
            let Some(image) = args.get(1) else {
                return Err(Usage(format!("{flag} needs an image file")));
            };
            let path = Path::new(image);
            let r = if flag == "--image-info" {
                imp::image::describe(path)
            } else {
                imp::image::check(path)
            };
            match r {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("imp: {e}");
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
        _ => match first {
            Some(a) if a.as_bytes().starts_with(b"-") && a != "-" => {
                return Err(Usage(format!("unknown option `{}`", a.to_string_lossy())));
            }
            Some(file) => run_file(file, args),
            None => repl(),
        },
    })
}

/// `imp -e EXPR`: evaluate and print.
fn eval_expression(expr: &OsStr) -> ExitCode {
    let mut rt = match fresh_runtime() {
        Ok(rt) => rt,
        Err(e) => return fatal(e),
    };
    if let Err(e) = rt.set_command_line(&["imp".to_string()]) {
        return report(&mut rt, e);
    }
    let name = "<command line>";
    let src = match imp::source_text(expr.as_bytes().to_vec(), name) {
        Ok(s) => s,
        Err(e) => return report(&mut rt, e),
    };
    match rt.eval_named(&src, name) {
        Ok(v) => {
            rt.flush();
            if !v.is_unspecified(&rt) {
                let out = std::io::stdout();
                let mut out = std::io::BufWriter::new(out.lock());
                let written = rt.write_to(&v, &mut out).and_then(|()| out.flush());
                match written {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                        eprintln!("imp: cannot write the result: {e}");
                        return ExitCode::from(EXIT_ERROR);
                    }
                    _ => {}
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => report(&mut rt, e),
    }
}

/// `imp FILE ARGS...` or `imp - ARGS...`: run a program.
fn run_file(file: &OsStr, args: &[OsString]) -> ExitCode {
    let mut rt = match fresh_runtime() {
        Ok(rt) => rt,
        Err(e) => return fatal(e),
    };
    if let Err(e) = rt.set_command_line(&command_line(args)) {
        return report(&mut rt, e);
    }
    let r = if file == "-" {
        // The whole program first: it is read as one text, and text that
        // is not UTF-8 is an error, never skipped.
        let mut bytes = Vec::new();
        match std::io::stdin().lock().read_to_end(&mut bytes) {
            Ok(_) => imp::source_text(bytes, "<stdin>")
                .and_then(|src| rt.eval_named(&src, "<stdin>").map(|_| ())),
            Err(e) => {
                eprintln!("imp: cannot read standard input: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    } else {
        rt.run_program(Path::new(file))
    };
    match r {
        Ok(()) => {
            rt.flush();
            ExitCode::SUCCESS
        }
        Err(e) => report(&mut rt, e),
    }
}

/// The program's arguments as `(command-line)` shows them: strings, with
/// any byte that is not UTF-8 shown as U+FFFD (the files they name are
/// opened by their exact bytes all the same).
fn command_line(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// What this executable carries after its program.
enum Embedded {
    /// Nothing: this is plain imp.
    None,
    /// A valid trailer names an image: run it.
    Image(std::path::PathBuf),
    /// Bytes follow the program, but not a valid image trailer: the file
    /// was damaged (appended to, truncated or overwritten) after it was
    /// built. Why, in words.
    Damaged(String),
}

/// This executable's path if an image is appended to it.
fn embedded_image() -> Embedded {
    let Ok(exe) = std::env::current_exe() else {
        return Embedded::None;
    };
    let Ok(f) = std::fs::File::open(&exe) else {
        return Embedded::None;
    };
    let Ok(size) = f.metadata().map(|m| m.len()) else {
        return Embedded::None;
    };
    if imp_images::embedded_image_start(&f, size).is_some() {
        return Embedded::Image(exe);
    }
    match imp_images::bytes_after_program(&f, size) {
        Some(extra) if extra > 0 => Embedded::Damaged(format!(
            "{}: this program was built with an image, and the image is damaged \
             ({extra} bytes follow the program but end in no valid image trailer: \
             the file was truncated, appended to or overwritten); it will not run without it",
            exe.display()
        )),
        _ => Embedded::None,
    }
}

/// Start from the image at `image`; `args` are the program's command line.
///
/// The runtime checks what it follows at load and never reads a byte of
/// the image that failed its checksum, but it trusts the objects a program
/// reaches: an image made up with right checksums can still describe a
/// heap this imp would never make. If running one panics, the image gets
/// `--check-image`'s full check, and a refusal is the error reported
/// instead of the panic; a panic on an image that passes it is a bug, and
/// is reported as one.
fn start_image(image: &Path, args: &[OsString]) -> Result<ExitCode, Error> {
    let panicked = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let previous = std::panic::take_hook();
    let seen = panicked.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut s) = seen.lock() {
            s.get_or_insert_with(|| info.to_string());
        }
    }));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_image(image, args)));
    std::panic::set_hook(previous);
    match run {
        Ok(r) => r,
        Err(_) => {
            if let Err(m) = imp::image::check(image) {
                eprintln!("imp: {m}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
            let what = panicked.lock().ok().and_then(|mut s| s.take());
            eprintln!(
                "imp: internal error running {}: {}",
                image.display(),
                what.unwrap_or_else(|| "a panic".into())
            );
            Ok(ExitCode::from(101))
        }
    }
}

/// Start from the image at `image` and run its toplevel (or the REPL).
fn run_image(image: &Path, args: &[OsString]) -> Result<ExitCode, Error> {
    let (mut rt, top) = match Runtime::from_image(image) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("imp: {e}");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    stress_if_asked(&mut rt);
    rt.set_command_line(&command_line(args))?;
    match top {
        Some(f) => match rt.call(&f, &[]) {
            Ok(_) => {
                rt.flush();
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&mut rt, e)),
        },
        None => Ok(repl_with(rt)),
    }
}

/// The image of a fresh runtime, written by build.rs.
static BOOT_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/boot.img"));

/// A fresh runtime: mapped from the embedded boot image (about a
/// millisecond), or booted from source if that image is refused.
fn fresh_runtime() -> Result<Runtime, Error> {
    let mut rt = match Runtime::from_image_bytes(BOOT_IMAGE) {
        Ok((rt, _)) => rt,
        Err(_) => Runtime::new()?,
    };
    stress_if_asked(&mut rt);
    Ok(rt)
}

/// `IMP_GC_STRESS=1`: the collector collects at every allocation and
/// verifies the heap after each collection (for testing imp itself).
fn stress_if_asked(rt: &mut Runtime) {
    if std::env::var_os("IMP_GC_STRESS").is_some_and(|v| v == "1") {
        rt.set_gc_stress(true);
    }
}

/// A runtime could not be made at all.
fn fatal(e: Error) -> ExitCode {
    eprintln!("imp: {e}");
    ExitCode::from(EXIT_ERROR)
}

/// Print an error the way a user reads it; the exit status it implies.
fn report(rt: &mut Runtime, e: Error) -> ExitCode {
    rt.flush();
    match e {
        Error::Exit(code) => ExitCode::from(code as u8),
        // As when the image is refused at the start.
        e @ Error::Image(_) => fatal(e),
        e => {
            eprintln!("{e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The REPL over a fresh runtime.
fn repl() -> ExitCode {
    let mut rt = match fresh_runtime() {
        Ok(rt) => rt,
        Err(e) => return fatal(e),
    };
    if let Err(e) = rt.set_command_line(&["imp".to_string()]) {
        return report(&mut rt, e);
    }
    repl_with(rt)
}

/// The REPL over an existing runtime (a fresh one, or one from an image).
/// On a terminal: the line editor, prompts, Ctrl-C stops an evaluation.
/// Otherwise (a pipe or a file): no prompts or escape codes, one result per
/// line, and the exit status says whether an entry failed.
fn repl_with(mut rt: Runtime) -> ExitCode {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        let (term, out, err) = match terminal::Terminal::new(terminal::history_path()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("imp: cannot start the line editor: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let set = rt.set_line_source(Box::new(term)).and_then(|()| {
            rt.set_output(Box::new(out));
            rt.set_error_output(Box::new(err));
            rt.catch_sigint()
        });
        if let Err(e) = set {
            return fatal(e);
        }
        println!(
            "imp {} (R7RS Scheme). ,help lists the commands; Ctrl-D leaves.",
            env!("CARGO_PKG_VERSION")
        );
    }
    match rt.run_repl() {
        Ok(all_well) => {
            if interactive {
                println!();
                ExitCode::SUCCESS
            } else if all_well {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_ERROR)
            }
        }
        Err(e) => report(&mut rt, e),
    }
}
