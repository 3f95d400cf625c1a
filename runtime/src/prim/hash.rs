//! Hash tables with the SRFI-69 core names.
//!
//! Layout: a `HASH_TABLE` object `[kind, count, buckets, key-tag]`. `kind`
//! is a fixnum naming the equivalence ([`EQ`], [`EQV`], [`EQUAL`],
//! [`STRING`]), `count` the number of entries, `buckets` a `VECTOR` whose
//! length is a power of two, `key-tag` the tag of the hash key its entries
//! are placed by. Each bucket is a chain of entries, each entry a 3-slot
//! `VECTOR` `[key, value, next-entry-or-()]`.
//!
//! **Invariant (stable hashes):** a key's hash never changes while it is in
//! a table, even when the collector moves it: heap objects hash by their
//! identity hash (fixed at allocation) or by content, never by address. So
//! tables need no rehashing after a collection, only when they grow (when
//! `count > buckets`).
//!
//! **Keyed hashing:** where a table puts a key depends on a secret key the
//! process chose at random ([`HashKey`]): strings are hashed with SipHash
//! under it and every hash is mixed with it, so a program cannot choose
//! keys that all land in one bucket and make a table quadratic. A table
//! made under another key (saved in an image by another process) is
//! rehashed the first time this process uses it (`key-tag` differs).
//!
//! Lookups and updates of existing keys allocate nothing; strings are
//! hashed and compared in place in the heap.

use imp_gc::Value;

use super::{MANY, PrimDef, arg, def, equal, eqv, opt_arg};
use crate::obj::{BIGNUM, BYTEVECTOR, FLONUM, HASH_TABLE, PAIR, STRING, VECTOR, WIDENED};
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("make-hash-table", 0, MANY, make_hash_table),
    def("make-eq-hash-table", 0, 1, make_eq_hash_table),
    def("make-eqv-hash-table", 0, 1, make_eqv_hash_table),
    def("make-equal-hash-table", 0, 1, make_equal_hash_table),
    def("make-string-hash-table", 0, 1, make_string_hash_table),
    def("hash-table?", 1, 1, hash_table_p),
    def("hash-table-ref/default", 3, 3, hash_table_ref_default),
    def("hash-table-set!", 3, MANY, hash_table_set),
    def("hash-table-delete!", 2, MANY, hash_table_delete),
    def("hash-table-contains?", 2, 2, hash_table_contains),
    def("hash-table-exists?", 2, 2, hash_table_contains),
    def("hash-table-count", 1, 2, hash_table_count),
    def("hash-table-size", 1, 1, hash_table_count),
    def("hash-table-keys", 1, 1, hash_table_keys),
    def("hash-table-values", 1, 1, hash_table_values),
    def("hash-table->alist", 1, 1, hash_table_to_alist),
    def("hash-table-clear!", 1, 1, hash_table_clear),
    def("hash-table-copy", 1, 2, hash_table_copy),
    def("hash", 1, 2, hash),
    def("eq-hash", 1, 2, eq_hash_prim),
    def("string-hash", 1, 2, string_hash_prim),
    def("equal-hash", 1, 2, hash),
    def("string-ci-hash", 1, 2, string_ci_hash_prim),
    def("hash-by-identity", 1, 2, hash_by_identity),
    def(
        "hash-table-equivalence-function",
        1,
        1,
        hash_table_equivalence_function,
    ),
    def("hash-table-hash-function", 1, 1, hash_table_hash_function),
    def("%hash-table-buckets", 1, 1, hash_table_buckets),
    def("%hash-table-set-buckets!", 3, 3, hash_table_set_buckets),
];

/// Kind of a table keyed by `eq?`.
pub const EQ: i64 = 0;
/// Kind of a table keyed by `eqv?`.
pub const EQV: i64 = 1;
/// Kind of a table keyed by `equal?`.
pub const EQUAL: i64 = 2;
/// Kind of a table keyed by `string=?`.
pub const STRING_EQ: i64 = 3;
/// Kind of a table with a Scheme equivalence or hash function: its
/// key-tag field holds `(equivalence . hash)`, and the lookups and
/// updates are `boot.scm`'s (`%generic-…`), which keep the same buckets
/// and entries, so everything that only reads them (counts, keys,
/// values, walks, printing) is the same code for every kind.
pub const GENERIC: i64 = 4;

// Table fields.
const KIND: usize = 0;
const COUNT: usize = 1;
const BUCKETS: usize = 2;
const KEY_TAG: usize = 3;
/// Fields of a table.
pub const TABLE_FIELDS: usize = 4;
// Entry fields.
const KEY: usize = 0;
const VAL: usize = 1;
const NEXT: usize = 2;

/// Buckets of a fresh table (a power of two).
const INITIAL_BUCKETS: usize = 16;
/// Nodes of a key `equal-hash` looks at before it stops.
const EQUAL_HASH_BUDGET: u32 = 64;

// ---- hashing ------------------------------------------------------------------------

