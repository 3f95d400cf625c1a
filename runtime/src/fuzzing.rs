//! Inputs that try imp's robustness, in ordinary code: the fuzz targets
//! (`fuzz/`), the test suite's seeded smoke runs and the long runs of
//! `bench/fuzz` all draw from here, so what one finds the others repeat.
//!
//! Three kinds of input: random bytes, *token soup* (the reader's tokens
//! in random order: mostly malformed, sometimes a program), and calls of
//! every built-in procedure with arguments drawn from a pool of awkward
//! values (huge and negative numbers, NaN, circular lists, empty
//! strings, procedures, ports). A finding is anything that is not a
//! value or an error: a panic, a hang, or an abort of the process.

use crate::{Error, Runtime, Value};

/// A small, fast, seeded random number generator (SplitMix64): the same
/// seed gives the same inputs everywhere.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Up to `max` random bytes.
pub fn random_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = rng.below(max + 1);
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// Tokens the reader knows, and some it should refuse.
const TOKENS: &[&str] = &[
    "(",
    "(",
    "(",
    ")",
    ")",
    ")",
    "[",
    "]",
    "'",
    "`",
    ",",
    ",@",
    "#(",
    "#u8(",
    ".",
    " . ",
    "\"str\"",
    "\"\\x41;\"",
    "\"\\q\"",
    "\"unterminated",
    "#\\a",
    "#\\space",
    "#\\x3bb",
    "#\\xFFFFFFFF",
    "#t",
    "#f",
    "#true",
    "#false",
    "0",
    "-1",
    "42",
    "1e400",
    "-0.0",
    "+nan.0",
    "+inf.0",
    "1/3",
    "1/0",
    "#x-ff",
    "#b102",
    "#e1.5",
    "#i1/3",
    "12345678901234567890123",
    "x",
    "lambda",
    "define",
    "if",
    "let",
    "let*",
    "letrec",
    "begin",
    "set!",
    "quote",
    "quasiquote",
    "unquote",
    "define-syntax",
    "syntax-rules",
    "...",
    "_",
    "cond",
    "else",
    "=>",
    "case",
    "do",
    "delay",
    "guard",
    "parameterize",
    "define-record-type",
    "call/cc",
    "dynamic-wind",
    "car",
    "cdr",
    "cons",
    "+",
    "-",
    "*",
    "/",
    "vector-ref",
    "string-ref",
    "apply",
    "map",
    "for-each",
    "list",
    "length",
    "append",
    "reverse",
    "eval",
    "values",
    "call-with-values",
    "error",
    "raise",
    "with-exception-handler",
    "make-vector",
    "make-string",
    "string-append",
    "number->string",
    "string->symbol",
    "exit",
    "|a b|",
    "|#%if|",
    "#;",
    "#|",
    "|#",
    ";",
    "\n",
    "#0=",
    "#0#",
    "#1=",
    "#:key",
    "#!fold-case",
    "#!no-fold-case",
    "#\\(",
    "\\",
    "#",
    "@",
    "{",
    "}",
];

/// `n` tokens in random order, separated by spaces.
pub fn token_soup(rng: &mut Rng, n: usize) -> String {
    let mut out = String::new();
    for _ in 0..n {
        let t: &&str = rng.pick(TOKENS);
        out.push_str(t);
        out.push(' ');
    }
    out
}

