//! Pairs and lists (R7RS 6.4).

use imp_gc::Value;

use std::cmp::Ordering;

use super::{MANY, PRIMITIVES, PrimDef, arg, def, equal, eqv};
use crate::num::{Num, compare};
use crate::obj::{CLOSURE, FLONUM, PAIR, PRIMITIVE, STRING, VECTOR};
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("car", 1, 1, car),
    def("cdr", 1, 1, cdr),
    def("cons", 2, 2, cons),
    def("set-car!", 2, 2, set_car),
    def("set-cdr!", 2, 2, set_cdr),
    def("pair?", 1, 1, pair_p),
    def("null?", 1, 1, null_p),
    def("list?", 1, 1, list_p),
    def("list", 0, MANY, list),
    def("length", 1, 1, length),
    def("append", 0, MANY, append),
    def("reverse", 1, 1, reverse),
    def("list-tail", 2, 2, list_tail),
    def("list-ref", 2, 2, list_ref),
    def("memq", 2, 2, memq),
    def("memv", 2, 2, memv),
    def("%member", 2, 2, member),
    def("assq", 2, 2, assq),
    def("assv", 2, 2, assv),
    def("%assoc", 2, 2, assoc),
    def("list-copy", 1, 1, list_copy),
    def("make-list", 1, 2, make_list),
    def("cons*", 1, MANY, cons_star),
    def("last-pair", 1, 1, last_pair),
    def("reverse!", 1, 1, reverse_in_place),
    def("%check-list", 2, 2, check_list),
    def("%sort-fast!", 2, 4, sort_fast),
];

/// An error for a circular list given to `who`, which needs a list that
/// ends. R7RS leaves the list procedures undefined on circular lists;
/// here they say so rather than loop forever.
fn circular_error(vm: &mut Vm, who: &str, l: Value) -> crate::vm::Exn {
    vm.type_error(who, "a list that is not circular", l)
}

/// Walks a list's spine, noticing a cycle (Floyd's two pointers: a second
/// pointer moves every other step and meets the first inside a cycle).
struct Spine {
    slow: Value,
    steps: u64,
}

impl Spine {
    fn new(l: Value) -> Spine {
        Spine { slow: l, steps: 0 }
    }

    /// After moving to `next`: false if the walk has come round a cycle.
    fn step(&mut self, vm: &Vm, next: Value) -> bool {
        self.steps += 1;
        if self.steps.is_multiple_of(2) {
            self.slow = vm.cdr(self.slow);
            if self.slow == next && vm.is_pair(next) {
                return false;
            }
        }
        true
    }
}

/// `(%check-list who l)`: `l`, unless it is circular (then an error naming
/// `who`). The library's procedures that build a result from every
/// element of a list (`filter`, `fold`, `map` of one list, …) call it
/// first: over a circular list they could only grow their result until
/// memory ran out. One pass of pointer chasing, cheap beside the calls
/// they make per element.
fn check_list(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let l = arg(vm, base, 1);
    if circular(vm, l) {
        let who = arg(vm, base, 0);
        let who = if vm.is(who, crate::obj::SYMBOL) {
            vm.symbol_name(who)
        } else {
            "list operation".to_string()
        };
        return Err(circular_error(vm, &who, l));
    }
    Ok(l)
}

/// `reverse!`: reverse a list by relinking its pairs.
fn reverse_in_place(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let mut l = arg(vm, base, 0);
    if circular(vm, l) {
        return Err(circular_error(vm, "reverse!", l));
    }
    let mut acc = Value::NIL;
    while vm.is_pair(l) {
        let next = vm.cdr(l);
        vm.heap.set(l, 1, acc);
        acc = l;
        l = next;
    }
    Ok(acc)
}

fn pair_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, PAIR, "a pair")
}

fn car(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = pair_arg(vm, "car", base, 0)?;
    Ok(vm.car(p))
}

fn cdr(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = pair_arg(vm, "cdr", base, 0)?;
    Ok(vm.cdr(p))
}

fn cons(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (a, d) = (arg(vm, base, 0), arg(vm, base, 1));
    vm.cons(a, d)
}

fn set_car(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = pair_arg(vm, "set-car!", base, 0)?;
    let v = arg(vm, base, 1);
    vm.heap.set(p, 0, v);
    Ok(Value::UNSPECIFIED)
}

