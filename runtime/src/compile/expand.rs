//! The expander: turns datums into an `Ast`, resolving variables,
//! expanding macros and rewriting derived forms into core forms.
//!
//! Derived forms are rewritten into datums that use `#%`-prefixed names
//! (`#%if`, `#%lambda`, `(#%global apply)`): the reader can never produce
//! a symbol starting with `#`, so these always mean the core form or the
//! global binding, whatever the user has bound locally.

use std::collections::HashMap;
use std::rc::Rc;

use super::alias;
use super::ast::{Ast, Lambda, LambdaId, Node, Var, VarId};
use super::library::{self, Env};
use super::syntax_rules::SyntaxRules;
use crate::obj;
use crate::reader::{Datum, DatumKind, Pos};
use crate::vm::opcode::Op;
use crate::vm::{Exn, Vm, VmResult};

/// Deepest nesting of expressions the expander accepts.
const MAX_DEPTH: usize = 2000;

/// What a name means in a lexical scope.
#[derive(Clone)]
enum Binding {
    Var(VarId),
    Macro(Rc<SyntaxRules>),
}

struct Scope {
    names: Vec<(String, Binding)>,
}

/// The expander's state for one top-level form.
pub struct Expander<'a> {
    pub(crate) vm: &'a mut Vm,
    pub(crate) ast: Ast,
    scopes: Vec<Scope>,
    lambda_stack: Vec<LambdaId>,
    pub(crate) file: Option<String>,
    depth: usize,
    /// For each alias mark made while expanding this form: how many scopes
    /// were visible where the macro that made it was defined.
    pub(crate) marks: HashMap<u64, usize>,
    /// For alias marks made by a global macro: the environment it was
    /// defined in (its library's or the top level's).
    pub(crate) mark_envs: HashMap<u64, Rc<Env>>,
    /// Where free identifiers resolve (`None`: the top level).
    env: Option<Rc<Env>>,
}

// ---- datum construction helpers -------------------------------------------------

pub(crate) fn sym(name: &str) -> Datum {
    Datum::new(DatumKind::Sym(name.to_string()), Pos::default())
}

pub(crate) fn list(items: Vec<Datum>) -> Datum {
    Datum::new(DatumKind::List(items, None), Pos::default())
}

fn list_at(items: Vec<Datum>, pos: Pos) -> Datum {
    Datum::new(DatumKind::List(items, None), pos)
}

fn global(name: &str) -> Datum {
    list(vec![sym("#%global"), sym(name)])
}

fn quote(d: Datum) -> Datum {
    list(vec![sym("quote"), d])
}

fn boolean(b: bool) -> Datum {
    Datum::new(DatumKind::Bool(b), Pos::default())
}

impl<'a> Expander<'a> {
    /// An expander for one top-level form.
    pub fn new(vm: &'a mut Vm, file: Option<String>) -> Self {
        Expander {
            vm,
            ast: Ast::default(),
            scopes: Vec::new(),
            lambda_stack: Vec::new(),
            file,
            depth: 0,
            marks: HashMap::new(),
            mark_envs: HashMap::new(),
            env: None,
        }
    }

    /// Expand in `env` (a library's body, an `environment`) instead of the
    /// top level.
    pub fn with_env(mut self, env: Option<Rc<Env>>) -> Self {
        self.env = env;
        self
    }

    /// The environment free identifiers resolve in here.
    fn current_env(&mut self) -> VmResult<Rc<Env>> {
        match &self.env {
            Some(e) => Ok(e.clone()),
            None => library::top_env(self),
        }
    }

    /// The library whose body is being expanded, if any.
    pub(crate) fn own_library(&self) -> Option<String> {
        self.env.as_ref().and_then(|e| e.own.clone())
    }

    /// The global a free identifier names: an alias made by a global macro
    /// resolves where that macro was defined, anything else here.
    pub(crate) fn global_name(&mut self, name: &str) -> VmResult<String> {
        let mut cur = name;
        let mut env = None;
        while let Some((mark, parent)) = alias::split(cur) {
            if let Some(e) = self.mark_envs.get(&mark) {
                env = Some(e.clone());
            }
            cur = parent;
        }
        let env = match env {
            Some(e) => e,
            None => self.current_env()?,
        };
        Ok(library::resolve_in(self.vm, &env, cur))
    }

    /// The global a top-level definition of `name` binds here.
    fn define_target(&mut self, name: &str, pos: Pos) -> VmResult<String> {
        let env = self.current_env()?;
        library::define_target(self, &env, alias::base(name), pos)
    }

    /// Expand a top-level form into lambda 0, a thunk.
    pub fn toplevel(mut self, d: &Datum) -> VmResult<Ast> {
        self.ast.lambdas.push(Lambda {
            params: Vec::new(),
            rest: None,
            body: Node::Unspecified,
            name: None,
            free: Vec::new(),
            self_var: None,
            self_global: None,
            pos: d.pos,
        });
        self.lambda_stack.push(0);
        let body = self.expand_toplevel(d)?;
        self.ast.lambdas[0].body = body;
        Ok(self.ast)
    }

    pub(crate) fn err(&mut self, pos: Pos, msg: impl std::fmt::Display) -> Exn {
        let loc = match (&self.file, pos.line) {
            (_, 0) => String::new(),
            (Some(f), l) => format!("{f}:{l}:{}: ", pos.col),
            (None, l) => format!("line {l}, column {}: ", pos.col),
        };
        self.vm
            .error_kind("syntax-error", format!("{loc}{msg}"), &[])
    }

    // ---- scopes ----------------------------------------------------------------

