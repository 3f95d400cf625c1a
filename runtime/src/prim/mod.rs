//! Native procedures, grouped by R7RS chapter, and the table that names
//! them by stable id.
//!
//! **Invariant (stable ids):** a primitive is named in the heap by its
//! index in [`PRIMITIVES`], never by address. The table is the
//! concatenation of each module's `DEFS` in a fixed order; adding a
//! primitive at the end of a module's list changes later ids, so images
//! record primitives by name as well.
//!
//! A primitive receives its arguments as `stack[base..base + argc]`. The
//! stack is a root, so arguments stay valid across allocation; Rust locals
//! holding values do not.

pub mod binary;
pub mod bits;
pub mod control;
pub mod data;
pub mod fs;
pub mod hash;
pub mod io;
pub mod json;
pub mod list;
pub mod net;
pub mod number;
pub mod process;
pub mod regexp;
pub mod repl;
pub mod string;
pub mod thread;
pub mod time;

use std::sync::LazyLock;

use imp_gc::Value;

use crate::vm::{Vm, VmResult};

/// A native procedure that computes a value.
pub type SimpleFn = fn(&mut Vm, usize, usize) -> VmResult<Value>;

/// Native procedures that manipulate the VM's control state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// `(apply f arg ... list)`
    Apply,
    /// `(%call/cc f)`: call `f` with the raw continuation.
    CallCC,
    /// `(%apply-values consumer vals)`: call `consumer` with the values.
    ApplyValues,
    /// `(eval expr [env])`: compile, then call the result.
    Eval,
    /// `(%yield)`: let other threads run.
    Yield,
    /// `(%park deadline)`: wait for a wake-up or the deadline.
    Park,
    /// `(%end-thread)`: end the running green thread now.
    EndThread,
}

/// How a primitive runs.
#[derive(Clone, Copy, Debug)]
pub enum PrimFn {
    /// Compute a value from the arguments.
    Simple(SimpleFn),
    /// Rearrange the VM's stacks (handled by the interpreter).
    Control(Control),
}

/// One native procedure.
#[derive(Clone, Copy, Debug)]
pub struct PrimDef {
    /// Its Scheme name.
    pub name: &'static str,
    /// Fewest arguments.
    pub min: u16,
    /// Most arguments (`u16::MAX`: any number).
    pub max: u16,
    /// What it does.
    pub f: PrimFn,
}

impl PrimDef {
    /// Does it take `argc` arguments?
    #[inline(always)]
    pub fn accepts(&self, argc: usize) -> bool {
        argc >= self.min as usize && (self.max == MANY || argc <= self.max as usize)
    }
}

/// Any number of arguments.
pub const MANY: u16 = u16::MAX;

/// Shorthand for a simple primitive's table entry.
pub const fn def(name: &'static str, min: u16, max: u16, f: SimpleFn) -> PrimDef {
    PrimDef {
        name,
        min,
        max,
        f: PrimFn::Simple(f),
    }
}

/// Every primitive, by id.
pub static PRIMITIVES: LazyLock<Vec<PrimDef>> = LazyLock::new(|| {
    [
        control::DEFS,
        list::DEFS,
        data::DEFS,
        number::DEFS,
        string::DEFS,
        hash::DEFS,
        io::DEFS,
        binary::DEFS,
        repl::DEFS,
        thread::DEFS,
        process::DEFS,
        crate::image::DEFS,
        net::DEFS,
        fs::DEFS,
        crate::future::DEFS,
        bits::DEFS,
        regexp::DEFS,
        json::DEFS,
        time::DEFS,
    ]
    .concat()
});

/// The id of the primitive called `name`.
pub fn prim_id(name: &str) -> Option<usize> {
    PRIMITIVES.iter().position(|p| p.name == name)
}

/// Bind every primitive globally.
pub fn install(vm: &mut Vm) -> VmResult<()> {
    for id in 0..PRIMITIVES.len() {
        let p = vm.make_primitive(id)?;
        vm.define_global(PRIMITIVES[id].name, p)?;
    }
    crate::vm::assembled::install(vm)
}

