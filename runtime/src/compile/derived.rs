//! Derived forms, rewritten into simpler datums (R7RS 7.3).

use super::expand::{Expander, list, list_items, sym};
use crate::reader::{Datum, DatumKind, Pos};
use crate::vm::VmResult;

fn list_at(items: Vec<Datum>, pos: Pos) -> Datum {
    Datum::new(DatumKind::List(items, None), pos)
}

fn global(name: &str) -> Datum {
    list(vec![sym("#%global"), sym(name)])
}

fn quote(d: Datum) -> Datum {
    list(vec![sym("#%quote"), d])
}

fn boolean(b: bool) -> Datum {
    Datum::new(DatumKind::Bool(b), Pos::default())
}

fn string(s: &str) -> Datum {
    Datum::new(DatumKind::Str(s.to_string()), Pos::default())
}

fn begin(forms: &[Datum]) -> Datum {
    let mut b = vec![sym("#%begin")];
    b.extend(forms.iter().cloned());
    list(b)
}

fn lambda(formals: Datum, body: Vec<Datum>) -> Datum {
    let mut l = vec![sym("#%lambda"), formals];
    l.extend(body);
    list(l)
}

fn is_sym(d: &Datum, name: &str) -> bool {
    super::alias::is(d, name)
}

/// `cond`.
pub fn cond(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    let mut result = list(vec![sym("#%void")]);
    for clause in items[1..].iter().rev() {
        let Some(c) = list_items(clause).filter(|c| !c.is_empty()) else {
            return Err(x.err(clause.pos, "bad `cond` clause: expected (test body...)"));
        };
        if x.is_keyword(&c[0], "else") {
            if c.len() < 2 {
                return Err(x.err(clause.pos, "bad `cond`: empty `else` clause"));
            }
            result = begin(&c[1..]);
        } else if c.len() == 3 && x.is_keyword(&c[1], "=>") {
            result = list_at(
                vec![
                    sym("#%let"),
                    list(vec![list(vec![sym("#%cond-tmp"), c[0].clone()])]),
                    list(vec![
                        sym("#%if"),
                        sym("#%cond-tmp"),
                        list(vec![c[2].clone(), sym("#%cond-tmp")]),
                        result,
                    ]),
                ],
                clause.pos,
            );
        } else if c.len() == 1 {
            result = list_at(vec![sym("#%or"), c[0].clone(), result], clause.pos);
        } else {
            result = list_at(
                vec![sym("#%if"), c[0].clone(), begin(&c[1..]), result],
                clause.pos,
            );
        }
    }
    let _ = pos;
    Ok(result)
}

/// `case`.
pub fn case(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    if items.len() < 2 {
        return Err(x.err(pos, "bad `case`: expected (case key clause...)"));
    }
    let key = sym("#%case-key");
    let mut result = list(vec![sym("#%void")]);
    for clause in items[2..].iter().rev() {
        let Some(c) = list_items(clause).filter(|c| c.len() >= 2) else {
            return Err(x.err(
                clause.pos,
                "bad `case` clause: expected ((datum...) body...)",
            ));
        };
        let body = if c.len() == 3 && x.is_keyword(&c[1], "=>") {
            list(vec![c[2].clone(), key.clone()])
        } else {
            begin(&c[1..])
        };
        if x.is_keyword(&c[0], "else") {
            result = body;
        } else {
            let Some(data) = list_items(&c[0]) else {
                return Err(x.err(clause.pos, "bad `case` clause: expected a list of data"));
            };
            let test = list(vec![
                global("memv"),
                key.clone(),
                quote(list(data.to_vec())),
            ]);
            result = list_at(vec![sym("#%if"), test, body, result], clause.pos);
        }
    }
    Ok(list_at(
        vec![
            sym("#%let"),
            list(vec![list(vec![key, items[1].clone()])]),
            result,
        ],
        pos,
    ))
}

