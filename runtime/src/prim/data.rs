//! Equivalence predicates and booleans (R7RS 6.1, 6.3), vectors (6.8),
//! bytevectors (6.9) and the record primitives behind `define-record-type`.
//!
//! Records: `(%make-record-type name fields)` makes a `RECORD_TYPE`
//! `[name, field-names vector, uid]`; instances are `RECORD`
//! `[rtd, field...]`. Accessors check the instance's type by identity of
//! the descriptor.
//!
//! Every bytevector this module allocates has the unused bytes of its last
//! word zeroed, so equal contents mean equal payloads.

use std::sync::atomic::{AtomicI64, Ordering};

use imp_gc::Value;

use super::list::list_arg;
use super::{MANY, PrimDef, arg, def, equal, eqv, opt_arg};
use crate::obj::{BYTEVECTOR, RECORD, RECORD_TYPE, SYMBOL, VECTOR};
use crate::vm::{Exn, Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("eq?", 2, 2, eq_p),
    def("eqv?", 2, 2, eqv_p),
    def("equal?", 2, 2, equal_p),
    def("not", 1, 1, not),
    def("boolean?", 1, 1, boolean_p),
    def("boolean=?", 1, MANY, boolean_eq),
    def("vector?", 1, 1, vector_p),
    def("make-vector", 1, 2, make_vector),
    def("vector", 0, MANY, vector),
    def("vector-length", 1, 1, vector_length),
    def("vector-ref", 2, 2, vector_ref),
    def("vector-set!", 3, 3, vector_set),
    def("vector->list", 1, 3, vector_to_list),
    def("list->vector", 1, 1, list_to_vector),
    def("vector-fill!", 2, 4, vector_fill),
    def("vector-copy", 1, 3, vector_copy),
    def("vector-copy!", 3, 5, vector_copy_to),
    def("vector-append", 0, MANY, vector_append),
    def("bytevector?", 1, 1, bytevector_p),
    def("make-bytevector", 1, 2, make_bytevector),
    def("bytevector", 0, MANY, bytevector),
    def("bytevector-u8-ref", 2, 2, bytevector_u8_ref),
    def("bytevector-u8-set!", 3, 3, bytevector_u8_set),
    def("bytevector-length", 1, 1, bytevector_length),
    def("bytevector-copy", 1, 3, bytevector_copy),
    def("bytevector-copy!", 3, 5, bytevector_copy_to),
    def("bytevector-append", 0, MANY, bytevector_append),
    def("%make-record-type", 2, 2, make_record_type),
    def("%make-record", 1, MANY, make_record),
    def("%record?", 2, 2, record_of_type_p),
    def("%record-ref", 4, 4, record_ref),
    def("%record-set!", 5, 5, record_set),
    def("record?", 1, 1, record_p),
];

/// "`who`: index `k` out of range for a `what` of length `len`".
pub fn index_error(vm: &mut Vm, who: &str, k: usize, what: &str, len: usize) -> Exn {
    vm.error(
        format!("{who}: index {k} out of range for a {what} of length {len}"),
        &[Value::fix(k as i64)],
    )
}

/// Argument `i` as an index below `len`, checked.
fn checked_index(
    vm: &mut Vm,
    who: &str,
    base: usize,
    i: usize,
    what: &str,
    len: usize,
) -> VmResult<usize> {
    let k = vm.index_arg(who, base, i)?;
    if k >= len {
        return Err(index_error(vm, who, k, what, len));
    }
    Ok(k)
}

/// The error for a `*-copy!` whose source range does not fit the target.
fn copy_fit_error(
    vm: &mut Vm,
    who: &str,
    base: usize,
    n: usize,
    at: usize,
    what: &str,
    len: usize,
) -> Exn {
    let atv = arg(vm, base, 1);
    vm.error(
        format!("{who}: {n} elements do not fit at index {at} of a {what} of length {len}"),
        &[atv],
    )
}

// ---- equivalence and booleans ----------------------------------------------------

