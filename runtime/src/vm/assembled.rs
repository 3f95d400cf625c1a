//! Procedures written in bytecode by hand: loops whose step is an
//! instruction the compiler does not produce.
//!
//! `%map1` is `map` over one list. Compiled from Scheme, its loop took
//! seven instructions an element, then reversed the accumulated list;
//! here it is `MapNext`, `Call` and `MapCollect`, building the list in
//! order. Its frame:
//!
//! | slot | holds |
//! |---|---|
//! | 0 | the procedure |
//! | 1 | the rest of the list |
//! | 2 | the first pair of the results, or `()` |
//! | 3 | the last pair of the results, or `()` |
//! | 4 | the continuation-capture count when the loop began, `#f` once one was captured |
//! | 5 | the results made after a capture, last first |
//!
//! `%for-each1` is `for-each` over one list, the same loop dropping the
//! values. Both are ordinary closures: a call into them, a continuation
//! captured inside them and an image saved while they run all see plain
//! frames and instruction boundaries.

use imp_gc::Value;

/// The slots of `%map1`'s frame (see the table above).
pub mod map {
    /// The procedure.
    pub const PROC: usize = 0;
    /// The rest of the list.
    pub const LIST: usize = 1;
    /// The first pair of the results, or `()`.
    pub const FIRST: usize = 2;
    /// The last pair of the results, or `()`.
    pub const LAST: usize = 3;
    /// The capture count when the loop began; `#f` once one was captured.
    pub const CAPTURES: usize = 4;
    /// The results made after a capture, last first.
    pub const REVERSED: usize = 5;
    /// Slots in all.
    pub const SLOTS: i64 = 6;
}

use super::opcode::{Op, encode};
use super::{Vm, VmResult};
use crate::obj::CLOSURE;

/// `(%map1 f list)`.
const MAP1: [u64; 5] = [
    encode(Op::MapStart, 0, 0),
    encode(Op::MapNext, 0, 4),
    encode(Op::Call, 1, 0),
    encode(Op::MapCollect, 0, 1),
    encode(Op::MapResult, 0, 0),
];

/// `(%for-each1 f list)`.
const FOR_EACH1: [u64; 4] = [
    encode(Op::MapNext, 0, 3),
    encode(Op::Call, 1, 0),
    encode(Op::MapCollect, 1, 0),
    encode(Op::ReturnImm, 0, Value::UNSPECIFIED.bits() as u32),
];

/// Define the hand-written procedures as globals.
pub fn install(vm: &mut Vm) -> VmResult<()> {
    let procs: [(&str, &str, i64, &[u64]); 2] = [
        ("%map1", "map", map::SLOTS, &MAP1),
        ("%for-each1", "for-each", 2, &FOR_EACH1),
    ];
    for (global, name, nslots, code) in procs {
        let base = vm.stack.len();
        let code = crate::compile::codegen::assemble(vm, name, 2, nslots, code)?;
        vm.stack.push(code);
        let clo = vm.object_from_stack(CLOSURE, base)?;
        vm.define_global(global, clo)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unspecified_value_fits_an_immediate_operand() {
        assert_eq!(Value::UNSPECIFIED.bits() >> 32, 0);
    }
}
