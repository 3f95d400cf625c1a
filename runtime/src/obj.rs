//! Object types: what each heap tag means to the language, and typed
//! constructors and accessors.
//!
//! Layouts (payload words after the header):
//!
//! | tag            | payload                                                    |
//! |----------------|------------------------------------------------------------|
//! | `PAIR`         | car, cdr                                                   |
//! | `VECTOR`       | elements                                                   |
//! | `CLOSURE`      | code, free variables…                                      |
//! | `BOX`          | value (a mutable variable captured by a closure)           |
//! | `SYMBOL`       | name (string), global value (`UNDEFINED` if unbound)       |
//! | `CODE`         | see [`code`]                                               |
//! | `PRIMITIVE`    | id (fixnum), name (symbol)                                 |
//! | `RECORD`       | record type, fields…                                       |
//! | `RECORD_TYPE`  | name (symbol), field names (vector of symbols), uid        |
//! | `HASH_TABLE`   | kind (fixnum), count (fixnum), buckets (vector of alists)  |
//! | `VALUES`       | values… (multiple values other than one)                   |
//! | `ERROR`        | message, irritants, kind (symbol), location, backtrace     |
//! | `MACRO`        | kind (fixnum), rules or transformer, library (rules only)  |
//! | `CONTINUATION` | saved stack (vector), frames (bytevector), fp, pc, and the |
//! |                | entry it was captured in: frames, stack (fixnums)          |
//! | `PROMISE`      | done? (bool), value or thunk                               |
//! | `PARAMETER`    | value, converter                                           |
//! | `KEYWORD`      | name (string)                                              |
//! | `THREAD`, `MUTEX`, `CONDVAR`, `CHANNEL` | see `crate::thread`               |
//! | `RATIO`        | numerator, denominator (exact integers, lowest terms, d > 1) |
//! | `COMPLEX`      | real part, imaginary part (reals; the imaginary not exact 0) |
//! | `WIDENED`      | the wide string that is now this string's body, then `#f`s |
//! | `HOST`         | token, session (fixnums), type name (symbol): a Rust value |
//! |                | the host made (`crate::host`)                              |
//! | `SOCKET`       | see `crate::prim::net::field`                              |
//! | `STRING`       | raw: length in chars (bit 63: wide), then the characters:  |
//! |                | narrow, Latin-1 bytes, eight a word; wide, UTF-32 code     |
//! |                | points, two a word; padding zero                           |
//! | `BYTEVECTOR`   | raw: length in bytes, then the bytes                       |
//! | `FLONUM`       | raw: the f64 bits                                          |
//! | `BIGNUM`       | raw: sign (0/1), then u32 digits little-endian, two a word |
//! | `BYTECODE`     | raw: instructions, one per word                            |
//! | `LINES`        | raw: source line of each instruction, two a word           |

use imp_gc::{Tag, Value};

/// A pair.
pub const PAIR: Tag = Tag(1);
/// A vector.
pub const VECTOR: Tag = Tag(2);
/// A closure.
pub const CLOSURE: Tag = Tag(3);
/// A mutable cell.
pub const BOX: Tag = Tag(4);
/// A symbol.
pub const SYMBOL: Tag = Tag(5);
/// Compiled code.
pub const CODE: Tag = Tag(6);
/// A native procedure.
pub const PRIMITIVE: Tag = Tag(7);
/// A record instance.
pub const RECORD: Tag = Tag(8);
/// A record type descriptor.
pub const RECORD_TYPE: Tag = Tag(9);
/// A hash table.
pub const HASH_TABLE: Tag = Tag(10);
/// Multiple values.
pub const VALUES: Tag = Tag(11);
/// An error object.
pub const ERROR: Tag = Tag(12);
/// A macro.
pub const MACRO: Tag = Tag(13);
/// A continuation.
pub const CONTINUATION: Tag = Tag(14);
/// A promise.
pub const PROMISE: Tag = Tag(15);
/// A parameter object.
pub const PARAMETER: Tag = Tag(16);
/// A keyword `#:name`.
pub const KEYWORD: Tag = Tag(17);
/// An environment specifier (what `interaction-environment` returns).
pub const ENVIRONMENT: Tag = Tag(18);
/// A string port.
pub const PORT: Tag = Tag(19);
/// A green thread (see `crate::sched::field`).
pub const THREAD: Tag = Tag(20);
/// A mutex (see `crate::sched::mutex`).
pub const MUTEX: Tag = Tag(21);
/// A condition variable (see `crate::sched::condvar`).
pub const CONDVAR: Tag = Tag(22);
/// A channel (see `crate::sched::channel`).
pub const CHANNEL: Tag = Tag(23);
/// A string.
pub const STRING: Tag = Tag(0x80);
/// A string that had to widen: a narrow string (whose characters all fit
/// in a byte) that was given a character that does not keeps its identity
/// by turning into this, which refers to a new wide string holding its
/// characters. Everything that accepts a `STRING` accepts a `WIDENED`.
pub const WIDENED: Tag = Tag(24);
/// An exact non-integer rational: numerator and denominator, exact
/// integers in lowest terms, the denominator above 1.
pub const RATIO: Tag = Tag(25);
/// A host object: a Rust value held by the runtime, found by its token in
/// `Vm::hosts` while the session that made it lasts.
pub const HOST: Tag = Tag(26);
/// A socket (see `crate::prim::net::field`).
pub const SOCKET: Tag = Tag(27);
/// A non-real complex number: its real and imaginary parts, each a real
/// number (a fixnum, bignum, ratio or flonum), the imaginary part never
/// the exact 0.
pub const COMPLEX: Tag = Tag(28);
/// Bit of a string's length word that marks the wide layout.
pub const STRING_WIDE: u64 = 1 << 63;
/// A bytevector.
pub const BYTEVECTOR: Tag = Tag(0x81);
/// A boxed flonum.
pub const FLONUM: Tag = Tag(0x82);
/// A bignum.
pub const BIGNUM: Tag = Tag(0x83);
/// A bytecode vector.
pub const BYTECODE: Tag = Tag(0x84);
/// A line table.
pub const LINES: Tag = Tag(0x85);