/// `do`.
pub fn do_loop(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    let (Some(specs), Some(test)) = (
        items.get(1).and_then(list_items),
        items.get(2).and_then(list_items),
    ) else {
        return Err(x.err(
            pos,
            "bad `do`: expected (do ((var init step)...) (test expr...) body...)",
        ));
    };
    if test.is_empty() {
        return Err(x.err(pos, "bad `do`: missing test"));
    }
    let mut bindings = Vec::new();
    let mut steps = Vec::new();
    for s in specs {
        match list_items(s) {
            Some([v, init]) if v.as_sym().is_some() => {
                bindings.push(list(vec![v.clone(), init.clone()]));
                steps.push(v.clone());
            }
            Some([v, init, step]) if v.as_sym().is_some() => {
                bindings.push(list(vec![v.clone(), init.clone()]));
                steps.push(step.clone());
            }
            _ => return Err(x.err(s.pos, "bad `do` binding: expected (var init [step])")),
        }
    }
    let lp = sym("#%do-loop");
    let mut again = vec![lp.clone()];
    again.extend(steps);
    let mut body: Vec<Datum> = items[3..].to_vec();
    body.push(list(again));
    let done = if test.len() > 1 {
        begin(&test[1..])
    } else {
        list(vec![sym("#%void")])
    };
    let loop_body = list(vec![sym("#%if"), test[0].clone(), done, begin(&body)]);
    Ok(list_at(
        vec![sym("#%let"), lp, list(bindings), loop_body],
        pos,
    ))
}

/// `quasiquote` at nesting `depth`.
pub fn quasi(x: &mut Expander, d: &Datum, depth: u32) -> VmResult<Datum> {
    crate::deep(|| quasi_at(x, d, depth))
}

fn quasi_at(x: &mut Expander, d: &Datum, depth: u32) -> VmResult<Datum> {
    match &d.kind {
        DatumKind::List(items, tail) if !items.is_empty() => {
            if tail.is_none() && items.len() == 2 {
                let head = ["unquote", "unquote-splicing", "quasiquote"]
                    .into_iter()
                    .find(|h| x.is_keyword(&items[0], h));
                match head {
                    Some("unquote") if depth == 1 => return Ok(items[1].clone()),
                    // Not inside a list: nothing to splice into; kept as data.
                    Some("unquote-splicing") if depth == 1 => {}
                    Some(h) => {
                        // An inner level: rebuild (h . args) with args one
                        // level out (or in), splicing where it says so.
                        let d2 = if h == "quasiquote" {
                            depth + 1
                        } else {
                            depth - 1
                        };
                        let rest = Datum::new(DatumKind::List(items[1..].to_vec(), None), d.pos);
                        let inner = quasi(x, &rest, d2)?;
                        return Ok(list(vec![global("cons"), quote(sym(h)), inner]));
                    }
                    None => {}
                }
            }
            // `(a . ,b)` reads as (a unquote b): the tail is unquoted.
            let n = items.len();
            let (items, unquoted_tail) =
                if tail.is_none() && n >= 3 && x.is_keyword(&items[n - 2], "unquote") {
                    let t = list(vec![items[n - 2].clone(), items[n - 1].clone()]);
                    (&items[..n - 2], Some(t))
                } else {
                    (&items[..], None)
                };
            // Build from the tail backwards: (append spliced rest) / (cons x rest).
            let mut acc = match (tail, unquoted_tail) {
                (_, Some(t)) => quasi(x, &t, depth)?,
                (Some(t), None) => quasi(x, t, depth)?,
                (None, None) => quote(list(vec![])),
            };
            for item in items.iter().rev() {
                if let Some([h, e]) = list_items(item)
                    && x.is_keyword(h, "unquote-splicing")
                    && depth == 1
                {
                    acc = list(vec![global("append"), e.clone(), acc]);
                    continue;
                }
                let q = quasi(x, item, depth)?;
                acc = list(vec![global("cons"), q, acc]);
            }
            Ok(acc)
        }
        DatumKind::Vector(items) => {
            let as_list = Datum::new(DatumKind::List(items.clone(), None), d.pos);
            let l = quasi(x, &as_list, depth)?;
            Ok(list(vec![global("list->vector"), l]))
        }
        _ => Ok(quote(d.clone())),
    }
}

