//! The source reader: R7RS-small lexical syntax (sections 2 and 7.1.1) to
//! [`Datum`] trees.
//!
//! The lexer (`lex`) produces one token at a time; [`Reader::read`] assembles
//! tokens into datums with an explicit stack instead of recursion, so
//! arbitrarily deep input cannot overflow the Rust stack. Nesting is still
//! capped at [`MAX_NESTING`], because everything downstream of the reader
//! (including `Drop` of the resulting tree) does recurse.
//!
//! [`write_datum`] is the inverse: it prints a datum so that reading the text
//! back gives an equal datum.

pub mod datum;
mod lex;
pub mod number;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fmt;

pub use datum::{Datum, DatumKind, Number, Pos};
pub use number::parse_number;

use lex::{Lexer, Open, Tok};
use number::{Classified, classify};

/// How deeply lists, vectors, abbreviations and labels may nest before the
/// reader gives up with "nesting too deep".
pub const MAX_NESTING: usize = 10_000;

/// Why a read failed.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadError {
    /// What went wrong, naming the offending text.
    pub message: String,
    /// Where the offending token (or the unterminated construct) starts.
    pub pos: Pos,
    /// True when the input ended inside a datum, so more input could make it
    /// valid (a REPL asks for another line); false for malformed input.
    pub incomplete: bool,
}

impl ReadError {
    /// A malformed-input error.
    fn new(message: impl Into<String>, pos: Pos) -> ReadError {
        ReadError {
            message: message.into(),
            pos,
            incomplete: false,
        }
    }

    /// An "input ended too soon" error.
    fn incomplete(message: impl Into<String>, pos: Pos) -> ReadError {
        ReadError {
            message: message.into(),
            pos,
            incomplete: true,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.pos.line, self.pos.col, self.message
        )
    }
}

impl std::error::Error for ReadError {}

/// Source text from bytes: the text if they are UTF-8, else a read error
/// at the first bad byte (its line and column counted in characters, as
/// the reader counts them). Source is never decoded lossily: a program
/// whose bytes were changed must not run as if they were not.
///
/// ```
/// let e = imp::reader::decode_source(b"(display \"a\xffb\")".to_vec()).unwrap_err();
/// assert_eq!((e.pos.line, e.pos.col), (1, 12));
/// assert!(e.message.contains("0xff"));
/// ```
///
/// # Errors
/// The position and value of the first byte that is not UTF-8.
pub fn decode_source(bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        let good = std::str::from_utf8(&bytes[..bad]).unwrap_or_default();
        let line = 1 + good.matches('\n').count() as u32;
        let col = 1 + good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32;
        ReadError::new(
            format!("not valid UTF-8 (byte 0x{:02x})", bytes[bad]),
            Pos { line, col },
        )
    })
}

/// Reads datums one at a time from a string.
///
/// The `#!fold-case` state carries over from one [`read`](Reader::read) to
/// the next, as it does on a port.
pub struct Reader<'a> {
    lex: Lexer<'a>,
}

/// Where a list stands with respect to a dot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dot {
    /// No dot seen yet.
    None,
    /// Seen a dot; the tail datum comes next.
    Expecting,
    /// Have the tail; only the closer may come now.
    Done,
}

/// An open sequence: list, vector or bytevector.
struct Seq {
    open: Open,
    pos: Pos,
    items: Vec<Datum>,
    bytes: Vec<u8>,
    dot: Dot,
    tail: Option<Datum>,
}

/// Something waiting for datums: the parser's explicit stack entry.
enum Frame {
    Seq(Seq),
    /// `'` etc. waiting for the datum it quotes.
    Abbrev {
        name: &'static str,
        text: &'static str,
        pos: Pos,
    },
    /// `#n=` waiting for the datum it labels.
    Label {
        n: u64,
        pos: Pos,
    },
    /// `#;` waiting for the datum it discards.
    Comment {
        pos: Pos,
    },
}

