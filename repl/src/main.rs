//! The `imp` binary: runs programs, evaluates expressions, and the REPL.
#![forbid(unsafe_code)]

use std::io::{BufRead, IsTerminal};

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
";

/// Exit status for an uncaught error (EX_SOFTWARE).
const EXIT_ERROR: u8 = 70;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // An executable image: this binary with an image appended runs it,
    // passing every argument to the program.
    if let Some(exe) = embedded_image() {
        return match start_image(&exe, &args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("imp: {e:#}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    match run(&args[1..]) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imp: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some("-V" | "--version") => {
            println!("imp {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        Some("-e" | "--eval") => {
            let Some(expr) = args.get(1) else {
                anyhow::bail!("-e needs an expression\n{USAGE}");
            };
            let mut rt = fresh_runtime()?;
            rt.set_command_line(&["imp".to_string()])?;
            match rt.eval_named(expr, "<command line>") {
                Ok(v) => {
                    for line in rt.write_values(&v) {
                        if !v.is_unspecified(&rt) {
                            println!("{line}");
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(&mut rt, e)),
            }
        }
        Some("--image") => {
            let Some(image) = args.get(1) else {
                anyhow::bail!("--image needs an image file\n{USAGE}");
            };
            start_image(std::path::Path::new(image), &args[1..])
        }
        Some(flag @ ("--image-info" | "--check-image")) => {
            let Some(image) = args.get(1) else {
                anyhow::bail!("{flag} needs an image file\n{USAGE}");
            };
            let path = std::path::Path::new(image);
            let r = if flag == "--image-info" {
                imp::image::describe(path)
            } else {
                imp::image::check(path)
            };
            match r {
                Ok(text) => {
                    print!("{text}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("imp: {e}");
                    Ok(ExitCode::from(EXIT_ERROR))
                }
            }
        }
        Some(flag) if flag.starts_with('-') && flag != "-" => {
            anyhow::bail!("unknown option `{flag}`\n{USAGE}");
        }
        Some(file) => {
            let mut rt = fresh_runtime()?;
            rt.set_command_line(args)?;
            let r = if file == "-" {
                let mut src = String::new();
                std::io::stdin().lock().read_line(&mut src).ok();
                let mut rest = String::new();
                for line in std::io::stdin().lock().lines() {
                    rest.push_str(&line.unwrap_or_default());
                    rest.push('\n');
                }
                src.push_str(&rest);
                rt.eval_named(&src, "<stdin>").map(|_| ())
            } else {
                rt.run_program(file)
            };
            match r {
                Ok(_) => {
                    rt.flush();
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report(&mut rt, e)),
            }
        }
        None => repl(),
    }
}

/// This executable's path if an image is appended to it.
fn embedded_image() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let f = std::fs::File::open(&exe).ok()?;
    let size = f.metadata().ok()?.len();
    imp_images::embedded_image_start(&f, size).map(|_| exe)
}

/// Start from the image at `image`; `args` are the program's command line.
fn start_image(image: &std::path::Path, args: &[String]) -> anyhow::Result<ExitCode> {
    let (mut rt, top) = match Runtime::from_image(image) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("imp: {e}");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    rt.set_command_line(args)?;
    match top {
        Some(f) => match rt.call(&f, &[]) {
            Ok(_) => {
                rt.flush();
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(&mut rt, e)),
        },
        None => repl_with(rt),
    }
}

/// Print an error the way a user reads it; the exit status it implies.
/// The image of a fresh runtime, written by build.rs.
static BOOT_IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/boot.img"));

/// A fresh runtime: mapped from the embedded boot image (about a
/// millisecond), or booted from source if that image is refused.
fn fresh_runtime() -> Result<Runtime, Error> {
    match Runtime::from_image_bytes(BOOT_IMAGE) {
        Ok((rt, _)) => Ok(rt),
        Err(_) => Runtime::new(),
    }
}

fn report(rt: &mut Runtime, e: Error) -> ExitCode {
    rt.flush();
    match e {
        Error::Exit(code) => ExitCode::from(code as u8),
        e => {
            eprintln!("{e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The REPL over a fresh runtime.
fn repl() -> anyhow::Result<ExitCode> {
    let mut rt = fresh_runtime()?;
    rt.set_command_line(&["imp".to_string()])?;
    repl_with(rt)
}

/// The REPL over an existing runtime (a fresh one, or one from an image).
/// On a terminal: the line editor, prompts, Ctrl-C stops an evaluation.
/// Otherwise (a pipe or a file): no prompts or escape codes, one result per
/// line, and the exit status says whether an entry failed.
fn repl_with(mut rt: Runtime) -> anyhow::Result<ExitCode> {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        let (term, printer) = terminal::Terminal::new(terminal::history_path())
            .map_err(|e| anyhow::anyhow!("cannot start the line editor: {e}"))?;
        rt.set_line_source(Box::new(term))?;
        rt.set_output(Box::new(terminal::ConsoleOut::new(printer)));
        rt.catch_sigint()?;
        println!(
            "imp {} (R7RS Scheme). ,help lists the commands; Ctrl-D leaves.",
            env!("CARGO_PKG_VERSION")
        );
    }
    match rt.run_repl() {
        Ok(all_well) => {
            if interactive {
                println!();
                Ok(ExitCode::SUCCESS)
            } else if all_well {
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(EXIT_ERROR))
            }
        }
        Err(e) => Ok(report(&mut rt, e)),
    }
}
