//! Code generation: `Ast` → `CODE` objects.
//!
//! Each lambda becomes one `CODE` object; nested lambdas are constants of
//! the enclosing one. Constants are kept in heap handles while they are
//! gathered, since building later ones may collect.

use std::collections::HashMap;

use imp_gc::Value;

use super::ast::{Ast, LambdaId, Node, VarId};
use crate::obj::{self, code};
use crate::vm::opcode::{Op, encode, operand_a, operand_b};
use crate::vm::{Vm, VmResult};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Value,
    Tail,
    Effect,
}

struct Gen<'a> {
    vm: &'a mut Vm,
    ast: &'a Ast,
    file: Option<&'a str>,
    /// Frame slot of each variable (valid while its lambda is generated).
    slots: Vec<u32>,
}

struct Fun {
    id: LambdaId,
    code: Vec<u64>,
    lines: Vec<u32>,
    /// Root-stack indices of the constants.
    consts: Vec<usize>,
    globals: HashMap<String, u32>,
    next_slot: u32,
    max_slot: u32,
    line: u32,
    /// The latest position a jump targets: the instruction emitted there
    /// must not be fused into the one before it.
    label: usize,
    /// `TailSelf` instructions, whose operand b (the slot count) is known
    /// only at the end.
    tail_selfs: Vec<usize>,
    /// `CallSelfGlobal`/`TailSelfGlobal` instructions, whose operand b
    /// takes the slot count in its high 16 bits at the end.
    self_globals: Vec<usize>,
}

/// Generate the code of lambda 0 of `ast`.
pub fn generate(vm: &mut Vm, ast: &Ast, file: Option<&str>) -> VmResult<Value> {
    let mut g = Gen {
        vm,
        ast,
        file,
        slots: vec![0; ast.vars.len()],
    };
    g.lambda(0)
}

/// What a `CODE` object is made of.
struct CodeParts<'a> {
    code: &'a [u64],
    /// The source line of each instruction (0: none).
    lines: &'a [u32],
    /// Root-stack indices of the constants.
    consts: &'a [usize],
    name: Option<&'a str>,
    nreq: i64,
    rest: bool,
    nslots: i64,
    file: Option<&'a str>,
}

fn build_code(vm: &mut Vm, p: &CodeParts) -> VmResult<Value> {
    let base = vm.stack.len();
    // Bytecode.
    let bc = vm.alloc(obj::BYTECODE, 1 + p.code.len())?;
    vm.heap.set_raw(bc, 0, p.code.len() as u64);
    for (i, w) in p.code.iter().enumerate() {
        vm.heap.set_raw(bc, 1 + i, *w);
    }
    vm.stack.push(bc);
    // Constants.
    let cbase = vm.stack.len();
    for &h in p.consts {
        let v = vm.heap.handle(imp_gc::Handle::from_index(h));
        vm.stack.push(v);
    }
    let consts = vm.vector_from_stack(cbase)?;
    vm.stack.push(consts);
    let name = match p.name {
        Some(n) => vm.intern(n)?,
        None => Value::FALSE,
    };
    vm.stack.push(name);
    let rest = if p.rest { -1 } else { 0 };
    vm.stack.push(Value::fix(p.nreq));
    vm.stack.push(Value::fix(rest));
    vm.stack.push(Value::fix(p.nslots));
    let lines = vm.alloc(obj::LINES, 1 + p.lines.len().div_ceil(2))?;
    vm.heap.set_raw(lines, 0, p.lines.len() as u64);
    for (i, pair) in p.lines.chunks(2).enumerate() {
        let w = pair[0] as u64 | (pair.get(1).copied().unwrap_or(0) as u64) << 32;
        vm.heap.set_raw(lines, 1 + i, w);
    }
    vm.stack.push(lines);
    let file = match p.file {
        Some(f) => vm.string(f)?,
        None => Value::FALSE,
    };
    vm.stack.push(file);
    vm.stack
        .push(Value::fix(code::entry(p.nreq, rest, p.nslots)));
    debug_assert_eq!(vm.stack.len() - base, code::SIZE);
    vm.object_from_stack(obj::CODE, base)
}

