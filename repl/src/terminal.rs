//! The REPL's terminal side: rustyline on the stdin helper thread (it
//! never touches the heap; ARCHITECTURE.md invariant 5), and the output sink that
//! prints above the line being edited.

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use imp::os::{LineRequest, LineSource};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{Highlighter, MatchingBracketHighlighter};
use rustyline::hint::Hinter;
use rustyline::history::{FileHistory, History};
use rustyline::validate::Validator;
use rustyline::{Context, Editor, ExternalPrinter, Helper};

/// The prompt of a new entry; any other prompt continues one.
pub const PROMPT: &str = "imp> ";

/// Completion from the names bound in the environment (sent by the
/// listener with each request), and matching-parenthesis highlighting.
pub struct ImpHelper {
    names: Arc<Vec<String>>,
    brackets: MatchingBracketHighlighter,
}

/// Characters that end a symbol being completed.
fn delimiter(c: char) -> bool {
    c.is_whitespace() || "()[]'`,\"; ".contains(c)
}

impl Completer for ImpHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| delimiter(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let found = self
            .names
            .iter()
            .filter(|n| n.starts_with(word))
            .map(|n| Pair {
                display: n.clone(),
                replacement: n.clone(),
            })
            .collect();
        Ok((start, found))
    }
}

impl Hinter for ImpHelper {
    type Hint = String;
}

impl Highlighter for ImpHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        self.brackets.highlight(line, pos)
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: rustyline::highlight::CmdKind) -> bool {
        self.brackets.highlight_char(line, pos, kind)
    }
}

/// Entries are checked by the listener (the reader knows every way a datum
/// can be unfinished), which asks for more with a continuation prompt.
impl Validator for ImpHelper {}

impl Helper for ImpHelper {}

/// Standard input through rustyline: a prompt, editing, completion,
/// history kept in a file.
pub struct Terminal {
    editor: Editor<ImpHelper, FileHistory>,
    history: Option<PathBuf>,
    /// Lines of the entry being typed (one history item when complete).
    entry: Vec<String>,
    /// Shared with the program's output sink.
    column: Arc<Column>,
}

/// Where the terminal's cursor is, as far as the program's output goes:
/// shared by the output sink (initial thread) and the line editor (stdin
/// helper thread).
#[derive(Default)]
pub struct Column {
    /// The program's last output left the cursor past the start of a line
    /// (it did not end in a newline).
    mid_line: AtomicBool,
    /// A line is being edited: the editor prints output above it, on lines
    /// of its own.
    editing: AtomicBool,
}

impl Terminal {
    /// A line editor on the terminal, with the history in `history` (read
    /// now if it exists), and a printer for output from other threads.
    /// Also returns the sinks for the program's output and for its error
    /// output: both print above the line being edited.
    #[allow(clippy::type_complexity)]
    pub fn new(
        history: Option<PathBuf>,
    ) -> rustyline::Result<(
        Terminal,
        ConsoleOut<impl ExternalPrinter + Send>,
        ConsoleOut<impl ExternalPrinter + Send>,
    )> {
        let config = rustyline::Config::builder()
            .auto_add_history(false)
            .max_history_size(10_000)?
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut editor = Editor::with_config(config)?;
        editor.set_helper(Some(ImpHelper {
            names: Arc::new(Vec::new()),
            brackets: MatchingBracketHighlighter::new(),
        }));
        // Keys typed while an entry was evaluated were read by the terminal
        // in cooked mode, which turns Return into a line feed: accept a
        // line on that too, as on Return.
        editor.bind_sequence(
            rustyline::KeyEvent::ctrl('J'),
            rustyline::EventHandler::Simple(rustyline::Cmd::AcceptLine),
        );
        if let Some(h) = &history {
            // A missing or unreadable history starts empty.
            let _ = editor.load_history(h);
        }
        let printer = editor.create_external_printer()?;
        let err_printer = editor.create_external_printer()?;
        let column = Arc::new(Column::default());
        Ok((
            Terminal {
                editor,
                history,
                entry: Vec::new(),
                column: column.clone(),
            },
            ConsoleOut {
                printer,
                buf: Vec::new(),
                column: column.clone(),
            },
            ConsoleOut {
                printer: err_printer,
                buf: Vec::new(),
                column,
            },
        ))
    }

    /// Put the entry typed so far in the history (and its file).
    fn finish_entry(&mut self) {
        if self.entry.is_empty() {
            return;
        }
        let text = self.entry.join("\n");
        self.entry.clear();
        if text.trim().is_empty() {
            return;
        }
        let _ = self.editor.add_history_entry(text.as_str());
        if let Some(h) = &self.history {
            // Append this entry only, so two sessions do not overwrite
            // each other's history.
            let _ = self.editor.history_mut().append(h);
        }
    }
}

impl LineSource for Terminal {
    fn read_line(&mut self, req: LineRequest) -> Result<Option<String>, String> {
        if let (Some(names), Some(h)) = (req.completions.clone(), self.editor.helper_mut()) {
            h.names = names;
        }
        if req.prompt == PROMPT {
            self.finish_entry();
        }
        if self.column.mid_line.swap(false, Ordering::SeqCst) {
            // Output that did not end its line would be drawn over by the
            // prompt: end it first (as a fresh-line does).
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
        self.column.editing.store(true, Ordering::SeqCst);
        let r = self.read_entry_line(&req);
        self.column.editing.store(false, Ordering::SeqCst);
        r
    }
}

impl Terminal {
    /// One line from the editor (Ctrl-C at the prompt starts it again).
    fn read_entry_line(&mut self, req: &LineRequest) -> Result<Option<String>, String> {
        loop {
            match self.editor.readline(&req.prompt) {
                Ok(line) => {
                    self.entry.push(line.clone());
                    return Ok(Some(line + "\n"));
                }
                // Ctrl-C at the prompt: the line is dropped, a new one
                // begins (the entry too).
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    self.entry.clear();
                    if req.prompt != PROMPT {
                        // Abandon a half-typed entry: the listener gets an
                        // empty line after a marker it recognises.
                        return Ok(Some("\u{0}cancel\n".into()));
                    }
                }
                Err(rustyline::error::ReadlineError::Eof) => {
                    self.finish_entry();
                    return Ok(None);
                }
                Err(e) => return Err(format!("cannot read the terminal: {e}")),
            }
        }
    }
}

/// The program's standard output while the line editor runs: whatever is
/// flushed goes through rustyline's printer, which writes it directly
/// while no line is being edited and above the prompt while one is.
pub struct ConsoleOut<P: ExternalPrinter> {
    printer: P,
    buf: Vec<u8>,
    column: Arc<Column>,
}

impl<P: ExternalPrinter> Write for ConsoleOut<P> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() > 1 << 16 {
            self.flush()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        // While a line is edited the editor puts output on lines of its own.
        let mid = !text.ends_with('\n') && !self.column.editing.load(Ordering::SeqCst);
        self.column.mid_line.store(mid, Ordering::SeqCst);
        self.printer
            .print(text)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

impl<P: ExternalPrinter> Drop for ConsoleOut<P> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Where the history lives: `$IMP_HISTORY`, else `imp/history` in the
/// user's data directory (`$XDG_DATA_HOME`, else `~/.local/share`).
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IMP_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let dir = data.join("imp");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}
