//! Sockets (SRFI-106 and the TCP conveniences `net.scm` builds on them).
//!
//! A socket is a heap object `SOCKET[key, session, family, type, input
//! port, output port, description]`; its descriptor lives in `crate::os`
//! under `key`, like a port's. Every operation that would block raises
//! `Exn::Block` (through `Vm::block_until`, with the caller's deadline):
//! one green thread waits, the others run, and `thread-interrupt!` or
//! `thread-terminate!` reach it there. Operations that do something in
//! several steps (connect, send) are split into a primitive that starts
//! and one that waits, so a call made again after a wait never does its
//! work twice.
//!
//! Errors are `socket-error` conditions whose message names the host, the
//! port and the cause, and whose irritants are the host, the port and a
//! symbol for the cause (`refused`, `unknown-host`, `reset`, `timeout`,
//! `closed`, `unreachable`, `in-use`, `denied`, `error`).

use std::io;
use std::net::{IpAddr, SocketAddr};

use imp_gc::Value;
use socket2::SockAddr;

use crate::obj::{self, SOCKET};
use crate::os::{Family, FdKind, Interest, Progress};
use crate::prim::{PrimDef, arg, def};
use crate::vm::{Exn, Grant, IoWait, Vm, VmResult};

/// Field indices of a `SOCKET` object.
pub mod field {
    /// The descriptor's key (fixnum).
    pub const KEY: usize = 0;
    /// The session that made it (fixnum).
    pub const SESSION: usize = 1;
    /// 0 IPv4, 1 IPv6, 2 Unix.
    pub const FAMILY: usize = 2;
    /// 0 stream, 1 datagram.
    pub const TYPE: usize = 3;
    /// The input port made over it, or `#f`.
    pub const INPUT: usize = 4;
    /// The output port made over it, or `#f`.
    pub const OUTPUT: usize = 5;
    /// What it is connected to or listens on (a string), for printing.
    pub const NAME: usize = 6;
    /// The host it is connected to (the name the program gave, or the
    /// peer's address) or listens on, or `#f`.
    pub const HOST: usize = 7;
    /// The port of `HOST`, or `#f`.
    pub const PORT: usize = 8;
    /// Number of fields.
    pub const SIZE: usize = 9;
}

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("socket?", 1, 1, socket_p),
    def("%resolve", 4, 4, resolve),
    def("%resolve-wait", 4, 4, resolve_wait),
    def("%socket-open", 2, 2, socket_open),
    def("%socket-connect!", 4, 4, socket_connect),
    def("%socket-connect-wait", 5, 5, socket_connect_wait),
    def("%socket-listen!", 4, 4, socket_listen),
    def("%socket-bind!", 3, 3, socket_bind),
    def("%socket-accept", 2, 2, socket_accept),
    def("%socket-queue!", 4, 4, socket_queue),
    def("%socket-flush", 2, 2, socket_flush),
    def("%socket-recv", 3, 3, socket_recv),
    def("%socket-send-to", 5, 5, socket_send_to),
    def("%socket-recv-from", 3, 3, socket_recv_from),
    def("%socket-shutdown", 2, 2, socket_shutdown),
    def("%socket-close", 1, 1, socket_close),
    def("%socket-port", 3, 3, socket_port),
    def("%socket-address", 2, 2, socket_address),
    def("%socket-family", 1, 1, socket_family),
    def("%socket-type", 1, 1, socket_type),
    def("%port-socket-key", 1, 1, port_socket_key),
    def("%socket-timeouts!", 3, 3, socket_timeouts),
    def("%raise-socket-error", 4, 4, raise_socket_error),
    def("%socket-release!", 1, 1, socket_release),
];

fn socket_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), SOCKET)))
}

// ---- errors ------------------------------------------------------------------------

/// The cause symbol of an OS error.
fn cause_of(e: &io::Error) -> &'static str {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "refused",
        K::ConnectionReset | K::ConnectionAborted => "reset",
        K::BrokenPipe | K::NotConnected => "closed",
        K::TimedOut => "timeout",
        K::AddrInUse => "in-use",
        K::PermissionDenied => "denied",
        K::HostUnreachable | K::NetworkUnreachable => "unreachable",
        _ => "error",
    }
}

/// What an OS error says, without Rust's "(os error N)".
fn text_of(e: &io::Error) -> String {
    crate::os::io_error_text(e).to_lowercase()
}