/// A `CODE` object for bytecode written by hand (`vm/assembled.rs`): no
/// constants, no rest list, no source lines.
pub fn assemble(vm: &mut Vm, name: &str, nreq: i64, nslots: i64, code: &[u64]) -> VmResult<Value> {
    let lines = vec![0; code.len()];
    let parts = CodeParts {
        code,
        lines: &lines,
        consts: &[],
        name: Some(name),
        nreq,
        rest: false,
        nslots,
        file: None,
    };
    build_code(vm, &parts)
}

impl Gen<'_> {
    fn lambda(&mut self, id: LambdaId) -> VmResult<Value> {
        let l = &self.ast.lambdas[id];
        let mark = self.vm.heap.root_mark();
        let mut f = Fun {
            id,
            code: Vec::new(),
            lines: Vec::new(),
            consts: Vec::new(),
            globals: HashMap::new(),
            next_slot: 0,
            max_slot: 0,
            label: 0,
            line: l.pos.line,
            tail_selfs: Vec::new(),
            self_globals: Vec::new(),
        };
        for &p in l.params.iter().chain(l.rest.iter()) {
            self.slots[p] = f.next_slot;
            f.next_slot += 1;
        }
        f.max_slot = f.next_slot;
        for &p in l.params.iter().chain(l.rest.iter()) {
            if self.ast.vars[p].boxed() {
                self.emit(&mut f, Op::BoxLocal, self.slots[p], 0);
            }
        }
        let r = self.node(&mut f, &l.body, Ctx::Tail);
        for &at in &f.tail_selfs {
            f.code[at] = (f.code[at] & 0xffff_ffff) | (u64::from(f.max_slot) << 32);
        }
        let r = r.and_then(|_| {
            if !f.self_globals.is_empty() && f.max_slot > 0xffff {
                return Err(self
                    .vm
                    .error("procedure too large: more than 65,535 local variables", &[]));
            }
            for &at in &f.self_globals {
                f.code[at] |= u64::from(f.max_slot) << 48;
            }
            Ok(())
        });
        let code = r.and_then(|_| self.finish(&f));
        self.vm.heap.truncate_roots(mark);
        code
    }

    fn finish(&mut self, f: &Fun) -> VmResult<Value> {
        let l = &self.ast.lambdas[f.id];
        let parts = CodeParts {
            code: &f.code,
            lines: &f.lines,
            consts: &f.consts,
            name: l.name.as_deref(),
            nreq: l.params.len() as i64,
            rest: l.rest.is_some(),
            nslots: f.max_slot as i64,
            file: self.file,
        };
        build_code(self.vm, &parts)
    }

    /// Append an instruction, or fuse it with the one before when no jump
    /// lands between them (see `fused`). Returns where it went, for
    /// `patch`.
    fn emit(&mut self, f: &mut Fun, op: Op, a: u32, b: u32) -> usize {
        if f.label != f.code.len()
            && let Some(last) = f.code.last_mut()
            && let Some(w) = fused(*last, op, a, b)
        {
            *last = w;
            return f.code.len() - 1;
        }
        f.code.push(encode(op, a, b));
        f.lines.push(f.line);
        f.code.len() - 1
    }

    /// The current position, as the target of a jump.
    fn label(f: &mut Fun) -> usize {
        f.label = f.code.len();
        f.label
    }

    fn patch(f: &mut Fun, at: usize, target: usize) {
        let w = f.code[at];
        f.code[at] = (w & 0xffff_ffff) | ((target as u64) << 32);
    }

    fn add_const(&mut self, f: &mut Fun, v: Value) -> u32 {
        let h = self.vm.heap.push_root(v);
        let _ = h;
        f.consts.push(self.vm.heap.root_mark() - 1);
        (f.consts.len() - 1) as u32
    }

    fn global_const(&mut self, f: &mut Fun, name: &str) -> VmResult<u32> {
        if let Some(&k) = f.globals.get(name) {
            return Ok(k);
        }
        let s = match name.strip_prefix("#%") {
            Some(internal) => self.vm.intern_internal(internal)?,
            None => self.vm.intern(name)?,
        };
        let k = self.add_const(f, s);
        f.globals.insert(name.to_string(), k);
        Ok(k)
    }

    fn push_value(&mut self, f: &mut Fun, v: Value) {
        match v.as_fixnum() {
            Some(n) if i32::try_from(n).is_ok() => {
                self.emit(f, Op::Fix, 0, n as i32 as u32);
            }
            None if !v.is_ref() && v.bits() >> 32 == 0 => {
                self.emit(f, Op::Imm, 0, v.bits() as u32);
            }
            _ => {
                let k = self.add_const(f, v);
                self.emit(f, Op::Const, k, 0);
            }
        }
    }

    /// After a value-producing instruction: return it or drop it as `ctx` says.
    fn finish_ctx(&mut self, f: &mut Fun, ctx: Ctx) {
        match ctx {
            Ctx::Value => {}
            Ctx::Tail => {
                self.emit(f, Op::Return, 0, 0);
            }
            Ctx::Effect => {
                self.emit(f, Op::Pop, 0, 0);
            }
        }
    }

    /// Is `v`, inside the lambda being compiled, that lambda's own closure?
    fn is_self(&self, f: &Fun, v: VarId) -> bool {
        self.ast.lambdas[f.id].self_var == Some(v) && !self.ast.vars[v].set_later
    }

    fn var_access(&self, f: &Fun, v: VarId) -> (bool, u32) {
        if self.ast.vars[v].lambda == f.id {
            (true, self.slots[v])
        } else {
            let i = self.ast.lambdas[f.id]
                .free
                .iter()
                .position(|&x| x == v)
                .unwrap_or(0);
            (false, i as u32)
        }
    }

    fn node(&mut self, f: &mut Fun, n: &Node, ctx: Ctx) -> VmResult<()> {
        crate::deep(|| self.node_at(f, n, ctx))
    }

    fn node_at(&mut self, f: &mut Fun, n: &Node, ctx: Ctx) -> VmResult<()> {
        match n {
            Node::Const(d) => {
                if ctx == Ctx::Effect {
                    return Ok(());
                }
                let v = super::datum_to_value(self.vm, d)?;
                self.push_value(f, v);
                self.finish_ctx(f, ctx);
            }
            Node::Unspecified => {
                if ctx == Ctx::Effect {
                    return Ok(());
                }
                self.push_value(f, Value::UNSPECIFIED);
                self.finish_ctx(f, ctx);
            }
            Node::Local(v) => {
                if ctx == Ctx::Effect {
                    return Ok(());
                }
                if self.is_self(f, *v) {
                    self.emit(f, Op::SelfRef, 0, 0);
                    self.finish_ctx(f, ctx);
                    return Ok(());
                }
                let boxed = self.ast.vars[*v].boxed();
                let (local, i) = self.var_access(f, *v);
                let op = match (local, boxed) {
                    (true, false) => Op::Local,
                    (true, true) => Op::LocalBox,
                    (false, false) => Op::Free,
                    (false, true) => Op::FreeBox,
                };
                if op == Op::Local && ctx == Ctx::Tail {
                    self.emit(f, Op::ReturnLocal, i, 0);
                    return Ok(());
                }
                self.emit(f, op, i, 0);
                self.finish_ctx(f, ctx);
            }
            Node::Global(name, pos) => {
                if pos.line != 0 {
                    f.line = pos.line;
                }
                let k = self.global_const(f, name)?;
                self.emit(f, Op::Global, k, 0);
                self.finish_ctx(f, ctx);
            }
            Node::SetLocal(v, e) => {
                self.node(f, e, Ctx::Value)?;
                let boxed = self.ast.vars[*v].boxed();
                let (local, i) = self.var_access(f, *v);
                let op = match (local, boxed) {
                    (true, false) => Op::SetLocal,
                    (true, true) => Op::SetLocalBox,
                    (false, _) => Op::SetFreeBox,
                };
                self.emit(f, op, i, 0);
                self.unspecified_result(f, ctx);
            }
            Node::SetGlobal(name, e, pos) => {
                self.node(f, e, Ctx::Value)?;
                if pos.line != 0 {
                    f.line = pos.line;
                }
                let k = self.global_const(f, name)?;
                self.emit(f, Op::SetGlobal, k, 0);
                self.unspecified_result(f, ctx);
            }
            Node::Define(name, e) => {
                self.node(f, e, Ctx::Value)?;
                let k = self.global_const(f, name)?;
                self.emit(f, Op::DefGlobal, k, 0);
                self.finish_ctx(f, ctx);
            }
            Node::If(c, t, e) => {
                let jump_op = match &**c {
                    Node::Prim(Op::Not, args, _) if args.len() == 1 => {
                        self.node(f, &args[0], Ctx::Value)?;
                        Op::JumpIfTrue
                    }
                    Node::Prim(op, args, pos)
                        if fused_jump_imm(*op).is_some()
                            && args.len() == 2
                            && small_fixnum(&args[1], 1 << 23).is_some() =>
                    {
                        self.node(f, &args[0], Ctx::Value)?;
                        if pos.line != 0 {
                            f.line = pos.line;
                        }
                        let k = small_fixnum(&args[1], 1 << 23).unwrap_or(0);
                        let j1 = self.emit(
                            f,
                            fused_jump_imm(*op).unwrap_or(Op::JumpIfFalse),
                            k as i32 as u32,
                            0,
                        );
                        return self.if_branches(f, j1, t, e, ctx);
                    }
                    Node::Prim(op, args, pos) if fused_jump(*op, args.len()).is_some() => {
                        for a in args {
                            self.node(f, a, Ctx::Value)?;
                        }
                        if pos.line != 0 {
                            f.line = pos.line;
                        }
                        fused_jump(*op, args.len()).unwrap_or(Op::JumpIfFalse)
                    }
                    _ => {
                        self.node(f, c, Ctx::Value)?;
                        Op::JumpIfFalse
                    }
                };
                let j1 = self.emit(f, jump_op, 0, 0);
                self.if_branches(f, j1, t, e, ctx)?;
            }
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let c = if i + 1 == items.len() {
                        ctx
                    } else {
                        Ctx::Effect
                    };
                    self.node(f, item, c)?;
                }
            }
            Node::Lambda(id) => {
                if ctx == Ctx::Effect {
                    return Ok(());
                }
                let code = self.lambda(*id)?;
                let k = self.add_const(f, code);
                let free = self.ast.lambdas[*id].free.clone();
                for v in &free {
                    let (local, i) = self.var_access(f, *v);
                    self.emit(f, if local { Op::Local } else { Op::Free }, i, 0);
                }
                self.emit(f, Op::Closure, k, free.len() as u32);
                self.finish_ctx(f, ctx);
            }
            Node::Call(fun, args, pos) => {
                let l = &self.ast.lambdas[f.id];
                if let Node::Local(v) = &**fun
                    && ctx == Ctx::Tail
                    && self.is_self(f, *v)
                    && l.rest.is_none()
                    && l.params.len() == args.len()
                {
                    // A loop: the closure calls itself in tail position.
                    for a in args {
                        self.node(f, a, Ctx::Value)?;
                    }
                    if pos.line != 0 {
                        f.line = pos.line;
                    }
                    let at = self.emit(f, Op::TailSelf, args.len() as u32, 0);
                    f.tail_selfs.push(at);
                    return Ok(());
                }
                if let Node::Global(name, _) = &**fun
                    && l.self_global.as_deref() == Some(name.as_str())
                    && l.rest.is_none()
                    && l.params.len() == args.len()
                {
                    let k = self.global_const(f, name)?;
                    if k <= 0xffff {
                        // The procedure calls the global it was defined
                        // as: itself, while nothing redefines it.
                        let tail = ctx == Ctx::Tail;
                        if !tail {
                            self.emit(f, Op::SelfRef, 0, 0);
                        }
                        for a in args {
                            self.node(f, a, Ctx::Value)?;
                        }
                        if pos.line != 0 {
                            f.line = pos.line;
                        }
                        let op = if tail {
                            Op::TailSelfGlobal
                        } else {
                            Op::CallSelfGlobal
                        };
                        let at = self.emit(f, op, args.len() as u32, k);
                        f.self_globals.push(at);
                        if ctx == Ctx::Effect {
                            self.emit(f, Op::Pop, 0, 0);
                        }
                        return Ok(());
                    }
                }
                self.node(f, fun, Ctx::Value)?;
                for a in args {
                    self.node(f, a, Ctx::Value)?;
                }
                if pos.line != 0 {
                    f.line = pos.line;
                }
                if ctx == Ctx::Tail {
                    self.emit(f, Op::TailCall, args.len() as u32, 0);
                } else {
                    self.emit(f, Op::Call, args.len() as u32, 0);
                    if ctx == Ctx::Effect {
                        self.emit(f, Op::Pop, 0, 0);
                    }
                }
            }
            Node::Let(vars, inits, body) => {
                let saved = f.next_slot;
                for &v in vars {
                    self.slots[v] = f.next_slot;
                    f.next_slot += 1;
                }
                f.max_slot = f.max_slot.max(f.next_slot);
                for (&v, init) in vars.iter().zip(inits) {
                    self.node(f, init, Ctx::Value)?;
                    if self.ast.vars[v].boxed() {
                        self.emit(f, Op::MakeBox, 0, 0);
                    }
                    self.emit(f, Op::SetLocal, self.slots[v], 0);
                }
                self.node(f, body, ctx)?;
                f.next_slot = saved;
            }
            Node::Letrec(vars, body) => {
                let saved = f.next_slot;
                for &v in vars {
                    self.slots[v] = f.next_slot;
                    f.next_slot += 1;
                }
                f.max_slot = f.max_slot.max(f.next_slot);
                for &v in vars {
                    self.push_value(f, Value::UNDEFINED);
                    if self.ast.vars[v].boxed() {
                        self.emit(f, Op::MakeBox, 0, 0);
                    }
                    self.emit(f, Op::SetLocal, self.slots[v], 0);
                }
                self.node(f, body, ctx)?;
                f.next_slot = saved;
            }
            Node::Prim(op, args, pos) => {
                // x + k, x - k and k + x with a small constant k.
                let imm = match (op, args.as_slice()) {
                    (Op::Add, [a, k]) | (Op::Add, [k, a]) if small_fixnum(k, 1 << 30).is_some() => {
                        small_fixnum(k, 1 << 30).map(|k| (a, k))
                    }
                    (Op::Sub, [a, k]) => small_fixnum(k, 1 << 30).map(|k| (a, -k)),
                    _ => None,
                };
                if let Some((a, k)) = imm {
                    if let Some(slot) = self.plain_local(f, a) {
                        self.emit(f, Op::LocalAddImm, slot, k as i32 as u32);
                    } else {
                        self.node(f, a, Ctx::Value)?;
                        self.emit(f, Op::AddImm, 0, k as i32 as u32);
                    }
                    self.finish_ctx(f, ctx);
                    return Ok(());
                }
                if let (Op::Car | Op::Cdr, [a]) = (op, args.as_slice())
                    && let Some(slot) = self.plain_local(f, a)
                {
                    if pos.line != 0 {
                        f.line = pos.line;
                    }
                    let op = if *op == Op::Car {
                        Op::CarLocal
                    } else {
                        Op::CdrLocal
                    };
                    self.emit(f, op, slot, 0);
                    self.finish_ctx(f, ctx);
                    return Ok(());
                }
                for a in args {
                    self.node(f, a, Ctx::Value)?;
                }
                if pos.line != 0 {
                    f.line = pos.line;
                }
                self.emit(f, *op, 0, 0);
                self.finish_ctx(f, ctx);
            }
        }
        Ok(())
    }

    /// The two arms of an `if` whose conditional jump is at `j1`.
    fn if_branches(
        &mut self,
        f: &mut Fun,
        j1: usize,
        t: &Node,
        e: &Node,
        ctx: Ctx,
    ) -> VmResult<()> {
        self.node(f, t, ctx)?;
        if ctx == Ctx::Tail {
            let l1 = Self::label(f);
            Self::patch(f, j1, l1);
            self.node(f, e, ctx)?;
        } else {
            let j2 = self.emit(f, Op::Jump, 0, 0);
            let l1 = Self::label(f);
            Self::patch(f, j1, l1);
            self.node(f, e, ctx)?;
            let l2 = Self::label(f);
            Self::patch(f, j2, l2);
        }
        Ok(())
    }

    /// The slot of `n` if it is an unboxed local of the function being compiled.
    fn plain_local(&self, f: &Fun, n: &Node) -> Option<u32> {
        match n {
            Node::Local(v) if !self.ast.vars[*v].boxed() => match self.var_access(f, *v) {
                (true, i) => Some(i),
                (false, _) => None,
            },
            _ => None,
        }
    }

    fn unspecified_result(&mut self, f: &mut Fun, ctx: Ctx) {
        if ctx != Ctx::Effect {
            self.push_value(f, Value::UNSPECIFIED);
            self.finish_ctx(f, ctx);
        }
    }
}