fn set_cdr(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = pair_arg(vm, "set-cdr!", base, 0)?;
    let v = arg(vm, base, 1);
    vm.heap.set(p, 1, v);
    Ok(Value::UNSPECIFIED)
}

fn pair_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is_pair(arg(vm, base, 0))))
}

fn null_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(arg(vm, base, 0).is_nil()))
}

fn list_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.list_to_vec(arg(vm, base, 0)).is_some()))
}

fn list(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut l = Value::NIL;
    for i in (0..argc).rev() {
        let x = arg(vm, base, i);
        l = vm.cons(x, l)?;
    }
    Ok(l)
}

/// The elements of argument `i`, which must be a proper list.
pub fn list_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Vec<Value>> {
    let l = arg(vm, base, i);
    match vm.list_to_vec(l) {
        Some(v) => Ok(v),
        None => Err(vm.type_error(who, "a proper list", l)),
    }
}

fn length(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = list_arg(vm, "length", base, 0)?.len();
    Ok(Value::fix(n as i64))
}

fn append(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    if argc == 0 {
        return Ok(Value::NIL);
    }
    // Push every element of every list but the last, then cons onto the last.
    let start = vm.stack.len();
    for i in 0..argc - 1 {
        let items = list_arg(vm, "append", base, i)?;
        vm.stack.extend(items);
    }
    let mut tail = arg(vm, base, argc - 1);
    while vm.stack.len() > start {
        let x = vm.stack[vm.stack.len() - 1];
        // `tail` is rooted in the stack slot we overwrite.
        let n = vm.stack.len();
        vm.stack[n - 1] = tail;
        let p = vm.cons(x, tail);
        vm.stack.pop();
        tail = p?;
    }
    Ok(tail)
}

fn reverse(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let items = list_arg(vm, "reverse", base, 0)?;
    let start = vm.stack.len();
    vm.stack.extend(items.iter().rev().copied());
    vm.list_from_stack(start)
}

/// The list `k` pairs along from argument 0 (`list-tail`), or `None` if
/// it ends first. On a circular list the index is taken modulo the
/// cycle's length once the walk has gone round it, so a huge `k` costs
/// no more than the list.
fn nth_tail(vm: &mut Vm, who: &str, base: usize, k: usize) -> VmResult<Option<Value>> {
    let start = arg(vm, base, 0);
    let mut l = start;
    let mut spine = Spine::new(l);
    let mut i = 0usize;
    while i < k {
        if !vm.is_pair(l) {
            return Ok(None);
        }
        l = vm.cdr(l);
        i += 1;
        if !spine.step(vm, l) {
            // `l` is in the cycle: measure it, and skip whole turns.
            let mut len = 1usize;
            let mut t = vm.cdr(l);
            while t != l {
                t = vm.cdr(t);
                len += 1;
            }
            let left = (k - i) % len;
            for _ in 0..left {
                l = vm.cdr(l);
            }
            return Ok(Some(l));
        }
        vm.poll_interrupt(who, i as u64)?;
    }
    Ok(Some(l))
}

fn list_tail(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let k = vm.index_arg("list-tail", base, 1)?;
    match nth_tail(vm, "list-tail", base, k)? {
        Some(l) => Ok(l),
        None => {
            let kv = arg(vm, base, 1);
            Err(vm.error("list-tail: index out of range", &[kv]))
        }
    }
}

fn list_ref(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let k = vm.index_arg("list-ref", base, 1)?;
    match nth_tail(vm, "list-ref", base, k)? {
        Some(l) if vm.is_pair(l) => Ok(vm.car(l)),
        _ => {
            let kv = arg(vm, base, 1);
            Err(vm.error("list-ref: index out of range", &[kv]))
        }
    }
}

fn mem_generic(
    vm: &mut Vm,
    who: &str,
    base: usize,
    same: fn(&Vm, Value, Value) -> bool,
) -> VmResult<Value> {
    let x = arg(vm, base, 0);
    let mut l = arg(vm, base, 1);
    let mut spine = Spine::new(l);
    while vm.is_pair(l) {
        if same(vm, x, vm.car(l)) {
            return Ok(l);
        }
        l = vm.cdr(l);
        if !spine.step(vm, l) {
            let whole = arg(vm, base, 1);
            return Err(circular_error(vm, who, whole));
        }
        vm.poll_interrupt(who, spine.steps)?;
    }
    Ok(Value::FALSE)
}

fn memq(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    mem_generic(vm, "memq", base, |_, a, b| a == b)
}

