//! Descriptors owned by ports: pipes, files and sockets, each under a
//! key that is never reused, non-blocking and close-on-exec, and the
//! readiness the event loop learns of them.
//!
//! **Invariant (readiness):** every pollable descriptor is registered
//! with the poller (edge-triggered) when it is added, for reading and
//! writing, and starts out *ready* both ways. An event sets a direction
//! ready; only an operation that got `EAGAIN` clears it. A thread waits
//! for a direction only while it is not ready, so no edge is ever lost
//! between a failed read and the wait that follows it. Regular files are
//! not pollable and are always ready.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use super::{Completion, Interest, Os, io_error_text, nonblocking_pipe};

/// What a descriptor is, for the operations that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// A regular file (never waits; not pollable).
    File,
    /// A pipe or another stream descriptor written with `write`.
    Stream,
    /// A connected stream socket (written with `send`, never `SIGPIPE`).
    Socket,
    /// A listening socket.
    Listener,
    /// A datagram socket.
    Datagram,
}

/// A descriptor owned by a port, with bytes not yet consumed or written.
pub struct FdPort {
    pub(super) fd: OwnedFd,
    pub(super) kind: FdKind,
    /// For one end of a pipe made by `Os::pipe`: the other end's key while
    /// it is open here. Such a wait can only be ended by this process.
    pub(super) peer: Option<i32>,
    /// Registered with the poller.
    pub(super) pollable: bool,
    /// Readiness (see the module's invariant).
    pub(super) readable: bool,
    pub(super) writable: bool,
    /// Input: bytes read that do not yet form a whole character.
    pub(super) partial: Vec<u8>,
    /// Output: bytes accepted but not yet written, from `pending_from`.
    pub(super) pending: Vec<u8>,
    pub(super) pending_from: usize,
    /// Input: bytes decoded (or dropped as invalid) so far.
    pub(super) decoded: u64,
    /// Input read by a large read that had to wait before it was done,
    /// given back first by the next read (text, or bytes for a binary
    /// port): what makes a large read linear though it waits.
    pub(super) stash: String,
    /// Characters in `stash`.
    pub(super) stash_chars: usize,
    pub(super) stash_bytes: Vec<u8>,
    /// A connected socket's peer, remembered (a reset connection no
    /// longer says).
    pub(super) remote: Option<std::net::SocketAddr>,
    /// Holders of the descriptor (a socket and its ports); it closes
    /// when the last lets go (`Os::release`).
    pub(super) refs: u32,
    /// Longest wait for reading and for writing (µs), if limited.
    pub(super) timeout: [Option<i64>; 2],
    /// When the wait in progress for reading, writing ends (µs on the
    /// scheduler's clock): set by the first wait, cleared by progress.
    pub(super) deadline: [Option<i64>; 2],
}

/// The outcome of a non-blocking read.
pub enum ReadOutcome {
    /// Text (possibly empty if only part of a character arrived).
    Text(String),
    /// End of file.
    Eof,
    /// Bytes that are not UTF-8, starting at `offset` bytes into the input
    /// (they are dropped).
    Invalid {
        /// Where they start.
        offset: u64,
        /// The first of them.
        byte: u8,
    },
    /// Nothing available now.
    WouldBlock,
}

/// What one poll found: helpers' completions, and the `(key, interest)`
/// pairs that became ready.
pub type Polled = (Vec<Completion>, Vec<(i32, Interest)>);

/// What a write says when the peer has gone.
const PEER_CLOSED: &str = "write failed: the peer closed the connection";
/// What a read says when the connection was reset.
const PEER_RESET: &str = "read failed: the connection was reset by the peer";

/// The cause symbol's name for an I/O error message made here: `closed`,
/// `reset` or `error`.
pub fn failure_cause(message: &str) -> &'static str {
    if message == PEER_CLOSED {
        "closed"
    } else if message == PEER_RESET {
        "reset"
    } else {
        "error"
    }
}

/// Bytes one call writes to a regular file before other threads run.
pub const WRITE_SLICE: usize = 16 << 20;

/// Bytes a large read takes from a regular file before other threads
/// run (`prim::io`).
pub const READ_SLICE: usize = 16 << 20;

