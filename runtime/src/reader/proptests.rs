//! Tests of `write_datum`, and property tests: the reader never panics,
//! and printing then reading gives back the same datum.

use super::*;
use num_bigint::BigInt;
use proptest::prelude::*;

/// `d` with every position cleared, so shapes can be compared.
fn strip(d: &Datum) -> Datum {
    let kind = match &d.kind {
        DatumKind::List(items, tail) => DatumKind::List(
            items.iter().map(strip).collect(),
            tail.as_ref().map(|t| Box::new(strip(t))),
        ),
        DatumKind::Vector(items) => DatumKind::Vector(items.iter().map(strip).collect()),
        DatumKind::Label(n, inner) => DatumKind::Label(*n, Box::new(strip(inner))),
        k => k.clone(),
    };
    Datum::new(kind, Pos::default())
}

fn d(kind: DatumKind) -> Datum {
    Datum::new(kind, Pos::default())
}

fn w(kind: DatumKind) -> String {
    write_datum(&d(kind))
}

fn flo(x: f64) -> DatumKind {
    DatumKind::Num(Number::Flonum(x))
}

/// Reading `text` gives back exactly `datum` (positions aside).
fn reads_back(text: &str, datum: &Datum) -> Result<(), TestCaseError> {
    let all = read_all(text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
    prop_assert_eq!(all.len(), 1, "{:?} read as {:?}", text, all);
    prop_assert_eq!(&strip(&all[0]), &strip(datum), "text was {:?}", text);
    Ok(())
}

// ---------------------------------------------------------- write_datum

#[test]
fn writes_atoms() {
    assert_eq!(w(DatumKind::Bool(true)), "#t");
    assert_eq!(w(DatumKind::Bool(false)), "#f");
    assert_eq!(w(DatumKind::Num(Number::Fixnum(-42))), "-42");
    assert_eq!(
        w(DatumKind::Num(Number::Big(
            "123456789012345678901234567890".parse().unwrap()
        ))),
        "123456789012345678901234567890"
    );
    assert_eq!(
        w(DatumKind::Num(Number::Ratio(
            BigInt::from(-3),
            BigInt::from(2)
        ))),
        "-3/2"
    );
    assert_eq!(w(flo(1.0)), "1.0");
    assert_eq!(w(flo(-0.0)), "-0.0");
    assert_eq!(w(flo(0.1)), "0.1");
    assert_eq!(w(flo(1e21)), "1.0e21");
    assert_eq!(w(flo(1e-7)), "1.0e-7");
    assert_eq!(w(flo(1.5e-7)), "1.5e-7");
    assert_eq!(w(flo(f64::INFINITY)), "+inf.0");
    assert_eq!(w(flo(f64::NEG_INFINITY)), "-inf.0");
    assert_eq!(w(flo(f64::NAN)), "+nan.0");
    assert_eq!(w(DatumKind::Char('a')), "#\\a");
    assert_eq!(w(DatumKind::Char(' ')), "#\\space");
    assert_eq!(w(DatumKind::Char('\n')), "#\\newline");
    assert_eq!(w(DatumKind::Char('\0')), "#\\null");
    assert_eq!(w(DatumKind::Char('\u{1}')), "#\\x1");
    assert_eq!(w(DatumKind::Char('\u{a0}')), "#\\xa0");
    assert_eq!(w(DatumKind::Char('λ')), "#\\λ");
    assert_eq!(w(DatumKind::Char('(')), "#\\(");
    assert_eq!(
        w(DatumKind::Str("a\"b\\c\nd\u{1}λ|".into())),
        r#""a\"b\\c\nd\x1;λ|""#
    );
    assert_eq!(w(DatumKind::Keyword("key".into())), "#:key");
    assert_eq!(w(DatumKind::Keyword("a b".into())), "#:|a b|");
    assert_eq!(w(DatumKind::Bytevector(vec![1, 2, 255])), "#u8(1 2 255)");
    assert_eq!(w(DatumKind::Bytevector(vec![])), "#u8()");
    assert_eq!(w(DatumKind::LabelRef(3)), "#3#");
    assert_eq!(w(DatumKind::Opaque(7)), "#<opaque 7>");
}

#[test]
fn writes_symbols_with_bars_only_when_needed() {
    let sym = |s: &str| w(DatumKind::Sym(s.into()));
    for s in [
        "abc", "+", "-", "...", "->x", "λ", "1+", "a.b", "inf.0", "a'b", "a#b",
    ] {
        assert_eq!(sym(s), s);
    }
    assert_eq!(sym(""), "||");
    assert_eq!(sym("."), "|.|");
    assert_eq!(sym("1"), "|1|");
    assert_eq!(sym("-1.5"), "|-1.5|");
    assert_eq!(sym("1/0"), "|1/0|");
    assert_eq!(sym("+i"), "|+i|");
    assert_eq!(sym("+inf.0"), "|+inf.0|");
    assert_eq!(sym("a b"), "|a b|");
    assert_eq!(sym("#foo"), "|#foo|");
    assert_eq!(sym("'q"), "|'q|");
    assert_eq!(sym("a|b"), r"|a\|b|");
    assert_eq!(sym("a\\b"), r"|a\\b|");
    assert_eq!(sym("tab\t"), r"|tab\t|");
    assert_eq!(sym("(x)"), "|(x)|");
}

#[test]
fn writes_compound_datums() {
    let all = read_all("(a (b . c) #(1 #u8(2)) '#0=(x . #0#) [])").unwrap();
    assert_eq!(
        write_datum(&all[0]),
        "(a (b . c) #(1 #u8(2)) (quote #0=(x . #0#)) ())"
    );
}

// ------------------------------------------------------------- properties

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Fixnum),
        (any::<i64>(), any::<u64>())
            .prop_map(|(hi, lo)| Number::from_bigint((BigInt::from(hi) << 64) + lo)),
        (any::<i64>(), 1..i64::MAX).prop_filter_map("integral", |(n, d)| {
            Number::from_ratio(BigInt::from(n), BigInt::from(d))
        }),
        any::<f64>()
            .prop_filter("NaN never equals itself", |x| !x.is_nan())
            .prop_map(Number::Flonum),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(1e21),
            Just(1e-7),
            Just(5e-324),
            Just(f64::MAX)
        ]
        .prop_map(Number::Flonum),
    ]
}