fn memv(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    mem_generic(vm, "memv", base, eqv)
}

fn member(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    mem_generic(vm, "member", base, equal)
}

fn ass_generic(
    vm: &mut Vm,
    who: &str,
    base: usize,
    same: fn(&Vm, Value, Value) -> bool,
) -> VmResult<Value> {
    let x = arg(vm, base, 0);
    let mut l = arg(vm, base, 1);
    let mut spine = Spine::new(l);
    while vm.is_pair(l) {
        let e = vm.car(l);
        if vm.is_pair(e) && same(vm, x, vm.car(e)) {
            return Ok(e);
        }
        l = vm.cdr(l);
        if !spine.step(vm, l) {
            let whole = arg(vm, base, 1);
            return Err(circular_error(vm, who, whole));
        }
        vm.poll_interrupt(who, spine.steps)?;
    }
    Ok(Value::FALSE)
}

fn assq(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    ass_generic(vm, "assq", base, |_, a, b| a == b)
}

fn assv(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    ass_generic(vm, "assv", base, eqv)
}

fn assoc(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    ass_generic(vm, "assoc", base, equal)
}

/// Does following the cdrs from `l` come back to a pair already seen?
/// (Floyd's two pointers: constant space.)
pub(crate) fn circular(vm: &Vm, l: Value) -> bool {
    let (mut slow, mut fast) = (l, l);
    loop {
        for _ in 0..2 {
            if !vm.is_pair(fast) {
                return false;
            }
            fast = vm.cdr(fast);
        }
        slow = vm.cdr(slow);
        if slow == fast {
            return true;
        }
    }
}

fn list_copy(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let l = arg(vm, base, 0);
    if circular(vm, l) {
        return Err(vm.type_error("list-copy", "a list that is not circular", l));
    }
    let mut items = Vec::new();
    let mut t = l;
    while vm.is_pair(t) {
        items.push(vm.car(t));
        t = vm.cdr(t);
    }
    let start = vm.stack.len();
    vm.stack.extend(items);
    vm.stack.push(t);
    // Build onto the (possibly improper) tail.
    let mut acc = vm.stack.pop().unwrap_or(Value::NIL);
    while vm.stack.len() > start {
        let n = vm.stack.len();
        let x = vm.stack[n - 1];
        vm.stack[n - 1] = acc;
        let p = vm.cons(x, acc);
        vm.stack.pop();
        acc = p?;
    }
    Ok(acc)
}

fn make_list(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let n = vm.index_arg("make-list", base, 0)?;
    let fill = if argc > 1 {
        arg(vm, base, 1)
    } else {
        Value::UNSPECIFIED
    };
    let mut l = Value::NIL;
    for i in 0..n {
        let fill = if argc > 1 { arg(vm, base, 1) } else { fill };
        l = vm.cons(fill, l)?;
        vm.poll_interrupt("make-list", i as u64)?;
    }
    Ok(l)
}

fn cons_star(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut l = arg(vm, base, argc - 1);
    for i in (0..argc - 1).rev() {
        let x = arg(vm, base, i);
        l = vm.cons(x, l)?;
    }
    Ok(l)
}

fn last_pair(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let mut l = pair_arg(vm, "last-pair", base, 0)?;
    if circular(vm, l) {
        return Err(vm.type_error("last-pair", "a list that is not circular", l));
    }
    while vm.is_pair(vm.cdr(l)) {
        l = vm.cdr(l);
    }
    Ok(l)
}

// ---- sorting ------------------------------------------------------------------------

/// What a `less?` the native sort knows compares, and in which direction.
#[derive(Clone, Copy)]
enum Keys {
    /// Real numbers, none a NaN (for `<` and `>`).
    Reals,
    /// Fixnums only (for `<=` and `>=`, under which distinguishable equal
    /// numbers such as 1 and 1.0 would not keep their order).
    Fixnums,
    Chars,
    Strings,
}

/// The keys and direction (`true`: descending) of a `less?` that is one of
/// the primitives `< <= > >= char<? char<=? char>? char>=? string<? string>?`.
/// The native sort is stable, and `<=`-style orders sort only keys whose
/// equal values are indistinguishable, so the result is always the one the
/// merge sort calling `less?` would give.
fn native_order(vm: &Vm, less: Value) -> Option<(Keys, bool)> {
    if !vm.is(less, PRIMITIVE) {
        return None;
    }
    let id = vm.heap.get(less, 0).as_fixnum()?;
    native_order_named(PRIMITIVES.get(usize::try_from(id).ok()?)?.name)
}