/// Bytes one read takes from a descriptor.
const READ_CHUNK: usize = 65536;

/// The poller's token of the wake pipe (port keys are non-negative).
const WAKE_TOKEN: usize = usize::MAX;
/// The poller's token of its timer.
const TIMER_TOKEN: usize = usize::MAX - 1;

/// The event loop's view of the kernel: an epoll instance (through
/// `mio`) with the wake pipe and every pollable descriptor registered.
pub struct Poller {
    poll: mio::Poll,
    events: mio::Events,
    /// A timer descriptor the poller watches, so a wait can end at a
    /// deadline to the microsecond (epoll's own timeout counts whole
    /// milliseconds); `None` where one cannot be made.
    timer: Option<nix::sys::timerfd::TimerFd>,
}

impl Poller {
    /// A new epoll instance watching `wake` (the wake pipe's read end).
    pub fn new(wake: &OwnedFd) -> Result<Poller, String> {
        let poll = mio::Poll::new().map_err(|e| format!("cannot make the poller: {e}"))?;
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&wake.as_raw_fd()),
                mio::Token(WAKE_TOKEN),
                mio::Interest::READABLE,
            )
            .map_err(|e| format!("cannot watch the wake pipe: {e}"))?;
        let timer = nix::sys::timerfd::TimerFd::new(
            nix::sys::timerfd::ClockId::CLOCK_MONOTONIC,
            nix::sys::timerfd::TimerFlags::TFD_NONBLOCK
                | nix::sys::timerfd::TimerFlags::TFD_CLOEXEC,
        )
        .ok()
        .filter(|t| {
            poll.registry()
                .register(
                    &mut mio::unix::SourceFd(&t.as_fd().as_raw_fd()),
                    mio::Token(TIMER_TOKEN),
                    mio::Interest::READABLE,
                )
                .is_ok()
        });
        Ok(Poller {
            poll,
            events: mio::Events::with_capacity(1024),
            timer,
        })
    }
}

impl Os {
    // ---- descriptors ---------------------------------------------------------------

    /// A second handle on the event loop's epoll instance: it reads as
    /// ready when anything the loop waits for is (`Runtime::run_async`
    /// waits on it from a helper thread).
    pub(crate) fn event_handle(&self) -> std::io::Result<mio::Registry> {
        self.poller.poll.registry().try_clone()
    }

    /// A key no port has had (keys are never reused).
    fn new_key(&mut self) -> i32 {
        loop {
            let k = self.next_key;
            self.next_key = if k == i32::MAX {
                self.inherited_below.max(1)
            } else {
                k + 1
            };
            if !self.fds.contains_key(&k) {
                return k;
            }
        }
    }

    /// Own `fd` (non-blocking, close-on-exec) under a new key, registered
    /// with the poller unless it is a regular file.
    pub(crate) fn add(&mut self, fd: OwnedFd, kind: FdKind, peer: Option<i32>) -> i32 {
        let k = self.new_key();
        let pollable = kind != FdKind::File
            && self
                .poller
                .poll
                .registry()
                .register(
                    &mut mio::unix::SourceFd(&fd.as_raw_fd()),
                    mio::Token(k as usize),
                    mio::Interest::READABLE | mio::Interest::WRITABLE,
                )
                .is_ok();
        self.fds.insert(
            k,
            FdPort {
                fd,
                kind,
                peer,
                pollable,
                readable: true,
                writable: true,
                partial: Vec::new(),
                pending: Vec::new(),
                pending_from: 0,
                decoded: 0,
                stash: String::new(),
                stash_chars: 0,
                stash_bytes: Vec::new(),
                refs: 1,
                remote: None,
                timeout: [None; 2],
                deadline: [None; 2],
            },
        );
        k
    }

    /// The descriptor under `key`, for operations done elsewhere.
    pub(crate) fn port(&mut self, key: i32) -> Result<&mut FdPort, String> {
        self.fds
            .get_mut(&key)
            .ok_or_else(|| "port is closed".into())
    }