/// `case-lambda`.
pub fn case_lambda(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    let args = sym("#%cl-args");
    let n = sym("#%cl-n");
    let mut result = list(vec![
        global("error"),
        string("case-lambda: no clause matches the arguments"),
        args.clone(),
    ]);
    for clause in items[1..].iter().rev() {
        let Some(c) = list_items(clause).filter(|c| c.len() >= 2) else {
            return Err(x.err(
                clause.pos,
                "bad `case-lambda` clause: expected (formals body...)",
            ));
        };
        let (req, rest) = match &c[0].kind {
            DatumKind::Sym(_) => (0, true),
            DatumKind::List(i, t) => (i.len(), t.is_some()),
            _ => return Err(x.err(clause.pos, "bad `case-lambda` formals")),
        };
        let test = list(vec![
            global(if rest { ">=" } else { "=" }),
            n.clone(),
            Datum::new(
                DatumKind::Num(crate::reader::Number::Fixnum(req as i64)),
                pos,
            ),
        ]);
        let call = list(vec![
            global("apply"),
            lambda(c[0].clone(), c[1..].to_vec()),
            args.clone(),
        ]);
        result = list(vec![sym("#%if"), test, call, result]);
    }
    Ok(list_at(
        vec![
            sym("#%lambda"),
            args.clone(),
            list(vec![
                sym("#%let"),
                list(vec![list(vec![n, list(vec![global("length"), args])])]),
                result,
            ]),
        ],
        pos,
    ))
}

/// `guard`: `(guard (var clause...) body...)`.
pub fn guard(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    let Some(spec) = items
        .get(1)
        .and_then(list_items)
        .filter(|s| !s.is_empty() && s[0].as_sym().is_some())
    else {
        return Err(x.err(pos, "bad `guard`: expected (guard (var clause...) body...)"));
    };
    let var = spec[0].clone();
    let mut clauses = spec[1..].to_vec();
    let has_else = clauses
        .last()
        .and_then(list_items)
        .is_some_and(|c| c.first().is_some_and(|h| x.is_keyword(h, "else")));
    let k = sym("#%guard-k");
    // ((call/cc (lambda (k)
    //    (with-exception-handler
    //      HANDLER
    //      (lambda () (call-with-values (lambda () body...)
    //                   (lambda args (k (lambda () (apply values args))))))))))
    // With an `else` clause, HANDLER is
    //   (lambda (var) (k (lambda () (cond clauses...))))
    // Without one, no clause matching re-raises in the dynamic environment
    // of the original raise, so HANDLER first captures that:
    //   (lambda (c) ((call/cc (lambda (h)
    //     (k (lambda () (let ((var c))
    //       (cond clauses... (#t (h (lambda () (raise-continuable c))))))))))))
    let handler = if has_else {
        let mut cond = vec![sym("#%cond")];
        cond.extend(clauses);
        lambda(
            list(vec![var]),
            vec![list(vec![
                k.clone(),
                lambda(list(vec![]), vec![list(cond)]),
            ])],
        )
    } else {
        let c = sym("#%guard-c");
        let h = sym("#%guard-h");
        clauses.push(list(vec![
            boolean(true),
            list(vec![
                h.clone(),
                lambda(
                    list(vec![]),
                    vec![list(vec![global("raise-continuable"), c.clone()])],
                ),
            ]),
        ]));
        let mut cond = vec![sym("#%cond")];
        cond.extend(clauses);
        let body = list(vec![
            sym("#%let"),
            list(vec![list(vec![var, c.clone()])]),
            list(cond),
        ]);
        let escape = list(vec![k.clone(), lambda(list(vec![]), vec![body])]);
        lambda(
            list(vec![c]),
            vec![list(vec![list(vec![
                global("call/cc"),
                lambda(list(vec![h]), vec![escape]),
            ])])],
        )
    };
    let body_thunk = lambda(list(vec![]), items[2..].to_vec());
    let thunk = lambda(
        list(vec![]),
        vec![list(vec![
            global("call-with-values"),
            body_thunk,
            lambda(
                sym("#%guard-args"),
                vec![list(vec![
                    k.clone(),
                    lambda(
                        list(vec![]),
                        vec![list(vec![
                            global("apply"),
                            global("values"),
                            sym("#%guard-args"),
                        ])],
                    ),
                ])],
            ),
        ])],
    );
    let body = list(vec![global("with-exception-handler"), handler, thunk]);
    Ok(list_at(
        vec![list(vec![
            global("call/cc"),
            lambda(list(vec![k]), vec![body]),
        ])],
        pos,
    ))
}