fn eq_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(arg(vm, base, 0) == arg(vm, base, 1)))
}

fn eqv_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(eqv(vm, arg(vm, base, 0), arg(vm, base, 1))))
}

fn equal_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(equal(vm, arg(vm, base, 0), arg(vm, base, 1))))
}

fn not(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(arg(vm, base, 0).is_false()))
}

fn is_boolean(v: Value) -> bool {
    v == Value::TRUE || v == Value::FALSE
}

fn boolean_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(is_boolean(arg(vm, base, 0))))
}

fn boolean_eq(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    for i in 0..argc {
        let v = arg(vm, base, i);
        if !is_boolean(v) {
            return Err(vm.type_error("boolean=?", "a boolean", v));
        }
    }
    Ok(Value::bool(
        (1..argc).all(|i| arg(vm, base, i) == arg(vm, base, 0)),
    ))
}

// ---- vectors ------------------------------------------------------------------------

fn vec_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, VECTOR, "a vector")
}

fn vector_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), VECTOR)))
}

fn make_vector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let n = vm.index_arg("make-vector", base, 0)?;
    let fill = opt_arg(vm, base, argc, 1).unwrap_or(Value::FALSE);
    vm.make_vector(n, fill)
}

fn vector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let v = vm.alloc(VECTOR, argc)?;
    for i in 0..argc {
        let x = arg(vm, base, i);
        vm.heap.set(v, i, x);
    }
    Ok(v)
}

fn vector_length(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = vec_arg(vm, "vector-length", base, 0)?;
    Ok(Value::fix(vm.heap.len(v) as i64))
}

fn vector_ref(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = vec_arg(vm, "vector-ref", base, 0)?;
    let len = vm.heap.len(v);
    let k = checked_index(vm, "vector-ref", base, 1, "vector", len)?;
    Ok(vm.heap.get(v, k))
}

fn vector_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = vec_arg(vm, "vector-set!", base, 0)?;
    let len = vm.heap.len(v);
    let k = checked_index(vm, "vector-set!", base, 1, "vector", len)?;
    let x = arg(vm, base, 2);
    vm.heap.set(v, k, x);
    Ok(Value::UNSPECIFIED)
}

fn vector_to_list(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let v = vec_arg(vm, "vector->list", base, 0)?;
    let len = vm.heap.len(v);
    let (start, end) = vm.range_args("vector->list", base, argc, 1, len)?;
    let mut l = Value::NIL;
    for i in (start..end).rev() {
        let x = vm.heap.get(arg(vm, base, 0), i);
        l = vm.cons(x, l)?;
    }
    Ok(l)
}

fn list_to_vector(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let items = list_arg(vm, "list->vector", base, 0)?;
    let start = vm.stack.len();
    vm.stack.extend(items);
    vm.vector_from_stack(start)
}

fn vector_fill(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let v = vec_arg(vm, "vector-fill!", base, 0)?;
    let len = vm.heap.len(v);
    let (start, end) = vm.range_args("vector-fill!", base, argc, 2, len)?;
    let x = arg(vm, base, 1);
    for i in start..end {
        vm.heap.set(v, i, x);
    }
    Ok(Value::UNSPECIFIED)
}

/// Copy `n` elements of vector `from` at `fstart` into `to` at `at`, overlap-safe.
fn copy_elements(vm: &mut Vm, to: Value, at: usize, from: Value, fstart: usize, n: usize) {
    if at <= fstart {
        for k in 0..n {
            let x = vm.heap.get(from, fstart + k);
            vm.heap.set(to, at + k, x);
        }
    } else {
        for k in (0..n).rev() {
            let x = vm.heap.get(from, fstart + k);
            vm.heap.set(to, at + k, x);
        }
    }
}

fn vector_copy(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let v = vec_arg(vm, "vector-copy", base, 0)?;
    let len = vm.heap.len(v);
    let (start, end) = vm.range_args("vector-copy", base, argc, 1, len)?;
    let out = vm.alloc(VECTOR, end - start)?;
    let v = arg(vm, base, 0);
    copy_elements(vm, out, 0, v, start, end - start);
    Ok(out)
}