/// Scramble the bits of a hash (the MurmurHash3 finaliser).
#[inline(always)]
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[inline(always)]
fn combine(a: u64, b: u64) -> u64 {
    (a.rotate_left(5) ^ b).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The secret key of this process's hash tables: SipHash keys chosen at
/// random when the runtime starts, a word mixed into every hash, and a tag
/// a table records to know whether it was placed under this key.
pub struct HashKey {
    sip: std::hash::RandomState,
    /// Mixed into every hash before the bucket is chosen.
    word: u64,
    /// A fixnum naming this key (kept in each table's `key-tag`).
    pub tag: i64,
}

impl Default for HashKey {
    fn default() -> HashKey {
        use std::hash::BuildHasher;
        let sip = std::hash::RandomState::new();
        let word = sip.hash_one(0x6b65_795f_776f_7264u64);
        let tag = (sip.hash_one(0x6b65_795f_7461_6775u64) >> 3) as i64;
        HashKey { sip, word, tag }
    }
}

/// Hash of a heap string's characters, read in place, with SipHash under
/// the process's key. The characters go in as bytes when each fits one
/// (whether the string is stored narrow or wide), else as 32-bit words, so
/// equal strings hash alike however they are stored.
#[inline]
pub fn string_hash(vm: &Vm, s: Value) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let n = vm.string_len(s);
    let b = vm.string_body(s);
    let words = &vm.heap.payload(b)[1..];
    // SipHash folds the input's length into its last block.
    let mut h = vm.hash_key.sip.build_hasher();
    if !vm.string_is_wide(s) {
        // After the length word, a byte a character.
        h.write(&vm.heap.payload_bytes(b)[8..8 + n]);
    } else {
        let ch = |i: usize| ((words[i / 2] >> ((i % 2) * 32)) & 0xffff_ffff) as u32;
        let narrow = (0..n).all(|i| ch(i) <= 0xff);
        let mut buf = [0u8; 256];
        let mut i = 0;
        while i < n {
            let k = if narrow { 256 } else { 64 }.min(n - i);
            if narrow {
                for (j, b) in buf[..k].iter_mut().enumerate() {
                    *b = ch(i + j) as u8;
                }
                h.write(&buf[..k]);
            } else {
                for (j, b) in buf[..4 * k].chunks_exact_mut(4).enumerate() {
                    b.copy_from_slice(&ch(i + j).to_le_bytes());
                }
                h.write(&buf[..4 * k]);
            }
            i += k;
        }
    }
    h.finish()
}

/// Do two heap strings hold the same characters? (compared in place:
/// word by word when both have the same width, whose padding is zero)
#[inline]
pub fn string_same(vm: &Vm, a: Value, b: Value) -> bool {
    let n = vm.string_len(a);
    if n != vm.string_len(b) {
        return false;
    }
    let wide = vm.string_is_wide(a);
    if wide != vm.string_is_wide(b) {
        return (0..n).all(|i| vm.string_ref(a, i) == vm.string_ref(b, i));
    }
    let words = if wide { n.div_ceil(2) } else { n.div_ceil(8) };
    let (pa, pb) = (
        &vm.heap.payload(vm.string_body(a))[1..],
        &vm.heap.payload(vm.string_body(b))[1..],
    );
    pa[..words] == pb[..words]
}

/// Hash of raw words (bignum digits).
fn words_hash(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0x51_7cc1_b727_220a, |h, &w| combine(h, w))
}

/// `eq?` hash: identity for heap objects, the bits for everything else.
#[inline(always)]
pub fn eq_hash(vm: &Vm, v: Value) -> u64 {
    if v.is_ref() {
        vm.heap.identity_hash(v) as u64
    } else {
        v.bits()
    }
}

/// `eqv?` hash: like [`eq_hash`] but numbers by value.
pub fn eqv_hash(vm: &Vm, v: Value) -> u64 {
    if v.is_ref() {
        match vm.heap.tag(v) {
            FLONUM => vm.heap.raw(v, 0),
            BIGNUM => words_hash(vm.heap.payload(v)),
            crate::obj::RATIO | crate::obj::COMPLEX => combine(
                eqv_hash(vm, vm.heap.get(v, 0)),
                eqv_hash(vm, vm.heap.get(v, 1)),
            ),
            _ => vm.heap.identity_hash(v) as u64,
        }
    } else {
        v.bits()
    }
}

/// `equal?` hash: structural, looking at a bounded number of nodes.
pub fn equal_hash(vm: &Vm, v: Value) -> u64 {
    let mut budget = EQUAL_HASH_BUDGET;
    equal_hash_bounded(vm, v, &mut budget)
}

fn equal_hash_bounded(vm: &Vm, v: Value, budget: &mut u32) -> u64 {
    if !v.is_ref() {
        return v.bits();
    }
    if *budget == 0 {
        return 0;
    }
    *budget -= 1;
    match vm.heap.tag(v) {
        STRING | WIDENED => string_hash(vm, v),
        BYTEVECTOR => {
            let n = vm.bytevector_len(v);
            (0..n).fold(n as u64, |h, i| combine(h, vm.bytevector_ref(v, i) as u64))
        }
        PAIR => {
            let a = equal_hash_bounded(vm, vm.car(v), budget);
            let d = equal_hash_bounded(vm, vm.cdr(v), budget);
            combine(combine(1, a), d)
        }
        crate::obj::HOST => match crate::prim::host_hash(vm, v) {
            Some(h) => combine(3, h),
            None => eqv_hash(vm, v),
        },
        VECTOR => {
            let n = vm.heap.len(v);
            let mut h = combine(2, n as u64);
            for i in 0..n {
                if *budget == 0 {
                    break;
                }
                h = combine(h, equal_hash_bounded(vm, vm.heap.get(v, i), budget));
            }
            h
        }
        _ => eqv_hash(vm, v),
    }
}

