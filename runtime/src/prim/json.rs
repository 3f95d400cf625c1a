//! The native part of SRFI-180 (JSON; `json.scm` has the rest): reading a
//! whole value from a textual input port, reading one token for the
//! streaming procedures, and writing a value.
//!
//! The mapping is the SRFI's: an object is an alist with symbol keys, an
//! array a vector, `null` the symbol `null`, `true` and `false` the
//! booleans, a number without a fraction or exponent an exact integer and
//! any other a flonum.
//!
//! `json-read` parses without recursion (an explicit stack of open
//! containers, whose elements wait on the VM's stack, a root), so the
//! nesting is bounded by the depth limit only. From a file or pipe it
//! reads further chunks as it needs them and puts back what follows the
//! value; from a string port it reads the port's text in place. A read
//! that must wait for a pipe keeps what it gathered for the call made
//! again. An event read (`%json-event`) reads only as far as its token, so
//! streaming a file of any size holds one chunk at a time.

use imp_gc::Value;

use super::io::{consume, fd_block, fd_error, fill, port_fd, port_kind};
use super::{PrimDef, arg, def};
use crate::obj::STRING;
use crate::os::{Interest, ReadOutcome};
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%json-read", 3, 3, json_read),
    def("%json-write", 2, 2, json_write),
    def("%json-error", 2, 2, json_error_prim),
    def("%json-event", 2, 2, json_event),
];

/// `(%json-error message irritants)`: raise a JSON error (what
/// `json-error?` recognizes) from Scheme.
fn json_error_prim(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = arg(vm, base, 0);
    let message = if vm.is(m, STRING) {
        vm.string_text(m)
    } else {
        "json error".into()
    };
    let mut irritants = Vec::new();
    let mut l = arg(vm, base, 1);
    while vm.is(l, crate::obj::PAIR) {
        irritants.push(vm.heap.get(l, 0));
        l = vm.heap.get(l, 1);
    }
    Err(vm.error_kind("json-error", message, &irritants))
}

/// The error every malformed input raises (`json-error?` in Scheme).
fn json_error(vm: &mut Vm, message: String) -> crate::vm::Exn {
    vm.error_kind("json-error", message, &[])
}

/// Where the parser is in its text, for messages: line and column from
/// the start of what this call read (1-based), and the character count.
fn position(text: &str, at: usize) -> String {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(
        "line {line}, column {col} (character {})",
        before.chars().count() + 1
    )
}

/// The text a read works on and how it gets more.
struct Src {
    text: String,
    /// Bytes of `text` that were the port's buffer before this call.
    buffered: usize,
    /// The descriptor more text comes from (a file or pipe port).
    fd: Option<i32>,
    eof: bool,
}

impl Src {
    /// Read another chunk; `false` at the end of the input (or of the
    /// text, for a port without a descriptor).
    fn more(&mut self, vm: &mut Vm) -> VmResult<bool> {
        let Some(fd) = self.fd else {
            return Ok(false);
        };
        if self.eof {
            return Ok(false);
        }
        loop {
            match vm
                .os
                .read(fd)
                .map_err(|m| fd_error(vm, "json-read", fd, m))?
            {
                ReadOutcome::Text(t) if t.is_empty() => continue,
                ReadOutcome::Text(t) => {
                    self.text.push_str(&t);
                    return Ok(true);
                }
                ReadOutcome::Eof => {
                    self.eof = true;
                    return Ok(false);
                }
                ReadOutcome::WouldBlock => {
                    // Keep what this call read for the call made again
                    // (the port's own buffer is still as it was).
                    let gathered = self.text.split_off(self.buffered);
                    let chars = gathered.chars().count();
                    if !gathered.is_empty() {
                        vm.os.stash_text(fd, gathered, chars);
                    }
                    return Err(fd_block(vm, "json-read", fd, Interest::Read));
                }
                ReadOutcome::Invalid { offset, byte } => {
                    return Err(json_error(
                        vm,
                        format!(
                            "json-read: input is not valid UTF-8 (byte 0x{byte:02x} at byte {offset})"
                        ),
                    ));
                }
            }
        }
    }

    /// The byte at `at`, reading more if needed; `None` at the end.
    fn byte(&mut self, vm: &mut Vm, at: usize) -> VmResult<Option<u8>> {
        while at >= self.text.len() {
            if !self.more(vm)? {
                return Ok(None);
            }
        }
        Ok(Some(self.text.as_bytes()[at]))
    }
}

/// An open container of `json-read`: its kind and where its elements
/// start on the VM's stack.
struct Open {
    object: bool,
    base: usize,
}

