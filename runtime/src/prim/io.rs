//! Input and output (R7RS 6.13): ports, `display`, `write`, `read`.
//!
//! A port is a heap object `PORT[kind, buffer, position]`. String ports
//! keep their text in a heap string (output ports grow it by doubling).
//! The console ports write through the VM's `out` sink or to stderr and
//! read from stdin.

use std::io::{BufRead, Write};

use imp_gc::Value;

use super::{arg, def, opt_arg, PrimDef, MANY};
use crate::obj::{self, PORT};
use crate::printer::{print, Mode};
use crate::vm::{Reg, Vm, VmResult};

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
    /// A closed port.
    pub const CLOSED: i64 = 5;
}

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
    def("textual-port?", 1, 1, port_p),
    def("binary-port?", 1, 1, binary_port_p),
    def("input-port-open?", 1, 1, input_port_open),
    def("output-port-open?", 1, 1, output_port_open),
    def("close-port", 1, 1, close_port),
    def("close-input-port", 1, 1, close_port),
    def("close-output-port", 1, 1, close_port),
    def("flush-output-port", 0, 1, flush_output_port),
    def("%make-console-port", 1, 1, make_console_port),
    def("load", 1, 2, load),
    def("%print-error", 1, 2, print_error),
    def("features", 0, 0, features),
    def("%format", 1, MANY, format),
];

fn port_kind(vm: &Vm, p: Value) -> i64 {
    vm.heap.get(p, 0).as_fixnum_unchecked()
}

/// A port object of `kind` with `buffer` and position 0.
fn make_port(vm: &mut Vm, kind: i64, buffer: Value) -> VmResult<Value> {
    vm.stack.push(buffer);
    let p = vm.alloc(PORT, 3);
    let buffer = vm.stack.pop().unwrap_or(Value::FALSE);
    let p = p?;
    vm.heap.set(p, 0, Value::fix(kind));
    vm.heap.set(p, 1, buffer);
    vm.heap.set(p, 2, Value::fix(0));
    Ok(p)
}

/// The output port argument `i`, or the current output port.
fn out_port(vm: &mut Vm, who: &str, base: usize, argc: usize, i: usize) -> VmResult<Value> {
    match opt_arg(vm, base, argc, i) {
        Some(p) if vm.is(p, PORT) => Ok(p),
        Some(p) => Err(vm.type_error(who, "an output port", p)),
        None => {
            let param = vm.reg(Reg::OutParam);
            Ok(vm.heap.get(param, 0))
        }
    }
}

fn in_port(vm: &mut Vm, who: &str, base: usize, argc: usize, i: usize) -> VmResult<Value> {
    match opt_arg(vm, base, argc, i) {
        Some(p) if vm.is(p, PORT) => Ok(p),
        Some(p) => Err(vm.type_error(who, "an input port", p)),
        None => {
            let param = vm.reg(Reg::InParam);
            Ok(vm.heap.get(param, 0))
        }
    }
}

/// Write `text` to the port at `stack[slot]`.
pub fn port_write(vm: &mut Vm, who: &str, slot: usize, text: &str) -> VmResult<()> {
    let p = vm.stack[slot];
    if !vm.is(p, PORT) {
        return Err(vm.type_error(who, "an output port", p));
    }
    match port_kind(vm, p) {
        kind::STDOUT => {
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
            let _ = vm.out.flush();
            let _ = std::io::stderr().write_all(text.as_bytes());
            Ok(())
        }
        kind::STRING_OUT => {
            let n = text.chars().count();
            let buf = vm.heap.get(p, 1);
            let len = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
            let cap = vm.string_len(buf);
            if len + n > cap {
                let new_cap = (len + n).max(cap * 2).max(32);
                let nb = vm.make_string(new_cap, ' ')?;
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
        _ => Err(vm.error(format!("{who}: port is not an open output port"), &[p])),
    }
}

fn print_to(vm: &mut Vm, who: &str, base: usize, argc: usize, mode: Mode) -> VmResult<Value> {
    let port = out_port(vm, who, base, argc, 1)?;
    let text = print(vm, arg(vm, base, 0), mode);
    vm.stack.push(port);
    let slot = vm.stack.len() - 1;
    let r = port_write(vm, who, slot, &text);
    vm.stack.pop();
    r.map(|_| Value::UNSPECIFIED)
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

/// Make sure an input port has unread text; for stdin, read a line into
/// its buffer. Returns false at end of input.
fn fill(vm: &mut Vm, slot: usize) -> VmResult<bool> {
    let p = vm.stack[slot];
    let k = port_kind(vm, p);
    if k != kind::STRING_IN && k != kind::STDIN {
        return Err(vm.error("input port is closed or not an input port", &[p]));
    }
    let buf = vm.heap.get(p, 1);
    let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
    if vm.is(buf, obj::STRING) && pos < vm.string_len(buf) {
        return Ok(true);
    }
    if k == kind::STRING_IN {
        return Ok(false);
    }
    let _ = vm.out.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => Ok(false),
        Ok(_) => {
            let s = vm.string(&line)?;
            let p = vm.stack[slot];
            vm.heap.set(p, 1, s);
            vm.heap.set(p, 2, Value::fix(0));
            Ok(true)
        }
        Err(e) => Err(vm.error_kind(
            "file-error",
            format!("cannot read standard input: {e}"),
            &[],
        )),
    }
}

fn next_char(vm: &mut Vm, who: &str, base: usize, argc: usize, consume: bool) -> VmResult<Value> {
    let p = in_port(vm, who, base, argc, 0)?;
    vm.stack.push(p);
    let slot = vm.stack.len() - 1;
    let r = (|| {
        if !fill(vm, slot)? {
            return Ok(Value::EOF);
        }
        let p = vm.stack[slot];
        let buf = vm.heap.get(p, 1);
        let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
        let c = vm.string_ref(buf, pos);
        if consume {
            vm.heap.set(p, 2, Value::fix(pos as i64 + 1));
        }
        Ok(Value::char(c))
    })();
    vm.stack.pop();
    r
}

fn read_char(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    next_char(vm, "read-char", base, argc, true)
}

fn peek_char(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    next_char(vm, "peek-char", base, argc, false)
}

fn read_line(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut out = String::new();
    let mut any = false;
    loop {
        let c = next_char(vm, "read-line", base, argc, true)?;
        match c.as_char() {
            None => break,
            Some('\n') => {
                any = true;
                break;
            }
            Some(c) => {
                any = true;
                out.push(c)
            }
        }
    }
    if !any {
        return Ok(Value::EOF);
    }
    vm.string(&out)
}

fn read_string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let k = vm.index_arg("read-string", base, 0)?;
    let mut out = String::new();
    for _ in 0..k {
        // Port is argument 1 here.
        let c = next_char(vm, "read-string", base + 1, argc - 1, true)?;
        match c.as_char() {
            Some(c) => out.push(c),
            None => break,
        }
    }
    if out.is_empty() && k > 0 {
        return Ok(Value::EOF);
    }
    vm.string(&out)
}

fn char_ready(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::TRUE)
}

