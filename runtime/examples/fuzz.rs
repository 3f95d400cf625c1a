//! The long fuzz run: generated programs through the `imp` binary (as
//! files and piped), and every built-in called with awkward arguments in
//! this process. Prints counts of each outcome; any panic, signal death or
//! hang is listed with the input that caused it (written to `--keep DIR`).
//!
//!     cargo build --release -p imp-repl
//!     cargo run --release -p imp --example fuzz -- --imp target/release/imp \
//!         --seed 1 --programs 10000 --calls 20000 --keep /tmp/imp-fuzz
//!
//! The test suite runs the same generators (`imp::fuzzing`) briefly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imp::fuzzing::{self, Outcome, Rng};

/// How long a program may run before it counts as hung (its own loops are
/// bounded by the budget the sandbox gives it, so this is generous).
const PROGRAM_LIMIT: Duration = Duration::from_secs(20);

struct Args {
    imp: Option<PathBuf>,
    seed: u64,
    programs: usize,
    calls: usize,
    keep: Option<PathBuf>,
    replay: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        imp: None,
        seed: 1,
        programs: 1000,
        calls: 5000,
        keep: None,
        replay: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--imp" => a.imp = Some(PathBuf::from(v)),
            "--seed" => a.seed = v.parse().unwrap_or(1),
            "--programs" => a.programs = v.parse().unwrap_or(0),
            "--calls" => a.calls = v.parse().unwrap_or(0),
            "--keep" => a.keep = Some(PathBuf::from(v)),
            "--replay" => a.replay = Some(PathBuf::from(v)),
            _ => {
                eprintln!("unknown option {k}");
                std::process::exit(64);
            }
        }
    }
    a
}

fn main() {
    let a = args();
    if let Some(file) = &a.replay {
        // Each line a call, in one runtime, as `builtins` made them.
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut rt = fuzzing::sandbox().expect("runtime");
        let h = rt.interrupt_handle();
        let tick = Arc::new(AtomicU64::new(0));
        let seen = tick.clone();
        // As the run's watchdog: every 200 ms once a line has run 5 s.
        std::thread::spawn(move || {
            let (mut last, mut since) = (u64::MAX, Instant::now());
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let now = seen.load(Ordering::SeqCst);
                if now != last {
                    last = now;
                    since = Instant::now();
                } else if since.elapsed() > Duration::from_secs(5) {
                    h.interrupt();
                }
            }
        });
        for line in text.lines() {
            tick.fetch_add(1, Ordering::SeqCst);
            let t = Instant::now();
            eprint!("{line}");
            let o = fuzzing::run(&mut rt, line);
            eprintln!("  => {o:?} in {:.3} s", t.elapsed().as_secs_f64());
        }
        return;
    }
    let keep = a
        .keep
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("imp-fuzz-{}", std::process::id())));
    std::fs::create_dir_all(&keep).expect("keep directory");
    println!(
        "seed {}, keeping inputs of findings in {}",
        a.seed,
        keep.display()
    );
    if let Some(imp) = &a.imp {
        let imp = std::fs::canonicalize(imp).unwrap_or_else(|_| imp.clone());
        programs(&imp, a.seed, a.programs, &keep);
    }
    if a.calls > 0 {
        builtins(a.seed, a.calls, &keep);
    }
}