/// The hash of `key` in a table of `kind`, under the process's key.
#[inline(always)]
fn key_hash(vm: &Vm, kind: i64, key: Value) -> u64 {
    let h = match kind {
        EQ => eq_hash(vm, key),
        EQV => eqv_hash(vm, key),
        STRING_EQ if vm.is(key, STRING) => string_hash(vm, key),
        STRING_EQ => eq_hash(vm, key),
        _ => equal_hash(vm, key),
    };
    mix(h ^ vm.hash_key.word)
}

/// Are `a` and `b` the same key in a table of `kind`?
#[inline(always)]
fn same_key(vm: &Vm, kind: i64, a: Value, b: Value) -> bool {
    if a == b {
        return true;
    }
    if kind == EQ || !a.is_ref() || !b.is_ref() {
        return false;
    }
    if vm.is(a, STRING) && vm.is(b, STRING) {
        return kind >= EQUAL && string_same(vm, a, b);
    }
    let (ta, tb) = (vm.heap.tag(a), vm.heap.tag(b));
    match kind {
        EQV => eqv(vm, a, b),
        EQUAL => ta == tb && equal(vm, a, b),
        _ => false,
    }
}

// ---- table operations --------------------------------------------------------------

/// The table in argument 0, its entries placed under this process's key
/// (rehashed now if it was made under another: see "Keyed hashing").
fn table_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    let t = vm.typed_arg(who, base, 0, HASH_TABLE, "a hash table")?;
    if kind_of(vm, t) == GENERIC {
        return Ok(t);
    }
    if vm.heap.get(t, KEY_TAG) != Value::fix(vm.hash_key.tag) {
        let n = vm.heap.len(vm.heap.get(t, BUCKETS));
        grow(vm, base, n)?;
    }
    Ok(arg(vm, base, 0))
}

/// The table argument of a lookup or update (argument 0): a table of a
/// Scheme equivalence or hash hands the call to `to` (`boot.scm`).
#[inline(always)]
fn keyed_table_arg(vm: &mut Vm, who: &str, to: &'static str, base: usize) -> VmResult<Value> {
    let t = table_arg(vm, who, base)?;
    if kind_of(vm, t) == GENERIC {
        return Err(crate::vm::Exn::redirect(to));
    }
    Ok(t)
}

#[inline(always)]
fn kind_of(vm: &Vm, t: Value) -> i64 {
    vm.heap.get(t, KIND).as_fixnum_unchecked()
}

#[inline(always)]
fn count_of(vm: &Vm, t: Value) -> usize {
    vm.heap.get(t, COUNT).as_fixnum_unchecked() as usize
}

#[inline(always)]
fn bucket_index(h: u64, nbuckets: usize) -> usize {
    (h as usize) & (nbuckets - 1)
}

/// The entry of `key` (hashing to `h`) in table `t`, or `()`.
#[inline]
fn find_entry(vm: &Vm, t: Value, key: Value, h: u64) -> Value {
    let kind = kind_of(vm, t);
    let buckets = vm.heap.get(t, BUCKETS);
    let mut e = vm.heap.get(buckets, bucket_index(h, vm.heap.len(buckets)));
    while !e.is_nil() {
        if same_key(vm, kind, vm.heap.get(e, KEY), key) {
            return e;
        }
        e = vm.heap.get(e, NEXT);
    }
    Value::NIL
}

/// A fresh empty table of `kind`.
fn new_table(vm: &mut Vm, kind: i64) -> VmResult<Value> {
    let buckets = vm.make_vector(INITIAL_BUCKETS, Value::NIL)?;
    let start = vm.stack.len();
    vm.stack.push(Value::fix(kind));
    vm.stack.push(Value::fix(0));
    vm.stack.push(buckets);
    vm.stack.push(Value::fix(vm.hash_key.tag));
    vm.object_from_stack(HASH_TABLE, start)
}

/// Rehash the table in argument 0 into `n` buckets (relinking its entries).
fn grow(vm: &mut Vm, base: usize, n: usize) -> VmResult<()> {
    let new = vm.make_vector(n, Value::NIL)?;
    let t = arg(vm, base, 0);
    let kind = kind_of(vm, t);
    let old = vm.heap.get(t, BUCKETS);
    for b in 0..vm.heap.len(old) {
        let mut e = vm.heap.get(old, b);
        while !e.is_nil() {
            let next = vm.heap.get(e, NEXT);
            let i = bucket_index(key_hash(vm, kind, vm.heap.get(e, KEY)), n);
            let head = vm.heap.get(new, i);
            vm.heap.set(e, NEXT, head);
            vm.heap.set(new, i, e);
            e = next;
        }
    }
    vm.heap.set(t, BUCKETS, new);
    vm.heap.set(t, KEY_TAG, Value::fix(vm.hash_key.tag));
    Ok(())
}

