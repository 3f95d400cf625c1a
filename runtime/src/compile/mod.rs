//! The compiler: datums → expanded `Ast` → bytecode `CODE` objects.
//!
//! Each top-level form compiles to a closure of no arguments that the VM
//! then calls. Macros defined with `define-syntax` and `define-macro` at top
//! level are heap objects bound to their keyword's symbol (ARCHITECTURE.md invariant
//! 1); local macros live only while their body is expanded.

pub mod alias;
pub mod ast;
pub mod codegen;
pub mod derived;
pub mod expand;
pub mod library;
pub mod syntax_rules;

use imp_gc::Value;

use crate::obj::{self, MACRO};
use crate::reader::{Datum, DatumKind, Number, Pos};
use crate::vm::{Vm, VmResult};
use expand::Expander;

/// Deepest nesting of data converted between datums and heap values.
const MAX_DATA_DEPTH: usize = 10_000;

/// Compile one top-level form, from outside the expander, into a thunk.
pub fn compile_toplevel(vm: &mut Vm, d: &Datum, file: Option<&str>) -> VmResult<Value> {
    check_reserved(vm, d)?;
    compile_expanded(vm, d, file)
}

/// Compile a form the expander made itself (it may use `#%` names).
fn compile_expanded(vm: &mut Vm, d: &Datum, file: Option<&str>) -> VmResult<Value> {
    let mark = vm.heap.root_mark();
    let r = compile_inner(vm, d, file, None);
    vm.heap.truncate_roots(mark);
    r
}

/// Names beginning with `#%` belong to imp's expander: its rewrites of the
/// derived forms use them to mean the core forms and imp's own globals
/// whatever the program binds. Source and data from outside (what the
/// reader read, what `eval` and `define-macro` transformers hand over)
/// may not use them, or a program could reach what they name.
pub fn check_reserved(vm: &mut Vm, d: &Datum) -> VmResult<()> {
    let mut work = vec![d];
    while let Some(d) = work.pop() {
        match &d.kind {
            DatumKind::Sym(s) if s.starts_with("#%") => {
                let at = if d.pos.line > 0 {
                    format!(" (line {}, column {})", d.pos.line, d.pos.col)
                } else {
                    String::new()
                };
                return Err(vm.error_kind(
                    "syntax-error",
                    format!(
                        "the name `{s}`{at} is reserved: names that begin with #% are imp's own"
                    ),
                    &[],
                ));
            }
            DatumKind::List(items, tail) => {
                work.extend(items.iter());
                work.extend(tail.iter().map(|t| &**t));
            }
            DatumKind::Vector(items) => work.extend(items.iter()),
            DatumKind::Label(_, inner) => work.push(inner),
            _ => {}
        }
    }
    Ok(())
}

fn compile_inner(
    vm: &mut Vm,
    d: &Datum,
    file: Option<&str>,
    env: Option<std::rc::Rc<library::Env>>,
) -> VmResult<Value> {
    let ast = Expander::new(vm, file.map(str::to_string))
        .with_env(env)
        .toplevel(d)?;
    let code = codegen::generate(vm, &ast, file)?;
    vm.stack.push(code);
    let clo = vm.alloc(obj::CLOSURE, 1);
    let code = vm.stack.pop().unwrap_or(Value::FALSE);
    let clo = clo?;
    vm.heap.set(clo, 0, code);
    Ok(clo)
}

/// Compile the heap value at `stack[idx]` (for `eval`) into a thunk, in
/// the environment object `env` (the interaction environment without one).
pub fn compile_value(vm: &mut Vm, idx: usize, env: Option<Value>) -> VmResult<Value> {
    let mark = vm.heap.root_mark();
    let r = (|| {
        let env = match env {
            Some(e) => library::env_of_object(&mut Expander::new(vm, None), e)?,
            None => None,
        };
        let v = vm.stack[idx];
        let d = value_to_datum(vm, v, 0)?;
        check_reserved(vm, &d)?;
        compile_inner(vm, &d, None, env)
    })();
    vm.heap.truncate_roots(mark);
    r
}

/// Turn heap data into a datum. Objects that are not data (procedures,
/// records, …) become `Opaque` handles, valid until the caller truncates
/// the root stack.
pub fn value_to_datum(vm: &mut Vm, v: Value, depth: usize) -> VmResult<Datum> {
    crate::deep(|| value_to_datum_at(vm, v, depth))
}