/// A `socket-error` naming `who`, the host, the port and the cause.
fn net_error(vm: &mut Vm, who: &str, host: Value, port: Value, cause: &str, text: &str) -> Exn {
    let h = describe(vm, host);
    let at = if port.is_fixnum() {
        format!("{h} port {}", port.as_fixnum_unchecked())
    } else {
        h
    };
    let sym = match vm.intern(cause) {
        Ok(s) => s,
        Err(e) => return e,
    };
    vm.error_kind(
        "socket-error",
        format!("{who}: {at}: {text}"),
        &[host, port, sym],
    )
}

fn describe(vm: &Vm, host: Value) -> String {
    if vm.is(host, obj::STRING) {
        vm.string_text(host)
    } else {
        "the socket".into()
    }
}

/// The error of a socket whose peer or name is not known at hand.
fn sock_error(vm: &mut Vm, who: &str, s: Value, e: &io::Error) -> Exn {
    let text = text_of(e);
    sock_fail(vm, who, s, cause_of(e), &text)
}

// ---- arguments -----------------------------------------------------------------------

fn socket_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, SOCKET, "a socket")
}

/// The key of the socket argument `i`, refusing a socket of another
/// session (an image's earlier process), one the parent of a save child
/// made, and one closed.
fn socket_key(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<(Value, i32)> {
    let s = socket_arg(vm, who, base, i)?;
    let key = live_key(vm, who, s)?;
    Ok((s, key))
}

/// The descriptor key of argument `i`: a socket, or a port over one
/// (what `tcp-connect` returns).
fn socket_or_port_key(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<i32> {
    let v = arg(vm, base, i);
    if vm.is(v, SOCKET) {
        return live_key(vm, who, v);
    }
    if vm.is(v, obj::PORT) {
        let key = crate::prim::io::port_fd(vm, v)?;
        if vm.os.fd_kind(key) == Some(FdKind::Socket) {
            return Ok(key);
        }
        if vm.os.owns(key) {
            return Err(vm.type_error(who, "a socket or a port over one", v));
        }
        return Err(vm.error_kind("socket-error", format!("{who}: the port is closed"), &[v]));
    }
    Err(vm.type_error(who, "a socket or a port over one", v))
}

fn live_key(vm: &mut Vm, who: &str, s: Value) -> VmResult<i32> {
    if vm.heap.get(s, field::SESSION) != Value::fix(vm.os.session) {
        return Err(vm.error_kind(
            "socket-error",
            format!(
                "{who}: stale handle from a previous session: this socket was opened by another process"
            ),
            &[s],
        ));
    }
    let key = vm.heap.get(s, field::KEY).as_fixnum_unchecked() as i32;
    if vm.os.is_inherited(key) {
        let msg = if vm.os.fenced {
            "a socket inherited from the parent is not usable while saving an image"
        } else {
            "this socket belongs to the parent process (its descriptor was closed in this forked child)"
        };
        return Err(vm.error_kind("socket-error", format!("{who}: {msg}"), &[s]));
    }
    if !vm.os.owns(key) {
        return Err(vm.error_kind("socket-error", format!("{who}: the socket is closed"), &[s]));
    }
    Ok(key)
}

/// A deadline argument: `#f` or microseconds on `Vm::now_us`'s clock.
fn deadline_arg(vm: &Vm, base: usize, i: usize) -> Option<i64> {
    arg(vm, base, i).as_fixnum()
}

/// Raise a timeout if `deadline` has passed.
fn check_deadline(
    vm: &mut Vm,
    who: &str,
    deadline: Option<i64>,
    host: Value,
    port: Value,
) -> VmResult<()> {
    if deadline.is_some_and(|d| vm.now_us() >= d) {
        return Err(net_error(vm, who, host, port, "timeout", "timed out"));
    }
    Ok(())
}

fn family_of(n: i64) -> Family {
    match n {
        1 => Family::Inet6,
        2 => Family::Unix,
        _ => Family::Inet,
    }
}

fn family_code(f: Family) -> i64 {
    match f {
        Family::Inet => 0,
        Family::Inet6 => 1,
        Family::Unix => 2,
    }
}

/// The address argument: `(family ip port)` as given by `%resolve`
/// (`#(family "ip" port)`), or a Unix path string.
fn addr_arg(vm: &mut Vm, who: &str, a: Value) -> VmResult<SockAddr> {
    if vm.is(a, obj::STRING) {
        let path = vm.string_text(a);
        return SockAddr::unix(&path).map_err(|e| {
            let text = text_of(&e);
            net_error(vm, who, a, Value::FALSE, "error", &text)
        });
    }
    if vm.is(a, obj::VECTOR) && vm.heap.len(a) == 3 {
        let ip = vm.heap.get(a, 1);
        let port = vm.heap.get(a, 2);
        if vm.is(ip, obj::STRING)
            && let Some(port) = port.as_fixnum().filter(|p| (0..=65535).contains(p))
            && let Ok(ip) = vm.string_text(ip).parse::<IpAddr>()
        {
            return Ok(SockAddr::from(SocketAddr::new(ip, port as u16)));
        }
    }
    Err(vm.type_error(who, "an address", a))
}

/// An address as `#(family "ip" port)`, or a path string for Unix.
fn addr_value(vm: &mut Vm, a: &SockAddr) -> VmResult<Value> {
    if let Some(sa) = a.as_socket() {
        let base = vm.stack.len();
        vm.stack.push(Value::fix(if sa.is_ipv4() { 0 } else { 1 }));
        let ip = vm.string(&sa.ip().to_string())?;
        vm.stack.push(ip);
        vm.stack.push(Value::fix(sa.port() as i64));
        return vm.object_from_stack(obj::VECTOR, base);
    }
    let path = a
        .as_pathname()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    vm.string(&path)
}

fn socket_object(
    vm: &mut Vm,
    key: i32,
    family: Family,
    stream: bool,
    name: &str,
) -> VmResult<Value> {
    let n = vm.string(name)?;
    let base = vm.stack.len();
    for v in [
        Value::fix(key as i64),
        Value::fix(vm.os.session),
        Value::fix(family_code(family)),
        Value::fix(if stream { 0 } else { 1 }),
        Value::FALSE,
        Value::FALSE,
        n,
        Value::FALSE,
        Value::FALSE,
    ] {
        vm.stack.push(v);
    }
    vm.object_from_stack(SOCKET, base)
}

/// Name socket `s` by address `a`: its `HOST`, `PORT` and printed name.
fn name_by(vm: &mut Vm, s: Value, a: &SockAddr) -> VmResult<()> {
    let (host, port, text) = match a.as_socket() {
        Some(sa) => (
            sa.ip().to_string(),
            Value::fix(sa.port() as i64),
            addr_text(a),
        ),
        None => {
            let t = addr_text(a);
            (t.clone(), Value::FALSE, t)
        }
    };
    vm.stack.push(s);
    let h = vm.string(&host);
    let h = match h {
        Ok(h) => h,
        Err(e) => {
            vm.stack.pop();
            return Err(e);
        }
    };
    vm.stack.push(h);
    let t = vm.string(&text);
    let h = vm.stack.pop().unwrap_or(Value::FALSE);
    let s = vm.stack.pop().unwrap_or(Value::FALSE);
    vm.heap.set(s, field::NAME, t?);
    vm.heap.set(s, field::HOST, h);
    vm.heap.set(s, field::PORT, port);
    Ok(())
}

/// A `socket-error` about established socket `s`, naming its host and port.
fn sock_fail(vm: &mut Vm, who: &str, s: Value, cause: &str, text: &str) -> Exn {
    let host = vm.heap.get(s, field::HOST);
    let port = vm.heap.get(s, field::PORT);
    net_error(vm, who, host, port, cause, text)
}

/// Wait for `key` (socket `s`) to be ready for `interest`, until the
/// explicit `deadline` or, without one, the socket's own timeout
/// (`socket-set-timeout!`); past it, a `timeout` error.
fn sock_wait(
    vm: &mut Vm,
    who: &str,
    s: Value,
    key: i32,
    interest: Interest,
    deadline: Option<i64>,
) -> Exn {
    let now = vm.now_us();
    let d = deadline.or_else(|| vm.os.io_deadline(key, interest, now));
    if d.is_some_and(|d| now >= d) {
        return sock_fail(vm, who, s, "timeout", "timed out");
    }
    vm.block_until(IoWait::Fd(key, interest), d)
}

/// A send or receive error (message `m` from `crate::os`) on `s`.
fn data_error(vm: &mut Vm, who: &str, s: Value, m: &str) -> Exn {
    sock_fail(vm, who, s, crate::os::failure_cause(m), m)
}

/// Check the grant an operation needs: connecting out, or listening.
fn require_net(vm: &mut Vm, who: &str, listen: bool) -> VmResult<()> {
    vm.require(
        who,
        if listen {
            Grant::NetworkListen
        } else {
            Grant::NetworkConnect
        },
    )
}

// ---- resolution ------------------------------------------------------------------------

/// `(%resolve who host port passive?)`: the addresses of `host` (a string,
/// or `#f` for any address when `passive?`, else the loopback), as a list
/// of `#(family "ip" port)`; or, when a name must be looked up, the number
/// of the job that looks it up on a helper thread (`%resolve-wait`).
fn resolve(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = who_arg(vm, base, 0);
    let host = arg(vm, base, 1);
    let port = arg(vm, base, 2);
    let passive = arg(vm, base, 3).is_true();
    let Some(p) = port.as_fixnum().filter(|p| (0..=65535).contains(p)) else {
        return Err(vm.type_error(&who, "a port number from 0 to 65535", port));
    };
    require_net(vm, &who, passive)?;
    let addrs: Vec<SocketAddr> = if host == Value::FALSE {
        if passive {
            vec![SocketAddr::from(([0, 0, 0, 0], p as u16))]
        } else {
            vec![SocketAddr::from(([127, 0, 0, 1], p as u16))]
        }
    } else if vm.is(host, obj::STRING) {
        let h = vm.string_text(host);
        let h = h.trim_start_matches('[').trim_end_matches(']');
        match h.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, p as u16)],
            Err(_) => {
                if h.is_empty() || h.contains('\0') {
                    return Err(net_error(
                        vm,
                        &who,
                        host,
                        port,
                        "unknown-host",
                        "no such host",
                    ));
                }
                let job = vm.os.start_resolve(h.to_string(), p as u16);
                return Ok(Value::fix(job as i64));
            }
        }
    } else {
        return Err(vm.type_error(&who, "a host name string or #f", host));
    };
    addr_list(vm, &addrs)
}