/// `(make-hash-table [equivalence [hash arg ...]])` (SRFI-69): a native
/// table when the equivalence is `eq?`, `eqv?`, `equal?` or `string=?`
/// and the hash, if given, is one of the built-in ones; otherwise a
/// table that calls the given procedures (`GENERIC`). Without a hash,
/// `string-ci=?` hashes with `string-ci-hash` and any other equivalence
/// with `hash`. Further arguments (a size) are accepted and ignored.
fn make_hash_table(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let Some(equiv) = opt_arg(vm, base, argc, 0) else {
        return new_table(vm, EQUAL);
    };
    if !vm.is_procedure(equiv) {
        // A comparator (SRFI-125): `boot.scm` takes its procedures out.
        return Err(crate::vm::Exn::redirect("%make-hash-table/comparator"));
    }
    let mut kind = None;
    for (name, k) in [
        ("eq?", EQ),
        ("eqv?", EQV),
        ("equal?", EQUAL),
        ("string=?", STRING_EQ),
    ] {
        if global_named(vm, name)? == equiv {
            kind = Some(k);
            break;
        }
    }
    let hash = opt_arg(vm, base, argc, 1);
    let mut builtin_hash = hash.is_none();
    if let Some(h) = hash {
        for name in [
            "hash",
            "equal-hash",
            "string-hash",
            "string-ci-hash",
            "eq-hash",
            "eqv-hash",
            "hash-by-identity",
        ] {
            let sym = vm.intern(name)?;
            if vm.global_value(sym) == h {
                builtin_hash = true;
            }
        }
    }
    if let (Some(k), true) = (kind, builtin_hash) {
        return new_table(vm, k);
    }
    let hash = match hash {
        Some(h) if !vm.is_procedure(h) => {
            return Err(vm.type_error("make-hash-table", "a hash procedure", h));
        }
        Some(h) => h,
        None if global_named(vm, "string-ci=?")? == equiv => global_named(vm, "string-ci-hash")?,
        None => global_named(vm, "hash")?,
    };
    vm.stack.push(hash);
    let t = new_table(vm, GENERIC);
    let hash = vm.stack.pop().unwrap_or(Value::FALSE);
    let t = t?;
    vm.stack.push(t);
    let fs = vm.cons(arg(vm, base, 0), hash);
    let t = vm.stack.pop().unwrap_or(Value::FALSE);
    vm.heap.set(t, KEY_TAG, fs?);
    Ok(t)
}

/// `(%hash-table-buckets table)`: its bucket vector (for `boot.scm`'s
/// procedures on tables of a Scheme equivalence or hash).
fn hash_table_buckets(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = vm.typed_arg("%hash-table-buckets", base, 0, HASH_TABLE, "a hash table")?;
    Ok(vm.heap.get(t, BUCKETS))
}

/// `(%hash-table-set-buckets! table buckets count)`: give a table of
/// kind `GENERIC` new buckets (a vector whose length is a power of two)
/// and its entry count.
fn hash_table_set_buckets(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = vm.typed_arg(
        "%hash-table-set-buckets!",
        base,
        0,
        HASH_TABLE,
        "a hash table",
    )?;
    let b = vm.typed_arg("%hash-table-set-buckets!", base, 1, VECTOR, "a vector")?;
    let n = arg(vm, base, 2);
    if kind_of(vm, t) != GENERIC || !vm.heap.len(b).is_power_of_two() || !n.is_fixnum() {
        return Err(vm.error("%hash-table-set-buckets!: not a table of that kind", &[t]));
    }
    vm.heap.set(t, BUCKETS, b);
    vm.heap.set(t, COUNT, n);
    Ok(Value::UNSPECIFIED)
}

fn make_eq_hash_table(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    new_table(vm, EQ)
}

fn make_eqv_hash_table(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    new_table(vm, EQV)
}

fn make_equal_hash_table(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    new_table(vm, EQUAL)
}

fn make_string_hash_table(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    new_table(vm, STRING_EQ)
}

fn hash_table_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), HASH_TABLE)))
}

fn hash_table_ref_default(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = keyed_table_arg(vm, "hash-table-ref/default", "%generic-ref/default", base)?;
    let key = arg(vm, base, 1);
    let h = key_hash(vm, kind_of(vm, t), key);
    let e = find_entry(vm, t, key, h);
    Ok(if e.is_nil() {
        arg(vm, base, 2)
    } else {
        vm.heap.get(e, VAL)
    })
}

/// `(hash-table-set! table key value ...)` (several pairs: SRFI-125's,
/// in `boot.scm`).
fn hash_table_set(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    if argc != 3 {
        return Err(crate::vm::Exn::redirect("%hash-table-set!/pairs"));
    }
    let t = keyed_table_arg(vm, "hash-table-set!", "%generic-set!", base)?;
    let key = arg(vm, base, 1);
    let h = key_hash(vm, kind_of(vm, t), key);
    let e = find_entry(vm, t, key, h);
    if !e.is_nil() {
        let v = arg(vm, base, 2);
        vm.heap.set(e, VAL, v);
        return Ok(Value::UNSPECIFIED);
    }
    let count = count_of(vm, t) + 1;
    let nbuckets = vm.heap.len(vm.heap.get(t, BUCKETS));
    if count > nbuckets {
        grow(vm, base, 2 * nbuckets)?;
    }
    // The hash survives the allocations: it never depends on addresses.
    let e = vm.alloc(VECTOR, 3)?;
    let (t, key, v) = (arg(vm, base, 0), arg(vm, base, 1), arg(vm, base, 2));
    let buckets = vm.heap.get(t, BUCKETS);
    let i = bucket_index(h, vm.heap.len(buckets));
    vm.heap.set(e, KEY, key);
    vm.heap.set(e, VAL, v);
    vm.heap.set(e, NEXT, vm.heap.get(buckets, i));
    vm.heap.set(buckets, i, e);
    vm.heap.set(t, COUNT, Value::fix(count as i64));
    Ok(Value::UNSPECIFIED)
}

