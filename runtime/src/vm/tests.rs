//! The interpreter's instructions, each on its fast path (fixnums, pairs,
//! closures of the right arity) and its slow path (other numbers, errors).

use crate::prim::testing::{check, err};

#[test]
fn compare_and_branch_on_fixnums_and_other_numbers() {
    check(&[
        ("(define (lt a b) (if (< a b) 'y 'n))", "#<unspecified>"),
        (
            "(list (lt 1 2) (lt 2 1) (lt 1.5 2) (lt 2 1.5) (lt (expt 10 30) 1))",
            "(y n y n n)",
        ),
        ("(define (ge a b) (if (>= a b) 'y 'n))", "#<unspecified>"),
        (
            "(list (ge 2 2) (ge 1 2) (ge 2.0 2) (ge (expt 2 70) (expt 2 69)))",
            "(y n y y)",
        ),
        ("(define (eqn a b) (if (= a b) 'y 'n))", "#<unspecified>"),
        (
            "(list (eqn 3 3) (eqn 3 4) (eqn 3 3.0) (eqn (expt 2 64) (expt 2 64)))",
            "(y n y y)",
        ),
        ("(define (gt a b) (if (> a b) 'y 'n))", "#<unspecified>"),
        ("(define (le a b) (if (<= a b) 'y 'n))", "#<unspecified>"),
        (
            "(list (gt 3 2) (gt 2 3) (le 2 2) (le 3 2) (gt 2.5 2) (le 2.5 2))",
            "(y n y n y n)",
        ),
        ("(define (same a b) (if (eq? a b) 'y 'n))", "#<unspecified>"),
        ("(list (same 'a 'a) (same 'a 'b) (same '() '()))", "(y n y)"),
        (
            "(define (kind x) (cond ((null? x) 'null) ((pair? x) 'pair) (else 'other)))",
            "#<unspecified>",
        ),
        (
            "(list (kind '()) (kind '(1)) (kind 5) (kind #f))",
            "(null pair other other)",
        ),
    ]);
}

#[test]
fn compare_with_constant_and_branch() {
    check(&[
        ("(define (small? x) (if (< x 2) 'y 'n))", "#<unspecified>"),
        (
            "(list (small? 1) (small? 2) (small? 1.5) (small? -5) (small? (expt 2 80)))",
            "(y n y y n)",
        ),
        ("(define (zero-ish x) (if (= x 0) 'y 'n))", "#<unspecified>"),
        (
            "(list (zero-ish 0) (zero-ish 0.0) (zero-ish -0.0) (zero-ish 1))",
            "(y y y n)",
        ),
        ("(define (neg? x) (if (<= x -1) 'y 'n))", "#<unspecified>"),
        ("(list (neg? -1) (neg? 0) (neg? -8388608))", "(y n y)"),
        (
            "(define (big? x) (if (>= x 8388607) 'y 'n))",
            "#<unspecified>",
        ),
        (
            "(list (big? 8388607) (big? 8388606) (big? 1e10))",
            "(y n y)",
        ),
        ("(define (pos? x) (if (> x 0) 'y 'n))", "#<unspecified>"),
        ("(list (pos? 1) (pos? 0) (pos? 0.5))", "(y n y)"),
    ]);
    let e = err("(define (f x) (if (< x 2) 1 2)) (f 'a)");
    assert!(e.contains('<') && e.contains("number"), "{e}");
}

#[test]
fn immediate_constant_arithmetic() {
    check(&[
        ("(define (inc x) (+ x 1))", "#<unspecified>"),
        ("(define (inc2 x) (+ 1 x))", "#<unspecified>"),
        ("(define (dec x) (- x 1))", "#<unspecified>"),
        (
            "(list (inc 1) (inc2 1) (dec 1) (inc 1.5) (inc2 2.5) (dec 0.5))",
            "(2 2 0 2.5 3.5 -0.5)",
        ),
        ("(inc 4611686018427387903)", "4611686018427387904"),
        ("(dec -4611686018427387904)", "-4611686018427387905"),
        ("(let ((b 10)) (set! b (+ b 1)) (+ b 1))", "12"),
        ("(+ 1 2 3 4 5)", "15"),
        ("(* 1 2 3 4 5)", "120"),
        ("(+ 1 2.5 3)", "6.5"),
    ]);
    let e = err("(define (inc x) (+ x 1)) (inc \"s\")");
    assert!(e.contains('+'), "{e}");
}

