//! The bytecode.
//!
//! One instruction is one 64-bit word: opcode in bits 0..8, operand `a` in
//! bits 8..32, operand `b` in bits 32..64. The VM is a stack machine: a
//! frame's slots (parameters, then `let`-bound locals) sit above the
//! procedure at `fp`, and temporaries are pushed above the slots.
//!
//! Stack effects are written `before -- after`.

/// Declares the opcodes once: the `Op` enum, the decoding table, and a
/// `byte` constant per opcode for the interpreter's dispatch `match`.
macro_rules! opcodes {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Operations.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Op {
            $($(#[$doc])* $name,)*
        }

        const OPS: &[Op] = &[$(Op::$name,)*];

        /// The opcode bytes, for matching on an instruction's low byte.
        #[allow(non_upper_case_globals)]
        pub mod byte {
            $(
                #[doc = concat!("The byte of `Op::", stringify!($name), "`.")]
                pub const $name: u8 = super::Op::$name as u8;
            )*
        }
    };
}

opcodes! {
    /// `-- consts[a]`
    Const,
    /// `-- fixnum(b as i32)`
    Fix,
    /// `-- slot[a]`
    Local,
    /// `v --` ; `slot[a] = v`
    SetLocal,
    /// `-- unbox(slot[a])`
    LocalBox,
    /// `v --` ; `unbox(slot[a]) = v`
    SetLocalBox,
    /// `--` ; `slot[a] = box(slot[a])`
    BoxLocal,
    /// `v -- box(v)`
    MakeBox,
    /// `-- free[a]`
    Free,
    /// `-- unbox(free[a])`
    FreeBox,
    /// `v --` ; `unbox(free[a]) = v`
    SetFreeBox,
    /// `-- value of global consts[a]` (error if unbound)
    Global,
    /// `v --` ; assign existing global `consts[a]` (error if unbound)
    SetGlobal,
    /// `v -- unspecified` ; define global `consts[a]`
    DefGlobal,
    /// `v --`
    Pop,
    /// jump to instruction `b`
    Jump,
    /// `v --` ; jump to `b` if `v` is `#f`
    JumpIfFalse,
    /// `free_0 .. free_{b-1} -- closure` over code `consts[a]`
    Closure,
    /// `f a_1 .. a_n -- result` with n = `a`
    Call,
    /// as `Call`, replacing the current frame
    TailCall,
    /// `v --` ; return `v` to the caller
    Return,
    /// `a b -- a+b`
    Add,
    /// `a b -- a-b`
    Sub,
    /// `a b -- a*b`
    Mul,
    /// `a b -- a<b`
    Lt,
    /// `a b -- a>b`
    Gt,
    /// `a b -- a<=b`
    Le,
    /// `a b -- a>=b`
    Ge,
    /// `a b -- a=b`
    NumEq,
    /// `a b -- (eq? a b)`
    Eq,
    /// `a d -- (a . d)`
    Cons,
    /// `p -- (car p)`
    Car,
    /// `p -- (cdr p)`
    Cdr,
    /// `v -- (null? v)`
    NullP,
    /// `v -- (pair? v)`
    PairP,
    /// `v -- (not v)`
    Not,
    /// `v -- (zero? v)`
    ZeroP,
    /// `v i -- (vector-ref v i)`
    VectorRef,
    /// `v i x -- unspecified`
    VectorSet,
    /// `a -- a + b` for small constant `b as i32`
    AddImm,
    /// `v --` ; jump to `b` if `v` is not `#f`
    JumpIfTrue,
    /// `a b -- (eqv? a b)`
    Eqv,
    /// `p v -- unspecified` (set-car!)
    SetCar,
    /// `p v -- unspecified` (set-cdr!)
    SetCdr,
    /// `a b --` ; jump to `b` unless `a < b`
    JumpUnlessLt,
    /// `a b --` ; jump to `b` unless `a > b`
    JumpUnlessGt,
    /// `a b --` ; jump to `b` unless `a <= b`
    JumpUnlessLe,
    /// `a b --` ; jump to `b` unless `a >= b`
    JumpUnlessGe,
    /// `a b --` ; jump to `b` unless `a = b`
    JumpUnlessNumEq,
    /// `a b --` ; jump to `b` unless `(eq? a b)`
    JumpUnlessEq,
    /// `v --` ; jump to `b` unless `v` is the empty list
    JumpUnlessNull,
    /// `v --` ; jump to `b` unless `v` is a pair
    JumpUnlessPair,
    /// `--` ; return `slot[a]` to the caller
    ReturnLocal,
    /// `-- slot[a] + b` for small constant `b as i32`
    LocalAddImm,
    /// `-- (car slot[a])`
    CarLocal,
    /// `-- slot[a] slot[b]`
    Local2,
    /// `-- (cdr slot[a])`
    CdrLocal,
    /// `-- v` for an immediate value whose bits are `b`
    Imm,
    /// `x --` ; jump to `b` unless `x < k`, `k` the signed 24-bit operand `a`
    JumpUnlessLtImm,
    /// `x --` ; jump to `b` unless `x > k`
    JumpUnlessGtImm,
    /// `x --` ; jump to `b` unless `x <= k`
    JumpUnlessLeImm,
    /// `x --` ; jump to `b` unless `x >= k`
    JumpUnlessGeImm,
    /// `x --` ; jump to `b` unless `x = k`
    JumpUnlessNumEqImm,
    /// `-- f` where `f` is the running closure (a procedure naming itself)
    SelfRef,
    /// `a_1 .. a_n --` with n = `a`: the running closure calls itself in
    /// tail position: the arguments become its first slots, the other
    /// slots up to `b` are cleared, and it starts again
    TailSelf,
    /// `f a_1 .. a_n -- result`, n = `a`, `f` the running closure: a call of
    /// the global `consts[b & 0xffff]`, which the running closure was
    /// defined as; if the global still holds it, a new frame runs the same
    /// code with `b >> 16` slots, else the global's value is called
    CallSelfGlobal,
    /// `a_1 .. a_n --`: as `TailSelf` while the global `consts[b & 0xffff]`
    /// holds the running closure, else a tail call of the global's value
    TailSelfGlobal,
    /// `-- f slot[a]`, `f` the running closure (`SelfRef` then `Local`)
    SelfLocal,
    /// `-- f slot[a]+b` (`SelfRef` then `LocalAddImm`)
    SelfLocalAddImm,
    /// `-- f (car slot[a])` (`SelfRef` then `CarLocal`)
    SelfCarLocal,
    /// `-- f (cdr slot[a])` (`SelfRef` then `CdrLocal`)
    SelfCdrLocal,
    /// `--` ; jump to `b` unless `slot[a]` is a pair (`Local`, `JumpUnlessPair`)
    JumpUnlessPairLocal,
    /// `--` ; jump to `b` unless `slot[a]` is the empty list
    JumpUnlessNullLocal,
    /// `x -- (x . slot[a])` (`Local` then `Cons`)
    ConsLocal,
    /// `a d --` ; return `(a . d)` (`Cons` then `Return`)
    ConsReturn,
    /// `a b --` ; return `a+b` (`Add` then `Return`)
    AddReturn,
    /// `--` ; return `fixnum(b as i32)` (`Fix` then `Return`)
    ReturnFix,
    /// `--` ; return the immediate value whose bits are `b` (`Imm` then `Return`)
    ReturnImm,
    /// `--` ; jump to `b` unless `slot[s] < k`: `Local` then `JumpUnlessLtImm`,
    /// with slot `s` in bits 0..8 of `a` and `k` (signed 16-bit) in bits 8..24
    JumpUnlessLtImmLocal,
    /// as `JumpUnlessLtImmLocal` for `>`
    JumpUnlessGtImmLocal,
    /// as `JumpUnlessLtImmLocal` for `<=`
    JumpUnlessLeImmLocal,
    /// as `JumpUnlessLtImmLocal` for `>=`
    JumpUnlessGeImmLocal,
    /// as `JumpUnlessLtImmLocal` for `=`
    JumpUnlessNumEqImmLocal,
    /// `--` ; jump to `b` unless `slot[s] < slot[t]`: `Local2` then
    /// `JumpUnlessLt`, with `s` in bits 0..12 of `a` and `t` in bits 12..24
    JumpUnlessLtLocals,
    /// as `JumpUnlessLtLocals` for `>`
    JumpUnlessGtLocals,
    /// as `JumpUnlessLtLocals` for `<=`
    JumpUnlessLeLocals,
    /// as `JumpUnlessLtLocals` for `>=`
    JumpUnlessGeLocals,
    /// as `JumpUnlessLtLocals` for `=`
    JumpUnlessNumEqLocals,
    /// `--` ; jump to `b` if `slot[a]` is `#f` (`Local` then `JumpIfFalse`)
    JumpIfFalseLocal,
    /// `--` ; jump to `b` if `(car slot[a])` is `#f` (`CarLocal` then `JumpIfFalse`)
    JumpIfFalseCarLocal,
    /// `-- result`: `SelfLocal a` then `CallSelfGlobal 1 b`
    CallSelfGlobalLocal,
    /// `-- result`: `SelfLocalAddImm s k` then `CallSelfGlobal 1 b`, with
    /// slot `s` and `k` packed in `a` as for `JumpUnlessLtImmLocal`
    CallSelfGlobalLocalAddImm,
    /// `-- result`: `SelfCarLocal a` then `CallSelfGlobal 1 b`
    CallSelfGlobalCarLocal,
    /// `-- result`: `SelfCdrLocal a` then `CallSelfGlobal 1 b`
    CallSelfGlobalCdrLocal,
    /// `-- slot[a] free[b]` (`Local` then `Free`)
    LocalFree,
    /// `-- slot[a] (car slot[b])` (`Local` then `CarLocal`)
    LocalCarLocal,
    /// `-- x y` for the immediate values whose bits are `a` and `b` (two
    /// `Imm`s; an `Imm`'s bits fit in `a`)
    Imm2,
    /// `--`: begin a `map` loop (the frame layout is in `vm/assembled.rs`):
    /// slots 2 to 5 become `()`, `()`, the continuation-capture count, `()`
    MapStart,
    /// `-- slot[0] (car slot[1])`, or jump to `b` if `slot[1]` is not a pair
    MapNext,
    /// `v --`: add `v` to the results (`a` = 0) or drop it (`a` = 1), step
    /// `slot[1]` to its cdr and jump to `b`
    MapCollect,
    /// `--`: return the results of a `map` loop, in order
    MapResult,
}

/// Number of opcodes.
pub const OP_COUNT: u8 = OPS.len() as u8;

impl Op {
    /// The opcode for byte `b`, if any.
    #[inline(always)]
    pub fn from_u8(b: u8) -> Option<Op> {
        OPS.get(b as usize).copied()
    }
}

/// Encode an instruction.
#[inline(always)]
pub const fn encode(op: Op, a: u32, b: u32) -> u64 {
    (op as u64) | ((a as u64 & 0xff_ffff) << 8) | ((b as u64) << 32)
}

/// Operand `a` of an instruction word.
#[inline(always)]
pub const fn operand_a(w: u64) -> u32 {
    ((w >> 8) & 0xff_ffff) as u32
}

/// Operand `a` read as a signed 24-bit number.
#[inline(always)]
pub const fn operand_a_signed(w: u64) -> i64 {
    ((w as i64) << 32) >> 40
}

/// The slot and the constant of a `JumpUnless*ImmLocal` instruction.
#[inline(always)]
pub const fn slot_and_imm(w: u64) -> (usize, i64) {
    let a = operand_a(w);
    ((a & 0xff) as usize, (a >> 8) as u16 as i16 as i64)
}

/// The two slots of a `JumpUnless*Locals` instruction.
#[inline(always)]
pub const fn two_slots(w: u64) -> (usize, usize) {
    let a = operand_a(w);
    ((a & 0xfff) as usize, (a >> 12) as usize)
}

/// Operand `b` of an instruction word.
#[inline(always)]
pub const fn operand_b(w: u64) -> u32 {
    (w >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_opcode_decodes_to_itself() {
        for b in 0..OP_COUNT {
            assert_eq!(Op::from_u8(b).map(|o| o as u8), Some(b));
        }
        assert_eq!(Op::from_u8(OP_COUNT), None);
    }

    #[test]
    fn signed_operand_a() {
        for k in [0i32, 1, -1, 5, -7, (1 << 23) - 1, -(1 << 23)] {
            let w = encode(Op::JumpUnlessLtImm, k as u32, 9);
            assert_eq!(operand_a_signed(w), k as i64);
            assert_eq!(operand_b(w), 9);
        }
    }

    #[test]
    fn operands_round_trip() {
        let w = encode(Op::Closure, 0xabcdef, 0xdead_beef);
        assert_eq!(w as u8, Op::Closure as u8);
        assert_eq!(operand_a(w), 0xabcdef);
        assert_eq!(operand_b(w), 0xdead_beef);
    }
}