/// `(hash-table-delete! table key ...)`: how many of the keys were there
/// (several keys: `boot.scm`).
fn hash_table_delete(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    if argc != 2 {
        return Err(crate::vm::Exn::redirect("%hash-table-delete!/keys"));
    }
    let t = keyed_table_arg(vm, "hash-table-delete!", "%generic-delete!", base)?;
    let key = arg(vm, base, 1);
    let kind = kind_of(vm, t);
    let h = key_hash(vm, kind, key);
    let buckets = vm.heap.get(t, BUCKETS);
    let i = bucket_index(h, vm.heap.len(buckets));
    let mut prev = Value::NIL;
    let mut e = vm.heap.get(buckets, i);
    while !e.is_nil() {
        let next = vm.heap.get(e, NEXT);
        if same_key(vm, kind, vm.heap.get(e, KEY), key) {
            if prev.is_nil() {
                vm.heap.set(buckets, i, next);
            } else {
                vm.heap.set(prev, NEXT, next);
            }
            let count = count_of(vm, t) - 1;
            vm.heap.set(t, COUNT, Value::fix(count as i64));
            return Ok(Value::fix(1));
        }
        prev = e;
        e = next;
    }
    Ok(Value::fix(0))
}

fn hash_table_contains(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = keyed_table_arg(vm, "hash-table-contains?", "%generic-contains?", base)?;
    let key = arg(vm, base, 1);
    let h = key_hash(vm, kind_of(vm, t), key);
    Ok(Value::bool(!find_entry(vm, t, key, h).is_nil()))
}

/// `(hash-table-count table)`, SRFI-69's size; `(hash-table-count pred
/// table)`, SRFI-125's count of the entries `pred` holds for, is
/// `boot.scm`'s.
fn hash_table_count(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    if argc == 2 {
        return Err(crate::vm::Exn::redirect("%hash-table-count/pred"));
    }
    let t = table_arg(vm, "hash-table-count", base)?;
    Ok(Value::fix(count_of(vm, t) as i64))
}

/// Push every entry of table `t` on the stack.
fn push_entries(vm: &mut Vm, t: Value) {
    let buckets = vm.heap.get(t, BUCKETS);
    for b in 0..vm.heap.len(buckets) {
        let mut e = vm.heap.get(buckets, b);
        while !e.is_nil() {
            vm.stack.push(e);
            e = vm.heap.get(e, NEXT);
        }
    }
}

/// A list of one field of every entry of the table in argument 0.
fn entry_field_list(vm: &mut Vm, base: usize, who: &str, field: usize) -> VmResult<Value> {
    let t = table_arg(vm, who, base)?;
    let start = vm.stack.len();
    push_entries(vm, t);
    for i in start..vm.stack.len() {
        vm.stack[i] = vm.heap.get(vm.stack[i], field);
    }
    vm.list_from_stack(start)
}

fn hash_table_keys(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    entry_field_list(vm, base, "hash-table-keys", KEY)
}

fn hash_table_values(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    entry_field_list(vm, base, "hash-table-values", VAL)
}

fn hash_table_to_alist(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = table_arg(vm, "hash-table->alist", base)?;
    let start = vm.stack.len();
    push_entries(vm, t);
    for i in start..vm.stack.len() {
        let e = vm.stack[i];
        let (k, v) = (vm.heap.get(e, KEY), vm.heap.get(e, VAL));
        let p = vm.cons(k, v)?;
        vm.stack[i] = p;
    }
    vm.list_from_stack(start)
}

fn hash_table_clear(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    table_arg(vm, "hash-table-clear!", base)?;
    let buckets = vm.make_vector(INITIAL_BUCKETS, Value::NIL)?;
    let t = arg(vm, base, 0);
    vm.heap.set(t, BUCKETS, buckets);
    vm.heap.set(t, COUNT, Value::fix(0));
    Ok(Value::UNSPECIFIED)
}

fn hash_table_copy(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = keyed_table_arg(vm, "hash-table-copy", "%generic-copy", base)?;
    let n = vm.heap.len(vm.heap.get(t, BUCKETS));
    let start = vm.stack.len();
    let new = vm.make_vector(n, Value::NIL)?;
    vm.stack.push(new);
    // Push (bucket index, entry) for every entry, then copy each one.
    let t = arg(vm, base, 0);
    let old = vm.heap.get(t, BUCKETS);
    for b in 0..n {
        let mut e = vm.heap.get(old, b);
        while !e.is_nil() {
            vm.stack.push(Value::fix(b as i64));
            vm.stack.push(e);
            e = vm.heap.get(e, NEXT);
        }
    }
    let mut i = start + 1;
    while i < vm.stack.len() {
        let copy = vm.alloc(VECTOR, 3)?;
        let b = vm.stack[i].as_fixnum_unchecked() as usize;
        let (e, new) = (vm.stack[i + 1], vm.stack[start]);
        vm.heap.set(copy, KEY, vm.heap.get(e, KEY));
        vm.heap.set(copy, VAL, vm.heap.get(e, VAL));
        vm.heap.set(copy, NEXT, vm.heap.get(new, b));
        vm.heap.set(new, b, copy);
        i += 2;
    }
    vm.stack.truncate(start + 1);
    let t = arg(vm, base, 0);
    let (kind, count) = (vm.heap.get(t, KIND), vm.heap.get(t, COUNT));
    let new = vm.stack.pop().unwrap_or(Value::NIL);
    vm.stack.push(kind);
    vm.stack.push(count);
    vm.stack.push(new);
    vm.stack.push(Value::fix(vm.hash_key.tag));
    vm.object_from_stack(HASH_TABLE, start)
}

/// The global value of `name` (a procedure this module describes a table by).
fn global_named(vm: &mut Vm, name: &str) -> VmResult<Value> {
    let sym = vm.intern(name)?;
    Ok(vm.global_value(sym))
}