#[test]
fn car_and_cdr_of_locals() {
    check(&[
        ("(define (second l) (car (cdr l)))", "#<unspecified>"),
        ("(define (first l) (car l))", "#<unspecified>"),
        ("(define (rest l) (cdr l))", "#<unspecified>"),
        (
            "(list (first '(1 2)) (rest '(1 2)) (second '(1 2)))",
            "(1 (2) 2)",
        ),
    ]);
    let e = err("(define (first l) (car l)) (first 5)");
    assert!(e.contains("car") && e.contains("pair"), "{e}");
    let e = err("(define (rest l) (cdr l)) (rest '())");
    assert!(e.contains("cdr") && e.contains("pair"), "{e}");
}

#[test]
fn immediates_and_local_returns() {
    check(&[
        (
            "(define (f) (list #f #t '() (if #f #f) #\\a))",
            "#<unspecified>",
        ),
        ("(f)", "(#f #t () #<unspecified> #\\a)"),
        ("(define (id x) x)", "#<unspecified>"),
        ("(id 'v)", "v"),
    ]);
}

#[test]
fn calls_check_arity_on_the_fast_path() {
    let e = err("(define (two a b) a) (two 1)");
    assert!(
        e.contains("two") && e.contains("wrong number of arguments"),
        "{e}"
    );
    let e = err("(define (two a b) a) (define (g) (two 1 2 3)) (g)");
    assert!(e.contains("wrong number of arguments (3 given)"), "{e}");
    check(&[
        (
            "(define (tail-loop n acc) (if (= n 0) acc (tail-loop (- n 1) (+ acc 1))))",
            "#<unspecified>",
        ),
        ("(tail-loop 100000 0)", "100000"),
        // A tail call from a frame with more slots than the callee's leaves
        // no stale values behind in the callee's slots.
        ("(define (callee a) (let ((x 'fresh)) x))", "#<unspecified>"),
        (
            "(define (caller p q r) (let ((s 1) (t 2)) (callee p)))",
            "#<unspecified>",
        ),
        ("(caller 1 2 3)", "fresh"),
    ]);
}

#[test]
fn syntax_keywords_are_not_variables() {
    for src in [
        "(display when)",
        "(define (f) if)",
        "(define-syntax m (syntax-rules () ((_ x) x))) (list m)",
        "(define-macro (m x) x) (display m)",
    ] {
        let e = err(src);
        assert!(
            e.contains("syntax keyword") && e.contains("used as a variable"),
            "{src}: {e}"
        );
    }
    let e = err("(display no-such-variable)");
    assert!(
        e.contains("unbound variable") && e.contains("no-such-variable"),
        "{e}"
    );
}

/// The disassembly of procedure `name` after evaluating `defs`.
fn disassembly(defs: &str, name: &str) -> String {
    let mut rt = crate::Runtime::new().expect("runtime");
    rt.eval_str(defs).unwrap_or_else(|e| panic!("{defs}: {e}"));
    let out = rt
        .eval_str(&format!(
            "(let ((p (open-output-string))) (parameterize ((current-output-port p)) (disassemble {name})) (get-output-string p))"
        ))
        .expect("disassemble");
    rt.write(&out)
}

