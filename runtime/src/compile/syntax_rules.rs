//! `syntax-rules`: pattern matching and template expansion on datums.
//!
//! Supports literals, `_`, nested ellipses, ellipsis followed by more
//! patterns, improper and vector patterns, a custom ellipsis identifier and
//! `(... ...)` escapes. Hygienic by renaming: each expansion renames the
//! identifiers its template introduces with a fresh mark (`alias`), and the
//! expander resolves a renamed identifier in the macro's definition scope.

use std::cell::Cell;
use std::collections::HashMap;

use super::alias;
use super::expand::{Expander, list_items};
use crate::reader::{Datum, DatumKind};
use crate::vm::VmResult;

/// A parsed `syntax-rules` transformer.
#[derive(Debug)]
pub struct SyntaxRules {
    ellipsis: String,
    literals: Vec<String>,
    rules: Vec<(Datum, Datum)>,
    /// How many of the expander's scopes were visible where the macro was
    /// defined (0 for a global macro).
    pub(crate) env: usize,
    /// Inside a `(... template)` escape: the ellipsis is an identifier.
    escaped: Cell<bool>,
    /// A global macro's environment (its library's, or the top level's):
    /// where the free identifiers of its expansions are resolved.
    pub(crate) lib_env: Option<std::rc::Rc<super::library::Env>>,
}

#[derive(Clone, Debug)]
enum Match {
    One(Datum),
    Seq(Vec<Match>),
}

type Bindings = HashMap<String, Match>;

impl SyntaxRules {
    /// Parse `(syntax-rules (literal...) (pattern template)...)`, also with
    /// a custom ellipsis: `(syntax-rules ellipsis (literal...) rules...)`.
    pub fn parse(x: &mut Expander, spec: &Datum) -> VmResult<SyntaxRules> {
        let Some(items) = list_items(spec) else {
            return Err(x.err(spec.pos, "expected (syntax-rules (literals...) rules...)"));
        };
        if items
            .first()
            .and_then(|h| h.as_sym())
            .map(|s| alias::base(s).trim_start_matches("#%"))
            != Some("syntax-rules")
        {
            return Err(x.err(
                spec.pos,
                "only `syntax-rules` transformers are supported here",
            ));
        }
        let (ellipsis, lit_at) = match items.get(1).and_then(|d| d.as_sym()) {
            Some(e) => (e.to_string(), 2),
            None => ("...".to_string(), 1),
        };
        let Some(lits) = items.get(lit_at).and_then(list_items) else {
            return Err(x.err(spec.pos, "bad `syntax-rules`: expected a list of literals"));
        };
        let mut literals = Vec::new();
        for l in lits {
            match l.as_sym() {
                Some(s) => literals.push(s.to_string()),
                None => return Err(x.err(l.pos, "bad `syntax-rules` literal")),
            }
        }
        let mut rules = Vec::new();
        for r in &items[lit_at + 1..] {
            match list_items(r) {
                Some([p, t]) => rules.push((p.clone(), t.clone())),
                _ => {
                    return Err(x.err(
                        r.pos,
                        "bad `syntax-rules` rule: expected (pattern template)",
                    ));
                }
            }
        }
        Ok(SyntaxRules {
            ellipsis,
            literals,
            rules,
            env: x.scope_depth(),
            escaped: Cell::new(false),
            lib_env: None,
        })
    }

    /// Expand a use of the macro.
    pub fn expand(&self, x: &mut Expander, form: &Datum) -> VmResult<Datum> {
        for (pat, tmpl) in &self.rules {
            // The macro keyword position is ignored.
            let (pat_rest, form_rest) = match (&pat.kind, &form.kind) {
                (DatumKind::List(p, pt), DatumKind::List(f, ft))
                    if !p.is_empty() && !f.is_empty() =>
                {
                    (
                        Datum::new(DatumKind::List(p[1..].to_vec(), pt.clone()), pat.pos),
                        Datum::new(DatumKind::List(f[1..].to_vec(), ft.clone()), form.pos),
                    )
                }
                _ => continue,
            };
            let mut b = Bindings::new();
            if self.matches(x, &pat_rest, &form_rest, &mut b) {
                let mark = alias::fresh_mark();
                x.marks.insert(mark, self.env);
                if let Some(e) = &self.lib_env {
                    x.mark_envs.insert(mark, e.clone());
                }
                return match self.instantiate(tmpl, &b, mark) {
                    Some(mut d) => {
                        set_pos(&mut d, form.pos);
                        Ok(d)
                    }
                    None => Err(x.err(
                        form.pos,
                        "bad `syntax-rules` template (ellipsis depth mismatch)",
                    )),
                };
            }
        }
        let text = crate::reader::write_datum(form);
        Err(x.err(
            form.pos,
            format!("no `syntax-rules` pattern matches {text}"),
        ))
    }

