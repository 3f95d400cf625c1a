//! Typed values across the Rust API: `IntoValue`, `FromValue`, calls by
//! name and by handle, globals.

use std::collections::HashMap;

use imp::{Error, Runtime, Value};

fn rt() -> Runtime {
    Runtime::new().expect("runtime")
}

#[test]
fn numbers_cross_both_ways_bignums_included() {
    let mut rt = rt();
    rt.eval_str("(define (twice x) (* 2 x))").expect("define");
    let n: i64 = rt.call_global("twice", (21,)).expect("call");
    assert_eq!(n, 42);
    let x: f64 = rt.call_global("twice", (1.25,)).expect("call");
    assert_eq!(x, 2.5);
    // An exact integer that does not fit i64 is a bignum; a u64 above
    // i64::MAX goes in as one and comes back.
    let big: u64 = rt.call_global("twice", (u64::MAX / 4,)).expect("call");
    assert_eq!(big, (u64::MAX / 4) * 2);
    let r: u8 = rt.call_global("twice", (100u8,)).expect("fits");
    assert_eq!(r, 200);
    match rt.call_global::<u8>("twice", (200u8,)) {
        Err(Error::Type(m)) => assert!(m.contains("u8") && m.contains("400"), "{m}"),
        other => panic!("expected a type error, got {other:?}"),
    }
    // Any real converts to f64; a rational too.
    let q: f64 = rt
        .eval_str("1/4")
        .and_then(|v| f64_of(&mut rt, v))
        .expect("ratio");
    assert_eq!(q, 0.25);
}

fn f64_of(rt: &mut Runtime, v: Value) -> Result<f64, Error> {
    rt.call_global("exact->inexact", (v,))
}

#[test]
fn strings_chars_booleans_and_options() {
    let mut rt = rt();
    let s: String = rt
        .call_global("string-append", ("λx", String::from(" ok")))
        .expect("append");
    assert_eq!(s, "λx ok");
    let c: char = rt.call_global("string-ref", ("ab", 1)).expect("ref");
    assert_eq!(c, 'b');
    let b: bool = rt.call_global("even?", (4,)).expect("even");
    assert!(b);
    let sym: String = rt.call_global("string->symbol", ("sym",)).expect("symbol");
    assert_eq!(sym, "sym");
    // #f is None; anything else is Some.
    rt.eval_str("(define (lookup k) (let ((p (assq k '((a . 1) (b . 2))))) (and p (cdr p))))")
        .expect("define");
    let b = rt.symbol("b").expect("symbol");
    let found: Option<i64> = rt.call_global("lookup", (b,)).expect("some");
    assert_eq!(found, Some(2));
    let z = rt.symbol("z").expect("symbol");
    let found: Option<i64> = rt.call_global("lookup", (z,)).expect("none");
    assert_eq!(found, None);
    let none: Option<String> = rt
        .call_global("memq", ("x", Vec::<i64>::new()))
        .expect("none");
    assert_eq!(none, None);
    let none_in: bool = rt.call_global("not", (None::<i64>,)).expect("not");
    assert!(none_in);
    match rt.call_global::<bool>("+", (1, 2)) {
        Err(Error::Type(m)) => assert_eq!(m, "expected a boolean, got 3"),
        other => panic!("expected a type error, got {other:?}"),
    }
}