fn vector_copy_to(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let to = vec_arg(vm, "vector-copy!", base, 0)?;
    let at = vm.index_arg("vector-copy!", base, 1)?;
    let from = vec_arg(vm, "vector-copy!", base, 2)?;
    let flen = vm.heap.len(from);
    let (start, end) = vm.range_args("vector-copy!", base, argc, 3, flen)?;
    let tlen = vm.heap.len(to);
    if at > tlen || tlen - at < end - start {
        return Err(copy_fit_error(
            vm,
            "vector-copy!",
            base,
            end - start,
            at,
            "vector",
            tlen,
        ));
    }
    copy_elements(vm, to, at, from, start, end - start);
    Ok(Value::UNSPECIFIED)
}

fn vector_append(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut total = 0;
    for i in 0..argc {
        let v = vec_arg(vm, "vector-append", base, i)?;
        total += vm.heap.len(v);
    }
    let out = vm.alloc(VECTOR, total)?;
    let mut at = 0;
    for i in 0..argc {
        let v = arg(vm, base, i);
        let n = vm.heap.len(v);
        copy_elements(vm, out, at, v, 0, n);
        at += n;
    }
    Ok(out)
}

// ---- bytevectors ----------------------------------------------------------------------

fn bv_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, BYTEVECTOR, "a bytevector")
}

/// Argument `i` as a byte.
fn byte_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<u8> {
    let v = arg(vm, base, i);
    match v.as_fixnum().and_then(|n| u8::try_from(n).ok()) {
        Some(b) => Ok(b),
        None => Err(vm.type_error(who, "a byte (an exact integer from 0 to 255)", v)),
    }
}

/// A fresh bytevector of `n` copies of `fill` with its padding bytes zeroed.
pub fn new_bytevector(vm: &mut Vm, n: usize, fill: u8) -> VmResult<Value> {
    let b = vm.make_bytevector(n, fill)?;
    if !n.is_multiple_of(8) {
        let w = vm.heap.raw(b, 1 + n / 8);
        let keep = (1u64 << ((n % 8) * 8)) - 1;
        vm.heap.set_raw(b, 1 + n / 8, w & keep);
    }
    Ok(b)
}

/// Copy `n` bytes of `from` at `fstart` into `to` at `at`, overlap-safe.
fn copy_bytes(vm: &mut Vm, to: Value, at: usize, from: Value, fstart: usize, n: usize) {
    if at <= fstart {
        for k in 0..n {
            let x = vm.bytevector_ref(from, fstart + k);
            vm.bytevector_set(to, at + k, x);
        }
    } else {
        for k in (0..n).rev() {
            let x = vm.bytevector_ref(from, fstart + k);
            vm.bytevector_set(to, at + k, x);
        }
    }
}

fn bytevector_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), BYTEVECTOR)))
}

fn make_bytevector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let n = vm.index_arg("make-bytevector", base, 0)?;
    let fill = match opt_arg(vm, base, argc, 1) {
        Some(_) => byte_arg(vm, "make-bytevector", base, 1)?,
        None => 0,
    };
    new_bytevector(vm, n, fill)
}

fn bytevector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut bytes = Vec::with_capacity(argc);
    for i in 0..argc {
        bytes.push(byte_arg(vm, "bytevector", base, i)?);
    }
    vm.bytevector(&bytes)
}

fn bytevector_u8_ref(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let b = bv_arg(vm, "bytevector-u8-ref", base, 0)?;
    let len = vm.bytevector_len(b);
    let k = checked_index(vm, "bytevector-u8-ref", base, 1, "bytevector", len)?;
    Ok(Value::fix(vm.bytevector_ref(b, k) as i64))
}

