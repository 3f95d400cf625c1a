//! Input and output (R7RS 6.13): ports, `display`, `write`, `read`.
//!
//! A port is a heap object `PORT[kind, buffer, position, fd]`. String
//! ports keep their text in a heap string (output ports grow it by
//! doubling). The console ports write through the VM's `out` sink or to
//! stderr; standard input is read a line at a time by a helper thread.
//! Pipe ports own a non-blocking descriptor (`fd`) kept by `crate::os`.
//!
//! Input ports keep the text read but not yet consumed in `buffer` from
//! `position`; reading more appends to it, and nothing is consumed until a
//! whole character, line or datum is there. So a read that must wait has
//! had no effect: it raises `Exn::Block`, the thread waits (others run),
//! and the call is made again.

use std::io::Write;

use imp_gc::Value;

use super::{MANY, PrimDef, arg, def, opt_arg};
use crate::obj::{self, PORT};
use crate::os::{Interest, ReadOutcome};
use crate::printer::{Mode, print};
use crate::vm::{Exn, Grant, IoWait, Reg, Vm, VmResult};

/// Port kinds.
pub mod kind {
    /// Standard output.
    pub const STDOUT: i64 = 0;
    /// Standard error.
    pub const STDERR: i64 = 1;
    /// A string output port.
    pub const STRING_OUT: i64 = 2;
    /// A string input port.
    pub const STRING_IN: i64 = 3;
    /// Standard input.
    pub const STDIN: i64 = 4;
    /// A closed input port.
    pub const CLOSED: i64 = 5;
    /// The read end of a pipe.
    pub const FD_IN: i64 = 6;
    /// The write end of a pipe.
    pub const FD_OUT: i64 = 7;
    /// A closed output port.
    pub const CLOSED_OUT: i64 = 8;
    /// A bytevector input port.
    pub const BYTES_IN: i64 = 9;
    /// A bytevector output port.
    pub const BYTES_OUT: i64 = 10;
    /// A binary file input port.
    pub const FD_BIN_IN: i64 = 11;
    /// A binary file output port.
    pub const FD_BIN_OUT: i64 = 12;
    /// A closed binary input port.
    pub const CLOSED_BIN_IN: i64 = 13;
    /// A closed binary output port.
    pub const CLOSED_BIN_OUT: i64 = 14;
}

/// Whether a port of `kind` is (or was) a binary port.
fn is_binary_kind(k: i64) -> bool {
    (kind::BYTES_IN..=kind::CLOSED_BIN_OUT).contains(&k)
}

/// Whether a port of `kind` is (or was, before it was closed) for input.
fn is_input_kind(k: i64) -> bool {
    matches!(
        k,
        kind::STRING_IN
            | kind::STDIN
            | kind::FD_IN
            | kind::CLOSED
            | kind::BYTES_IN
            | kind::FD_BIN_IN
            | kind::CLOSED_BIN_IN
    )
}

/// Whether a port of `kind` is (or was) for output.
fn is_output_kind(k: i64) -> bool {
    matches!(
        k,
        kind::STDOUT
            | kind::STDERR
            | kind::STRING_OUT
            | kind::FD_OUT
            | kind::CLOSED_OUT
            | kind::BYTES_OUT
            | kind::FD_BIN_OUT
            | kind::CLOSED_BIN_OUT
    )
}

/// Bytes an output descriptor may hold unwritten before writers wait.
pub(super) const OUT_LIMIT: usize = 65536;

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("display", 1, 2, display),
    def("write", 1, 2, write),
    def("write-simple", 1, 2, write_simple),
    def("write-shared", 1, 2, write_shared),
    def("newline", 0, 1, newline),
    def("write-char", 1, 2, write_char),
    def("write-string", 1, 4, write_string),
    def("write-u8", 1, 2, write_u8),
    def("open-output-string", 0, 0, open_output_string),
    def("open-input-string", 1, 1, open_input_string),
    def("get-output-string", 1, 1, get_output_string),
    def("read-char", 0, 1, read_char),
    def("peek-char", 0, 1, peek_char),
    def("read-line", 0, 1, read_line),
    def("read-string", 1, 2, read_string),
    def("char-ready?", 0, 1, char_ready),
    def("read", 0, 1, read),
    def("eof-object", 0, 0, eof_object),
    def("eof-object?", 1, 1, eof_object_p),
    def("port?", 1, 1, port_p),
    def("input-port?", 1, 1, input_port_p),
    def("output-port?", 1, 1, output_port_p),
    def("textual-port?", 1, 1, textual_port_p),
    def("binary-port?", 1, 1, binary_port_p),
    def("input-port-open?", 1, 1, input_port_open),
    def("output-port-open?", 1, 1, output_port_open),
    def("close-port", 1, 1, close_port),
    def("close-input-port", 1, 1, close_port),
    def("close-output-port", 1, 1, close_port),
    def("flush-output-port", 0, 1, flush_output_port),
    def("%make-console-port", 1, 1, make_console_port),
    def("%load-open", 1, 1, load_open),
    def("%load-next", 1, 1, load_next),
    def("%print-error", 1, 2, print_error),
    def("features", 0, 0, features),
    def("%format", 1, MANY, format),
    def("make-pipe", 0, 0, make_pipe),
    def("open-input-file", 1, 1, open_input_file),
    def("open-output-file", 1, 1, open_output_file),
    def("%open-output-file", 2, 2, open_output_file_append),
    def("file-exists?", 1, 1, file_exists),
    def("delete-file", 1, 1, delete_file),
];

pub(crate) fn port_kind(vm: &Vm, p: Value) -> i64 {
    vm.heap.get(p, 0).as_fixnum_unchecked()
}