/// `(%json-read port depth-limit char-limit)`: the next JSON value of
/// `port`, or the eof object if only whitespace is left. The limits are
/// fixnums, or anything else for none.
fn json_read(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    let limit = arg(vm, base, 1)
        .as_fixnum()
        .map_or(usize::MAX, |n| n.max(0) as usize);
    let char_limit = arg(vm, base, 2)
        .as_fixnum()
        .map_or(usize::MAX, |n| n.max(0) as usize);
    let k = port_kind(vm, p);
    use super::io::kind;
    if !matches!(k, kind::STRING_IN | kind::STDIN | kind::FD_IN) {
        return Err(vm.error("json-read: expected an open textual input port", &[p]));
    }
    vm.stack.push(p);
    let slot = vm.stack.len() - 1;
    let r = loop {
        let (pos, len) = (
            vm.heap.get(vm.stack[slot], 2).as_fixnum_unchecked() as usize,
            {
                let b = vm.heap.get(vm.stack[slot], 1);
                if vm.is(b, STRING) {
                    vm.string_len(b)
                } else {
                    0
                }
            },
        );
        let buf = vm.heap.get(vm.stack[slot], 1);
        let text = if pos < len {
            vm.string_utf8(buf, pos, len)
        } else {
            String::new()
        };
        let fd = if k == kind::FD_IN {
            Some(port_fd(vm, vm.stack[slot])?)
        } else {
            None
        };
        let mut src = Src {
            buffered: text.len(),
            text,
            fd,
            eof: false,
        };
        match parse(vm, &mut src, limit) {
            Ok((v, at)) => {
                if char_limit != usize::MAX && src.text[..at].chars().count() > char_limit {
                    break Err(json_error(
                        vm,
                        format!(
                            "json-read: the text is longer than the limit of {char_limit} characters"
                        ),
                    ));
                }
                // Give the port back what follows the value.
                if k == kind::FD_IN {
                    let rest = src.text[at..].to_string();
                    let s = vm.string(&rest);
                    let p = vm.stack[slot];
                    vm.heap.set(p, 1, s?);
                    vm.heap.set(p, 2, Value::fix(0));
                } else {
                    let n = src.text[..at].chars().count();
                    consume(vm, slot, n);
                }
                break Ok(v);
            }
            Err(crate::vm::Exn::Error {
                kind: "json-incomplete",
                ..
            }) if k == kind::STDIN => {
                // Standard input comes a line at a time: wait for more.
                vm.stack.truncate(slot + 1);
                if !fill(vm, slot, true)? {
                    break Err(json_error(
                        vm,
                        "json-read: the input ends inside a value".into(),
                    ));
                }
            }
            Err(crate::vm::Exn::Error {
                kind: "json-incomplete",
                ..
            }) => {
                break Err(json_error(
                    vm,
                    "json-read: the input ends inside a value".into(),
                ));
            }
            Err(e) => break Err(e),
        }
    };
    vm.stack.truncate(slot);
    r
}

/// The character (for messages) at byte `at` of `text`.
fn char_at(text: &str, at: usize) -> String {
    match text.get(at..).and_then(|t| t.chars().next()) {
        Some(c) if c.is_control() => format!("U+{:04X}", c as u32),
        Some(c) => format!("`{c}`"),
        None => "the end of the input".into(),
    }
}

fn skip_ws(vm: &mut Vm, src: &mut Src, mut at: usize) -> VmResult<(usize, Option<u8>)> {
    loop {
        match src.byte(vm, at)? {
            Some(b' ' | b'\t' | b'\n' | b'\r') => at += 1,
            b => return Ok((at, b)),
        }
    }
}

