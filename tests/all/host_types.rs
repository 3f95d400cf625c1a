//! Host types (issue 22, item 1): Rust types registered with a name, a
//! predicate, a printed form, `equal?` and hashing, taken by native
//! functions as `HostRef<T>` (several at once) and `HostMut<T>` (one at a
//! time, checked) and returned as `Host<T>`.

use imp::{Host, HostMut, HostRef, Runtime};

#[derive(Debug, PartialEq, Hash)]
struct Point {
    x: i64,
    y: i64,
}

#[derive(Debug)]
struct Item {
    key: String,
}

fn runtime(stress: bool) -> Runtime {
    let mut rt = Runtime::builder()
        .allow_all()
        .gc_stress(stress)
        .build()
        .expect("runtime");
    rt.register_type::<Point>("point")
        .printer(|p| format!("{} {}", p.x, p.y))
        .equality()
        .hashing()
        .method("point-x", |_, (p,): (HostRef<Point>,)| Ok(p.x))
        .expect("method")
        .build()
        .expect("point");
    rt.register("point", |_, (x, y): (i64, i64)| Ok(Host(Point { x, y })))
        .expect("register");
    rt.register("point+", |_, (a, b): (HostRef<Point>, HostRef<Point>)| {
        Ok(Host(Point {
            x: a.x + b.x,
            y: a.y + b.y,
        }))
    })
    .expect("register");
    rt.register("point-move!", |_, (mut p, dx): (HostMut<Point>, i64)| {
        p.x += dx;
        Ok(p.x)
    })
    .expect("register");
    rt.register(
        "point-move-by!",
        |_, (mut p, q): (HostMut<Point>, HostRef<Point>)| {
            p.x += q.x;
            Ok(p.x)
        },
    )
    .expect("register");
    rt.register(
        "point-swap!",
        |_, (mut p, mut q): (HostMut<Point>, HostMut<Point>)| {
            std::mem::swap(&mut p.x, &mut q.x);
            Ok(())
        },
    )
    .expect("register");
    rt.register_type::<Item>("item")
        .debug()
        .build()
        .expect("item");
    rt.register("item", |_, (key,): (String,)| Ok(Host(Item { key })))
        .expect("register");
    rt.register("item-key", |_, (i,): (HostRef<Item>,)| Ok(i.key.clone()))
        .expect("register");
    rt.register("item<?", |_, (a, b): (HostRef<Item>, HostRef<Item>)| {
        Ok(a.key < b.key)
    })
    .expect("register");
    rt
}

fn eval(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => rt.write(&v),
        Err(e) => panic!("{src} failed: {e}"),
    }
}

fn err(rt: &mut Runtime, src: &str) -> String {
    match rt.eval_str(src) {
        Ok(v) => panic!("{src} should fail, gave {}", rt.write(&v)),
        Err(e) => e.to_string(),
    }
}

// Host types in native signatures: values made by returning Host<T>, read
// through HostRef<T> (two at once, even the same object twice), changed
// through HostMut<T>, and the change seen afterwards.
#[test]
fn host_types_in_signatures() {
    let mut rt = runtime(false);
    assert_eq!(
        eval(
            &mut rt,
            "(define a (point 1 2)) (define b (point 10 20)) (point+ a b)"
        ),
        "#<point 11 22>"
    );
    assert_eq!(eval(&mut rt, "(point+ a a)"), "#<point 2 4>");
    assert_eq!(eval(&mut rt, "(point-move! a 5)"), "6");
    assert_eq!(eval(&mut rt, "(list (point-x a) a)"), "(6 #<point 6 2>)");
    assert_eq!(eval(&mut rt, "(point-move-by! a b)"), "16");
    assert_eq!(
        eval(&mut rt, "(point-swap! a b) (list a b)"),
        "(#<point 10 2> #<point 16 20>)"
    );
    // From Rust as well.
    let a = rt.eval_str("a").expect("a");
    assert_eq!(rt.scope().host_mut::<Point>(&a).expect("point").x, 10);
}