    /// A new pipe; both ends non-blocking and owned here. Returns the keys
    /// of (read, write).
    pub fn pipe(&mut self) -> Result<(i32, i32), String> {
        let (r, w) = nonblocking_pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
        let rk = self.add(r, FdKind::Stream, None);
        let wk = self.add(w, FdKind::Stream, Some(rk));
        if let Some(p) = self.fds.get_mut(&rk) {
            p.peer = Some(wk);
        }
        Ok((rk, wk))
    }

    /// Can only this process end a wait for `interest` on `key`? True for
    /// one end of a pipe whose other end is still open here: nothing
    /// outside holds that other end (pipes are closed on `exec`, and a
    /// forked child closes what it inherits).
    pub fn is_internal_wait(&self, key: i32, _interest: Interest) -> bool {
        self.fds
            .get(&key)
            .and_then(|p| p.peer)
            .is_some_and(|peer| self.fds.contains_key(&peer))
    }

    /// Is `key` ready for `interest` (or closed, or never waits)? A thread
    /// that would wait for it makes its call again instead.
    pub fn is_ready(&self, key: i32, interest: Interest) -> bool {
        match self.fds.get(&key) {
            Some(p) if p.pollable => match interest {
                Interest::Read => p.readable,
                Interest::Write => p.writable,
            },
            _ => true,
        }
    }