/// `parameterize`.
pub fn parameterize(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    let Some(bindings) = items.get(1).and_then(list_items) else {
        return Err(x.err(
            pos,
            "bad `parameterize`: expected (parameterize ((param value)...) body...)",
        ));
    };
    let mut params = Vec::new();
    let mut vals = Vec::new();
    for b in bindings {
        match list_items(b) {
            Some([p, v]) => {
                params.push(p.clone());
                vals.push(v.clone());
            }
            _ => return Err(x.err(b.pos, "bad `parameterize` binding")),
        }
    }
    Ok(list_at(
        vec![
            global("%parameterize"),
            list(std::iter::once(global("list")).chain(params).collect()),
            list(std::iter::once(global("list")).chain(vals).collect()),
            lambda(list(vec![]), items[2..].to_vec()),
        ],
        pos,
    ))
}

/// `let-values` / `let*-values`.
pub fn let_values(
    x: &mut Expander,
    items: &[Datum],
    pos: Pos,
    sequential: bool,
) -> VmResult<Datum> {
    let Some(bindings) = items.get(1).and_then(list_items) else {
        return Err(x.err(
            pos,
            "bad `let-values`: expected (let-values (((formals) expr)...) body...)",
        ));
    };
    if items.len() < 3 {
        return Err(x.err(pos, "bad `let-values`: empty body"));
    }
    // Nest call-with-values; for let-values (not let*), bind fresh names
    // first so the inits do not see each other, then rebind.
    let mut body = list(
        std::iter::once(sym("#%let"))
            .chain(std::iter::once(list(vec![])))
            .chain(items[2..].iter().cloned())
            .collect(),
    );
    let mut renames = Vec::new();
    for (i, b) in bindings.iter().enumerate().rev() {
        let Some([formals, expr]) = list_items(b) else {
            return Err(x.err(b.pos, "bad `let-values` binding"));
        };
        let formals = if sequential {
            formals.clone()
        } else {
            rename_formals(formals, i, &mut renames)
        };
        body = list(vec![
            global("call-with-values"),
            lambda(list(vec![]), vec![expr.clone()]),
            lambda(formals, vec![body]),
        ]);
    }
    if !sequential && !renames.is_empty() {
        // Innermost: rebind the user's names from the fresh ones.
        let binds: Vec<Datum> = renames
            .iter()
            .map(|(user, fresh)| list(vec![user.clone(), fresh.clone()]))
            .collect();
        body = wrap_innermost(body, binds);
    }
    let _ = pos;
    Ok(body)
}

fn rename_formals(f: &Datum, i: usize, renames: &mut Vec<(Datum, Datum)>) -> Datum {
    let mut fresh = |d: &Datum| {
        let n = sym(&format!("#%lv{}-{}", i, d.as_sym().unwrap_or("_")));
        renames.push((d.clone(), n.clone()));
        n
    };
    match &f.kind {
        DatumKind::Sym(_) => fresh(f),
        DatumKind::List(items, tail) => {
            let items = items.iter().map(&mut fresh).collect();
            let tail = tail.as_ref().map(|t| Box::new(fresh(t)));
            Datum::new(DatumKind::List(items, tail), f.pos)
        }
        _ => f.clone(),
    }
}

/// Replace the `(#%let () body...)` at the bottom of nested
/// call-with-values with `(#%let (binds) body...)`.
fn wrap_innermost(d: Datum, binds: Vec<Datum>) -> Datum {
    let pos = d.pos;
    match d.into_kind() {
        DatumKind::List(mut items, None) => {
            if items.len() >= 2
                && is_sym(&items[0], "#%let")
                && list_items(&items[1]).is_some_and(|b| b.is_empty())
            {
                items[1] = list(binds);
                return Datum::new(DatumKind::List(items, None), pos);
            }
            if let Some(last) = items.pop() {
                let last = if let DatumKind::List(ref l, None) = last.kind {
                    // lambda: (#%lambda formals body)
                    if l.len() == 3 && is_sym(&l[0], "#%lambda") {
                        let mut l = l.clone();
                        let b = l.pop().unwrap_or_else(|| list(vec![]));
                        l.push(wrap_innermost(b, binds));
                        Datum::new(DatumKind::List(l, None), last.pos)
                    } else {
                        last
                    }
                } else {
                    last
                };
                items.push(last);
            }
            Datum::new(DatumKind::List(items, None), pos)
        }
        k => Datum::new(k, pos),
    }
}

