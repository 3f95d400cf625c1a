//! Characters, strings and symbols (R7RS 6.5, 6.6, 6.7), plus the UTF-8
//! conversions of 6.9, SRFI-130's `string-join` and the search under
//! `string-contains` (the rest of SRFI-130 is Scheme, in `strings.scm`).
//!
//! Strings are fixed-length arrays of chars in the heap (UTF-32, two per
//! word). Every string this module allocates has its padding half-word
//! zeroed, so two strings with the same characters have the same payload.

use std::cmp::Ordering;

use imp_gc::Value;

use super::data::index_error;
use super::list::list_arg;
use super::{MANY, PrimDef, arg, def, opt_arg};
use crate::obj::{BYTEVECTOR, STRING, SYMBOL, VECTOR};
use crate::vm::{Exn, Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("char?", 1, 1, char_p),
    def("char->integer", 1, 1, char_to_integer),
    def("integer->char", 1, 1, integer_to_char),
    def("char=?", 1, MANY, char_eq),
    def("char<?", 1, MANY, char_lt),
    def("char>?", 1, MANY, char_gt),
    def("char<=?", 1, MANY, char_le),
    def("char>=?", 1, MANY, char_ge),
    def("char-ci=?", 1, MANY, char_ci_eq),
    def("char-ci<?", 1, MANY, char_ci_lt),
    def("char-ci>?", 1, MANY, char_ci_gt),
    def("char-ci<=?", 1, MANY, char_ci_le),
    def("char-ci>=?", 1, MANY, char_ci_ge),
    def("char-alphabetic?", 1, 1, char_alphabetic_p),
    def("char-numeric?", 1, 1, char_numeric_p),
    def("char-whitespace?", 1, 1, char_whitespace_p),
    def("char-upper-case?", 1, 1, char_upper_case_p),
    def("char-lower-case?", 1, 1, char_lower_case_p),
    def("digit-value", 1, 1, digit_value),
    def("char-upcase", 1, 1, char_upcase),
    def("char-downcase", 1, 1, char_downcase),
    def("char-foldcase", 1, 1, char_foldcase),
    def("string?", 1, 1, string_p),
    def("make-string", 1, 2, make_string),
    def("string", 0, MANY, string),
    def("string-length", 1, 1, string_length),
    def("string-ref", 2, 2, string_ref),
    def("string-set!", 3, 3, string_set),
    def("substring", 2, 3, substring),
    def("string-append", 0, MANY, string_append),
    def("string-copy", 1, 3, string_copy),
    def("string-copy!", 3, 5, string_copy_to),
    def("string-fill!", 2, 4, string_fill),
    def("string->list", 1, 3, string_to_list),
    def("list->string", 1, 1, list_to_string),
    def("string->vector", 1, 3, string_to_vector),
    def("vector->string", 1, 3, vector_to_string),
    def("string=?", 1, MANY, string_eq),
    def("string<?", 1, MANY, string_lt),
    def("string>?", 1, MANY, string_gt),
    def("string<=?", 1, MANY, string_le),
    def("string>=?", 1, MANY, string_ge),
    def("string-ci=?", 1, MANY, string_ci_eq),
    def("string-ci<?", 1, MANY, string_ci_lt),
    def("string-ci>?", 1, MANY, string_ci_gt),
    def("string-ci<=?", 1, MANY, string_ci_le),
    def("string-ci>=?", 1, MANY, string_ci_ge),
    def("string-upcase", 1, 1, string_upcase),
    def("string-downcase", 1, 1, string_downcase),
    def("string-foldcase", 1, 1, string_foldcase),
    def("string-join", 1, 3, string_join),
    def("%string-search", 7, 7, string_search),
    def("symbol?", 1, 1, symbol_p),
    def("keyword?", 1, 1, keyword_p),
    def("symbol->string", 1, 1, symbol_to_string),
    def("string->symbol", 1, 1, string_to_symbol),
    def("symbol=?", 1, MANY, symbol_eq),
    def("string->utf8", 1, 3, string_to_utf8),
    def("utf8->string", 1, 3, utf8_to_string),
];

// ---- helpers ------------------------------------------------------------------

fn str_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, STRING, "a string")
}

/// A fresh string of `n` copies of `c`.
pub fn new_string(vm: &mut Vm, n: usize, c: char) -> VmResult<Value> {
    vm.make_string(n, c)
}

/// Argument `i` as an index below `len` into a string, checked.
fn string_index_arg(vm: &mut Vm, who: &str, base: usize, i: usize, len: usize) -> VmResult<usize> {
    let k = vm.index_arg(who, base, i)?;
    if k >= len {
        return Err(index_error(vm, who, k, "string", len));
    }
    Ok(k)
}