/// Identifier-ish names: mostly plain, some needing bars.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z+\\-.!?*<>=/0-9]{1,6}",
        "[ -~]{0,6}",
        any::<String>(),
        Just(".".to_string()),
        Just("+i".to_string()),
    ]
}

fn atom() -> impl Strategy<Value = DatumKind> {
    prop_oneof![
        any::<bool>().prop_map(DatumKind::Bool),
        number().prop_map(DatumKind::Num),
        any::<char>().prop_map(DatumKind::Char),
        any::<String>().prop_map(DatumKind::Str),
        name().prop_map(DatumKind::Sym),
        name().prop_map(DatumKind::Keyword),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(DatumKind::Bytevector),
    ]
}

fn datum() -> impl Strategy<Value = Datum> {
    atom().prop_map(d).prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            (
                prop::collection::vec(inner.clone(), 0..6),
                prop::option::of(inner.clone())
            )
                .prop_map(|(mut items, tail)| {
                    // A tail needs at least one element before the dot,
                    // and a list tail is read as part of the list.
                    let mut tail = if items.is_empty() { None } else { tail };
                    while let Some(t) = tail.take_if(|t| matches!(t.kind, DatumKind::List(..))) {
                        if let DatumKind::List(more, rest) = t.into_kind() {
                            items.extend(more);
                            tail = rest.map(|r| *r);
                        }
                    }
                    d(DatumKind::List(items, tail.map(Box::new)))
                }),
            prop::collection::vec(inner, 0..6).prop_map(|items| d(DatumKind::Vector(items))),
        ]
    })
}

/// Text shaped like Scheme source, to reach deep into the reader.
fn schemeish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("#("),
        Just("#u8("),
        Just("'"),
        Just("`"),
        Just(","),
        Just(",@"),
        Just("."),
        Just(" "),
        Just("\n"),
        Just("#;"),
        Just("#|"),
        Just("|#"),
        Just(";"),
        Just("\""),
        Just("\\"),
        Just("|"),
        Just("#\\"),
        Just("#!fold-case"),
        Just("#0="),
        Just("#0#"),
        Just("#:"),
        Just("#x"),
        Just("#e"),
        Just("#i"),
        Just("1"),
        Just("/"),
        Just("e"),
        Just("i"),
        Just("+"),
        Just("-"),
        Just("a"),
        Just("x41;"),
        Just("λ"),
        Just("#t"),
        Just("#"),
        Just("inf.0"),
        Just("space"),
        Just("\r"),
        Just("\t"),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// Read everything, checking the invariants errors and offsets promise.
fn read_everything(src: &str) {
    let mut r = Reader::new(src);
    for _ in 0..src.len() + 2 {
        match r.read() {
            Ok(None) => {
                assert_eq!(r.offset(), src.len());
                return;
            }
            Ok(Some(d)) => {
                assert!(src.is_char_boundary(r.offset()));
                let _ = write_datum(&d);
            }
            Err(e) => {
                assert!(!e.message.is_empty());
                assert!(src.is_char_boundary(r.offset()));
                if e.incomplete {
                    return;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let src = String::from_utf8_lossy(&bytes);
        read_everything(&src);
        let _ = parse_number(&src, 10);
        let _ = parse_number(&src, 16);
    }

    #[test]
    fn random_ascii_never_panics(src in "[ -~\t\n\r]{0,64}") {
        read_everything(&src);
        let _ = parse_number(&src, 2);
    }

    #[test]
    fn schemeish_text_never_panics(src in schemeish()) {
        read_everything(&src);
        for radix in [2, 8, 10, 16] {
            let _ = parse_number(&src, radix);
        }
    }

    #[test]
    fn write_then_read_round_trips(datum in datum()) {
        reads_back(&write_datum(&datum), &datum)?;
    }

    #[test]
    fn numbers_round_trip_through_text(n in number()) {
        let text = write_datum(&d(DatumKind::Num(n.clone())));
        prop_assert_eq!(parse_number(&text, 10), Some(n));
    }

    /// The exact-to-inexact conversion agrees with Rust's (correctly
    /// rounded) decimal parser on the same decimal, across the normal,
    /// subnormal and overflow ranges.
    #[test]
    fn exact_to_inexact_is_correctly_rounded(
        int in "[0-9]{1,25}",
        frac in "[0-9]{0,25}",
        exp in -360i32..330,
        negative in any::<bool>(),
    ) {
        let sign = if negative { "-" } else { "" };
        let text = format!("{sign}{int}.{frac}e{exp}");
        let exact = parse_number(&format!("#e{text}"), 10).expect("exact");
        let expected: f64 = text.parse().unwrap();
        // `==`, not bits: `#e-0.0` is exact 0, which has no sign.
        prop_assert_eq!(exact.to_f64(), expected, "{}", text);
    }

    #[test]
    fn small_ratios_convert_like_float_division(n in -(1i64 << 53)..(1i64 << 53), den in 1i64..(1i64 << 53)) {
        // Both operands are exact as f64, so IEEE division rounds once.
        let expected = n as f64 / den as f64;
        let got = super::number::ratio_to_f64(&BigInt::from(n), &BigInt::from(den));
        prop_assert_eq!(got, expected);
    }
}