/// Generated programs through the binary: random bytes, token soup and
/// random built-in calls, each run as a file and piped to a REPL.
fn programs(imp: &Path, seed: u64, n: usize, keep: &Path) {
    let mut rng = Rng::new(seed);
    let names = {
        let mut rt = fuzzing::sandbox().expect("runtime");
        fuzzing::procedure_names(&mut rt)
    };
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let dir = std::env::temp_dir().join(format!("imp-fuzz-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let t0 = Instant::now();
    for i in 0..n {
        let src: Vec<u8> = match i % 3 {
            0 => fuzzing::random_bytes(&mut rng, 200),
            1 => {
                let n = 1 + rng.below(60);
                fuzzing::token_soup(&mut rng, n).into_bytes()
            }
            _ => {
                let mut s = String::new();
                for _ in 0..1 + rng.below(8) {
                    let name = rng.pick(&names).clone();
                    s.push_str("(guard (e (#t #f)) ");
                    s.push_str(&fuzzing::builtin_call(&mut rng, &name));
                    s.push_str(")\n");
                }
                s.into_bytes()
            }
        };
        let file = dir.join("p.scm");
        std::fs::write(&file, &src).expect("write");
        for piped in [false, true] {
            let outcome = run_imp(imp, &dir, &file, piped, &src);
            *counts.entry(outcome.clone()).or_default() += 1;
            if outcome.starts_with("PANIC") || outcome.starts_with("SIGNAL") || outcome == "HANG" {
                let name = keep.join(format!(
                    "program-{seed}-{i}-{}.scm",
                    if piped { "piped" } else { "file" }
                ));
                let _ = std::fs::write(&name, &src);
                println!("{outcome}: {}", name.display());
            }
        }
    }
    println!(
        "{} programs, each as a file and piped, in {:.1} s:",
        n,
        t0.elapsed().as_secs_f64()
    );
    for (k, v) in &counts {
        println!("  {k:<12} {v}");
    }
}

/// Run one program; its outcome as a word.
fn run_imp(imp: &Path, dir: &Path, file: &Path, piped: bool, src: &[u8]) -> String {
    let mut cmd = Command::new(imp);
    cmd.current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if piped {
        cmd.stdin(Stdio::piped());
    } else {
        cmd.arg(file).stdin(Stdio::null());
    }
    let Ok(mut child) = cmd.spawn() else {
        return "SPAWN-FAILED".into();
    };
    if piped && let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(src);
    }
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                use std::os::unix::process::ExitStatusExt;
                return match (st.code(), st.signal()) {
                    (_, Some(sig)) => format!("SIGNAL {sig}"),
                    (Some(101), _) => "PANIC".into(),
                    (_, _) if err.contains("panicked") => "PANIC".into(),
                    (Some(c), _) => format!("exit {c}"),
                    _ => "?".into(),
                };
            }
            Ok(None) if t0.elapsed() > PROGRAM_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return "HANG".into();
            }
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Every built-in with random arguments, in this process: a panic is
/// caught and reported, and a call still running after its limit is
/// interrupted (and, if it does not stop, reported as a hang).
fn builtins(seed: u64, calls: usize, keep: &Path) {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut rt = fuzzing::sandbox().expect("runtime");
    let names = fuzzing::procedure_names(&mut rt);
    let started = Arc::new(AtomicU64::new(0));
    let current = Arc::new(Mutex::new(String::new()));
    let handle = Arc::new(Mutex::new(rt.interrupt_handle()));
    let epoch = Instant::now();
    {
        // The watchdog: interrupts a call after 5 s; reports a hang after 60.
        let (started, current, handle) = (started.clone(), current.clone(), handle.clone());
        let keep_dir = keep.to_path_buf();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let s = started.load(Ordering::SeqCst);
                if s == 0 {
                    continue;
                }
                let running = (epoch.elapsed().as_millis() as u64).saturating_sub(s);
                if running > 5_000
                    && let Ok(h) = handle.lock()
                {
                    h.interrupt();
                }
                // The sandbox's heap limit is 256 MB: memory far past it
                // means something allocated outside the heap's account.
                let rss_pages = std::fs::read_to_string("/proc/self/statm")
                    .ok()
                    .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .unwrap_or(0);
                if rss_pages * 4096 > 3 << 30 {
                    let src = current.lock().map(|c| c.clone()).unwrap_or_default();
                    let _ = std::fs::write(keep_dir.join("memory.scm"), &src);
                    println!(
                        "MEMORY ({} MB): the calls are in memory.scm; the last:\n{}",
                        (rss_pages * 4096) >> 20,
                        src.lines().last().unwrap_or("")
                    );
                    std::process::exit(1);
                }
                if running > 60_000 {
                    let src = current.lock().map(|c| c.clone()).unwrap_or_default();
                    let _ = std::fs::write(keep_dir.join("hang.scm"), &src);
                    println!(
                        "HANG: the calls since the last fresh runtime are in hang.scm:\n{}",
                        src.lines().last().unwrap_or("")
                    );
                    std::process::exit(1);
                }
            }
        });
    }
    {
        let t0 = Instant::now();
        let mut panics = 0;
        let mut slow = 0;
        for i in 0..calls {
            let name = names[i % names.len()].clone();
            let src = fuzzing::builtin_call(&mut rng, &name);
            if let Ok(mut c) = current.lock() {
                // The calls so far in this runtime: a hang may come from
                // threads an earlier call started.
                c.push_str(&src);
                c.push('\n');
            }
            let t = Instant::now();
            started.store(epoch.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
            let outcome = fuzzing::run(&mut rt, &src);
            started.store(0, Ordering::SeqCst);
            if t.elapsed() > Duration::from_secs(5) {
                slow += 1;
                println!("SLOW ({:.1} s): {src}", t.elapsed().as_secs_f64());
            }
            if let Outcome::Panic(m) = outcome {
                panics += 1;
                let _ = std::fs::write(keep.join(format!("call-{seed}-{i}.scm")), &src);
                println!("PANIC: {src}\n  {m}");
                rt = fuzzing::sandbox().expect("runtime");
                if let Ok(mut h) = handle.lock() {
                    *h = rt.interrupt_handle();
                }
                if let Ok(mut c) = current.lock() {
                    c.clear();
                }
            }
        }
        println!(
            "{calls} calls of {} procedures in {:.1} s: {panics} panics, {slow} over 5 s",
            names.len(),
            t0.elapsed().as_secs_f64()
        );
    }
}
