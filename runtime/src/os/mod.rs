//! The runtime's dealings with the operating system that must not stop
//! the scheduler: helper OS threads, the wake pipe, descriptors the
//! scheduler polls, and the fork registry.
//!
//! **Invariant (helpers):** helper OS threads never touch the heap and
//! never print. They do one blocking thing (read a line of standard input,
//! wait for a child process), send the result as plain Rust data through
//! a crossbeam channel, and write a byte to the wake pipe so that a
//! scheduler sleeping in `poll` wakes up. Diagnostics go into a queue the
//! initial thread drains.
//!
//! **Invariant (fork registry):** every lock a helper can hold is created
//! by [`ForkRegistry`] and taken, in registration order, by
//! [`ForkRegistry::prepare`] just before `fork`; the guards are dropped in
//! parent and child just after. Crossbeam's unbounded channels are
//! lock-free, so they need no registration.

mod fd;
mod net;
mod process;
mod registry;

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, unbounded};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};

pub use fd::{FdKind, FdPort, Poller, READ_SLICE, ReadOutcome, WRITE_SLICE, failure_cause};
pub use net::{Family, Progress};
pub use process::{Child, Spawn, Stdio3};
pub use registry::{ForkGuards, ForkRegistry};

/// directory", without Rust's "(os error 2)".
pub fn io_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    }
}

// ---- the machine's memory ----------------------------------------------------------

/// Bytes of memory this process may really use: the least of the
/// machine's physical memory and its control group's limit (cgroup v2
/// `memory.max` of its own group, or v1 `memory.limit_in_bytes`).
/// `u64::MAX` if none is known.
pub fn memory_available() -> u64 {
    let mut m = u64::MAX;
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    if let Some(kb) = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        m = m.min(kb.saturating_mul(1024));
    }
    for limit in cgroup_limits() {
        m = m.min(limit);
    }
    m
}

/// The memory limits of this process's control groups, where readable.
fn cgroup_limits() -> Vec<u64> {
    let mut out = Vec::new();
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    let groups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in groups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let path = path.trim_end_matches('/');
        if ctl.is_empty() {
            // v2: the group's limit, or the root's as seen from a container.
            for p in [
                format!("/sys/fs/cgroup{path}/memory.max"),
                "/sys/fs/cgroup/memory.max".to_string(),
            ] {
                if let Some(v) = read(&p) {
                    out.push(v);
                    break;
                }
            }
        } else if ctl.split(',').any(|c| c == "memory") {
            for p in [
                format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"),
                "/sys/fs/cgroup/memory/memory.limit_in_bytes".to_string(),
            ] {
                if let Some(v) = read(&p) {
                    out.push(v);
                    break;
                }
            }
        }
    }
    out
}

// ---- helper results --------------------------------------------------------------

/// Why a line of standard input could not be had.
#[derive(Clone, Debug)]
pub struct StdinError {
    /// What went wrong.
    pub message: String,
    /// The line was read but is not UTF-8 (it is consumed; the next line
    /// can be read). Otherwise the input itself failed.
    pub decoding: bool,
}

/// A line of standard input (with its newline), `None` at end of file.
pub type StdinItem = Result<Option<String>, StdinError>;

/// What a helper thread sends back.
#[derive(Debug)]
pub enum Completion {
    /// A line of standard input.
    StdinLine(StdinItem),
    /// A child process ended with this status (or could not run).
    Process {
        /// The job number `Os::start_process` returned.
        job: u64,
        /// Exit code (128 + signal if killed), or why it did not run.
        status: Result<i64, String>,
        /// What the job reported besides its status, as `name value`
        /// pairs (a save child's figures); empty for a plain process.
        report: Vec<(String, i64)>,
    },
    /// A host name was resolved (`Os::start_resolve`).
    Resolved {
        /// The job number.
        job: u64,
        /// The addresses, or why there are none.
        result: Result<Vec<std::net::SocketAddr>, String>,
    },
}