/// A port object of `kind` with `buffer` and position 0.
pub(super) fn make_port(vm: &mut Vm, kind: i64, buffer: Value) -> VmResult<Value> {
    vm.stack.push(buffer);
    let p = vm.alloc(PORT, 5);
    let buffer = vm.stack.pop().unwrap_or(Value::FALSE);
    let p = p?;
    vm.heap.set(p, 0, Value::fix(kind));
    vm.heap.set(p, 1, buffer);
    vm.heap.set(p, 2, Value::fix(0));
    vm.heap.set(p, 3, Value::FALSE);
    vm.heap.set(p, 4, Value::fix(vm.os.session));
    Ok(p)
}

/// A failed line of standard input as a condition: a `read-error` for a
/// line that is not UTF-8 (the next line can be read), else a `file-error`.
pub(crate) fn stdin_error(vm: &mut Vm, e: crate::os::StdinError) -> Exn {
    vm.error_kind(
        if e.decoding {
            "read-error"
        } else {
            "file-error"
        },
        e.message,
        &[],
    )
}

/// The descriptor of a pipe or file port, refusing ports made by another
/// process (an image's previous session, or the parent of a save child).
pub(crate) fn port_fd(vm: &mut Vm, p: Value) -> VmResult<i32> {
    if vm.heap.get(p, 4) != Value::fix(vm.os.session) {
        return Err(vm.error_kind(
            "file-error",
            "stale handle from a previous session: this port was opened by another process",
            &[p],
        ));
    }
    let key = vm.heap.get(p, 3).as_fixnum().unwrap_or(-1) as i32;
    if vm.os.is_inherited(key) {
        check_fence(vm, p)?;
        return Err(vm.error_kind(
            "file-error",
            "this port belongs to the parent process (its descriptor was closed in this forked child)",
            &[p],
        ));
    }
    Ok(key)
}

/// In a save child, I/O on anything inherited from the parent is refused.
fn check_fence(vm: &mut Vm, p: Value) -> VmResult<()> {
    if vm.os.fenced {
        return Err(vm.error_kind(
            "file-error",
            "I/O on a port inherited from the parent is not allowed while saving an image",
            &[p],
        ));
    }
    Ok(())
}

/// A port of `kind` (`FD_IN`, `FD_OUT`, `FD_BIN_IN`, `FD_BIN_OUT`) on
/// descriptor `fd`.
pub(crate) fn fd_port(vm: &mut Vm, kind: i64, fd: i32) -> VmResult<Value> {
    let buffer = match kind {
        kind::FD_IN => vm.string("")?,
        kind::FD_BIN_IN => vm.make_bytevector(0, 0)?,
        _ => Value::FALSE,
    };
    let p = make_port(vm, kind, buffer)?;
    vm.heap.set(p, 3, Value::fix(fd as i64));
    Ok(p)
}

/// Open the file argument 0 names (if the host granted it) as a
/// descriptor: for reading, or for writing (truncated unless `append`).
pub(super) fn open_file_arg(
    vm: &mut Vm,
    who: &str,
    base: usize,
    write: bool,
    append: bool,
) -> VmResult<i32> {
    let p = vm.typed_arg(who, base, 0, obj::STRING, "a file name string")?;
    vm.require(
        who,
        if write {
            Grant::WriteFiles
        } else {
            Grant::ReadFiles
        },
    )?;
    if write {
        // Creating or truncating a file is seen outside the process.
        vm.before_effect()?;
    }
    let path = vm.string_text(p);
    // The message names the file: no irritant repeats it.
    vm.os
        .open_file(&path, write, append)
        .map_err(|m| vm.error_kind("file-error", format!("{who}: {m}"), &[]))
}

fn open_file_port(
    vm: &mut Vm,
    who: &str,
    base: usize,
    write: bool,
    append: bool,
) -> VmResult<Value> {
    let fd = open_file_arg(vm, who, base, write, append)?;
    fd_port(vm, if write { kind::FD_OUT } else { kind::FD_IN }, fd)
}

fn open_input_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    open_file_port(vm, "open-input-file", base, false, false)
}

fn open_output_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    open_file_port(vm, "open-output-file", base, true, false)
}

/// `(%open-output-file path append?)`.
fn open_output_file_append(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let append = arg(vm, base, 1).is_true();
    open_file_port(vm, "open-output-file", base, true, append)
}

fn file_exists(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("file-exists?", base, 0, obj::STRING, "a file name string")?;
    vm.require("file-exists?", Grant::ReadFiles)?;
    Ok(Value::bool(
        std::path::Path::new(&vm.string_text(p)).exists(),
    ))
}

fn delete_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("delete-file", base, 0, obj::STRING, "a file name string")?;
    vm.require("delete-file", Grant::WriteFiles)?;
    vm.before_effect()?;
    let path = vm.string_text(p);
    std::fs::remove_file(&path).map_err(|e| {
        vm.error_kind(
            "file-error",
            format!("delete-file: cannot delete `{path}`: {e}"),
            &[p],
        )
    })?;
    Ok(Value::UNSPECIFIED)
}

/// `(make-pipe)`: an input port and an output port joined by a pipe.
fn make_pipe(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let (r, w) = vm
        .os
        .pipe()
        .map_err(|m| vm.error_kind("file-error", m, &[]))?;
    let base = vm.stack.len();
    let pin = fd_port(vm, kind::FD_IN, r)?;
    vm.stack.push(pin);
    let pout = fd_port(vm, kind::FD_OUT, w)?;
    vm.stack.push(pout);
    vm.object_from_stack(obj::VALUES, base)
}

/// The output port argument `i`, or the current output port.
fn out_port(vm: &mut Vm, who: &str, base: usize, argc: usize, i: usize) -> VmResult<Value> {
    match opt_arg(vm, base, argc, i) {
        Some(p) if vm.is(p, PORT) => Ok(p),
        Some(p) => Err(vm.type_error(who, "an output port", p)),
        None => {
            let param = vm.reg(Reg::OutParam);
            Ok(vm.parameter_value(param))
        }
    }
}

