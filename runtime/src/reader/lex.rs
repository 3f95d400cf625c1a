//! The tokenizer: turns source text into tokens, skipping atmosphere
//! (whitespace, comments, directives) and decoding atoms.
//!
//! The lexer never looks at more than one token at a time and keeps no
//! nesting of its own except the depth of `#| |#` comments, which is a
//! counter, so nothing here recurses.

use super::ReadError;
use super::datum::{DatumKind, Pos};
use super::number::{Classified, classify};

/// What kind of bracket opened a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Open {
    /// `(`
    Paren,
    /// `[`
    Bracket,
    /// `#(`
    Vector,
    /// `#u8(`
    Bytes,
}

impl Open {
    /// The character that closes this kind of sequence.
    pub(crate) fn closer(self) -> char {
        match self {
            Open::Bracket => ']',
            _ => ')',
        }
    }

    /// How the opener looks in the source, for messages.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Open::Paren => "(",
            Open::Bracket => "[",
            Open::Vector => "#(",
            Open::Bytes => "#u8(",
        }
    }
}

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Open(Open),
    /// `)` or `]`.
    Close(char),
    /// A lone `.`.
    Dot,
    /// `'` `` ` `` `,` `,@`, carrying the name of the form they abbreviate
    /// and the source text, for messages.
    Abbrev(&'static str, &'static str),
    /// `#;`
    DatumComment,
    /// `#n=`
    LabelDef(u64),
    /// `#n#`
    LabelRef(u64),
    /// A complete atom: boolean, number, character, string, symbol, keyword.
    Atom(DatumKind),
    Eof,
}

/// The R7RS character names, and the characters they stand for.
pub(crate) const CHAR_NAMES: [(&str, char); 9] = [
    ("alarm", '\u{7}'),
    ("backspace", '\u{8}'),
    ("delete", '\u{7f}'),
    ("escape", '\u{1b}'),
    ("newline", '\n'),
    ("null", '\0'),
    ("return", '\r'),
    ("space", ' '),
    ("tab", '\t'),
];

/// Characters that end a token. R7RS's `<delimiter>`, plus the brackets
/// we accept as parentheses.
pub(crate) fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"' | ';' | '|')
}