impl<'a> Reader<'a> {
    /// A reader at the start of `src`, at line 1, column 1.
    pub fn new(src: &'a str) -> Reader<'a> {
        Reader {
            lex: Lexer::new(src),
        }
    }

    /// Start counting lines and columns from `pos` (for a port read
    /// mid-stream).
    pub fn with_pos(mut self, pos: Pos) -> Self {
        self.lex.set_pos(pos);
        self
    }

    /// Start with `#!fold-case` in effect (or not).
    pub fn with_fold_case(mut self, on: bool) -> Self {
        self.lex.set_fold_case(on);
        self
    }

    /// Whether `#!fold-case` is in effect at [`offset`](Reader::offset).
    pub fn folds_case(&self) -> bool {
        self.lex.fold_case()
    }

    /// Byte offset in the source just after what has been consumed: after
    /// `Ok(Some(d))`, just after `d`; after `Ok(None)`, the end of the
    /// source; after an error, just after the offending token.
    pub fn offset(&self) -> usize {
        self.lex.offset()
    }

    /// Line and column of [`offset`](Reader::offset).
    pub fn pos(&self) -> Pos {
        self.lex.pos()
    }

    /// The next datum, or `Ok(None)` when only whitespace and comments are
    /// left.
    pub fn read(&mut self) -> Result<Option<Datum>, ReadError> {
        let mut stack: Vec<Frame> = Vec::new();
        // Labels defined so far in this top-level datum (R7RS scopes them to
        // the outermost datum).
        let mut labels: HashSet<u64> = HashSet::new();
        loop {
            let (tok, pos) = self.lex.next_token()?;
            let done = match tok {
                Tok::Eof => {
                    return match stack.last() {
                        None => Ok(None),
                        Some(frame) => Err(eof_inside(frame)),
                    };
                }
                Tok::Atom(kind) => Datum::new(kind, pos),
                Tok::Open(open) => {
                    let seq = Seq {
                        open,
                        pos,
                        items: Vec::new(),
                        bytes: Vec::new(),
                        dot: Dot::None,
                        tail: None,
                    };
                    push(&mut stack, Frame::Seq(seq), pos)?;
                    continue;
                }
                Tok::Close(c) => close(&mut stack, c, pos)?,
                Tok::Dot => {
                    dot(&mut stack, pos)?;
                    continue;
                }
                Tok::Abbrev(name, text) => {
                    push(&mut stack, Frame::Abbrev { name, text, pos }, pos)?;
                    continue;
                }
                Tok::DatumComment => {
                    push(&mut stack, Frame::Comment { pos }, pos)?;
                    continue;
                }
                Tok::LabelDef(n) => {
                    if !labels.insert(n) {
                        return Err(ReadError::new(
                            format!("datum label #{n}= defined twice"),
                            pos,
                        ));
                    }
                    push(&mut stack, Frame::Label { n, pos }, pos)?;
                    continue;
                }
                Tok::LabelRef(n) => {
                    if !labels.contains(&n) {
                        return Err(ReadError::new(format!("undefined datum label #{n}#"), pos));
                    }
                    Datum::new(DatumKind::LabelRef(n), pos)
                }
            };
            if let Some(d) = deliver(&mut stack, done)? {
                return Ok(Some(d));
            }
        }
    }
}

/// Push a frame, enforcing [`MAX_NESTING`].
fn push(stack: &mut Vec<Frame>, frame: Frame, pos: Pos) -> Result<(), ReadError> {
    if stack.len() >= MAX_NESTING {
        return Err(ReadError::new(
            format!("nesting too deep (more than {MAX_NESTING} levels)"),
            pos,
        ));
    }
    stack.push(frame);
    Ok(())
}

/// The error for input that ends while `frame` is still open.
fn eof_inside(frame: &Frame) -> ReadError {
    match frame {
        Frame::Seq(seq) => {
            let what = match seq.open {
                Open::Paren | Open::Bracket => "list",
                Open::Vector => "vector",
                Open::Bytes => "bytevector",
            };
            ReadError::incomplete(
                format!(
                    "unterminated {what}: missing `{}` to close `{}`",
                    seq.open.closer(),
                    seq.open.text()
                ),
                seq.pos,
            )
        }
        Frame::Abbrev { text, pos, .. } => {
            ReadError::incomplete(format!("end of input after `{text}`"), *pos)
        }
        Frame::Label { n, pos } => {
            ReadError::incomplete(format!("end of input after `#{n}=`"), *pos)
        }
        Frame::Comment { pos } => ReadError::incomplete("end of input after `#;`", *pos),
    }
}

/// Handle `)` or `]`: finish the innermost sequence.
fn close(stack: &mut Vec<Frame>, c: char, pos: Pos) -> Result<Datum, ReadError> {
    let seq = match stack.pop() {
        None => return Err(ReadError::new(format!("unexpected `{c}`"), pos)),
        Some(Frame::Seq(seq)) => seq,
        Some(Frame::Abbrev { text, .. }) => {
            return Err(ReadError::new(
                format!("unexpected `{c}`: expected a datum after `{text}`"),
                pos,
            ));
        }
        Some(Frame::Label { n, .. }) => {
            return Err(ReadError::new(
                format!("unexpected `{c}`: expected a datum after `#{n}=`"),
                pos,
            ));
        }
        Some(Frame::Comment { .. }) => {
            return Err(ReadError::new(
                format!("unexpected `{c}`: expected a datum after `#;`"),
                pos,
            ));
        }
    };
    if c != seq.open.closer() {
        return Err(ReadError::new(
            format!(
                "unexpected `{c}`: expected `{}` to close the `{}` at line {}, column {}",
                seq.open.closer(),
                seq.open.text(),
                seq.pos.line,
                seq.pos.col
            ),
            pos,
        ));
    }
    if seq.dot == Dot::Expecting {
        return Err(ReadError::new(
            format!("unexpected `{c}`: expected a datum after `.`"),
            pos,
        ));
    }
    let kind = match seq.open {
        Open::Paren | Open::Bracket => {
            // `(a . (b c))` is `(a b c)` and `(a . ())` is `(a)`: one
            // datum has one shape, however it was written.
            let (mut items, mut tail) = (seq.items, seq.tail);
            while let Some(t) = tail.take_if(|t| matches!(t.kind, DatumKind::List(..))) {
                if let DatumKind::List(more, rest) = t.into_kind() {
                    items.extend(more);
                    tail = rest.map(|r| *r);
                }
            }
            DatumKind::List(items, tail.map(Box::new))
        }
        Open::Vector => DatumKind::Vector(seq.items),
        Open::Bytes => DatumKind::Bytevector(seq.bytes),
    };
    Ok(Datum::new(kind, seq.pos))
}

/// Handle a `.` token.
fn dot(stack: &mut [Frame], pos: Pos) -> Result<(), ReadError> {
    match stack.last_mut() {
        Some(Frame::Seq(seq)) if matches!(seq.open, Open::Paren | Open::Bracket) => match seq.dot {
            Dot::None if seq.items.is_empty() => Err(ReadError::new(
                "unexpected `.`: a datum must come before `.` in a list",
                pos,
            )),
            Dot::None => {
                seq.dot = Dot::Expecting;
                Ok(())
            }
            Dot::Expecting => Err(ReadError::new(
                "unexpected `.`: expected a datum after `.`",
                pos,
            )),
            Dot::Done => Err(ReadError::new(
                "expected `)` after datum following `.`",
                pos,
            )),
        },
        _ => Err(ReadError::new("unexpected `.` outside a list", pos)),
    }
}

/// Hand a finished datum to whatever is waiting for it. Returns the datum
/// when it completes a top-level read, `None` when reading must go on.
fn deliver(stack: &mut Vec<Frame>, mut d: Datum) -> Result<Option<Datum>, ReadError> {
    loop {
        let Some(frame) = stack.last_mut() else {
            return Ok(Some(d));
        };
        match frame {
            Frame::Seq(seq) => {
                seq_push(seq, d)?;
                return Ok(None);
            }
            Frame::Comment { .. } => {
                stack.pop();
                return Ok(None);
            }
            &mut Frame::Abbrev { name, pos, .. } => {
                stack.pop();
                let head = Datum::new(DatumKind::Sym(name.to_string()), pos);
                d = Datum::new(DatumKind::List(vec![head, d], None), pos);
            }
            &mut Frame::Label { n, pos } => {
                stack.pop();
                if d.kind == DatumKind::LabelRef(n) {
                    return Err(ReadError::new(
                        format!("datum label #{n}= labels only itself"),
                        d.pos,
                    ));
                }
                d = Datum::new(DatumKind::Label(n, Box::new(d)), pos);
            }
        }
    }
}

/// Add an element to an open sequence.
fn seq_push(seq: &mut Seq, d: Datum) -> Result<(), ReadError> {
    if seq.open == Open::Bytes {
        let byte = match d.kind {
            DatumKind::Num(Number::Fixnum(v)) => u8::try_from(v).ok(),
            _ => None,
        };
        let Some(byte) = byte else {
            return Err(ReadError::new(
                "bytevector element must be an exact integer between 0 and 255",
                d.pos,
            ));
        };
        seq.bytes.push(byte);
        return Ok(());
    }
    match seq.dot {
        Dot::None => seq.items.push(d),
        Dot::Expecting => {
            seq.tail = Some(d);
            seq.dot = Dot::Done;
        }
        Dot::Done => {
            return Err(ReadError::new(
                "expected `)` after datum following `.`",
                d.pos,
            ));
        }
    }
    Ok(())
}

/// Read every datum in `src`.
pub fn read_all(src: &str) -> Result<Vec<Datum>, ReadError> {
    let mut reader = Reader::new(src);
    let mut out = Vec::new();
    while let Some(d) = reader.read()? {
        out.push(d);
    }
    Ok(out)
}

/// Print `d` in R7RS external representation, so that reading the text
/// back gives an equal datum (positions aside; `Opaque` prints as the
/// unreadable `#<opaque n>`). Quote forms are written out in full, e.g.
/// `(quote x)`.
pub fn write_datum(d: &Datum) -> String {
    let mut out = String::new();
    // Work left to do, as an explicit stack so deep datums cannot overflow.
    let mut work = vec![Piece::Datum(d)];
    while let Some(piece) = work.pop() {
        let d = match piece {
            Piece::Text(s) => {
                out.push_str(s);
                continue;
            }
            Piece::Datum(d) => d,
        };
        match &d.kind {
            DatumKind::Bool(b) => out.push_str(if *b { "#t" } else { "#f" }),
            DatumKind::Num(n) => write_number(&mut out, n),
            DatumKind::Char(c) => write_char(&mut out, *c),
            DatumKind::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    escape_char(&mut out, c, '"');
                }
                out.push('"');
            }
            DatumKind::Sym(s) => write_symbol(&mut out, s),
            DatumKind::Keyword(s) => {
                out.push_str("#:");
                write_symbol(&mut out, s);
            }
            DatumKind::List(items, tail) => {
                out.push('(');
                work.push(Piece::Text(")"));
                if let Some(t) = tail {
                    work.push(Piece::Datum(t));
                    work.push(Piece::Text(" . "));
                }
                push_items(&mut work, items);
            }
            DatumKind::Vector(items) => {
                out.push_str("#(");
                work.push(Piece::Text(")"));
                push_items(&mut work, items);
            }
            DatumKind::Bytevector(bytes) => {
                let texts: Vec<String> = bytes.iter().map(u8::to_string).collect();
                out.push_str(&format!("#u8({})", texts.join(" ")));
            }
            DatumKind::Label(n, inner) => {
                out.push_str(&format!("#{n}="));
                work.push(Piece::Datum(inner));
            }
            DatumKind::LabelRef(n) => out.push_str(&format!("#{n}#")),
            DatumKind::Opaque(n) => out.push_str(&format!("#<opaque {n}>")),
        }
    }
    out
}