/// Parse one value from `src`: the value and the byte after it. The end
/// of the input inside a value is the error kind `json-incomplete`.
fn parse(vm: &mut Vm, src: &mut Src, limit: usize) -> VmResult<(Value, usize)> {
    let base = vm.stack.len();
    let mut open: Vec<Open> = Vec::new();
    let (mut at, first) = skip_ws(vm, src, 0)?;
    if first.is_none() {
        return Ok((Value::EOF, at));
    }
    let bad = |vm: &mut Vm, src: &Src, at: usize, what: &str| {
        let m = format!(
            "json-read: {what}, found {} at {}",
            char_at(&src.text, at),
            position(&src.text, at)
        );
        json_error(vm, m)
    };
    // Each turn reads one value (or opens or closes a container).
    'value: loop {
        let (a, b) = skip_ws(vm, src, at)?;
        at = a;
        let Some(b) = b else {
            return Err(incomplete(vm));
        };
        match b {
            b'{' | b'[' => {
                if open.len() >= limit {
                    let m = format!(
                        "json-read: nesting deeper than the limit of {limit} at {}",
                        position(&src.text, at)
                    );
                    return Err(json_error(vm, m));
                }
                let object = b == b'{';
                open.push(Open {
                    object,
                    base: vm.stack.len(),
                });
                at += 1;
                let (a, c) = skip_ws(vm, src, at)?;
                at = a;
                match c {
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    Some(b'"') if object => {
                        at = object_key(vm, src, at)?;
                        continue 'value;
                    }
                    None => return Err(incomplete(vm)),
                    _ if object => return Err(bad(vm, src, at, "expected a key string or `}`")),
                    _ => continue 'value,
                }
                // An empty container: closed below.
            }
            b'"' => {
                let (s, a) = string(vm, src, at)?;
                at = a;
                let v = vm.string(&s)?;
                vm.stack.push(v);
            }
            b'-' | b'0'..=b'9' => {
                let (v, a) = number(vm, src, at)?;
                at = a;
                vm.stack.push(v);
            }
            b't' | b'f' | b'n' => {
                let (v, next) = literal(vm, src, at, "json-read")?;
                at = next;
                vm.stack.push(v);
            }
            _ => return Err(bad(vm, src, at, "expected a value")),
        }
        // A value is complete (or a container was just opened and is
        // empty): close what ends here, then find the next value.
        let mut just_opened_empty = matches!(b, b'{' | b'[');
        loop {
            let Some(top) = open.last() else {
                vm.stack.truncate(base + 1);
                let v = vm.stack.pop().unwrap_or(Value::EOF);
                return Ok((v, at));
            };
            let (object, cbase) = (top.object, top.base);
            let (a, c) = if just_opened_empty {
                (at, src.byte(vm, at)?)
            } else {
                skip_ws(vm, src, at)?
            };
            just_opened_empty = false;
            at = a;
            match c {
                Some(b',') => {
                    at += 1;
                    if object {
                        let (a, c) = skip_ws(vm, src, at)?;
                        at = a;
                        match c {
                            Some(b'"') => at = object_key(vm, src, at)?,
                            None => return Err(incomplete(vm)),
                            _ => return Err(bad(vm, src, at, "expected a key string")),
                        }
                    }
                    continue 'value;
                }
                Some(b'}') if object => {
                    at += 1;
                    open.pop();
                    let v = alist_from_stack(vm, cbase)?;
                    vm.stack.push(v);
                }
                Some(b']') if !object => {
                    at += 1;
                    open.pop();
                    let v = vm.vector_from_stack(cbase)?;
                    vm.stack.push(v);
                }
                None => return Err(incomplete(vm)),
                _ if object => return Err(bad(vm, src, at, "expected `,` or `}`")),
                _ => return Err(bad(vm, src, at, "expected `,` or `]`")),
            }
        }
    }
}

/// Read the key string at `at` and the `:` after it, pushing the key as a
/// symbol; the byte after the colon.
fn object_key(vm: &mut Vm, src: &mut Src, at: usize) -> VmResult<usize> {
    let (key, at) = string(vm, src, at)?;
    let sym = vm.intern(&key)?;
    vm.stack.push(sym);
    let (at, c) = skip_ws(vm, src, at)?;
    match c {
        Some(b':') => Ok(at + 1),
        None => Err(incomplete(vm)),
        _ => {
            let m = format!(
                "json-read: expected `:` after a key, found {} at {}",
                char_at(&src.text, at),
                position(&src.text, at)
            );
            Err(json_error(vm, m))
        }
    }
}

/// The alist of the key and value pairs on the stack from `from` (which
/// are popped).
fn alist_from_stack(vm: &mut Vm, from: usize) -> VmResult<Value> {
    vm.stack.push(Value::NIL);
    let acc = vm.stack.len() - 1;
    let mut i = acc;
    while i >= from + 2 {
        i -= 2;
        let pair = vm.cons(vm.stack[i], vm.stack[i + 1])?;
        vm.stack.push(pair);
        let cell = vm.cons(pair, vm.stack[acc]);
        vm.stack.pop();
        vm.stack[acc] = cell?;
    }
    let v = vm.stack[acc];
    vm.stack.truncate(from);
    Ok(v)
}