// A host object of the wrong type is a Scheme error naming both types; so
// is a value that is no host object; the engine goes on.
#[test]
fn wrong_types_are_errors_naming_both() {
    let mut rt = runtime(false);
    let e = err(&mut rt, "(point-x (item \"k\"))");
    assert!(
        e.contains("expected a host object of type point, got one of type item"),
        "{e}"
    );
    let e = err(&mut rt, "(point-x 42)");
    assert!(
        e.contains("expected a host object of type point, got 42"),
        "{e}"
    );
    let e = err(&mut rt, "(point-move! \"no\" 1)");
    assert!(e.contains("host object of type point"), "{e}");
    assert_eq!(eval(&mut rt, "(point-x (point 3 4))"), "3");
}

// HostMut is exclusive: the same object as a HostMut and another argument
// (HostRef or HostMut) is an error that says so, and afterwards the object
// is whole and usable again.
#[test]
fn host_mut_is_exclusive() {
    let mut rt = runtime(false);
    eval(&mut rt, "(define a (point 1 2))");
    let e = err(&mut rt, "(point-move-by! a a)");
    assert!(e.contains("borrowed"), "{e}");
    let e = err(&mut rt, "(point-swap! a a)");
    assert!(e.contains("borrowed"), "{e}");
    assert_eq!(eval(&mut rt, "(point-move! a 1) a"), "#<point 2 2>");
    assert_eq!(eval(&mut rt, "(point+ a a)"), "#<point 4 4>");
}

// The predicate, the printed forms (a printer, Debug, none), equal? by
// PartialEq (and by identity for a type without it), and equal? hash
// tables keyed by host values through Hash.
#[test]
fn predicate_printed_form_equality_and_hashing() {
    let mut rt = runtime(false);
    assert_eq!(
        eval(
            &mut rt,
            "(list (point? (point 0 0)) (point? (item \"x\")) (point? 5) (item? (item \"x\")))"
        ),
        "(#t #f #f #t)"
    );
    assert_eq!(eval(&mut rt, "(item \"k\")"), "#<item Item { key: \"k\" }>");
    rt.register("raw", |_, ()| Ok(Host(7u8))).expect("register");
    assert_eq!(eval(&mut rt, "(raw)"), "#<host u8>");
    assert_eq!(
        eval(
            &mut rt,
            "(list (equal? (point 1 2) (point 1 2)) (equal? (point 1 2) (point 2 1)) \
             (let ((i (item \"a\"))) (equal? i i)) (equal? (item \"a\") (item \"a\")) \
             (equal? (list (point 1 1)) (list (point 1 1))))"
        ),
        "(#t #f #t #f #t)"
    );
    assert_eq!(
        eval(
            &mut rt,
            "(let ((t (make-equal-hash-table)))
               (do ((i 0 (+ i 1))) ((= i 100)) (hash-table-set! t (point i (* i i)) i))
               (list (hash-table-ref/default t (point 7 49) #f)
                     (hash-table-ref/default t (point 7 48) #f)
                     (hash-table-count t)))"
        ),
        "(7 #f 100)"
    );
}

// Host objects made and dropped many times: the collector drops their
// values (slots are reused under new generations, so a dead object's
// token never finds a new value), under the collector's stress mode.
#[test]
fn many_host_objects_under_gc_stress() {
    let mut rt = runtime(true);
    assert_eq!(
        eval(
            &mut rt,
            "(define keep (let loop ((i 0) (acc '()))
                            (if (= i 2000) acc
                                (loop (+ i 1) (if (= 0 (modulo i 100)) (cons (point i i) acc) acc)))))
             (define (sum l) (if (null? l) 0 (+ (point-x (car l)) (sum (cdr l)))))
             (sum keep)"
        ),
        "19000"
    );
    rt.collect_garbage().expect("gc");
    assert_eq!(rt.host_object_count(), 20);
    // A quicksort through a host comparison, as the benchmark does.
    assert_eq!(
        eval(
            &mut rt,
            "(define (qsort l)
               (if (null? l) l
                   (let ((p (car l)))
                     (let part ((r (cdr l)) (lo '()) (hi '()))
                       (cond ((null? r) (append (qsort lo) (list p) (qsort hi)))
                             ((item<? (car r) p) (part (cdr r) (cons (car r) lo) hi))
                             (else (part (cdr r) lo (cons (car r) hi))))))))
             (map item-key (qsort (map item '(\"d\" \"a\" \"c\" \"b\"))))"
        ),
        "(\"a\" \"b\" \"c\" \"d\")"
    );
}

// A host object in an image is stale in the process that loads it: using
// it as a HostRef is an error that says why.
#[test]
fn a_host_object_from_an_image_is_stale() {
    let path = std::env::temp_dir().join(format!("imp-host-types-{}.img", std::process::id()));
    let mut rt = runtime(false);
    eval(&mut rt, "(define kept (point 1 2))");
    rt.save_image(&path, None).expect("save");
    let (mut again, _) = Runtime::from_image(&path).expect("load");
    let _ = std::fs::remove_file(&path);
    again
        .register("point-x", |_, (p,): (HostRef<Point>,)| Ok(p.x))
        .expect("register");
    match again.eval_str("(point-x kept)") {
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains("another runtime"), "{m}")
        }
        Ok(v) => panic!("expected a stale-object error, got {}", again.write(&v)),
    }
}