    fn is_ellipsis(&self, d: &Datum) -> bool {
        !self.escaped.get()
            && d.as_sym().map(alias::base) == Some(alias::base(&self.ellipsis))
            && !self.literals.contains(&self.ellipsis)
    }

    fn matches(&self, x: &Expander, p: &Datum, f: &Datum, b: &mut Bindings) -> bool {
        crate::deep(|| self.matches_at(x, p, f, b))
    }

    fn matches_at(&self, x: &Expander, p: &Datum, f: &Datum, b: &mut Bindings) -> bool {
        match &p.kind {
            DatumKind::Sym(s) => {
                if self.literals.contains(s) {
                    f.as_sym().is_some_and(|i| x.same_binding(i, s, self.env))
                } else if alias::base(s) == "_" {
                    true
                } else {
                    b.insert(s.clone(), Match::One(f.clone()));
                    true
                }
            }
            DatumKind::List(pitems, ptail) => {
                let (fitems, ftail): (&[Datum], Option<&Datum>) = match &f.kind {
                    DatumKind::List(i, t) => (i, t.as_deref()),
                    _ => (&[], Some(f)),
                };
                self.match_seq(x, pitems, ptail.as_deref(), fitems, ftail, b)
            }
            DatumKind::Vector(pitems) => match &f.kind {
                DatumKind::Vector(fitems) => self.match_seq(x, pitems, None, fitems, None, b),
                _ => false,
            },
            _ => datum_eq(p, f),
        }
    }

    fn match_seq(
        &self,
        x: &Expander,
        pitems: &[Datum],
        ptail: Option<&Datum>,
        fitems: &[Datum],
        ftail: Option<&Datum>,
        b: &mut Bindings,
    ) -> bool {
        let ell = pitems.iter().position(|d| self.is_ellipsis(d));
        match ell {
            Some(e) if e > 0 => {
                let before = &pitems[..e - 1];
                let rep = &pitems[e - 1];
                let after = &pitems[e + 1..];
                if fitems.len() < before.len() + after.len() {
                    return false;
                }
                for (p, f) in before.iter().zip(fitems) {
                    if !self.matches(x, p, f, b) {
                        return false;
                    }
                }
                let n = fitems.len() - before.len() - after.len();
                let mut seqs: Vec<Bindings> = Vec::new();
                for f in &fitems[before.len()..before.len() + n] {
                    let mut inner = Bindings::new();
                    if !self.matches(x, rep, f, &mut inner) {
                        return false;
                    }
                    seqs.push(inner);
                }
                for v in pattern_vars(rep, self) {
                    let items = seqs
                        .iter()
                        .map(|s| s.get(&v).cloned().unwrap_or(Match::Seq(vec![])))
                        .collect();
                    b.insert(v, Match::Seq(items));
                }
                for (p, f) in after.iter().zip(&fitems[before.len() + n..]) {
                    if !self.matches(x, p, f, b) {
                        return false;
                    }
                }
                match (ptail, ftail) {
                    (None, None) => true,
                    (Some(pt), None) => self.matches(
                        x,
                        pt,
                        &Datum::new(DatumKind::List(vec![], None), Default::default()),
                        b,
                    ),
                    (Some(pt), Some(ft)) => self.matches(x, pt, ft, b),
                    (None, Some(_)) => false,
                }
            }
            _ => {
                if ptail.is_none() && fitems.len() != pitems.len() {
                    return false;
                }
                if fitems.len() < pitems.len() {
                    return false;
                }
                for (p, f) in pitems.iter().zip(fitems) {
                    if !self.matches(x, p, f, b) {
                        return false;
                    }
                }
                match ptail {
                    None => ftail.is_none(),
                    Some(pt) => {
                        let rest = &fitems[pitems.len()..];
                        let rest = if rest.is_empty() {
                            match ftail {
                                Some(t) => t.clone(),
                                None => {
                                    Datum::new(DatumKind::List(vec![], None), Default::default())
                                }
                            }
                        } else {
                            Datum::new(
                                DatumKind::List(rest.to_vec(), ftail.map(|t| Box::new(t.clone()))),
                                Default::default(),
                            )
                        };
                        self.matches(x, pt, &rest, b)
                    }
                }
            }
        }
    }

    fn instantiate(&self, t: &Datum, b: &Bindings, mark: u64) -> Option<Datum> {
        crate::deep(|| self.instantiate_at(t, b, mark))
    }

