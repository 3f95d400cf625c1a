//! The printer: `display`, `write`, `write-simple` and `write-shared`.
//!
//! Iterative (an explicit work stack), so deeply nested data cannot overflow
//! the Rust stack. `write` and `display` label the pairs and vectors that
//! are part of a cycle (`#0=` / `#0#`), so circular data prints finitely;
//! `write-shared` labels all shared structure; `write-simple` labels
//! nothing (and stops after a bounded amount of output on cycles).

use std::collections::HashMap;
use std::fmt::Write as _;

use imp_gc::Value;

use crate::obj::{self, code};
use crate::vm::Vm;

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `display`: strings and characters as their text.
    Display,
    /// `write`: machine-readable, cycles labelled.
    Write,
    /// `write-simple`: machine-readable, no labels.
    WriteSimple,
    /// `write-shared`: machine-readable, all sharing labelled.
    WriteShared,
}

/// `v` printed with `write` (`readable`) or `display`.
pub fn write_string(vm: &Vm, v: Value, readable: bool) -> String {
    print(vm, v, if readable { Mode::Write } else { Mode::Display })
}

/// Output limit for `write-simple` on circular data.
const SIMPLE_LIMIT: usize = 1 << 24;

/// `v` printed in `mode`.
pub fn print(vm: &Vm, v: Value, mode: Mode) -> String {
    let labels = match mode {
        Mode::WriteSimple => HashMap::new(),
        Mode::WriteShared => find_shared(vm, v, true),
        _ => find_shared(vm, v, false),
    };
    let mut p = Printer {
        vm,
        mode,
        out: String::new(),
        labels,
        next_label: 0,
    };
    p.run(v);
    p.out
}

/// Is `v` a pair or vector (the only things that get labels)?
fn is_compound(vm: &Vm, v: Value) -> bool {
    v.is_ref() && matches!(vm.heap.tag(v), obj::PAIR | obj::VECTOR)
}

/// Objects to label: those on a cycle, or (if `shared`) reached twice.
/// Value is `None` until the printer assigns the label number.
fn find_shared(vm: &Vm, root: Value, shared: bool) -> HashMap<u64, Option<u32>> {
    enum Ev {
        Enter(Value),
        Exit(u64),
    }
    #[derive(PartialEq)]
    enum St {
        Active,
        Done,
    }
    let mut state: HashMap<u64, St> = HashMap::new();
    let mut labels = HashMap::new();
    let mut work = vec![Ev::Enter(root)];
    while let Some(ev) = work.pop() {
        match ev {
            Ev::Exit(off) => {
                state.insert(off, St::Done);
            }
            Ev::Enter(v) => {
                if !is_compound(vm, v) {
                    continue;
                }
                let off = v.offset();
                match state.get(&off) {
                    Some(St::Active) => {
                        labels.insert(off, None);
                        continue;
                    }
                    Some(St::Done) => {
                        if shared {
                            labels.insert(off, None);
                        }
                        continue;
                    }
                    None => {}
                }
                state.insert(off, St::Active);
                work.push(Ev::Exit(off));
                for i in (0..vm.heap.len(v)).rev() {
                    work.push(Ev::Enter(vm.heap.get(v, i)));
                }
            }
        }
    }
    labels
}

enum Item {
    Val(Value),
    /// The rest of a list after its first element.
    Tail(Value),
    Text(&'static str),
    Owned(String),
}

struct Printer<'a> {
    vm: &'a Vm,
    mode: Mode,
    out: String,
    labels: HashMap<u64, Option<u32>>,
    next_label: u32,
}