/// `native_order` of the primitive called `name`.
fn native_order_named(name: &str) -> Option<(Keys, bool)> {
    Some(match name {
        "<" => (Keys::Reals, false),
        ">" => (Keys::Reals, true),
        "<=" => (Keys::Fixnums, false),
        ">=" => (Keys::Fixnums, true),
        "char<?" | "char<=?" => (Keys::Chars, false),
        "char>?" | "char>=?" => (Keys::Chars, true),
        "string<?" => (Keys::Strings, false),
        "string>?" => (Keys::Strings, true),
        _ => return None,
    })
}

/// How a recognized Scheme `less?` takes its key from an element.
#[derive(Clone, Copy, PartialEq)]
enum KeyOf {
    /// The element itself.
    Itself,
    Car,
    Cdr,
    /// `(vector-ref e k)`.
    VectorRef(usize),
    /// `(string-length e)`, `(vector-length e)`, `(char->integer e)`.
    StringLength,
    VectorLength,
    CharCode,
}

/// A closure `less?` of two parameters and no free variables whose whole
/// body is `(ORDER (KEY a) (KEY b))` (or with `a` and `b` swapped), ORDER
/// one of `native_order`'s and KEY nothing, `car`, `cdr`, `vector-ref`
/// with a constant index, `string-length`, `vector-length` or
/// `char->integer`: what it compares, the direction, and the key. The
/// native sort then gives exactly what calling it would (a key that cannot
/// be taken, or a key of the wrong kind, sends the sort back to calling
/// it, which raises the error).
fn closure_order(vm: &Vm, less: Value) -> Option<(Keys, bool, KeyOf)> {
    use crate::obj::code as c;
    use crate::vm::opcode::{Op, operand_a, operand_b};
    if !vm.is(less, CLOSURE) || vm.heap.len(less) != 1 {
        return None;
    }
    let code = vm.heap.get(less, 0);
    if vm.heap.get(code, c::NREQ).as_fixnum() != Some(2)
        || vm.heap.get(code, c::REST).as_fixnum().is_none_or(|r| r < 0)
    {
        return None;
    }
    let bc = vm.heap.get(code, c::BYTECODE);
    let consts = vm.heap.get(code, c::CONSTS);
    let n = (vm.heap.raw(bc, 0) as usize).min(vm.heap.len(bc).saturating_sub(1));
    if n > 8 {
        return None;
    }
    let words: Vec<(Op, u32, u32)> = (0..n)
        .map(|i| {
            let w = vm.heap.raw(bc, 1 + i);
            Op::from_u8(w as u8).map(|op| (op, operand_a(w), operand_b(w)))
        })
        .collect::<Option<_>>()?;
    // The primitive a `Global` instruction names now.
    let global = |a: u32| -> Option<&'static str> {
        if !vm.is(consts, VECTOR) || a as usize >= vm.heap.len(consts) {
            return None;
        }
        let sym = vm.heap.get(consts, a as usize);
        let v = vm.heap.get(sym, 1);
        if !vm.is(v, PRIMITIVE) {
            return None;
        }
        let id = vm.heap.get(v, 0).as_fixnum()?;
        Some(PRIMITIVES.get(usize::try_from(id).ok()?)?.name)
    };
    let order_of = |op: Op| -> Option<(Keys, bool)> {
        Some(match op {
            Op::Lt => (Keys::Reals, false),
            Op::Gt => (Keys::Reals, true),
            Op::Le => (Keys::Fixnums, false),
            Op::Ge => (Keys::Fixnums, true),
            _ => return None,
        })
    };
    // Which parameter comes first, from the two slots read.
    let direction = |first: u32, second: u32, descending: bool| -> Option<bool> {
        match (first, second) {
            (0, 1) => Some(descending),
            (1, 0) => Some(!descending),
            _ => None,
        }
    };
    match words.as_slice() {
        [(Op::Local2, i, j), (cmp, ..), (Op::Return, ..)] => {
            let (keys, desc) = order_of(*cmp)?;
            Some((keys, direction(*i, *j, desc)?, KeyOf::Itself))
        }
        [
            (Op::Global, g, _),
            (Op::Local2, i, j),
            (Op::TailCall, argc, _),
        ] if *argc == 2 => {
            let (keys, desc) = native_order_named(global(*g)?)?;
            Some((keys, direction(*i, *j, desc)?, KeyOf::Itself))
        }
        [(k1, i, _), (k2, j, _), (cmp, ..), (Op::Return, ..)]
            if k1 == k2 && matches!(k1, Op::CarLocal | Op::CdrLocal) =>
        {
            let (keys, desc) = order_of(*cmp)?;
            let key = if *k1 == Op::CarLocal {
                KeyOf::Car
            } else {
                KeyOf::Cdr
            };
            Some((keys, direction(*i, *j, desc)?, key))
        }
        [
            (Op::Local, i, _),
            (Op::Fix, _, k1),
            (Op::VectorRef, ..),
            (Op::Local, j, _),
            (Op::Fix, _, k2),
            (Op::VectorRef, ..),
            (cmp, ..),
            (Op::Return, ..),
        ] if k1 == k2 && (*k1 as i32) >= 0 => {
            let (keys, desc) = order_of(*cmp)?;
            Some((
                keys,
                direction(*i, *j, desc)?,
                KeyOf::VectorRef(*k1 as usize),
            ))
        }
        [
            (Op::Global, g1, _),
            (Op::Local, i, _),
            (Op::Call, 1, _),
            (Op::Global, g2, _),
            (Op::Local, j, _),
            (Op::Call, 1, _),
            (cmp, ..),
            (Op::Return, ..),
        ] => {
            let (p1, p2) = (global(*g1)?, global(*g2)?);
            if p1 != p2 {
                return None;
            }
            let key = match p1 {
                "car" => KeyOf::Car,
                "cdr" => KeyOf::Cdr,
                "string-length" => KeyOf::StringLength,
                "vector-length" => KeyOf::VectorLength,
                "char->integer" => KeyOf::CharCode,
                _ => return None,
            };
            let (keys, desc) = order_of(*cmp)?;
            Some((keys, direction(*i, *j, desc)?, key))
        }
        _ => None,
    }
}