/// The string whose opening quote is at `at`, unescaped, and the byte
/// after its closing quote.
fn string(vm: &mut Vm, src: &mut Src, at: usize) -> VmResult<(String, usize)> {
    let start = at + 1;
    let mut i = start;
    let mut out: Option<String> = None;
    let mut run = start;
    let bad = |vm: &mut Vm, src: &Src, at: usize, what: &str| {
        let m = format!("json-read: {what} at {}", position(&src.text, at));
        json_error(vm, m)
    };
    loop {
        let Some(b) = src.byte(vm, i)? else {
            return Err(incomplete(vm));
        };
        match b {
            b'"' => {
                let s = match out {
                    Some(mut s) => {
                        s.push_str(&src.text[run..i]);
                        s
                    }
                    None => src.text[start..i].to_string(),
                };
                return Ok((s, i + 1));
            }
            b'\\' => {
                let s = out.get_or_insert_with(String::new);
                s.push_str(&src.text[run..i]);
                let Some(e) = src.byte(vm, i + 1)? else {
                    return Err(incomplete(vm));
                };
                let c = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => {
                        let hi = hex4(vm, src, i + 2)?;
                        i += 6;
                        let cp = if (0xD800..0xDC00).contains(&hi) {
                            if src.byte(vm, i)? != Some(b'\\') || src.byte(vm, i + 1)? != Some(b'u')
                            {
                                return Err(bad(
                                    vm,
                                    src,
                                    i,
                                    "a high surrogate escape without its low half",
                                ));
                            }
                            let lo = hex4(vm, src, i + 2)?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                return Err(bad(
                                    vm,
                                    src,
                                    i,
                                    "a high surrogate escape without its low half",
                                ));
                            }
                            i += 6;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else if (0xDC00..0xE000).contains(&hi) {
                            return Err(bad(vm, src, i - 6, "a low surrogate escape alone"));
                        } else {
                            hi
                        };
                        let s = out.get_or_insert_with(String::new);
                        s.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        run = i;
                        continue;
                    }
                    _ => return Err(bad(vm, src, i, "an unknown escape")),
                };
                let s = out.get_or_insert_with(String::new);
                s.push(c);
                i += 2;
                run = i;
            }
            0..=0x1f => return Err(bad(vm, src, i, "a control character inside a string")),
            _ => i += 1,
        }
    }
}

fn hex4(vm: &mut Vm, src: &mut Src, at: usize) -> VmResult<u32> {
    let mut n = 0;
    for k in 0..4 {
        let Some(b) = src.byte(vm, at + k)? else {
            return Err(incomplete(vm));
        };
        let d = (b as char).to_digit(16).ok_or_else(|| {
            let m = format!(
                "json-read: a \\u escape needs four hex digits at {}",
                position(&src.text, at + k)
            );
            json_error(vm, m)
        })?;
        n = n * 16 + d;
    }
    Ok(n)
}

/// The number at `at` and the byte after it.
fn number(vm: &mut Vm, src: &mut Src, at: usize) -> VmResult<(Value, usize)> {
    let mut i = at;
    let digits = |vm: &mut Vm, src: &mut Src, mut i: usize| -> VmResult<usize> {
        while let Some(b'0'..=b'9') = src.byte(vm, i)? {
            i += 1;
        }
        Ok(i)
    };
    let bad = |vm: &mut Vm, src: &Src, i: usize| {
        let m = format!(
            "json-read: a malformed number, found {} at {}",
            char_at(&src.text, i),
            position(&src.text, i)
        );
        json_error(vm, m)
    };
    if src.byte(vm, i)? == Some(b'-') {
        i += 1;
    }
    match src.byte(vm, i)? {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(vm, src, i)?,
        None => return Err(incomplete(vm)),
        _ => return Err(bad(vm, src, i)),
    }
    let mut exact = true;
    // A digit must come at `i`.
    let digit = |vm: &mut Vm, src: &mut Src, i: usize| -> VmResult<()> {
        match src.byte(vm, i)? {
            Some(b'0'..=b'9') => Ok(()),
            None => Err(incomplete(vm)),
            _ => Err(bad(vm, src, i)),
        }
    };
    if src.byte(vm, i)? == Some(b'.') {
        exact = false;
        i += 1;
        digit(vm, src, i)?;
        i = digits(vm, src, i)?;
    }
    if matches!(src.byte(vm, i)?, Some(b'e' | b'E')) {
        exact = false;
        i += 1;
        if matches!(src.byte(vm, i)?, Some(b'+' | b'-')) {
            i += 1;
        }
        digit(vm, src, i)?;
        i = digits(vm, src, i)?;
    }
    let text = &src.text[at..i];
    let v = if exact {
        match text.parse::<i64>() {
            Ok(n) => vm.make_num(crate::num::Num::Fix(n))?,
            Err(_) => match text.parse::<num_bigint::BigInt>() {
                Ok(b) => vm.make_num(crate::num::Num::Big(b))?,
                Err(_) => return Err(bad(vm, src, at)),
            },
        }
    } else {
        match text.parse::<f64>() {
            Ok(x) => vm.flonum(x)?,
            Err(_) => return Err(bad(vm, src, at)),
        }
    };
    Ok((v, i))
}