fn addr_list(vm: &mut Vm, addrs: &[SocketAddr]) -> VmResult<Value> {
    let base = vm.stack.len();
    for a in addrs {
        let v = addr_value(vm, &SockAddr::from(*a))?;
        vm.stack.push(v);
    }
    vm.list_from_stack(base)
}

/// `(%resolve-wait job host port who)`: the list of addresses job `job`
/// found; waits for it.
fn resolve_wait(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let Some(job) = arg(vm, base, 0).as_fixnum().filter(|j| *j >= 0) else {
        let v = arg(vm, base, 0);
        return Err(vm.type_error("%resolve-wait", "a job number", v));
    };
    let job = job as u64;
    let host = arg(vm, base, 1);
    let port = arg(vm, base, 2);
    let who = who_arg(vm, base, 3);
    let who = who.as_str();
    match vm.os.take_resolved(job) {
        Some(Ok(addrs)) if !addrs.is_empty() => addr_list(vm, &addrs),
        Some(Ok(_)) => Err(net_error(
            vm,
            who,
            host,
            port,
            "unknown-host",
            "no address found",
        )),
        Some(Err(text)) => Err(net_error(vm, who, host, port, "unknown-host", &text)),
        None => match vm.take_job_result(job) {
            Some(msg) if vm.is(msg, obj::STRING) => {
                let text = vm.string_text(msg);
                Err(net_error(vm, who, host, port, "error", &text))
            }
            _ => Err(vm.block_until(IoWait::Job(job), None)),
        },
    }
}