fn read(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let p = in_port(vm, "read", base, argc, 0)?;
    vm.stack.push(p);
    let slot = vm.stack.len() - 1;
    let r = read_datum(vm, slot);
    vm.stack.pop();
    r
}

fn read_datum(vm: &mut Vm, slot: usize) -> VmResult<Value> {
    let mut text = String::new();
    loop {
        if !fill(vm, slot)? {
            if text.trim().is_empty() {
                return Ok(Value::EOF);
            }
        }
        let p = vm.stack[slot];
        let buf = vm.heap.get(p, 1);
        let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
        let is_stdin = port_kind(vm, p) == kind::STDIN;
        let avail: String = if vm.is(buf, obj::STRING) {
            (pos..vm.string_len(buf))
                .map(|i| vm.string_ref(buf, i))
                .collect()
        } else {
            String::new()
        };
        let start_len = text.len();
        text.push_str(&avail);
        let mut reader = crate::reader::Reader::new(&text);
        match reader.read() {
            Ok(None) if is_stdin && !avail.is_empty() => {
                // Only whitespace so far: consume and read more.
                vm.heap
                    .set(p, 2, Value::fix((pos + avail.chars().count()) as i64));
                text.clear();
                continue;
            }
            Ok(None) => {
                vm.heap
                    .set(p, 2, Value::fix((pos + avail.chars().count()) as i64));
                return Ok(Value::EOF);
            }
            Ok(Some(d)) => {
                let used = text[..reader.offset()].chars().count();
                let prev = text[..start_len].chars().count();
                let new_pos = pos + used.saturating_sub(prev);
                vm.heap.set(p, 2, Value::fix(new_pos as i64));
                let mark = vm.heap.root_mark();
                let v = crate::compile::datum_to_value(vm, &d);
                vm.heap.truncate_roots(mark);
                return v;
            }
            Err(e) if e.incomplete && is_stdin && !avail.is_empty() => {
                vm.heap
                    .set(p, 2, Value::fix((pos + avail.chars().count()) as i64));
                continue;
            }
            Err(e) => {
                vm.heap
                    .set(p, 2, Value::fix((pos + avail.chars().count()) as i64));
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

fn binary_port_p(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::FALSE)
}

fn input_port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    Ok(Value::bool(
        vm.is(p, PORT) && matches!(port_kind(vm, p), kind::STRING_IN | kind::STDIN),
    ))
}

fn output_port_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    Ok(Value::bool(
        vm.is(p, PORT)
            && matches!(
                port_kind(vm, p),
                kind::STDOUT | kind::STDERR | kind::STRING_OUT
            ),
    ))
}

fn input_port_open(vm: &mut Vm, base: usize, n: usize) -> VmResult<Value> {
    input_port_p(vm, base, n)
}

fn output_port_open(vm: &mut Vm, base: usize, n: usize) -> VmResult<Value> {
    output_port_p(vm, base, n)
}

fn close_port(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("close-port", base, 0, PORT, "a port")?;
    if matches!(port_kind(vm, p), kind::STRING_IN | kind::STRING_OUT) {
        vm.heap.set(p, 0, Value::fix(kind::CLOSED));
    }
    Ok(Value::UNSPECIFIED)
}

fn flush_output_port(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let _ = vm.out.flush();
    Ok(Value::UNSPECIFIED)
}

fn make_console_port(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let k = arg(vm, base, 0).as_fixnum().unwrap_or(kind::STDOUT);
    make_port(vm, k, Value::FALSE)
}

/// `(load path)`: read, compile and run each form of a file in turn.
fn load(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("load", base, 0, obj::STRING, "a file name string")?;
    let path = vm.string_text(p);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Err(vm.error_kind("file-error", format!("cannot open `{path}`: {e}"), &[p]))
        }
    };
    let mut reader = crate::reader::Reader::new(&text);
    loop {
        let form = match reader.read() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(Value::UNSPECIFIED),
            Err(e) => {
                return Err(vm.error_kind(
                    "read-error",
                    format!("{path}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
                    &[],
                ))
            }
        };
        let thunk = crate::compile::compile_toplevel(vm, &form, Some(&path))?;
        let at = vm.stack.len();
        vm.stack.push(thunk);
        let r = vm.call_from_rust(at);
        vm.stack.truncate(at);
        r?;
    }
}

fn print_error(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
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