    fn instantiate_at(&self, t: &Datum, b: &Bindings, mark: u64) -> Option<Datum> {
        match &t.kind {
            DatumKind::Sym(s) => Some(match b.get(s) {
                Some(Match::One(d)) => d.clone(),
                Some(Match::Seq(_)) => return None,
                None if s.starts_with("#%") => t.clone(),
                None => Datum::new(DatumKind::Sym(alias::make(mark, s)), t.pos),
            }),
            DatumKind::List(items, tail) => {
                // (... template): ellipses in the template are identifiers.
                if items.len() == 2 && self.is_ellipsis(&items[0]) && tail.is_none() {
                    self.escaped.set(true);
                    let r = self.instantiate(&items[1], b, mark);
                    self.escaped.set(false);
                    return r;
                }
                let out = self.instantiate_seq(items, b, mark)?;
                let tail = match tail {
                    Some(tl) => Some(Box::new(self.instantiate(tl, b, mark)?)),
                    None => None,
                };
                Some(normalize_list(out, tail, t.pos))
            }
            DatumKind::Vector(items) => Some(Datum::new(
                DatumKind::Vector(self.instantiate_seq(items, b, mark)?),
                t.pos,
            )),
            _ => Some(t.clone()),
        }
    }

    fn instantiate_seq(&self, items: &[Datum], b: &Bindings, mark: u64) -> Option<Vec<Datum>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < items.len() {
            let item = &items[i];
            let mut depth = 0;
            while i + 1 + depth < items.len() && self.is_ellipsis(&items[i + 1 + depth]) {
                depth += 1;
            }
            if depth == 0 {
                out.push(self.instantiate(item, b, mark)?);
            } else {
                out.extend(self.expand_ellipsis(item, b, depth, mark)?);
            }
            i += 1 + depth;
        }
        Some(out)
    }

    fn expand_ellipsis(
        &self,
        t: &Datum,
        b: &Bindings,
        depth: usize,
        mark: u64,
    ) -> Option<Vec<Datum>> {
        let vars: Vec<String> = template_vars(t)
            .into_iter()
            .filter(|v| matches!(b.get(v), Some(Match::Seq(_))))
            .collect();
        if vars.is_empty() {
            return None;
        }
        let len = vars
            .iter()
            .filter_map(|v| match b.get(v) {
                Some(Match::Seq(s)) => Some(s.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let mut out = Vec::new();
        for k in 0..len {
            let mut inner = b.clone();
            for v in &vars {
                if let Some(Match::Seq(s)) = b.get(v) {
                    match s.get(k) {
                        Some(m) => {
                            inner.insert(v.clone(), m.clone());
                        }
                        None => return None,
                    }
                }
            }
            if depth > 1 {
                out.extend(self.expand_ellipsis(t, &inner, depth - 1, mark)?);
            } else {
                out.push(self.instantiate(t, &inner, mark)?);
            }
        }
        Some(out)
    }
}

/// `(a b . (c d))` → `(a b c d)`, so expanded code is a proper list when it can be.
fn normalize_list(
    mut items: Vec<Datum>,
    tail: Option<Box<Datum>>,
    pos: crate::reader::Pos,
) -> Datum {
    match tail {
        None => Datum::new(DatumKind::List(items, None), pos),
        Some(t) if matches!(t.kind, DatumKind::List(..)) => match t.into_kind() {
            DatumKind::List(more, t2) => {
                items.extend(more);
                Datum::new(DatumKind::List(items, t2), pos)
            }
            k => Datum::new(k, pos),
        },
        Some(t) if items.is_empty() => *t,
        Some(t) => Datum::new(DatumKind::List(items, Some(t)), pos),
    }
}

fn pattern_vars(p: &Datum, sr: &SyntaxRules) -> Vec<String> {
    let mut out = Vec::new();
    let mut work = vec![p];
    while let Some(d) = work.pop() {
        match &d.kind {
            DatumKind::Sym(s)
                if (alias::base(s) != "_" && *s != sr.ellipsis) && !sr.literals.contains(s) =>
            {
                out.push(s.clone())
            }
            DatumKind::List(items, tail) => {
                work.extend(items.iter());
                if let Some(t) = tail {
                    work.push(t);
                }
            }
            DatumKind::Vector(items) => work.extend(items.iter()),
            _ => {}
        }
    }
    out
}

fn template_vars(t: &Datum) -> Vec<String> {
    let mut out = Vec::new();
    let mut work = vec![t];
    while let Some(d) = work.pop() {
        match &d.kind {
            DatumKind::Sym(s) => out.push(s.clone()),
            DatumKind::List(items, tail) => {
                work.extend(items.iter());
                if let Some(t) = tail {
                    work.push(t);
                }
            }
            DatumKind::Vector(items) => work.extend(items.iter()),
            _ => {}
        }
    }
    out
}

fn datum_eq(a: &Datum, b: &Datum) -> bool {
    a.kind == b.kind
}

/// Give positionless datums produced by a template the use site's position.
fn set_pos(d: &mut Datum, pos: crate::reader::Pos) {
    let mut work = vec![d];
    while let Some(d) = work.pop() {
        if d.pos.line == 0 {
            d.pos = pos;
        }
        match &mut d.kind {
            DatumKind::List(items, tail) => {
                if let Some(t) = tail {
                    work.push(t);
                }
                work.extend(items.iter_mut());
            }
            DatumKind::Vector(items) => work.extend(items.iter_mut()),
            _ => {}
        }
    }
}
