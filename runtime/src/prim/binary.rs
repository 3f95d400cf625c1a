//! Binary ports (R7RS 6.13): bytevector ports and binary file ports, and
//! the byte-level reads and writes.
//!
//! They share the textual ports' object, `PORT[kind, buffer, position,
//! fd, session]`, with kinds of their own (`io::kind::BYTES_IN` …). A
//! bytevector input port reads a copy of its bytevector; a bytevector
//! output port grows its buffer by doubling, `position` counting the bytes
//! written. A binary file input port keeps the bytes read but not yet
//! consumed in `buffer` from `position`, like the textual ones, so a read
//! that must wait has had no effect and is made again (`Exn::Block`).

use imp_gc::Value;

use super::io::{self, consume, kind, make_port, port_fd, port_kind};
use super::{PrimDef, arg, def, opt_arg};
use crate::obj::{self, PORT};
use crate::os::Interest;
use crate::vm::{Reg, Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("open-input-bytevector", 1, 1, open_input_bytevector),
    def("open-output-bytevector", 0, 0, open_output_bytevector),
    def("get-output-bytevector", 1, 1, get_output_bytevector),
    def("open-binary-input-file", 1, 1, open_binary_input_file),
    def("open-binary-output-file", 1, 1, open_binary_output_file),
    def("read-u8", 0, 1, read_u8),
    def("peek-u8", 0, 1, peek_u8),
    def("u8-ready?", 0, 1, u8_ready),
    def("read-bytevector", 1, 2, read_bytevector),
    def("read-bytevector!", 1, 4, read_bytevector_into),
    def("write-u8", 1, 2, write_u8),
    def("write-bytevector", 1, 4, write_bytevector),
];

fn open_input_bytevector(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let b = vm.typed_arg(
        "open-input-bytevector",
        base,
        0,
        obj::BYTEVECTOR,
        "a bytevector",
    )?;
    let bytes = vm.bytevector_bytes(b);
    let copy = vm.bytevector(&bytes)?;
    make_port(vm, kind::BYTES_IN, copy)
}

fn open_output_bytevector(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let buf = vm.make_bytevector(32, 0)?;
    make_port(vm, kind::BYTES_OUT, buf)
}

fn get_output_bytevector(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg(
        "get-output-bytevector",
        base,
        0,
        PORT,
        "a bytevector output port",
    )?;
    if !matches!(port_kind(vm, p), kind::BYTES_OUT | kind::CLOSED_BIN_OUT) {
        return Err(vm.type_error("get-output-bytevector", "a bytevector output port", p));
    }
    let buf = vm.heap.get(p, 1);
    let n = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
    let bytes: Vec<u8> = (0..n).map(|i| vm.bytevector_ref(buf, i)).collect();
    vm.bytevector(&bytes)
}

fn open_binary_file(vm: &mut Vm, who: &str, base: usize, write: bool) -> VmResult<Value> {
    let fd = super::io::open_file_arg(vm, who, base, write, false)?;
    let (k, buffer) = if write {
        (kind::FD_BIN_OUT, Value::FALSE)
    } else {
        (kind::FD_BIN_IN, vm.make_bytevector(0, 0)?)
    };
    let port = make_port(vm, k, buffer)?;
    vm.heap.set(port, 3, Value::fix(fd as i64));
    Ok(port)
}

fn open_binary_input_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    open_binary_file(vm, "open-binary-input-file", base, false)
}

fn open_binary_output_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    open_binary_file(vm, "open-binary-output-file", base, true)
}

/// The binary input port argument `i` (or the current input port), rooted
/// at a stack slot for `f`.
fn with_bin_in(
    vm: &mut Vm,
    who: &str,
    base: usize,
    argc: usize,
    i: usize,
    f: impl FnOnce(&mut Vm, usize) -> VmResult<Value>,
) -> VmResult<Value> {
    let p = match opt_arg(vm, base, argc, i) {
        Some(p) => p,
        None => {
            let param = vm.reg(Reg::InParam);
            vm.parameter_value(param)
        }
    };
    if !vm.is(p, PORT) || !matches!(port_kind(vm, p), kind::BYTES_IN | kind::FD_BIN_IN) {
        let what = if vm.is(p, PORT) && port_kind(vm, p) == kind::CLOSED_BIN_IN {
            "an open binary input port (this one is closed)"
        } else {
            "a binary input port"
        };
        return Err(vm.type_error(who, what, p));
    }
    vm.stack.push(p);
    let slot = vm.stack.len() - 1;
    let r = f(vm, slot);
    vm.stack.truncate(slot);
    r
}

/// (position, length) of the unread bytes of the port at `stack[slot]`.
fn unread(vm: &Vm, slot: usize) -> (usize, usize) {
    let p = vm.stack[slot];
    let buf = vm.heap.get(p, 1);
    let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
    (pos, vm.bytevector_len(buf))
}