    /// What `name` means lexically; `None` if it is free (a global, a
    /// special form or a global macro: see `alias::base`). An alias no
    /// scope binds means what its parent meant where its macro was defined.
    fn lookup(&self, name: &str) -> Option<Binding> {
        self.lookup_within(name, self.scopes.len())
    }

    /// `lookup` seeing only the outermost `limit` scopes.
    fn lookup_within(&self, name: &str, limit: usize) -> Option<Binding> {
        let mut limit = limit.min(self.scopes.len());
        let mut cur = name;
        loop {
            for s in self.scopes[..limit].iter().rev() {
                for (n, b) in s.names.iter().rev() {
                    if n == cur {
                        return Some(b.clone());
                    }
                }
            }
            let (mark, parent) = alias::split(cur)?;
            limit = limit.min(self.marks.get(&mark).copied().unwrap_or(0));
            cur = parent;
        }
    }

    /// Whether `d` is the auxiliary keyword `name` (`else`, `=>`): an
    /// identifier spelled so that no local binding shadows.
    pub(crate) fn is_keyword(&self, d: &Datum, name: &str) -> bool {
        alias::is(d, name) && d.as_sym().is_some_and(|s| self.lookup(s).is_none())
    }

    /// Whether the identifier `input` (at the use site) and `literal` (seen
    /// from a macro defined where `env` scopes were visible) mean the same:
    /// R7RS's rule for matching a `syntax-rules` literal.
    pub(crate) fn same_binding(&self, input: &str, literal: &str, env: usize) -> bool {
        if alias::base(input) != alias::base(literal) {
            return false;
        }
        match (self.lookup(input), self.lookup_within(literal, env)) {
            (None, None) => true,
            (Some(Binding::Var(a)), Some(Binding::Var(b))) => a == b,
            (Some(Binding::Macro(a)), Some(Binding::Macro(b))) => Rc::ptr_eq(&a, &b),
            _ => false,
        }
    }

    /// How many scopes are visible here (a local macro's environment).
    pub(crate) fn scope_depth(&self) -> usize {
        self.scopes.len()
    }

    fn new_var(&mut self, name: &str) -> VarId {
        let lambda = *self.lambda_stack.last().unwrap_or(&0);
        self.ast.vars.push(Var {
            name: alias::base(name).to_string(),
            lambda,
            mutated: false,
            captured: false,
            set_later: false,
        });
        self.ast.vars.len() - 1
    }

    fn bind(&mut self, name: &str, b: Binding) {
        if let Some(s) = self.scopes.last_mut() {
            s.names.push((name.to_string(), b));
        }
    }

    /// A reference to `v` from the current lambda: record captures.
    fn reference(&mut self, v: VarId) -> VarId {
        let owner = self.ast.vars[v].lambda;
        let cur = *self.lambda_stack.last().unwrap_or(&0);
        if owner != cur {
            self.ast.vars[v].captured = true;
            for &l in self.lambda_stack.iter().rev() {
                if l == owner {
                    break;
                }
                if !self.ast.lambdas[l].free.contains(&v) {
                    self.ast.lambdas[l].free.push(v);
                }
            }
        }
        v
    }

    // ---- classification ------------------------------------------------------------

    /// If `d` is `(head ...)` with `head` a special form or macro, what it is.
    fn head_meaning(&mut self, d: &Datum) -> VmResult<Head> {
        let Some(items) = list_items(d) else {
            return Ok(Head::Other);
        };
        let Some(name) = items.first().and_then(|h| h.as_sym()) else {
            return Ok(Head::Other);
        };
        if let Some(core) = name.strip_prefix("#%")
            && (SPECIAL_FORMS.contains(&core) || matches!(core, "global" | "void"))
        {
            return Ok(Head::Special(core.to_string()));
        }
        match self.lookup(name) {
            Some(Binding::Var(_)) => return Ok(Head::Other),
            Some(Binding::Macro(m)) => return Ok(Head::Rules(m)),
            None => {}
        }
        let name = self.global_name(name)?;
        if SPECIAL_FORMS.contains(&name.as_str()) {
            return Ok(Head::Special(name));
        }
        let s = self.vm.intern(&name)?;
        let g = self.vm.global_value(s);
        if self.vm.is(g, obj::MACRO) {
            return Ok(Head::GlobalMacro(name));
        }
        Ok(Head::Other)
    }

    /// Expand one macro use (global or local); `None` if `d` is not one.
    fn expand_macro_once(&mut self, d: &Datum) -> VmResult<Option<Datum>> {
        match self.head_meaning(d)? {
            Head::Rules(m) => m.expand(self, d).map(Some),
            Head::GlobalMacro(name) => super::expand_global_macro(self, &name, d).map(Some),
            _ => Ok(None),
        }
    }

    // ---- expressions -----------------------------------------------------------------