// Reading results in place (issue 22, item 3): lists, vectors,
// bytevectors, strings (ASCII borrowed, others decoded) and hash tables
// through a View, which roots nothing; under the collector's stress mode
// (every allocation collects), with the data made after many collections.
#[test]
fn in_place_readers_under_gc_stress() {
    let mut rt = runtime(true);
    let v = rt
        .eval_str(
            "(define big (let loop ((i 0) (acc '())) (if (= i 5000) (reverse acc) (loop (+ i 1) (cons i acc)))))
             (vector big (list->vector big) (make-bytevector 3 9) \"ascii\" \"λx\"
                     (let ((t (make-equal-hash-table)))
                       (hash-table-set! t \"a\" 1) (hash-table-set! t 'b 2.5) t)
                     (point 3 4) 'sym)",
        )
        .expect("eval");
    let view = rt.view(&v).expect("view");
    assert_eq!(view.len(), Some(8));
    let list = view.at(0).expect("list");
    assert_eq!(list.len(), Some(5000));
    assert_eq!(
        list.iter()
            .expect("iter")
            .filter_map(|e| e.as_i64())
            .sum::<i64>(),
        12_497_500
    );
    let vector = view.at(1).expect("vector");
    assert_eq!(vector.at(4999).and_then(|e| e.as_i64()), Some(4999));
    assert_eq!(vector.at(5000).map(|e| e.type_name()), None);
    assert_eq!(view.at(2).and_then(|e| e.bytes()), Some(&[9u8, 9, 9][..]));
    let ascii = view.at(3).and_then(|e| e.as_str()).expect("string");
    assert!(matches!(ascii, std::borrow::Cow::Borrowed("ascii")));
    assert_eq!(view.at(4).and_then(|e| e.as_str()).as_deref(), Some("λx"));
    let table = view.at(5).expect("table");
    assert_eq!(table.len(), Some(2));
    let mut entries: Vec<String> = table
        .entries()
        .expect("entries")
        .map(|(k, v)| format!("{k:?}={v:?}"))
        .collect();
    entries.sort();
    assert_eq!(entries, ["\"a\"=1", "b=2.5"]);
    assert_eq!(view.at(6).map(|e| e.type_name()), Some("host object"));
    assert_eq!(
        view.at(7).and_then(|e| e.symbol_name()).as_deref(),
        Some("sym")
    );
    // Not a list: no length; an improper list: no length either.
    assert_eq!(view.at(7).and_then(|e| e.len()), None);
    let improper = rt.eval_str("'(1 2 . 3)").expect("eval");
    assert_eq!(rt.view(&improper).expect("view").len(), None);
    let circular = rt
        .eval_str("(let ((l (list 1 2 3))) (set-cdr! (cddr l) l) l)")
        .expect("eval");
    let cview = rt.view(&circular).expect("view");
    assert_eq!(cview.len(), None);
    assert!(cview.iter().expect("iter").count() < 10_000_000);
}

// Borrowed arguments (`imp::Arg`): no handle is made for them; they can
// be looked at in place (a string's text borrowed), converted, returned
// and kept; one smuggled out of its call is an error when used, not
// whatever the stack holds by then.
#[test]
fn borrowed_arguments_are_valid_for_their_call_only() {
    let mut rt = imp::Runtime::new().expect("runtime");
    rt.register("second", |_, (_a, b): (imp::Arg, imp::Arg)| Ok(b))
        .expect("register");
    rt.register("text-length", |cx, (s,): (imp::Arg,)| {
        let view = cx.view(&s)?;
        let text = view
            .as_str()
            .ok_or_else(|| imp::Error::Type("expected a string".into()))?;
        let borrowed = matches!(text, std::borrow::Cow::Borrowed(_));
        Ok(vec![text.chars().count() as i64, i64::from(borrowed)])
    })
    .expect("register");
    rt.register("add", |cx, (a, b): (imp::Arg, imp::Arg)| {
        Ok(a.get::<i64>(cx)? + b.get::<i64>(cx)?)
    })
    .expect("register");
    let stash: std::rc::Rc<std::cell::RefCell<Option<imp::Arg>>> = Default::default();
    let kept: std::rc::Rc<std::cell::RefCell<Option<imp::Value>>> = Default::default();
    let (s2, k2) = (stash.clone(), kept.clone());
    rt.register("stash", move |cx, (a,): (imp::Arg,)| {
        *s2.borrow_mut() = Some(a);
        *k2.borrow_mut() = Some(a.keep(cx)?);
        Ok(())
    })
    .expect("register");
    let s3 = stash.clone();
    rt.register("use-stashed", move |cx, (): ()| {
        let a = s3.borrow().expect("stashed");
        a.get::<i64>(cx)
    })
    .expect("register");
    let eval = |rt: &mut imp::Runtime, src: &str| {
        let v = rt.eval_str(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        rt.write(&v)
    };
    assert_eq!(eval(&mut rt, "(second 1 '(a \"b\"))"), "(a \"b\")");
    assert_eq!(eval(&mut rt, "(text-length \"hello\")"), "(5 1)");
    assert_eq!(eval(&mut rt, "(text-length \"héllo\")"), "(5 0)");
    assert_eq!(eval(&mut rt, "(add 40 2)"), "42");
    assert_eq!(
        eval(
            &mut rt,
            "(guard (e ((error-object? e) (error-object-message e))) (add 1 'x))"
        ),
        "\"expected an exact integer that fits i64, got x\""
    );
    assert_eq!(eval(&mut rt, "(stash 99)"), "#<unspecified>");
    let kept_value = kept.borrow_mut().take().expect("kept");
    rt.collect_garbage().expect("gc");
    assert_eq!(kept_value.as_i64(&rt), Some(99));
    let e = rt
        .eval_str("(use-stashed)")
        .map(|v| rt.write(&v))
        .expect_err("stale argument");
    assert!(
        e.to_string()
            .contains("an argument of a native call was used after the call returned"),
        "{e}"
    );
    // A type check by the object's type index, from Rust.
    struct Item;
    let item = rt.host_object(Item).expect("item");
    let n = rt.eval_str("7").expect("7");
    assert!(rt.is_host::<Item>(&item));
    assert!(!rt.is_host::<String>(&item));
    assert!(!rt.is_host::<Item>(&n));
}