fn who_arg(vm: &Vm, base: usize, i: usize) -> String {
    let w = arg(vm, base, i);
    if vm.is(w, obj::SYMBOL) {
        vm.symbol_name(w)
    } else {
        "socket".into()
    }
}

// ---- making, connecting, listening -----------------------------------------------------

/// `(%socket-open family type)`: a new socket (family 0 IPv4, 1 IPv6,
/// 2 Unix; type 0 stream, 1 datagram).
fn socket_open(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let family = family_of(arg(vm, base, 0).as_fixnum().unwrap_or(0));
    let stream = arg(vm, base, 1).as_fixnum() != Some(1);
    if vm.os.fenced {
        return Err(vm.error_kind(
            "socket-error",
            "make-socket: not allowed while saving an image",
            &[],
        ));
    }
    let key = vm.os.socket(family, stream).map_err(|e| {
        let text = text_of(&e);
        let cause = cause_of(&e);
        net_error(vm, "make-socket", Value::FALSE, Value::FALSE, cause, &text)
    })?;
    socket_object(vm, key, family, stream, "unconnected")
}

/// `(%socket-connect! s address name who)`: start connecting; `#t` if
/// connected already, `#f` if `%socket-connect-wait` must wait for it.
fn socket_connect(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = who_arg(vm, base, 3);
    let who = who.as_str();
    let (s, key) = socket_key(vm, who, base, 0)?;
    let a = arg(vm, base, 1);
    let addr = addr_arg(vm, who, a)?;
    let name = arg(vm, base, 2);
    require_net(vm, who, false)?;
    vm.before_effect()?;
    name_by(vm, s, &addr)?;
    let s = arg(vm, base, 0);
    if vm.is(name, obj::STRING) {
        // The host as the program named it.
        vm.heap.set(s, field::HOST, name);
    }
    match vm.os.connect(key, &addr) {
        Ok(Progress::Done(())) => {
            let _ = vm.os.set_nodelay(key);
            Ok(Value::TRUE)
        }
        Ok(Progress::Wait) => Ok(Value::FALSE),
        Err(e) => Err(connect_error(vm, base, who, &e)),
    }
}