impl Printer<'_> {
    fn run(&mut self, v: Value) {
        let mut work = vec![Item::Val(v)];
        while let Some(item) = work.pop() {
            if self.mode == Mode::WriteSimple && self.out.len() > SIMPLE_LIMIT {
                self.out.push_str("...");
                return;
            }
            match item {
                Item::Text(t) => self.out.push_str(t),
                Item::Owned(t) => self.out.push_str(&t),
                Item::Val(v) => {
                    if self.label_prefix(v) {
                        continue;
                    }
                    self.value(v, &mut work);
                }
                Item::Tail(t) => {
                    if t.is_nil() {
                        self.out.push(')');
                    } else if self.vm.is_pair(t) && !self.labels.contains_key(&t.offset()) {
                        self.out.push(' ');
                        work.push(Item::Tail(self.vm.cdr(t)));
                        work.push(Item::Val(self.vm.car(t)));
                    } else {
                        self.out.push_str(" . ");
                        work.push(Item::Text(")"));
                        work.push(Item::Val(t));
                    }
                }
            }
        }
    }

    /// Print `#n#` (and return true) or `#n=` for a labelled object.
    fn label_prefix(&mut self, v: Value) -> bool {
        if !v.is_ref() {
            return false;
        }
        match self.labels.get(&v.offset()) {
            Some(Some(n)) => {
                let _ = write!(self.out, "#{n}#");
                true
            }
            Some(None) => {
                let n = self.next_label;
                self.next_label += 1;
                self.labels.insert(v.offset(), Some(n));
                let _ = write!(self.out, "#{n}=");
                false
            }
            None => false,
        }
    }

    fn value(&mut self, v: Value, work: &mut Vec<Item>) {
        let vm = self.vm;
        if let Some(n) = v.as_fixnum() {
            let _ = write!(self.out, "{n}");
            return;
        }
        if !v.is_ref() {
            self.immediate(v);
            return;
        }
        let readable = self.mode != Mode::Display;
        match vm.heap.tag(v) {
            obj::PAIR => {
                if let Some(prefix) = self.quote_prefix(v) {
                    self.out.push_str(prefix);
                    work.push(Item::Val(vm.car(vm.cdr(v))));
                    return;
                }
                self.out.push('(');
                work.push(Item::Tail(vm.cdr(v)));
                work.push(Item::Val(vm.car(v)));
            }
            obj::VECTOR => {
                self.out.push_str("#(");
                work.push(Item::Text(")"));
                let n = vm.heap.len(v);
                for i in (0..n).rev() {
                    work.push(Item::Val(vm.heap.get(v, i)));
                    if i > 0 {
                        work.push(Item::Text(" "));
                    }
                }
            }
            obj::STRING | obj::WIDENED => {
                if readable {
                    write_string_literal(&mut self.out, vm.string_chars(v).into_iter());
                } else {
                    self.out.extend(vm.string_chars(v));
                }
            }
            obj::SYMBOL => {
                let name = vm.symbol_name(v);
                if readable {
                    write_symbol(&mut self.out, &name);
                } else {
                    self.out.push_str(&name);
                }
            }
            obj::FLONUM | obj::BIGNUM | obj::RATIO => {
                if let Some(n) = vm.num(v) {
                    self.out.push_str(&crate::num::number_to_string(&n, 10));
                }
            }
            obj::BYTEVECTOR => {
                self.out.push_str("#u8(");
                for (i, b) in vm.bytevector_bytes(v).iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    let _ = write!(self.out, "{b}");
                }
                self.out.push(')');
            }
            obj::KEYWORD => {
                self.out.push_str("#:");
                self.out.push_str(&vm.string_text(vm.heap.get(v, 0)));
            }
            obj::CLOSURE | obj::PRIMITIVE => {
                let _ = write!(self.out, "#<procedure {}>", vm.procedure_name(v));
            }
            obj::HOST => {
                let ty = vm.heap.get(v, 2);
                let ty = if vm.is(ty, obj::SYMBOL) {
                    vm.symbol_name(ty)
                } else {
                    "?".to_string()
                };
                let _ = write!(self.out, "#<host {ty}>");
            }
            obj::RECORD => {
                let rtd = vm.heap.get(v, 0);
                let name = vm.heap.get(rtd, 0);
                let fields = vm.heap.get(rtd, 1);
                let _ = write!(self.out, "#<{}", vm.symbol_name(name));
                work.push(Item::Text(">"));
                let n = vm.heap.len(v) - 1;
                for i in (0..n).rev() {
                    work.push(Item::Val(vm.heap.get(v, 1 + i)));
                    let f = vm.heap.get(fields, i);
                    work.push(Item::Owned(format!(" {}: ", vm.symbol_name(f))));
                }
            }
            obj::RECORD_TYPE => {
                let _ = write!(
                    self.out,
                    "#<record-type {}>",
                    vm.symbol_name(vm.heap.get(v, 0))
                );
            }
            obj::HASH_TABLE => {
                let _ = write!(
                    self.out,
                    "#<hash-table {}>",
                    vm.heap.get(v, 1).as_fixnum_unchecked()
                );
            }
            obj::ERROR => {
                let msg = vm.heap.get(v, obj::error::MESSAGE);
                let _ = write!(self.out, "#<error ");
                write_string_literal(&mut self.out, vm.string_chars(msg).into_iter());
                let irritants = vm.heap.get(v, obj::error::IRRITANTS);
                if vm.is_pair(irritants) {
                    self.out.push(' ');
                    work.push(Item::Text(">"));
                    work.push(Item::Val(irritants));
                } else {
                    self.out.push('>');
                }
            }
            obj::VALUES => {
                let n = vm.heap.len(v);
                for i in (0..n).rev() {
                    work.push(Item::Val(vm.heap.get(v, i)));
                    if i > 0 {
                        work.push(Item::Text(" "));
                    }
                }
            }
            obj::CODE => {
                let name = vm.heap.get(v, code::NAME);
                let _ = write!(self.out, "#<code {}>", write_string(vm, name, false));
            }
            t => {
                let _ = write!(self.out, "#<{}>", obj::tag_name(t));
            }
        }
    }

    fn quote_prefix(&self, v: Value) -> Option<&'static str> {
        let vm = self.vm;
        let head = vm.car(v);
        let rest = vm.cdr(v);
        if !vm.is(head, obj::SYMBOL) || !vm.is_pair(rest) || !vm.cdr(rest).is_nil() {
            return None;
        }
        if self.labels.contains_key(&rest.offset()) {
            return None;
        }
        let name = vm.heap.get(head, 0);
        for (sym, prefix) in [
            ("quote", "'"),
            ("quasiquote", "`"),
            ("unquote", ","),
            ("unquote-splicing", ",@"),
        ] {
            if vm.string_eq_str(name, sym) {
                return Some(prefix);
            }
        }
        None
    }

    fn immediate(&mut self, v: Value) {
        let readable = self.mode != Mode::Display;
        if let Some(c) = v.as_char() {
            if readable {
                write_char_literal(&mut self.out, c);
            } else {
                self.out.push(c);
            }
            return;
        }
        self.out.push_str(match v {
            Value::TRUE => "#t",
            Value::FALSE => "#f",
            Value::NIL => "()",
            Value::EOF => "#<eof>",
            Value::UNSPECIFIED => "#<unspecified>",
            Value::DEFAULT => "#<default>",
            Value::UNDEFINED => "#<undefined>",
            _ => "#<unknown>",
        });
    }
}

/// Write a character literal `#\...`.
pub fn write_char_literal(out: &mut String, c: char) {
    out.push_str("#\\");
    match c {
        ' ' => out.push_str("space"),
        '\n' => out.push_str("newline"),
        '\t' => out.push_str("tab"),
        '\r' => out.push_str("return"),
        '\0' => out.push_str("null"),
        '\x07' => out.push_str("alarm"),
        '\x08' => out.push_str("backspace"),
        '\x7f' => out.push_str("delete"),
        '\x1b' => out.push_str("escape"),
        c if c.is_control() => {
            let _ = write!(out, "x{:x}", c as u32);
        }
        c => out.push(c),
    }
}

/// Write a string literal with escapes.
pub fn write_string_literal(out: &mut String, chars: impl Iterator<Item = char>) {
    out.push('"');
    for c in chars {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:x};", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Write a symbol, with `|...|` when it would not read back as itself.
pub fn write_symbol(out: &mut String, name: &str) {
    // R7RS: symbols with non-ASCII characters are written between bars.
    let plain = name.is_ascii() && !crate::reader::symbol_needs_bars(name);
    if plain {
        out.push_str(name);
        return;
    }
    out.push('|');
    for c in name.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:x};", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('|');
}