/// Field indices of a `CODE` object.
pub mod code {
    /// The `BYTECODE` object.
    pub const BYTECODE: usize = 0;
    /// The constants vector.
    pub const CONSTS: usize = 1;
    /// The procedure's name (symbol) or `#f`.
    pub const NAME: usize = 2;
    /// Number of required parameters (fixnum).
    pub const NREQ: usize = 3;
    /// Number of optional parameters (fixnum); `-1` marks a rest parameter.
    pub const REST: usize = 4;
    /// Frame size: parameters plus locals (fixnum).
    pub const NSLOTS: usize = 5;
    /// The `LINES` object or `#f`.
    pub const LINES: usize = 6;
    /// The source file name (string) or `#f`.
    pub const FILE: usize = 7;
    /// What a call needs to enter the procedure, in one word (fixnum):
    /// [`entry`] of `NREQ` and `NSLOTS`, or `-1` with a rest parameter.
    pub const ENTRY: usize = 8;
    /// Number of fields.
    pub const SIZE: usize = 9;

    /// The `ENTRY` word of a procedure with `nreq` parameters, a rest
    /// parameter or not, and `nslots` slots: `nreq | nslots << 25`, or -1
    /// when the call must take the general path (a rest parameter, or
    /// counts too large to pack). Its low 25 bits equal an argument count
    /// (24 bits at most) exactly when the fast path applies.
    pub fn entry(nreq: i64, rest: i64, nslots: i64) -> i64 {
        if rest < 0 || !(0..1 << 24).contains(&nreq) || !(0..1 << 30).contains(&nslots) {
            -1
        } else {
            nreq | nslots << 25
        }
    }

    /// The argument count an `ENTRY` word accepts on the fast path (none
    /// for -1) and the frame size.
    #[inline(always)]
    pub fn entry_fields(entry: i64) -> (i64, usize) {
        (entry & 0x1ff_ffff, (entry >> 25) as usize)
    }
}

/// Field indices of an `ERROR` object.
pub mod error {
    /// The message (string).
    pub const MESSAGE: usize = 0;
    /// The irritants (list).
    pub const IRRITANTS: usize = 1;
    /// What kind of error (symbol): `error`, `read-error`, `file-error`, …
    pub const KIND: usize = 2;
    /// Where it was raised: a string "file:line" or `#f`.
    pub const LOCATION: usize = 3;
    /// The backtrace captured when it was raised: a list of strings, or `#f`.
    pub const BACKTRACE: usize = 4;
    /// Number of fields.
    pub const SIZE: usize = 5;
}

/// Is `v` a reference with tag `t`? (needs the heap: see `Vm::is`)
#[inline(always)]
pub fn is_ref(v: Value) -> bool {
    v.is_ref()
}

/// The name of a type for error messages.
pub fn tag_name(t: Tag) -> &'static str {
    match t {
        PAIR => "pair",
        VECTOR => "vector",
        CLOSURE => "procedure",
        BOX => "box",
        SYMBOL => "symbol",
        CODE => "code",
        PRIMITIVE => "procedure",
        RECORD => "record",
        RECORD_TYPE => "record type",
        HASH_TABLE => "hash table",
        VALUES => "multiple values",
        ERROR => "error object",
        MACRO => "macro",
        CONTINUATION => "continuation",
        PROMISE => "promise",
        PARAMETER => "parameter",
        KEYWORD => "keyword",
        ENVIRONMENT => "environment",
        PORT => "port",
        THREAD => "thread",
        MUTEX => "mutex",
        CONDVAR => "condition variable",
        CHANNEL => "channel",
        STRING | WIDENED => "string",
        RATIO => "rational number",
        COMPLEX => "complex number",
        HOST => "host object",
        SOCKET => "socket",
        BYTEVECTOR => "bytevector",
        FLONUM => "real number",
        BIGNUM => "integer",
        BYTECODE => "bytecode",
        LINES => "line table",
        _ => "object",
    }
}