/// A unit of [`write_datum`]'s pending work.
enum Piece<'d> {
    Datum(&'d Datum),
    Text(&'static str),
}

/// Schedule `items`, space-separated; pushed in reverse because the work
/// stack pops them in order.
fn push_items<'d>(work: &mut Vec<Piece<'d>>, items: &'d [Datum]) {
    for (i, item) in items.iter().enumerate().rev() {
        work.push(Piece::Datum(item));
        if i > 0 {
            work.push(Piece::Text(" "));
        }
    }
}

fn write_number(out: &mut String, n: &Number) {
    match n {
        Number::Fixnum(v) => out.push_str(&v.to_string()),
        Number::Big(v) => out.push_str(&v.to_string()),
        Number::Ratio(n, d) => out.push_str(&format!("{n}/{d}")),
        // The shortest text that reads back equal, with a decimal point.
        Number::Flonum(x) => out.push_str(&crate::num::format_flonum(*x)),
        Number::Complex(re, im) => {
            if **re != Number::Fixnum(0) {
                write_number(out, re);
            }
            match &**im {
                Number::Fixnum(1) => out.push('+'),
                Number::Fixnum(-1) => out.push('-'),
                im => {
                    let mut t = String::new();
                    write_number(&mut t, im);
                    if !t.starts_with(['+', '-']) {
                        out.push('+');
                    }
                    out.push_str(&t);
                }
            }
            out.push('i');
        }
    }
}

