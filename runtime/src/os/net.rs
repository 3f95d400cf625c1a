//! Sockets: made non-blocking and close-on-exec, owned under port keys
//! like every other descriptor, and name resolution on helper threads
//! (`getaddrinfo` blocks, so it never runs on the scheduler).
//!
//! A socket is shared by the Scheme socket object and the ports made
//! over it; `FdPort::refs` counts them, and the descriptor closes when
//! the last lets go (or at once, with `socket-close`).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use super::fd::FdKind;
use super::{Completion, Os};

/// A socket's address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    Inet,
    /// IPv6.
    Inet6,
    /// Unix-domain (a path).
    Unix,
}

impl Family {
    fn domain(self) -> Domain {
        match self {
            Family::Inet => Domain::IPV4,
            Family::Inet6 => Domain::IPV6,
            Family::Unix => Domain::UNIX,
        }
    }
}

/// What an operation that may wait did.
pub enum Progress<T> {
    /// Done.
    Done(T),
    /// Not yet: wait for the descriptor (its readiness is cleared).
    Wait,
}

/// The errors that mean "not yet" on a non-blocking socket.
fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Os {
    /// A new non-blocking, close-on-exec socket; its key.
    pub fn socket(&mut self, family: Family, stream: bool) -> io::Result<i32> {
        let ty = if stream { Type::STREAM } else { Type::DGRAM };
        let s = Socket::new(family.domain(), ty.nonblocking().cloexec(), None)?;
        if family == Family::Inet6 {
            // An IPv6 socket takes IPv6 only: the IPv4 one is separate.
            let _ = s.set_only_v6(true);
        }
        let kind = if stream {
            FdKind::Socket
        } else {
            FdKind::Datagram
        };
        Ok(self.add(OwnedFd::from(s), kind, None))
    }

    fn sock(&mut self, key: i32) -> io::Result<&mut super::FdPort> {
        self.fds
            .get_mut(&key)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the socket is closed"))
    }

    /// Start connecting `key` to `addr`: done at once, or `Wait` for it
    /// to become writable and then `finish_connect`.
    pub fn connect(&mut self, key: i32, addr: &SockAddr) -> io::Result<Progress<()>> {
        let p = self.sock(key)?;
        p.remote = addr.as_socket();
        match SockRef::from(&p.fd).connect(addr) {
            Ok(()) => Ok(Progress::Done(())),
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EINPROGRESS as i32) => {
                p.writable = false;
                Ok(Progress::Wait)
            }
            Err(e) if would_block(&e) => {
                p.writable = false;
                Ok(Progress::Wait)
            }
            Err(e) => Err(e),
        }
    }

    /// The outcome of a connection started by `connect`, once writable:
    /// `Ok` if it is established.
    pub fn finish_connect(&mut self, key: i32) -> io::Result<()> {
        let p = self.sock(key)?;
        let s = SockRef::from(&p.fd);
        if let Some(e) = s.take_error()? {
            return Err(e);
        }
        // Writable without an error yet not connected: the peer is not
        // there (a reset before the handshake ended).
        s.peer_addr().map(|_| ())
    }

    /// Bind `key` to `addr` and listen with `backlog`.
    pub fn listen(&mut self, key: i32, addr: &SockAddr, backlog: i32) -> io::Result<()> {
        let p = self.sock(key)?;
        let s = SockRef::from(&p.fd);
        if addr.domain() != Domain::UNIX {
            s.set_reuse_address(true)?;
        }
        s.bind(addr)?;
        if p.kind != FdKind::Datagram {
            s.listen(backlog)?;
            p.kind = FdKind::Listener;
        }
        Ok(())
    }

    /// Bind a datagram socket (no listen).
    pub fn bind(&mut self, key: i32, addr: &SockAddr) -> io::Result<()> {
        let p = self.sock(key)?;
        let s = SockRef::from(&p.fd);
        if addr.domain() != Domain::UNIX {
            s.set_reuse_address(true)?;
        }
        s.bind(addr)
    }

    /// Accept a connection on listening socket `key`: its key, or `Wait`.
    pub fn accept(&mut self, key: i32) -> io::Result<Progress<i32>> {
        let p = self.sock(key)?;
        let r = SockRef::from(&p.fd).accept();
        match r {
            Ok((s, from)) => {
                s.set_nonblocking(true)?;
                s.set_cloexec(true)?;
                if matches!(s.domain(), Ok(d) if d != Domain::UNIX) {
                    let _ = s.set_nodelay(true);
                }
                let k = self.add(OwnedFd::from(s), FdKind::Socket, None);
                if let Some(p) = self.fds.get_mut(&k) {
                    p.remote = from.as_socket();
                }
                Ok(Progress::Done(k))
            }
            Err(e) if would_block(&e) => {
                p.readable = false;
                Ok(Progress::Wait)
            }
            // The connection went away before it was taken: try the next.
            // (Readiness stays set, so the wait makes the call again.)
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => Ok(Progress::Wait),
            Err(e) => Err(e),
        }
    }

    /// Turn on `TCP_NODELAY` (small writes go out at once).
    pub fn set_nodelay(&mut self, key: i32) -> io::Result<()> {
        let p = self.sock(key)?;
        SockRef::from(&p.fd).set_nodelay(true)
    }

    /// Receive a datagram of at most `buf.len()` bytes: its length and
    /// sender, or `Wait`.
    pub fn recv_from(
        &mut self,
        key: i32,
        buf: &mut [u8],
    ) -> io::Result<Progress<(usize, Option<SockAddr>)>> {
        let p = self.sock(key)?;
        let r = nix::sys::socket::recvfrom::<nix::sys::socket::SockaddrStorage>(
            std::os::fd::AsRawFd::as_raw_fd(&p.fd),
            buf,
        );
        match r {
            Ok((n, from)) => {
                let addr = from.and_then(|a| storage_to_sockaddr(&a));
                Ok(Progress::Done((n, addr)))
            }
            Err(nix::errno::Errno::EAGAIN) => {
                p.readable = false;
                Ok(Progress::Wait)
            }
            Err(e) => Err(io::Error::from(e)),
        }
    }

    /// Send one datagram to `addr` (`None`: the connected peer), or `Wait`.
    pub fn send_to(
        &mut self,
        key: i32,
        data: &[u8],
        addr: Option<&SockAddr>,
    ) -> io::Result<Progress<usize>> {
        let p = self.sock(key)?;
        let s = SockRef::from(&p.fd);
        let r = match addr {
            Some(a) => s.send_to_with_flags(data, a, libc_nosignal()),
            None => s.send_with_flags(data, libc_nosignal()),
        };
        match r {
            Ok(n) => Ok(Progress::Done(n)),
            Err(e) if would_block(&e) => {
                p.writable = false;
                Ok(Progress::Wait)
            }
            Err(e) => Err(e),
        }
    }

    /// Shut down reading, writing or both (`how` 0, 1, 2).
    pub fn shutdown(&mut self, key: i32, how: i32) -> io::Result<()> {
        let p = self.sock(key)?;
        let how = match how {
            0 => std::net::Shutdown::Read,
            1 => std::net::Shutdown::Write,
            _ => std::net::Shutdown::Both,
        };
        match SockRef::from(&p.fd).shutdown(how) {
            // Already gone: nothing left to shut.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }

    /// The local (or, with `peer`, the remote) address of `key`.
    pub fn socket_addr(&mut self, key: i32, peer: bool) -> io::Result<SockAddr> {
        let p = self.sock(key)?;
        let s = SockRef::from(&p.fd);
        if peer { s.peer_addr() } else { s.local_addr() }
    }

    /// The peer of connected socket `key`, as it was when it connected.
    pub fn remote(&self, key: i32) -> Option<SocketAddr> {
        self.fds.get(&key).and_then(|p| p.remote)
    }

    /// One more user (a port) of `key`'s descriptor.
    pub fn retain(&mut self, key: i32) {
        if let Some(p) = self.fds.get_mut(&key) {
            p.refs += 1;
        }
    }

    /// One user less of `key`'s descriptor: closes it when none is left.
    /// True if it was closed.
    pub fn release(&mut self, key: i32) -> bool {
        match self.fds.get_mut(&key) {
            Some(p) if p.refs > 1 => {
                p.refs -= 1;
                false
            }
            Some(_) => {
                self.close(key);
                true
            }
            None => false,
        }
    }

    /// What kind of descriptor `key` is, if it is open.
    pub fn fd_kind(&self, key: i32) -> Option<FdKind> {
        self.fds.get(&key).map(|p| p.kind)
    }

    // ---- name resolution -------------------------------------------------------------

    /// Resolve `host` (and `port`) on a helper thread: a job whose
    /// completion `take_resolved` returns.
    pub fn start_resolve(&mut self, host: String, port: u16) -> u64 {
        self.spawn_job("imp-resolve", move |job| {
            let result = (host.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>())
                .map_err(|e| resolve_error_text(&e));
            Completion::Resolved { job, result }
        })
    }

    /// The addresses job `job` found, once delivered.
    pub fn take_resolved(&mut self, job: u64) -> Option<Result<Vec<SocketAddr>, String>> {
        self.resolved.remove(&job)
    }

    /// Keep a delivered resolution for `take_resolved`.
    pub(crate) fn put_resolved(&mut self, job: u64, r: Result<Vec<SocketAddr>, String>) {
        self.resolved.insert(job, r);
    }

    /// Has job `job`'s resolution been delivered?
    pub fn resolved_ready(&self, job: u64) -> bool {
        self.resolved.contains_key(&job)
    }
}

/// `MSG_NOSIGNAL` as socket2 takes flags.
fn libc_nosignal() -> i32 {
    nix::sys::socket::MsgFlags::MSG_NOSIGNAL.bits()
}

/// A resolver's error as a person reads it.
fn resolve_error_text(e: &io::Error) -> String {
    let t = e.to_string();
    let t = t
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&t);
    super::io_error_text(&io::Error::other(t.to_string()))
}

fn storage_to_sockaddr(a: &nix::sys::socket::SockaddrStorage) -> Option<SockAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        let sa = SocketAddr::from((v4.ip(), v4.port()));
        return Some(SockAddr::from(sa));
    }
    if let Some(v6) = a.as_sockaddr_in6() {
        let sa = SocketAddr::from((v6.ip(), v6.port()));
        return Some(SockAddr::from(sa));
    }
    if let Some(u) = a.as_unix_addr() {
        return u.path().and_then(|p| SockAddr::unix(p).ok());
    }
    None
}