fn in_port(vm: &mut Vm, who: &str, base: usize, argc: usize, i: usize) -> VmResult<Value> {
    match opt_arg(vm, base, argc, i) {
        Some(p) if vm.is(p, PORT) => Ok(p),
        Some(p) => Err(vm.type_error(who, "an input port", p)),
        None => {
            let param = vm.reg(Reg::InParam);
            Ok(vm.parameter_value(param))
        }
    }
}

/// Write `text` to the port at `stack[slot]`.
pub fn port_write(vm: &mut Vm, who: &str, slot: usize, text: &str) -> VmResult<()> {
    let p = vm.stack[slot];
    if !vm.is(p, PORT) {
        return Err(vm.type_error(who, "an output port", p));
    }
    if matches!(port_kind(vm, p), kind::STDOUT | kind::STDERR) {
        check_fence(vm, p)?;
    }
    if matches!(port_kind(vm, p), kind::STDOUT | kind::STDERR | kind::FD_OUT) {
        vm.before_effect()?;
    }
    match port_kind(vm, p) {
        kind::STDOUT => {
            vm.out_pending = true;
            if vm.out.write_all(text.as_bytes()).is_err() {
                return Err(vm.error_kind(
                    "file-error",
                    format!("{who}: cannot write to standard output"),
                    &[],
                ));
            }
            Ok(())
        }
        kind::STDERR => {
            let _ = vm.write_error_output(text.as_bytes());
            Ok(())
        }
        kind::STRING_OUT => {
            let n = text.chars().count();
            let buf = vm.heap.get(p, 1);
            let len = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
            let cap = vm.string_len(buf);
            // A wide character into a narrow buffer: a wide copy (the
            // buffer is the port's own, so its identity does not matter).
            let widen = !vm.string_is_wide(buf) && !text.chars().all(crate::vm::narrow_char);
            if len + n > cap || widen {
                let new_cap = if len + n > cap {
                    (len + n).max(cap * 2).max(32)
                } else {
                    cap
                };
                let wide = widen || vm.string_is_wide(buf);
                let nb = vm.blank_string(new_cap, wide)?;
                let p = vm.stack[slot];
                let buf = vm.heap.get(p, 1);
                for i in 0..len {
                    let c = vm.string_ref(buf, i);
                    vm.string_set(nb, i, c);
                }
                vm.heap.set(p, 1, nb);
            }
            let p = vm.stack[slot];
            let buf = vm.heap.get(p, 1);
            for (i, c) in text.chars().enumerate() {
                vm.string_set(buf, len + i, c);
            }
            vm.heap.set(p, 2, Value::fix((len + n) as i64));
            Ok(())
        }
        kind::FD_OUT => {
            let fd = port_fd(vm, p)?;
            let pending = vm.os.drain(fd).map_err(|m| fd_error(vm, who, fd, m))?;
            if pending > OUT_LIMIT {
                return Err(fd_block(vm, who, fd, Interest::Write));
            }
            vm.os
                .write(fd, text.as_bytes())
                .map_err(|m| fd_error(vm, who, fd, m))?;
            Ok(())
        }
        _ => Err(vm.error(format!("{who}: port is not an open output port"), &[p])),
    }
}

fn print_to(vm: &mut Vm, who: &str, base: usize, argc: usize, mode: Mode) -> VmResult<Value> {
    let port = out_port(vm, who, base, argc, 1)?;
    if matches!(
        port_kind(vm, port),
        kind::STDOUT | kind::STDERR | kind::FD_OUT
    ) {
        return print_streaming(vm, who, port, arg(vm, base, 0), mode);
    }
    let text = print(vm, arg(vm, base, 0), mode);
    vm.stack.push(port);
    let slot = vm.stack.len() - 1;
    let r = port_write(vm, who, slot, &text);
    vm.stack.pop();
    r.map(|_| Value::UNSPECIFIED)
}

/// Print `v` to a console or descriptor port a piece at a time, so that a
/// large value is never held whole as text. Nothing is allocated in the
/// heap between the pieces (the printer holds heap values), and a port
/// that must wait does so before the first piece, so a call made again
/// after the wait prints everything once.
fn print_streaming(vm: &mut Vm, who: &str, port: Value, v: Value, mode: Mode) -> VmResult<Value> {
    vm.before_effect()?;
    let k = port_kind(vm, port);
    let fd = if k == kind::FD_OUT {
        let fd = port_fd(vm, port)?;
        let pending = vm.os.drain(fd).map_err(|m| fd_error(vm, who, fd, m))?;
        if pending > OUT_LIMIT {
            return Err(fd_block(vm, who, fd, Interest::Write));
        }
        fd
    } else {
        check_fence(vm, port)?;
        -1
    };
    let mut printer = crate::printer::Printer::new(vm, v, mode);
    while let Some(piece) = printer.next_chunk(vm) {
        let failed = match k {
            kind::STDOUT => {
                vm.out_pending = true;
                vm.out
                    .write_all(piece.as_bytes())
                    .err()
                    .map(|e| e.to_string())
            }
            kind::STDERR => vm
                .write_error_output(piece.as_bytes())
                .err()
                .map(|e| e.to_string()),
            _ => vm.os.write(fd, piece.as_bytes()).err(),
        };
        if let Some(m) = failed {
            drop(printer);
            return Err(vm.error_kind("file-error", format!("{who}: cannot write: {m}"), &[]));
        }
    }
    Ok(Value::UNSPECIFIED)
}

fn display(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    print_to(vm, "display", base, argc, Mode::Display)
}

