//! The shapes this runtime makes its objects in, as an image's checks see
//! them (`doc/IMAGE-FORMAT.md` §8.6–8.7): [`valid_object`] looks at one
//! object's tag and payload words, [`valid_fields`] at what its reference
//! fields point to. Both are the runtime's promise about its own heap, so
//! a heap that breaks them was not made by this runtime: damaged, or made
//! up.

use imp_gc::{Tag, Value};

use crate::obj::{self, code};
use crate::prim::PRIMITIVES;

/// Does a code object's `ENTRY` word (which calls trust for the arity and
/// the frame size) say what its `NREQ`, `REST` and `NSLOTS` fields say?
pub(super) fn code_entry_agrees(p: &[u64]) -> bool {
    let field = |i: usize| p.get(i).and_then(|&w| Value::from_bits(w).as_fixnum());
    match (
        field(code::NREQ),
        field(code::REST),
        field(code::NSLOTS),
        field(code::ENTRY),
    ) {
        (Some(nreq), Some(rest), Some(nslots), Some(entry)) => {
            nreq >= 0 && nslots >= nreq && code::entry(nreq, rest, nslots) == entry
        }
        _ => false,
    }
}

/// Is `w` a well-formed value: a fixnum, a reference, or one of the
/// immediates this runtime makes (a character only for a Unicode scalar
/// value, the others with no datum)?
pub(crate) fn is_value(w: u64) -> bool {
    let v = Value::from_bits(w);
    if v.is_fixnum() || v.is_ref() {
        return true;
    }
    if !v.is_imm() {
        return false;
    }
    let kind = (w >> 3) & 31;
    match kind {
        0..=6 => w >> 8 == 0,
        7 => (w >> 8) & 0xff_ffff == 0 && char::from_u32((w >> 32) as u32).is_some(),
        _ => false,
    }
}

/// Is an object of tag `t` with payload `p` shaped as this runtime makes
/// them? Raw objects' length fields must fit their payload, so nothing that
/// reads one can run past it; fixed shapes must have their field count and
/// the fixnums they keep; every word of a traced object must be a value.
pub(crate) fn valid_object(t: Tag, p: &[u64]) -> Result<(), String> {
    let n = p.len();
    let fits = |words: u64| words <= n.saturating_sub(1) as u64;
    let fix = |i: usize| p.get(i).is_some_and(|&w| Value::from_bits(w).is_fixnum());
    let boolean = |i: usize| {
        p.get(i)
            .is_some_and(|&w| w == Value::TRUE.bits() || w == Value::FALSE.bits())
    };
    let ok = match t {
        obj::PAIR | obj::SYMBOL => n == 2,
        obj::PRIMITIVE => n == 2 && fix(0),
        obj::BOX | obj::KEYWORD | obj::ENVIRONMENT => n == 1,
        obj::CODE => n == code::SIZE && code_entry_agrees(p),
        obj::ERROR => n == obj::error::SIZE,
        obj::THREAD => n == crate::sched::field::SIZE,
        obj::MUTEX => n == crate::sched::mutex::SIZE,
        obj::CONDVAR => n == crate::sched::condvar::SIZE,
        obj::CHANNEL => n == crate::sched::channel::SIZE,
        // Kind, buffer, position, descriptor (or #f), session.
        obj::PORT => {
            n == 5 && fix(0) && fix(2) && (fix(3) || p[3] == Value::FALSE.bits()) && fix(4)
        }
        obj::CLOSURE | obj::RECORD => n >= 1,
        obj::HASH_TABLE => n == crate::prim::hash::TABLE_FIELDS && fix(0) && fix(1),
        obj::VECTOR => true,
        // Name, field names, uid.
        obj::RECORD_TYPE => n == 3 && fix(2),
        // One value is never boxed.
        obj::VALUES => n != 1,
        // Kind, then the rules or the procedure, then (rules only) the
        // library they belong to.
        obj::MACRO => (n == 2 || n == 3) && fix(0),
        // Saved stack, saved frames, fp, pc, and the entry it was captured in.
        obj::CONTINUATION => n == 6 && (2..6).all(fix),
        obj::PROMISE => n == 2 && boolean(0),
        obj::PARAMETER => n == 2,
        obj::STRING => {
            let len = p.first().map_or(0, |w| w & !obj::STRING_WIDE);
            let wide = p.first().is_some_and(|w| w & obj::STRING_WIDE != 0);
            n >= 1
                && n as u64
                    == 1 + if wide {
                        len.div_ceil(2)
                    } else {
                        len.div_ceil(8)
                    }
        }
        obj::WIDENED => n >= 2,
        obj::RATIO => n == 2,
        obj::COMPLEX => n == 2,
        obj::HOST => n == crate::host::field::SIZE && fix(0) && fix(1) && fix(3),
        obj::SOCKET => n == crate::prim::net::field::SIZE && (0..4).all(fix),
        obj::BYTEVECTOR => n >= 1 && fits(p[0].div_ceil(8)),
        obj::FLONUM => n == 1,
        obj::BIGNUM => n >= 1 && p[0] >> 1 <= u64::from(u32::MAX) && fits((p[0] >> 1).div_ceil(2)),
        obj::BYTECODE => n >= 1 && fits(p[0]),
        obj::LINES => n >= 1 && fits(p[0].div_ceil(2)),
        _ => return Err(format!("unknown object tag {}", t.0)),
    };
    if !ok {
        return Err(format!("a {} with a bad size or length", obj::tag_name(t)));
    }
    if let Some(w) = p.iter().find(|&&w| t.is_traced() && !is_value(w)) {
        return Err(format!(
            "a {} holding {w:#x}, which is no value",
            obj::tag_name(t)
        ));
    }
    if t == obj::PRIMITIVE
        && !Value::from_bits(p[0])
            .as_fixnum()
            .is_some_and(|id| id == -1 || (id >= 0 && (id as usize) < PRIMITIVES.len()))
    {
        return Err("a native procedure this imp does not have".into());
    }
    Ok(())
}