    /// Open a file as a non-blocking descriptor owned here: for reading,
    /// or for writing (created, truncated unless `append`).
    pub fn open_file(&mut self, path: &str, write: bool, append: bool) -> Result<i32, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = std::fs::OpenOptions::new();
        if write {
            o.write(true).create(true);
            if append {
                o.append(true);
            } else {
                o.truncate(true);
            }
        } else {
            o.read(true);
        }
        o.custom_flags(OFlag::O_NONBLOCK.bits() | OFlag::O_CLOEXEC.bits());
        let f = o
            .open(path)
            .map_err(|e| format!("cannot open `{path}`: {}", io_error_text(&e)))?;
        let kind = match f.metadata() {
            Ok(m) if m.is_file() => FdKind::File,
            _ => FdKind::Stream,
        };
        Ok(self.add(f.into(), kind, None))
    }

    /// Close descriptor `fd` (after trying once more to write what is
    /// pending). Closing removes it from the poller.
    pub fn close(&mut self, fd: i32) {
        if let Some(mut p) = self.fds.remove(&fd) {
            let _ = write_some(&mut p, usize::MAX);
        }
    }

    /// Read what is available on `fd` without blocking, as text. Bytes
    /// that are not UTF-8 are never passed on: the text before them comes
    /// first, then `Invalid` (and they are dropped, so the read after that
    /// goes on with the rest).
    pub fn read(&mut self, fd: i32) -> Result<ReadOutcome, String> {
        let p = self.port(fd)?;
        if !p.stash.is_empty() {
            p.stash_chars = 0;
            return Ok(ReadOutcome::Text(std::mem::take(&mut p.stash)));
        }
        if !p.partial.is_empty()
            && let Some(r) = p.take_text(false)
        {
            return Ok(r);
        }
        let mut buf = [0u8; READ_CHUNK];
        loop {
            match p.read_raw(&mut buf)? {
                None => return Ok(ReadOutcome::WouldBlock),
                Some(0) if p.partial.is_empty() => return Ok(ReadOutcome::Eof),
                Some(0) => return Ok(p.take_text(true).unwrap_or(ReadOutcome::Eof)),
                Some(n) => {
                    p.partial.extend_from_slice(&buf[..n]);
                    if let Some(r) = p.take_text(false) {
                        return Ok(r);
                    }
                    // Only part of a character: read on (a wait now could
                    // miss the rest, which may already be here).
                }
            }
        }
    }

    /// Read the bytes available on `fd` without blocking: `None` if there
    /// are none yet, an empty vector at end of file.
    pub fn read_bytes(&mut self, fd: i32) -> Result<Option<Vec<u8>>, String> {
        let p = self.port(fd)?;
        if !p.stash_bytes.is_empty() {
            return Ok(Some(std::mem::take(&mut p.stash_bytes)));
        }
        let mut buf = vec![0u8; READ_CHUNK];
        Ok(p.read_raw(&mut buf)?.map(|n| {
            buf.truncate(n);
            buf
        }))
    }

    /// Queue `bytes` for `fd` and write what the descriptor takes now.
    /// Returns the number of bytes still pending.
    pub fn write(&mut self, fd: i32, bytes: &[u8]) -> Result<usize, String> {
        let p = self.port(fd)?;
        if p.pending_len() == 0 && p.kind != FdKind::File {
            // Nothing queued before: send straight from `bytes`, and
            // queue only what the descriptor does not take now.
            let sent = send_some(p, bytes)?;
            p.pending.extend_from_slice(&bytes[sent..]);
            return Ok(p.pending_len());
        }
        p.pending.extend_from_slice(bytes);
        write_some(p, WRITE_SLICE)?;
        Ok(p.pending_len())
    }

    /// Read at most `n` bytes from `fd` into a buffer kept for the
    /// purpose (no allocation or zeroing per read; `scratch` gives them):
    /// how many, `None` if nothing is there yet, 0 at end of file.
    pub fn read_scratch(&mut self, fd: i32, n: usize) -> Result<Option<usize>, String> {
        let mut buf = std::mem::take(&mut self.scratch);
        if buf.len() < n {
            buf.resize(n, 0);
        }
        let got = self.port(fd).and_then(|p| p.read_raw(&mut buf[..n]));
        self.scratch = buf;
        got
    }

    /// What the last `read_scratch` read (its first `n` bytes).
    pub fn scratch(&self, n: usize) -> &[u8] {
        &self.scratch[..n.min(self.scratch.len())]
    }

    /// Write pending bytes of `fd`; the number still pending.
    pub fn drain(&mut self, fd: i32) -> Result<usize, String> {
        let p = self.port(fd)?;
        write_some(p, WRITE_SLICE)?;
        Ok(p.pending_len())
    }

    /// Limit waits for reading and writing on `key` to `read` and `write`
    /// microseconds (`None`: no limit).
    pub fn set_timeouts(&mut self, key: i32, read: Option<i64>, write: Option<i64>) {
        if let Some(p) = self.fds.get_mut(&key) {
            p.timeout = [read, write];
            p.deadline = [None; 2];
        }
    }

    /// The deadline of a wait for `interest` on `key` starting or going
    /// on at `now`, if its timeout limits it. Once it has passed it is
    /// cleared (the caller reports the timeout).
    pub fn io_deadline(&mut self, key: i32, interest: Interest, now: i64) -> Option<i64> {
        let p = self.fds.get_mut(&key)?;
        let i = interest as usize;
        let t = p.timeout[i]?;
        let d = *p.deadline[i].get_or_insert(now.saturating_add(t));
        if now >= d {
            p.deadline[i] = None;
        }
        Some(d)
    }

    /// Keep `text` (`chars` characters read from `fd`, not consumed) for
    /// its next read. Nothing else is stashed then (a read takes the stash
    /// first).
    pub fn stash_text(&mut self, fd: i32, text: String, chars: usize) {
        if let Some(p) = self.fds.get_mut(&fd) {
            debug_assert!(p.stash.is_empty());
            p.stash = text;
            p.stash_chars = chars;
        }
    }

    /// Take what `stash_text` kept for `fd`, and its character count.
    pub fn take_stash_text(&mut self, fd: i32) -> (String, usize) {
        self.fds
            .get_mut(&fd)
            .map(|p| {
                (
                    std::mem::take(&mut p.stash),
                    std::mem::take(&mut p.stash_chars),
                )
            })
            .unwrap_or_default()
    }

    /// Take what `stash_bytes` kept for `fd`.
    pub fn take_stash_bytes(&mut self, fd: i32) -> Vec<u8> {
        self.fds
            .get_mut(&fd)
            .map(|p| std::mem::take(&mut p.stash_bytes))
            .unwrap_or_default()
    }

    /// Keep `bytes` (read from `fd`, not consumed) for its next read.
    pub fn stash_bytes(&mut self, fd: i32, bytes: Vec<u8>) {
        if let Some(p) = self.fds.get_mut(&fd) {
            debug_assert!(p.stash_bytes.is_empty());
            p.stash_bytes = bytes;
        }
    }

    /// Is `fd` one of ours?
    pub fn owns(&self, fd: i32) -> bool {
        self.fds.contains_key(&fd)
    }

    /// Wait (at most `timeout_us` microseconds, -1: no limit) for the
    /// wake pipe or a registered descriptor. Returns the completions
    /// received and the `(key, interest)` pairs that became ready.
    pub fn poll(&mut self, timeout_us: i64) -> Result<Polled, String> {
        let timeout = match (timeout_us, &self.poller.timer) {
            (t, _) if t < 0 => None,
            (0, _) => Some(std::time::Duration::ZERO),
            (t, Some(timer)) => {
                // The timer ends the wait to the microsecond.
                let d = std::time::Duration::from_micros(t.min(60_000_000) as u64);
                let armed = timer.set(
                    nix::sys::timerfd::Expiration::OneShot(
                        nix::sys::time::TimeSpec::from_duration(d),
                    ),
                    nix::sys::timerfd::TimerSetTimeFlags::empty(),
                );
                match armed {
                    Ok(()) => None,
                    Err(_) => Some(d + std::time::Duration::from_micros(999)),
                }
            }
            (t, None) => Some(std::time::Duration::from_micros(
                t.min(60_000_000) as u64 + 999,
            )),
        };
        let mut ready = Vec::new();
        match self.poller.poll.poll(&mut self.poller.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("poll failed: {e}")),
        }
        let mut woken = false;
        for ev in self.poller.events.iter() {
            let token = ev.token().0;
            if token == WAKE_TOKEN {
                woken = true;
                continue;
            }
            if token == TIMER_TOKEN {
                if let Some(t) = &self.poller.timer {
                    let _ = t.wait();
                }
                continue;
            }
            let key = token as i32;
            let Some(p) = self.fds.get_mut(&key) else {
                continue;
            };
            // An error or a hang-up ends waits both ways: the operation
            // made again reports it.
            let failed = ev.is_error();
            if ev.is_readable() || ev.is_read_closed() || failed {
                p.readable = true;
                ready.push((key, Interest::Read));
            }
            if ev.is_writable() || ev.is_write_closed() || failed {
                p.writable = true;
                ready.push((key, Interest::Write));
            }
        }
        if woken {
            let mut sink = [0u8; 256];
            while let Ok(n) = nix::unistd::read(self.wake_r.as_raw_fd(), &mut sink) {
                if n == 0 {
                    break;
                }
            }
        }
        let mut done = Vec::new();
        while let Ok(c) = self.done_rx.try_recv() {
            self.note_delivered(&c);
            done.push(c);
        }
        Ok((done, ready))
    }

    /// A new poller (in a forked child, which must not share the
    /// parent's epoll instance: its events would be taken from the
    /// parent).
    pub(super) fn new_poller(&mut self) -> Result<(), String> {
        self.poller = Poller::new(&self.wake_r)?;
        Ok(())
    }

    /// Block until `fd` is ready (where the scheduler cannot switch), and
    /// record that it is (so the call made again sees it).
    /// At most `timeout_ms` milliseconds, if given.
    pub fn wait_fd(
        &mut self,
        fd: i32,
        interest: Interest,
        timeout_ms: Option<i32>,
    ) -> Result<(), String> {
        let Some(p) = self.fds.get_mut(&fd) else {
            return Ok(());
        };
        let flags = match interest {
            Interest::Read => PollFlags::POLLIN,
            Interest::Write => PollFlags::POLLOUT,
        };
        let mut pfds = [PollFd::new(p.fd.as_fd(), flags)];
        let timeout = timeout_ms
            .and_then(|ms| PollTimeout::try_from(ms).ok())
            .unwrap_or(PollTimeout::NONE);
        match nix::poll::poll(&mut pfds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("poll failed: {e}")),
        }
        if pfds[0].revents().is_some_and(|r| !r.is_empty()) {
            match interest {
                Interest::Read => p.readable = true,
                Interest::Write => p.writable = true,
            }
        }
        Ok(())
    }
}