fn write(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    print_to(vm, "write", base, argc, Mode::Write)
}

fn write_simple(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    print_to(vm, "write-simple", base, argc, Mode::WriteSimple)
}

fn write_shared(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    print_to(vm, "write-shared", base, argc, Mode::WriteShared)
}

fn write_text(
    vm: &mut Vm,
    who: &str,
    base: usize,
    argc: usize,
    port_i: usize,
    text: &str,
) -> VmResult<Value> {
    let port = out_port(vm, who, base, argc, port_i)?;
    vm.stack.push(port);
    let slot = vm.stack.len() - 1;
    let r = port_write(vm, who, slot, text);
    vm.stack.pop();
    r.map(|_| Value::UNSPECIFIED)
}

fn newline(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    write_text(vm, "newline", base, argc, 0, "\n")
}

fn write_char(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let c = vm.char_arg("write-char", base, 0)?;
    write_text(vm, "write-char", base, argc, 1, c.encode_utf8(&mut [0; 4]))
}

fn write_string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = vm.typed_arg("write-string", base, 0, obj::STRING, "a string")?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("write-string", base, argc, 2, len)?;
    let s = arg(vm, base, 0);
    let text: String = (start..end).map(|i| vm.string_ref(s, i)).collect();
    write_text(vm, "write-string", base, argc, 1, &text)
}

fn write_u8(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    Err(vm.error("write-u8: binary ports are not supported yet", &[v]))
}

fn open_output_string(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let buf = vm.make_string(32, ' ')?;
    make_port(vm, kind::STRING_OUT, buf)
}

fn open_input_string(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = vm.typed_arg("open-input-string", base, 0, obj::STRING, "a string")?;
    make_port(vm, kind::STRING_IN, s)
}

fn get_output_string(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("get-output-string", base, 0, PORT, "a string output port")?;
    if port_kind(vm, p) != kind::STRING_OUT {
        return Err(vm.type_error("get-output-string", "a string output port", p));
    }
    let buf = vm.heap.get(p, 1);
    let len = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
    let chars: Vec<char> = (0..len).map(|i| vm.string_ref(buf, i)).collect();
    vm.string_from_chars(&chars)
}

/// An I/O error on descriptor `fd` (message `m` from `crate::os`): a
/// `socket-error` whose irritants end with the cause (`closed`, `reset`,
/// `error`) for a socket, else a `file-error`.
pub(crate) fn fd_error(vm: &mut Vm, who: &str, fd: i32, m: String) -> Exn {
    if is_socket(vm, fd) {
        return socket_fail(vm, who, fd, crate::os::failure_cause(&m), &m);
    }
    vm.error_kind("file-error", format!("{who}: {m}"), &[])
}

fn is_socket(vm: &Vm, fd: i32) -> bool {
    matches!(
        vm.os.fd_kind(fd),
        Some(crate::os::FdKind::Socket | crate::os::FdKind::Datagram | crate::os::FdKind::Listener)
    )
}

/// A `socket-error` about the socket under key `fd`, named by its peer
/// (the host and port the program talks to): irritants host, port, cause.
fn socket_fail(vm: &mut Vm, who: &str, fd: i32, cause: &str, text: &str) -> Exn {
    let peer = vm.os.remote(fd);
    let (host, port) = match peer {
        Some(a) => (Some(a.ip().to_string()), Value::fix(a.port() as i64)),
        None => (None, Value::FALSE),
    };
    let at = match (&host, port.as_fixnum()) {
        (Some(h), Some(p)) => format!("{h} port {p}: "),
        _ => String::new(),
    };
    let msg = format!("{who}: {at}{text}");
    let host = match host {
        Some(h) => match vm.string(&h) {
            Ok(v) => v,
            Err(e) => return e,
        },
        None => Value::FALSE,
    };
    vm.stack.push(host);
    let cause = vm.intern(cause);
    let host = vm.stack.pop().unwrap_or(Value::FALSE);
    let cause = match cause {
        Ok(c) => c,
        Err(e) => return e,
    };
    vm.error_kind("socket-error", msg, &[host, port, cause])
}

/// Wait for descriptor `fd` to be ready for `interest`: the call is made
/// again then, or when the descriptor's timeout (`Os::set_timeouts`)
/// passes, which the call made again reports as a timeout error.
pub(crate) fn fd_block(vm: &mut Vm, who: &str, fd: i32, interest: Interest) -> Exn {
    let now = vm.now_us();
    match vm.os.io_deadline(fd, interest, now) {
        Some(d) if now >= d => {
            let doing = match interest {
                Interest::Read => "reading",
                Interest::Write => "writing",
            };
            if is_socket(vm, fd) {
                return socket_fail(vm, who, fd, "timeout", &format!("timed out {doing}"));
            }
            vm.error_kind("file-error", format!("{who}: timed out {doing}"), &[])
        }
        d => vm.block_until(IoWait::Fd(fd, interest), d),
    }
}

/// Wait for the OS: the call is made again when `wait` is ready.
pub(super) fn block(wait: IoWait) -> Exn {
    Exn::Block {
        wait,
        argc: 0,
        tail: false,
    }
}

/// The unread text of the input port at `stack[slot]`.
fn unread(vm: &Vm, slot: usize) -> (usize, usize) {
    let p = vm.stack[slot];
    let buf = vm.heap.get(p, 1);
    let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
    let len = if vm.is(buf, obj::STRING) {
        vm.string_len(buf)
    } else {
        0
    };
    (pos, len)
}

/// Consume `n` characters (or bytes, for a binary port) of the port at
/// `stack[slot]`.
pub(super) fn consume(vm: &mut Vm, slot: usize, n: usize) {
    let p = vm.stack[slot];
    let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
    vm.heap.set(p, 2, Value::fix((pos + n) as i64));
}