/// Counters helpers update under a registered lock.
#[derive(Debug, Default, Clone)]
pub struct HelperStats {
    /// Jobs helpers have started.
    pub started: u64,
    /// Jobs helpers have finished.
    pub finished: u64,
}

/// Readiness a waiting thread asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable.
    Read = 0,
    /// Writable.
    Write = 1,
}

/// The runtime's OS side (one per `Vm`).
///
/// Ports name descriptors by *key*, never by descriptor number: a key is
/// given once and never again, so a port whose descriptor was closed (or
/// left behind in a forked child) can never reach a descriptor that
/// reused its number.
pub struct Os {
    wake_r: OwnedFd,
    wake_w: Arc<OwnedFd>,
    done_tx: Sender<Completion>,
    done_rx: Receiver<Completion>,
    fds: HashMap<i32, FdPort>,
    /// The epoll instance the event loop waits in.
    poller: Poller,
    /// The buffer `read_with` reads into.
    scratch: Vec<u8>,
    /// The next port key.
    next_key: i32,
    /// Keys below this were given by the parent of a forked child: their
    /// descriptors were closed at the fork.
    inherited_below: i32,
    stdin_req: Option<Sender<LineRequest>>,
    /// What reads standard input's lines (a line editor); `None`: the
    /// descriptor itself. Moved to the helper when it starts.
    line_source: Option<Box<dyn LineSource>>,
    /// The prompt and completions for the next line requested.
    pub next_request: LineRequest,
    /// The symbol count when completions were last sent.
    pub completions_for: usize,
    /// Set by the SIGINT handler (when interrupts are enabled).
    pub sigint: Arc<std::sync::atomic::AtomicBool>,
    /// SIGINT is caught (so the scheduler never sleeps without polling
    /// the wake pipe).
    pub catching_sigint: bool,
    /// A stdin line has been requested and not yet delivered.
    pub stdin_pending: bool,
    /// Stdin lines delivered and not yet taken by a port (`None`: eof).
    pub stdin_lines: VecDeque<StdinItem>,
    /// Process jobs started and not yet delivered.
    jobs: std::collections::BTreeSet<u64>,
    next_job: u64,
    /// Every lock helpers can hold.
    pub registry: ForkRegistry,
    /// This process's session: ports record it, and a port from another
    /// session (a saved image's previous life) is a stale handle.
    pub session: i64,
    /// In a save child: I/O on inherited descriptors is refused.
    pub fenced: bool,
    /// Jobs below this were started by the parent of a forked child.
    inherited_jobs_below: u64,
    /// Resolutions delivered and not yet taken, by job.
    resolved: HashMap<u64, Result<Vec<std::net::SocketAddr>, String>>,
    diagnostics: Arc<Mutex<Vec<String>>>,
    stats: Arc<Mutex<HelperStats>>,
}

/// A session number unlikely to repeat: the pid and the clock, mixed.
fn new_session() -> i64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut h = t ^ ((std::process::id() as u64) << 40);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 4) as i64
}

/// A pipe whose ends are non-blocking and closed on `exec`, so that a
/// program `process-run` starts never holds one open.
fn nonblocking_pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)
}

/// Wakes a scheduler asleep in `poll` (from any thread).
#[derive(Clone, Debug)]
pub struct Waker(Arc<OwnedFd>);

impl Waker {
    /// Write a wake-up.
    pub fn wake(&self) {
        wake(&self.0);
    }
}

fn wake(w: &OwnedFd) {
    // A full wake pipe already holds a wake-up: EAGAIN is fine.
    let _ = nix::unistd::write(w, &[1]);
}