/// The single-character upper-case mapping of `c`, or `c`.
fn upcase(c: char) -> char {
    let mut m = c.to_uppercase();
    match (m.next(), m.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// The single-character lower-case mapping of `c`, or `c`.
fn downcase(c: char) -> char {
    let mut m = c.to_lowercase();
    match (m.next(), m.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Simple case folding: the lower case of the upper case.
fn foldcase(c: char) -> char {
    downcase(upcase(c))
}

/// Code points of the digit zero of each decimal-digit (Nd) run, from the
/// Unicode tables of the regex engine (every run is ten digits from a zero).
static DIGIT_ZEROS: std::sync::LazyLock<Vec<u32>> = std::sync::LazyLock::new(|| {
    use regex_syntax::hir::{Class, HirKind};
    let Ok(hir) = regex_syntax::Parser::new().parse(r"\p{Nd}") else {
        return vec![0x30];
    };
    let HirKind::Class(Class::Unicode(c)) = hir.kind() else {
        return vec![0x30];
    };
    c.ranges()
        .iter()
        .flat_map(|r| (r.start() as u32..=r.end() as u32).step_by(10))
        .collect()
});

/// The value of `c` as a decimal digit.
fn digit_of(c: char) -> Option<u32> {
    let n = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&z| n >= z && n < z + 10)
        .map(|&z| n - z)
}

/// Full case folding of a text (`ß` → `ss`, `ς` → `σ`), as `string-foldcase`
/// and the `-ci` string comparisons use it.
pub(crate) fn fold_text(t: &str) -> String {
    t.to_uppercase().to_lowercase().replace('ς', "σ")
}

/// Compare two heap strings, optionally case-folding.
pub(crate) fn compare_strings(vm: &Vm, a: Value, b: Value, ci: bool) -> Ordering {
    if ci {
        return fold_text(&vm.string_text(a)).cmp(&fold_text(&vm.string_text(b)));
    }
    let (la, lb) = (vm.string_len(a), vm.string_len(b));
    for i in 0..la.min(lb) {
        let (x, y) = (vm.string_ref(a, i), vm.string_ref(b, i));
        match x.cmp(&y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    la.cmp(&lb)
}

/// Copy `n` chars of `from` at `fstart` into `to` at `at`, overlap-safe.
/// `to` must be able to hold them (wide, or they are all narrow).
fn copy_chars(vm: &mut Vm, to: Value, at: usize, from: Value, fstart: usize, n: usize) {
    vm.copy_string_chars(to, at, from, fstart, n);
}

/// A fresh heap string of the chars `start..end` of argument `i`.
fn copy_of_arg(vm: &mut Vm, base: usize, i: usize, start: usize, end: usize) -> VmResult<Value> {
    let wide = !vm.string_range_narrow(arg(vm, base, i), start, end);
    let out = vm.blank_string(end - start, wide)?;
    let s = arg(vm, base, i);
    copy_chars(vm, out, 0, s, start, end - start);
    Ok(out)
}

// ---- characters -------------------------------------------------------------------

fn char_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(arg(vm, base, 0).as_char().is_some()))
}

fn char_to_integer(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = vm.char_arg("char->integer", base, 0)?;
    Ok(Value::fix(c as i64))
}

fn integer_to_char(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    let Some(n) = v.as_fixnum() else {
        return Err(vm.type_error("integer->char", "an exact integer", v));
    };
    match u32::try_from(n).ok().and_then(char::from_u32) {
        Some(c) => Ok(Value::char(c)),
        None => Err(vm.error(
            format!("integer->char: no character has code point {n}"),
            &[v],
        )),
    }
}

/// `(char<op>? c1 c2 ...)`: every adjacent pair satisfies `ok`.
fn char_chain(
    vm: &mut Vm,
    base: usize,
    argc: usize,
    who: &str,
    ci: bool,
    ok: fn(Ordering) -> bool,
) -> VmResult<Value> {
    let mut prev = vm.char_arg(who, base, 0)?;
    let mut result = true;
    for i in 1..argc {
        let c = vm.char_arg(who, base, i)?;
        let (x, y) = if ci {
            (foldcase(prev), foldcase(c))
        } else {
            (prev, c)
        };
        result &= ok(x.cmp(&y));
        prev = c;
    }
    Ok(Value::bool(result))
}

/// `(string<op>? s1 s2 ...)`: every adjacent pair satisfies `ok`.
fn string_chain(
    vm: &mut Vm,
    base: usize,
    argc: usize,
    who: &str,
    ci: bool,
    ok: fn(Ordering) -> bool,
) -> VmResult<Value> {
    for i in 0..argc {
        str_arg(vm, who, base, i)?;
    }
    let result = (1..argc).all(|i| {
        ok(compare_strings(
            vm,
            arg(vm, base, i - 1),
            arg(vm, base, i),
            ci,
        ))
    });
    Ok(Value::bool(result))
}

macro_rules! chains {
    ($($name:ident $chain:ident $who:literal $ci:literal $ok:path;)*) => {$(
        fn $name(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
            $chain(vm, base, argc, $who, $ci, $ok)
        }
    )*};
}

chains! {
    char_eq char_chain "char=?" false Ordering::is_eq;
    char_lt char_chain "char<?" false Ordering::is_lt;
    char_gt char_chain "char>?" false Ordering::is_gt;
    char_le char_chain "char<=?" false Ordering::is_le;
    char_ge char_chain "char>=?" false Ordering::is_ge;
    char_ci_eq char_chain "char-ci=?" true Ordering::is_eq;
    char_ci_lt char_chain "char-ci<?" true Ordering::is_lt;
    char_ci_gt char_chain "char-ci>?" true Ordering::is_gt;
    char_ci_le char_chain "char-ci<=?" true Ordering::is_le;
    char_ci_ge char_chain "char-ci>=?" true Ordering::is_ge;
    string_eq string_chain "string=?" false Ordering::is_eq;
    string_lt string_chain "string<?" false Ordering::is_lt;
    string_gt string_chain "string>?" false Ordering::is_gt;
    string_le string_chain "string<=?" false Ordering::is_le;
    string_ge string_chain "string>=?" false Ordering::is_ge;
    string_ci_eq string_chain "string-ci=?" true Ordering::is_eq;
    string_ci_lt string_chain "string-ci<?" true Ordering::is_lt;
    string_ci_gt string_chain "string-ci>?" true Ordering::is_gt;
    string_ci_le string_chain "string-ci<=?" true Ordering::is_le;
    string_ci_ge string_chain "string-ci>=?" true Ordering::is_ge;
}

macro_rules! char_tests {
    ($($name:ident $who:literal $test:expr;)*) => {$(
        fn $name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
            let c = vm.char_arg($who, base, 0)?;
            let test: fn(char) -> bool = $test;
            Ok(Value::bool(test(c)))
        }
    )*};
}

char_tests! {
    char_alphabetic_p "char-alphabetic?" char::is_alphabetic;
    char_numeric_p "char-numeric?" |c| digit_of(c).is_some();
    char_whitespace_p "char-whitespace?" char::is_whitespace;
    char_upper_case_p "char-upper-case?" char::is_uppercase;
    char_lower_case_p "char-lower-case?" char::is_lowercase;
}

macro_rules! char_maps {
    ($($name:ident $who:literal $map:path;)*) => {$(
        fn $name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
            let c = vm.char_arg($who, base, 0)?;
            Ok(Value::char($map(c)))
        }
    )*};
}

char_maps! {
    char_upcase "char-upcase" upcase;
    char_downcase "char-downcase" downcase;
    char_foldcase "char-foldcase" foldcase;
}

fn digit_value(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = vm.char_arg("digit-value", base, 0)?;
    Ok(digit_of(c).map_or(Value::FALSE, |d| Value::fix(d as i64)))
}

// ---- strings --------------------------------------------------------------------------

fn string_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), STRING)))
}