/// Make sure the input port at `stack[slot]` has unread text, or (with
/// `more`) read more and append it. `false` at end of input; raises
/// `Exn::Block` when the data is not there yet.
pub(super) fn fill(vm: &mut Vm, slot: usize, more: bool) -> VmResult<bool> {
    let p = vm.stack[slot];
    let k = port_kind(vm, p);
    if !matches!(k, kind::STRING_IN | kind::STDIN | kind::FD_IN) {
        return Err(vm.error("input port is closed or not an input port", &[p]));
    }
    let (pos, len) = unread(vm, slot);
    if !more && pos < len {
        return Ok(true);
    }
    let text = match k {
        kind::STRING_IN => return Ok(false),
        kind::STDIN if vm.os.fenced => {
            check_fence(vm, p)?;
            return Ok(false);
        }
        kind::STDIN => match vm.os.stdin_lines.pop_front() {
            Some(Ok(Some(line))) => line,
            Some(Ok(None)) => {
                // Every later read sees end of file too.
                vm.os.stdin_lines.push_front(Ok(None));
                return Ok(false);
            }
            Some(Err(e)) => return Err(stdin_error(vm, e)),
            None => {
                let _ = vm.out.flush();
                vm.os
                    .request_stdin_line()
                    .map_err(|m| vm.error_kind("file-error", m, &[]))?;
                return Err(block(IoWait::Stdin));
            }
        },
        _ => {
            let fd = port_fd(vm, p)?;
            match vm.os.read(fd).map_err(|m| fd_error(vm, "read", fd, m))? {
                ReadOutcome::Text(t) if !t.is_empty() => t,
                ReadOutcome::Text(_) | ReadOutcome::WouldBlock => {
                    return Err(fd_block(vm, "read", fd, Interest::Read));
                }
                ReadOutcome::Eof => return Ok(false),
                ReadOutcome::Invalid { offset, byte } => {
                    return Err(vm.error_kind(
                        "read-error",
                        format!("input is not valid UTF-8 (byte 0x{byte:02x} at byte {offset})"),
                        &[],
                    ));
                }
            }
        }
    };
    append_unread(vm, slot, &text)?;
    Ok(true)
}

/// Make the buffer of the input port at `stack[slot]` its unread text
/// followed by `text` (one copy of each).
fn append_unread(vm: &mut Vm, slot: usize, text: &str) -> VmResult<()> {
    let (pos, len) = unread(vm, slot);
    let buf = vm.heap.get(vm.stack[slot], 1);
    let mut all: String = (pos..len).map(|i| vm.string_ref(buf, i)).collect();
    all.push_str(text);
    let s = vm.string(&all)?;
    let p = vm.stack[slot];
    vm.heap.set(p, 1, s);
    vm.heap.set(p, 2, Value::fix(0));
    Ok(())
}

/// Read from the descriptor of the input port at `stack[slot]` until
/// text for which `enough` holds arrives (or the end of the input), then
/// append all of it to the port's buffer at once: linear however many
/// reads it takes. `false` at the end of the input with nothing read. A
/// read that must wait stashes what it gathered for the call made again.
fn fill_until(vm: &mut Vm, slot: usize, enough: impl Fn(&str) -> bool) -> VmResult<bool> {
    let p = vm.stack[slot];
    let fd = port_fd(vm, p)?;
    let (mut acc, _) = vm.os.take_stash_text(fd);
    let mut eof = false;
    if !enough(&acc) {
        loop {
            let got = vm.os.read(fd).map_err(|m| fd_error(vm, "read", fd, m))?;
            match got {
                ReadOutcome::Text(t) => {
                    acc.push_str(&t);
                    if enough(&t) {
                        break;
                    }
                }
                ReadOutcome::WouldBlock if acc.is_empty() => {
                    return Err(fd_block(vm, "read", fd, Interest::Read));
                }
                ReadOutcome::WouldBlock => {
                    let chars = acc.chars().count();
                    vm.os.stash_text(fd, acc, chars);
                    return Err(fd_block(vm, "read", fd, Interest::Read));
                }
                ReadOutcome::Eof => {
                    eof = true;
                    break;
                }
                ReadOutcome::Invalid { offset, byte } => {
                    let chars = acc.chars().count();
                    vm.os.stash_text(fd, acc, chars);
                    return Err(vm.error_kind(
                        "read-error",
                        format!("input is not valid UTF-8 (byte 0x{byte:02x} at byte {offset})"),
                        &[],
                    ));
                }
            }
        }
    }
    if acc.is_empty() {
        return Ok(!eof);
    }
    append_unread(vm, slot, &acc)?;
    Ok(true)
}

/// Run `f` with the input port (argument `i`, or the current one) rooted
/// at a stack slot.
fn with_in_port(
    vm: &mut Vm,
    who: &str,
    base: usize,
    argc: usize,
    i: usize,
    f: impl FnOnce(&mut Vm, usize) -> VmResult<Value>,
) -> VmResult<Value> {
    let p = in_port(vm, who, base, argc, i)?;
    vm.stack.push(p);
    let slot = vm.stack.len() - 1;
    let r = f(vm, slot);
    vm.stack.truncate(slot);
    r
}

fn next_char(vm: &mut Vm, who: &str, base: usize, argc: usize, take: bool) -> VmResult<Value> {
    with_in_port(vm, who, base, argc, 0, |vm, slot| {
        if !fill(vm, slot, false)? {
            return Ok(Value::EOF);
        }
        let (pos, _) = unread(vm, slot);
        let buf = vm.heap.get(vm.stack[slot], 1);
        let c = vm.string_ref(buf, pos);
        if take {
            consume(vm, slot, 1);
        }
        Ok(Value::char(c))
    })
}

fn read_char(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    next_char(vm, "read-char", base, argc, true)
}