fn write_char(out: &mut String, c: char) {
    out.push_str("#\\");
    if let Some((name, _)) = lex::CHAR_NAMES.iter().find(|&&(_, ch)| ch == c) {
        out.push_str(name);
    } else if c.is_control() || c.is_whitespace() {
        out.push_str(&format!("x{:x}", u32::from(c)));
    } else {
        out.push(c);
    }
}

/// Whether the symbol `name` must be written as `|name|` to read back as
/// itself: it is empty, `.`, looks like a number (even one the reader
/// rejects, like `+i` or `1/0`), starts with a character that means
/// something else (`#`, `'`, `` ` ``, `,`), or contains a delimiter, a
/// backslash or a control character.
pub fn symbol_needs_bars(name: &str) -> bool {
    // A name that starts like an infinity or a NaN is barred too, though
    // this reader takes `+nan.0abc` for a symbol: other readers may not.
    let numeric_prefix = ["+inf.0", "-inf.0", "+nan.0", "-nan.0"].iter().any(|p| {
        name.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    });
    name.is_empty()
        || name == "."
        || numeric_prefix
        || name.starts_with(['#', '\'', '`', ','])
        || name
            .chars()
            .any(|c| lex::is_delimiter(c) || c == '\\' || c.is_control())
        || classify(name, 10) != Classified::NotNumber
}

/// Write a symbol's name, with bars when it would not read back as
/// itself written plainly.
fn write_symbol(out: &mut String, s: &str) {
    let needs_bars = symbol_needs_bars(s);
    if !needs_bars {
        out.push_str(s);
        return;
    }
    out.push('|');
    for c in s.chars() {
        escape_char(out, c, '|');
    }
    out.push('|');
}

/// Write `c` inside a string or `|symbol|` whose delimiter is `quote`.
fn escape_char(out: &mut String, c: char, quote: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        _ if c == quote => {
            out.push('\\');
            out.push(c);
        }
        _ if c.is_control() => out.push_str(&format!("\\x{:x};", u32::from(c))),
        _ => out.push(c),
    }
}