impl FdPort {
    /// Bytes accepted and not yet written.
    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_from
    }

    /// One `read` into `buf`: `None` if it would block (clearing read
    /// readiness), `Some(0)` at end of file.
    pub(crate) fn read_raw(&mut self, buf: &mut [u8]) -> Result<Option<usize>, String> {
        loop {
            match nix::unistd::read(self.fd.as_raw_fd(), buf) {
                Ok(n) => {
                    self.deadline[0] = None;
                    return Ok(Some(n));
                }
                Err(Errno::EAGAIN) => {
                    self.readable = false;
                    return Ok(None);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::ECONNRESET) => {
                    return Err(PEER_RESET.into());
                }
                Err(e) => return Err(format!("read failed: {}", e.desc())),
            }
        }
    }

    /// The complete text at the start of `partial`, or `Invalid` if it
    /// starts with bytes that are not UTF-8; `None` if it holds only the
    /// start of a character (at end of file, `at_eof`, that too is
    /// invalid).
    fn take_text(&mut self, at_eof: bool) -> Option<ReadOutcome> {
        let (valid, bad) = match std::str::from_utf8(&self.partial) {
            Ok(_) => (self.partial.len(), None),
            Err(e) => (e.valid_up_to(), e.error_len()),
        };
        if valid > 0 {
            let rest = self.partial.split_off(valid);
            let text = std::mem::replace(&mut self.partial, rest);
            self.decoded += valid as u64;
            return Some(ReadOutcome::Text(
                String::from_utf8(text).unwrap_or_default(),
            ));
        }
        let n = match bad {
            Some(n) => n,
            None if at_eof && !self.partial.is_empty() => self.partial.len(),
            None => return None,
        };
        let byte = self.partial[0];
        let offset = self.decoded;
        self.partial.drain(..n);
        self.decoded += n as u64;
        Some(ReadOutcome::Invalid { offset, byte })
    }
}

