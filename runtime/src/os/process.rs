//! Child processes with pipes: started with `std::process::Command`
//! (close-on-exec everywhere else, so a child holds only its own three
//! descriptors), their pipes made non-blocking and owned under port keys,
//! and each waited for by a helper thread, so no wait stops the scheduler.
//!
//! A child is signalled only while its helper has not reaped it (its job
//! is pending), so a signal never reaches another process that took the
//! number after it; and never from a forked child, whose jobs all belong
//! to the parent.

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use super::fd::FdKind;
use super::{Completion, Os};

/// What a child's standard stream is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio3 {
    /// The parent's own.
    Inherit,
    /// A pipe to a port.
    Pipe,
    /// `/dev/null`.
    Null,
    /// (Standard error only) the same as standard output.
    ToOutput,
}

/// How to start a child.
pub struct Spawn {
    /// The program (looked up in `PATH` when it has no slash).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The whole environment, if not the parent's.
    pub env: Option<Vec<(String, String)>>,
    /// Its working directory, if not the parent's.
    pub dir: Option<String>,
    /// Standard input, output and error.
    pub stdio: [Stdio3; 3],
}

/// A started child.
pub struct Child {
    /// Its process id.
    pub pid: i32,
    /// The job its helper completes when it ends.
    pub job: u64,
    /// Keys of the pipes to its standard input, output and error.
    pub pipes: [Option<i32>; 3],
}

fn stdio(s: Stdio3) -> Stdio {
    match s {
        Stdio3::Inherit => Stdio::inherit(),
        Stdio3::Pipe | Stdio3::ToOutput => Stdio::piped(),
        Stdio3::Null => Stdio::null(),
    }
}

impl Os {
    /// Start a child as `how` says; a helper waits for it and completes
    /// its job with its exit code, or with `("signal", n)` in the report
    /// if a signal ended it.
    pub fn spawn(&mut self, how: Spawn) -> std::io::Result<Child> {
        let mut cmd = Command::new(&how.program);
        cmd.args(&how.args);
        if let Some(env) = &how.env {
            cmd.env_clear();
            cmd.envs(env.iter().map(|(k, v)| (k, v)));
        }
        if let Some(d) = &how.dir {
            cmd.current_dir(d);
        }
        cmd.stdin(stdio(how.stdio[0]));
        cmd.stdout(stdio(how.stdio[1]));
        let merged = how.stdio[2] == Stdio3::ToOutput;
        if merged {
            // One pipe for both: the child's standard error is a copy of
            // the write end its standard output gets.
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
            let w2 = w.try_clone()?;
            cmd.stdout(Stdio::from(w));
            cmd.stderr(Stdio::from(w2));
            let mut child = cmd.spawn()?;
            // Drop our copies of the write end (the command holds them
            // until it is dropped): the reader then sees the child's end
            // of file.
            drop(cmd);
            let stdin = child.stdin.take().map(OwnedFd::from);
            return Ok(self.adopt(child, [stdin, Some(r), None]));
        }
        cmd.stderr(stdio(how.stdio[2]));
        let mut child = cmd.spawn()?;
        let pipes = [
            child.stdin.take().map(OwnedFd::from),
            child.stdout.take().map(OwnedFd::from),
            child.stderr.take().map(OwnedFd::from),
        ];
        Ok(self.adopt(child, pipes))
    }

    /// Own a started child's pipes and hand the child to a helper.
    fn adopt(&mut self, child: std::process::Child, pipes: [Option<OwnedFd>; 3]) -> Child {
        let pid = child.id() as i32;
        let keys = pipes.map(|p| {
            p.map(|fd| {
                let _ = nix::fcntl::fcntl(
                    std::os::fd::AsRawFd::as_raw_fd(&fd),
                    nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
                );
                self.add(fd, FdKind::Stream, None)
            })
        });
        let mut child = child;
        let job = self.spawn_job("imp-child", move |job| {
            use std::os::unix::process::ExitStatusExt;
            let (status, report) = match child.wait() {
                Ok(st) => match (st.code(), st.signal()) {
                    (Some(c), _) => (Ok(c as i64), Vec::new()),
                    (None, Some(s)) => (Ok(128 + s as i64), vec![("signal".to_string(), s as i64)]),
                    _ => (Ok(-1), Vec::new()),
                },
                Err(e) => (
                    Err(format!("cannot wait for process {pid}: {e}")),
                    Vec::new(),
                ),
            };
            Completion::Process {
                job,
                status,
                report,
            }
        });
        Child {
            pid,
            job,
            pipes: keys,
        }
    }

    /// Send signal `sig` to child `pid` of job `job`, if it has not been
    /// reaped. False if it has (or belongs to this process's parent).
    pub fn signal_child(&mut self, job: u64, pid: i32, sig: i32) -> Result<bool, String> {
        if job < self.inherited_jobs_below || !self.jobs.contains(&job) {
            return Ok(false);
        }
        let sig = nix::sys::signal::Signal::try_from(sig)
            .map_err(|_| format!("{sig} is not a signal number"))?;
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig) {
            Ok(()) => Ok(true),
            Err(nix::errno::Errno::ESRCH) => Ok(false),
            Err(e) => Err(format!("cannot signal process {pid}: {}", e.desc())),
        }
    }

    /// Is job `job` still running (its completion not yet delivered)?
    pub fn job_pending(&self, job: u64) -> bool {
        self.jobs.contains(&job)
    }

    /// Was job `job` started by the parent of this forked process?
    pub fn is_inherited_job(&self, job: u64) -> bool {
        job < self.inherited_jobs_below
    }
}