fn make_string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let n = vm.index_arg("make-string", base, 0)?;
    let c = match opt_arg(vm, base, argc, 1) {
        Some(_) => vm.char_arg("make-string", base, 1)?,
        None => ' ',
    };
    new_string(vm, n, c)
}

fn string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut chars = Vec::with_capacity(argc);
    for i in 0..argc {
        chars.push(vm.char_arg("string", base, i)?);
    }
    vm.string_from_chars(&chars)
}

fn string_length(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string-length", base, 0)?;
    Ok(Value::fix(vm.string_len(s) as i64))
}

fn string_ref(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string-ref", base, 0)?;
    let len = vm.string_len(s);
    let k = string_index_arg(vm, "string-ref", base, 1, len)?;
    Ok(Value::char(vm.string_ref(s, k)))
}

fn string_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string-set!", base, 0)?;
    let len = vm.string_len(s);
    let k = string_index_arg(vm, "string-set!", base, 1, len)?;
    let c = vm.char_arg("string-set!", base, 2)?;
    if !crate::vm::narrow_char(c) {
        vm.widen_string(base)?;
    }
    let s = arg(vm, base, 0);
    vm.string_set(s, k, c);
    Ok(Value::UNSPECIFIED)
}

fn substring(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = str_arg(vm, "substring", base, 0)?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("substring", base, argc, 1, len)?;
    copy_of_arg(vm, base, 0, start, end)
}

fn string_copy(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string-copy", base, 0)?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("string-copy", base, argc, 1, len)?;
    copy_of_arg(vm, base, 0, start, end)
}