fn value_to_datum_at(vm: &mut Vm, v: Value, depth: usize) -> VmResult<Datum> {
    if depth > MAX_DATA_DEPTH {
        return Err(vm.error("data nested too deeply (or circular) to evaluate", &[]));
    }
    let pos = Pos::default();
    let kind = if let Some(n) = v.as_fixnum() {
        DatumKind::Num(Number::Fixnum(n))
    } else if let Some(c) = v.as_char() {
        DatumKind::Char(c)
    } else if v == Value::TRUE || v == Value::FALSE {
        DatumKind::Bool(v == Value::TRUE)
    } else if v.is_nil() {
        DatumKind::List(Vec::new(), None)
    } else if v.is_ref() {
        match vm.heap.tag(v) {
            obj::SYMBOL => DatumKind::Sym(vm.symbol_name(v)),
            obj::KEYWORD => DatumKind::Keyword(vm.string_text(vm.heap.get(v, 0))),
            obj::STRING | obj::WIDENED => DatumKind::Str(vm.string_text(v)),
            obj::FLONUM => DatumKind::Num(Number::Flonum(vm.flonum_value(v))),
            obj::BIGNUM => DatumKind::Num(Number::Big(vm.bignum_value(v))),
            obj::RATIO => match vm.num(v) {
                Some(crate::num::Num::Rat(n, d)) => DatumKind::Num(Number::Ratio(n, d)),
                _ => DatumKind::Num(Number::Fixnum(0)),
            },
            obj::COMPLEX => {
                let part = |x: Value| match vm.num(x) {
                    Some(crate::num::Num::Fix(i)) => Number::Fixnum(i),
                    Some(crate::num::Num::Big(b)) => Number::Big(b),
                    Some(crate::num::Num::Rat(n, d)) => Number::Ratio(n, d),
                    Some(crate::num::Num::Flo(x)) => Number::Flonum(x),
                    None => Number::Fixnum(0),
                };
                DatumKind::Num(Number::complex(
                    part(vm.heap.get(v, 0)),
                    part(vm.heap.get(v, 1)),
                ))
            }
            obj::PAIR => {
                let mut items = Vec::new();
                let mut l = v;
                // A second pointer at half speed meets the first in a cycle.
                let mut slow = v;
                let mut n = 0usize;
                while vm.is_pair(l) {
                    n += 1;
                    let car = vm.car(l);
                    // Both pointers stay rooted across the element's turn.
                    vm.stack.push(slow);
                    vm.stack.push(l);
                    let d = value_to_datum(vm, car, depth + 1);
                    l = vm.stack.pop().unwrap_or(Value::NIL);
                    slow = vm.stack.pop().unwrap_or(Value::NIL);
                    items.push(d?);
                    l = vm.cdr(l);
                    if n.is_multiple_of(2) {
                        slow = vm.cdr(slow);
                        if slow == l && vm.is_pair(l) {
                            return Err(vm.error("circular list cannot be evaluated", &[]));
                        }
                    }
                }
                let tail = if l.is_nil() {
                    None
                } else {
                    Some(Box::new(value_to_datum(vm, l, depth + 1)?))
                };
                DatumKind::List(items, tail)
            }
            obj::VECTOR => {
                let mut items = Vec::new();
                vm.stack.push(v);
                for i in 0..vm.heap.len(v) {
                    let x = vm.heap.get(vm.stack[vm.stack.len() - 1], i);
                    match value_to_datum(vm, x, depth + 1) {
                        Ok(d) => items.push(d),
                        Err(e) => {
                            vm.stack.pop();
                            return Err(e);
                        }
                    }
                }
                vm.stack.pop();
                DatumKind::Vector(items)
            }
            obj::BYTEVECTOR => DatumKind::Bytevector(vm.bytevector_bytes(v)),
            _ => {
                vm.heap.push_root(v);
                DatumKind::Opaque((vm.heap.root_mark() - 1) as u32)
            }
        }
    } else {
        vm.heap.push_root(v);
        DatumKind::Opaque((vm.heap.root_mark() - 1) as u32)
    };
    Ok(Datum::new(kind, pos))
}

/// Turn a datum into heap data (for `quote` and `read`), resolving datum labels.
pub fn datum_to_value(vm: &mut Vm, d: &Datum) -> VmResult<Value> {
    let mark = vm.heap.root_mark();
    let mut labels = Vec::new();
    let r = build(vm, d, &mut labels, 0);
    let r = match r {
        Ok(v) if labels.iter().any(|(_, _, placeholder)| *placeholder) => {
            vm.stack.push(v);
            patch_labels(vm, &labels);
            Ok(vm.stack.pop().unwrap_or(Value::NIL))
        }
        r => r,
    };
    vm.heap.truncate_roots(mark);
    r
}