fn bytevector_u8_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let b = bv_arg(vm, "bytevector-u8-set!", base, 0)?;
    let len = vm.bytevector_len(b);
    let k = checked_index(vm, "bytevector-u8-set!", base, 1, "bytevector", len)?;
    let x = byte_arg(vm, "bytevector-u8-set!", base, 2)?;
    vm.bytevector_set(b, k, x);
    Ok(Value::UNSPECIFIED)
}

fn bytevector_length(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let b = bv_arg(vm, "bytevector-length", base, 0)?;
    Ok(Value::fix(vm.bytevector_len(b) as i64))
}

fn bytevector_copy(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let b = bv_arg(vm, "bytevector-copy", base, 0)?;
    let len = vm.bytevector_len(b);
    let (start, end) = vm.range_args("bytevector-copy", base, argc, 1, len)?;
    let out = new_bytevector(vm, end - start, 0)?;
    let b = arg(vm, base, 0);
    copy_bytes(vm, out, 0, b, start, end - start);
    Ok(out)
}

fn bytevector_copy_to(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let to = bv_arg(vm, "bytevector-copy!", base, 0)?;
    let at = vm.index_arg("bytevector-copy!", base, 1)?;
    let from = bv_arg(vm, "bytevector-copy!", base, 2)?;
    let flen = vm.bytevector_len(from);
    let (start, end) = vm.range_args("bytevector-copy!", base, argc, 3, flen)?;
    let tlen = vm.bytevector_len(to);
    if at > tlen || tlen - at < end - start {
        return Err(copy_fit_error(
            vm,
            "bytevector-copy!",
            base,
            end - start,
            at,
            "bytevector",
            tlen,
        ));
    }
    copy_bytes(vm, to, at, from, start, end - start);
    Ok(Value::UNSPECIFIED)
}

fn bytevector_append(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut total = 0;
    for i in 0..argc {
        let b = bv_arg(vm, "bytevector-append", base, i)?;
        total += vm.bytevector_len(b);
    }
    let out = new_bytevector(vm, total, 0)?;
    let mut at = 0;
    for i in 0..argc {
        let b = arg(vm, base, i);
        let n = vm.bytevector_len(b);
        copy_bytes(vm, out, at, b, 0, n);
        at += n;
    }
    Ok(out)
}

// ---- records --------------------------------------------------------------------------

/// Source of record type uids.
static NEXT_UID: AtomicI64 = AtomicI64::new(1);

fn rtd_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, RECORD_TYPE, "a record type")
}

fn make_record_type(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    vm.typed_arg("%make-record-type", base, 0, SYMBOL, "a symbol")?;
    let fields = list_arg(vm, "%make-record-type", base, 1)?;
    let start = vm.stack.len();
    vm.stack.extend(fields);
    let names = vm.vector_from_stack(start)?;
    vm.stack.push(arg(vm, base, 0));
    vm.stack.push(names);
    vm.stack
        .push(Value::fix(NEXT_UID.fetch_add(1, Ordering::Relaxed)));
    vm.object_from_stack(RECORD_TYPE, start)
}

fn make_record(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let rtd = rtd_arg(vm, "%make-record", base, 0)?;
    let nfields = vm.heap.len(vm.heap.get(rtd, 1));
    if argc - 1 != nfields {
        let name = vm.symbol_name(vm.heap.get(rtd, 0));
        return Err(vm.error(
            format!(
                "%make-record: record type {name} has {nfields} fields, got {} values",
                argc - 1
            ),
            &[rtd],
        ));
    }
    let r = vm.alloc(RECORD, argc)?;
    for i in 0..argc {
        let x = arg(vm, base, i);
        vm.heap.set(r, i, x);
    }
    Ok(r)
}

/// Is `obj` a record whose type is `rtd`?
fn is_record_of(vm: &Vm, rtd: Value, obj: Value) -> bool {
    vm.is(obj, RECORD) && vm.heap.get(obj, 0) == rtd
}

fn record_of_type_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(is_record_of(
        vm,
        arg(vm, base, 0),
        arg(vm, base, 1),
    )))
}