fn peek_char(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    next_char(vm, "peek-char", base, argc, false)
}

fn read_line(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    with_in_port(vm, "read-line", base, argc, 0, |vm, slot| {
        let mut scanned = 0;
        loop {
            let (pos, len) = unread(vm, slot);
            let buf = vm.heap.get(vm.stack[slot], 1);
            // A line ends with LF, CR LF or CR.
            let end = (pos + scanned..len).find(|&i| matches!(vm.string_ref(buf, i), '\n' | '\r'));
            if let Some(i) = end {
                let mut skip = 1;
                if vm.string_ref(buf, i) == '\r' {
                    if i + 1 == len {
                        // Is the next character an LF? Read on to know.
                        scanned = i - pos;
                        if fill(vm, slot, true)? {
                            continue;
                        }
                    } else if vm.string_ref(buf, i + 1) == '\n' {
                        skip = 2;
                    }
                }
                let buf = vm.heap.get(vm.stack[slot], 1);
                let line: String = (pos..i).map(|j| vm.string_ref(buf, j)).collect();
                consume(vm, slot, i + skip - pos);
                return vm.string(&line);
            }
            scanned = len - pos;
            let more = if port_kind(vm, vm.stack[slot]) == kind::FD_IN {
                // Gather up to a line end in one go: a long line read a
                // piece at a time would copy the buffer for each piece.
                fill_until(vm, slot, |t| t.contains(['\n', '\r']))?
            } else {
                fill(vm, slot, true)?
            };
            if !more {
                let (pos, len) = unread(vm, slot);
                if pos == len {
                    return Ok(Value::EOF);
                }
                let buf = vm.heap.get(vm.stack[slot], 1);
                let line: String = (pos..len).map(|j| vm.string_ref(buf, j)).collect();
                consume(vm, slot, len - pos);
                return vm.string(&line);
            }
        }
    })
}

fn read_string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let k = vm.index_arg("read-string", base, 0)?;
    with_in_port(vm, "read-string", base + 1, argc - 1, 0, |vm, slot| {
        let (pos, len) = unread(vm, slot);
        if len - pos < k && port_kind(vm, vm.stack[slot]) == kind::FD_IN {
            return read_string_fd(vm, slot, k);
        }
        loop {
            let (pos, len) = unread(vm, slot);
            if len - pos >= k || !fill(vm, slot, true)? {
                break;
            }
        }
        let (pos, len) = unread(vm, slot);
        let n = k.min(len - pos);
        if n == 0 && k > 0 {
            return Ok(Value::EOF);
        }
        let buf = vm.heap.get(vm.stack[slot], 1);
        let out: String = (pos..pos + n).map(|j| vm.string_ref(buf, j)).collect();
        consume(vm, slot, n);
        vm.string(&out)
    })
}

/// `read-string` of more than the buffer holds from a descriptor port:
/// the text is gathered in Rust, read straight from the descriptor, so
/// the time is linear in `k`. If it must wait (or, reading a regular
/// file, has read `READ_SLICE` bytes while other threads want to run),
/// what it gathered past the buffer goes to the descriptor's stash, which
/// the call made again gets back first.
fn read_string_fd(vm: &mut Vm, slot: usize, k: usize) -> VmResult<Value> {
    let p = vm.stack[slot];
    let fd = port_fd(vm, p)?;
    let (pos, len) = unread(vm, slot);
    let buf = vm.heap.get(p, 1);
    // The buffer's unread text comes first; then what an earlier call
    // gathered before it waited (moved, not copied, and not counted as
    // read since the last wait); then the descriptor.
    let head: String = (pos..len).map(|j| vm.string_ref(buf, j)).collect();
    let (mut acc, mut acc_chars) = vm.os.take_stash_text(fd);
    let file = vm.os.fd_kind(fd) == Some(crate::os::FdKind::File);
    let mut since_yield = 0usize;
    while (len - pos) + acc_chars < k {
        let got = vm
            .os
            .read(fd)
            .map_err(|m| fd_error(vm, "read-string", fd, m))?;
        match got {
            ReadOutcome::Text(t) => {
                acc_chars += t.chars().count();
                since_yield += t.len();
                acc.push_str(&t);
                let q = vm.reg(Reg::RunQueue);
                if (len - pos) + acc_chars < k
                    && file
                    && since_yield >= crate::os::READ_SLICE
                    && !vm.queue_is_empty(q)
                {
                    vm.os.stash_text(fd, acc, acc_chars);
                    return Err(fd_block(vm, "read-string", fd, Interest::Read));
                }
            }
            ReadOutcome::WouldBlock => {
                vm.os.stash_text(fd, acc, acc_chars);
                return Err(fd_block(vm, "read-string", fd, Interest::Read));
            }
            ReadOutcome::Eof => break,
            ReadOutcome::Invalid { offset, byte } => {
                vm.os.stash_text(fd, acc, acc_chars);
                return Err(vm.error_kind(
                    "read-error",
                    format!("input is not valid UTF-8 (byte 0x{byte:02x} at byte {offset})"),
                    &[],
                ));
            }
        }
    }
    if head.is_empty() && acc.is_empty() {
        return Ok(Value::EOF);
    }
    let mut all = head;
    all.push_str(&acc);
    drop(acc);
    let cut = all.char_indices().nth(k).map_or(all.len(), |(i, _)| i);
    let rest = all.split_off(cut);
    let out = vm.string(&all)?;
    vm.stack.push(out);
    let rest = vm.string(&rest);
    let out = vm.stack.pop().unwrap_or(Value::FALSE);
    let p = vm.stack[slot];
    vm.heap.set(p, 1, rest?);
    vm.heap.set(p, 2, Value::fix(0));
    Ok(out)
}