/// The key of element `v`, if it can be taken without an error.
fn key_of(vm: &Vm, v: Value, key: KeyOf) -> Option<Value> {
    match key {
        KeyOf::Itself => Some(v),
        KeyOf::Car => vm.is_pair(v).then(|| vm.car(v)),
        KeyOf::Cdr => vm.is_pair(v).then(|| vm.cdr(v)),
        KeyOf::VectorRef(k) => (vm.is(v, VECTOR) && k < vm.heap.len(v)).then(|| vm.heap.get(v, k)),
        KeyOf::StringLength => vm
            .is(v, STRING)
            .then(|| Value::fix(vm.string_len(v) as i64)),
        KeyOf::VectorLength => vm.is(v, VECTOR).then(|| Value::fix(vm.heap.len(v) as i64)),
        KeyOf::CharCode => v.as_char().map(|c| Value::fix(i64::from(u32::from(c)))),
    }
}

/// Sort `items` natively (stably) if every one is a key of `keys`; `false`
/// (leaving them as they were) otherwise. Allocates nothing on the heap.
fn sort_natively(vm: &Vm, items: &mut [Value], keys: Keys, descending: bool) -> bool {
    fn order(o: Ordering, descending: bool) -> Ordering {
        if descending { o.reverse() } else { o }
    }
    let fixnums = || {
        items
            .iter()
            .map(|v| v.as_fixnum())
            .collect::<Option<Vec<i64>>>()
    };
    match keys {
        Keys::Reals if items.iter().all(|&v| vm.is(v, FLONUM)) => {
            let mut keyed: Vec<(f64, Value)> =
                items.iter().map(|&v| (vm.flonum_value(v), v)).collect();
            if keyed.iter().any(|(x, _)| x.is_nan()) {
                return false;
            }
            keyed.sort_by(|(a, _), (b, _)| {
                order(a.partial_cmp(b).unwrap_or(Ordering::Equal), descending)
            });
            for (slot, (_, v)) in items.iter_mut().zip(keyed) {
                *slot = v;
            }
        }
        Keys::Reals if !items.iter().all(|v| v.as_fixnum().is_some()) => {
            let mut keyed = Vec::with_capacity(items.len());
            for &v in items.iter() {
                match vm.num(v) {
                    Some(Num::Flo(x)) if x.is_nan() => return false,
                    Some(n) => keyed.push((n, v)),
                    None => return false,
                }
            }
            // Without NaNs, numbers are totally ordered.
            keyed.sort_by(|(a, _), (b, _)| {
                order(compare(a, b).unwrap_or(Ordering::Equal), descending)
            });
            for (slot, (_, v)) in items.iter_mut().zip(keyed) {
                *slot = v;
            }
        }
        Keys::Reals | Keys::Fixnums => {
            let Some(mut ns) = fixnums() else {
                return false;
            };
            // Equal fixnums are the same object: an unstable sort is stable.
            ns.sort_unstable_by(|a, b| order(a.cmp(b), descending));
            for (slot, n) in items.iter_mut().zip(ns) {
                *slot = Value::fix(n);
            }
        }
        Keys::Chars => {
            let Some(mut cs) = items
                .iter()
                .map(|v| v.as_char())
                .collect::<Option<Vec<char>>>()
            else {
                return false;
            };
            cs.sort_unstable_by(|a, b| order(a.cmp(b), descending));
            for (slot, c) in items.iter_mut().zip(cs) {
                *slot = Value::char(c);
            }
        }
        Keys::Strings => {
            if !items.iter().all(|&v| vm.is(v, STRING)) {
                return false;
            }
            items.sort_by(|&a, &b| {
                order(super::string::compare_strings(vm, a, b, false), descending)
            });
        }
    }
    true
}