/// `eqv?`.
pub fn eqv(vm: &Vm, a: Value, b: Value) -> bool {
    if a == b {
        return true;
    }
    if !a.is_ref() || !b.is_ref() {
        return false;
    }
    let (ta, tb) = (vm.heap.tag(a), vm.heap.tag(b));
    if ta != tb {
        return false;
    }
    match ta {
        crate::obj::FLONUM => vm.heap.raw(a, 0) == vm.heap.raw(b, 0),
        crate::obj::BIGNUM => vm.heap.payload(a) == vm.heap.payload(b),
        crate::obj::RATIO | crate::obj::COMPLEX => {
            eqv(vm, vm.heap.get(a, 0), vm.heap.get(b, 0))
                && eqv(vm, vm.heap.get(a, 1), vm.heap.get(b, 1))
        }
        _ => false,
    }
}

/// Pairs and vectors `equal?` compares before it starts to remember which
/// it has compared (only data this large can hold a cycle worth the cost).
const EQUAL_PLAIN_STEPS: u64 = 1 << 20;

/// `equal?`: structural equality, and it terminates on circular data (R7RS
/// 6.1). After `EQUAL_PLAIN_STEPS` pairs and vectors it remembers every
/// two objects it compares, and two met again are taken as equal (they
/// are being compared, or were and were equal; a difference would have
/// ended the comparison): equality of the infinite trees the data
/// unfolds to, in time and memory linear in the data.
pub fn equal(vm: &Vm, a: Value, b: Value) -> bool {
    let mut work = vec![(a, b)];
    let mut steps: u64 = 0;
    let mut seen: std::collections::HashSet<(u64, u64)> = std::collections::HashSet::new();
    while let Some((a, b)) = work.pop() {
        if eqv(vm, a, b) {
            continue;
        }
        if !a.is_ref() || !b.is_ref() {
            return false;
        }
        if vm.is(a, crate::obj::STRING) && vm.is(b, crate::obj::STRING) {
            if !crate::prim::hash::string_same(vm, a, b) {
                return false;
            }
            continue;
        }
        let t = vm.heap.tag(a);
        if t != vm.heap.tag(b) {
            return false;
        }
        match t {
            crate::obj::PAIR | crate::obj::VECTOR => {
                let n = vm.heap.len(a);
                if n != vm.heap.len(b) {
                    return false;
                }
                steps += 1;
                if steps > EQUAL_PLAIN_STEPS && !seen.insert((a.bits(), b.bits())) {
                    continue;
                }
                for i in (0..n).rev() {
                    work.push((vm.heap.get(a, i), vm.heap.get(b, i)));
                }
            }
            crate::obj::BYTEVECTOR => {
                if vm.heap.payload(a) != vm.heap.payload(b) {
                    return false;
                }
            }
            crate::obj::HOST => {
                if host_equal(vm, a, b) != Some(true) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Two host objects of this runtime and of one type that says how to
/// compare its values: are they `equal?` (`None`: nothing says).
pub(crate) fn host_equal(vm: &Vm, a: Value, b: Value) -> Option<bool> {
    use crate::host::field;
    let here = Value::fix(vm.os.session);
    if vm.heap.get(a, field::SESSION) != here || vm.heap.get(b, field::SESSION) != here {
        return None;
    }
    let t = vm.heap.get(a, field::TYPE);
    if t != vm.heap.get(b, field::TYPE) {
        return Some(false);
    }
    let hosts = &vm.host.objects;
    let va = hosts.peek(vm.heap.get(a, field::TOKEN).as_fixnum_unchecked() as u64)?;
    let vb = hosts.peek(vm.heap.get(b, field::TOKEN).as_fixnum_unchecked() as u64)?;
    hosts.equal(t.as_fixnum_unchecked() as usize, va, vb)
}

/// The `equal?` hash of a host object whose type hashes its values.
pub(crate) fn host_hash(vm: &Vm, v: Value) -> Option<u64> {
    use crate::host::field;
    if vm.heap.get(v, field::SESSION) != Value::fix(vm.os.session) {
        return None;
    }
    let hosts = &vm.host.objects;
    let value = hosts.peek(vm.heap.get(v, field::TOKEN).as_fixnum_unchecked() as u64)?;
    hosts.hash(
        vm.heap.get(v, field::TYPE).as_fixnum_unchecked() as usize,
        value,
    )
}

/// Argument `i`.
#[inline(always)]
pub fn arg(vm: &Vm, base: usize, i: usize) -> Value {
    vm.stack[base + i]
}

/// Argument `i` if given (and not the default marker).
#[inline(always)]
pub fn opt_arg(vm: &Vm, base: usize, argc: usize, i: usize) -> Option<Value> {
    (i < argc)
        .then(|| vm.stack[base + i])
        .filter(|v| *v != Value::DEFAULT)
}

impl Vm {
    /// Argument `i` as an index (a non-negative fixnum).
    pub fn index_arg(&mut self, who: &str, base: usize, i: usize) -> VmResult<usize> {
        let v = arg(self, base, i);
        match v.as_fixnum() {
            Some(n) if n >= 0 => Ok(n as usize),
            _ => Err(self.type_error(who, "a non-negative exact integer", v)),
        }
    }

    /// Argument `i`, which must have tag `t` (`what` names it for errors).
    pub fn typed_arg(
        &mut self,
        who: &str,
        base: usize,
        i: usize,
        t: imp_gc::Tag,
        what: &str,
    ) -> VmResult<Value> {
        let v = arg(self, base, i);
        if self.is(v, t) {
            Ok(v)
        } else {
            Err(self.type_error(who, what, v))
        }
    }

    /// Argument `i` as a character.
    pub fn char_arg(&mut self, who: &str, base: usize, i: usize) -> VmResult<char> {
        let v = arg(self, base, i);
        match v.as_char() {
            Some(c) => Ok(c),
            None => Err(self.type_error(who, "a character", v)),
        }
    }

    /// Optional `[start [end]]` arguments at `i`, `i+1` for a sequence of length `len`.
    pub fn range_args(
        &mut self,
        who: &str,
        base: usize,
        argc: usize,
        i: usize,
        len: usize,
    ) -> VmResult<(usize, usize)> {
        let start = match opt_arg(self, base, argc, i) {
            Some(_) => self.index_arg(who, base, i)?,
            None => 0,
        };
        let end = match opt_arg(self, base, argc, i + 1) {
            Some(_) => self.index_arg(who, base, i + 1)?,
            None => len,
        };
        if start > end || end > len {
            let (s, e) = (Value::fix(start as i64), Value::fix(end as i64));
            return Err(self.error(
                format!("{who}: range {start}..{end} out of bounds (length {len})"),
                &[s, e],
            ));
        }
        Ok((start, end))
    }
}

/// Helpers shared by the primitive modules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// A runtime whose internal primitives can be named, so their own
    /// argument checks can be tested.
    pub fn runtime() -> crate::Runtime {
        let mut rt = crate::Runtime::new().expect("runtime");
        rt.vm().expose_internals_for_tests();
        rt
    }

    /// The written value of evaluating `src` in a fresh runtime.
    pub fn eval(src: &str) -> String {
        let mut rt = runtime();
        let v = rt.eval_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        rt.write(&v)
    }

    /// Evaluate each `(source, expected written value)` in one runtime.
    pub fn check(cases: &[(&str, &str)]) {
        let mut rt = runtime();
        for (src, want) in cases {
            let v = rt.eval_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(rt.write(&v), *want, "{src}");
        }
    }

    /// The error text of evaluating `src`, which must fail.
    pub fn err(src: &str) -> String {
        let mut rt = runtime();
        match rt.eval_str(src) {
            Ok(v) => panic!("{src} returned {}", rt.write(&v)),
            Err(e) => e.to_string(),
        }
    }
}