/// Read more bytes into the port at `stack[slot]` (appending to what is
/// unread). `false` at end of input; raises `Exn::Block` when `wait` and
/// nothing is there yet, else returns `true` having read nothing.
fn fill(vm: &mut Vm, slot: usize, wait: bool) -> VmResult<bool> {
    let p = vm.stack[slot];
    if port_kind(vm, p) == kind::BYTES_IN {
        return Ok(false);
    }
    let fd = port_fd(vm, p)?;
    let got = vm
        .os
        .read_bytes(fd)
        .map_err(|m| super::io::fd_error(vm, "read-u8", fd, m))?;
    let more = match got {
        None if wait => return Err(super::io::fd_block(vm, "read-u8", fd, Interest::Read)),
        None => return Ok(true),
        Some(b) if b.is_empty() => return Ok(false),
        Some(b) => b,
    };
    let (pos, len) = unread(vm, slot);
    let buf = vm.heap.get(vm.stack[slot], 1);
    let mut all: Vec<u8> = (pos..len).map(|i| vm.bytevector_ref(buf, i)).collect();
    all.extend_from_slice(&more);
    let nb = vm.bytevector(&all)?;
    let p = vm.stack[slot];
    vm.heap.set(p, 1, nb);
    vm.heap.set(p, 2, Value::fix(0));
    Ok(true)
}

fn next_u8(vm: &mut Vm, who: &str, base: usize, argc: usize, take: bool) -> VmResult<Value> {
    with_bin_in(vm, who, base, argc, 0, |vm, slot| {
        loop {
            let (pos, len) = unread(vm, slot);
            if pos < len {
                let buf = vm.heap.get(vm.stack[slot], 1);
                let b = vm.bytevector_ref(buf, pos);
                if take {
                    consume(vm, slot, 1);
                }
                return Ok(Value::fix(b as i64));
            }
            if !fill(vm, slot, true)? {
                return Ok(Value::EOF);
            }
        }
    })
}

fn read_u8(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    next_u8(vm, "read-u8", base, argc, true)
}

fn peek_u8(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    next_u8(vm, "peek-u8", base, argc, false)
}

fn u8_ready(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    with_bin_in(vm, "u8-ready?", base, argc, 0, |vm, slot| {
        let (pos, len) = unread(vm, slot);
        if pos < len || port_kind(vm, vm.stack[slot]) == kind::BYTES_IN {
            return Ok(Value::TRUE);
        }
        // Ready if a byte (or the end of file) can be had without waiting.
        let before = unread(vm, slot);
        let open = fill(vm, slot, false)?;
        Ok(Value::bool(!open || unread(vm, slot) != before))
    })
}

/// Read up to `k` bytes (waiting until there are `k` or the input ends).
fn take_bytes(vm: &mut Vm, slot: usize, k: usize) -> VmResult<Option<Vec<u8>>> {
    let (pos, len) = unread(vm, slot);
    if len - pos < k && port_kind(vm, vm.stack[slot]) == kind::FD_BIN_IN {
        return take_bytes_fd(vm, slot, k);
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
        return Ok(None);
    }
    let buf = vm.heap.get(vm.stack[slot], 1);
    let bytes: Vec<u8> = (pos..pos + n).map(|i| vm.bytevector_ref(buf, i)).collect();
    consume(vm, slot, n);
    Ok(Some(bytes))
}

/// `take_bytes` of more than the buffer holds from a descriptor port: the
/// bytes are gathered in Rust, read straight from the descriptor (linear
/// in `k`); a wait (or a `READ_SLICE` of a regular file while other
/// threads want to run) stashes what was gathered past the buffer for the
/// call made again.
fn take_bytes_fd(vm: &mut Vm, slot: usize, k: usize) -> VmResult<Option<Vec<u8>>> {
    let p = vm.stack[slot];
    let fd = port_fd(vm, p)?;
    let (pos, len) = unread(vm, slot);
    let buf = vm.heap.get(p, 1);
    // The buffer's unread bytes, then what an earlier call gathered
    // before it waited (moved, not counted as read since the last wait).
    let head: Vec<u8> = vm.bytevector_slice(buf)[pos..len].to_vec();
    let mut acc = vm.os.take_stash_bytes(fd);
    let mut since_yield = 0usize;
    let file = vm.os.fd_kind(fd) == Some(crate::os::FdKind::File);
    while head.len() + acc.len() < k {
        let got = vm
            .os
            .read_bytes(fd)
            .map_err(|m| super::io::fd_error(vm, "read-bytevector", fd, m))?;
        match got {
            Some(b) if b.is_empty() => break,
            Some(b) => {
                since_yield += b.len();
                acc.extend_from_slice(&b);
                let q = vm.reg(Reg::RunQueue);
                if head.len() + acc.len() < k
                    && file
                    && since_yield >= crate::os::READ_SLICE
                    && !vm.queue_is_empty(q)
                {
                    vm.os.stash_bytes(fd, acc);
                    return Err(super::io::fd_block(
                        vm,
                        "read-bytevector",
                        fd,
                        Interest::Read,
                    ));
                }
            }
            None => {
                vm.os.stash_bytes(fd, acc);
                return Err(super::io::fd_block(
                    vm,
                    "read-bytevector",
                    fd,
                    Interest::Read,
                ));
            }
        }
    }
    if head.is_empty() && acc.is_empty() && k > 0 {
        return Ok(None);
    }
    let mut all = head;
    all.extend_from_slice(&acc);
    drop(acc);
    let rest = if all.len() > k {
        all.split_off(k)
    } else {
        Vec::new()
    };
    let rest = vm.bytevector(&rest)?;
    let p = vm.stack[slot];
    vm.heap.set(p, 1, rest);
    vm.heap.set(p, 2, Value::fix(0));
    Ok(Some(all))
}