// ---- tokens -------------------------------------------------------------------------

/// The next token of the port at `slot`: one of the symbols `array-start
/// array-end object-start object-end`, the characters `,` and `:`, a
/// string, a number, `#t`, `#f`, the symbol `null`, or the eof object.
/// Reads only as far as the token (for a number, one character past it);
/// `used` counts the characters consumed.
fn token_at(vm: &mut Vm, slot: usize, used: &mut usize) -> VmResult<Value> {
    let mut window = 32usize;
    loop {
        let p = vm.stack[slot];
        let buf = vm.heap.get(p, 1);
        let pos = vm.heap.get(p, 2).as_fixnum_unchecked() as usize;
        let len = if vm.is(buf, STRING) {
            vm.string_len(buf)
        } else {
            0
        };
        // Skip whitespace (consumed as it is passed).
        let mut i = pos;
        while i < len && matches!(vm.string_ref(buf, i), ' ' | '\t' | '\n' | '\r') {
            i += 1;
        }
        if i > pos {
            consume(vm, slot, i - pos);
            *used += i - pos;
        }
        if i == len {
            if fill(vm, slot, true)? {
                continue;
            }
            return Ok(Value::EOF);
        }
        let c = vm.string_ref(buf, i);
        let single = match c {
            '[' => Some(vm.intern("array-start")?),
            ']' => Some(vm.intern("array-end")?),
            '{' => Some(vm.intern("object-start")?),
            '}' => Some(vm.intern("object-end")?),
            ',' | ':' => Some(Value::char(c)),
            _ => None,
        };
        if let Some(v) = single {
            consume(vm, slot, 1);
            *used += 1;
            return Ok(v);
        }
        // A string, number or literal: parse it from the buffer; if the
        // buffer ends inside it, read more and try again.
        // A window of the buffer, widened while the token runs past it,
        // so a token costs what it holds, not what the buffer holds.
        let end = len.min(i.saturating_add(window));
        let partial = end < len;
        let text = vm.string_utf8(buf, i, end);
        let mut src = Src {
            buffered: text.len(),
            text,
            fd: None,
            eof: false,
        };
        let base = vm.stack.len();
        let r = match c {
            '"' => string(vm, &mut src, 0).and_then(|(s, at)| Ok((vm.string(&s)?, at))),
            '-' | '0'..='9' => number(vm, &mut src, 0),
            't' | 'f' | 'n' => literal(vm, &mut src, 0, "json-generator"),
            _ => {
                let m = format!(
                    "json-generator: expected a value, found {}",
                    char_at(&src.text, 0)
                );
                consume(vm, slot, 1);
                *used += 1;
                return Err(json_error(vm, m));
            }
        };
        vm.stack.truncate(base);
        match r {
            // A number runs to the end of the buffer: more may follow.
            Ok((v, at)) if at < src.text.len() || !matches!(c, '-' | '0'..='9') => {
                let n = src.text[..at].chars().count();
                vm.stack.push(v);
                consume(vm, slot, n);
                *used += n;
                return Ok(vm.stack.pop().unwrap_or(Value::EOF));
            }
            Ok(_) if partial => window = window.saturating_mul(4),
            Err(crate::vm::Exn::Error {
                kind: "json-incomplete",
                ..
            }) if partial => {
                window = window.saturating_mul(4);
            }
            Ok((v, at)) => {
                vm.stack.push(v);
                let more = fill(vm, slot, true)?;
                let v = vm.stack.pop().unwrap_or(Value::EOF);
                if !more {
                    let n = src.text[..at].chars().count();
                    consume(vm, slot, n);
                    *used += n;
                    return Ok(v);
                }
            }
            Err(crate::vm::Exn::Error {
                kind: "json-incomplete",
                ..
            }) => {
                if !fill(vm, slot, true)? {
                    let (pos, len) = (
                        vm.heap.get(vm.stack[slot], 2).as_fixnum_unchecked() as usize,
                        vm.string_len(vm.heap.get(vm.stack[slot], 1)),
                    );
                    consume(vm, slot, len - pos);
                    *used += len - pos;
                    return Err(json_error(
                        vm,
                        "json-generator: the input ends inside a value".into(),
                    ));
                }
            }
            Err(e) => {
                consume(vm, slot, 1);
                *used += 1;
                return Err(e);
            }
        }
    }
}

