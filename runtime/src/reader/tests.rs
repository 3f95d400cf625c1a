use super::*;
use num_bigint::BigInt;

// ---------------------------------------------------------------- helpers

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
fn sym(s: &str) -> Datum {
    d(DatumKind::Sym(s.into()))
}
fn int(v: i64) -> Datum {
    d(DatumKind::Num(Number::Fixnum(v)))
}
fn list(items: Vec<Datum>) -> Datum {
    d(DatumKind::List(items, None))
}
fn dotted(items: Vec<Datum>, tail: Datum) -> Datum {
    d(DatumKind::List(items, Some(Box::new(tail))))
}

/// Read exactly one datum from `src`, positions stripped.
fn one(src: &str) -> Datum {
    let all = read_all(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    assert_eq!(all.len(), 1, "{src:?} read as {all:?}");
    strip(&all[0])
}

fn kind(src: &str) -> DatumKind {
    one(src).into_kind()
}

fn err(src: &str) -> ReadError {
    match read_all(src) {
        Ok(v) => panic!("{src:?} read as {v:?}, expected an error"),
        Err(e) => e,
    }
}

/// `src` fails, malformed (not incomplete), with a message containing `needle`.
fn bad(src: &str, needle: &str) {
    let e = err(src);
    assert!(
        e.message.contains(needle),
        "{src:?}: {:?} lacks {needle:?}",
        e.message
    );
    assert!(!e.incomplete, "{src:?}: {e} should not be incomplete");
}

/// `src` fails as incomplete, with a message containing `needle`.
fn incomplete(src: &str, needle: &str) {
    let e = err(src);
    assert!(
        e.message.contains(needle),
        "{src:?}: {:?} lacks {needle:?}",
        e.message
    );
    assert!(e.incomplete, "{src:?}: {e} should be incomplete");
}

fn num(s: &str) -> Option<Number> {
    parse_number(s, 10)
}
fn fix(v: i64) -> Option<Number> {
    Some(Number::Fixnum(v))
}
fn flo(x: f64) -> Option<Number> {
    Some(Number::Flonum(x))
}
fn ratio(n: i64, d: i64) -> Option<Number> {
    Some(Number::Ratio(BigInt::from(n), BigInt::from(d)))
}
fn big(s: &str) -> BigInt {
    s.parse().unwrap()
}

// ------------------------------------------------------------ atmosphere

#[test]
fn comments_and_whitespace() {
    assert_eq!(one("  ; line\n\t42 ; after"), int(42));
    assert_eq!(one("#| block |# 1"), int(1));
    assert_eq!(one("#| a #| nested |# still comment |# 2"), int(2));
    assert_eq!(one("#|#|#||#|#|#3"), int(3));
    assert_eq!(read_all("  ; only a comment\n #| and |# ").unwrap(), vec![]);
    assert_eq!(read_all("").unwrap(), vec![]);
}

#[test]
fn datum_comments() {
    assert_eq!(one("#; a b"), sym("b"));
    assert_eq!(one("#;#; a b c"), sym("c"));
    assert_eq!(one("#;(1 (2 3)) 4"), int(4));
    assert_eq!(one("(a #;b c)"), list(vec![sym("a"), sym("c")]));
    assert_eq!(one("(a . #;b c)"), dotted(vec![sym("a")], sym("c")));
    assert_eq!(one("(a #;'b)"), list(vec![sym("a")]));
    assert_eq!(read_all("1 #;2").unwrap().len(), 1);
    incomplete("#;", "after `#;`");
    incomplete("(#;", "after `#;`");
    incomplete("(#; a", "unterminated list");
    bad("(a #;)", "expected a datum after `#;`");
}

#[test]
fn fold_case_directives() {
    assert_eq!(one("#!fold-case ABC"), sym("abc"));
    assert_eq!(one("#!fold-case |ABC|"), sym("ABC"));
    assert_eq!(one("#!fold-case ΑΒΓ"), sym("αβγ"));
    assert_eq!(kind("#!fold-case #\\SPACE"), DatumKind::Char(' '));
    assert_eq!(kind("#!fold-case #\\A"), DatumKind::Char('A'));
    assert_eq!(kind("#!fold-case #\\X41"), DatumKind::Char('A'));
    assert_eq!(kind("#!fold-case #:KEY"), DatumKind::Keyword("key".into()));
    assert_eq!(kind("#!fold-case \"ABC\""), DatumKind::Str("ABC".into()));
    assert_eq!(one("#!fold-case #!no-fold-case ABC"), sym("ABC"));
    // The directive holds for later reads from the same reader.
    let mut r = Reader::new("#!fold-case A B #!no-fold-case C");
    let names: Vec<_> = std::iter::from_fn(|| r.read().unwrap())
        .map(|d| strip(&d))
        .collect();
    assert_eq!(names, vec![sym("a"), sym("b"), sym("C")]);
    // Without the directive, case matters.
    assert_eq!(one("ABC"), sym("ABC"));
    bad("#\\SPACE", "unknown character name `#\\SPACE`");
    bad("#!fold-cases", "unknown directive `#!fold-cases`");
    bad("#!eof", "unknown directive");
}

#[test]
fn shebang_line() {
    assert_eq!(one("#!/usr/bin/env imp\n(a)"), list(vec![sym("a")]));
    assert_eq!(one("#! imp -s\n1"), int(1));
    assert_eq!(read_all("#!/usr/bin/env imp").unwrap(), vec![]);
    // Only at the very start.
    bad("1 #!/usr/bin/env imp", "unknown directive");
    bad(" #!/bin/imp\n1", "unknown directive");
}

// ----------------------------------------------------------------- atoms

#[test]
fn identifiers() {
    for s in [
        "+",
        "-",
        "...",
        "->x",
        "+a",
        "-.foo",
        "a.b",
        "λ",
        "x1",
        "1+",
        "<=?",
        "a->b",
        "!$%&*/:<=>?^_~",
        "..",
        "+.a",
        "@",
        "a'b",
        "inf.0",
        "nan.0",
        "1.2.3",
        "a#b",
        "+-",
        "-inf",
        "ünïcödé",
    ] {
        assert_eq!(one(s), sym(s), "{s}");
    }
    assert_eq!(one("|foo bar|"), sym("foo bar"));
    assert_eq!(one("|a\\x41;b|"), sym("aAb"));
    assert_eq!(one("|a\\|b|"), sym("a|b"));
    assert_eq!(one("|\\a\\b\\t\\n\\r\\\\|"), sym("\u{7}\u{8}\t\n\r\\"));
    assert_eq!(one("||"), sym(""));
    assert_eq!(one("|1|"), sym("1"));
    assert_eq!(one("|line\nbreak|"), sym("line\nbreak"));
    assert_eq!(
        read_all("abc|def|")
            .unwrap()
            .iter()
            .map(strip)
            .collect::<Vec<_>>(),
        vec![sym("abc"), sym("def")]
    );
    bad("|a\\qb|", "bad escape `\\q` in symbol");
    incomplete("|abc", "unterminated `|` symbol");
    incomplete("|abc\\", "unterminated");
}

#[test]
fn booleans() {
    for (s, b) in [
        ("#t", true),
        ("#f", false),
        ("#true", true),
        ("#false", false),
        ("#T", true),
        ("#FALSE", false),
    ] {
        assert_eq!(kind(s), DatumKind::Bool(b), "{s}");
    }
    // No delimiter between them: one bad token, not two booleans.
    bad("(#t#f)", "bad `#` syntax `#t#f`");
    bad("#tru", "bad `#` syntax `#tru`");
}

#[test]
fn characters() {
    let cases = [
        ("#\\a", 'a'),
        ("#\\A", 'A'),
        ("#\\λ", 'λ'),
        ("#\\x", 'x'),
        ("#\\x41", 'A'),
        ("#\\x3bb", 'λ'),
        ("#\\x0", '\0'),
        ("#\\alarm", '\u{7}'),
        ("#\\backspace", '\u{8}'),
        ("#\\delete", '\u{7f}'),
        ("#\\escape", '\u{1b}'),
        ("#\\newline", '\n'),
        ("#\\null", '\0'),
        ("#\\return", '\r'),
        ("#\\space", ' '),
        ("#\\tab", '\t'),
        ("#\\(", '('),
        ("#\\)", ')'),
        ("#\\ ", ' '),
        ("#\\;", ';'),
        ("#\\|", '|'),
        ("#\\\"", '"'),
        ("#\\#", '#'),
        ("#\\\\", '\\'),
    ];
    for (s, c) in cases {
        assert_eq!(kind(s), DatumKind::Char(c), "{s}");
    }
    assert_eq!(one("(#\\))"), list(vec![d(DatumKind::Char(')'))]));
    assert_eq!(
        one("(#\\( a)"),
        list(vec![d(DatumKind::Char('(')), sym("a")])
    );
    bad("#\\foo", "unknown character name `#\\foo`");
    bad("#\\Space", "unknown character name");
    bad("#\\λx", "unknown character name");
    bad("#\\x110000", "bad character scalar value");
    bad("#\\xd800", "bad character scalar value");
    incomplete("#\\", "after `#\\`");
}

#[test]
fn strings() {
    assert_eq!(kind(r#""hello""#), DatumKind::Str("hello".into()));
    assert_eq!(kind(r#""""#), DatumKind::Str("".into()));
    assert_eq!(
        kind(r#""\a\b\t\n\r\"\\\|""#),
        DatumKind::Str("\u{7}\u{8}\t\n\r\"\\|".into())
    );
    assert_eq!(kind(r#""\x41;\x3bb;\X42;""#), DatumKind::Str("AλB".into()));
    assert_eq!(kind("\"a\\  \n   b\""), DatumKind::Str("ab".into()));
    assert_eq!(kind("\"a\\\r\n\tb\""), DatumKind::Str("ab".into()));
    assert_eq!(kind("\"a\\\nb\""), DatumKind::Str("ab".into()));
    assert_eq!(kind("\"two\nlines\""), DatumKind::Str("two\nlines".into()));
    assert_eq!(kind("\"λ;|(\""), DatumKind::Str("λ;|(".into()));
    bad(r#""a\qb""#, "bad escape `\\q` in string");
    bad(r#""\x4g;""#, "bad escape `\\x4g` in string");
    bad(r#""\x;""#, "not a Unicode scalar value");
    bad(r#""\xd800;""#, "not a Unicode scalar value");
    bad(r#""\xffffffffffff;""#, "not a Unicode scalar value");
    bad("\"a\\  b\"", "bad escape");
    incomplete("\"abc", "unterminated string");
    incomplete("\"abc\\", "unterminated string");
    incomplete("\"\\x41", "unterminated string");
    incomplete("(\"abc)", "unterminated string");
}

#[test]
fn keywords() {
    assert_eq!(kind("#:foo"), DatumKind::Keyword("foo".into()));
    assert_eq!(kind("#:|a b|"), DatumKind::Keyword("a b".into()));
    assert_eq!(kind("#:||"), DatumKind::Keyword("".into()));
    assert_eq!(kind("#:1"), DatumKind::Keyword("1".into()));
    assert_eq!(one("(#:k)"), list(vec![d(DatumKind::Keyword("k".into()))]));
    bad("#: x", "empty keyword");
    incomplete("#:", "after `#:`");
}

// --------------------------------------------------------------- numbers

#[test]
fn integers() {
    assert_eq!(num("0"), fix(0));
    assert_eq!(num("42"), fix(42));
    assert_eq!(num("-42"), fix(-42));
    assert_eq!(num("+42"), fix(42));
    assert_eq!(num("007"), fix(7));
    assert_eq!(num("9223372036854775807"), fix(i64::MAX));
    assert_eq!(num("-9223372036854775808"), fix(i64::MIN));
    assert_eq!(
        num("9223372036854775808"),
        Some(Number::Big(big("9223372036854775808")))
    );
    assert_eq!(
        num("-9223372036854775809"),
        Some(Number::Big(big("-9223372036854775809")))
    );
    let huge = "123456789".repeat(20);
    assert_eq!(num(&huge), Some(Number::Big(big(&huge))));
    assert_eq!(num("-0"), fix(0));
}

#[test]
fn radix_and_exactness_prefixes() {
    assert_eq!(num("#xff"), fix(255));
    assert_eq!(num("#XFF"), fix(255));
    assert_eq!(num("#x-Ff"), fix(-255));
    assert_eq!(num("#b101"), fix(5));
    assert_eq!(num("#o17"), fix(15));
    assert_eq!(num("#d10"), fix(10));
    assert_eq!(num("#e#x10"), fix(16));
    assert_eq!(num("#x#e10"), fix(16));
    assert_eq!(num("#i#x10"), flo(16.0));
    assert_eq!(num("#x#i10"), flo(16.0));
    assert_eq!(num("#x1/a"), ratio(1, 10));
    assert_eq!(
        num("#xffffffffffffffffff"),
        Some(Number::Big(big("4722366482869645213695")))
    );
    assert_eq!(parse_number("ff", 16), fix(255));
    assert_eq!(parse_number("101", 2), fix(5));
    assert_eq!(parse_number("#d1.5", 16), flo(1.5));
    assert_eq!(parse_number("777", 8), fix(511));
    for s in [
        "#x#x1", "#e#i1", "#x", "#", "#e", "#b2", "#o8", "#x1g", "#x1.5", "#b1e2", "#q1", "# 1",
        "#x 1",
    ] {
        assert_eq!(num(s), None, "{s}");
    }
    assert_eq!(parse_number("1.5", 16), None);
    assert_eq!(parse_number("1", 3), None);
    assert_eq!(parse_number("1", 0), None);
    assert_eq!(parse_number("1", 37), None);
}

#[test]
fn decimals() {
    assert_eq!(num("1.5"), flo(1.5));
    assert_eq!(num(".5"), flo(0.5));
    assert_eq!(num("-.5"), flo(-0.5));
    assert_eq!(num("1."), flo(1.0));
    assert_eq!(num("1e10"), flo(1e10));
    assert_eq!(num("1E3"), flo(1000.0));
    assert_eq!(num("1.5e-3"), flo(1.5e-3));
    assert_eq!(num("1.5e+3"), flo(1500.0));
    assert_eq!(num("0.1"), flo(0.1));
    assert_eq!(num("1e400"), flo(f64::INFINITY));
    assert_eq!(num("1e-400"), flo(0.0));
    assert_eq!(num("1e99999999999999999999999"), flo(f64::INFINITY));
    let neg_zero = num("-0.0");
    assert!(matches!(neg_zero, Some(Number::Flonum(x)) if x == 0.0 && x.is_sign_negative()));
    for s in [
        ".", "1e", "e1", "1.2.3", "1e1.5", "1e+", "+.", "1.5f", "1_0", "inf", "nan", "infinity",
        "1..2", "1/2.5",
    ] {
        assert_eq!(num(s), None, "{s}");
    }
}

#[test]
fn rationals() {
    assert_eq!(num("1/3"), ratio(1, 3));
    assert_eq!(num("-1/3"), ratio(-1, 3));
    assert_eq!(num("4/2"), fix(2));
    assert_eq!(num("-6/4"), ratio(-3, 2));
    assert_eq!(num("0/5"), fix(0));
    assert_eq!(num("1/0"), None);
    assert_eq!(num("#e1/0"), None);
    assert_eq!(num("1/-2"), None);
    assert_eq!(num("1/"), None);
    assert_eq!(num("/2"), None);
    assert_eq!(num("1/2/3"), None);
    assert_eq!(num("#i1/3"), flo(1.0 / 3.0));
    assert_eq!(num("#i-1/3"), flo(-1.0 / 3.0));
    let b = "100000000000000000000000000000";
    assert_eq!(
        num(&format!("{b}1/{b}0")),
        Some(Number::Ratio(big(&format!("{b}1")), big(&format!("{b}0"))))
    );
}

#[test]
fn exactness() {
    assert_eq!(num("#e1.5"), ratio(3, 2));
    assert_eq!(num("#e-1.5"), ratio(-3, 2));
    assert_eq!(num("#e1.0"), fix(1));
    assert_eq!(num("#e.25"), ratio(1, 4));
    assert_eq!(num("#e1e3"), fix(1000));
    assert_eq!(num("#e1.5e-3"), ratio(3, 2000));
    assert_eq!(num("#e0e99999999"), fix(0));
    let mut e400 = String::from("1");
    e400.push_str(&"0".repeat(400));
    assert_eq!(num("#e1e400"), Some(Number::Big(big(&e400))));
    assert_eq!(num("#i1"), flo(1.0));
    assert_eq!(num("#i-7"), flo(-7.0));
    assert_eq!(num("#i1.5"), flo(1.5));
    assert_eq!(num(&format!("#i{e400}")), flo(f64::INFINITY));
    assert_eq!(num("#e+inf.0"), None);
    assert_eq!(num("#e1e999999999"), None);
}

#[test]
fn infinities_and_nans() {
    assert_eq!(num("+inf.0"), flo(f64::INFINITY));
    assert_eq!(num("-inf.0"), flo(f64::NEG_INFINITY));
    assert_eq!(num("+INF.0"), flo(f64::INFINITY));
    assert_eq!(num("#i+inf.0"), flo(f64::INFINITY));
    assert_eq!(num("#x-inf.0"), flo(f64::NEG_INFINITY));
    for s in ["+nan.0", "-nan.0", "+NaN.0"] {
        assert!(
            matches!(num(s), Some(Number::Flonum(x)) if x.is_nan()),
            "{s}"
        );
    }
    assert_eq!(num("inf.0"), None);
    assert_eq!(num("+inf.1"), None);
}

#[test]
fn complex_syntax_reads_as_complex_numbers() {
    let c = |re: Number, im: Number| Some(Number::complex(re, im));
    assert_eq!(num("1+2i"), c(Number::Fixnum(1), Number::Fixnum(2)));
    assert_eq!(num("+i"), c(Number::Fixnum(0), Number::Fixnum(1)));
    assert_eq!(num("-i"), c(Number::Fixnum(0), Number::Fixnum(-1)));
    assert_eq!(num("1-i"), c(Number::Fixnum(1), Number::Fixnum(-1)));
    assert_eq!(num("+2i"), c(Number::Fixnum(0), Number::Fixnum(2)));
    assert_eq!(
        num("1.5e3-2.5e-2i"),
        c(Number::Flonum(1500.0), Number::Flonum(-0.025))
    );
    assert_eq!(num("#x1+fi"), c(Number::Fixnum(1), Number::Fixnum(15)));
    assert_eq!(num("1+0i"), Some(Number::Fixnum(1)));
    assert_eq!(num("1@0"), Some(Number::Fixnum(1)));
    assert!(matches!(num("1@2"), Some(Number::Complex(..))));
    assert!(matches!(num("+inf.0i"), Some(Number::Complex(..))));
    assert!(matches!(num("1/2+3/4i"), Some(Number::Complex(..))));
    assert_eq!(num("#i+i"), c(Number::Flonum(0.0), Number::Flonum(1.0)));
    // Not complex: symbols that merely end in `i`, or an `@` between
    // non-numbers.
    for s in ["hi", "pi", "1+xi", "a@b", "i", "1+2j"] {
        assert_eq!(one(s), sym(s));
    }
}

#[test]
fn numbers_in_the_reader() {
    assert_eq!(kind("42"), DatumKind::Num(Number::Fixnum(42)));
    assert_eq!(kind("#xff"), DatumKind::Num(Number::Fixnum(255)));
    assert_eq!(
        kind("#e1.5"),
        DatumKind::Num(Number::Ratio(BigInt::from(3), BigInt::from(2)))
    );
    assert_eq!(kind("-.5"), DatumKind::Num(Number::Flonum(-0.5)));
    bad("#x1g", "bad number syntax `#x1g`");
    bad("#e+inf.0", "bad number syntax");
    bad("#i1/0", "bad number syntax");
    bad("#b102", "bad number syntax `#b102`");
    bad("1/0", "bad number syntax `1/0`");
    bad("-5/0", "division by zero");
}

#[test]
fn inexact_conversion_is_correctly_rounded() {
    // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: round to even.
    assert_eq!(num("#i9007199254740993"), flo(9007199254740992.0));
    assert_eq!(num("#i9007199254740995"), flo(9007199254740996.0));
    // Just above a tie rounds up; converting via a truncated 64-bit
    // mantissa would see an exact tie and round down to even.
    let above = (BigInt::from(1) << 80) + (BigInt::from(1) << 27) + 1;
    assert_eq!(
        num(&format!("#i{above}")),
        flo(2f64.powi(80) + 2f64.powi(28))
    );
    let tie = (BigInt::from(1) << 80) + (BigInt::from(1) << 27);
    assert_eq!(num(&format!("#i{tie}")), flo(2f64.powi(80)));
    // Subnormals and the edges of the range.
    assert_eq!(num("#i1/2"), flo(0.5));
    let tiny = format!("1/{}", BigInt::from(2).pow(1074));
    assert_eq!(num(&format!("#i{tiny}")), flo(f64::from_bits(1)));
    let below_half = format!("1/{}", BigInt::from(2).pow(1076));
    assert_eq!(num(&format!("#i{below_half}")), flo(0.0));
    let max = BigInt::from(2).pow(1024) - BigInt::from(2).pow(970);
    assert_eq!(num(&format!("#i{max}")), flo(f64::INFINITY));
    let almost = BigInt::from(2).pow(1024) - BigInt::from(2).pow(971);
    assert_eq!(num(&format!("#i{almost}")), flo(f64::MAX));
    assert_eq!(Number::Fixnum(3).to_f64(), 3.0);
}

// ------------------------------------------------------- compound datums

#[test]
fn lists_and_pairs() {
    assert_eq!(one("()"), list(vec![]));
    assert_eq!(one("[]"), list(vec![]));
    assert_eq!(one("(a b c)"), list(vec![sym("a"), sym("b"), sym("c")]));
    assert_eq!(
        one("[a (b) [c]]"),
        list(vec![sym("a"), list(vec![sym("b")]), list(vec![sym("c")])])
    );
    assert_eq!(one("(a . b)"), dotted(vec![sym("a")], sym("b")));
    assert_eq!(one("(a b . c)"), dotted(vec![sym("a"), sym("b")], sym("c")));
    assert_eq!(one("(a . (b))"), list(vec![sym("a"), sym("b")]));
    assert_eq!(one("(a .b)"), list(vec![sym("a"), sym(".b")]));
    assert_eq!(
        one("(1 .5)"),
        list(vec![int(1), d(DatumKind::Num(Number::Flonum(0.5)))])
    );
    assert_eq!(one("(a.b)"), list(vec![sym("a.b")]));
    assert_eq!(one("(a ...)"), list(vec![sym("a"), sym("...")]));
}

#[test]
fn list_errors() {
    bad(")", "unexpected `)`");
    bad("]", "unexpected `]`");
    bad("(a))", "unexpected `)`");
    bad("( . a)", "a datum must come before `.`");
    bad("(a . )", "expected a datum after `.`");
    bad("(a . b c)", "expected `)` after datum following `.`");
    bad("(a . b . c)", "expected `)` after datum following `.`");
    bad("(a . . b)", "expected a datum after `.`");
    bad(".", "unexpected `.`");
    bad("#(1 . 2)", "unexpected `.`");
    bad("'.", "unexpected `.`");
    bad("(a]", "unexpected `]`: expected `)`");
    bad("[a)", "unexpected `)`: expected `]`");
    bad("#(a]", "unexpected `]`");
    bad("(')", "expected a datum after `'`");
    bad("(#0=)", "expected a datum after `#0=`");
    incomplete("(", "unterminated list");
    incomplete("(a (b)", "unterminated list");
    incomplete("[a", "missing `]`");
    incomplete("(a .", "unterminated list");
    incomplete("(a . b", "unterminated list");
}

#[test]
fn abbreviations() {
    let q = |name: &str, x: Datum| list(vec![sym(name), x]);
    assert_eq!(one("'x"), q("quote", sym("x")));
    assert_eq!(one("`x"), q("quasiquote", sym("x")));
    assert_eq!(one(",x"), q("unquote", sym("x")));
    assert_eq!(one(",@x"), q("unquote-splicing", sym("x")));
    assert_eq!(one("' x"), q("quote", sym("x")));
    assert_eq!(one("''x"), q("quote", q("quote", sym("x"))));
    assert_eq!(
        one("'(a ,b)"),
        q("quote", list(vec![sym("a"), q("unquote", sym("b"))]))
    );
    assert_eq!(one("'#;a b"), q("quote", sym("b")));
    incomplete("'", "after `'`");
    incomplete("`", "after ```");
    incomplete(",@", "after `,@`");
    incomplete("(a ,", "after `,`");
}

#[test]
fn vectors_and_bytevectors() {
    assert_eq!(kind("#()"), DatumKind::Vector(vec![]));
    assert_eq!(
        kind("#(1 #(a) \"s\")"),
        DatumKind::Vector(vec![
            int(1),
            d(DatumKind::Vector(vec![sym("a")])),
            d(DatumKind::Str("s".into()))
        ])
    );
    assert_eq!(kind("#u8()"), DatumKind::Bytevector(vec![]));
    assert_eq!(
        kind("#u8(0 1 255 #xff #;999)"),
        DatumKind::Bytevector(vec![0, 1, 255, 255])
    );
    assert_eq!(kind("#U8(7)"), DatumKind::Bytevector(vec![7]));
    for s in [
        "#u8(256)",
        "#u8(-1)",
        "#u8(1.0)",
        "#u8(a)",
        "#u8((1))",
        "#u8('1)",
        "#u8(#e1.5)",
    ] {
        bad(
            s,
            "bytevector element must be an exact integer between 0 and 255",
        );
    }
    bad("#u8[1]", "bad `#` syntax `#u8`");
    bad("#u9(1)", "bad `#` syntax `#u9`");
    incomplete("#(1 2", "unterminated vector");
    incomplete("#u8(1 2", "unterminated bytevector");
    incomplete("#u8", "after `#u8`");
}

#[test]
fn datum_labels() {
    assert_eq!(
        one("#0=(a . #0#)"),
        d(DatumKind::Label(
            0,
            Box::new(dotted(vec![sym("a")], d(DatumKind::LabelRef(0))))
        ))
    );
    assert_eq!(
        one("(#1=x #1#)"),
        list(vec![
            d(DatumKind::Label(1, Box::new(sym("x")))),
            d(DatumKind::LabelRef(1))
        ])
    );
    assert_eq!(
        one("#12='x"),
        d(DatumKind::Label(
            12,
            Box::new(list(vec![sym("quote"), sym("x")]))
        ))
    );
    bad("#1#", "undefined datum label #1#");
    bad("(#0# #0=a)", "undefined datum label #0#");
    bad("#0=#0#", "labels only itself");
    bad("(#0=a #0=b)", "datum label #0= defined twice");
    bad("#99999999999999999999999=a", "datum label number too large");
    bad("#1a", "bad `#` syntax `#1a`");
    bad("#007x", "bad `#` syntax `#007x`");
    // Labels are scoped to one top-level datum.
    let mut r = Reader::new("#0=a #0#");
    assert!(r.read().is_ok());
    assert!(
        r.read()
            .unwrap_err()
            .message
            .contains("undefined datum label #0#")
    );
    incomplete("#0=", "after `#0=`");
    incomplete("#0", "after `#0`");
}

#[test]
fn bad_hash_syntax() {
    bad("#q", "bad `#` syntax `#q`");
    bad("#[1]", "bad `#` syntax `#[`");
    bad("# a", "bad `#` syntax `# `");
    bad("#<foo>", "bad `#` syntax `#<foo>`");
    incomplete("#", "after `#`");
}

// ------------------------------------------------- positions and offsets

#[test]
fn positions() {
    let all = read_all("a\n  (b\tc \"d\ne\" f)\r\n'λg 'h").unwrap();
    assert_eq!(all[0].pos, Pos { line: 1, col: 1 });
    assert_eq!(all[1].pos, Pos { line: 2, col: 3 });
    let items = all[1].as_list().unwrap();
    assert_eq!(items[0].pos, Pos { line: 2, col: 4 });
    assert_eq!(items[1].pos, Pos { line: 2, col: 6 }); // a tab is one column
    assert_eq!(items[2].pos, Pos { line: 2, col: 8 });
    assert_eq!(items[3].pos, Pos { line: 3, col: 4 }); // after the string's newline
    assert_eq!(all[2].pos, Pos { line: 4, col: 1 }); // \r\n is one line break
    let quoted = all[2].as_list().unwrap();
    assert_eq!(quoted[0].pos, Pos { line: 4, col: 1 });
    assert_eq!(quoted[1].pos, Pos { line: 4, col: 2 });
    assert_eq!(all[3].pos, Pos { line: 4, col: 5 }); // λ is one column
    let e = err("(a\n  b c))");
    assert_eq!(e.pos, Pos { line: 2, col: 7 });
    let e = err("\n  (a (b)");
    assert_eq!(
        e.pos,
        Pos { line: 2, col: 3 },
        "unterminated list points at its `(`"
    );
    let e = err("x \"ab\\q\"");
    assert_eq!(
        e.pos,
        Pos { line: 1, col: 6 },
        "bad escape points at the backslash"
    );
    let e = err("a\rb )");
    assert_eq!(e.pos, Pos { line: 2, col: 3 }, "a lone \\r is a line break");
}

#[test]
fn offsets_and_continuing_reads() {
    let src = "(a b) λc ; done\n";
    let mut r = Reader::new(src);
    assert!(r.read().unwrap().is_some());
    assert_eq!(r.offset(), 5);
    assert_eq!(r.pos(), Pos { line: 1, col: 6 });
    let c = r.read().unwrap().unwrap();
    assert_eq!(c.as_sym(), Some("λc"));
    assert_eq!(&src[..r.offset()], "(a b) λc");
    assert_eq!(r.pos(), Pos { line: 1, col: 9 });
    assert_eq!(r.read().unwrap(), None);
    assert_eq!(r.offset(), src.len());
    assert_eq!(r.read().unwrap(), None);

    // A port continues where it left off.
    let mut r = Reader::new("x\n y").with_pos(Pos { line: 10, col: 5 });
    assert_eq!(r.read().unwrap().unwrap().pos, Pos { line: 10, col: 5 });
    assert_eq!(r.read().unwrap().unwrap().pos, Pos { line: 11, col: 2 });

    // After an error, reading resumes after the offending token.
    let mut r = Reader::new(") 1");
    assert!(r.read().is_err());
    assert_eq!(strip(&r.read().unwrap().unwrap()), int(1));
}

#[test]
fn error_display() {
    let e = err("\n  )");
    assert_eq!(e.to_string(), "line 2, column 3: unexpected `)`");
    assert_eq!(
        e,
        ReadError {
            message: "unexpected `)`".into(),
            pos: Pos { line: 2, col: 3 },
            incomplete: false
        }
    );
}

#[test]
fn block_comment_errors() {
    incomplete("#| never closed", "unterminated block comment");
    incomplete("#| #| |#", "unterminated block comment");
    incomplete("(a #| b", "unterminated block comment");
    assert_eq!(err("x\n #|").pos, Pos { line: 2, col: 2 });
}

// ------------------------------------------------------------ robustness

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let open = "(".repeat(100_000);
    bad(&open, "nesting too deep");
    bad(
        &format!("{open}{}", ")".repeat(100_000)),
        "nesting too deep",
    );
    bad(&"'".repeat(100_000), "nesting too deep");
    bad(&"#(".repeat(100_000), "nesting too deep");
    bad(&"#;".repeat(100_000), "nesting too deep");
}

#[test]
fn nesting_up_to_the_limit_works() {
    let n = MAX_NESTING;
    let src = format!("{}{}", "(".repeat(n), ")".repeat(n));
    let all = read_all(&src).unwrap();
    assert_eq!(write_datum(&all[0]), src);
    let quotes = format!("{}x", "'".repeat(n));
    assert_eq!(read_all(&quotes).unwrap().len(), 1);
    // Long flat lists are not nesting.
    let flat = format!("({})", "x ".repeat(200_000));
    assert_eq!(one(&flat).as_list().map(<[Datum]>::len), Some(200_000));
}

#[test]
fn many_block_comments_nest_without_recursion() {
    let src = format!("{}{} 5", "#|".repeat(100_000), "|#".repeat(100_000));
    assert_eq!(one(&src), int(5));
}

#[test]
fn a_dotted_list_tail_merges_into_the_list() {
    assert_eq!(one("(a . (b c))"), one("(a b c)"));
    assert_eq!(one("(a . ())"), one("(a)"));
    assert_eq!(one("(a . (b . (c . d)))"), one("(a b c . d)"));
    assert_eq!(one("((n 5) . ())"), one("((n 5))"));
    // A labelled tail stays a tail: the label names that pair.
    assert!(matches!(
        one("(a . #0=(b))").kind,
        DatumKind::List(_, Some(_))
    ));
}