/// `define-values` → `(begin (define v) ... (call-with-values ... set!))`.
pub fn define_values(x: &mut Expander, d: &Datum) -> VmResult<Datum> {
    let Some([_, formals, expr]) = list_items(d) else {
        return Err(x.err(
            d.pos,
            "bad `define-values`: expected (define-values formals expr)",
        ));
    };
    let mut names = Vec::new();
    match &formals.kind {
        DatumKind::Sym(_) => names.push(formals.clone()),
        DatumKind::List(items, tail) => {
            names.extend(items.iter().cloned());
            if let Some(t) = tail {
                names.push((**t).clone());
            }
        }
        _ => return Err(x.err(d.pos, "bad `define-values` formals")),
    }
    let mut out = vec![sym("#%begin")];
    for n in &names {
        out.push(list(vec![sym("#%define"), n.clone(), boolean(false)]));
    }
    let tmp_formals = rename_formals(formals, 0, &mut Vec::new());
    let mut sets = Vec::new();
    let mut renames = Vec::new();
    let _ = rename_formals(formals, 0, &mut renames);
    for (user, fresh) in renames {
        sets.push(list(vec![sym("#%set!"), user, fresh]));
    }
    sets.push(list(vec![sym("#%void")]));
    out.push(list(vec![
        global("call-with-values"),
        lambda(list(vec![]), vec![expr.clone()]),
        lambda(tmp_formals, sets),
    ]));
    Ok(list_at(out, d.pos))
}

/// `define-record-type`.
pub fn record_type(x: &mut Expander, d: &Datum) -> VmResult<Datum> {
    let items = list_items(d).unwrap_or(&[]);
    if items.len() < 4 {
        return Err(x.err(d.pos, "bad `define-record-type`: expected (define-record-type name (ctor field...) pred field-spec...)"));
    }
    let type_name = items[1].as_sym().map(str::to_string).or_else(|| {
        list_items(&items[1])
            .and_then(|l| l.first())
            .and_then(|s| s.as_sym())
            .map(str::to_string)
    });
    let Some(type_name) = type_name else {
        return Err(x.err(
            d.pos,
            "bad `define-record-type`: type name must be an identifier",
        ));
    };
    let mut fields = Vec::new();
    for spec in &items[4..] {
        match list_items(spec)
            .and_then(|s| s.first())
            .and_then(|f| f.as_sym())
        {
            Some(f) => fields.push(f.to_string()),
            None => match spec.as_sym() {
                Some(f) => fields.push(f.to_string()),
                None => {
                    return Err(x.err(
                        spec.pos,
                        "bad field spec: expected (field accessor [modifier])",
                    ));
                }
            },
        }
    }
    let field_index = |name: &str| fields.iter().position(|f| f == name);
    let rtd = sym(&type_name);
    let mut out = vec![sym("#%begin")];
    out.push(list(vec![
        sym("#%define"),
        rtd.clone(),
        list(vec![
            global("%make-record-type"),
            quote(sym(type_name.trim_start_matches('<').trim_end_matches('>'))),
            quote(list(fields.iter().map(|f| sym(f)).collect())),
        ]),
    ]));
    // Constructor.
    match &items[2].kind {
        DatumKind::List(c, None) if !c.is_empty() => {
            let Some(ctor) = c[0].as_sym() else {
                return Err(x.err(items[2].pos, "bad constructor spec"));
            };
            let mut args = Vec::new();
            for a in &c[1..] {
                let Some(an) = a.as_sym() else {
                    return Err(x.err(a.pos, "bad constructor field"));
                };
                if field_index(an).is_none() {
                    return Err(x.err(
                        a.pos,
                        format!("constructor field `{an}` is not a field of the record"),
                    ));
                }
                args.push(an.to_string());
            }
            let mut mk = vec![global("%make-record"), rtd.clone()];
            for f in &fields {
                mk.push(if args.contains(f) {
                    sym(f)
                } else {
                    boolean(false)
                });
            }
            out.push(list(vec![
                sym("#%define"),
                sym(ctor),
                list(vec![
                    sym("#%named-lambda"),
                    list(
                        std::iter::once(sym(ctor))
                            .chain(args.iter().map(|a| sym(a)))
                            .collect(),
                    ),
                    list(mk),
                ]),
            ]));
        }
        DatumKind::Sym(ctor) => {
            let mut mk = vec![global("%make-record"), rtd.clone()];
            mk.extend(fields.iter().map(|f| sym(f)));
            out.push(list(vec![
                sym("#%define"),
                sym(ctor),
                list(vec![
                    sym("#%named-lambda"),
                    list(
                        std::iter::once(sym(ctor))
                            .chain(fields.iter().map(|a| sym(a)))
                            .collect(),
                    ),
                    list(mk),
                ]),
            ]));
        }
        DatumKind::Bool(false) => {}
        _ => return Err(x.err(items[2].pos, "bad constructor spec")),
    }
    // Predicate.
    if let Some(pred) = items.get(3).and_then(|p| p.as_sym()) {
        out.push(list(vec![
            sym("#%define"),
            sym(pred),
            list(vec![
                sym("#%named-lambda"),
                list(vec![sym(pred), sym("#%obj")]),
                list(vec![global("%record?"), rtd.clone(), sym("#%obj")]),
            ]),
        ]));
    }
    // Accessors and modifiers.
    for (i, spec) in items[4..].iter().enumerate() {
        let Some(s) = list_items(spec) else { continue };
        let idx = Datum::new(
            DatumKind::Num(crate::reader::Number::Fixnum(i as i64)),
            spec.pos,
        );
        if let Some(acc) = s.get(1).and_then(|a| a.as_sym()) {
            out.push(list(vec![
                sym("#%define"),
                sym(acc),
                list(vec![
                    sym("#%named-lambda"),
                    list(vec![sym(acc), sym("#%obj")]),
                    list(vec![
                        global("%record-ref"),
                        rtd.clone(),
                        sym("#%obj"),
                        idx.clone(),
                        quote(sym(acc)),
                    ]),
                ]),
            ]));
        }
        if let Some(m) = s.get(2).and_then(|a| a.as_sym()) {
            out.push(list(vec![
                sym("#%define"),
                sym(m),
                list(vec![
                    sym("#%named-lambda"),
                    list(vec![sym(m), sym("#%obj"), sym("#%val")]),
                    list(vec![
                        global("%record-set!"),
                        rtd.clone(),
                        sym("#%obj"),
                        idx,
                        sym("#%val"),
                        quote(sym(m)),
                    ]),
                ]),
            ]));
        }
    }
    Ok(list_at(out, d.pos))
}