/// (label, root holding its placeholder box, was a placeholder used)
type Labels = Vec<(u64, imp_gc::Handle, bool)>;

fn build(vm: &mut Vm, d: &Datum, labels: &mut Labels, depth: usize) -> VmResult<Value> {
    crate::deep(|| build_at(vm, d, labels, depth))
}

fn build_at(vm: &mut Vm, d: &Datum, labels: &mut Labels, depth: usize) -> VmResult<Value> {
    if depth > MAX_DATA_DEPTH {
        return Err(vm.error("datum nested too deeply", &[]));
    }
    Ok(match &d.kind {
        DatumKind::Bool(b) => Value::bool(*b),
        DatumKind::Char(c) => Value::char(*c),
        DatumKind::Num(n) => number_value(vm, n)?,
        DatumKind::Str(s) => vm.string(s)?,
        DatumKind::Sym(s) => vm.intern(self::alias::base(s))?,
        DatumKind::Keyword(k) => vm.intern_keyword(k)?,
        DatumKind::Bytevector(b) => vm.bytevector(b)?,
        DatumKind::Opaque(h) => vm.heap.handle(imp_gc::Handle::from_index(*h as usize)),
        DatumKind::List(items, tail) => {
            let base = vm.stack.len();
            for i in items {
                let v = build(vm, i, labels, depth + 1)?;
                vm.stack.push(v);
            }
            let t = match tail {
                Some(t) => build(vm, t, labels, depth + 1)?,
                None => Value::NIL,
            };
            vm.stack.push(t);
            let mut acc = vm.stack.pop().unwrap_or(Value::NIL);
            while vm.stack.len() > base {
                let n = vm.stack.len();
                let x = vm.stack[n - 1];
                vm.stack[n - 1] = acc;
                let p = vm.cons(x, acc);
                vm.stack.pop();
                acc = p?;
            }
            acc
        }
        DatumKind::Vector(items) => {
            let base = vm.stack.len();
            for i in items {
                let v = build(vm, i, labels, depth + 1)?;
                vm.stack.push(v);
            }
            vm.vector_from_stack(base)?
        }
        DatumKind::Label(n, inner) => {
            // A placeholder object stands for the label until it is built.
            let ph = vm.make_box(Value::UNDEFINED)?;
            let slot = vm.heap.push_root(ph);
            labels.push((*n, slot, false));
            let v = build(vm, inner, labels, depth + 1)?;
            // The placeholder's box records what it stands for.
            let ph = vm.heap.handle(slot);
            vm.heap.set(ph, 0, v);
            v
        }
        DatumKind::LabelRef(n) => match labels.iter_mut().rev().find(|(l, _, _)| l == n) {
            Some(entry) => {
                let ph = vm.heap.handle(entry.1);
                let built = vm.heap.get(ph, 0);
                if built == Value::UNDEFINED {
                    entry.2 = true;
                    ph
                } else {
                    built
                }
            }
            None => return Err(vm.error(format!("undefined datum label #{n}#"), &[])),
        },
    })
}

/// Replace placeholders (boxes on the stack) by the values they stand for.
fn patch_labels(vm: &mut Vm, labels: &Labels) {
    let phs: Vec<(Value, Value)> = labels
        .iter()
        .map(|(_, slot, _)| {
            let ph = vm.heap.handle(*slot);
            (ph, vm.heap.get(ph, 0))
        })
        .collect();
    let root = vm.stack[vm.stack.len() - 1];
    let mut seen = std::collections::HashSet::new();
    let mut work = vec![root];
    for (_, v) in &phs {
        work.push(*v);
    }
    while let Some(v) = work.pop() {
        if !v.is_ref() || !seen.insert(v.offset()) {
            continue;
        }
        if !(vm.is(v, obj::PAIR) || vm.is(v, obj::VECTOR)) {
            continue;
        }
        for i in 0..vm.heap.len(v) {
            let x = vm.heap.get(v, i);
            if let Some((_, target)) = phs.iter().find(|(ph, _)| *ph == x) {
                vm.heap.set(v, i, *target);
            } else {
                work.push(x);
            }
        }
    }
    let n = vm.stack.len();
    if let Some((_, target)) = phs.iter().find(|(ph, _)| *ph == root) {
        vm.stack[n - 1] = *target;
    }
}