/// Write what `p` has pending until it is all written, the descriptor
/// would block (which clears its write readiness) or, for a regular file
/// (which never blocks), `budget` bytes have gone: the rest stays
/// pending, and the writer waits for it like any other, so other threads
/// run between the slices of a large write.
pub(crate) fn write_some(p: &mut FdPort, budget: usize) -> Result<(), String> {
    let stop = if p.kind == FdKind::File {
        p.pending_from.saturating_add(budget)
    } else {
        usize::MAX
    };
    if p.pending_from < p.pending.len() && p.pending_from < stop {
        let end = p.pending.len().min(stop);
        let bytes = std::mem::take(&mut p.pending);
        let r = send_some(p, &bytes[p.pending_from..end]);
        p.pending = bytes;
        match r {
            Ok(n) => p.pending_from += n,
            Err(e) => {
                p.pending.clear();
                p.pending_from = 0;
                return Err(e);
            }
        }
    }
    if p.pending_from == p.pending.len() {
        p.pending.clear();
        p.pending_from = 0;
    } else if p.pending_from > READ_CHUNK && p.pending_from * 2 > p.pending.len() {
        p.pending.drain(..p.pending_from);
        p.pending_from = 0;
    }
    Ok(())
}

/// Write `bytes` to `p`'s descriptor until they are all written or it
/// would block (which clears its write readiness); how many went.
fn send_some(p: &mut FdPort, bytes: &[u8]) -> Result<usize, String> {
    let mut sent = 0;
    while sent < bytes.len() {
        let rest = &bytes[sent..];
        let r = if p.kind == FdKind::Socket {
            // MSG_NOSIGNAL: a peer that went away is an EPIPE error here,
            // never a SIGPIPE that ends the process.
            nix::sys::socket::send(
                p.fd.as_raw_fd(),
                rest,
                nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
            )
        } else {
            nix::unistd::write(&p.fd, rest)
        };
        match r {
            Ok(n) => {
                sent += n;
                p.deadline[1] = None;
            }
            Err(Errno::EAGAIN) => {
                p.writable = false;
                break;
            }
            Err(Errno::EINTR) => continue,
            Err(Errno::EPIPE) | Err(Errno::ECONNRESET) => {
                return Err(PEER_CLOSED.into());
            }
            Err(e) => return Err(format!("write failed: {}", e.desc())),
        }
    }
    Ok(sent)
}