/// Do the reference fields of an object of tag `t` with payload `p` point
/// to what the runtime reads there without looking (a closure's code, a
/// code object's bytecode and constants, a symbol's name, …)? `tag_of`
/// gives the tag of the object a value refers to (`None` for a value that
/// is no reference, or none the check accepts).
pub(crate) fn valid_fields(
    t: Tag,
    p: &[u64],
    tag_of: &dyn Fn(Value) -> Option<Tag>,
) -> Result<(), String> {
    let field = |i: usize| p.get(i).map_or(Value::FALSE, |&w| Value::from_bits(w));
    let is = |i: usize, want: &[Tag]| tag_of(field(i)).is_some_and(|x| want.contains(&x));
    let is_or_false = |i: usize, want: &[Tag]| field(i) == Value::FALSE || is(i, want);
    let string = [obj::STRING, obj::WIDENED];
    let integer = |i: usize| field(i).is_fixnum() || is(i, &[obj::BIGNUM]);
    let is_real = |i: usize| integer(i) || is(i, &[obj::RATIO, obj::FLONUM]);
    let (ok, what) = match t {
        obj::CLOSURE => (
            is(0, &[obj::CODE]),
            "a closure whose code is not a code object",
        ),
        obj::CODE => (
            is(code::BYTECODE, &[obj::BYTECODE])
                && is(code::CONSTS, &[obj::VECTOR])
                && is_or_false(code::NAME, &[obj::SYMBOL])
                && is_or_false(code::LINES, &[obj::LINES])
                && is_or_false(code::FILE, &string),
            "a code object whose bytecode, constants, name, lines or file is of the wrong kind",
        ),
        obj::SYMBOL => (is(0, &string), "a symbol whose name is not a string"),
        obj::KEYWORD => (is(0, &string), "a keyword whose name is not a string"),
        obj::RECORD => (
            is(0, &[obj::RECORD_TYPE]),
            "a record whose type is not a record type",
        ),
        obj::RECORD_TYPE => (
            is(1, &[obj::VECTOR]),
            "a record type whose field names are not a vector",
        ),
        obj::HASH_TABLE => (
            is(2, &[obj::VECTOR]),
            "a hash table whose buckets are not a vector",
        ),
        obj::WIDENED => (
            is(0, &[obj::STRING]),
            "a widened string whose body is not a string",
        ),
        obj::RATIO => (
            integer(0) && integer(1),
            "a ratio whose parts are not exact integers",
        ),
        obj::COMPLEX => (
            is_real(0) && is_real(1),
            "a complex number whose parts are not real numbers",
        ),
        obj::CONTINUATION => (
            is(0, &[obj::VECTOR]) && is(1, &[obj::BYTEVECTOR]),
            "a continuation whose saved stack or frames are of the wrong kind",
        ),
        obj::PORT => (
            matches!(field(1), Value::FALSE)
                || is(1, &[obj::STRING, obj::WIDENED, obj::BYTEVECTOR]),
            "a port whose buffer is of the wrong kind",
        ),
        _ => (true, ""),
    };
    if ok { Ok(()) } else { Err(what.into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(nreq: i64, rest: i64, nslots: i64, entry: i64) -> Vec<u64> {
        let mut p = vec![Value::FALSE.bits(); code::SIZE];
        p[code::NREQ] = Value::fix(nreq).bits();
        p[code::REST] = Value::fix(rest).bits();
        p[code::NSLOTS] = Value::fix(nslots).bits();
        p[code::ENTRY] = Value::fix(entry).bits();
        p
    }

    #[test]
    fn the_entry_word_packs_the_arity_and_the_frame_size() {
        assert_eq!(code::entry_fields(code::entry(2, 0, 7)), (2, 7));
        assert_eq!(code::entry_fields(code::entry(0, 0, 0)), (0, 0));
        // A rest parameter or counts too large: no argument count matches.
        for e in [code::entry(1, -1, 3), code::entry(1 << 24, 0, 1 << 24)] {
            assert_eq!(e, -1);
            assert!(code::entry_fields(e).0 > 0xff_ffff);
        }
    }

    #[test]
    fn a_code_object_whose_entry_word_disagrees_is_refused() {
        assert!(code_entry_agrees(&payload(2, 0, 5, code::entry(2, 0, 5))));
        assert!(code_entry_agrees(&payload(1, -1, 4, -1)));
        assert!(!code_entry_agrees(&payload(2, 0, 5, code::entry(2, 0, 9))));
        assert!(!code_entry_agrees(&payload(2, 0, 5, code::entry(3, 0, 5))));
        assert!(!code_entry_agrees(&payload(1, -1, 4, code::entry(1, 0, 4))));
        assert!(!code_entry_agrees(&payload(5, 0, 2, code::entry(5, 0, 2))));
        let mut p = payload(2, 0, 5, code::entry(2, 0, 5));
        p[code::ENTRY] = Value::FALSE.bits();
        assert!(!code_entry_agrees(&p));
        assert!(!code_entry_agrees(&[]), "too short");
    }

    // See issue #20, item 14
    #[test]
    fn issue_20_14_fixed_shapes_have_their_field_counts() {
        let f = Value::FALSE.bits();
        let one = Value::fix(1).bits();
        for (t, good, bad) in [
            (obj::RECORD_TYPE, vec![f, f, one], vec![f, f]),
            (obj::VALUES, vec![], vec![f]),
            (obj::MACRO, vec![one, f, f], vec![f, f, f]),
            (
                obj::CONTINUATION,
                vec![f, f, one, one, one, one],
                vec![f, f, one, one, one],
            ),
            (obj::PROMISE, vec![Value::TRUE.bits(), f], vec![one, f]),
            (obj::PARAMETER, vec![f, f], vec![f, f, f]),
            (obj::KEYWORD, vec![f], vec![f, f]),
            (obj::ENVIRONMENT, vec![f], vec![]),
            (
                obj::PORT,
                vec![one, f, one, f, one],
                vec![one, f, f, one, one],
            ),
            (obj::HOST, vec![one, one, f, one], vec![f, one, f, one]),
        ] {
            assert_eq!(valid_object(t, &good), Ok(()), "{}", obj::tag_name(t));
            assert!(valid_object(t, &bad).is_err(), "{}", obj::tag_name(t));
        }
        // A traced word that is no value, and a tag nobody makes.
        assert!(valid_object(obj::PAIR, &[f, u64::MAX]).is_err());
        assert!(valid_object(obj::VECTOR, &[0b101]).is_err());
        assert!(valid_object(Tag(0x70), &[]).is_err());
        // A bignum whose digit count runs past its payload.
        assert!(valid_object(obj::BIGNUM, &[(4 << 1) | 1, 0]).is_err());
        assert_eq!(valid_object(obj::BIGNUM, &[(4 << 1) | 1, 0, 0]), Ok(()));
    }

    #[test]
    fn values_are_what_the_runtime_makes() {
        for v in [
            Value::NIL,
            Value::FALSE,
            Value::TRUE,
            Value::UNSPECIFIED,
            Value::EOF,
            Value::DEFAULT,
            Value::UNDEFINED,
            Value::char('λ'),
            Value::fix(-5),
            Value::from_offset(1 << 20),
        ] {
            assert!(is_value(v.bits()), "{v:?}");
        }
        for w in [
            u64::MAX,
            0b101,
            0b111,
            (9 << 3) | 3,
            Value::NIL.bits() | (1 << 32),
            (7 << 3) | 3 | (0xd800 << 32),
        ] {
            assert!(!is_value(w), "{w:#x}");
        }
    }
}