#[test]
fn vectors_lists_tuples_and_maps() {
    let mut rt = rt();
    let v: Vec<i64> = rt
        .call_global("reverse", (vec![1, 2, 3],))
        .expect("reverse");
    assert_eq!(v, [3, 2, 1]);
    // A Scheme vector converts to Vec too.
    let w: Vec<String> = rt
        .eval_str("(vector \"a\" \"b\")")
        .and_then(|x| rt.call_global("vector-copy", (x,)))
        .expect("vector");
    assert_eq!(w, ["a", "b"]);
    let pair: (i64, String, bool) = rt.call_global("list", (1, "two", true)).expect("tuple");
    assert_eq!(pair, (1, "two".to_string(), true));
    match rt.call_global::<(i64, i64)>("list", (1, 2, 3)) {
        Err(Error::Type(m)) => assert!(m.contains("2 elements"), "{m}"),
        other => panic!("expected a type error, got {other:?}"),
    }
    let nested: Vec<Vec<i64>> = rt
        .call_global("list", (vec![1], vec![2, 3]))
        .expect("nested");
    assert_eq!(nested, vec![vec![1], vec![2, 3]]);

    let mut m = HashMap::new();
    m.insert("one".to_string(), 1i64);
    m.insert("two".to_string(), 2);
    rt.set_global("table", m.clone()).expect("set");
    let n: i64 = rt
        .eval_str("(hash-table-ref table \"two\")")
        .and_then(|v| rt.get(&v))
        .expect("lookup");
    assert_eq!(n, 2);
    let back: HashMap<String, i64> = rt.global("table").expect("table");
    assert_eq!(back, m);
    // An association list converts to a map too.
    let al: HashMap<String, i64> = rt
        .eval_str("'((\"x\" . 10) (\"y\" . 20))")
        .and_then(|v| rt.get(&v))
        .expect("alist");
    assert_eq!(al.get("y"), Some(&20));
}

#[test]
fn globals_and_calls_report_unbound_names_and_scheme_errors() {
    let mut rt = rt();
    rt.set_global("limit", 10).expect("set");
    assert_eq!(rt.global::<i64>("limit").expect("get"), 10);
    assert_eq!(
        rt.eval_str("(+ limit 1)").expect("eval").as_i64(&rt),
        Some(11)
    );
    match rt.global::<i64>("no-such-global") {
        Err(Error::Raised(r)) => assert!(r.message.contains("no-such-global")),
        other => panic!("expected unbound, got {other:?}"),
    }
    match rt.call_global::<i64>("car", (5,)) {
        Err(Error::Raised(r)) => assert!(r.message.contains("car"), "{}", r.message),
        other => panic!("expected a Scheme error, got {other:?}"),
    }
    // The runtime goes on after each error.
    let f = rt.eval_str("(lambda args (length args))").expect("lambda");
    let n: usize = rt.call_value(&f, ()).expect("no args");
    assert_eq!(n, 0);
    let n: usize = rt.call_value(&f, vec![1, 2, 3, 4]).expect("vec args");
    assert_eq!(n, 4);
    let unit: () = rt.call_global("newline", ()).expect("unit");
    assert_eq!(unit, ());
}

#[test]
fn native_functions_take_typed_arguments_and_report_misuse_as_scheme_errors() {
    let mut rt = rt();
    rt.register("add", |_, (a, b): (i64, i64)| Ok(a + b))
        .expect("register");
    rt.register("join", |_, parts: Vec<String>| Ok(parts.join("-")))
        .expect("register");
    rt.register("nothing", |_, ()| Ok(())).expect("register");
    assert_eq!(
        rt.eval_str("(add 2 40)").expect("add").as_i64(&rt),
        Some(42)
    );
    assert_eq!(
        rt.eval_str("(map add '(1 2) '(10 20))")
            .map(|v| rt.write(&v))
            .expect("map"),
        "(11 22)"
    );
    assert_eq!(
        rt.eval_str("(join \"a\" \"b\" \"c\")")
            .map(|v| rt.display(&v))
            .expect("join"),
        "a-b-c"
    );
    assert!(rt.eval_str("(nothing)").expect("unit").is_unspecified(&rt));
    assert_eq!(
        rt.eval_str("(procedure? add)")
            .map(|v| rt.write(&v))
            .expect("p"),
        "#t"
    );
    // Libraries importing a standard library see the host's functions.
    rt.eval_str(
        "(define-library (uses host) (export add3) (import (scheme base))
           (begin (define (add3 x) (add x 3))))",
    )
    .expect("library");
    assert_eq!(
        rt.eval_str("(import (uses host)) (add3 4)")
            .expect("lib")
            .as_i64(&rt),
        Some(7)
    );
    let msg = |rt: &mut Runtime, src: &str| -> String {
        let v = rt
            .eval_str(&format!("(guard (e (#t (error-object-message e))) {src})"))
            .expect("guarded");
        rt.display(&v)
    };
    assert_eq!(msg(&mut rt, "(add 1)"), "add: expected 2 arguments, got 1");
    assert_eq!(
        msg(&mut rt, "(add 1 \"two\")"),
        "add: argument 2: expected an exact integer that fits i64, got \"two\""
    );
    assert_eq!(
        msg(&mut rt, "(join \"a\" 5)"),
        "join: argument 2: expected a string, got 5"
    );
    // Uncaught, the error reaches the host as an ordinary Scheme error.
    match rt.eval_str("(add 'x 1)") {
        Err(Error::Raised(r)) => assert!(r.message.starts_with("add: argument 1"), "{}", r.message),
        other => panic!("expected a raised error, got {other:?}"),
    }
}

