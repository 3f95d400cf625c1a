//! Renamed identifiers, the basis of `syntax-rules` hygiene.
//!
//! Each expansion of a `syntax-rules` macro takes a fresh mark and renames
//! every identifier its template introduces to an alias: the string
//! `\u{1}MARK\u{1}PARENT`, where PARENT is the identifier as written in the
//! template (itself an alias when a macro defined a macro). A binding form
//! binds an alias as a name of its own, so a macro's `tmp` and the user's
//! `tmp` are different variables. An alias no binding form of the expansion
//! bound means what PARENT meant where the macro was defined: the expander
//! records, per mark, how many lexical scopes were visible there
//! (`Expander::resolve`). Free aliases (globals, quoted data, top-level
//! definitions) lose their marks: `base`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::reader::{Datum, DatumKind};

const MARK: char = '\u{1}';

static NEXT_MARK: AtomicU64 = AtomicU64::new(1);

/// A mark no other expansion in this process has used.
pub fn fresh_mark() -> u64 {
    NEXT_MARK.fetch_add(1, Ordering::Relaxed)
}

/// `parent` renamed by `mark`.
pub fn make(mark: u64, parent: &str) -> String {
    format!("{MARK}{mark}{MARK}{parent}")
}

/// The mark and parent of an alias; `None` for a plain identifier.
pub fn split(s: &str) -> Option<(u64, &str)> {
    let rest = s.strip_prefix(MARK)?;
    let (n, parent) = rest.split_once(MARK)?;
    Some((n.parse().ok()?, parent))
}

/// The identifier as the user wrote it, every mark removed.
pub fn base(s: &str) -> &str {
    let mut s = s;
    while let Some((_, p)) = split(s) {
        s = p;
    }
    s
}

/// Whether `d` is an identifier whose base is `name`.
pub fn is(d: &Datum, name: &str) -> bool {
    d.as_sym().map(base) == Some(name)
}

/// `d` with every alias in it replaced by its base (quoted data).
pub fn strip(d: &Datum) -> Datum {
    let mut d = d.clone();
    let mut work = vec![&mut d];
    while let Some(x) = work.pop() {
        match &mut x.kind {
            DatumKind::Sym(s) if split(s).is_some() => *s = base(s).to_string(),
            DatumKind::List(items, tail) => {
                if let Some(t) = tail {
                    work.push(t);
                }
                work.extend(items.iter_mut());
            }
            DatumKind::Vector(items) => work.extend(items.iter_mut()),
            DatumKind::Label(_, inner) => work.push(inner),
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_nest_and_strip() {
        let a = make(7, "tmp");
        let b = make(9, &a);
        assert_eq!(split(&b), Some((9, a.as_str())));
        assert_eq!(base(&b), "tmp");
        assert_eq!(base("tmp"), "tmp");
        assert_eq!(split("tmp"), None);
        assert_ne!(fresh_mark(), fresh_mark());
    }
}
