//! The expander's output: a tree with every variable resolved.

use crate::reader::{Datum, Pos};
use crate::vm::opcode::Op;

/// Index of a variable in `Ast::vars`.
pub type VarId = usize;
/// Index of a lambda in `Ast::lambdas`.
pub type LambdaId = usize;

/// A lexical variable.
#[derive(Debug)]
pub struct Var {
    /// Its name (for messages).
    pub name: String,
    /// The lambda whose frame holds it.
    pub lambda: LambdaId,
    /// Assigned by `set!` (or a `letrec`/internal `define`)?
    pub mutated: bool,
    /// Referenced from an inner lambda?
    pub captured: bool,
    /// Assigned by a `set!` (not only by the definition that binds it)?
    pub set_later: bool,
}

impl Var {
    /// Does it live in a box? Every assigned variable does: closures must
    /// share one cell, and a continuation re-entered after an assignment
    /// must see the new value, not the one its copy of the stack holds.
    pub fn boxed(&self) -> bool {
        self.mutated
    }
}

/// A lambda expression.
#[derive(Debug)]
pub struct Lambda {
    /// Required parameters.
    pub params: Vec<VarId>,
    /// The rest parameter.
    pub rest: Option<VarId>,
    /// The body.
    pub body: Node,
    /// The name it was defined under, for backtraces.
    pub name: Option<String>,
    /// Variables of enclosing lambdas it refers to, in closure slot order.
    pub free: Vec<VarId>,
    /// The `letrec`/internal-define variable bound to this very lambda:
    /// inside its body, while nothing `set!`s it, the variable is the
    /// running closure itself.
    pub self_var: Option<VarId>,
    /// The global a top-level `define` binds to this lambda: inside it, a
    /// call of that global is a call of itself while the global holds it.
    pub self_global: Option<String>,
    /// Where it starts.
    pub pos: Pos,
}

/// An expression.
#[derive(Debug)]
pub enum Node {
    /// A literal.
    Const(Datum),
    /// A lexical variable reference.
    Local(VarId),
    /// A global variable reference.
    Global(String, Pos),
    /// `(set! local e)`.
    SetLocal(VarId, Box<Node>),
    /// `(set! global e)`.
    SetGlobal(String, Box<Node>, Pos),
    /// Top-level `(define name e)`.
    Define(String, Box<Node>),
    /// `(if c t e)`.
    If(Box<Node>, Box<Node>, Box<Node>),
    /// `(begin e ...)` (never empty).
    Seq(Vec<Node>),
    /// A closure.
    Lambda(LambdaId),
    /// A procedure call.
    Call(Box<Node>, Vec<Node>, Pos),
    /// Bind fresh variables to values computed outside their scope, then run the body.
    Let(Vec<VarId>, Vec<Node>, Box<Node>),
    /// Bind fresh variables to "unassigned", then run the body (which assigns them).
    Letrec(Vec<VarId>, Box<Node>),
    /// An inlined primitive.
    Prim(Op, Vec<Node>, Pos),
    /// The unspecified value.
    Unspecified,
}

/// Everything the expander produced for one top-level form.
#[derive(Debug, Default)]
pub struct Ast {
    /// All variables.
    pub vars: Vec<Var>,
    /// All lambdas; lambda 0 is the top-level thunk.
    pub lambdas: Vec<Lambda>,
}