impl Os {
    /// The OS side: a non-blocking wake pipe, the completion channel and
    /// the registered locks.
    pub fn new() -> Result<Os, String> {
        let (r, w) = nonblocking_pipe().map_err(|e| format!("cannot make the wake pipe: {e}"))?;
        let (done_tx, done_rx) = unbounded();
        let mut registry = ForkRegistry::default();
        let diagnostics = registry.register("helper diagnostics", Vec::new());
        let stats = registry.register("helper statistics", HelperStats::default());
        let poller = Poller::new(&r)?;
        Ok(Os {
            wake_r: r,
            wake_w: Arc::new(w),
            done_tx,
            done_rx,
            fds: HashMap::new(),
            poller,
            scratch: Vec::new(),
            next_key: 1,
            inherited_below: 0,
            stdin_req: None,
            line_source: None,
            next_request: LineRequest::default(),
            completions_for: usize::MAX,
            sigint: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            catching_sigint: false,
            stdin_pending: false,
            stdin_lines: VecDeque::new(),
            jobs: Default::default(),
            next_job: 0,
            registry,
            session: new_session(),
            fenced: false,
            resolved: HashMap::new(),
            inherited_jobs_below: 0,
            diagnostics,
            stats,
        })
    }

    /// Diagnostics helpers left since the last call.
    pub fn take_diagnostics(&self) -> Vec<String> {
        std::mem::take(&mut *self.diagnostics.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The registered locks helpers use (for tests that exercise them).
    #[doc(hidden)]
    pub fn lock_handles(&self) -> (Arc<Mutex<Vec<String>>>, Arc<Mutex<HelperStats>>) {
        (self.diagnostics.clone(), self.stats.clone())
    }

    /// A copy of the helpers' counters.
    pub fn helper_stats(&self) -> HelperStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Is anything outside the VM going to wake a thread?
    pub fn busy(&self) -> bool {
        self.stdin_pending || !self.jobs.is_empty()
    }

    /// In a forked child, which has only the thread that called `fork`:
    /// drop everything of the parent's OS side that the child must not
    /// use. The child gets its own wake pipe and completion channel (so it
    /// can never take the parent's wake-ups), forgets the stdin reader, and
    /// closes every descriptor the parent's ports own (a pipe's write end
    /// held here would keep the parent's reader from its end of file);
    /// those ports now refuse I/O. Jobs whose helpers stayed in the parent
    /// complete at once with an error.
    ///
    /// # Errors
    /// If the new wake pipe cannot be made.
    pub fn reset_after_fork(&mut self) -> Result<(), String> {
        let (r, w) = nonblocking_pipe().map_err(|e| format!("cannot make the wake pipe: {e}"))?;
        // The parent's read end is closed here: only the parent reads it.
        // Its write end may still be shared with the (vanished) helpers'
        // reporters; they never run again.
        self.wake_r = r;
        self.wake_w = Arc::new(w);
        // Its own epoll instance: one shared with the parent would hand
        // the parent's events to whichever process waits first.
        self.new_poller()?;
        let (tx, rx) = unbounded();
        self.done_tx = tx;
        self.done_rx = rx;
        self.stdin_req = None;
        self.stdin_pending = false;
        self.line_source = None;
        self.fds.clear();
        self.inherited_below = self.next_key;
        self.inherited_jobs_below = self.next_job;
        for job in std::mem::take(&mut self.jobs) {
            self.jobs.insert(job);
            let _ = self.done_tx.send(Completion::Process {
                job,
                status: Err("its helper thread stayed in the parent process at a fork".into()),
                report: Vec::new(),
            });
        }
        wake(&self.wake_w);
        Ok(())
    }

    /// What wakes the scheduler from another thread (the host's interrupt
    /// handle): a byte on the wake pipe.
    pub fn waker(&self) -> Waker {
        Waker(self.wake_w.clone())
    }

    /// The wake pipe's read end (for tests that check a forked child
    /// has its own).
    #[doc(hidden)]
    pub fn wake_fd(&self) -> i32 {
        self.wake_r.as_raw_fd()
    }

    /// Was port key `key` given by the parent of this (forked) process?
    pub fn is_inherited(&self, key: i32) -> bool {
        key < self.inherited_below
    }

    /// A handle for helpers: how they report.
    fn reporter(&self) -> Reporter {
        Reporter {
            tx: self.done_tx.clone(),
            wake: self.wake_w.clone(),
            diagnostics: self.diagnostics.clone(),
            stats: self.stats.clone(),
        }
    }

    // ---- standard input ------------------------------------------------------------

    /// Ask the stdin helper for a line (starting it the first time), with
    /// `next_request`'s prompt and completions.
    pub fn request_stdin_line(&mut self) -> Result<(), String> {
        if self.stdin_pending {
            return Ok(());
        }
        if self.stdin_req.is_none() {
            let (tx, rx) = unbounded::<LineRequest>();
            let rep = self.reporter();
            let source = self.line_source.take();
            std::thread::Builder::new()
                .name("imp-stdin".into())
                .spawn(move || stdin_helper(rx, rep, source))
                .map_err(|e| format!("cannot start the stdin reader: {e}"))?;
            self.stdin_req = Some(tx);
        }
        let req = std::mem::take(&mut self.next_request);
        if let Some(tx) = &self.stdin_req {
            tx.send(req)
                .map_err(|_| "the stdin reader has stopped".to_string())?;
        }
        self.stdin_pending = true;
        Ok(())
    }

    /// Read standard input through `source` (a line editor) from now on.
    /// Only before the first line is read.
    pub fn set_line_source(&mut self, source: Box<dyn LineSource>) -> Result<(), String> {
        if self.stdin_req.is_some() {
            return Err("standard input is already being read".into());
        }
        self.line_source = Some(source);
        Ok(())
    }

    /// Turn SIGINT into a flag (`sigint`) and a wake-up, instead of the end
    /// of the process: the scheduler interrupts the thread the program
    /// named (`%sigint-target`).
    pub fn catch_sigint(&mut self) -> Result<(), String> {
        use signal_hook::consts::SIGINT;
        signal_hook::flag::register(SIGINT, self.sigint.clone())
            .map_err(|e| format!("cannot catch SIGINT: {e}"))?;
        let w = self
            .wake_w
            .try_clone()
            .map_err(|e| format!("cannot catch SIGINT: {e}"))?;
        signal_hook::low_level::pipe::register(SIGINT, w)
            .map_err(|e| format!("cannot catch SIGINT: {e}"))?;
        self.catching_sigint = true;
        Ok(())
    }

    // ---- processes -----------------------------------------------------------------

    /// Start `cmd args` with inherited stdio on a helper that waits for it.
    pub fn start_process(&mut self, cmd: String, args: Vec<String>) -> u64 {
        self.start_job("imp-process", move || {
            let status = match std::process::Command::new(&cmd).args(&args).status() {
                Ok(st) => Ok(exit_code(st)),
                Err(e) => Err(format!("cannot run `{cmd}`: {e}")),
            };
            (status, Vec::new())
        })
    }

    /// Run `work` on a helper thread named `name` as a new job; what it
    /// returns completes the job. If no thread can be started, the job
    /// completes at once with that error.
    fn start_job<F>(&mut self, name: &str, work: F) -> u64
    where
        F: FnOnce() -> (Result<i64, String>, Vec<(String, i64)>) + Send + 'static,
    {
        self.spawn_job(name, move |job| {
            let (status, report) = work();
            Completion::Process {
                job,
                status,
                report,
            }
        })
    }

    /// Run `work` on a helper thread named `name` as a new job: it is given
    /// the job number and returns the completion to send. If no thread
    /// can be started, the job completes at once with that error.
    pub(crate) fn spawn_job<F>(&mut self, name: &str, work: F) -> u64
    where
        F: FnOnce(u64) -> Completion + Send + 'static,
    {
        let job = self.next_job;
        self.next_job += 1;
        self.jobs.insert(job);
        let rep = self.reporter();
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                rep.count(|s| s.started += 1);
                let c = work(job);
                rep.count(|s| s.finished += 1);
                rep.send(c);
            });
        if let Err(e) = spawned {
            let _ = self.done_tx.send(Completion::Process {
                job,
                status: Err(format!("cannot start a helper thread: {e}")),
                report: Vec::new(),
            });
            wake(&self.wake_w);
        }
        job
    }