fn connect_error(vm: &mut Vm, base: usize, who: &str, e: &io::Error) -> Exn {
    let host = arg(vm, base, 2);
    let a = arg(vm, base, 1);
    let port = if vm.is(a, obj::VECTOR) && vm.heap.len(a) == 3 {
        vm.heap.get(a, 2)
    } else {
        Value::FALSE
    };
    let text = text_of(e);
    net_error(
        vm,
        who,
        host,
        port,
        cause_of(e),
        &format!("cannot connect: {text}"),
    )
}

/// `(%socket-connect-wait s address name deadline who)`: wait until the
/// connection `%socket-connect!` started is made (or fails, or the
/// deadline passes).
fn socket_connect_wait(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = who_arg(vm, base, 4);
    let who = who.as_str();
    let (_, key) = socket_key(vm, who, base, 0)?;
    let deadline = deadline_arg(vm, base, 3);
    if !vm.os.is_ready(key, Interest::Write) {
        let host = arg(vm, base, 2);
        let port = addr_port(vm, arg(vm, base, 1));
        check_deadline(vm, who, deadline, host, port)?;
        return Err(vm.block_until(IoWait::Fd(key, Interest::Write), deadline));
    }
    match vm.os.finish_connect(key) {
        Ok(()) => {
            let _ = vm.os.set_nodelay(key);
            Ok(Value::TRUE)
        }
        Err(e) => Err(connect_error(vm, base, who, &e)),
    }
}

fn addr_port(vm: &Vm, a: Value) -> Value {
    if vm.is(a, obj::VECTOR) && vm.heap.len(a) == 3 {
        vm.heap.get(a, 2)
    } else {
        Value::FALSE
    }
}

/// `(%socket-listen! s address backlog name)`: bind and listen.
fn socket_listen(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "listen", base, 0)?;
    let a = arg(vm, base, 1);
    let addr = addr_arg(vm, "listen", a)?;
    let backlog = arg(vm, base, 2).as_fixnum().unwrap_or(4096).clamp(1, 65535) as i32;
    require_net(vm, "listen", true)?;
    vm.before_effect()?;
    if let Err(e) = vm.os.listen(key, &addr, backlog) {
        let host = arg(vm, base, 3);
        let port = addr_port(vm, a);
        let text = text_of(&e);
        return Err(net_error(
            vm,
            "listen",
            host,
            port,
            cause_of(&e),
            &format!("cannot listen: {text}"),
        ));
    }
    name_from_local(vm, s, key)?;
    Ok(Value::UNSPECIFIED)
}

/// `(%socket-bind! s address name)`: bind a datagram socket.
fn socket_bind(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "bind", base, 0)?;
    let a = arg(vm, base, 1);
    let addr = addr_arg(vm, "bind", a)?;
    require_net(vm, "bind", true)?;
    vm.before_effect()?;
    if let Err(e) = vm.os.bind(key, &addr) {
        let host = arg(vm, base, 2);
        let port = addr_port(vm, a);
        let text = text_of(&e);
        return Err(net_error(
            vm,
            "bind",
            host,
            port,
            cause_of(&e),
            &format!("cannot bind: {text}"),
        ));
    }
    name_from_local(vm, s, key)?;
    Ok(Value::UNSPECIFIED)
}

