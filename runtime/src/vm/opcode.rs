//! The bytecode.
//!
//! One instruction is one 64-bit word: opcode in bits 0..8, operand `a` in
//! bits 8..32, operand `b` in bits 32..64. The VM is a stack machine: a
//! frame's slots (parameters, then `let`-bound locals) sit above the
//! procedure at `fp`, and temporaries are pushed above the slots.
//!
//! Stack effects are written `before -- after`.

/// Operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// `-- consts[a]`
    Const = 0,
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
    /// `v --` ; assign existing global consts[a] (error if unbound)
    SetGlobal,
    /// `v -- unspecified` ; define global consts[a]
    DefGlobal,
    /// `v --`
    Pop,
    /// jump to instruction `b`
    Jump,
    /// `v --` ; jump to `b` if `v` is `#f`
    JumpIfFalse,
    /// `free_0 .. free_{b-1} -- closure` over code consts[a]
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
}

/// Number of opcodes.
pub const OP_COUNT: u8 = Op::SetCdr as u8 + 1;

impl Op {
    /// The opcode for byte `b`, if any.
    #[inline(always)]
    pub fn from_u8(b: u8) -> Option<Op> {
        if b < OP_COUNT {
            // SAFETY-free: a table lookup keeps this safe code.
            Some(OPS[b as usize])
        } else {
            None
        }
    }
}

const OPS: [Op; OP_COUNT as usize] = [
    Op::Const,
    Op::Fix,
    Op::Local,
    Op::SetLocal,
    Op::LocalBox,
    Op::SetLocalBox,
    Op::BoxLocal,
    Op::MakeBox,
    Op::Free,
    Op::FreeBox,
    Op::SetFreeBox,
    Op::Global,
    Op::SetGlobal,
    Op::DefGlobal,
    Op::Pop,
    Op::Jump,
    Op::JumpIfFalse,
    Op::Closure,
    Op::Call,
    Op::TailCall,
    Op::Return,
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Lt,
    Op::Gt,
    Op::Le,
    Op::Ge,
    Op::NumEq,
    Op::Eq,
    Op::Cons,
    Op::Car,
    Op::Cdr,
    Op::NullP,
    Op::PairP,
    Op::Not,
    Op::ZeroP,
    Op::VectorRef,
    Op::VectorSet,
    Op::AddImm,
    Op::JumpIfTrue,
    Op::Eqv,
    Op::SetCar,
    Op::SetCdr,
];

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
    fn operands_round_trip() {
        let w = encode(Op::Closure, 0xabcdef, 0xdead_beef);
        assert_eq!(w as u8, Op::Closure as u8);
        assert_eq!(operand_a(w), 0xabcdef);
        assert_eq!(operand_b(w), 0xdead_beef);
    }
}