fn read_bytevector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let k = vm.index_arg("read-bytevector", base, 0)?;
    with_bin_in(
        vm,
        "read-bytevector",
        base + 1,
        argc - 1,
        0,
        |vm, slot| match take_bytes(vm, slot, k)? {
            Some(b) => vm.bytevector(&b),
            None => Ok(Value::EOF),
        },
    )
}

fn read_bytevector_into(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let b = vm.typed_arg("read-bytevector!", base, 0, obj::BYTEVECTOR, "a bytevector")?;
    let len = vm.bytevector_len(b);
    let (start, end) = vm.range_args("read-bytevector!", base, argc, 2, len)?;
    with_bin_in(
        vm,
        "read-bytevector!",
        base,
        argc.min(2),
        1,
        |vm, slot| match take_bytes(vm, slot, end - start)? {
            Some(bytes) => {
                let b = arg(vm, base, 0);
                vm.heap.set_payload_bytes(b, 8 + start, &bytes);
                Ok(Value::fix(bytes.len() as i64))
            }
            None => Ok(Value::EOF),
        },
    )
}

/// Write `bytes` to the binary output port argument `i` (or the current
/// output port).
fn put_bytes(
    vm: &mut Vm,
    who: &str,
    base: usize,
    argc: usize,
    i: usize,
    bytes: &[u8],
) -> VmResult<()> {
    let p = match opt_arg(vm, base, argc, i) {
        Some(p) => p,
        None => {
            let param = vm.reg(Reg::OutParam);
            vm.parameter_value(param)
        }
    };
    if !vm.is(p, PORT) {
        return Err(vm.type_error(who, "a binary output port", p));
    }
    match port_kind(vm, p) {
        kind::BYTES_OUT => {
            let buf = vm.heap.get(p, 1);
            let n = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
            let cap = vm.bytevector_len(buf);
            let buf = if n + bytes.len() > cap {
                vm.stack.push(p);
                let nb = vm.make_bytevector((n + bytes.len()).max(cap * 2), 0);
                let p = vm.stack.pop().unwrap_or(Value::FALSE);
                let nb = nb?;
                let old = vm.heap.get(p, 1);
                for j in 0..n {
                    let x = vm.bytevector_ref(old, j);
                    vm.bytevector_set(nb, j, x);
                }
                vm.heap.set(p, 1, nb);
                nb
            } else {
                buf
            };
            for (j, x) in bytes.iter().enumerate() {
                vm.bytevector_set(buf, n + j, *x);
            }
            let p = match opt_arg(vm, base, argc, i) {
                Some(p) => p,
                None => {
                    let param = vm.reg(Reg::OutParam);
                    vm.parameter_value(param)
                }
            };
            vm.heap.set(p, 2, Value::fix((n + bytes.len()) as i64));
            Ok(())
        }
        kind::FD_BIN_OUT => {
            vm.before_effect()?;
            let fd = port_fd(vm, p)?;
            let pending = vm
                .os
                .drain(fd)
                .map_err(|m| super::io::fd_error(vm, who, fd, m))?;
            if pending > io::OUT_LIMIT {
                return Err(super::io::fd_block(vm, who, fd, Interest::Write));
            }
            vm.os
                .write(fd, bytes)
                .map_err(|m| super::io::fd_error(vm, who, fd, m))?;
            Ok(())
        }
        kind::CLOSED_BIN_OUT => {
            Err(vm.type_error(who, "an open binary output port (this one is closed)", p))
        }
        _ => Err(vm.type_error(who, "a binary output port", p)),
    }
}

fn write_u8(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    let b = match v.as_fixnum() {
        Some(n) if (0..=255).contains(&n) => n as u8,
        _ => return Err(vm.type_error("write-u8", "a byte (an exact integer 0..255)", v)),
    };
    put_bytes(vm, "write-u8", base, argc, 1, &[b])?;
    Ok(Value::UNSPECIFIED)
}

fn write_bytevector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let b = vm.typed_arg("write-bytevector", base, 0, obj::BYTEVECTOR, "a bytevector")?;
    let len = vm.bytevector_len(b);
    let (start, end) = vm.range_args("write-bytevector", base, argc, 2, len)?;
    let b = arg(vm, base, 0);
    let bytes: Vec<u8> = (start..end).map(|i| vm.bytevector_ref(b, i)).collect();
    put_bytes(vm, "write-bytevector", base, argc.min(2), 1, &bytes)?;
    Ok(Value::UNSPECIFIED)
}
