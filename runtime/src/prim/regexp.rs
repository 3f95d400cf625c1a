//! The engine under SRFI-115's regular expressions (`regexp.scm` turns an
//! SRE into a pattern of the `regex` crate's syntax): compiling a pattern,
//! and finding the first match, a whole-string match or every match of it
//! in a string. The engine runs in time linear in the text whatever the
//! pattern (finite automata, no backtracking).
//!
//! Compiled patterns live in a cache of the VM keyed by their text, not in
//! the heap: a regexp object is a record holding the pattern, so it is
//! saved in an image like any data and compiled again on its first use in
//! the image's process.
//!
//! A text is searched without a copy when it is a narrow string whose
//! characters in the range are ASCII (then byte offsets are character
//! indices); any other is converted to UTF-8 for the search, and the
//! offsets of the matches converted back to character indices.

use std::collections::HashMap;
use std::rc::Rc;

use imp_gc::Value;

use super::{PrimDef, arg, def};
use crate::obj::STRING;
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%regexp-compile", 1, 1, regexp_compile),
    def("%regexp-exec", 5, 5, regexp_exec),
    def("%char-class-ranges", 1, 1, char_class_ranges),
];

/// The most patterns kept compiled; past it the cache starts again.
const CACHE_LIMIT: usize = 512;

/// Compiled patterns by text, and their whole-string (anchored) forms.
#[derive(Default)]
pub struct Cache {
    searching: HashMap<String, Rc<regex::Regex>>,
    whole: HashMap<String, Rc<regex::Regex>>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Cache({} patterns)",
            self.searching.len() + self.whole.len()
        )
    }
}

/// How big a compiled pattern may grow (the `regex` crate's default is
/// 10 MiB; a counted repetition of a large class reaches it quickly).
const SIZE_LIMIT: usize = 64 << 20;

/// The compiled form of `pattern` (anchored at both ends if `whole`).
fn compiled(vm: &mut Vm, who: &str, pattern: &str, whole: bool) -> VmResult<Rc<regex::Regex>> {
    let cache = &mut vm.regexps;
    let map = if whole {
        &mut cache.whole
    } else {
        &mut cache.searching
    };
    if let Some(r) = map.get(pattern) {
        return Ok(r.clone());
    }
    let text = if whole {
        format!(r"\A(?:{pattern})\z")
    } else {
        pattern.to_string()
    };
    match regex::RegexBuilder::new(&text)
        .size_limit(SIZE_LIMIT)
        .build()
    {
        Ok(r) => {
            let r = Rc::new(r);
            if map.len() >= CACHE_LIMIT {
                map.clear();
            }
            map.insert(pattern.to_string(), r.clone());
            Ok(r)
        }
        Err(e) => {
            let msg = match e {
                regex::Error::CompiledTooBig(n) => {
                    format!("{who}: the regular expression compiles to more than {n} bytes")
                }
                e => format!("{who}: the regular expression cannot be compiled: {e}"),
            };
            Err(vm.error(msg, &[]))
        }
    }
}

fn pattern_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<String> {
    let p = vm.typed_arg(who, base, 0, STRING, "a pattern string")?;
    Ok(vm.string_text(p))
}

/// `(%regexp-compile pattern)`: the number of submatches of `pattern`, or
/// an error naming what is wrong with it.
fn regexp_compile(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let pattern = pattern_arg(vm, "regexp", base)?;
    let r = compiled(vm, "regexp", &pattern, false)?;
    Ok(Value::fix(r.captures_len() as i64 - 1))
}

/// The text searched: borrowed bytes (ASCII, so byte offsets are
/// character offsets) or a UTF-8 copy.
enum Hay<'a> {
    Ascii(&'a str),
    Copy(String),
}

impl Hay<'_> {
    fn text(&self) -> &str {
        match self {
            Hay::Ascii(s) => s,
            Hay::Copy(s) => s,
        }
    }
}

/// Byte offsets of a UTF-8 text to character indices: one cursor moving
/// forward (the starts of successive matches), each submatch counted from
/// its match's start.
struct Indexer<'a> {
    text: &'a str,
    ascii: bool,
    byte: usize,
    chars: usize,
}

impl Indexer<'_> {
    /// The character index of byte offset `b`, at or after the cursor.
    fn advance(&mut self, b: usize) -> usize {
        if self.ascii {
            return b;
        }
        if b >= self.byte {
            self.chars += self.text[self.byte..b].chars().count();
        } else {
            self.chars -= self.text[b..self.byte].chars().count();
        }
        self.byte = b;
        self.chars
    }

    /// The character index of byte offset `b`, at or after byte `from`
    /// whose index is `at`.
    fn from(&self, from: usize, at: usize, b: usize) -> usize {
        if self.ascii {
            b
        } else if b >= from {
            at + self.text[from..b].chars().count()
        } else {
            at - self.text[b..from].chars().count()
        }
    }
}