/// `(%sort-fast! less? seq [start end])`: when `less?` is a primitive order
/// [`native_order`] knows and every element is one of its keys, sort
/// natively and in place (a list's cars, a vector's `start..end`) and return
/// `#t`. Otherwise return `#f`, leaving `seq` alone: `boot.scm`'s merge
/// sort, which calls `less?`, does the work. Allocates nothing on the heap,
/// so the elements read stay valid.
fn sort_fast(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let less = arg(vm, base, 0);
    let (keys, descending, key) = match native_order(vm, less) {
        Some((k, d)) => (k, d, KeyOf::Itself),
        None => match closure_order(vm, less) {
            Some(o) => o,
            None => return Ok(Value::FALSE),
        },
    };
    if key != KeyOf::Itself {
        return sort_keyed(vm, base, argc, keys, descending, key);
    }
    let seq = arg(vm, base, 1);
    if vm.is(seq, VECTOR) {
        let len = vm.heap.len(seq);
        let (start, end) = vm.range_args("%sort-fast!", base, argc, 2, len)?;
        let mut items: Vec<Value> = (start..end).map(|i| vm.heap.get(seq, i)).collect();
        if !sort_natively(vm, &mut items, keys, descending) {
            return Ok(Value::FALSE);
        }
        for (i, v) in (start..end).zip(items) {
            vm.heap.set(seq, i, v);
        }
        return Ok(Value::TRUE);
    }
    let Some(mut items) = vm.list_to_vec(seq) else {
        return Ok(Value::FALSE);
    };
    if !sort_natively(vm, &mut items, keys, descending) {
        return Ok(Value::FALSE);
    }
    let mut p = seq;
    for v in items {
        vm.heap.set(p, 0, v);
        p = vm.cdr(p);
    }
    Ok(Value::TRUE)
}