/// A number datum as a heap value.
pub fn number_value(vm: &mut Vm, n: &Number) -> VmResult<Value> {
    use crate::num::Num;
    match n {
        Number::Fixnum(i) => vm.make_num(Num::Fix(*i)),
        Number::Big(b) => vm.make_num(Num::Big(b.clone())),
        Number::Flonum(x) => vm.flonum(*x),
        Number::Complex(re, im) => {
            let re = number_value(vm, re)?;
            vm.stack.push(re);
            let im = number_value(vm, im);
            let re = vm.stack.pop().unwrap_or(Value::fix(0));
            vm.make_complex(re, im?)
        }
        Number::Ratio(a, b) => vm.make_num(crate::num::ratio(a.clone(), b.clone())),
    }
}

/// Bind a global syntax-rules macro: `MACRO[kind=0, spec]`.
pub(crate) fn define_global_macro(
    x: &mut Expander,
    name: &str,
    kind: i64,
    spec: &Datum,
) -> VmResult<()> {
    let base = x.vm.stack.len();
    x.vm.stack.push(Value::fix(kind));
    let s = datum_to_value(x.vm, spec)?;
    x.vm.stack.push(s);
    let env = match x.own_library() {
        Some(key) => x.vm.string(&key)?,
        None => Value::FALSE,
    };
    x.vm.stack.push(env);
    let m = x.vm.object_from_stack(MACRO, base)?;
    x.vm.define_global(name, m)
}

/// Compile and run a `define-macro` transformer, binding `MACRO[kind=1, proc]`.
pub(crate) fn define_procedure_macro(x: &mut Expander, name: &str, value: &Datum) -> VmResult<()> {
    let file = x.file.clone();
    let thunk = compile_expanded(x.vm, value, file.as_deref())?;
    let base = x.vm.stack.len();
    x.vm.stack.push(thunk);
    let proc_ = x.vm.call_from_rust(base)?;
    x.vm.stack.truncate(base);
    if !x.vm.is_procedure(proc_) {
        return Err(x.err(
            value.pos,
            format!("define-macro: `{name}` is not bound to a procedure"),
        ));
    }
    x.vm.stack.push(Value::fix(1));
    x.vm.stack.push(proc_);
    let m = x.vm.object_from_stack(MACRO, base)?;
    x.vm.define_global(name, m)
}

/// Expand a use of the global macro `name`.
pub(crate) fn expand_global_macro(x: &mut Expander, name: &str, form: &Datum) -> VmResult<Datum> {
    let s = x.vm.intern(name)?;
    let m = x.vm.global_value(s);
    let kind = x.vm.heap.get(m, 0).as_fixnum_unchecked();
    let payload = x.vm.heap.get(m, 1);
    if kind == 0 {
        // Its template's free identifiers mean what they meant where it
        // was defined: in its library, or at the top level.
        let key = (x.vm.heap.len(m) > 2)
            .then(|| x.vm.heap.get(m, 2))
            .filter(|k| x.vm.is(*k, obj::STRING))
            .map(|k| x.vm.string_text(k));
        let spec = value_to_datum(x.vm, payload, 0)?;
        check_reserved(x.vm, &spec)?;
        let mut rules = syntax_rules::SyntaxRules::parse(x, &spec)?;
        rules.env = 0;
        rules.lib_env = match key {
            Some(k) => library::lib_env(x, &k)?,
            None => Some(library::top_env(x)?),
        };
        return rules.expand(x, form);
    }
    // A procedure macro gets the form's arguments as data.
    let base = x.vm.stack.len();
    x.vm.stack.push(payload);
    let args = match &form.kind {
        DatumKind::List(items, tail) => (items[1..].to_vec(), tail.clone()),
        _ => (Vec::new(), None),
    };
    for a in &args.0 {
        let v = datum_to_value(x.vm, a)?;
        x.vm.stack.push(v);
    }
    if args.1.is_some() {
        x.vm.stack.truncate(base);
        return Err(x.err(form.pos, "macro use with a dotted argument list"));
    }
    let result = x.vm.call_from_rust(base);
    x.vm.stack.truncate(base);
    let result = result?;
    let mut d = value_to_datum(x.vm, result, 0)?;
    check_reserved(x.vm, &d)?;
    if d.pos.line == 0 {
        d.pos = form.pos;
    }
    Ok(d)
}