    /// Watch a save child: wait for it (killing it after `timeout`), read
    /// its result from `result` (the read end of its pipe), then drop
    /// `keep` (the temporary file, removed unless the child renamed it).
    /// Completes a job whose status is 0 and whose report is the child's
    /// `report` line, or with the child's error text.
    pub fn watch_save_child<K: Send + 'static>(
        &mut self,
        pid: nix::unistd::Pid,
        result: OwnedFd,
        timeout: std::time::Duration,
        keep: K,
    ) -> u64 {
        self.start_job("imp-save-watch", move || {
            let r = supervise_save_child(pid, &result, timeout);
            drop(keep);
            r
        })
    }

    /// Block until the next completion (used where the scheduler cannot
    /// switch threads), at most `timeout_ms` milliseconds if given
    /// (`None` back then).
    pub fn wait_completion(
        &mut self,
        timeout_ms: Option<i32>,
    ) -> Result<Option<Completion>, String> {
        let c = match timeout_ms {
            None => self
                .done_rx
                .recv()
                .map_err(|_| "helper threads have stopped".to_string())?,
            Some(ms) => match self
                .done_rx
                .recv_timeout(std::time::Duration::from_millis(ms.max(0) as u64))
            {
                Ok(c) => c,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => return Ok(None),
                Err(_) => return Err("helper threads have stopped".to_string()),
            },
        };
        self.note_delivered(&c);
        Ok(Some(c))
    }

    /// A completion taken from the channel: its work is no longer pending.
    fn note_delivered(&mut self, c: &Completion) {
        match c {
            Completion::StdinLine(_) => self.stdin_pending = false,
            Completion::Process { job, .. } | Completion::Resolved { job, .. } => {
                self.jobs.remove(job);
            }
        }
    }
}