/// Name socket `s` by its local address.
fn name_from_local(vm: &mut Vm, s: Value, key: i32) -> VmResult<()> {
    match vm.os.socket_addr(key, false) {
        Ok(a) => name_by(vm, s, &a),
        Err(_) => Ok(()),
    }
}

fn addr_text(a: &SockAddr) -> String {
    match a.as_socket() {
        Some(SocketAddr::V4(v)) => format!("{}:{}", v.ip(), v.port()),
        Some(SocketAddr::V6(v)) => format!("[{}]:{}", v.ip(), v.port()),
        None => a
            .as_pathname()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unix".into()),
    }
}

/// `(%socket-accept s deadline)`: the next connection (a new socket);
/// waits for one.
fn socket_accept(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-accept", base, 0)?;
    let deadline = deadline_arg(vm, base, 1);
    if vm.os.fd_kind(key) != Some(FdKind::Listener) {
        return Err(vm.error_kind(
            "socket-error",
            "socket-accept: the socket is not listening",
            &[s],
        ));
    }
    if vm.os.fenced {
        return Err(vm.error_kind(
            "socket-error",
            "socket-accept: not allowed while saving an image",
            &[s],
        ));
    }
    match vm.os.accept(key) {
        Ok(Progress::Done(k)) => {
            let family = family_of(vm.heap.get(s, field::FAMILY).as_fixnum_unchecked());
            let c = socket_object(vm, k, family, true, "a local peer")?;
            if let Ok(a) = vm.os.socket_addr(k, true)
                && a.as_socket().is_some()
            {
                vm.stack.push(c);
                let named = name_by(vm, c, &a);
                let c = vm.stack.pop().unwrap_or(Value::FALSE);
                named?;
                return Ok(c);
            }
            Ok(c)
        }
        Ok(Progress::Wait) => Err(sock_wait(
            vm,
            "socket-accept",
            s,
            key,
            Interest::Read,
            deadline,
        )),
        Err(e) => Err(sock_error(vm, "socket-accept", s, &e)),
    }
}

// ---- data ---------------------------------------------------------------------------------

/// `(%socket-queue! s bytevector start end)`: queue bytes for sending and
/// send what the socket takes now. Returns the bytes still pending.
fn socket_queue(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-send", base, 0)?;
    let bv = vm.typed_arg("socket-send", base, 1, obj::BYTEVECTOR, "a bytevector")?;
    let len = vm.bytevector_len(bv);
    let start = arg(vm, base, 2)
        .as_fixnum()
        .unwrap_or(0)
        .clamp(0, len as i64) as usize;
    let end = arg(vm, base, 3)
        .as_fixnum()
        .unwrap_or(len as i64)
        .clamp(start as i64, len as i64) as usize;
    vm.before_effect()?;
    let bytes = &vm.heap.payload_bytes(bv)[8 + start..8 + end];
    match vm.os.write(key, bytes) {
        Ok(n) => Ok(Value::fix(n as i64)),
        Err(m) => Err(data_error(vm, "socket-send", s, &m)),
    }
}

/// `(%socket-flush s deadline)`: wait until everything queued is sent.
fn socket_flush(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-send", base, 0)?;
    let deadline = deadline_arg(vm, base, 1);
    match vm.os.drain(key) {
        Ok(0) => Ok(Value::UNSPECIFIED),
        Ok(_) => Err(sock_wait(
            vm,
            "socket-send",
            s,
            key,
            Interest::Write,
            deadline,
        )),
        Err(m) => Err(data_error(vm, "socket-send", s, &m)),
    }
}

/// `(%socket-recv s n deadline)`: at most `n` bytes received (a
/// bytevector, empty at end of stream); waits for some.
fn socket_recv(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-recv", base, 0)?;
    let n = vm.index_arg("socket-recv", base, 1)?.clamp(1, 1 << 24);
    let deadline = deadline_arg(vm, base, 2);
    // The bytes go from the kernel to a kept buffer to the heap: one copy
    // each, nothing zeroed.
    match vm.os.read_scratch(key, n) {
        Ok(Some(got)) => {
            let b = vm.bytevector_uninit(got)?;
            let Vm { os, heap, .. } = &mut *vm;
            heap.set_payload_bytes(b, 8, os.scratch(got));
            Ok(b)
        }
        Ok(None) => Err(sock_wait(
            vm,
            "socket-recv",
            s,
            key,
            Interest::Read,
            deadline,
        )),
        Err(m) => Err(data_error(vm, "socket-recv", s, &m)),
    }
}