    fn expand_toplevel(&mut self, d: &Datum) -> VmResult<Node> {
        match self.head_meaning(d)? {
            Head::Special(s) if s == "begin" => {
                let items = list_items(d).unwrap_or(&[]);
                if items.len() == 1 {
                    return Ok(Node::Unspecified);
                }
                let mut out = Vec::new();
                for f in &items[1..] {
                    out.push(self.expand_toplevel(f)?);
                }
                Ok(Node::Seq(out))
            }
            Head::Special(s) if s == "define" => {
                let (name, value) = self.parse_define(d)?;
                let name = alias::base(&name).to_string();
                let target = self.define_target(&name, d.pos)?;
                let v = self.expand_named(&value, Some(&name))?;
                if let Node::Lambda(id) = v {
                    self.ast.lambdas[id].self_global = Some(target.clone());
                }
                Ok(Node::Define(target, Box::new(v)))
            }
            Head::Special(s) if s == "define-syntax" => self.toplevel_define_syntax(d),
            Head::Special(s) if s == "define-macro" => self.toplevel_define_macro(d),
            Head::Special(s) if s == "define-record-type" => {
                let r = self.rewrite_record_type(d)?;
                self.expand_toplevel(&r)
            }
            Head::Special(s) if s == "define-values" => {
                let r = self.rewrite_define_values_toplevel(d)?;
                self.expand_toplevel(&r)
            }
            Head::Special(s) if s == "cond-expand" => {
                let items = list_items(d).unwrap_or(&[]);
                let r = super::derived::cond_expand(self, items, d.pos)?;
                self.nested(|x| x.expand_toplevel(&r))
            }
            Head::Special(s) if s == "define-library" => {
                let (env, body, key) = library::define_library(self, d)?;
                let saved = self.env.replace(env);
                let mut out = Vec::new();
                let mut r = Ok(());
                for f in &body {
                    match self.expand_toplevel(f) {
                        Ok(n) => out.push(n),
                        Err(e) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                self.env = saved;
                if let Err(e) = r {
                    library::forget_library(self, &key)?;
                    return Err(e);
                }
                library::finish_library(self, &key)?;
                Ok(Node::Seq(out))
            }
            Head::Special(s) if s == "import" => {
                if self.env.is_some() {
                    return Err(self.err(d.pos, "`import` is only allowed at the top level"));
                }
                let items = list_items(d).unwrap_or(&[]);
                library::import_toplevel(self, &items[1..])?;
                Ok(Node::Unspecified)
            }
            Head::Special(s) if s == "include" || s == "include-ci" => {
                let items = list_items(d).unwrap_or(&[]);
                let mut forms = vec![sym("#%begin")];
                forms.extend(library::include_forms(
                    self,
                    &items[1..],
                    s == "include-ci",
                )?);
                self.nested(|x| x.expand_toplevel(&list(forms)))
            }
            Head::Rules(_) | Head::GlobalMacro(_) => {
                let e = self.expand_macro_once(d)?;
                match e {
                    Some(e) => self.nested(|x| x.expand_toplevel(&e)),
                    None => self.expand(d),
                }
            }
            _ => self.expand(d),
        }
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> VmResult<T>) -> VmResult<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self.err(Pos::default(), "expression nested too deeply"));
        }
        let r = crate::deep(|| f(self));
        self.depth -= 1;
        r
    }

    /// Expand an expression.
    pub fn expand(&mut self, d: &Datum) -> VmResult<Node> {
        self.nested(|x| x.expand_inner(d, None))
    }

    fn expand_named(&mut self, d: &Datum, name: Option<&str>) -> VmResult<Node> {
        self.nested(|x| x.expand_inner(d, name))
    }

    fn expand_inner(&mut self, d: &Datum, name: Option<&str>) -> VmResult<Node> {
        match &d.kind {
            DatumKind::Sym(s) => self.expand_var(s, d.pos),
            DatumKind::List(items, tail) => {
                if items.is_empty() {
                    return Err(self.err(
                        d.pos,
                        "empty combination `()`; quote it to get the empty list",
                    ));
                }
                if tail.is_some() {
                    return Err(self.err(d.pos, "improper list in expression"));
                }
                match self.head_meaning(d)? {
                    Head::Special(s) => self.special(&s, d, items, name),
                    Head::Rules(_) | Head::GlobalMacro(_) => {
                        let e = self.expand_macro_once(d)?;
                        match e {
                            Some(e) => self.expand_named(&e, name),
                            None => self.call(d, items),
                        }
                    }
                    Head::Other => self.call(d, items),
                }
            }
            DatumKind::Vector(_)
            | DatumKind::Num(_)
            | DatumKind::Str(_)
            | DatumKind::Char(_)
            | DatumKind::Bool(_)
            | DatumKind::Bytevector(_)
            | DatumKind::Keyword(_)
            | DatumKind::Opaque(_)
            | DatumKind::Label(..)
            | DatumKind::LabelRef(_) => Ok(Node::Const(d.clone())),
        }
    }

    fn expand_var(&mut self, name: &str, pos: Pos) -> VmResult<Node> {
        match self.lookup(name) {
            Some(Binding::Var(v)) => Ok(Node::Local(self.reference(v))),
            Some(Binding::Macro(_)) => Err(self.err(
                pos,
                format!("syntax keyword `{}` used as a variable", alias::base(name)),
            )),
            None => {
                let name = self.global_name(name)?;
                // The VM's global reference checks only for unbound
                // variables; a global macro is refused here.
                let s = self.vm.intern(&name)?;
                let g = self.vm.global_value(s);
                if self.vm.is(g, obj::MACRO) || SPECIAL_FORMS.contains(&name.as_str()) {
                    let shown = library::display_name(&name);
                    return Err(
                        self.err(pos, format!("syntax keyword `{shown}` used as a variable"))
                    );
                }
                Ok(Node::Global(name, pos))
            }
        }
    }

    fn call(&mut self, d: &Datum, items: &[Datum]) -> VmResult<Node> {
        // Inline a primitive when the name still means the built-in one.
        if let Some(name) = items[0].as_sym()
            && self.lookup(name).is_none()
        {
            let name = self.global_name(name)?;
            let name = name.as_str();
            // (+ a b c ...) and (* a b c ...) fold left into binary operations.
            if matches!(name, "+" | "*")
                && items.len() > 3
                && let Some(op) = self.inline_op(name, 2)?
            {
                let mut acc = self.expand(&items[1])?;
                for a in &items[2..] {
                    let x = self.expand(a)?;
                    acc = Node::Prim(op, vec![acc, x], d.pos);
                }
                return Ok(acc);
            }
            if let Some(op) = self.inline_op(name, items.len() - 1)? {
                let mut args = Vec::new();
                for a in &items[1..] {
                    args.push(self.expand(a)?);
                }
                return Ok(Node::Prim(op, args, d.pos));
            }
        }
        let f = self.expand(&items[0])?;
        let mut args = Vec::new();
        for a in &items[1..] {
            args.push(self.expand(a)?);
        }
        Ok(Node::Call(Box::new(f), args, d.pos))
    }

    fn inline_op(&mut self, name: &str, argc: usize) -> VmResult<Option<Op>> {
        let op = match (name, argc) {
            ("+", 2) => Op::Add,
            ("-", 2) => Op::Sub,
            ("*", 2) => Op::Mul,
            ("<", 2) => Op::Lt,
            (">", 2) => Op::Gt,
            ("<=", 2) => Op::Le,
            (">=", 2) => Op::Ge,
            ("=", 2) => Op::NumEq,
            ("eq?", 2) => Op::Eq,
            ("eqv?", 2) => Op::Eqv,
            ("cons", 2) => Op::Cons,
            ("car", 1) => Op::Car,
            ("cdr", 1) => Op::Cdr,
            ("set-car!", 2) => Op::SetCar,
            ("set-cdr!", 2) => Op::SetCdr,
            ("null?", 1) => Op::NullP,
            ("pair?", 1) => Op::PairP,
            ("not", 1) => Op::Not,
            ("zero?", 1) => Op::ZeroP,
            ("vector-ref", 2) => Op::VectorRef,
            ("vector-set!", 3) => Op::VectorSet,
            _ => return Ok(None),
        };
        // Only while the global still holds the original primitive.
        let s = self.vm.intern(name)?;
        let g = self.vm.global_value(s);
        if self.vm.is(g, obj::PRIMITIVE) && self.vm.procedure_name(g) == name {
            Ok(Some(op))
        } else {
            Ok(None)
        }
    }

    fn body_of(&mut self, forms: &[Datum], pos: Pos) -> VmResult<Node> {
        if forms.is_empty() {
            return Err(self.err(pos, "empty body"));
        }
        self.body(forms)
    }

    fn seq(&mut self, forms: &[Datum]) -> VmResult<Node> {
        let mut out = Vec::new();
        for f in forms {
            out.push(self.expand(f)?);
        }
        Ok(match out.len() {
            0 => Node::Unspecified,
            1 => out.pop().unwrap_or(Node::Unspecified),
            _ => Node::Seq(out),
        })
    }

    /// A body: internal definitions (found by expanding heads) become a
    /// `letrec*`, then the expressions run in order.
    fn body(&mut self, forms: &[Datum]) -> VmResult<Node> {
        enum Item {
            Def(String, Datum),
            Expr(Datum),
        }
        self.scopes.push(Scope { names: Vec::new() });
        let mut items = Vec::new();
        let mut queue: Vec<Datum> = forms.iter().rev().cloned().collect();
        while let Some(f) = queue.pop() {
            match self.head_meaning(&f)? {
                Head::Special(s) if s == "begin" => {
                    let inner = list_items(&f).unwrap_or(&[]);
                    queue.extend(inner[1..].iter().rev().cloned());
                }
                Head::Special(s) if s == "define" => {
                    let (name, value) = self.parse_define(&f)?;
                    items.push(Item::Def(name, value));
                }
                Head::Special(s) if s == "define-record-type" => {
                    let r = self.rewrite_record_type(&f)?;
                    queue.push(r);
                }
                Head::Special(s) if s == "define-values" => {
                    let r = self.rewrite_define_values_internal(&f)?;
                    queue.extend(r.into_iter().rev());
                }
                Head::Special(s) if s == "cond-expand" => {
                    let inner = list_items(&f).unwrap_or(&[]);
                    let r = super::derived::cond_expand(self, inner, f.pos)?;
                    queue.push(r);
                }
                Head::Special(s) if s == "include" || s == "include-ci" => {
                    let inner = list_items(&f).unwrap_or(&[]);
                    let forms = library::include_forms(self, &inner[1..], s == "include-ci")?;
                    queue.extend(forms.into_iter().rev());
                }
                Head::Special(s) if s == "define-syntax" => {
                    let (name, rules) = self.parse_define_syntax(&f)?;
                    self.bind(&name, Binding::Macro(rules));
                }
                Head::Rules(_) | Head::GlobalMacro(_) => match self.expand_macro_once(&f)? {
                    Some(e) => queue.push(e),
                    None => items.push(Item::Expr(f)),
                },
                _ => items.push(Item::Expr(f)),
            }
        }
        let mut vars = Vec::new();
        for it in &items {
            if let Item::Def(name, _) = it {
                let v = self.new_var(name);
                self.ast.vars[v].mutated = true;
                self.bind(name, Binding::Var(v));
                vars.push(v);
            }
        }
        let mut seq = Vec::new();
        let mut vi = 0;
        for it in items {
            match it {
                Item::Def(name, value) => {
                    let node = self.expand_named(&value, Some(&name))?;
                    if let Node::Lambda(id) = node {
                        self.ast.lambdas[id].self_var = Some(vars[vi]);
                    }
                    seq.push(Node::SetLocal(vars[vi], Box::new(node)));
                    vi += 1;
                }
                Item::Expr(e) => seq.push(self.expand(&e)?),
            }
        }
        self.scopes.pop();
        if seq.is_empty() || matches!(seq.last(), Some(Node::SetLocal(..))) {
            seq.push(Node::Unspecified);
        }
        let body = if seq.len() == 1 {
            seq.pop().unwrap_or(Node::Unspecified)
        } else {
            Node::Seq(seq)
        };
        Ok(if vars.is_empty() {
            body
        } else {
            Node::Letrec(vars, Box::new(body))
        })
    }

    /// `(define name e)` / `(define (name . formals) body...)` → (name, value datum).
    fn parse_define(&mut self, d: &Datum) -> VmResult<(String, Datum)> {
        let items = list_items(d).unwrap_or(&[]);
        match items.get(1).map(|t| &t.kind) {
            Some(DatumKind::Sym(name)) => {
                let value = match items.len() {
                    2 => list(vec![sym("#%void")]),
                    3 => items[2].clone(),
                    _ => return Err(self.err(d.pos, "bad `define`: expected (define name expr)")),
                };
                Ok((name.clone(), value))
            }
            Some(DatumKind::List(head, tail)) if !head.is_empty() => {
                // Curried define: (define ((f a) b) ...) nests lambdas.
                let target = &head[0];
                let formals = Datum::new(
                    DatumKind::List(head[1..].to_vec(), tail.clone()),
                    items[1].pos,
                );
                if items.len() < 3 {
                    return Err(self.err(d.pos, "bad `define`: empty body"));
                }
                let mut lam = vec![sym("#%lambda"), formals];
                lam.extend(items[2..].iter().cloned());
                let lam = list_at(lam, d.pos);
                match &target.kind {
                    DatumKind::Sym(name) => Ok((name.clone(), lam)),
                    _ => {
                        let inner = list_at(vec![sym("define"), target.clone(), lam], d.pos);
                        let (name, v) = self.parse_define(&inner)?;
                        Ok((name, v))
                    }
                }
            }
            _ => Err(self.err(d.pos, "bad `define`: expected a name or (name formals...)")),
        }
    }

    fn special(
        &mut self,
        s: &str,
        d: &Datum,
        items: &[Datum],
        name: Option<&str>,
    ) -> VmResult<Node> {
        let pos = d.pos;
        let argc = items.len() - 1;
        match s {
            "quote" => {
                if argc != 1 {
                    return Err(self.err(pos, "bad `quote`: expected one datum"));
                }
                Ok(Node::Const(alias::strip(&items[1])))
            }
            "global" => match items.get(1).and_then(|x| x.as_sym()) {
                // imp's own names (`%make-record`) are the internal
                // table's: the `#%` prefix, which no user name can have,
                // tells code generation so.
                Some(n) if n.starts_with('%') => Ok(Node::Global(format!("#%{n}"), pos)),
                Some(n) => Ok(Node::Global(n.to_string(), pos)),
                None => Err(self.err(pos, "bad #%global")),
            },
            "void" => Ok(Node::Unspecified),
            "if" => {
                if !(2..=3).contains(&argc) {
                    return Err(self.err(pos, "bad `if`: expected (if test then [else])"));
                }
                let c = self.expand(&items[1])?;
                let t = self.expand(&items[2])?;
                let e = match items.get(3) {
                    Some(x) => self.expand(x)?,
                    None => Node::Unspecified,
                };
                Ok(Node::If(Box::new(c), Box::new(t), Box::new(e)))
            }
            "define" => Err(self.err(
                pos,
                "`define` is only allowed at the top level or at the start of a body",
            )),
            "define-syntax" | "define-macro" | "define-record-type" | "define-values" => Err(self
                .err(
                    pos,
                    format!("`{s}` is only allowed at the top level or in a body"),
                )),
            "set!" => {
                let Some(target) = items.get(1).and_then(|x| x.as_sym()).map(str::to_string) else {
                    return Err(self.err(pos, "bad `set!`: expected (set! name expr)"));
                };
                if argc != 2 {
                    return Err(self.err(pos, "bad `set!`: expected (set! name expr)"));
                }
                let v = self.expand(&items[2])?;
                match self.lookup(&target) {
                    Some(Binding::Var(var)) => {
                        let var = self.reference(var);
                        self.ast.vars[var].mutated = true;
                        self.ast.vars[var].set_later = true;
                        Ok(Node::SetLocal(var, Box::new(v)))
                    }
                    Some(Binding::Macro(_)) => Err(self.err(
                        pos,
                        format!("cannot `set!` syntax keyword `{}`", alias::base(&target)),
                    )),
                    None => {
                        let g = self.global_name(&target)?;
                        Ok(Node::SetGlobal(g, Box::new(v), pos))
                    }
                }
            }
            "begin" => {
                if argc == 0 {
                    return Ok(Node::Unspecified);
                }
                self.seq(&items[1..])
            }
            "lambda" => {
                if argc < 2 {
                    return Err(self.err(pos, "bad `lambda`: expected (lambda formals body...)"));
                }
                self.lambda(&items[1], &items[2..], name, pos)
            }
            "named-lambda" => {
                let Some(DatumKind::List(h, t)) = items.get(1).map(|x| &x.kind) else {
                    return Err(self.err(pos, "bad `named-lambda`"));
                };
                let Some(n) = h.first().and_then(|x| x.as_sym()).map(str::to_string) else {
                    return Err(self.err(pos, "bad `named-lambda`"));
                };
                let formals = Datum::new(DatumKind::List(h[1..].to_vec(), t.clone()), pos);
                self.lambda(&formals, &items[2..], Some(&n), pos)
            }
            "let" => self.let_form(d, items, name),
            "let*" => {
                let (bindings, body) = self.let_parts(d, items, "let*")?;
                if bindings.len() <= 1 {
                    let mut f = vec![sym("#%let"), list(bindings)];
                    f.extend(body.iter().cloned());
                    return self.expand_named(&list_at(f, pos), name);
                }
                let mut inner = vec![sym("let*"), list(bindings[1..].to_vec())];
                inner.extend(body.iter().cloned());
                let inner = list_at(vec![sym("#%let*"), list(bindings[1..].to_vec())], pos);
                let mut inner_items = list_items(&inner).unwrap_or(&[]).to_vec();
                inner_items.extend(body.iter().cloned());
                let outer = list_at(
                    vec![
                        sym("#%let"),
                        list(vec![bindings[0].clone()]),
                        list_at(inner_items, pos),
                    ],
                    pos,
                );
                self.expand_named(&outer, name)
            }
            "letrec" | "letrec*" => {
                let (bindings, body) = self.let_parts(d, items, s)?;
                // As an internal-define body: (let () (define v e) ... body)
                let mut forms = Vec::new();
                for b in &bindings {
                    let bi = list_items(b).unwrap_or(&[]);
                    forms.push(list_at(
                        vec![sym("#%define"), bi[0].clone(), bi[1].clone()],
                        b.pos,
                    ));
                }
                forms.extend(body.iter().cloned());
                self.body_of(&forms, pos)
            }
            "and" => {
                if argc == 0 {
                    return Ok(Node::Const(boolean(true)));
                }
                if argc == 1 {
                    return self.expand(&items[1]);
                }
                let rest = {
                    let mut r = vec![sym("#%and")];
                    r.extend(items[2..].iter().cloned());
                    list_at(r, pos)
                };
                let c = self.expand(&items[1])?;
                let r = self.expand(&rest)?;
                Ok(Node::If(
                    Box::new(c),
                    Box::new(r),
                    Box::new(Node::Const(boolean(false))),
                ))
            }
            "or" => {
                if argc == 0 {
                    return Ok(Node::Const(boolean(false)));
                }
                if argc == 1 {
                    return self.expand(&items[1]);
                }
                let mut r = vec![sym("#%or")];
                r.extend(items[2..].iter().cloned());
                let f = list_at(
                    vec![
                        sym("#%let"),
                        list(vec![list(vec![sym("#%or-tmp"), items[1].clone()])]),
                        list(vec![
                            sym("#%if"),
                            sym("#%or-tmp"),
                            sym("#%or-tmp"),
                            list_at(r, pos),
                        ]),
                    ],
                    pos,
                );
                self.expand(&f)
            }
            "when" | "unless" => {
                if argc < 1 {
                    return Err(self.err(pos, format!("bad `{s}`: expected ({s} test body...)")));
                }
                let mut b = vec![sym("#%begin")];
                b.extend(items[2..].iter().cloned());
                let test = if s == "when" {
                    items[1].clone()
                } else {
                    list(vec![global("not"), items[1].clone()])
                };
                let f = list_at(vec![sym("#%if"), test, list_at(b, pos)], pos);
                self.expand(&f)
            }
            "cond" => {
                let f = super::derived::cond(self, items, pos)?;
                self.expand(&f)
            }
            "case" => {
                let f = super::derived::case(self, items, pos)?;
                self.expand(&f)
            }
            "do" => {
                let f = super::derived::do_loop(self, items, pos)?;
                self.expand(&f)
            }
            "quasiquote" => {
                if argc != 1 {
                    return Err(self.err(pos, "bad `quasiquote`"));
                }
                let f = super::derived::quasi(self, &items[1], 1)?;
                self.expand(&f)
            }
            "unquote" | "unquote-splicing" => {
                Err(self.err(pos, format!("`{s}` outside of quasiquote")))
            }
            "case-lambda" => {
                let f = super::derived::case_lambda(self, items, pos)?;
                self.expand_named(&f, name)
            }
            "let-syntax" | "letrec-syntax" => {
                let Some(bindings) = items.get(1).and_then(|b| list_items(b)) else {
                    return Err(self.err(pos, format!("bad `{s}`")));
                };
                self.scopes.push(Scope { names: Vec::new() });
                for b in bindings {
                    let bi = list_items(b).unwrap_or(&[]);
                    let (Some(n), Some(spec)) = (bi.first().and_then(|x| x.as_sym()), bi.get(1))
                    else {
                        self.scopes.pop();
                        return Err(self.err(b.pos, format!("bad `{s}` binding")));
                    };
                    let n = n.to_string();
                    let mut rules = match SyntaxRules::parse(self, spec) {
                        Ok(r) => r,
                        Err(e) => {
                            self.scopes.pop();
                            return Err(e);
                        }
                    };
                    if s == "let-syntax" {
                        // Its transformers do not see the keywords it binds.
                        rules.env -= 1;
                    }
                    self.bind(&n, Binding::Macro(Rc::new(rules)));
                }
                let r = self.body_of(&items[2..], pos);
                self.scopes.pop();
                r
            }
            "syntax-rules" => Err(self.err(pos, "`syntax-rules` outside of a macro definition")),
            "syntax-error" => {
                let msg = match items.get(1).map(|x| &x.kind) {
                    Some(DatumKind::Str(m)) => m.clone(),
                    _ => "syntax error".to_string(),
                };
                let irritants: Vec<String> = items
                    .iter()
                    .skip(2)
                    .map(|d| crate::reader::write_datum(&alias::strip(d)))
                    .collect();
                Err(self.err(pos, format!("{msg} {}", irritants.join(" "))))
            }
            "guard" => {
                let f = super::derived::guard(self, items, pos)?;
                self.expand(&f)
            }
            "delay" | "delay-force" | "make-promise-lazy" => {
                if argc != 1 {
                    return Err(self.err(pos, format!("bad `{s}`")));
                }
                // (delay e) = (make-promise #f (lambda () e)); delay-force the same
                // with the promise chain handled by `force`.
                let lazy = s != "delay";
                let f = list_at(
                    vec![
                        global("%make-promise"),
                        boolean(false),
                        list(vec![
                            sym("#%lambda"),
                            list(vec![]),
                            if lazy {
                                items[1].clone()
                            } else {
                                list(vec![
                                    global("%make-promise"),
                                    boolean(true),
                                    items[1].clone(),
                                ])
                            },
                        ]),
                    ],
                    pos,
                );
                self.expand(&f)
            }
            "parameterize" => {
                let f = super::derived::parameterize(self, items, pos)?;
                self.expand(&f)
            }
            "let-values" | "let*-values" => {
                let f = super::derived::let_values(self, items, pos, s == "let*-values")?;
                self.expand(&f)
            }
            "receive" => {
                if argc < 3 {
                    return Err(self.err(
                        pos,
                        "bad `receive`: expected (receive formals expr body...)",
                    ));
                }
                let mut lam = vec![sym("#%lambda"), items[1].clone()];
                lam.extend(items[3..].iter().cloned());
                let f = list_at(
                    vec![
                        global("call-with-values"),
                        list(vec![sym("#%lambda"), list(vec![]), items[2].clone()]),
                        list(lam),
                    ],
                    pos,
                );
                self.expand(&f)
            }
            "assert" => {
                if argc != 1 {
                    return Err(self.err(pos, "bad `assert`: expected (assert expr)"));
                }
                let text = crate::reader::write_datum(&items[1]);
                let f = list_at(
                    vec![
                        sym("#%if"),
                        items[1].clone(),
                        list(vec![sym("#%void")]),
                        list(vec![
                            global("error"),
                            Datum::new(DatumKind::Str("assertion failed".into()), pos),
                            quote(Datum::new(DatumKind::Sym(text), pos)),
                        ]),
                    ],
                    pos,
                );
                self.expand(&f)
            }
            "cond-expand" => {
                let f = super::derived::cond_expand(self, items, pos)?;
                self.expand(&f)
            }
            "include" | "include-ci" => {
                let mut forms = vec![sym("#%begin")];
                forms.extend(library::include_forms(
                    self,
                    &items[1..],
                    s == "include-ci",
                )?);
                self.expand(&list(forms))
            }
            "define-library" | "import" => {
                Err(self.err(pos, format!("`{s}` is only allowed at the top level")))
            }
            _ => Err(self.err(pos, format!("unknown special form `{s}`"))),
        }
    }

    fn let_parts<'d>(
        &mut self,
        d: &'d Datum,
        items: &'d [Datum],
        what: &str,
    ) -> VmResult<(Vec<Datum>, &'d [Datum])> {
        if items.len() < 3 {
            return Err(self.err(
                d.pos,
                format!("bad `{what}`: expected ({what} (bindings...) body...)"),
            ));
        }
        let Some(bindings) = list_items(&items[1]) else {
            return Err(self.err(
                items[1].pos,
                format!("bad `{what}`: bindings must be a list"),
            ));
        };
        for b in bindings {
            match list_items(b) {
                Some([n, _]) if n.as_sym().is_some() => {}
                _ => {
                    return Err(
                        self.err(b.pos, format!("bad `{what}` binding: expected (name expr)"))
                    );
                }
            }
        }
        Ok((bindings.to_vec(), &items[2..]))
    }

    fn let_form(&mut self, d: &Datum, items: &[Datum], name: Option<&str>) -> VmResult<Node> {
        let pos = d.pos;
        if let Some(loop_name) = items.get(1).and_then(|x| x.as_sym()) {
            // Named let: ((letrec ((name (lambda vars body))) name) inits...)
            if items.len() < 4 {
                return Err(self.err(pos, "bad named `let`"));
            }
            let Some(bindings) = list_items(&items[2]) else {
                return Err(self.err(pos, "bad named `let`: bindings must be a list"));
            };
            let mut vars = Vec::new();
            let mut inits = Vec::new();
            for b in bindings {
                match list_items(b) {
                    Some([n, e]) if n.as_sym().is_some() => {
                        vars.push(n.clone());
                        inits.push(e.clone());
                    }
                    _ => return Err(self.err(b.pos, "bad named `let` binding")),
                }
            }
            let mut lam = vec![sym("#%lambda"), list(vars)];
            lam.extend(items[3..].iter().cloned());
            let lname = sym(loop_name);
            let mut call = vec![list(vec![
                sym("#%letrec"),
                list(vec![list(vec![lname.clone(), list_at(lam, pos)])]),
                lname,
            ])];
            call.extend(inits);
            return self.expand(&list_at(call, pos));
        }
        let (bindings, body) = self.let_parts(d, items, "let")?;
        let _ = name;
        let mut inits = Vec::new();
        for b in &bindings {
            let bi = list_items(b).unwrap_or(&[]);
            inits.push(self.expand_named(&bi[1], bi[0].as_sym())?);
        }
        self.scopes.push(Scope { names: Vec::new() });
        let mut vars = Vec::new();
        for b in &bindings {
            let n = list_items(b)
                .and_then(|bi| bi[0].as_sym())
                .unwrap_or("")
                .to_string();
            let v = self.new_var(&n);
            self.bind(&n, Binding::Var(v));
            vars.push(v);
        }
        let body = self.body_of(body, pos);
        self.scopes.pop();
        Ok(Node::Let(vars, inits, Box::new(body?)))
    }

    fn lambda(
        &mut self,
        formals: &Datum,
        body: &[Datum],
        name: Option<&str>,
        pos: Pos,
    ) -> VmResult<Node> {
        let (names, rest) = match &formals.kind {
            DatumKind::Sym(r) => (Vec::new(), Some(r.clone())),
            DatumKind::List(items, tail) => {
                let mut names = Vec::new();
                for i in items {
                    match i.as_sym() {
                        Some(n) => names.push(n.to_string()),
                        None => {
                            return Err(
                                self.err(i.pos, "bad `lambda`: parameters must be identifiers")
                            );
                        }
                    }
                }
                let rest = match tail {
                    None => None,
                    Some(t) => match t.as_sym() {
                        Some(r) => Some(r.to_string()),
                        None => {
                            return Err(self
                                .err(t.pos, "bad `lambda`: rest parameter must be an identifier"));
                        }
                    },
                };
                (names, rest)
            }
            _ => return Err(self.err(formals.pos, "bad `lambda`: expected a parameter list")),
        };
        let id = self.ast.lambdas.len();
        self.ast.lambdas.push(Lambda {
            params: Vec::new(),
            rest: None,
            body: Node::Unspecified,
            name: name.map(|n| alias::base(n).to_string()),
            free: Vec::new(),
            self_var: None,
            self_global: None,
            pos,
        });
        self.lambda_stack.push(id);
        self.scopes.push(Scope { names: Vec::new() });
        let mut params = Vec::new();
        for n in &names {
            let v = self.new_var(n);
            self.bind(n, Binding::Var(v));
            params.push(v);
        }
        let rest = rest.map(|r| {
            let v = self.new_var(&r);
            self.bind(&r, Binding::Var(v));
            v
        });
        let b = self.body_of(body, pos);
        self.scopes.pop();
        self.lambda_stack.pop();
        let b = b?;
        let l = &mut self.ast.lambdas[id];
        l.params = params;
        l.rest = rest;
        l.body = b;
        // Free variables of the inner lambda that belong to lambdas outside
        // this one are free here too.
        let inner_free = self.ast.lambdas[id].free.clone();
        let cur = *self.lambda_stack.last().unwrap_or(&0);
        for v in inner_free {
            if self.ast.vars[v].lambda != cur {
                self.reference(v);
            }
        }
        Ok(Node::Lambda(id))
    }

    // ---- macros -------------------------------------------------------------------

    fn parse_define_syntax(&mut self, d: &Datum) -> VmResult<(String, Rc<SyntaxRules>)> {
        let items = list_items(d).unwrap_or(&[]);
        let (Some(name), Some(spec), 3) = (
            items.get(1).and_then(|x| x.as_sym()),
            items.get(2),
            items.len(),
        ) else {
            return Err(self.err(
                d.pos,
                "bad `define-syntax`: expected (define-syntax name (syntax-rules ...))",
            ));
        };
        let name = name.to_string();
        let rules = SyntaxRules::parse(self, spec)?;
        Ok((name, Rc::new(rules)))
    }

    fn toplevel_define_syntax(&mut self, d: &Datum) -> VmResult<Node> {
        let (name, _) = self.parse_define_syntax(d)?;
        let spec = list_items(d).unwrap_or(&[])[2].clone();
        let target = self.define_target(&name, d.pos)?;
        super::define_global_macro(self, &target, 0, &spec)?;
        Ok(Node::Unspecified)
    }

    fn toplevel_define_macro(&mut self, d: &Datum) -> VmResult<Node> {
        // (define-macro (name . args) body...) or (define-macro name transformer)
        let items = list_items(d).unwrap_or(&[]);
        let (name, value) = self.parse_define(&list_at(
            std::iter::once(sym("#%define"))
                .chain(items[1..].iter().cloned())
                .collect(),
            d.pos,
        ))?;
        // Compile the transformer now and store it as a procedure macro.
        let target = self.define_target(&name, d.pos)?;
        super::define_procedure_macro(self, &target, &value)?;
        Ok(Node::Unspecified)
    }

    fn rewrite_record_type(&mut self, d: &Datum) -> VmResult<Datum> {
        super::derived::record_type(self, d)
    }

    fn rewrite_define_values_toplevel(&mut self, d: &Datum) -> VmResult<Datum> {
        super::derived::define_values(self, d)
    }

    fn rewrite_define_values_internal(&mut self, d: &Datum) -> VmResult<Vec<Datum>> {
        let r = super::derived::define_values(self, d)?;
        Ok(list_items(&r).map(|i| i[1..].to_vec()).unwrap_or_default())
    }
}