#[test]
fn a_native_function_that_fails_or_panics_leaves_the_runtime_usable() {
    let mut rt = rt();
    rt.register("checked-div", |_, (a, b): (i64, i64)| {
        if b == 0 {
            Err(Error::Type("checked-div: division by zero".into()))
        } else {
            Ok(a / b)
        }
    })
    .expect("register");
    rt.register("boom", |_, (n,): (i64,)| -> Result<i64, Error> {
        if n > 0 {
            panic!("boom with {n}");
        }
        Ok(n)
    })
    .expect("register");
    let v = rt
        .eval_str("(guard (e (#t (error-object-message e))) (checked-div 1 0))")
        .expect("guarded");
    assert_eq!(rt.display(&v), "checked-div: division by zero");
    // A panic is caught and raised as a Scheme error (the default hook
    // still prints it on stderr).
    match rt.eval_str("(list 1 (boom 3))") {
        Err(Error::Raised(r)) => {
            assert!(
                r.message
                    .contains("native function `boom` panicked: boom with 3"),
                "{}",
                r.message
            )
        }
        other => panic!("expected a raised error, got {other:?}"),
    }
    let v = rt
        .eval_str("(guard (e (#t 'caught)) (boom 1))")
        .expect("guarded panic");
    assert_eq!(rt.write(&v), "caught");
    // Still usable, frames and stack intact.
    assert_eq!(
        rt.eval_str(
            "(let loop ((i 0) (s 0)) (if (= i 100) s (loop (+ i 1) (+ s (checked-div i 1)))))"
        )
        .expect("loop")
        .as_i64(&rt),
        Some(4950)
    );
}

