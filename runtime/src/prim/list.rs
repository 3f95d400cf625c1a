//! Pairs and lists (R7RS 6.4).

use imp_gc::Value;

use super::{arg, def, equal, eqv, PrimDef, MANY};
use crate::obj::PAIR;
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
];

/// `reverse!`: reverse a list by relinking its pairs.
fn reverse_in_place(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let mut l = arg(vm, base, 0);
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
    vm.stack.extend(items.iter().rev());
    vm.list_from_stack(start)
}

fn list_tail(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let k = vm.index_arg("list-tail", base, 1)?;
    let mut l = arg(vm, base, 0);
    for _ in 0..k {
        if !vm.is_pair(l) {
            let kv = arg(vm, base, 1);
            return Err(vm.error("list-tail: index out of range", &[kv]));
        }
        l = vm.cdr(l);
    }
    Ok(l)
}

fn list_ref(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let k = vm.index_arg("list-ref", base, 1)?;
    let mut l = arg(vm, base, 0);
    for _ in 0..k {
        if !vm.is_pair(l) {
            break;
        }
        l = vm.cdr(l);
    }
    if !vm.is_pair(l) {
        let kv = arg(vm, base, 1);
        return Err(vm.error("list-ref: index out of range", &[kv]));
    }
    Ok(vm.car(l))
}

fn mem_generic(vm: &mut Vm, base: usize, same: fn(&Vm, Value, Value) -> bool) -> VmResult<Value> {
    let x = arg(vm, base, 0);
    let mut l = arg(vm, base, 1);
    while vm.is_pair(l) {
        if same(vm, x, vm.car(l)) {
            return Ok(l);
        }
        l = vm.cdr(l);
    }
    Ok(Value::FALSE)
}

fn memq(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    mem_generic(vm, base, |_, a, b| a == b)
}

fn memv(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    mem_generic(vm, base, eqv)
}

fn member(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    mem_generic(vm, base, equal)
}

fn ass_generic(vm: &mut Vm, base: usize, same: fn(&Vm, Value, Value) -> bool) -> VmResult<Value> {
    let x = arg(vm, base, 0);
    let mut l = arg(vm, base, 1);
    while vm.is_pair(l) {
        let e = vm.car(l);
        if vm.is_pair(e) && same(vm, x, vm.car(e)) {
            return Ok(e);
        }
        l = vm.cdr(l);
    }
    Ok(Value::FALSE)
}

fn assq(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    ass_generic(vm, base, |_, a, b| a == b)
}

fn assv(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    ass_generic(vm, base, eqv)
}

fn assoc(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    ass_generic(vm, base, equal)
}

fn list_copy(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let l = arg(vm, base, 0);
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
    for _ in 0..n {
        let fill = if argc > 1 { arg(vm, base, 1) } else { fill };
        l = vm.cons(fill, l)?;
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
    while vm.is_pair(vm.cdr(l)) {
        l = vm.cdr(l);
    }
    Ok(l)
}