/// Check that argument 1 is a record of type argument 0 with a field at the
/// index in argument 2; `who_at` is the argument naming the procedure.
fn record_field(vm: &mut Vm, base: usize, who_at: usize) -> VmResult<(Value, usize)> {
    let who = {
        let w = arg(vm, base, who_at);
        if vm.is(w, SYMBOL) {
            vm.symbol_name(w)
        } else {
            "%record-ref".to_string()
        }
    };
    let rtd = rtd_arg(vm, &who, base, 0)?;
    let obj = arg(vm, base, 1);
    if !is_record_of(vm, rtd, obj) {
        let tname = vm.symbol_name(vm.heap.get(rtd, 0));
        return Err(vm.type_error(&who, &format!("a record of type {tname}"), obj));
    }
    let k = checked_index(vm, &who, base, 2, "record", vm.heap.len(obj) - 1)?;
    Ok((obj, k + 1))
}

fn record_ref(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (obj, slot) = record_field(vm, base, 3)?;
    Ok(vm.heap.get(obj, slot))
}

fn record_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let (obj, slot) = record_field(vm, base, 4)?;
    let x = arg(vm, base, 3);
    vm.heap.set(obj, slot, x);
    Ok(Value::UNSPECIFIED)
}

fn record_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), RECORD)))
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::prim::testing::{check, err, eval};

    #[test]
    fn equivalence_and_booleans() {
        check(&[
            (
                "(list (eq? 'a 'a) (eq? '() '()) (eq? (list 1) (list 1)) (eq? 100 100))",
                "(#t #t #f #t)",
            ),
            (
                "(list (eqv? 1.5 1.5) (eqv? 100000000000000000000 100000000000000000000) (eqv? \"a\" \"a\") (eqv? #\\a #\\a))",
                "(#t #t #f #t)",
            ),
            (
                "(list (equal? '(1 #(2 \"x\")) (list 1 (vector 2 \"x\"))) (equal? \"ab\" \"ab\") (equal? '(1) '(2)))",
                "(#t #t #f)",
            ),
            ("(equal? (bytevector 1 2 3) (make-bytevector 3 1))", "#f"),
            (
                "(list (equal? (bytevector 7 7 7) (make-bytevector 3 7)) (equal? (bytevector-copy #u8(1 2 3 4) 1) #u8(2 3 4)))",
                "(#t #t)",
            ),
            ("(list (not #f) (not 0) (not '()))", "(#t #f #f)"),
            (
                "(list (boolean? #f) (boolean? #t) (boolean? '()) (boolean? 0))",
                "(#t #t #f #f)",
            ),
            (
                "(list (boolean=? #t #t) (boolean=? #f #f #f) (boolean=? #t #f))",
                "(#t #t #f)",
            ),
        ]);
        assert!(err("(boolean=? #t 1)").contains("boolean=?"));
    }

    #[test]
    fn vectors() {
        check(&[
            (
                "(list (vector? #(1)) (vector? '(1)) (vector? \"a\"))",
                "(#t #f #f)",
            ),
            (
                "(list (make-vector 2 'x) (make-vector 0) (vector-length (make-vector 3)))",
                "(#(x x) #() 3)",
            ),
            (
                "(list (vector) (vector 1 \"a\" #\\b))",
                "(#() #(1 \"a\" #\\b))",
            ),
            (
                "(list (vector-length #()) (vector-length #(1 2 3)))",
                "(0 3)",
            ),
            ("(vector-ref #(a b c) 2)", "c"),
            (
                "(let ((v (vector 1 2 3))) (vector-set! v 0 'x) v)",
                "#(x 2 3)",
            ),
            (
                "(list (vector->list #(1 2 3)) (vector->list #(1 2 3) 1) (vector->list #(1 2 3) 1 2))",
                "((1 2 3) (2 3) (2))",
            ),
            (
                "(list (list->vector '()) (list->vector '(1 (2) \"3\")))",
                "(#() #(1 (2) \"3\"))",
            ),
            (
                "(let ((v (vector 1 2 3 4))) (vector-fill! v 0) v)",
                "#(0 0 0 0)",
            ),
            (
                "(let ((v (vector 1 2 3 4))) (vector-fill! v 'z 1 3) v)",
                "#(1 z z 4)",
            ),
            (
                "(list (vector-copy #(1 2 3)) (vector-copy #(1 2 3) 1) (vector-copy #(1 2 3) 0 1))",
                "(#(1 2 3) #(2 3) #(1))",
            ),
            (
                "(let* ((v (vector 1 2)) (c (vector-copy v))) (vector-set! c 0 9) (list v c))",
                "(#(1 2) #(9 2))",
            ),
            (
                "(let ((v (vector 1 2 3 4 5))) (vector-copy! v 0 #(a b)) v)",
                "#(a b 3 4 5)",
            ),
            (
                "(let ((v (vector 1 2 3 4 5))) (vector-copy! v 1 v 0 3) v)",
                "#(1 1 2 3 5)",
            ),
            (
                "(let ((v (vector 1 2 3 4 5))) (vector-copy! v 0 v 2) v)",
                "#(3 4 5 4 5)",
            ),
            (
                "(list (vector-append) (vector-append #(1) #() #(2 3)))",
                "(#() #(1 2 3))",
            ),
        ]);
    }

    #[test]
    fn vector_errors() {
        let e = err("(vector-ref (vector 1 2) 5)");
        assert!(
            e.contains("vector-ref: index 5 out of range for a vector of length 2"),
            "{e}"
        );
        assert!(err("(vector-ref '(1) 0)").contains("vector-ref"));
        assert!(err("(vector-ref #(1) -1)").contains("vector-ref"));
        assert!(err("(vector-ref #(1) 'a)").contains("vector-ref"));
        assert!(err("(vector-set! (vector) 0 1)").contains("vector-set!"));
        assert!(err("(vector-length \"a\")").contains("vector-length"));
        assert!(err("(make-vector -1)").contains("make-vector"));
        assert!(err("(vector->list #(1 2) 3)").contains("vector->list"));
        assert!(err("(list->vector '(1 . 2))").contains("list->vector"));
        assert!(err("(vector-fill! #(1) 0 0 2)").contains("vector-fill!"));
        assert!(err("(vector-copy #(1 2) 2 1)").contains("vector-copy"));
        assert!(err("(vector-copy! (vector 1) 0 #(1 2))").contains("vector-copy!"));
        assert!(err("(vector-copy! (vector 1) 2 #())").contains("vector-copy!"));
        assert!(err("(vector-append #(1) '(2))").contains("vector-append"));
    }

    #[test]
    fn bytevectors() {
        check(&[
            ("(list (bytevector? #u8(1)) (bytevector? #(1)))", "(#t #f)"),
            (
                "(list (make-bytevector 3 255) (make-bytevector 0) (make-bytevector 2))",
                "(#u8(255 255 255) #u8() #u8(0 0))",
            ),
            (
                "(list (bytevector) (bytevector 1 2 3))",
                "(#u8() #u8(1 2 3))",
            ),
            ("(bytevector-u8-ref #u8(5 6 7) 1)", "6"),
            (
                "(let ((b (make-bytevector 3 0))) (bytevector-u8-set! b 2 200) b)",
                "#u8(0 0 200)",
            ),
            (
                "(list (bytevector-length #u8()) (bytevector-length (make-bytevector 11 1)))",
                "(0 11)",
            ),
            (
                "(list (bytevector-copy #u8(1 2 3)) (bytevector-copy #u8(1 2 3) 1) (bytevector-copy #u8(1 2 3) 1 2))",
                "(#u8(1 2 3) #u8(2 3) #u8(2))",
            ),
            (
                "(let ((b (bytevector 1 2 3 4 5))) (bytevector-copy! b 1 #u8(9 9)) b)",
                "#u8(1 9 9 4 5)",
            ),
            (
                "(let ((b (bytevector 1 2 3 4 5))) (bytevector-copy! b 2 b 0 3) b)",
                "#u8(1 2 1 2 3)",
            ),
            (
                "(let ((b (bytevector 1 2 3 4 5))) (bytevector-copy! b 0 b 3) b)",
                "#u8(4 5 3 4 5)",
            ),
            (
                "(list (bytevector-append) (bytevector-append #u8(1) #u8() #u8(2 3)))",
                "(#u8() #u8(1 2 3))",
            ),
        ]);
    }

    #[test]
    fn bytevector_errors() {
        let e = err("(bytevector-u8-ref #u8(1 2 3) 3)");
        assert!(
            e.contains("bytevector-u8-ref: index 3 out of range for a bytevector of length 3"),
            "{e}"
        );
        assert!(err("(bytevector-u8-set! (bytevector 1) 0 256)").contains("bytevector-u8-set!"));
        assert!(err("(bytevector-u8-set! (bytevector 1) 1 0)").contains("bytevector-u8-set!"));
        assert!(err("(bytevector 1 -1)").contains("bytevector"));
        assert!(err("(make-bytevector 2 300)").contains("make-bytevector"));
        assert!(err("(bytevector-length #(1))").contains("bytevector-length"));
        assert!(err("(bytevector-copy #u8(1) 0 2)").contains("bytevector-copy"));
        assert!(err("(bytevector-copy! (bytevector 1) 0 #u8(1 2))").contains("bytevector-copy!"));
        assert!(err("(bytevector-append #u8(1) 2)").contains("bytevector-append"));
    }

    #[test]
    fn records() {
        let defs = "(define-record-type <point> (make-point x y) point? (x point-x set-point-x!) (y point-y))
                    (define-record-type thing (make-thing a) thing? (a thing-a))";
        let mut rt = crate::prim::testing::runtime();
        rt.eval_str(defs).unwrap();
        for (src, want) in [
            (
                "(define p (make-point 1 2)) (list (point-x p) (point-y p))",
                "(1 2)",
            ),
            ("(set-point-x! p 10) (gc) (point-x p)", "10"),
            (
                "(list (point? p) (point? (make-thing 1)) (point? 5) (thing? (make-thing 1)))",
                "(#t #f #f #t)",
            ),
            (
                "(list (record? p) (record? (make-thing 1)) (record? (vector 1)))",
                "(#t #t #f)",
            ),
            ("p", "#<point x: 10 y: 2>"),
            ("<point>", "#<record-type point>"),
            (
                "(let ((t (%make-record-type 'pair3 '(a b c)))) (%record-ref t (%make-record t 1 2 3) 2 'c))",
                "3",
            ),
        ] {
            let v = rt.eval_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(rt.write(&v), want, "{src}");
        }
        for (src, words) in [
            (
                "(point-x (make-thing 1))",
                ["point-x", "record of type point"],
            ),
            ("(point-y 5)", ["point-y", "point"]),
            ("(set-point-x! (cons 1 2) 0)", ["set-point-x!", "point"]),
            ("(%make-record <point> 1)", ["%make-record", "fields"]),
            (
                "(%record-ref <point> p 7 'point-z)",
                ["point-z", "out of range"],
            ),
            (
                "(%record-ref 'nope p 0 'point-x)",
                ["point-x", "record type"],
            ),
        ] {
            let e = match rt.eval_str(src) {
                Ok(v) => panic!("{src} returned {}", rt.write(&v)),
                Err(e) => e.to_string(),
            };
            for w in words {
                assert!(e.contains(w), "{src}: {e}");
            }
        }
    }

    #[test]
    fn big_vectors_survive_collection() {
        let src = "(define v (make-vector 100000 (list 'x)))
                   (define w (vector-copy v))
                   (vector-set! w 99999 (string-append \"a\" \"b\"))
                   (gc)
                   (list (vector-length (vector-append v w)) (vector-ref w 0) (vector-ref w 99999) (eq? (vector-ref v 5) (vector-ref w 6)))";
        assert_eq!(eval(src), "(200000 (x) \"ab\" #t)");
    }
}