#[test]
fn native_functions_call_back_into_scheme() {
    let mut rt = rt();
    rt.eval_str("(define (square x) (* x x))").expect("define");
    rt.register("sum-of-squares", |cx, xs: Vec<i64>| {
        let mut total = 0i64;
        for x in xs {
            total += cx.call_global::<i64>("square", (x,))?;
        }
        Ok(total)
    })
    .expect("register");
    assert_eq!(
        rt.eval_str("(sum-of-squares 1 2 3)")
            .expect("call")
            .as_i64(&rt),
        Some(14)
    );
    // Host -> Scheme -> host -> Scheme.
    rt.eval_str("(define (outer n) (+ 1 (sum-of-squares n n)))")
        .expect("define");
    let n: i64 = rt.call_global("outer", (3,)).expect("round trip");
    assert_eq!(n, 19);
    // A Scheme error raised inside the callback goes on up, catchable.
    rt.eval_str("(define (square x) (car x))")
        .expect("redefine");
    let v = rt
        .eval_str("(guard (e (#t (error-object-message e))) (sum-of-squares 1))")
        .expect("guarded");
    assert!(rt.display(&v).contains("car"), "{}", rt.display(&v));
    // Escaping from Scheme code the native function called works too.
    rt.eval_str("(define (square x) (raise 'escaped))")
        .expect("redefine");
    let v = rt
        .eval_str("(guard (e ((symbol? e) e)) (sum-of-squares 2))")
        .expect("guarded");
    assert!(rt.display(&v).contains("escaped"), "{}", rt.display(&v));
    assert_eq!(rt.eval_str("(+ 1 2)").expect("after").as_i64(&rt), Some(3));
    // A continuation captured outside the native call, invoked inside it,
    // unwinds the native call (running dynamic-wind after-thunks) and
    // resumes; so does one two native calls deep.
    rt.register("call-with", |cx, (f, x): (Value, Value)| {
        cx.call_value::<Value>(&f, (x,))
    })
    .expect("register");
    let v = rt
        .eval_str(
            "(let ((log '()))
               (let ((r (call/cc (lambda (k)
                          (dynamic-wind
                            (lambda () (set! log (cons 'in log)))
                            (lambda () (+ 100 (call-with k 5)))
                            (lambda () (set! log (cons 'out log))))))))
                 (list r (reverse log))))",
        )
        .expect("escape");
    assert_eq!(rt.write(&v), "(5 (in out))");
    let v = rt
        .eval_str("(call/cc (lambda (k) (call-with (lambda (x) (+ 1 (call-with k x))) 7)))")
        .expect("two deep");
    assert_eq!(rt.write(&v), "7");
}

#[test]
fn natives_belong_to_their_runtime_and_are_found_by_name_after_an_image() {
    let mut a = rt();
    let mut b = rt();
    a.register("who", |_, ()| Ok("a")).expect("a");
    b.register("who", |_, ()| Ok("b")).expect("b");
    assert_eq!(
        a.global::<Value>("who")
            .and_then(|f| a.call_value::<String>(&f, ()))
            .expect("a"),
        "a"
    );
    assert_eq!(b.call_global::<String>("who", ()).expect("b"), "b");

    let dir = std::env::temp_dir().join(format!("imp-natives-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("n.img");
    a.eval_str("(define (greet) (string-append \"from \" (who)))")
        .expect("define");
    a.save_image(&path, None).expect("save");
    // Loaded without registering `who`: calling it names the function.
    let (mut c, _) = Runtime::from_image(&path).expect("load");
    match c.eval_str("(greet)") {
        Err(Error::Raised(r)) => assert!(
            r.message.contains("`who` is not registered"),
            "{}",
            r.message
        ),
        other => panic!("expected an error, got {other:?}"),
    }
    // Registered after loading: the image's procedures call it.
    c.register("who", |_, ()| Ok("c")).expect("c");
    assert_eq!(
        c.call_global::<String>("greet", ()).expect("greet"),
        "from c"
    );
    // from_image_with checks every native the image uses, naming the
    // missing ones.
    a.register("also", |_, ()| Ok(1)).expect("also");
    a.save_image(&path, None).expect("save again");
    match Runtime::from_image_with(&path, |rt| rt.register("who", |_, ()| Ok("d"))) {
        Err(Error::Image(m)) => {
            assert!(m.contains("also") && !m.contains("who"), "{m}")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("an image with an unregistered native loaded"),
    }
    let (mut d, _) = Runtime::from_image_with(&path, |rt| {
        rt.register("who", |_, ()| Ok("d"))?;
        rt.register("also", |_, ()| Ok(2))
    })
    .expect("all registered");
    assert_eq!(
        d.call_global::<String>("greet", ()).expect("greet"),
        "from d"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn host_state_is_lent_to_one_call_and_comes_back() {
    #[derive(Default, Debug, PartialEq)]
    struct Log {
        lines: Vec<String>,
    }
    let mut rt = rt();
    rt.register("log!", |cx, (line,): (String,)| match cx.state::<Log>() {
        Some(log) => {
            log.lines.push(line);
            Ok(true)
        }
        None => Ok(false),
    })
    .expect("register");
    let mut log = Log::default();
    let r = rt.lend(&mut log, |rt| {
        rt.eval_str("(for-each log! '(\"a\" \"b\")) (log! \"c\")")
            .map(|v| rt.write(&v))
    });
    assert_eq!(r.expect("eval"), "#t");
    assert_eq!(log.lines, ["a", "b", "c"]);
    // Nothing lent outside `lend`.
    assert_eq!(
        rt.eval_str("(log! \"d\")")
            .map(|v| rt.write(&v))
            .expect("eval"),
        "#f"
    );
    // A lend of another type is not this one.
    let mut n = 0u32;
    let seen = rt.lend(&mut n, |rt| {
        rt.eval_str("(log! \"e\")").map(|v| rt.write(&v))
    });
    assert_eq!(seen.expect("eval"), "#f");
    assert_eq!(log.lines.len(), 3);
}

#[test]
fn host_objects_carry_rust_values_and_are_dropped_by_the_collector() {
    use std::cell::Cell;
    use std::rc::Rc;

    struct Counter {
        n: i64,
        drops: Rc<Cell<u32>>,
    }
    impl Drop for Counter {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }
    struct Other;

    let drops = Rc::new(Cell::new(0));
    let mut rt = rt();
    let d = drops.clone();
    rt.register("make-counter", move |cx, (start,): (i64,)| {
        cx.host_object(Counter {
            n: start,
            drops: d.clone(),
        })
    })
    .expect("register");
    rt.register("counter-next!", |cx, (c,): (Value,)| {
        let c = cx.host_mut::<Counter>(&c)?;
        c.n += 1;
        Ok(c.n)
    })
    .expect("register");
    rt.register("make-other", |cx, ()| cx.host_object(Other))
        .expect("register");

    rt.eval_str("(define c (make-counter 10))").expect("make");
    assert_eq!(
        rt.eval_str("(counter-next! c) (counter-next! c)")
            .expect("next")
            .as_i64(&rt),
        Some(12)
    );
    assert_eq!(
        rt.eval_str("c").map(|v| rt.write(&v)).expect("print"),
        "#<host Counter>"
    );
    // The wrong kind of object is a Scheme error naming what was expected.
    let v = rt
        .eval_str("(guard (e (#t (error-object-message e))) (counter-next! (make-other)))")
        .expect("guarded");
    assert!(rt.display(&v).contains("Counter"), "{}", rt.display(&v));
    let v = rt
        .eval_str("(guard (e (#t (error-object-message e))) (counter-next! 5))")
        .expect("guarded");
    assert!(rt.display(&v).contains("host object"), "{}", rt.display(&v));

    // Unreachable host objects are dropped by the collector; reachable
    // ones survive collections (and keep their state).
    rt.eval_str("(let loop ((i 0)) (if (< i 1000) (begin (make-counter i) (loop (+ i 1)))))")
        .expect("garbage");
    rt.collect_garbage().expect("gc");
    rt.collect_garbage().expect("gc");
    assert_eq!(drops.get(), 1000);
    assert_eq!(
        rt.eval_str("(counter-next! c)").expect("next").as_i64(&rt),
        Some(13)
    );
    rt.eval_str("(set! c #f)").expect("drop");
    rt.collect_garbage().expect("gc");
    assert_eq!(drops.get(), 1001);

    // From Rust too; and a host object in an image is stale in the next process.
    let h = rt
        .host_object(Counter {
            n: 0,
            drops: drops.clone(),
        })
        .expect("host");
    rt.set_global("kept", &h).expect("set");
    let dir = std::env::temp_dir().join(format!("imp-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("h.img");
    rt.save_image(&path, None).expect("save");
    let (mut other, _) = Runtime::from_image(&path).expect("load");
    other
        .register("counter-next!", |cx, (c,): (Value,)| {
            let c = cx.host_mut::<Counter>(&c)?;
            c.n += 1;
            Ok(c.n)
        })
        .expect("register");
    let v = other
        .eval_str("(guard (e (#t (error-object-message e))) (counter-next! kept))")
        .expect("guarded");
    assert!(
        other.display(&v).contains("earlier process"),
        "{}",
        other.display(&v)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        rt.eval_str("(counter-next! kept)")
            .expect("still here")
            .as_i64(&rt),
        Some(1)
    );
}

// See issue #24, item 3: the serde bridge speaks SRFI-180's mapping, so a
// host's types go through json-write and come back from json-read.
#[test]
fn serde_json_mapping_crosses_json_write_and_json_read() {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    enum Kind {
        Plain,
        Sized(u32),
    }
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Doc {
        title: String,
        kinds: Vec<Kind>,
        parent: Option<u32>,
        scores: std::collections::BTreeMap<String, f64>,
        flag: bool,
    }
    let mut scores = std::collections::BTreeMap::new();
    scores.insert("a".to_string(), 1.5);
    let doc = Doc {
        title: "t\"x".into(),
        kinds: vec![Kind::Plain, Kind::Sized(3)],
        parent: None,
        scores,
        flag: false,
    };
    let mut rt = rt();
    let v = imp::serde::to_json_value(&mut rt.scope(), &doc).expect("to");
    assert_eq!(
        rt.write(&v),
        "((title . \"t\\\"x\") (kinds . #(\"Plain\" ((Sized . 3)))) (parent . null) (scores (a . 1.5)) (flag . #f))"
    );
    let text = rt
        .eval_str(
            "(lambda (v) (let ((p (open-output-string))) (json-write v p) (get-output-string p)))",
        )
        .expect("writer");
    let json: String = rt.call_value(&text, (v,)).expect("json-write");
    assert_eq!(
        json,
        r#"{"title":"t\"x","kinds":["Plain",{"Sized":3}],"parent":null,"scores":{"a":1.5},"flag":false}"#
    );
    // What json-read makes of the text deserializes to the same value.
    rt.set_global("text", &json).expect("set");
    let read = rt
        .eval_str("(json-read (open-input-string text))")
        .expect("read");
    let back: Doc = imp::serde::from_value(&mut rt.scope(), &read).expect("from");
    assert_eq!(back, doc);
}

#[test]
fn serde_types_cross_both_ways() {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: i64, h: i64 },
        Pair(i64, String),
    }
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Scene {
        name: String,
        shapes: Vec<Shape>,
        owner: Option<String>,
        counts: HashMap<String, u32>,
        big: u64,
        flag: bool,
        initial: char,
    }
    let mut counts = HashMap::new();
    counts.insert("circles".to_string(), 1u32);
    let scene = Scene {
        name: "demo".into(),
        shapes: vec![
            Shape::Dot,
            Shape::Circle(1.5),
            Shape::Rect { w: 2, h: 3 },
            Shape::Pair(7, "seven".into()),
        ],
        owner: None,
        counts,
        big: u64::MAX,
        flag: true,
        initial: 'λ',
    };
    let mut rt = rt();
    let v = imp::serde::to_value(&mut rt.scope(), &scene).expect("to");
    assert_eq!(
        rt.write(&v),
        "((name . \"demo\") (shapes . #(Dot (Circle . 1.5) (Rect (w . 2) (h . 3)) (Pair . #(7 \"seven\")))) \
         (owner) (counts (\"circles\" . 1)) (big . 18446744073709551615) (flag . #t) (initial . #\\λ))"
    );
    // Scheme code reads it as ordinary data...
    rt.set_global("scene", &v).expect("set");
    assert_eq!(
        rt.eval_str("(cdr (assq 'h (cdr (vector-ref (cdr (assq 'shapes scene)) 2))))")
            .expect("read")
            .as_i64(&rt),
        Some(3)
    );
    // ...and what it builds comes back.
    let changed = rt
        .eval_str("(cons '(name . \"edited\") (cdr scene))")
        .expect("edit");
    let back: Scene = imp::serde::from_value(&mut rt.scope(), &changed).expect("from");
    assert_eq!(back.name, "edited");
    assert_eq!(back.shapes, scene.shapes);
    assert_eq!(back.big, u64::MAX);
    assert_eq!(back.owner, None);
    // A wrong shape is a Type error naming it.
    let bad = rt.eval_str("'((name . 5))").expect("bad");
    match imp::serde::from_value::<Scene>(&mut rt.scope(), &bad) {
        Err(Error::Type(m)) => assert!(m.contains("5") || m.contains("string"), "{m}"),
        other => panic!("expected a type error, got {other:?}"),
    }
}