/// Wait for a save child (see `Os::watch_save_child`), killing it once
/// `timeout` has passed, and read what it reported on `result`.
fn supervise_save_child(
    pid: nix::unistd::Pid,
    result: &OwnedFd,
    timeout: std::time::Duration,
) -> (Result<i64, String>, Vec<(String, i64)>) {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let deadline = std::time::Instant::now() + timeout;
    let mut log = String::new();
    let mut buf = [0u8; 4096];
    let mut read_more = |log: &mut String| {
        while let Ok(n) = nix::unistd::read(result.as_raw_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            log.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    let status = loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(WaitStatus::Exited(_, code)) => {
                read_more(&mut log);
                let last = log.lines().last().unwrap_or("");
                break if code == 0 && last == "done" {
                    Ok(0)
                } else if let Some(m) = last.strip_prefix("error: ") {
                    Err(m.to_string())
                } else {
                    Err(format!(
                        "the save process exited with status {code} during {}",
                        phase_name(&log)
                    ))
                };
            }
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                read_more(&mut log);
                break Err(format!(
                    "the save process died of {sig:?} during {} (killed for lack of memory?)",
                    phase_name(&log)
                ));
            }
            Ok(_) => {}
            Err(e) => break Err(format!("cannot wait for the save process: {e}")),
        }
        read_more(&mut log);
        if std::time::Instant::now() >= deadline {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
            break Err(format!(
                "the save timed out after {:.1} s during {}; the save process was killed",
                timeout.as_secs_f64(),
                phase_name(&log)
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    (status, parse_save_report(&log))
}

/// The `name value` pairs of a save child's `report` line.
fn parse_save_report(log: &str) -> Vec<(String, i64)> {
    let Some(line) = log.lines().find_map(|l| l.strip_prefix("report ")) else {
        return Vec::new();
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .chunks_exact(2)
        .filter_map(|kv| Some((kv[0].to_string(), kv[1].parse().ok()?)))
        .collect()
}

/// The last phase a save child reported (one line per phase).
fn phase_name(log: &str) -> String {
    match log
        .lines()
        .rfind(|l| !l.is_empty() && !l.starts_with("report "))
    {
        Some(p) => format!("the `{p}` phase"),
        None => "its start".to_string(),
    }
}

/// An exit status as a shell reports it: the code, or 128 + the signal.
fn exit_code(st: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => c as i64,
        (None, Some(s)) => 128 + s as i64,
        _ => -1,
    }
}

/// How a helper reports back.
struct Reporter {
    tx: Sender<Completion>,
    wake: Arc<OwnedFd>,
    diagnostics: Arc<Mutex<Vec<String>>>,
    stats: Arc<Mutex<HelperStats>>,
}

impl Reporter {
    fn send(&self, c: Completion) {
        if self.tx.send(c).is_ok() {
            wake(&self.wake);
        }
    }

    fn count(&self, f: impl FnOnce(&mut HelperStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn diagnose(&self, text: String) {
        self.diagnostics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(text);
    }
}

/// Reads one line of standard input per request. It reads descriptor 0
/// directly (not through `std::io::stdin`, whose lock it would hold while
/// blocked, and which a forked child could then never take).
/// What a reader of standard input is asked for.
///
/// ```
/// let req = imp::LineRequest { prompt: "> ".into(), completions: None };
/// assert_eq!(req.prompt, "> ");
/// ```
#[derive(Clone, Debug, Default)]
pub struct LineRequest {
    /// The prompt to show (a line editor shows it; a plain descriptor
    /// does not).
    pub prompt: String,
    /// Words to complete from, if they changed (the names bound in the
    /// environment); `None`: as before.
    pub completions: Option<Arc<Vec<String>>>,
}

/// Something that reads standard input a line (or a complete entry) at a
/// time on the stdin helper thread, such as a line editor. It never touches
/// the heap: it gets requests and returns text.
///
/// ```
/// /// Answers every prompt with the same entry, then ends.
/// struct Once(Option<String>);
/// impl imp::LineSource for Once {
///     fn read_line(&mut self, _: imp::LineRequest) -> Result<Option<String>, String> {
///         Ok(self.0.take())
///     }
/// }
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.set_line_source(Box::new(Once(Some("(1 2 3)\n".into())))).unwrap();
/// assert_eq!(rt.eval_str("(read)").map(|v| rt.write(&v)).unwrap(), "(1 2 3)");
/// ```
pub trait LineSource: Send {
    /// The next entry, with its newline; `None` at end of input.
    ///
    /// # Errors
    /// Why no input could be read.
    fn read_line(&mut self, req: LineRequest) -> Result<Option<String>, String>;
}

fn stdin_helper(
    requests: Receiver<LineRequest>,
    rep: Reporter,
    mut source: Option<Box<dyn LineSource>>,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut lines = 0u64;
    while let Ok(req) = requests.recv() {
        rep.count(|s| s.started += 1);
        if let Some(src) = source.as_mut() {
            let result = src.read_line(req).map_err(|message| StdinError {
                message,
                decoding: false,
            });
            rep.count(|s| s.finished += 1);
            rep.send(Completion::StdinLine(result));
            continue;
        }
        let result = loop {
            if let Some(i) = buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                lines += 1;
                break decode_line(line, lines);
            }
            if eof {
                if buf.is_empty() {
                    break Ok(None);
                }
                let line = std::mem::take(&mut buf);
                lines += 1;
                break decode_line(line, lines);
            }
            let mut chunk = [0u8; 4096];
            match nix::unistd::read(0, &mut chunk) {
                Ok(0) => eof = true,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    // Someone made descriptor 0 non-blocking: wait for input.
                    let fd = std::io::stdin();
                    let mut p = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                    let _ = nix::poll::poll(&mut p, PollTimeout::NONE);
                }
                Err(e) => {
                    rep.diagnose(format!("standard input: {e}"));
                    break Err(StdinError {
                        message: format!("cannot read standard input: {e}"),
                        decoding: false,
                    });
                }
            }
        };
        rep.count(|s| s.finished += 1);
        let more = matches!(result, Ok(Some(_)));
        rep.send(Completion::StdinLine(result));
        // Lines already read and complete go along unasked: one round trip
        // per line would make piped input cost a thread switch per line.
        let mut sent = 0;
        while more && sent < STDIN_BATCH_LINES {
            let Some(i) = buf.iter().position(|&b| b == b'\n') else {
                break;
            };
            let line: Vec<u8> = buf.drain(..=i).collect();
            lines += 1;
            rep.send(Completion::StdinLine(decode_line(line, lines)));
            sent += 1;
        }
    }
}

/// Line `n` of standard input as text; not UTF-8, an error naming where.
fn decode_line(bytes: Vec<u8>, n: u64) -> StdinItem {
    String::from_utf8(bytes).map(Some).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let col = 1 + std::str::from_utf8(&bytes[..at]).map_or(0, |t| t.chars().count());
        StdinError {
            message: format!(
                "standard input, line {n}, column {col}: not valid UTF-8 (byte 0x{:02x})",
                bytes[at]
            ),
            decoding: true,
        }
    })
}

/// Most lines the stdin reader sends beyond the one asked for.
const STDIN_BATCH_LINES: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_takes_every_lock_in_order_and_releases_them() {
        let mut reg = ForkRegistry::default();
        let a = reg.register("a", 1u32);
        let b = reg.register("b", String::from("x"));
        assert_eq!(reg.names(), vec!["a", "b"]);
        {
            let _g = reg.prepare();
            assert!(a.try_lock().is_err());
            assert!(b.try_lock().is_err());
        }
        assert!(a.try_lock().is_ok());
        assert!(b.try_lock().is_ok());
        reg.check_all();
    }

    #[test]
    fn pipes_do_not_block_and_carry_split_characters() {
        let mut os = Os::new().expect("os");
        let (r, w) = os.pipe().expect("pipe");
        assert!(matches!(os.read(r), Ok(ReadOutcome::WouldBlock)));
        let bytes = "é€x".as_bytes();
        assert_eq!(os.write(w, &bytes[..1]).expect("write"), 0);
        // Half a character: the read goes on until the pipe is empty, and
        // only then is the reader told to wait (its readiness cleared).
        assert!(matches!(os.read(r), Ok(ReadOutcome::WouldBlock)));
        assert!(!os.is_ready(r, Interest::Read));
        os.write(w, &bytes[1..]).expect("write");
        match os.read(r).expect("read") {
            ReadOutcome::Text(t) => assert_eq!(t, "é€x"),
            _ => panic!("expected text"),
        }
        // A full pipe keeps the rest pending instead of blocking.
        let big = vec![b'a'; 1 << 20];
        let pending = os.write(w, &big).expect("write");
        assert!(pending > 0);
        os.close(w);
        assert!(matches!(os.read(r), Ok(ReadOutcome::Text(_))));
    }

    #[test]
    fn process_status_arrives_through_poll() {
        let mut os = Os::new().expect("os");
        let job = os.start_process("sh".into(), vec!["-c".into(), "exit 3".into()]);
        let mut got = None;
        for _ in 0..100 {
            let (done, _) = os.poll(100_000).expect("poll");
            for c in done {
                if let Completion::Process { job: j, status, .. } = c {
                    assert_eq!(j, job);
                    got = Some(status);
                }
            }
            if got.is_some() {
                break;
            }
        }
        assert_eq!(got, Some(Ok(3)));
        assert!(!os.busy());
        let st = os.helper_stats();
        assert_eq!((st.started, st.finished), (1, 1));
        let job = os.start_process("/no/such/program".into(), vec![]);
        match os.wait_completion(None).expect("completion") {
            Some(Completion::Process {
                job: j,
                status: Err(e),
                ..
            }) => {
                assert_eq!(j, job);
                assert!(e.contains("/no/such/program"), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