fn string_append(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mut total = 0;
    let mut wide = false;
    for i in 0..argc {
        let s = str_arg(vm, "string-append", base, i)?;
        let n = vm.string_len(s);
        total += n;
        wide = wide || !vm.string_range_narrow(s, 0, n);
    }
    let out = vm.blank_string(total, wide)?;
    let mut at = 0;
    for i in 0..argc {
        let s = arg(vm, base, i);
        let n = vm.string_len(s);
        copy_chars(vm, out, at, s, 0, n);
        at += n;
    }
    Ok(out)
}

fn string_copy_to(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let to = str_arg(vm, "string-copy!", base, 0)?;
    let at = vm.index_arg("string-copy!", base, 1)?;
    let from = str_arg(vm, "string-copy!", base, 2)?;
    let flen = vm.string_len(from);
    let (start, end) = vm.range_args("string-copy!", base, argc, 3, flen)?;
    let tlen = vm.string_len(to);
    if at > tlen || tlen - at < end - start {
        let atv = arg(vm, base, 1);
        return Err(vm.error(
            format!(
                "string-copy!: {} characters do not fit at index {at} of a string of length {tlen}",
                end - start
            ),
            &[atv],
        ));
    }
    if !vm.string_range_narrow(from, start, end) {
        vm.widen_string(base)?;
    }
    let (to, from) = (arg(vm, base, 0), arg(vm, base, 2));
    copy_chars(vm, to, at, from, start, end - start);
    Ok(Value::UNSPECIFIED)
}

fn string_fill(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string-fill!", base, 0)?;
    let c = vm.char_arg("string-fill!", base, 1)?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("string-fill!", base, argc, 2, len)?;
    if !crate::vm::narrow_char(c) && start < end {
        vm.widen_string(base)?;
    }
    let s = arg(vm, base, 0);
    for i in start..end {
        vm.string_set(s, i, c);
    }
    Ok(Value::UNSPECIFIED)
}

fn string_to_list(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string->list", base, 0)?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("string->list", base, argc, 1, len)?;
    let mut l = Value::NIL;
    for i in (start..end).rev() {
        let s = arg(vm, base, 0);
        let c = vm.string_ref(s, i);
        l = vm.cons(Value::char(c), l)?;
    }
    Ok(l)
}

/// The characters of `items`, or a type error naming `who`.
fn chars_of(vm: &mut Vm, who: &str, items: &[Value]) -> VmResult<Vec<char>> {
    let mut chars = Vec::with_capacity(items.len());
    for &x in items {
        match x.as_char() {
            Some(c) => chars.push(c),
            None => return Err(vm.type_error(who, "a character", x)),
        }
    }
    Ok(chars)
}

fn list_to_string(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let items = list_arg(vm, "list->string", base, 0)?;
    let chars = chars_of(vm, "list->string", &items)?;
    vm.string_from_chars(&chars)
}

fn string_to_vector(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string->vector", base, 0)?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("string->vector", base, argc, 1, len)?;
    let v = vm.alloc(VECTOR, end - start)?;
    let s = arg(vm, base, 0);
    for i in start..end {
        let c = vm.string_ref(s, i);
        vm.heap.set(v, i - start, Value::char(c));
    }
    Ok(v)
}

fn vector_to_string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let v = vm.typed_arg("vector->string", base, 0, VECTOR, "a vector")?;
    let len = vm.heap.len(v);
    let (start, end) = vm.range_args("vector->string", base, argc, 1, len)?;
    let items: Vec<Value> = (start..end).map(|i| vm.heap.get(v, i)).collect();
    let chars = chars_of(vm, "vector->string", &items)?;
    vm.string_from_chars(&chars)
}

/// A string argument mapped through a whole-string Rust conversion.
fn map_text(vm: &mut Vm, base: usize, who: &str, f: fn(&str) -> String) -> VmResult<Value> {
    let s = str_arg(vm, who, base, 0)?;
    let text = f(&vm.string_text(s));
    vm.string(&text)
}

fn string_upcase(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    map_text(vm, base, "string-upcase", str::to_uppercase)
}

fn string_downcase(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    map_text(vm, base, "string-downcase", str::to_lowercase)
}

fn string_foldcase(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    map_text(vm, base, "string-foldcase", fold_text)
}