fn char_ready(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    with_in_port(vm, "char-ready?", base, argc, 0, |vm, slot| {
        let (pos, len) = unread(vm, slot);
        if pos < len {
            return Ok(Value::TRUE);
        }
        match fill(vm, slot, true) {
            Ok(_) => Ok(Value::TRUE),
            Err(Exn::Block { .. }) => Ok(Value::FALSE),
            Err(e) => Err(e),
        }
    })
}

fn read(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    with_in_port(vm, "read", base, argc, 0, read_datum)
}

/// Read one datum from the port at `stack[slot]`, consuming it only once
/// it is whole.
fn read_datum(vm: &mut Vm, slot: usize) -> VmResult<Value> {
    loop {
        let (pos, len) = unread(vm, slot);
        let buf = vm.heap.get(vm.stack[slot], 1);
        let text: String = (pos..len).map(|i| vm.string_ref(buf, i)).collect();
        let mut reader = crate::reader::Reader::new(&text);
        let parsed = reader.read();
        let used = text[..reader.offset().min(text.len())].chars().count();
        match parsed {
            Ok(Some(d)) => {
                consume(vm, slot, used);
                let mark = vm.heap.root_mark();
                let v = crate::compile::datum_to_value(vm, &d);
                vm.heap.truncate_roots(mark);
                return v;
            }
            Ok(None) => {
                if !fill(vm, slot, true)? {
                    consume(vm, slot, len - pos);
                    return Ok(Value::EOF);
                }
            }
            Err(e) if e.incomplete => {
                if !fill(vm, slot, true)? {
                    consume(vm, slot, len - pos);
                    return Err(vm.error_kind("read-error", format!("read: {e}"), &[]));
                }
            }
            Err(e) => {
                consume(vm, slot, len - pos);
                return Err(vm.error_kind("read-error", format!("read: {e}"), &[]));
            }
        }
    }
}

fn eof_object(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::EOF)
}

fn eof_object_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(arg(vm, base, 0) == Value::EOF))
}

fn port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), PORT)))
}

fn binary_port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    Ok(Value::bool(
        vm.is(p, PORT) && is_binary_kind(port_kind(vm, p)),
    ))
}

fn textual_port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    Ok(Value::bool(
        vm.is(p, PORT) && !is_binary_kind(port_kind(vm, p)),
    ))
}

fn input_port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    Ok(Value::bool(
        vm.is(p, PORT) && is_input_kind(port_kind(vm, p)),
    ))
}

fn output_port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    Ok(Value::bool(
        vm.is(p, PORT) && is_output_kind(port_kind(vm, p)),
    ))
}

fn input_port_open(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("input-port-open?", base, 0, PORT, "a port")?;
    let k = port_kind(vm, p);
    Ok(Value::bool(
        k != kind::CLOSED && k != kind::CLOSED_BIN_IN && is_input_kind(k),
    ))
}

fn output_port_open(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("output-port-open?", base, 0, PORT, "a port")?;
    let k = port_kind(vm, p);
    Ok(Value::bool(
        k != kind::CLOSED_OUT && k != kind::CLOSED_BIN_OUT && is_output_kind(k),
    ))
}

fn close_port(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("close-port", base, 0, PORT, "a port")?;
    match port_kind(vm, p) {
        kind::STRING_IN => vm.heap.set(p, 0, Value::fix(kind::CLOSED)),
        kind::STRING_OUT => vm.heap.set(p, 0, Value::fix(kind::CLOSED_OUT)),
        kind::BYTES_IN => vm.heap.set(p, 0, Value::fix(kind::CLOSED_BIN_IN)),
        kind::BYTES_OUT => vm.heap.set(p, 0, Value::fix(kind::CLOSED_BIN_OUT)),
        kind::FD_IN | kind::FD_OUT | kind::FD_BIN_IN | kind::FD_BIN_OUT => {
            let fd = port_fd(vm, p)?;
            let k = port_kind(vm, p);
            if matches!(k, kind::FD_OUT | kind::FD_BIN_OUT) && vm.os.owns(fd) {
                // Everything written reaches the reader before the end of file.
                let pending = vm
                    .os
                    .drain(fd)
                    .map_err(|m| fd_error(vm, "close-port", fd, m))?;
                if pending > 0 {
                    return Err(fd_block(vm, "close-port", fd, Interest::Write));
                }
            }
            let closed = match k {
                kind::FD_IN => kind::CLOSED,
                kind::FD_OUT => kind::CLOSED_OUT,
                kind::FD_BIN_IN => kind::CLOSED_BIN_IN,
                _ => kind::CLOSED_BIN_OUT,
            };
            vm.heap.set(p, 0, Value::fix(closed));
            if vm.os.fd_kind(fd) == Some(crate::os::FdKind::Socket) {
                // A port over a socket: closing the output port ends what
                // this side sends (the peer reads end of file); the socket
                // closes when its last holder lets go.
                if matches!(k, kind::FD_OUT | kind::FD_BIN_OUT) {
                    let _ = vm.os.shutdown(fd, 1);
                }
                if vm.os.release(fd) {
                    vm.close_fd(fd)?;
                }
            } else {
                vm.close_fd(fd)?;
            }
        }
        _ => {}
    }
    Ok(Value::UNSPECIFIED)
}

fn flush_output_port(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    vm.before_effect()?;
    let p = out_port(vm, "flush-output-port", base, argc, 0)?;
    if matches!(port_kind(vm, p), kind::FD_OUT | kind::FD_BIN_OUT) {
        let fd = port_fd(vm, p)?;
        let pending = vm
            .os
            .drain(fd)
            .map_err(|m| fd_error(vm, "flush-output-port", fd, m))?;
        if pending > 0 {
            return Err(fd_block(vm, "flush-output-port", fd, Interest::Write));
        }
    }
    let _ = vm.out.flush();
    Ok(Value::UNSPECIFIED)
}