/// `cond-expand` with the features imp has.
pub fn cond_expand(x: &mut Expander, items: &[Datum], pos: Pos) -> VmResult<Datum> {
    let _ = pos;
    Ok(begin(&cond_expand_clause(x, items)?))
}

/// The body of the first `cond-expand` clause whose requirement holds.
pub fn cond_expand_clause(x: &mut Expander, items: &[Datum]) -> VmResult<Vec<Datum>> {
    for clause in &items[1..] {
        let Some(c) = list_items(clause).filter(|c| !c.is_empty()) else {
            return Err(x.err(clause.pos, "bad `cond-expand` clause"));
        };
        if feature_match(x, &c[0])? {
            return Ok(c[1..].to_vec());
        }
    }
    Ok(Vec::new())
}

/// Features `cond-expand` and `(features)` report.
pub const FEATURES: &[&str] = &[
    "r7rs",
    "exact-closed",
    "ratios",
    "full-unicode",
    "imp",
    "posix",
    "unix",
    "linux",
    "x86_64",
    "srfi-0",
    "srfi-1",
    "srfi-6",
    "srfi-8",
    "srfi-9",
    "srfi-11",
    "srfi-18",
    "srfi-23",
    "srfi-28",
    "srfi-30",
    "srfi-39",
    "srfi-62",
    "srfi-69",
    "srfi-87",
    "srfi-98",
];

fn feature_match(x: &mut Expander, req: &Datum) -> VmResult<bool> {
    Ok(match &req.kind {
        DatumKind::Sym(s) => {
            let s = super::alias::base(s);
            s == "else" || FEATURES.contains(&s)
        }
        DatumKind::List(items, None) if !items.is_empty() => {
            let rest = &items[1..];
            match items[0].as_sym().map(super::alias::base) {
                Some("and") => {
                    for r in rest {
                        if !feature_match(x, r)? {
                            return Ok(false);
                        }
                    }
                    true
                }
                Some("or") => {
                    for r in rest {
                        if feature_match(x, r)? {
                            return Ok(true);
                        }
                    }
                    false
                }
                Some("not") => rest.len() == 1 && !feature_match(x, &rest[0])?,
                Some("library") => {
                    rest.len() == 1 && super::library::library_available(x, &rest[0])?
                }
                _ => false,
            }
        }
        _ => false,
    })
}