enum Head {
    Special(String),
    Rules(Rc<SyntaxRules>),
    GlobalMacro(String),
    Other,
}

/// Names of the core and derived special forms.
const SPECIAL_FORMS: &[&str] = &[
    "quote",
    "quasiquote",
    "unquote",
    "unquote-splicing",
    "lambda",
    "named-lambda",
    "define",
    "set!",
    "if",
    "begin",
    "let",
    "let*",
    "letrec",
    "letrec*",
    "cond",
    "case",
    "and",
    "or",
    "when",
    "unless",
    "do",
    "case-lambda",
    "define-syntax",
    "let-syntax",
    "letrec-syntax",
    "syntax-rules",
    "syntax-error",
    "define-macro",
    "define-record-type",
    "guard",
    "delay",
    "delay-force",
    "parameterize",
    "let-values",
    "let*-values",
    "define-values",
    "receive",
    "assert",
    "cond-expand",
    "define-library",
    "import",
    "include",
    "include-ci",
];

/// Is `name` a special form keyword?
pub fn is_special_form(name: &str) -> bool {
    SPECIAL_FORMS.contains(&name)
}

/// The items of a proper list datum.
pub(crate) fn list_items(d: &Datum) -> Option<&[Datum]> {
    match &d.kind {
        DatumKind::List(items, None) => Some(items),
        _ => None,
    }
}
