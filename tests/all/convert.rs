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
    let q: f64 = rt.eval_str("1/4").and_then(|v| f64_of(&mut rt, v)).expect("ratio");
    assert_eq!(q, 0.25);
}

fn f64_of(rt: &mut Runtime, v: Value) -> Result<f64, Error> {
    rt.call_global("exact->inexact", (v,))
}

#[test]
fn strings_chars_booleans_and_options() {
    let mut rt = rt();
    let s: String = rt.call_global("string-append", ("λx", String::from(" ok"))).expect("append");
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
    let none: Option<String> = rt.call_global("memq", ("x", Vec::<i64>::new())).expect("none");
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
    let v: Vec<i64> = rt.call_global("reverse", (vec![1, 2, 3],)).expect("reverse");
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
    let nested: Vec<Vec<i64>> = rt.call_global("list", (vec![1], vec![2, 3])).expect("nested");
    assert_eq!(nested, vec![vec![1], vec![2, 3]]);

    let mut m = HashMap::new();
    m.insert("one".to_string(), 1i64);
    m.insert("two".to_string(), 2);
    rt.set_global("table", m.clone()).expect("set");
    let n: i64 = rt.eval_str("(hash-table-ref table \"two\")").and_then(|v| {
        use imp::FromValue;
        i64::from_value(&v, &mut rt)
    }).expect("lookup");
    assert_eq!(n, 2);
    let back: HashMap<String, i64> = rt.global("table").expect("table");
    assert_eq!(back, m);
    // An association list converts to a map too.
    let al: HashMap<String, i64> = rt
        .eval_str("'((\"x\" . 10) (\"y\" . 20))")
        .and_then(|v| {
            use imp::FromValue;
            HashMap::from_value(&v, &mut rt)
        })
        .expect("alist");
    assert_eq!(al.get("y"), Some(&20));
}

#[test]
fn globals_and_calls_report_unbound_names_and_scheme_errors() {
    let mut rt = rt();
    rt.set_global("limit", 10).expect("set");
    assert_eq!(rt.global::<i64>("limit").expect("get"), 10);
    assert_eq!(rt.eval_str("(+ limit 1)").expect("eval").as_i64(&rt), Some(11));
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