/// `(%regexp-exec pattern string start end mode)`: mode 0 finds the first
/// match in `string[start..end]`, 1 matches the whole range, 2 finds every
/// match. A match is a vector of start and end indices (in `string`), two
/// per submatch, `#f` for a submatch that took no part; mode 2 returns a
/// list of them, the others one or `#f`.
fn regexp_exec(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    const WHO: &str = "regexp-search";
    let pattern = pattern_arg(vm, WHO, base)?;
    let s = vm.typed_arg(WHO, base, 1, STRING, "a string")?;
    let (start, end) = (vm.index_arg(WHO, base, 2)?, vm.index_arg(WHO, base, 3)?);
    if start > end || end > vm.string_len(s) {
        return Err(vm.error(format!("{WHO}: bad range {start}..{end}"), &[]));
    }
    let mode = arg(vm, base, 4).as_fixnum().unwrap_or(0);
    let r = compiled(vm, WHO, &pattern, mode == 1)?;
    let groups = r.captures_len();
    // Each match's offsets, in characters from `start`.
    let mut found: Vec<Option<(usize, usize)>> = Vec::new();
    let mut count = 0usize;
    {
        let hay = match vm.ascii_chars(s, start, end) {
            Some(t) => Hay::Ascii(t),
            None => Hay::Copy(vm.string_utf8(s, start, end)),
        };
        let text = hay.text();
        let mut ix = Indexer {
            text,
            ascii: matches!(hay, Hay::Ascii(_)),
            byte: 0,
            chars: 0,
        };
        let mut locs = r.capture_locations();
        let mut at = 0;
        while at <= text.len() {
            let Some(m) = r.captures_read_at(&mut locs, text, at) else {
                break;
            };
            count += 1;
            let (mb, me) = (m.start(), m.end());
            let mc = ix.advance(mb);
            for g in 0..groups {
                found.push(
                    locs.get(g)
                        .map(|(b, e)| (ix.from(mb, mc, b), ix.from(mb, mc, e))),
                );
            }
            if mode != 2 {
                break;
            }
            // Past an empty match by one character, as the iterator of
            // the regex crate does.
            at = if me > mb {
                me
            } else {
                me + text[me..].chars().next().map_or(1, char::len_utf8)
            };
        }
    }
    // The Scheme side: a vector per match (built last to first for the list).
    let mut list = Value::NIL;
    vm.stack.push(list);
    let slot = vm.stack.len() - 1;
    for k in (0..count).rev() {
        let v = vm.make_vector(2 * groups, Value::FALSE)?;
        for (g, loc) in found[k * groups..(k + 1) * groups].iter().enumerate() {
            if let Some((b, e)) = loc {
                vm.heap.set(v, 2 * g, Value::fix((start + b) as i64));
                vm.heap.set(v, 2 * g + 1, Value::fix((start + e) as i64));
            }
        }
        if mode != 2 {
            vm.stack.truncate(slot);
            return Ok(v);
        }
        vm.stack.push(v);
        let rest = vm.stack[slot];
        let cell = vm.cons(v, rest);
        vm.stack.pop();
        vm.stack[slot] = cell?;
    }
    list = vm.stack.pop().unwrap_or(Value::NIL);
    Ok(if mode == 2 { list } else { Value::FALSE })
}

/// `(%char-class-ranges pattern)`: the characters of the class `pattern`
/// (say `\p{Lt}`) as SRFI-14's char-sets hold them, `#(from to ...)`
/// with each `to` past its range, from the engine's Unicode tables.
fn char_class_ranges(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use regex_syntax::hir::{Class, HirKind};
    let pattern = pattern_arg(vm, "char-set", base)?;
    let hir = regex_syntax::Parser::new().parse(&pattern);
    let ranges: Vec<(u32, u32)> = match hir.as_ref().map(|h| h.kind()) {
        Ok(HirKind::Class(Class::Unicode(c))) => c
            .ranges()
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32 + 1))
            .collect(),
        Ok(HirKind::Literal(l)) => match std::str::from_utf8(&l.0)
            .ok()
            .and_then(|s| s.chars().next())
        {
            Some(c) => vec![(c as u32, c as u32 + 1)],
            None => Vec::new(),
        },
        _ => return Err(vm.error(format!("char-set: not a class: {pattern}"), &[])),
    };
    let v = vm.make_vector(2 * ranges.len(), Value::FALSE)?;
    for (i, (from, to)) in ranges.into_iter().enumerate() {
        vm.heap.set(v, 2 * i, Value::fix(i64::from(from)));
        vm.heap.set(v, 2 * i + 1, Value::fix(i64::from(to)));
    }
    Ok(v)
}