/// `(%socket-send-to s bytevector address name deadline)`: send one
/// datagram (to `address`, or `#f`: the connected peer).
fn socket_send_to(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-send", base, 0)?;
    let bv = vm.typed_arg("socket-send", base, 1, obj::BYTEVECTOR, "a bytevector")?;
    let a = arg(vm, base, 2);
    let addr = if a == Value::FALSE {
        None
    } else {
        Some(addr_arg(vm, "socket-send", a)?)
    };
    let deadline = deadline_arg(vm, base, 4);
    vm.before_effect()?;
    let data = vm.heap.payload_bytes(bv)[8..8 + vm.bytevector_len(bv)].to_vec();
    match vm.os.send_to(key, &data, addr.as_ref()) {
        Ok(Progress::Done(n)) => Ok(Value::fix(n as i64)),
        Ok(Progress::Wait) => Err(sock_wait(
            vm,
            "socket-send",
            s,
            key,
            Interest::Write,
            deadline,
        )),
        Err(e) => {
            let host = arg(vm, base, 3);
            let port = addr_port(vm, a);
            let text = text_of(&e);
            Err(net_error(
                vm,
                "socket-send",
                host,
                port,
                cause_of(&e),
                &text,
            ))
        }
    }
}

/// `(%socket-recv-from s n deadline)`: one datagram of at most `n` bytes,
/// as `(bytevector . address)`; waits for one.
fn socket_recv_from(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-recv", base, 0)?;
    let n = vm.index_arg("socket-recv", base, 1)?.clamp(1, 65536);
    let deadline = deadline_arg(vm, base, 2);
    let mut buf = vec![0u8; n];
    match vm.os.recv_from(key, &mut buf) {
        Ok(Progress::Done((got, from))) => {
            let b = vm.bytevector(&buf[..got])?;
            vm.stack.push(b);
            let a = match from {
                Some(a) => addr_value(vm, &a),
                None => Ok(Value::FALSE),
            };
            let b = vm.stack.pop().unwrap_or(Value::FALSE);
            vm.cons(b, a?)
        }
        Ok(Progress::Wait) => Err(sock_wait(
            vm,
            "socket-recv",
            s,
            key,
            Interest::Read,
            deadline,
        )),
        Err(e) => Err(sock_error(vm, "socket-recv", s, &e)),
    }
}

/// `(%socket-shutdown s how)`: 0 reading, 1 writing, 2 both. Writing is
/// shut after what is queued has been sent.
fn socket_shutdown(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (s, key) = socket_key(vm, "socket-shutdown", base, 0)?;
    let how = arg(vm, base, 1).as_fixnum().unwrap_or(2);
    if how != 0 && vm.os.drain(key).unwrap_or(0) > 0 {
        return Err(vm.block_until(IoWait::Fd(key, Interest::Write), None));
    }
    vm.os
        .shutdown(key, how as i32)
        .map_err(|e| sock_error(vm, "socket-shutdown", s, &e))?;
    Ok(Value::UNSPECIFIED)
}

/// `(%socket-close s)`: close the socket and every port over it (what is
/// queued is sent first, as far as the socket takes it now).
fn socket_close(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = socket_arg(vm, "socket-close", base, 0)?;
    if vm.heap.get(s, field::SESSION) != Value::fix(vm.os.session) {
        return Ok(Value::UNSPECIFIED);
    }
    let key = vm.heap.get(s, field::KEY).as_fixnum_unchecked() as i32;
    if vm.os.is_inherited(key) || !vm.os.owns(key) {
        return Ok(Value::UNSPECIFIED);
    }
    vm.close_fd(key)?;
    Ok(Value::UNSPECIFIED)
}