/// The tokenizer's state: where it is in the source and the fold-case flag.
pub(crate) struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next unread character; always a char boundary.
    i: usize,
    line: u32,
    col: u32,
    /// Set by `#!fold-case`, cleared by `#!no-fold-case`.
    fold_case: bool,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            i: 0,
            line: 1,
            col: 1,
            fold_case: false,
        }
    }

    pub(crate) fn offset(&self) -> usize {
        self.i
    }

    pub(crate) fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    pub(crate) fn fold_case(&self) -> bool {
        self.fold_case
    }

    pub(crate) fn set_fold_case(&mut self, on: bool) {
        self.fold_case = on;
    }

    pub(crate) fn set_pos(&mut self, pos: Pos) {
        self.line = pos.line;
        self.col = pos.col;
    }

    /// The unread part of the source.
    fn rest(&self) -> &'a str {
        self.src.get(self.i..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    /// Consume one character, keeping line and column up to date. A `\r\n`
    /// pair counts as one line break, as does a lone `\r`.
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        match c {
            '\n' => self.newline(),
            '\r' if self.peek() != Some('\n') => self.newline(),
            _ => self.col = self.col.saturating_add(1),
        }
        Some(c)
    }

    fn newline(&mut self) {
        self.line = self.line.saturating_add(1);
        self.col = 1;
    }

    /// Consume characters up to the next delimiter (or the end) and return
    /// them.
    fn take_token(&mut self) -> &'a str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if is_delimiter(c) {
                break;
            }
            self.bump();
        }
        self.src.get(start..self.i).unwrap_or("")
    }

    /// Skip whitespace, comments and directives.
    fn skip_atmosphere(&mut self) -> Result<(), ReadError> {
        // A script's `#!/usr/bin/env imp` line, only at the very start.
        if self.i == 0 && (self.rest().starts_with("#!/") || self.rest().starts_with("#! ")) {
            self.skip_line();
        }
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some(';') => self.skip_line(),
                Some('#') if self.peek2() == Some('|') => self.skip_block_comment()?,
                Some('#') if self.peek2() == Some('!') => self.directive()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            self.bump();
        }
    }

    /// `#| ... |#`, which nests.
    fn skip_block_comment(&mut self) -> Result<(), ReadError> {
        let start = self.pos();
        self.bump();
        self.bump();
        let mut depth = 1usize;
        while depth > 0 {
            match self.bump() {
                None => return Err(ReadError::incomplete("unterminated block comment", start)),
                Some('|') if self.peek() == Some('#') => {
                    self.bump();
                    depth -= 1;
                }
                Some('#') if self.peek() == Some('|') => {
                    self.bump();
                    depth += 1;
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// `#!fold-case` / `#!no-fold-case`.
    fn directive(&mut self) -> Result<(), ReadError> {
        let start = self.pos();
        let text = self.take_token();
        match text {
            "#!fold-case" => self.fold_case = true,
            "#!no-fold-case" => self.fold_case = false,
            _ => return Err(ReadError::new(format!("unknown directive `{text}`"), start)),
        }
        Ok(())
    }

    /// The next token and the position of its first character.
    pub(crate) fn next_token(&mut self) -> Result<(Tok, Pos), ReadError> {
        self.skip_atmosphere()?;
        let pos = self.pos();
        let Some(c) = self.peek() else {
            return Ok((Tok::Eof, pos));
        };
        let tok = match c {
            '(' | '[' | ')' | ']' => {
                self.bump();
                match c {
                    '(' => Tok::Open(Open::Paren),
                    '[' => Tok::Open(Open::Bracket),
                    _ => Tok::Close(c),
                }
            }
            '\'' | '`' => {
                self.bump();
                if c == '\'' {
                    Tok::Abbrev("quote", "'")
                } else {
                    Tok::Abbrev("quasiquote", "`")
                }
            }
            ',' => {
                self.bump();
                if self.peek() == Some('@') {
                    self.bump();
                    Tok::Abbrev("unquote-splicing", ",@")
                } else {
                    Tok::Abbrev("unquote", ",")
                }
            }
            '"' => Tok::Atom(DatumKind::Str(self.string(pos)?)),
            '|' => Tok::Atom(DatumKind::Sym(self.bar_symbol(pos)?)),
            '#' => self.hash(pos)?,
            _ => self.plain_token(pos)?,
        };
        Ok((tok, pos))
    }

    /// A token with no special first character: `.`, a number or a symbol.
    fn plain_token(&mut self, pos: Pos) -> Result<Tok, ReadError> {
        let text = self.take_token();
        if text == "." {
            return Ok(Tok::Dot);
        }
        match classify(text, 10) {
            Classified::Num(n) => Ok(Tok::Atom(DatumKind::Num(n))),
            Classified::DivByZero => Err(ReadError::new(
                format!("bad number syntax `{text}`: division by zero"),
                pos,
            )),
            Classified::NotNumber => Ok(Tok::Atom(DatumKind::Sym(self.fold(text)))),
        }
    }

    fn fold(&self, s: &str) -> String {
        if self.fold_case {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    }

    /// Everything that starts with `#` (comments and directives are
    /// atmosphere and never get here).
    fn hash(&mut self, pos: Pos) -> Result<Tok, ReadError> {
        let after_hash =
            |what: &str| ReadError::incomplete(format!("end of input after `{what}`"), pos);
        let Some(c) = self.peek2() else {
            self.bump();
            return Err(after_hash("#"));
        };
        match c {
            '(' => {
                self.bump();
                self.bump();
                Ok(Tok::Open(Open::Vector))
            }
            ';' => {
                self.bump();
                self.bump();
                Ok(Tok::DatumComment)
            }
            '\\' => {
                self.bump();
                self.bump();
                Ok(Tok::Atom(DatumKind::Char(self.character(pos)?)))
            }
            ':' => {
                self.bump();
                self.bump();
                // `#:||` is the empty keyword; a bare `#:` is not.
                if self.peek() == Some('|') {
                    return Ok(Tok::Atom(DatumKind::Keyword(self.bar_symbol(pos)?)));
                }
                let text = self.take_token();
                if text.is_empty() {
                    return Err(match self.peek() {
                        None => after_hash("#:"),
                        Some(_) => ReadError::new("empty keyword `#:`", pos),
                    });
                }
                let name = self.fold(text);
                Ok(Tok::Atom(DatumKind::Keyword(name)))
            }
            '0'..='9' => self.label(pos),
            _ => {
                let text = self.take_token();
                let lower = text.to_ascii_lowercase();
                match lower.as_str() {
                    "#t" | "#true" => return Ok(Tok::Atom(DatumKind::Bool(true))),
                    "#f" | "#false" => return Ok(Tok::Atom(DatumKind::Bool(false))),
                    "#u8" if self.peek() == Some('(') => {
                        self.bump();
                        return Ok(Tok::Open(Open::Bytes));
                    }
                    "#u" | "#u8" if self.peek().is_none() => return Err(after_hash(text)),
                    _ => {}
                }
                if matches!(c.to_ascii_lowercase(), 'x' | 'b' | 'o' | 'd' | 'e' | 'i') {
                    return match classify(text, 10) {
                        Classified::Num(n) => Ok(Tok::Atom(DatumKind::Num(n))),
                        _ => Err(ReadError::new(format!("bad number syntax `{text}`"), pos)),
                    };
                }
                if text == "#" {
                    // `#` directly followed by a delimiter, such as `#"`.
                    let bad = self.peek().map(String::from).unwrap_or_default();
                    return Err(ReadError::new(format!("bad `#` syntax `#{bad}`"), pos));
                }
                Err(ReadError::new(format!("bad `#` syntax `{text}`"), pos))
            }
        }
    }

    /// `#n=` or `#n#`.
    fn label(&mut self, pos: Pos) -> Result<Tok, ReadError> {
        let start = self.i;
        self.bump(); // '#'
        let mut n: Option<u64> = Some(0);
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.bump();
            n = n
                .and_then(|n| n.checked_mul(10))
                .and_then(|n| n.checked_add(u64::from(d)));
        }
        let kind = self.peek();
        let Some(n) = n else {
            return Err(ReadError::new("datum label number too large", pos));
        };
        match kind {
            Some('=') => {
                self.bump();
                Ok(Tok::LabelDef(n))
            }
            Some('#') => {
                self.bump();
                Ok(Tok::LabelRef(n))
            }
            None => Err(ReadError::incomplete(
                format!("end of input after `#{n}`"),
                pos,
            )),
            Some(_) => {
                self.take_token();
                let text = self.src.get(start..self.i).unwrap_or("#");
                Err(ReadError::new(format!("bad `#` syntax `{text}`"), pos))
            }
        }
    }

    /// After `#\`: a single character, a character name or `x<hex>`.
    fn character(&mut self, pos: Pos) -> Result<char, ReadError> {
        let Some(first) = self.bump() else {
            return Err(ReadError::incomplete("end of input after `#\\`", pos));
        };
        // `#\(` or `#\ ` stand for the delimiter itself, whatever follows.
        if is_delimiter(first) {
            return Ok(first);
        }
        let rest = self.take_token();
        if rest.is_empty() {
            return Ok(first);
        }
        let mut name = String::with_capacity(first.len_utf8() + rest.len());
        name.push(first);
        name.push_str(rest);
        let key = if self.fold_case {
            name.to_lowercase()
        } else {
            name.clone()
        };
        if let Some(&(_, c)) = CHAR_NAMES.iter().find(|(n, _)| *n == key) {
            return Ok(c);
        }
        if let Some(hex) = key.strip_prefix('x')
            && hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return u32::from_str_radix(hex, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| {
                    ReadError::new(format!("bad character scalar value `#\\{name}`"), pos)
                });
        }
        Err(ReadError::new(
            format!("unknown character name `#\\{name}`"),
            pos,
        ))
    }

    /// A `"..."` string; `pos` is where the opening quote is.
    fn string(&mut self, pos: Pos) -> Result<String, ReadError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(ReadError::incomplete("unterminated string", pos)),
                Some('"') => return Ok(out),
                Some('\\') => {
                    if let Some(c) = self.escape(pos, "string", true)? {
                        out.push(c);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// A `|...|` symbol; `pos` is where the token starts. Never case-folded.
    fn bar_symbol(&mut self, pos: Pos) -> Result<String, ReadError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(ReadError::incomplete("unterminated `|` symbol", pos)),
                Some('|') => return Ok(out),
                Some('\\') => {
                    if let Some(c) = self.escape(pos, "symbol", false)? {
                        out.push(c);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// The escape after a `\` inside a string or `|symbol|`. `Ok(None)` is a
    /// line continuation (strings only), which stands for nothing.
    fn escape(
        &mut self,
        start: Pos,
        what: &str,
        continuation: bool,
    ) -> Result<Option<char>, ReadError> {
        let eof = || ReadError::incomplete(format!("unterminated {what}"), start);
        // The backslash, just consumed, is one column back on this line.
        let esc_pos = Pos {
            line: self.line,
            col: self.col.saturating_sub(1),
        };
        let Some(c) = self.bump() else {
            return Err(eof());
        };
        let plain = match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            '"' | '\\' | '|' => c,
            'x' | 'X' => return self.hex_escape(start, esc_pos, what).map(Some),
            ' ' | '\t' | '\n' | '\r' if continuation => {
                // `\<intraline ws>*<line ending><intraline ws>*`
                let mut c = c;
                while c == ' ' || c == '\t' {
                    c = self.bump().ok_or_else(eof)?;
                }
                if c != '\n' && c != '\r' {
                    return Err(ReadError::new(
                        format!("bad escape in {what}: `\\` followed by spaces must end the line"),
                        esc_pos,
                    ));
                }
                if c == '\r' && self.peek() == Some('\n') {
                    self.bump();
                }
                while matches!(self.peek(), Some(' ' | '\t')) {
                    self.bump();
                }
                return Ok(None);
            }
            _ => {
                return Err(ReadError::new(
                    format!("bad escape `\\{c}` in {what}"),
                    esc_pos,
                ));
            }
        };
        Ok(Some(plain))
    }

    /// `\x<hex>;` after the `x`.
    fn hex_escape(&mut self, start: Pos, esc_pos: Pos, what: &str) -> Result<char, ReadError> {
        let mut digits = String::new();
        loop {
            match self.bump() {
                None => return Err(ReadError::incomplete(format!("unterminated {what}"), start)),
                Some(';') => break,
                Some(c) if c.is_ascii_hexdigit() => digits.push(c),
                Some(c) => {
                    return Err(ReadError::new(
                        format!(
                            "bad escape `\\x{digits}{c}` in {what}: expected hex digits and `;`"
                        ),
                        esc_pos,
                    ));
                }
            }
        }
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| {
                ReadError::new(
                    format!("bad escape `\\x{digits};` in {what}: not a Unicode scalar value"),
                    esc_pos,
                )
            })
    }
}
