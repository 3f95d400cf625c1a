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

/// How much text a [`Printer`] makes before it hands a piece over.
pub const CHUNK_BYTES: usize = 1 << 16;

/// `v` printed in `mode`, whole.
pub fn print(vm: &Vm, v: Value, mode: Mode) -> String {
    let mut p = Printer::new(vm, v, mode);
    let mut out = String::new();
    while let Some(piece) = p.next_chunk(vm) {
        out.push_str(&piece);
    }
    out
}

/// Is `v` something whose printed form shows what it holds (a pair, a
/// vector, multiple values, a record's fields, an error's irritants), so
/// that it can be on a cycle and gets a label when it is?
fn is_compound(vm: &Vm, v: Value) -> bool {
    v.is_ref()
        && matches!(
            vm.heap.tag(v),
            obj::PAIR | obj::VECTOR | obj::VALUES | obj::RECORD | obj::ERROR
        )
}

/// Objects to label: those on a cycle, or (if `shared`) reached twice.
/// Value is `None` until the printer assigns the label number. A
/// depth-first walk with the children of each object taken one at a time
/// (a vector of a hundred million elements is not pushed whole); the walk
/// holds the path from the root, which is what finding cycles needs.
fn find_shared(vm: &Vm, root: Value, shared: bool) -> HashMap<u64, Option<u32>> {
    let mut active = imp_gc::OffsetSet::default();
    let mut done = imp_gc::OffsetSet::default();
    let mut labels = HashMap::new();
    // (object, index of its next child to visit)
    let mut path: Vec<(Value, usize)> = Vec::new();
    let mut next = Some(root);
    loop {
        if let Some(v) = next.take()
            && is_compound(vm, v)
        {
            let off = v.offset();
            if active.contains(off) {
                labels.insert(off, None);
            } else if done.contains(off) {
                if shared {
                    labels.insert(off, None);
                }
            } else {
                active.insert(off);
                path.push((v, 0));
            }
        }
        let Some(top) = path.last_mut() else {
            break;
        };
        let (v, i) = *top;
        if i < vm.heap.len(v) {
            top.1 += 1;
            next = Some(vm.heap.get(v, i));
        } else {
            path.pop();
            active.remove(v.offset());
            done.insert(v.offset());
        }
    }
    labels
}

enum Item {
    Val(Value),
    /// The rest of a list after its first element.
    Tail(Value),
    /// The elements of a vector (or multiple values) from this index on,
    /// separated by spaces.
    Elements(Value, usize),
    Text(&'static str),
    Owned(String),
}

/// A printing in progress: it makes its text a piece at a time
/// ([`Printer::next_chunk`]), so a large value is never held whole as
/// text. It holds values of the heap between pieces: the caller must not
/// allocate (or let a collection run) until the printing is done.
pub struct Printer {
    mode: Mode,
    out: String,
    labels: HashMap<u64, Option<u32>>,
    next_label: u32,
    work: Vec<Item>,
    /// Text made so far (for `write-simple`'s limit on cycles).
    total: usize,
}

impl Printer {
    /// A printing of `v` in `mode`.
    pub fn new(vm: &Vm, v: Value, mode: Mode) -> Printer {
        let labels = match mode {
            Mode::WriteSimple => HashMap::new(),
            Mode::WriteShared => find_shared(vm, v, true),
            _ => find_shared(vm, v, false),
        };
        Printer {
            mode,
            out: String::new(),
            labels,
            next_label: 0,
            work: vec![Item::Val(v)],
            total: 0,
        }
    }

    /// The next piece of text (about [`CHUNK_BYTES`]), or `None` when the
    /// printing is done. `vm` must be the one given to `new`, with nothing
    /// allocated in between.
    pub fn next_chunk(&mut self, vm: &Vm) -> Option<String> {
        while self.out.len() < CHUNK_BYTES {
            let Some(item) = self.work.pop() else {
                break;
            };
            if self.mode == Mode::WriteSimple && self.total + self.out.len() > SIMPLE_LIMIT {
                self.out.push_str("...");
                self.work.clear();
                break;
            }
            self.item(vm, item);
        }
        if self.out.is_empty() {
            return None;
        }
        self.total += self.out.len();
        Some(std::mem::take(&mut self.out))
    }