fn make_console_port(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let k = arg(vm, base, 0).as_fixnum().unwrap_or(kind::STDOUT);
    make_port(vm, k, Value::FALSE)
}

/// `(%load-open path)`: start loading a file; returns the load state
/// `#(id offset line column path fold-case)` that `%load-next` advances. `load`
/// itself is Scheme, so the forms it runs are ordinary VM calls (threads
/// switch, continuations work) rather than a nested run from Rust.
fn load_open(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("load", base, 0, obj::STRING, "a file name string")?;
    let path = vm.string_text(p);
    let text = vm.read_source_file("load", std::path::Path::new(&path))?;
    new_load_state(vm, text, arg(vm, base, 0))
}

/// Fields of a load state.
pub(super) const LOAD_STATE_LEN: usize = 6;

/// A load state over `text` (kept in `vm.sources`), named `name` (a
/// string) in locations: `#(id offset line column name fold-case)`.
pub(crate) fn new_load_state(vm: &mut Vm, text: String, name: Value) -> VmResult<Value> {
    let id = vm.next_source_id;
    vm.next_source_id += 1;
    vm.sources.insert(id, std::rc::Rc::from(text));
    let at = vm.stack.len();
    vm.stack.push(Value::fix(id));
    vm.stack.push(Value::fix(0));
    vm.stack.push(Value::fix(1));
    vm.stack.push(Value::fix(1));
    vm.stack.push(name);
    vm.stack.push(Value::FALSE);
    vm.object_from_stack(obj::VECTOR, at)
}

/// `(%load-next state)`: compile the next form of the file as a thunk, or
/// return the eof object at the end.
fn load_next(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let st = vm.typed_arg("load", base, 0, obj::VECTOR, "a load state")?;
    if vm.heap.len(st) != LOAD_STATE_LEN {
        return Err(vm.type_error("load", "a load state", st));
    }
    let fold_case = vm.heap.get(st, 5).is_true();
    let field = |i: usize| vm.heap.get(st, i).as_fixnum().unwrap_or(0);
    let (id, offset, line, col) = (field(0), field(1) as usize, field(2), field(3));
    let path = vm.string_text(vm.heap.get(st, 4));
    let text = match vm.sources.get(&id) {
        Some(t) => t.clone(),
        None => {
            // Not in this process's cache (an image, a fork): read again.
            let t: std::rc::Rc<str> = vm
                .read_source_file("load", std::path::Path::new(&path))?
                .into();
            vm.sources.insert(id, t.clone());
            t
        }
    };
    let rest = text.get(offset..).unwrap_or("");
    let mut reader = crate::reader::Reader::new(rest)
        .with_pos(crate::reader::Pos {
            line: line as u32,
            col: col as u32,
        })
        .with_fold_case(fold_case);
    let form = match reader.read() {
        Ok(Some(f)) => f,
        Ok(None) => {
            vm.sources.remove(&id);
            return Ok(Value::EOF);
        }
        Err(e) => {
            vm.sources.remove(&id);
            return Err(vm.error_kind(
                "read-error",
                format!("{path}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
                &[],
            ));
        }
    };
    let pos = reader.pos();
    let st = arg(vm, base, 0);
    vm.heap
        .set(st, 1, Value::fix((offset + reader.offset()) as i64));
    vm.heap.set(st, 2, Value::fix(pos.line as i64));
    vm.heap.set(st, 3, Value::fix(pos.col as i64));
    vm.heap.set(st, 5, Value::bool(reader.folds_case()));
    crate::compile::compile_toplevel(vm, &form, Some(&path))
}

fn print_error(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    vm.before_effect()?;
    let e = arg(vm, base, 0);
    let text = crate::report::condition_report(vm, e);
    let _ = vm.out.flush();
    let _ = writeln!(std::io::stderr(), "{text}");
    Ok(Value::UNSPECIFIED)
}

fn features(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let start = vm.stack.len();
    for f in crate::compile::derived::FEATURES {
        let s = vm.intern(f)?;
        vm.stack.push(s);
    }
    vm.list_from_stack(start)
}

/// `(%format fmt arg ...)`: `~a` display, `~s` write, `~d` number, `~%` newline, `~~` tilde.
fn format(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let f = vm.typed_arg("format", base, 0, obj::STRING, "a format string")?;
    let fmt = vm.string_chars(f);
    let mut out = String::new();
    let mut next = 1;
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if c != '~' || i + 1 >= fmt.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let d = fmt[i + 1];
        i += 2;
        match d {
            '%' | 'n' => out.push('\n'),
            '~' => out.push('~'),
            'a' | 'A' | 's' | 'S' | 'd' | 'D' | 'b' | 'B' | 'o' | 'O' | 'x' | 'X' => {
                if next >= argc {
                    return Err(vm.error("format: too few arguments for the format string", &[f]));
                }
                let v = arg(vm, base, next);
                next += 1;
                let radix = match d.to_ascii_lowercase() {
                    'b' => 2,
                    'o' => 8,
                    'x' => 16,
                    _ => 10,
                };
                if radix != 10 || d.eq_ignore_ascii_case(&'d') {
                    match vm.num(v) {
                        Some(n) => out.push_str(&crate::num::number_to_string(&n, radix)),
                        None => return Err(vm.type_error("format", "a number for ~d", v)),
                    }
                } else {
                    let mode = if d.eq_ignore_ascii_case(&'s') {
                        Mode::Write
                    } else {
                        Mode::Display
                    };
                    out.push_str(&print(vm, v, mode));
                }
            }
            other => {
                let s = vm.string(&format!("~{other}"))?;
                return Err(vm.error("format: unknown directive", &[s]));
            }
        }
    }
    vm.string(&out)
}