/// `(%socket-port s input? binary?)`: the port over `s` (made once; the
/// same port every time after).
fn socket_port(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let input = arg(vm, base, 1).is_true();
    let binary = arg(vm, base, 2).is_true();
    let who = if input {
        "socket-input-port"
    } else {
        "socket-output-port"
    };
    let (s, key) = socket_key(vm, who, base, 0)?;
    let slot = if input { field::INPUT } else { field::OUTPUT };
    let existing = vm.heap.get(s, slot);
    if existing != Value::FALSE {
        let kind = crate::prim::io::port_kind(vm, existing);
        let is_binary = matches!(
            kind,
            crate::prim::io::kind::FD_BIN_IN
                | crate::prim::io::kind::FD_BIN_OUT
                | crate::prim::io::kind::CLOSED_BIN_IN
                | crate::prim::io::kind::CLOSED_BIN_OUT
        );
        if is_binary != binary {
            return Err(vm.error_kind(
                "socket-error",
                format!(
                    "{who}: the socket already has a {} port",
                    if is_binary { "binary" } else { "textual" }
                ),
                &[s],
            ));
        }
        return Ok(existing);
    }
    use crate::prim::io::kind;
    let k = match (input, binary) {
        (true, false) => kind::FD_IN,
        (true, true) => kind::FD_BIN_IN,
        (false, false) => kind::FD_OUT,
        (false, true) => kind::FD_BIN_OUT,
    };
    let p = crate::prim::io::fd_port(vm, k, key)?;
    vm.os.retain(key);
    let s = arg(vm, base, 0);
    vm.heap.set(s, slot, p);
    Ok(p)
}

/// `(%socket-address s peer?)`: the local or remote address, as
/// `#(family "ip" port)` or a path.
fn socket_address(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let peer = arg(vm, base, 1).is_true();
    let who = if peer {
        "socket-peer-address"
    } else {
        "socket-local-address"
    };
    let key = socket_or_port_key(vm, who, base, 0)?;
    match vm.os.socket_addr(key, peer) {
        Ok(a) => addr_value(vm, &a),
        Err(e) => {
            let text = text_of(&e);
            Err(net_error(
                vm,
                who,
                Value::FALSE,
                Value::FALSE,
                cause_of(&e),
                &text,
            ))
        }
    }
}

fn socket_family(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    if vm.is(v, SOCKET) {
        return Ok(vm.heap.get(v, field::FAMILY));
    }
    let key = socket_or_port_key(vm, "socket-family", base, 0)?;
    let code = match vm.os.socket_addr(key, false).map(|a| a.domain()) {
        Ok(d) if d == socket2::Domain::IPV6 => 1,
        Ok(d) if d == socket2::Domain::UNIX => 2,
        _ => 0,
    };
    Ok(Value::fix(code))
}

fn socket_type(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = socket_arg(vm, "socket-type", base, 0)?;
    Ok(vm.heap.get(s, field::TYPE))
}

/// `(%port-socket-key p)`: is port `p` over a socket? (its key, or `#f`).
fn port_socket_key(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    if !vm.is(p, obj::PORT) {
        return Ok(Value::FALSE);
    }
    let key = vm.heap.get(p, 3);
    match key.as_fixnum() {
        Some(k) if vm.os.fd_kind(k as i32) == Some(FdKind::Socket) => Ok(key),
        _ => Ok(Value::FALSE),
    }
}

/// `(%socket-timeouts! s read-us write-us)`: limit waits for reading and
/// writing on `s` and the ports over it (`#f`: no limit).
fn socket_timeouts(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (_, key) = socket_key(vm, "socket-set-timeout!", base, 0)?;
    let r = arg(vm, base, 1).as_fixnum();
    let w = arg(vm, base, 2).as_fixnum();
    vm.os.set_timeouts(key, r, w);
    Ok(Value::UNSPECIFIED)
}

/// `(%raise-socket-error message host port cause)`: raise a
/// `socket-error` condition.
fn raise_socket_error(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = arg(vm, base, 0);
    let msg = if vm.is(m, obj::STRING) {
        vm.string_text(m)
    } else {
        "socket error".into()
    };
    let irritants = [arg(vm, base, 1), arg(vm, base, 2), arg(vm, base, 3)];
    Err(vm.error_kind("socket-error", msg, &irritants))
}

/// `(%socket-release! s)`: the socket object lets go of its descriptor,
/// which the ports over it keep open until the last is closed (what
/// `tcp-connect` and `tcp-accept` return).
fn socket_release(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (_, key) = socket_key(vm, "socket", base, 0)?;
    if vm.os.release(key) {
        vm.close_fd(key)?;
    }
    Ok(Value::UNSPECIFIED)
}