/// `(string-join strings [delimiter grammar])`: SRFI-130's, the grammar
/// one of `infix` (the default), `strict-infix` (an empty list is an
/// error), `prefix` or `suffix` (the delimiter before or after each).
fn string_join(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let items = list_arg(vm, "string-join", base, 0)?;
    let delim = match opt_arg(vm, base, argc, 1) {
        Some(_) => {
            let d = str_arg(vm, "string-join", base, 1)?;
            vm.string_text(d)
        }
        None => " ".to_string(),
    };
    let grammar = match opt_arg(vm, base, argc, 2) {
        None => "infix".to_string(),
        Some(g) if vm.is(g, SYMBOL) => vm.symbol_name(g),
        Some(g) => return Err(vm.type_error("string-join", "a grammar symbol", g)),
    };
    if !matches!(
        grammar.as_str(),
        "infix" | "strict-infix" | "prefix" | "suffix"
    ) {
        let g = arg(vm, base, 2);
        return Err(vm.error(
            "string-join: grammar must be infix, strict-infix, prefix or suffix",
            &[g],
        ));
    }
    if items.is_empty() && grammar == "strict-infix" {
        return Err(vm.error("string-join: an empty list under strict-infix", &[]));
    }
    let mut out = String::new();
    for (k, &s) in items.iter().enumerate() {
        if !vm.is(s, STRING) {
            return Err(vm.type_error("string-join", "a list of strings", s));
        }
        if grammar == "prefix" || (k > 0 && grammar != "suffix") {
            out.push_str(&delim);
        }
        out.extend((0..vm.string_len(s)).map(|i| vm.string_ref(s, i)));
        if grammar == "suffix" {
            out.push_str(&delim);
        }
    }
    vm.string(&out)
}

/// `(%string-search s1 s2 start1 end1 start2 end2 from-right?)`: where
/// `s2[start2..end2]` first (or last) occurs in `s1[start1..end1]`, or
/// `#f` (`strings.scm` checks the ranges).
fn string_search(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    const WHO: &str = "string-contains";
    let s1 = str_arg(vm, WHO, base, 0)?;
    let s2 = str_arg(vm, WHO, base, 1)?;
    let idx = |vm: &mut Vm, i: usize| vm.index_arg(WHO, base, i);
    let (start1, end1, start2, end2) = (idx(vm, 2)?, idx(vm, 3)?, idx(vm, 4)?, idx(vm, 5)?);
    if start1 > end1 || end1 > vm.string_len(s1) || start2 > end2 || end2 > vm.string_len(s2) {
        return Err(vm.error(format!("{WHO}: bad range"), &[]));
    }
    let m = end2 - start2;
    if m > end1 - start1 {
        return Ok(Value::FALSE);
    }
    let at = |i: usize| (0..m).all(|k| vm.string_ref(s1, i + k) == vm.string_ref(s2, start2 + k));
    let found = if arg(vm, base, 6).is_true() {
        (start1..=end1 - m).rev().find(|&i| at(i))
    } else {
        (start1..=end1 - m).find(|&i| at(i))
    };
    Ok(found.map_or(Value::FALSE, |i| Value::fix(i as i64)))
}

// ---- symbols ---------------------------------------------------------------------------

fn keyword_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), crate::obj::KEYWORD)))
}

fn symbol_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), SYMBOL)))
}

fn symbol_to_string(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let sym = vm.typed_arg("symbol->string", base, 0, SYMBOL, "a symbol")?;
    let name = vm.heap.get(sym, 0);
    let n = vm.string_len(name);
    let wide = !vm.string_range_narrow(name, 0, n);
    let out = vm.blank_string(n, wide)?;
    let name = vm.heap.get(arg(vm, base, 0), 0);
    copy_chars(vm, out, 0, name, 0, n);
    Ok(out)
}

fn string_to_symbol(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string->symbol", base, 0)?;
    let text = vm.string_text(s);
    vm.intern(&text)
}

fn symbol_eq(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    for i in 0..argc {
        vm.typed_arg("symbol=?", base, i, SYMBOL, "a symbol")?;
    }
    Ok(Value::bool(
        (1..argc).all(|i| arg(vm, base, i) == arg(vm, base, 0)),
    ))
}

// ---- UTF-8 -------------------------------------------------------------------------------

fn string_to_utf8(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = str_arg(vm, "string->utf8", base, 0)?;
    let len = vm.string_len(s);
    let (start, end) = vm.range_args("string->utf8", base, argc, 1, len)?;
    let text: String = (start..end).map(|i| vm.string_ref(s, i)).collect();
    vm.bytevector(text.as_bytes())
}

fn utf8_to_string(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let b = vm.typed_arg("utf8->string", base, 0, BYTEVECTOR, "a bytevector")?;
    let len = vm.bytevector_len(b);
    let (start, end) = vm.range_args("utf8->string", base, argc, 1, len)?;
    let bytes: Vec<u8> = (start..end).map(|i| vm.bytevector_ref(b, i)).collect();
    match String::from_utf8(bytes) {
        Ok(text) => vm.string(&text),
        Err(e) => Err(utf8_error(vm, base, &e)),
    }
}