/// The literal `true`, `false` or `null` at byte `at` (whose first byte
/// is `t`, `f` or `n`), and the byte after it; `who` names the caller in
/// the error.
fn literal(vm: &mut Vm, src: &mut Src, at: usize, who: &str) -> VmResult<(Value, usize)> {
    let (word, v) = match src.byte(vm, at)? {
        Some(b't') => ("true", Value::TRUE),
        Some(b'f') => ("false", Value::FALSE),
        _ => ("null", vm.intern("null")?),
    };
    for (i, w) in word.bytes().enumerate() {
        match src.byte(vm, at + i)? {
            Some(x) if x == w => {}
            None => return Err(incomplete(vm)),
            Some(_) => {
                let m = format!(
                    "{who}: expected `{word}`, found {} at {}",
                    char_at(&src.text, at + i),
                    position(&src.text, at + i)
                );
                return Err(json_error(vm, m));
            }
        }
    }
    Ok((v, at + word.len()))
}

/// The end of the input inside a value: `json_read` and `token_at` read
/// more, or refuse the text.
fn incomplete(vm: &mut Vm) -> crate::vm::Exn {
    vm.error_kind("json-incomplete", "", &[])
}

// ---- writing ------------------------------------------------------------------------

/// `(%json-write value port)`: write `value` as JSON text.
fn json_write(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    let mut out = String::new();
    write_value(vm, v, &mut out, 0)?;
    super::io::port_write(vm, "json-write", base + 1, &out)?;
    Ok(Value::UNSPECIFIED)
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(vm: &mut Vm, v: Value, out: &mut String, depth: usize) -> VmResult<()> {
    use crate::obj;
    if depth > 1_000_000 {
        return Err(json_error(
            vm,
            "json-write: the value nests too deeply".into(),
        ));
    }
    if v == Value::TRUE {
        out.push_str("true");
    } else if v == Value::FALSE {
        out.push_str("false");
    } else if v.is_fixnum() {
        out.push_str(&v.as_fixnum_unchecked().to_string());
    } else if vm.is(v, obj::FLONUM) {
        let x = vm.flonum_value(v);
        if !x.is_finite() {
            return Err(json_error(vm, format!("json-write: {x} has no JSON form")));
        }
        if x == x.trunc() && x.abs() < 1e16 {
            out.push_str(&format!("{x:.1}"));
        } else {
            out.push_str(&format!("{x:?}"));
        }
    } else if vm.is(v, obj::BIGNUM) {
        out.push_str(&crate::printer::print(vm, v, crate::printer::Mode::Display));
    } else if vm.is(v, obj::STRING) || vm.is(v, obj::WIDENED) {
        let s = vm.string_text(v);
        write_string(out, &s);
    } else if vm.is(v, obj::SYMBOL) {
        if vm.symbol_name(v) == "null" {
            out.push_str("null");
        } else {
            return Err(not_json(vm, v));
        }
    } else if vm.is(v, obj::VECTOR) {
        out.push('[');
        for i in 0..vm.heap.len(v) {
            if i > 0 {
                out.push(',');
            }
            let x = vm.heap.get(v, i);
            crate::deep(|| write_value(vm, x, out, depth + 1))?;
        }
        out.push(']');
    } else if v == Value::NIL || vm.is(v, obj::PAIR) {
        out.push('{');
        let mut l = v;
        let mut first = true;
        let mut steps = 0usize;
        let mut slow = v;
        while vm.is(l, obj::PAIR) {
            let e = vm.heap.get(l, 0);
            if !vm.is(e, obj::PAIR) {
                return Err(not_json(vm, v));
            }
            let key = vm.heap.get(e, 0);
            let name = if vm.is(key, obj::SYMBOL) {
                vm.symbol_name(key)
            } else if vm.is(key, obj::STRING) || vm.is(key, obj::WIDENED) {
                vm.string_text(key)
            } else {
                return Err(vm.error_kind(
                    "json-error",
                    "json-write: an object key must be a symbol or a string",
                    &[key],
                ));
            };
            if !first {
                out.push(',');
            }
            first = false;
            write_string(out, &name);
            out.push(':');
            let x = vm.heap.get(e, 1);
            crate::deep(|| write_value(vm, x, out, depth + 1))?;
            l = vm.heap.get(l, 1);
            // A circular alist: the slow pointer is met.
            steps += 1;
            if steps.is_multiple_of(2) {
                slow = vm.heap.get(slow, 1);
            }
            if l == slow {
                return Err(vm.error_kind("json-error", "json-write: a circular object", &[]));
            }
        }
        if l != Value::NIL {
            return Err(not_json(vm, v));
        }
        out.push('}');
    } else {
        return Err(not_json(vm, v));
    }
    Ok(())
}

fn not_json(vm: &mut Vm, v: Value) -> crate::vm::Exn {
    let t = vm.type_name(v);
    vm.error_kind(
        "json-error",
        format!("json-write: a {t} has no JSON form"),
        &[v],
    )
}

// ---- events -------------------------------------------------------------------------

/// Fields of the state vector of `%json-event` (`json-generator`'s).
mod ev {
    /// The open containers, innermost first: a list of fixnums (0 an
    /// array, 1 an object).
    pub const STACK: usize = 0;
    /// What may come next (a fixnum: the `want` constants).
    pub const WANT: usize = 1;
    /// Characters consumed so far.
    pub const COUNT: usize = 2;
    /// The depth limit, or `#f`.
    pub const DEPTH_LIMIT: usize = 3;
    /// The character limit, or `#f`.
    pub const CHAR_LIMIT: usize = 4;
    /// How many containers are open.
    pub const DEPTH: usize = 5;
    /// Fields.
    pub const SIZE: usize = 6;
    pub const VALUE: i64 = 0;
    pub const VALUE_OR_END: i64 = 1;
    pub const KEY: i64 = 2;
    pub const KEY_OR_END: i64 = 3;
    pub const COLON: i64 = 4;
    pub const COMMA_OR_END: i64 = 5;
    pub const DONE: i64 = 6;
}

/// `(%json-event port state)`: the next event of one JSON text of `port`
/// (`array-start`, `array-end`, `object-start`, `object-end`, or a value,
/// an object's keys as strings), checked against the grammar, then the
/// eof object; `state` is a vector of `ev::SIZE` fields the generator
/// keeps between calls.
fn json_event(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use super::io::kind;
    const WHO: &str = "json-generator";
    let p = arg(vm, base, 0);
    let st = arg(vm, base, 1);
    if !vm.is(st, crate::obj::VECTOR) || vm.heap.len(st) != ev::SIZE {
        return Err(vm.type_error(WHO, "a generator's state", st));
    }
    let k = port_kind(vm, p);
    if !matches!(k, kind::STRING_IN | kind::STDIN | kind::FD_IN) {
        return Err(vm.error("json-generator: expected an open textual input port", &[p]));
    }
    vm.stack.push(p);
    let slot = vm.stack.len() - 1;
    let r = event_at(vm, base, slot, WHO);
    vm.stack.truncate(slot);
    r
}

fn event_at(vm: &mut Vm, base: usize, slot: usize, who: &str) -> VmResult<Value> {
    let field = |vm: &Vm, i: usize| vm.heap.get(arg(vm, base, 1), i);
    let set = |vm: &mut Vm, i: usize, v: Value| {
        let st = arg(vm, base, 1);
        vm.heap.set(st, i, v);
    };
    loop {
        let want = field(vm, ev::WANT).as_fixnum().unwrap_or(ev::VALUE);
        if want == ev::DONE {
            return Ok(Value::EOF);
        }
        let mut used = 0;
        let t = token_at(vm, slot, &mut used)?;
        let count = field(vm, ev::COUNT)
            .as_fixnum()
            .unwrap_or(0)
            .saturating_add(used as i64);
        set(vm, ev::COUNT, Value::fix(count.min(1 << 60)));
        if let Some(limit) = field(vm, ev::CHAR_LIMIT).as_fixnum()
            && count > limit
        {
            return Err(json_error(
                vm,
                format!("{who}: the text is longer than the limit of {limit} characters"),
            ));
        }
        let stack = field(vm, ev::STACK);
        let in_object = vm.is(stack, crate::obj::PAIR) && vm.heap.get(stack, 0) == Value::fix(1);
        let depth = field(vm, ev::DEPTH).as_fixnum().unwrap_or(0);
        let tok = classify_token(vm, t);
        let bad = |vm: &mut Vm, what: &str| -> crate::vm::Exn {
            let shown = crate::printer::print(vm, t, crate::printer::Mode::Write);
            json_error(vm, format!("{who}: {what}, found {shown}"))
        };
        // After a value: the next is a separator or the end (or done).
        let after_value = |vm: &mut Vm, depth: i64| {
            let w = if depth == 0 {
                ev::DONE
            } else {
                ev::COMMA_OR_END
            };
            let st = arg(vm, base, 1);
            vm.heap.set(st, ev::WANT, Value::fix(w));
        };
        match (want, tok) {
            (_, Tok::Eof) => {
                if want == ev::VALUE && depth == 0 {
                    set(vm, ev::WANT, Value::fix(ev::DONE));
                    return Ok(Value::EOF);
                }
                return Err(json_error(
                    vm,
                    format!("{who}: the input ends inside a value"),
                ));
            }
            (ev::VALUE | ev::VALUE_OR_END, Tok::Open(object)) => {
                if let Some(limit) = field(vm, ev::DEPTH_LIMIT).as_fixnum()
                    && depth >= limit
                {
                    return Err(json_error(
                        vm,
                        format!("{who}: nesting deeper than the limit of {limit}"),
                    ));
                }
                let cell = vm.cons(Value::fix(i64::from(object)), stack)?;
                set(vm, ev::STACK, cell);
                set(vm, ev::DEPTH, Value::fix(depth + 1));
                let w = if object {
                    ev::KEY_OR_END
                } else {
                    ev::VALUE_OR_END
                };
                set(vm, ev::WANT, Value::fix(w));
                return Ok(t);
            }
            (ev::VALUE_OR_END, Tok::Close(false)) | (ev::KEY_OR_END, Tok::Close(true)) => {
                close(vm, base, depth)?;
                return Ok(t);
            }
            (ev::COMMA_OR_END, Tok::Close(object)) if object == in_object => {
                close(vm, base, depth)?;
                return Ok(t);
            }
            (ev::VALUE | ev::VALUE_OR_END, Tok::Value) => {
                after_value(vm, depth);
                return Ok(t);
            }
            (ev::KEY | ev::KEY_OR_END, Tok::Value) if vm.is(t, STRING) => {
                set(vm, ev::WANT, Value::fix(ev::COLON));
                return Ok(t);
            }
            (ev::COLON, Tok::Colon) => set(vm, ev::WANT, Value::fix(ev::VALUE)),
            (ev::COMMA_OR_END, Tok::Comma) => {
                let w = if in_object { ev::KEY } else { ev::VALUE };
                set(vm, ev::WANT, Value::fix(w));
            }
            (ev::VALUE | ev::VALUE_OR_END, _) => return Err(bad(vm, "expected a value")),
            (ev::KEY | ev::KEY_OR_END, _) => return Err(bad(vm, "expected a key string")),
            (ev::COLON, _) => return Err(bad(vm, "expected `:` after a key")),
            _ if in_object => return Err(bad(vm, "expected `,` or `}`")),
            _ => return Err(bad(vm, "expected `,` or `]`")),
        }
    }
}

/// Close the innermost container of the state at argument 1.
fn close(vm: &mut Vm, base: usize, depth: i64) -> VmResult<()> {
    let st = arg(vm, base, 1);
    let stack = vm.heap.get(st, ev::STACK);
    let rest = if vm.is(stack, crate::obj::PAIR) {
        vm.heap.get(stack, 1)
    } else {
        Value::NIL
    };
    vm.heap.set(st, ev::STACK, rest);
    let depth = (depth - 1).max(0);
    vm.heap.set(st, ev::DEPTH, Value::fix(depth));
    let w = if depth == 0 {
        ev::DONE
    } else {
        ev::COMMA_OR_END
    };
    vm.heap.set(st, ev::WANT, Value::fix(w));
    Ok(())
}

/// What a token of `token_at` is, for the grammar.
#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Eof,
    /// `[` (false) or `{` (true).
    Open(bool),
    /// `]` (false) or `}` (true).
    Close(bool),
    Comma,
    Colon,
    Value,
}

fn classify_token(vm: &Vm, t: Value) -> Tok {
    if t == Value::EOF {
        return Tok::Eof;
    }
    if let Some(c) = t.as_char() {
        return if c == ',' { Tok::Comma } else { Tok::Colon };
    }
    if vm.is(t, crate::obj::SYMBOL) {
        return match vm.symbol_name(t).as_str() {
            "array-start" => Tok::Open(false),
            "object-start" => Tok::Open(true),
            "array-end" => Tok::Close(false),
            "object-end" => Tok::Close(true),
            _ => Tok::Value,
        };
    }
    Tok::Value
}