/// Argument values for calls of built-ins, as expressions: each is
/// evaluated fresh for a call, so a call that mutates one harms no other.
pub const ARGUMENTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "7",
    "255",
    "256",
    "65536",
    "1000000",
    "-1000000000000",
    "4611686018427387903",
    "-4611686018427387904",
    "(expt 2 64)",
    "(- (expt 2 100))",
    "1.5",
    "-0.0",
    "+nan.0",
    "+inf.0",
    "-inf.0",
    "1e308",
    "1/3",
    "-7/2",
    "#\\a",
    "#\\x0",
    "#\\x10FFFF",
    "\"\"",
    "\"abc\"",
    "\"h\\xe9;llo \\x3bb;\"",
    "(make-string 3 #\\z)",
    "'sym",
    "'|a b|",
    "'()",
    "'(1 2 3)",
    "'(1 . 2)",
    "'((a . 1) (b . 2))",
    "(let ((l (list 1 2 3))) (set-cdr! (cddr l) l) l)",
    "(let ((l (list (cons 1 2)))) (set-cdr! l l) l)",
    "(vector)",
    "(vector 1 2 3)",
    "(make-vector 3 0)",
    "(let ((v (vector 1 2))) (vector-set! v 0 v) v)",
    "(bytevector)",
    "(bytevector 1 2 255)",
    "#t",
    "#f",
    "(eof-object)",
    "(if #f #f)",
    "car",
    "+",
    "(lambda args args)",
    "(lambda (x) x)",
    "(lambda () 1)",
    "(lambda (x y) (< x y))",
    "(make-parameter 1)",
    "(make-hash-table)",
    "(let ((t (make-hash-table))) (hash-table-set! t 1 2) t)",
    "(open-input-string \"abc (1 2) #t\")",
    "(open-output-string)",
    "(open-input-bytevector (bytevector 1 2 3))",
    "(open-output-bytevector)",
    "(current-output-port)",
    "(make-mutex)",
    "(make-condition-variable)",
    "(make-channel)",
    "(make-channel 2)",
    "(current-thread)",
    "(make-thread (lambda () 1))",
    "(delay 1)",
    "(make-promise 2)",
    "(string->symbol \"\")",
    "#:key",
    "(error-object-message (guard (e (#t e)) (error \"boom\" 1)))",
    "(guard (e (#t e)) (error \"boom\" 1))",
    "(interaction-environment)",
];

/// The names of every procedure a program sees bound (the built-ins, and
/// whatever the runtime's program defined), sorted.
pub fn procedure_names(rt: &mut Runtime) -> Vec<String> {
    let vm = rt.vm();
    let mut names: Vec<String> = vm
        .all_symbols()
        .into_iter()
        .filter(|&s| vm.is_procedure(vm.global_value(s)))
        .map(|s| vm.symbol_name(s))
        .collect();
    names.sort();
    names
}

/// A call of `name` with between zero and four arguments from
/// [`ARGUMENTS`], as source.
pub fn builtin_call(rng: &mut Rng, name: &str) -> String {
    let argc = rng.below(5);
    let mut src = format!("({}", crate::printer::write_symbol_string(name));
    for _ in 0..argc {
        src.push(' ');
        let a: &&str = rng.pick(ARGUMENTS);
        src.push_str(a);
    }
    src.push(')');
    src
}

/// What running one input gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A value, or an error that names its cause: as it should be.
    Fine,
    /// A Rust panic escaped the runtime (the text says where).
    Panic(String),
}

/// A runtime for fuzzing: nothing granted (no file, program or
/// environment reaches outside), standard input at its end, output
/// discarded, a call budget and a heap limit so no input runs long.
pub fn sandbox() -> Result<Runtime, Error> {
    struct Nothing;
    impl crate::LineSource for Nothing {
        fn read_line(&mut self, _: crate::LineRequest) -> Result<Option<String>, String> {
            Ok(None)
        }
    }
    let mut rt = Runtime::builder()
        .fuel(FUEL_CALLS)
        .heap_limit(HEAP_LIMIT_BYTES)
        .build()?;
    rt.set_line_source(Box::new(Nothing))?;
    rt.set_output(Box::new(std::io::sink()));
    rt.set_error_output(Box::new(std::io::sink()));
    Ok(rt)
}

/// Calls one input may make.
pub const FUEL_CALLS: u64 = 2_000_000;
/// Heap one input may use.
pub const HEAP_LIMIT_BYTES: u64 = 256 << 20;

/// Evaluate `src` in `rt` with a fresh budget, catching a panic. After a
/// panic the runtime may be in any state: the caller makes a new one.
pub fn run(rt: &mut Runtime, src: &str) -> Outcome {
    rt.set_fuel(Some(FUEL_CALLS));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let r: Result<Value, Error> = rt.eval_str(src);
        r.is_ok()
    }));
    match r {
        Ok(_) => Outcome::Fine,
        Err(p) => Outcome::Panic(
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()),
        ),
    }
}