/// `sort_fast` for a recognized `less?` that compares a key of each
/// element: the keys are sorted natively, carrying their elements.
fn sort_keyed(
    vm: &mut Vm,
    base: usize,
    argc: usize,
    keys: Keys,
    descending: bool,
    key: KeyOf,
) -> VmResult<Value> {
    let seq = arg(vm, base, 1);
    let (items, range) = if vm.is(seq, VECTOR) {
        let len = vm.heap.len(seq);
        let (start, end) = vm.range_args("%sort-fast!", base, argc, 2, len)?;
        (
            (start..end).map(|i| vm.heap.get(seq, i)).collect(),
            Some(start),
        )
    } else {
        match vm.list_to_vec(seq) {
            Some(items) => (items, None),
            None => return Ok(Value::FALSE),
        }
    };
    let Some(mut ks) = items
        .iter()
        .map(|&v| key_of(vm, v, key))
        .collect::<Option<Vec<Value>>>()
    else {
        return Ok(Value::FALSE);
    };
    // Every key must be of the kind the order compares (else the sort
    // calling `less?` raises the error).
    let fits = |v: &Value| match keys {
        Keys::Reals => vm
            .num(*v)
            .is_some_and(|n| !matches!(n, Num::Flo(x) if x.is_nan())),
        Keys::Fixnums => v.is_fixnum(),
        Keys::Chars => v.as_char().is_some(),
        Keys::Strings => vm.is(*v, STRING),
    };
    if !ks.iter().all(fits) {
        return Ok(Value::FALSE);
    }
    let nums: Vec<Option<Num>> = match keys {
        Keys::Reals => ks.iter().map(|&v| vm.num(v)).collect(),
        _ => Vec::new(),
    };
    let cmp = |i: usize, j: usize| -> Ordering {
        let o = match keys {
            Keys::Reals => match (&nums[i], &nums[j]) {
                (Some(a), Some(b)) => compare(a, b).unwrap_or(Ordering::Equal),
                _ => Ordering::Equal,
            },
            Keys::Fixnums => ks[i].as_fixnum().cmp(&ks[j].as_fixnum()),
            Keys::Chars => ks[i].as_char().cmp(&ks[j].as_char()),
            Keys::Strings => super::string::compare_strings(vm, ks[i], ks[j], false),
        };
        if descending { o.reverse() } else { o }
    };
    // A stable sort of the indices: equal keys keep their elements' order,
    // as the merge sort calling `less?` would.
    let mut order: Vec<usize> = (0..ks.len()).collect();
    order.sort_by(|&i, &j| cmp(i, j));
    ks.clear();
    let sorted: Vec<Value> = order.iter().map(|&i| items[i]).collect();
    match range {
        Some(start) => {
            for (i, v) in sorted.into_iter().enumerate() {
                vm.heap.set(seq, start + i, v);
            }
        }
        None => {
            let mut p = seq;
            for v in sorted {
                vm.heap.set(p, 0, v);
                p = vm.cdr(p);
            }
        }
    }
    Ok(Value::TRUE)
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::prim::testing::{check, err, eval};

    #[test]
    fn srfi1_extras() {
        check(&[
            (
                "(list (fourth '(1 2 3 4 5)) (fifth '(1 2 3 4 5)) (tenth '(1 2 3 4 5 6 7 8 9 10)))",
                "(4 5 10)",
            ),
            (
                "(list (take-while even? '(2 4 5 6)) (drop-while even? '(2 4 5 6)) (take-while even? '()) (drop-while even? '(2)))",
                "((2 4) (5 6) () ())",
            ),
            (
                "(list (concatenate '((a) () (b c))) (concatenate '()) (concatenate '(() (x))))",
                "((a b c) () (x))",
            ),
            (
                "(let ((last (list 3))) (eq? last (cddr (concatenate (list '(1) '(2) last)))))",
                "#t",
            ),
            (
                "(fold-right cons* '() '(a b c) '(1 2 3 4))",
                "(a 1 b 2 c 3)",
            ),
            ("(fold-right list 'z '(a b c) '(1 2))", "(a 1 (b 2 z))"),
            (
                "(list (append-map list '(1 2 3) '(a b)) (append-map (lambda (x) (list x x)) '(1 2)))",
                "((1 a 2 b) (1 1 2 2))",
            ),
            (
                "(filter-map (lambda (a b) (and (< a b) (* a b))) '(1 5 2 9) '(3 4 6))",
                "(3 12)",
            ),
            (
                "(list (any < '(3 1) '(2 2)) (any < '(3 1) '(2)) (any + '(1) '()))",
                "(#t #f #f)",
            ),
            (
                "(list (every < '(1 2) '(2 3 0)) (every - '(1 2) '(5 7)) (every < '() '(1)) (every < '(1 3) '(2 3)))",
                "(#t -5 #t #f)",
            ),
            (
                "(list (count < '(1 2 4 8) '(2 4 6 8 10)) (count < '() '(1)))",
                "(3 0)",
            ),
            (
                "(list (list-index < '(3 1 4) '(2 7 1)) (list-index = '(1 2) '(2 1 0)))",
                "(1 #f)",
            ),
        ]);
        assert!(err("(concatenate '((1) . 2))").contains("concatenate"));
    }

    #[test]
    fn sorting() {
        check(&[
            ("(list (sort '(3 1 2) <) (sort #(3 1 2) >) (sort '() <) (sort #() <))", "((1 2 3) #(3 2 1) () #())"),
            ("(list (list-sort < '(3 1 2)) (vector-sort < #(3 1 2)) (vector-sort < #(5 4 3 2 1) 1 4))", "((1 2 3) #(1 2 3) #(2 3 4))"),
            // Primitive orders sort natively; the result is the merge sort's.
            ("(define (slow f) (lambda (a b) (f a b)))
              (define mixed '(3 1.5 2 1/2 -7 100000000000000000000 1 1.0 -0.0 0))
              (list (equal? (sort mixed <) (sort mixed (slow <))) (equal? (sort mixed >) (sort mixed (slow >))))", "(#t #t)"),
            ("(sort '(1 1.0 0 1 1.0) <)", "(0 1 1.0 1 1.0)"),
            ("(list (sort '(#\\b #\\a #\\c) char>?) (sort '(\"b\" \"aλ\" \"a\") string<?) (sort (vector 3 1 2) <=))", "((#\\c #\\b #\\a) (\"a\" \"aλ\" \"b\") #(1 2 3))"),
            // Stable: equal keys keep their order.
            ("(list-sort (lambda (a b) (< (car a) (car b))) '((1 . a) (0 . b) (1 . c) (0 . d) (1 . e)))", "((0 . b) (0 . d) (1 . a) (1 . c) (1 . e))"),
            ("(vector-sort (lambda (a b) (string<? (car a) (car b))) #((\"b\" . 1) (\"a\" . 2) (\"b\" . 3) (\"a\" . 4)))", "#((\"a\" . 2) (\"a\" . 4) (\"b\" . 1) (\"b\" . 3))"),
            // New sequences, or in place.
            ("(let* ((l (list 3 1 2)) (v (vector 3 1 2)) (a (list-sort < l)) (b (vector-sort < v)) (c (sort l >))) (list l v a b c))", "((3 1 2) #(3 1 2) (1 2 3) #(1 2 3) (3 2 1))"),
            ("(let ((l (list 3 1 2)) (m (list 3 1 2)) (v (vector 5 4 3 2 1))) (list (eq? (sort! l <) l) l (sort! m (lambda (a b) (> a b))) (begin (vector-sort! < v 1 4) v) (sort! (vector 2 1) <)))", "(#t (1 2 3) (3 2 1) #(5 2 3 4 1) #(1 2))"),
        ]);
        assert!(err("(list-sort 5 '(1 2))").contains("list-sort: expected a procedure"));
        assert!(err("(sort '(1 2) 'less)").contains("sort: expected a procedure"));
        assert!(err("(vector-sort! #t (vector 1))").contains("vector-sort!: expected a procedure"));
        assert!(err("(list-sort < '(1 . 2))").contains("list-sort: expected a list"));
        assert!(err("(vector-sort < '(1 2))").contains("vector-sort: expected a vector"));
        assert!(err("(vector-sort < #(1 2) 1 3)").contains("vector-sort: range out of bounds"));
        assert!(err("(sort 5 <)").contains("sort: expected a list or a vector"));
        assert!(err("(sort! \"ab\" <)").contains("sort!: expected a list or a vector"));
        assert!(err("(sort '(1 a) <)").contains("<"));
    }

    /// A million elements through both sorts: nothing overflows, the merge
    /// sort is stable and the native one agrees with it.
    #[test]
    fn sorting_a_million_elements() {
        let src = "(define n 1000000)
                   (define keys (let loop ((i 0) (x 12345) (acc '()))
                                  (if (= i n) acc
                                      (loop (+ i 1) (modulo (+ (* x 1103515245) 12345) 2147483648) (cons (modulo x 1000) acc)))))
                   (define tagged (let loop ((l keys) (i 0) (acc '()))
                                    (if (null? l) (reverse! acc) (loop (cdr l) (+ i 1) (cons (cons (car l) i) acc)))))
                   (define by-key (list-sort (lambda (a b) (< (car a) (car b))) tagged))
                   (define (stable? l)
                     (or (null? (cdr l))
                         (let ((a (car l)) (b (cadr l)))
                           (and (or (< (car a) (car b)) (and (= (car a) (car b)) (< (cdr a) (cdr b))))
                                (stable? (cdr l))))))
                   (define native (list-sort < keys))
                   (define v (list->vector keys))
                   (sort! v >)
                   (list (length by-key) (stable? by-key) (equal? native (map car by-key))
                         (equal? (reverse (vector->list v)) native)
                         (equal? (list-sort (lambda (a b) (< a b)) (iota n)) (iota n)))";
        assert_eq!(eval(src), "(1000000 #t #t #t #t)");
    }
}