fn utf8_error(vm: &mut Vm, base: usize, e: &std::string::FromUtf8Error) -> Exn {
    let b = arg(vm, base, 0);
    let at = e.utf8_error().valid_up_to();
    vm.error(format!("utf8->string: invalid UTF-8 at byte {at}"), &[b])
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::prim::testing::{check, err, eval};

    #[test]
    fn characters() {
        check(&[
            ("(list (char? #\\a) (char? \"a\") (char? 97))", "(#t #f #f)"),
            (
                "(list (char->integer #\\A) (char->integer #\\x3bb))",
                "(65 955)",
            ),
            (
                "(list (integer->char 97) (integer->char 955))",
                "(#\\a #\\λ)",
            ),
            (
                "(list (char=? #\\a) (char=? #\\a #\\a #\\a) (char=? #\\a #\\a #\\b))",
                "(#t #t #f)",
            ),
            (
                "(list (char<? #\\a #\\b #\\c) (char<? #\\a #\\c #\\b) (char<? #\\a #\\a))",
                "(#t #f #f)",
            ),
            (
                "(list (char>? #\\c #\\b #\\a) (char>? #\\a #\\b))",
                "(#t #f)",
            ),
            (
                "(list (char<=? #\\a #\\a #\\b) (char<=? #\\b #\\a))",
                "(#t #f)",
            ),
            (
                "(list (char>=? #\\b #\\b #\\a) (char>=? #\\a #\\b))",
                "(#t #f)",
            ),
            (
                "(list (char-ci=? #\\a #\\A) (char-ci=? #\\a #\\B))",
                "(#t #f)",
            ),
            (
                "(list (char-ci<? #\\a #\\B) (char-ci>? #\\b #\\A) (char-ci<=? #\\a #\\A) (char-ci>=? #\\A #\\b))",
                "(#t #t #t #f)",
            ),
            (
                "(list (char-alphabetic? #\\a) (char-alphabetic? #\\λ) (char-alphabetic? #\\1))",
                "(#t #t #f)",
            ),
            (
                "(list (char-numeric? #\\7) (char-numeric? #\\x664) (char-numeric? #\\a))",
                "(#t #t #f)",
            ),
            (
                "(list (char-whitespace? #\\space) (char-whitespace? #\\newline) (char-whitespace? #\\a))",
                "(#t #t #f)",
            ),
            (
                "(list (char-upper-case? #\\A) (char-upper-case? #\\a) (char-lower-case? #\\a) (char-lower-case? #\\A))",
                "(#t #f #t #f)",
            ),
            (
                "(list (digit-value #\\7) (digit-value #\\x664) (digit-value #\\xff19) (digit-value #\\a))",
                "(7 4 9 #f)",
            ),
            (
                "(list (char-upcase #\\a) (char-upcase #\\ä) (char-upcase #\\ß) (char-upcase #\\1))",
                "(#\\A #\\Ä #\\ß #\\1)",
            ),
            (
                "(list (char-downcase #\\A) (char-downcase #\\Λ))",
                "(#\\a #\\λ)",
            ),
            (
                "(list (char-foldcase #\\A) (char-foldcase #\\ς) (char-foldcase #\\a))",
                "(#\\a #\\σ #\\a)",
            ),
        ]);
    }

    #[test]
    fn character_errors() {
        assert!(err("(char->integer \"a\")").contains("char->integer"));
        assert!(err("(integer->char 55296)").contains("integer->char"));
        assert!(err("(integer->char -1)").contains("integer->char"));
        assert!(err("(char<? #\\a 1)").contains("char<?"));
        assert!(err("(char-upcase 1)").contains("char-upcase"));
        assert!(err("(digit-value 1)").contains("digit-value"));
    }

    #[test]
    fn narrow_strings_widen_in_place() {
        check(&[
            // A narrow string given a wide character keeps its identity.
            (
                "(define s (make-string 3 #\\a)) (define alias s) (string-set! s 1 #\\λ) \
                 (list s (eq? s alias) (string-length s) (string->list s) (string? s))",
                "(\"aλa\" #t 3 (#\\a #\\λ #\\a) #t)",
            ),
            // Equal, hashed and compared the same as a string born wide.
            (
                "(define h (make-hash-table string=?)) (hash-table-set! h \"aλa\" 1) \
                 (define e (make-hash-table equal?)) (hash-table-set! e (list s) 2) \
                 (list (equal? s \"aλa\") (string=? s (string #\\a #\\λ #\\a)) \
                       (hash-table-ref/default h s #f) (hash-table-ref/default e (list \"aλa\") #f) \
                       (= (string-hash s) (string-hash \"aλa\")))",
                "(#t #t 1 2 #t)",
            ),
            // Back to narrow characters: still equal to a narrow string.
            (
                "(string-set! s 1 #\\b) (list s (equal? s \"aba\") (string=? \"aba\" s) \
                 (= (string-hash s) (string-hash \"aba\")) (string<? s \"abb\"))",
                "(\"aba\" #t #t #t #t)",
            ),
            // Every way of storing a wide character.
            (
                "(define f (make-string 4 #\\-)) (string-fill! f #\\Ω 1 3) \
                 (define c (string-copy \"xxxx\")) (string-copy! c 1 \"αβ\") \
                 (list f c (string-append \"ab\" \"γ\") (substring c 1 3) (substring c 0 1) \
                       (symbol->string 'λx) (string-upcase \"straße\"))",
                "(\"-ΩΩ-\" \"xαβx\" \"abγ\" \"αβ\" \"x\" \"λx\" \"STRASSE\")",
            ),
            // Latin-1 stays narrow and round-trips its top characters.
            (
                "(list (string #\\xff #\\x0 #\\é) (map char->integer (string->list (string #\\xff #\\x80))))",
                "(\"ÿ\\x0;é\" (255 128))",
            ),
            // String ports take wide text into a narrow buffer.
            (
                "(let ((p (open-output-string))) (write-string \"ab\" p) (write-string \"λμ\" p) \
                 (write-char #\\c p) (get-output-string p))",
                "\"abλμc\"",
            ),
        ]);
    }

    #[test]
    fn basic_strings() {
        check(&[
            (
                "(list (string? \"a\") (string? #\\a) (string? 'a))",
                "(#t #f #f)",
            ),
            ("(make-string 3 #\\x)", "\"xxx\""),
            ("(string-length (make-string 4))", "4"),
            ("(list (string) (string #\\a #\\b))", "(\"\" \"ab\")"),
            (
                "(list (string-length \"\") (string-length \"héllo\"))",
                "(0 5)",
            ),
            ("(string-ref \"héllo\" 1)", "#\\é"),
            (
                "(let ((s (make-string 3 #\\a))) (string-set! s 1 #\\λ) s)",
                "\"aλa\"",
            ),
            (
                "(list (substring \"hello\" 1 3) (substring \"hello\" 2))",
                "(\"el\" \"llo\")",
            ),
            (
                "(list (string-append) (string-append \"a\") (string-append \"ab\" \"\" \"cde\"))",
                "(\"\" \"a\" \"abcde\")",
            ),
            (
                "(list (string-copy \"hello\") (string-copy \"hello\" 1) (string-copy \"hello\" 1 4))",
                "(\"hello\" \"ello\" \"ell\")",
            ),
            (
                "(let* ((s \"abc\") (c (string-copy s))) (string-set! c 0 #\\z) (list s c))",
                "(\"abc\" \"zbc\")",
            ),
            (
                "(let ((s (make-string 5 #\\-))) (string-copy! s 1 \"abc\") s)",
                "\"-abc-\"",
            ),
            (
                "(let ((s (make-string 5 #\\-))) (string-copy! s 0 \"abcdef\" 3 5) s)",
                "\"de---\"",
            ),
            (
                "(let ((s (string-copy \"abcde\"))) (string-copy! s 1 s 0 3) s)",
                "\"aabce\"",
            ),
            (
                "(let ((s (string-copy \"abcde\"))) (string-copy! s 0 s 2) s)",
                "\"cdede\"",
            ),
            (
                "(let ((s (make-string 4 #\\a))) (string-fill! s #\\b) s)",
                "\"bbbb\"",
            ),
            (
                "(let ((s (make-string 4 #\\a))) (string-fill! s #\\b 1 3) s)",
                "\"abba\"",
            ),
            (
                "(list (string->list \"abc\") (string->list \"abc\" 1) (string->list \"abc\" 1 2))",
                "((#\\a #\\b #\\c) (#\\b #\\c) (#\\b))",
            ),
            (
                "(list (list->string '()) (list->string '(#\\a #\\λ)))",
                "(\"\" \"aλ\")",
            ),
            (
                "(list (string->vector \"abc\") (string->vector \"abc\" 1 2))",
                "(#(#\\a #\\b #\\c) #(#\\b))",
            ),
            (
                "(list (vector->string #(#\\a #\\b #\\c)) (vector->string #(#\\a #\\b #\\c) 1))",
                "(\"abc\" \"bc\")",
            ),
        ]);
    }

    #[test]
    fn comparisons_and_case() {
        check(&[
            (
                "(list (string=? \"a\") (string=? \"ab\" \"ab\" \"ab\") (string=? \"ab\" \"abc\"))",
                "(#t #t #f)",
            ),
            (
                "(list (string<? \"ab\" \"abc\" \"b\") (string<? \"b\" \"a\"))",
                "(#t #f)",
            ),
            (
                "(list (string>? \"b\" \"ab\") (string>? \"a\" \"a\"))",
                "(#t #f)",
            ),
            (
                "(list (string<=? \"a\" \"a\" \"b\") (string<=? \"b\" \"a\"))",
                "(#t #f)",
            ),
            (
                "(list (string>=? \"b\" \"b\" \"a\") (string>=? \"a\" \"b\"))",
                "(#t #f)",
            ),
            (
                "(list (string-ci=? \"Hello\" \"hELLO\") (string-ci=? \"a\" \"b\"))",
                "(#t #f)",
            ),
            (
                "(list (string-ci<? \"apple\" \"BANANA\") (string-ci>? \"b\" \"A\"))",
                "(#t #t)",
            ),
            (
                "(list (string-ci<=? \"A\" \"a\") (string-ci>=? \"a\" \"B\"))",
                "(#t #f)",
            ),
            (
                "(list (string-upcase \"héllo\") (string-upcase \"straße\"))",
                "(\"HÉLLO\" \"STRASSE\")",
            ),
            ("(string-downcase \"HeLLo ΛΑ\")", "\"hello λα\""),
            (
                "(list (string-foldcase \"Straße\") (string-foldcase \"ABC\"))",
                "(\"strasse\" \"abc\")",
            ),
        ]);
    }

    #[test]
    fn helpers_and_symbols() {
        check(&[
            (
                "(list (string-join '(\"a\" \"b\" \"c\")) (string-join '(\"a\" \"b\") \", \") (string-join '()))",
                "(\"a b c\" \"a, b\" \"\")",
            ),
            (
                "(list (string-index \"hello\" #\\l) (string-index \"hello\" #\\z) (string-index \"hello\" #\\l 3))",
                "(2 #f 3)",
            ),
            (
                "(list (string-contains \"hello world\" \"o w\") (string-contains \"hello\" \"xyz\") (string-contains \"abc\" \"\"))",
                "(4 #f 0)",
            ),
            (
                "(list (string-contains \"ab\" \"abc\") (string-contains \"abab\" \"ab\" 1))",
                "(#f 2)",
            ),
            ("(list (symbol? 'a) (symbol? \"a\"))", "(#t #f)"),
            ("(symbol->string 'hello)", "\"hello\""),
            (
                "(let ((s (symbol->string 'abc))) (string-set! s 0 #\\z) (list s (symbol->string 'abc)))",
                "(\"zbc\" \"abc\")",
            ),
            (
                "(list (eq? (string->symbol \"abc\") 'abc) (string->symbol \"with space\"))",
                "(#t |with space|)",
            ),
            ("(list (symbol=? 'a 'a 'a) (symbol=? 'a 'b))", "(#t #f)"),
            (
                "(list (string->utf8 \"aé\") (string->utf8 \"aéz\" 1 2))",
                "(#u8(97 195 169) #u8(195 169))",
            ),
            (
                "(list (utf8->string #u8(97 195 169)) (utf8->string #u8(97 98 99) 1))",
                "(\"aé\" \"bc\")",
            ),
        ]);
    }

    #[test]
    fn string_errors() {
        let e = err("(string-ref \"abc\" 5)");
        assert!(
            e.contains("string-ref") && e.contains("out of range"),
            "{e}"
        );
        assert!(err("(string-set! \"abc\" 3 #\\a)").contains("string-set!"));
        assert!(err("(string-set! (make-string 2) 0 1)").contains("string-set!"));
        assert!(err("(string-length 'a)").contains("string-length"));
        assert!(err("(substring \"abc\" 2 1)").contains("substring"));
        assert!(err("(substring \"abc\" 0 4)").contains("substring"));
        assert!(err("(string-append \"a\" 1)").contains("string-append"));
        assert!(err("(string-copy! (make-string 2) 1 \"abc\")").contains("string-copy!"));
        assert!(err("(list->string '(1 2))").contains("list->string"));
        assert!(err("(list->string 5)").contains("list->string"));
        assert!(err("(vector->string #(1))").contains("vector->string"));
        assert!(err("(string=? \"a\" 'a)").contains("string=?"));
        assert!(err("(string-join '(\"a\" 1))").contains("string-join"));
        assert!(err("(symbol->string \"a\")").contains("symbol->string"));
        assert!(err("(string->symbol 'a)").contains("string->symbol"));
        assert!(err("(utf8->string #u8(255))").contains("utf8->string"));
        assert!(err("(make-string -1)").contains("make-string"));
        assert!(err("(string #\\a 1)").contains("string"));
    }

    #[test]
    fn strings_survive_collection() {
        let src = "(define s (string-append \"abc\" \"def\")) (define l (string->list s)) (gc) (list s l (list->string l))";
        assert_eq!(
            eval(src),
            "(\"abcdef\" (#\\a #\\b #\\c #\\d #\\e #\\f) \"abcdef\")"
        );
    }

    #[test]
    fn odd_length_strings_are_equal() {
        assert_eq!(
            eval(
                "(list (equal? (make-string 3 #\\a) \"aaa\") (equal? (string-copy \"abc\" 1) \"bc\"))"
            ),
            "(#t #t)"
        );
    }
}