    fn item(&mut self, vm: &Vm, item: Item) {
        match item {
            Item::Text(t) => self.out.push_str(t),
            Item::Owned(t) => self.out.push_str(&t),
            Item::Val(v) => {
                if !self.label_prefix(v) {
                    self.value(vm, v);
                }
            }
            Item::Elements(v, i) => {
                if i < vm.heap.len(v) {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.work.push(Item::Elements(v, i + 1));
                    self.work.push(Item::Val(vm.heap.get(v, i)));
                }
            }
            Item::Tail(t) => {
                if t.is_nil() {
                    self.out.push(')');
                } else if vm.is_pair(t) && !self.labels.contains_key(&t.offset()) {
                    self.out.push(' ');
                    self.work.push(Item::Tail(vm.cdr(t)));
                    self.work.push(Item::Val(vm.car(t)));
                } else {
                    self.out.push_str(" . ");
                    self.work.push(Item::Text(")"));
                    self.work.push(Item::Val(t));
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

    fn value(&mut self, vm: &Vm, v: Value) {
        let work = &mut self.work;
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
                if let Some(prefix) = quote_prefix(vm, &self.labels, v) {
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
                work.push(Item::Elements(v, 0));
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
            obj::COMPLEX => {
                if let (Some(re), Some(im)) = (vm.num(vm.heap.get(v, 0)), vm.num(vm.heap.get(v, 1)))
                {
                    self.out
                        .push_str(&crate::num::complex_to_string(&re, &im, 10));
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
            obj::SOCKET => {
                let name = vm.heap.get(v, crate::prim::net::field::NAME);
                let name = if vm.is(name, obj::STRING) {
                    vm.string_text(name)
                } else {
                    "?".to_string()
                };
                let _ = write!(self.out, "#<socket {name}>");
            }
            obj::HOST => {
                use crate::host::field;
                let ty = vm.heap.get(v, field::TYPE_NAME);
                let ty = if vm.is(ty, obj::SYMBOL) {
                    vm.symbol_name(ty)
                } else {
                    "?".to_string()
                };
                // A host type that prints its values, if the value is here.
                let text = (vm.heap.get(v, field::SESSION) == Value::fix(vm.os.session))
                    .then(|| {
                        let token = vm.heap.get(v, field::TOKEN).as_fixnum_unchecked() as u64;
                        let index = vm.heap.get(v, field::TYPE).as_fixnum_unchecked() as usize;
                        let value = vm.host.objects.peek(token)?;
                        vm.host.objects.print(index, value)
                    })
                    .flatten();
                match text {
                    Some(t) => {
                        let _ = write!(self.out, "#<{ty} {t}>");
                    }
                    None => {
                        let _ = write!(self.out, "#<host {ty}>");
                    }
                }
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
            obj::VALUES => work.push(Item::Elements(v, 0)),
            obj::CODE => {
                let name = vm.heap.get(v, code::NAME);
                let _ = write!(self.out, "#<code {}>", write_string(vm, name, false));
            }
            t => {
                let _ = write!(self.out, "#<{}>", obj::tag_name(t));
            }
        }
    }
}

/// `'`, `` ` ``, `,` or `,@` if `v` is a two-element list that reads back
/// from it (`(quote x)` and its kin, with no label on its rest).
fn quote_prefix(vm: &Vm, labels: &HashMap<u64, Option<u32>>, v: Value) -> Option<&'static str> {
    {
        let head = vm.car(v);
        let rest = vm.cdr(v);
        if !vm.is(head, obj::SYMBOL) || !vm.is_pair(rest) || !vm.cdr(rest).is_nil() {
            return None;
        }
        if labels.contains_key(&rest.offset()) {
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
}

impl Printer {
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

/// A symbol's name as `write` shows it.
pub fn write_symbol_string(name: &str) -> String {
    let mut out = String::new();
    write_symbol(&mut out, name);
    out
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