fn hash_table_equivalence_function(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = table_arg(vm, "hash-table-equivalence-function", base)?;
    if kind_of(vm, t) == GENERIC {
        let fs = vm.heap.get(t, KEY_TAG);
        return Ok(vm.heap.get(fs, 0));
    }
    let name = match kind_of(vm, t) {
        EQ => "eq?",
        EQV => "eqv?",
        STRING_EQ => "string=?",
        _ => "equal?",
    };
    global_named(vm, name)
}

/// A hash function consistent with the table's equivalence (`hash`, which
/// hashes by content, is also an `eqv?` hash: `eqv?` objects are `equal?`).
fn hash_table_hash_function(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = table_arg(vm, "hash-table-hash-function", base)?;
    if kind_of(vm, t) == GENERIC {
        let fs = vm.heap.get(t, KEY_TAG);
        return Ok(vm.heap.get(fs, 1));
    }
    let name = match kind_of(vm, t) {
        EQ => "hash-by-identity",
        STRING_EQ => "string-hash",
        _ => "hash",
    };
    global_named(vm, name)
}

// ---- hash functions ----------------------------------------------------------------

/// A hash as a non-negative fixnum, reduced modulo the optional bound in argument 1.
fn hash_result(vm: &mut Vm, who: &str, base: usize, argc: usize, h: u64) -> VmResult<Value> {
    let h = mix(h) >> 2;
    match opt_arg(vm, base, argc, 1) {
        None => Ok(Value::fix(h as i64)),
        Some(b) => match b.as_fixnum() {
            Some(n) if n > 0 => Ok(Value::fix((h % n as u64) as i64)),
            _ => Err(vm.type_error(who, "a positive exact integer bound", b)),
        },
    }
}

fn hash(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let h = equal_hash(vm, arg(vm, base, 0));
    hash_result(vm, "hash", base, argc, h)
}

fn eq_hash_prim(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let h = eq_hash(vm, arg(vm, base, 0));
    hash_result(vm, "eq-hash", base, argc, h)
}

fn string_hash_prim(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = vm.typed_arg("string-hash", base, 0, STRING, "a string")?;
    let h = string_hash(vm, s);
    hash_result(vm, "string-hash", base, argc, h)
}

fn string_ci_hash_prim(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let s = vm.typed_arg("string-ci-hash", base, 0, STRING, "a string")?;
    // Fold the way `string-ci=?` compares, so equal strings hash alike.
    let folded = super::string::fold_text(&vm.string_text(s));
    let h = crate::vm::str_hash(folded.chars());
    hash_result(vm, "string-ci-hash", base, argc, h)
}