#[test]
fn fused_instructions_are_emitted_and_behave_as_the_pairs_they_replace() {
    let defs = "(define (build n) (if (= n 0) (cons #f #f) (cons (build (- n 1)) (build (+ n -1)))))
                (define (count t) (if (car t) (+ 1 (count (car t)) (count (cdr t))) 1))
                (define (len l acc) (if (null? l) acc (len (cdr l) (+ acc 1))))
                (define (keep l) (let loop ((l l) (acc '())) (if (pair? l) (loop (cdr l) (cons (car l) acc)) acc)))
                (define (pass x) (if x (add x x) '()))
                (define (add a b) (+ a b))
                (define (ten) 10)
                (define (sum2 a b) (if (= a 0) b (+ 1 (sum2 (- a 1) b))))
                (define (firsts l n) (if (pair? l) (cons n (firsts (car l) n)) '()))
                (define (rests l n) (if (pair? l) (+ 1 (rests (cdr l) n)) n))
                (define (adder n) (lambda (x) (+ x n)))
                (define (fold-l f acc l) (if (null? l) acc (fold-l f (f acc (car l)) (cdr l))))
                (define k 3)
                (define (same x) (if (= k 0) x (begin (set! k (- k 1)) (cons k (same x)))))";
    for (name, ops) in [
        (
            "build",
            &["CallSelfGlobalLocalAddImm", "ConsReturn", "Imm2"][..],
        ),
        (
            "count",
            &[
                "JumpIfFalseCarLocal",
                "CallSelfGlobalCarLocal",
                "CallSelfGlobalCdrLocal",
                "AddReturn",
                "ReturnFix",
            ],
        ),
        ("len", &["JumpUnlessNullLocal"]),
        ("sum2", &["SelfLocalAddImm"]),
        ("firsts", &["SelfCarLocal"]),
        ("rests", &["SelfCdrLocal"]),
        ("same", &["CallSelfGlobalLocal"]),
        ("fold-l", &["LocalCarLocal"]),
        ("(adder 1)", &["LocalFree", "AddReturn"]),
        ("add", &["AddReturn"]),
        ("ten", &["ReturnFix"]),
    ] {
        let d = disassembly(defs, name);
        for op in ops {
            assert!(d.contains(op), "{name} lacks {op}:\n{d}");
        }
    }
    let d = disassembly(defs, "pass");
    assert!(
        d.contains("ReturnImm") && d.contains("JumpIfFalseLocal"),
        "{d}"
    );
    check(&[
        (defs, "#<unspecified>"),
        ("(count (build 10))", "2047"),
        ("(len '(a b c d) 0)", "4"),
        ("(keep '(1 2 3))", "(3 2 1)"),
        (
            "(list (pass 4) (pass #f) (add 1.5 2) (add (expt 2 62) (expt 2 62)))",
            "(8 () 3.5 9223372036854775808)",
        ),
        ("(list (ten) (build 0))", "(10 (#f . #f))"),
        (
            "(list (sum2 3 10) (firsts '(((x))) 0) (rests '(1 2 3) 10) (same 'z))",
            "(13 (0 0 0) 13 (2 1 0 . z))",
        ),
        ("(fold-l cons '() '(1 2 3))", "(((() . 1) . 2) . 3)"),
    ]);
    // The fused field accesses report the pair they wanted.
    let e = err(
        "(define (count t) (if (car t) (+ 1 (count (car t)) (count (cdr t))) 1)) (count '(5 . 6))",
    );
    assert!(e.contains("car") && e.contains("pair"), "{e}");
    let e = err("(define (len l acc) (if (null? l) acc (len (cdr l) (+ acc 1)))) (len 5 0)");
    assert!(e.contains("cdr") && e.contains("pair"), "{e}");
    let e = err(
        "(define (fold-l f acc l) (if (null? l) acc (fold-l f (f acc (car l)) (cdr l)))) (fold-l + 0 '(1 . 2))",
    );
    assert!(e.contains("car") && e.contains("pair"), "{e}");
}

#[test]
fn comparisons_of_locals_fused_with_their_branch() {
    let defs = "(define (lt a b) (if (< a b) 'y 'n)) (define (ge a b) (if (>= a b) 'y 'n))
                (define (eq0 a) (if (= a 0) 'y 'n)) (define (gt9 a) (if (> a -9) 'y 'n))
                (define (le-big a) (if (<= a 40000) 'y 'n))";
    for (name, op) in [
        ("lt", "JumpUnlessLtLocals"),
        ("ge", "JumpUnlessGeLocals"),
        ("eq0", "JumpUnlessNumEqImmLocal"),
        ("gt9", "JumpUnlessGtImmLocal"),
    ] {
        let d = disassembly(defs, name);
        assert!(d.contains(op), "{name} lacks {op}:\n{d}");
    }
    // 40000 does not fit the fused form's 16 bits: compared the long way.
    assert!(!disassembly(defs, "le-big").contains("ImmLocal"));
    check(&[
        (defs, "#<unspecified>"),
        (
            "(list (lt 1 2) (lt 2 1) (lt 1.5 2) (lt (expt 2 70) 1))",
            "(y n y n)",
        ),
        (
            "(list (ge 2 2) (ge 1 2) (ge 2.5 2) (ge 1 (expt 2 70)))",
            "(y n y n)",
        ),
        (
            "(list (eq0 0) (eq0 0.0) (eq0 1) (eq0 (expt 2 70)))",
            "(y y n n)",
        ),
        (
            "(list (gt9 -8) (gt9 -9) (gt9 -9.5) (gt9 (- (expt 2 70))))",
            "(y n n n)",
        ),
        (
            "(list (le-big 40000) (le-big 40001) (le-big 39999.5))",
            "(y n y)",
        ),
    ]);
    let e = err("(define (lt a b) (if (< a b) 'y 'n)) (lt 'x 1)");
    assert!(e.contains("<") || e.contains("number"), "{e}");
}

#[test]
fn no_fusion_across_a_jump_target() {
    // `(if c 1 ...)` then a `Return` that a jump lands on must stay two
    // instructions; the value of the whole `if` is returned in each arm.
    check(&[
        ("(define (f c) (if c 1 2))", "#<unspecified>"),
        ("(list (f #t) (f #f))", "(1 2)"),
        (
            "(define (g x) (let ((y (if (pair? x) (car x) 0))) (cons y y)))",
            "#<unspecified>",
        ),
        ("(list (g '(7)) (g 3))", "((7 . 7) (0 . 0))"),
        (
            "(define (h x) (when (pair? x) (set-car! x 0)) (cons x x))",
            "#<unspecified>",
        ),
        ("(let ((p (list 1))) (h p))", "((0) 0)"),
    ]);
}

#[test]
fn fused_self_calls_resume_correctly_after_preemption() {
    // Every call of `fib` and `count` is a fused self call; with two
    // threads running, the scheduler preempts them at those instructions
    // (every 2,000 calls) and each must be made again from the start.
    check(&[
        (
            "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
             (define (build n) (if (= n 0) (cons #f #f) (cons (build (- n 1)) (build (- n 1)))))
             (define (count t) (if (car t) (+ 1 (count (car t)) (count (cdr t))) 1))
             (define (one x) (if (pair? x) (one (car x)) x))
             (define order '())
             (define (note! tag) (set! order (cons tag order)))",
            "#<unspecified>",
        ),
        (
            "(let ((a (make-thread (lambda () (let loop ((i 0) (s 0)) (if (< i 5) (begin (note! 'a) (loop (+ i 1) (+ s (fib 18)))) s)))))
                   (b (make-thread (lambda () (let loop ((i 0) (s 0)) (if (< i 5) (begin (note! 'b) (loop (+ i 1) (+ s (count (build 11))))) s))))))
               (thread-start! a) (thread-start! b)
               (list (thread-join! a) (thread-join! b) (one '((((7)))))))",
            "(12920 20475 7)",
        ),
        // The two threads took turns: neither ran all its rounds first.
        ("(let loop ((l order) (changes 0)) (if (or (null? l) (null? (cdr l))) (> changes 1) (loop (cdr l) (if (eq? (car l) (cadr l)) changes (+ changes 1)))))", "#t"),
    ]);
}

#[test]
fn a_full_value_stack_raises_a_catchable_error_on_every_call_path() {
    // The real limit is hundreds of millions of values; lower it so the
    // test fills it quickly. Each call below enters frames through a
    // different path: a fused self call, a call of another closure, and
    // `apply` (the general call).
    let mut rt = crate::Runtime::new().expect("runtime");
    let defs = "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))
                (define (other n) (if (= n 0) 0 (+ 1 (other2 (- n 1)))))
                (define (other2 n) (+ 0 (other n)))
                (define (via-apply n) (if (= n 0) 0 (+ 1 (apply via-apply (list (- n 1))))))";
    rt.eval_str(defs).expect("defs");
    for f in ["deep", "other", "via-apply"] {
        rt.vm.stack_limit = 5_000;
        let src = format!("(guard (e (#t (error-object-message e))) ({f} 100000))");
        let v = rt.eval_str(&src).expect("guarded");
        let msg = rt.write(&v);
        assert!(
            msg.contains("stack depth limit exceeded") && msg.contains("values"),
            "{f}: {msg}"
        );
        // Back at the top level the limit is the real one again, and the
        // same recursion runs to the end.
        assert_eq!(rt.vm.stack_limit, imp_gc::STACK_LIMIT);
        let v = rt.eval_str(&format!("({f} 100000)")).expect("deep");
        assert_eq!(rt.write(&v), "100000", "{f}");
    }
}