/// The compare-and-branch instruction for `(if (OP args...) ...)`, if any.
fn fused_jump(op: Op, argc: usize) -> Option<Op> {
    Some(match (op, argc) {
        (Op::Lt, 2) => Op::JumpUnlessLt,
        (Op::Gt, 2) => Op::JumpUnlessGt,
        (Op::Le, 2) => Op::JumpUnlessLe,
        (Op::Ge, 2) => Op::JumpUnlessGe,
        (Op::NumEq, 2) => Op::JumpUnlessNumEq,
        (Op::Eq, 2) => Op::JumpUnlessEq,
        (Op::NullP, 1) => Op::JumpUnlessNull,
        (Op::PairP, 1) => Op::JumpUnlessPair,
        _ => return None,
    })
}

/// The compare-with-constant-and-branch instruction for `(if (OP x k) ...)`.
fn fused_jump_imm(op: Op) -> Option<Op> {
    Some(match op {
        Op::Lt => Op::JumpUnlessLtImm,
        Op::Gt => Op::JumpUnlessGtImm,
        Op::Le => Op::JumpUnlessLeImm,
        Op::Ge => Op::JumpUnlessGeImm,
        Op::NumEq => Op::JumpUnlessNumEqImm,
        _ => return None,
    })
}

/// `n` as a fixnum constant of magnitude below `bound`.
fn small_fixnum(n: &Node, bound: i64) -> Option<i64> {
    match n {
        Node::Const(d) => match d.kind {
            crate::reader::DatumKind::Num(crate::reader::Number::Fixnum(k)) if k.abs() < bound => {
                Some(k)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The one instruction doing what `last` then `op a b` do, for the pairs
/// that are common in loops and recursions (fewer dispatches).
fn fused(last: u64, op: Op, a: u32, b: u32) -> Option<u64> {
    let (la, lb) = (operand_a(last), operand_b(last));
    let w = match (Op::from_u8(last as u8)?, op) {
        (Op::Local, Op::Local) => encode(Op::Local2, la, a),
        (Op::SelfRef, Op::Local) => encode(Op::SelfLocal, a, 0),
        (Op::SelfRef, Op::LocalAddImm) => encode(Op::SelfLocalAddImm, a, b),
        (Op::SelfRef, Op::CarLocal) => encode(Op::SelfCarLocal, a, 0),
        (Op::SelfRef, Op::CdrLocal) => encode(Op::SelfCdrLocal, a, 0),
        (Op::Local, Op::JumpUnlessPair) => encode(Op::JumpUnlessPairLocal, la, b),
        (Op::Local, Op::JumpUnlessNull) => encode(Op::JumpUnlessNullLocal, la, b),
        (Op::Local, Op::JumpIfFalse) => encode(Op::JumpIfFalseLocal, la, b),
        (Op::CarLocal, Op::JumpIfFalse) => encode(Op::JumpIfFalseCarLocal, la, b),
        // A self call with one argument: `b` (the global and, patched in
        // later, the slot count) is the same in the fused instruction.
        (Op::SelfLocal, Op::CallSelfGlobal) if a == 1 => encode(Op::CallSelfGlobalLocal, la, b),
        (Op::SelfCarLocal, Op::CallSelfGlobal) if a == 1 => {
            encode(Op::CallSelfGlobalCarLocal, la, b)
        }
        (Op::SelfCdrLocal, Op::CallSelfGlobal) if a == 1 => {
            encode(Op::CallSelfGlobalCdrLocal, la, b)
        }
        (Op::SelfLocalAddImm, Op::CallSelfGlobal) if a == 1 && la < 0x100 => {
            let k = i16::try_from(lb as i32).ok()?;
            encode(
                Op::CallSelfGlobalLocalAddImm,
                la | (u32::from(k as u16) << 8),
                b,
            )
        }
        (Op::Local, Op::Free) => encode(Op::LocalFree, la, a),
        (Op::Local, Op::CarLocal) => encode(Op::LocalCarLocal, la, a),
        (Op::Imm, Op::Imm) if lb < 1 << 24 => encode(Op::Imm2, lb, b),
        (Op::Local, Op::Cons) => encode(Op::ConsLocal, la, 0),
        (Op::Cons, Op::Return) => encode(Op::ConsReturn, 0, 0),
        (Op::Add, Op::Return) => encode(Op::AddReturn, 0, 0),
        (Op::Fix, Op::Return) => encode(Op::ReturnFix, 0, lb),
        (Op::Imm, Op::Return) => encode(Op::ReturnImm, 0, lb),
        (Op::Local2, _) if la < 0x1000 && lb < 0x1000 => {
            let fused = match op {
                Op::JumpUnlessLt => Op::JumpUnlessLtLocals,
                Op::JumpUnlessGt => Op::JumpUnlessGtLocals,
                Op::JumpUnlessLe => Op::JumpUnlessLeLocals,
                Op::JumpUnlessGe => Op::JumpUnlessGeLocals,
                Op::JumpUnlessNumEq => Op::JumpUnlessNumEqLocals,
                _ => return None,
            };
            encode(fused, la | (lb << 12), b)
        }
        (Op::Local, _) if la < 0x100 => {
            // Operand a of a compare-with-constant is a signed 24-bit number.
            let k = i16::try_from((a << 8) as i32 >> 8).ok()?;
            let fused = match op {
                Op::JumpUnlessLtImm => Op::JumpUnlessLtImmLocal,
                Op::JumpUnlessGtImm => Op::JumpUnlessGtImmLocal,
                Op::JumpUnlessLeImm => Op::JumpUnlessLeImmLocal,
                Op::JumpUnlessGeImm => Op::JumpUnlessGeImmLocal,
                Op::JumpUnlessNumEqImm => Op::JumpUnlessNumEqImmLocal,
                _ => return None,
            };
            encode(fused, la | (u32::from(k as u16) << 8), b)
        }
        _ => return None,
    };
    Some(w)
}