fn hash_by_identity(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let h = eq_hash(vm, arg(vm, base, 0));
    hash_result(vm, "hash-by-identity", base, argc, h)
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::prim::testing::{check, err, eval};

    #[test]
    fn basic_operations() {
        check(&[
            ("(define t (make-hash-table)) (hash-table? t)", "#t"),
            (
                "(list (hash-table? (vector)) (hash-table-count t) (hash-table-size t))",
                "(#f 0 0)",
            ),
            (
                "(hash-table-set! t \"a\" 1) (hash-table-set! t '(b) 2) (hash-table-set! t 3 'three) (hash-table-count t)",
                "3",
            ),
            (
                "(list (hash-table-ref/default t (string #\\a) 0) (hash-table-ref/default t (list 'b) 0) (hash-table-ref/default t 3 0))",
                "(1 2 three)",
            ),
            ("(hash-table-ref/default t \"zz\" 'none)", "none"),
            (
                "(hash-table-set! t \"a\" 10) (list (hash-table-count t) (hash-table-ref/default t \"a\" 0))",
                "(3 10)",
            ),
            (
                "(list (hash-table-contains? t \"a\") (hash-table-exists? t '(b)) (hash-table-contains? t 'nope))",
                "(#t #t #f)",
            ),
            (
                "(hash-table-delete! t \"a\") (hash-table-delete! t \"missing\") (list (hash-table-count t) (hash-table-contains? t \"a\"))",
                "(2 #f)",
            ),
            ("(length (hash-table-keys t))", "2"),
            (
                "(list (and (member '(b) (hash-table-keys t)) #t) (and (member 'three (hash-table-values t)) #t))",
                "(#t #t)",
            ),
            (
                "(list (assoc 3 (hash-table->alist t)) (length (hash-table->alist t)))",
                "((3 . three) 2)",
            ),
            (
                "(define c (hash-table-copy t)) (hash-table-set! c 'new 1) (list (hash-table-count t) (hash-table-count c) (hash-table-ref/default c 3 #f))",
                "(2 3 three)",
            ),
            (
                "(hash-table-clear! t) (list (hash-table-count t) (hash-table-keys t) (hash-table-count c))",
                "(0 () 3)",
            ),
            (
                "(hash-table-set! t 'again 1) (hash-table->alist t)",
                "((again . 1))",
            ),
            (
                "(list (hash-table-ref t 'again) (hash-table-ref t 'x (lambda () 'failed)))",
                "(1 failed)",
            ),
            (
                "(hash-table-update!/default t 'n (lambda (x) (+ x 1)) 41) (hash-table-ref t 'n)",
                "42",
            ),
            ("(hash-table-copy (make-hash-table) #t)", "#<hash-table 0>"),
        ]);
    }

    #[test]
    fn equivalences() {
        check(&[
            (
                "(define q (make-hash-table eq?)) (define k (string #\\k)) (hash-table-set! q k 1) (hash-table-set! q 'sym 2) (hash-table-set! q 7 3)",
                "#<unspecified>",
            ),
            (
                "(list (hash-table-ref/default q k #f) (hash-table-ref/default q \"k\" #f) (hash-table-ref/default q 'sym #f) (hash-table-ref/default q 7 #f))",
                "(1 #f 2 3)",
            ),
            (
                "(define v (make-hash-table eqv?)) (hash-table-set! v 1.5 'a) (hash-table-set! v 100000000000000000000 'b) (hash-table-set! v \"s\" 'c)",
                "#<unspecified>",
            ),
            (
                "(list (hash-table-ref/default v (/ 3. 2) #f) (hash-table-ref/default v (* 10000000000 10000000000) #f) (hash-table-ref/default v \"s\" #f))",
                "(a b #f)",
            ),
            (
                "(define s (make-hash-table string=?)) (hash-table-set! s \"abc\" 1) (hash-table-set! s \"abcd\" 2) (hash-table-set! s \"\" 3)",
                "#<unspecified>",
            ),
            (
                "(list (hash-table-ref/default s (string-append \"ab\" \"c\") #f) (hash-table-ref/default s \"abcd\" #f) (hash-table-ref/default s (make-string 0) #f) (hash-table-ref/default s \"x\" #f))",
                "(1 2 3 #f)",
            ),
            (
                "(define e (make-hash-table equal? equal-hash)) (hash-table-set! e (vector 1 \"x\" '(2)) 'v) (hash-table-set! e #u8(1 2) 'b) (hash-table-set! e 2.5 'f)",
                "#<unspecified>",
            ),
            (
                "(list (hash-table-ref/default e (vector 1 \"x\" (list 2)) #f) (hash-table-ref/default e (bytevector 1 2) #f) (hash-table-ref/default e 2.5 #f) (hash-table-ref/default e (vector 1) #f))",
                "(v b f #f)",
            ),
            (
                "(list (hash-table-count (make-eq-hash-table)) (hash-table-count (make-eqv-hash-table)) (hash-table-count (make-equal-hash-table)) (hash-table-count (make-string-hash-table)))",
                "(0 0 0 0)",
            ),
            (
                "(define m (make-string-hash-table)) (hash-table-set! m (make-string 3 #\\a) 1) (hash-table-ref/default m \"aaa\" #f)",
                "1",
            ),
        ]);
    }

    #[test]
    fn hash_functions() {
        check(&[
            (
                "(list (= (hash '(1 \"a\" #(2))) (hash (list 1 (string #\\a) (vector 2)))) (= (equal-hash \"abc\") (hash \"abc\")))",
                "(#t #t)",
            ),
            (
                "(list (= (string-hash \"abc\") (string-hash (string #\\a #\\b #\\c))) (exact? (string-hash \"x\")) (>= (eq-hash 'a) 0))",
                "(#t #t #t)",
            ),
            (
                "(let ((x (list 1))) (= (eq-hash x) (begin (gc) (eq-hash x))))",
                "#t",
            ),
            (
                "(list (< (hash \"abc\" 10) 10) (< (string-hash \"abc\" 3) 3) (< (eq-hash 'q 5) 5) (>= (hash 12345 7) 0))",
                "(#t #t #t #t)",
            ),
            (
                "(let ((l (list 1 2 3))) (set-cdr! (cddr l) l) (exact? (hash l)))",
                "#t",
            ),
            (
                "(let ((v (vector 1 2))) (vector-set! v 0 v) (exact? (equal-hash v)))",
                "#t",
            ),
        ]);
    }

    #[test]
    fn srfi69_extras() {
        check(&[
            (
                "(define a (alist->hash-table '((x . 1) (y . 2) (x . 3)))) (list (hash-table-ref a 'x) (hash-table-count a))",
                "(1 2)",
            ),
            (
                "(hash-table-ref/default (alist->hash-table '((\"k\" . 1)) string=?) (string #\\k) #f)",
                "1",
            ),
            (
                "(hash-table-ref/default (alist->hash-table (list (cons (list 1) 'l)) eq?) (list 1) 'none)",
                "none",
            ),
            (
                "(define b (alist->hash-table '((y . 20) (z . 30)))) (list (eq? (hash-table-merge! a b) a) (hash-table-count a) (hash-table-ref a 'y) (hash-table-count b))",
                "(#t 3 20 2)",
            ),
            (
                "(map (lambda (f) (eq? (hash-table-equivalence-function (make-hash-table f)) f)) (list eq? eqv? equal? string=?))",
                "(#t #t #t #t)",
            ),
            (
                "(eq? (hash-table-equivalence-function (make-hash-table)) equal?)",
                "#t",
            ),
            (
                "(map (lambda (f) (hash-table-hash-function (make-hash-table f))) (list eq? eqv? equal? string=?))",
                "(#<procedure hash-by-identity> #<procedure hash> #<procedure hash> #<procedure string-hash>)",
            ),
            (
                "(list (= (string-ci-hash \"aBc\") (string-ci-hash \"AbC\")) (= (string-ci-hash \"Straße\") (string-ci-hash \"STRASSE\")) (< (string-ci-hash \"x\" 5) 5))",
                "(#t #t #t)",
            ),
            (
                "(let ((x (list 1))) (list (= (hash-by-identity x) (begin (gc) (hash-by-identity x))) (< (hash-by-identity 'a 3) 3)))",
                "(#t #t)",
            ),
        ]);
        assert!(
            err("(alist->hash-table '((a . 1) b))")
                .contains("alist->hash-table: expected an association list")
        );
        assert!(
            err("(hash-table-merge! (make-hash-table) 'x)")
                .contains("hash-table-merge!: expected a hash table")
        );
        assert!(
            err("(hash-table-equivalence-function 5)").contains("hash-table-equivalence-function")
        );
        assert!(err("(hash-table-hash-function '())").contains("hash-table-hash-function"));
        assert!(err("(string-ci-hash 'a)").contains("string-ci-hash"));
        assert!(err("(hash-by-identity 'a 0)").contains("hash-by-identity"));
    }

    #[test]
    fn errors() {
        assert!(
            err("(make-hash-table 42)")
                .contains("make-hash-table: expected an equivalence procedure or a comparator")
        );
        assert!(err("(make-hash-table equal? 42)").contains("expected a hash procedure"));
        assert!(
            err("(hash-table-set! (make-hash-table equal? (lambda (k . b) 'x)) 1 2)")
                .contains("the hash function gave what is not a non-negative exact integer")
        );
        assert!(err("(hash-table-set! (vector) 1 2)").contains("hash-table-set!"));
        assert!(err("(hash-table-ref/default '() 1 2)").contains("hash-table-ref/default"));
        assert!(err("(hash-table-count 5)").contains("hash-table-count"));
        assert!(err("(hash-table-keys 5)").contains("hash-table-keys"));
        assert!(err("(hash-table-ref (make-hash-table) 'missing)").contains("hash-table-ref"));
        assert!(err("(string-hash 'a)").contains("string-hash"));
        assert!(err("(hash 1 0)").contains("hash"));
    }

    /// Fill a table of `kind` with `n` keys made by `key`, collect, then
    /// look every key up again and delete half of them.
    fn big_table(make: &str, key: &str, n: usize) {
        let src = format!(
            "(define n {n})
             (define (key i) {key})
             (define t {make})
             (let loop ((i 0)) (if (< i n) (begin (hash-table-set! t (key i) i) (loop (+ i 1)))))
             (gc)
             (let loop ((i 0)) (if (< i n) (begin (hash-table-set! t (key i) (* 2 i)) (loop (+ i 2)))))
             (gc)
             (define (sum i acc) (if (< i n) (sum (+ i 1) (+ acc (hash-table-ref/default t (key i) -1000000))) acc))
             (define before (sum 0 0))
             (let loop ((i 0)) (if (< i n) (begin (hash-table-delete! t (key i)) (loop (+ i 2)))))
             (gc)
             (list (hash-table-count t) before (sum 0 0) (length (hash-table-keys t)))"
        );
        let n = n as i64;
        let evens: i64 = (0..n).step_by(2).map(|i| 2 * i).sum();
        let odds: i64 = (1..n).step_by(2).sum();
        let want = format!(
            "({} {} {} {})",
            n / 2,
            evens + odds,
            odds - 1_000_000 * (n / 2),
            n / 2
        );
        assert_eq!(eval(&src), want, "{make} {key}");
    }

    #[test]
    fn big_string_table() {
        big_table("(make-hash-table string=?)", "(number->string i)", 100_000);
    }

    #[test]
    fn big_fixnum_table() {
        big_table("(make-hash-table eqv?)", "i", 100_000);
        big_table("(make-eq-hash-table)", "(* 7 i)", 100_000);
    }

    #[test]
    fn big_equal_table() {
        big_table("(make-hash-table)", "(cons i (number->string i))", 100_000);
    }

    #[test]
    fn eq_tables_find_keys_after_collection() {
        let src = "(define n 100000)
                   (define keys (make-vector n #f))
                   (define t (make-hash-table eq?))
                   (let loop ((i 0)) (if (< i n) (begin (vector-set! keys i (list i)) (hash-table-set! t (vector-ref keys i) i) (loop (+ i 1)))))
                   (gc)
                   (define (found i acc) (if (< i n) (found (+ i 1) (if (eqv? (hash-table-ref/default t (vector-ref keys i) #f) i) (+ acc 1) acc)) acc))
                   (list (found 0 0) (hash-table-ref/default t (list 0) 'fresh-key-missing) (hash-table-count (hash-table-copy t)))";
        assert_eq!(eval(src), "(100000 fresh-key-missing 100000)");
    }

    #[test]
    fn copies_and_lists_of_big_tables() {
        // Copying and listing allocate once per entry, so the collector
        // moves the table and its entries in the middle of each.
        let src = "(define n 50000)
                   (define t (make-hash-table))
                   (let loop ((i 0)) (if (< i n) (begin (hash-table-set! t (list i (number->string i)) (vector i)) (loop (+ i 1)))))
                   (define c (hash-table-copy t))
                   (hash-table-set! t (list 0 \"0\") 'changed)
                   (gc)
                   (define (check i ok) (if (< i n) (check (+ i 1) (and ok (equal? (hash-table-ref/default c (list i (number->string i)) #f) (vector i)))) ok))
                   (define (total l acc) (if (null? l) acc (total (cdr l) (+ acc (vector-ref (cdr (car l)) 0)))))
                   (list (check 0 #t) (hash-table-count c) (total (hash-table->alist c) 0) (length (hash-table-keys c)) (length (hash-table-values c))
                         (hash-table-ref/default t (list 0 \"0\") #f))";
        assert_eq!(eval(src), "(#t 50000 1249975000 50000 50000 changed)");
    }
}
