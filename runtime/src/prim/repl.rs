//! What the REPL's listener (`repl.scm`) needs from the runtime: reading
//! entries from the console, compiling them a form at a time, reports of
//! conditions, and the facts behind its commands.

use std::sync::Arc;

use imp_gc::Value;

use super::{PrimDef, arg, def};
use crate::obj;
use crate::printer::{Mode, print};
use crate::vm::{Exn, IoWait, Reg, Vm, VmResult};

/// The listener's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%console-read", 1, 1, console_read),
    def("%source-open", 2, 2, source_open),
    def("%source-close", 1, 1, source_close),
    def("%source-scanner", 0, 0, source_scanner),
    def("%source-scan!", 2, 2, source_scan),
    def("%condition-report", 1, 2, condition_report),
    def("%apropos", 1, 1, apropos),
    def("%describe", 1, 1, describe),
    def("%disassemble", 1, 1, disassemble),
    def("%cpu-time-us", 0, 0, cpu_time_us),
];

/// `(%console-read prompt)`: the next entry from standard input (a line,
/// or with a line editor a whole balanced entry), shown with `prompt`; the
/// eof object at the end. Other threads run while it waits.
fn console_read(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("%console-read", base, 0, obj::STRING, "a prompt string")?;
    match vm.os.stdin_lines.pop_front() {
        Some(Ok(Some(text))) => vm.string(&text),
        Some(Ok(None)) => {
            vm.os.stdin_lines.push_front(Ok(None));
            Ok(Value::EOF)
        }
        Some(Err(e)) => Err(super::io::stdin_error(vm, e)),
        None => {
            let _ = std::io::Write::flush(&mut vm.out);
            let prompt = vm.string_text(p);
            // The names to complete from, when new ones were interned.
            let count = vm.reg(Reg::SymCount).as_fixnum().unwrap_or(0) as usize;
            let completions = (count != vm.os.completions_for).then(|| {
                vm.os.completions_for = count;
                Arc::new(bound_names(vm))
            });
            vm.os.next_request = crate::os::LineRequest {
                prompt,
                completions,
            };
            vm.os
                .request_stdin_line()
                .map_err(|m| vm.error_kind("file-error", m, &[]))?;
            Err(Exn::Block {
                wait: IoWait::Stdin,
                argc: 0,
                tail: false,
            })
        }
    }
}

/// The names of every symbol with a global value, sorted.
fn bound_names(vm: &Vm) -> Vec<String> {
    let mut names: Vec<String> = vm
        .all_symbols()
        .into_iter()
        .filter(|&s| vm.global_value(s) != Value::UNDEFINED)
        .map(|s| vm.symbol_name(s))
        .filter(|n| !n.starts_with('%') && !crate::compile::library::is_mangled(n))
        .collect();
    names.sort();
    names
}

/// `(%source-open text name)`: a load state (see `%load-next`) over
/// `text`, whose forms are located in `name`; the symbol `incomplete` if
/// the text ends inside a datum, so the listener asks for more.
fn source_open(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = vm.typed_arg("%source-open", base, 0, obj::STRING, "a string")?;
    vm.typed_arg("%source-open", base, 1, obj::STRING, "a string")?;
    let text = vm.string_text(t);
    let mut reader = crate::reader::Reader::new(&text);
    loop {
        match reader.read() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if e.incomplete => return vm.intern("incomplete"),
            // Read errors other than an unfinished datum are reported when
            // the listener reaches them, after the forms before them ran.
            Err(_) => break,
        }
    }
    super::io::new_load_state(vm, text, arg(vm, base, 1))
}

/// The lexical state `%source-scan!` keeps between lines of an entry.
mod scan {
    /// Slots of the scanner vector: nesting depth, mode, block-comment depth.
    pub const DEPTH: usize = 0;
    pub const MODE: usize = 1;
    pub const BLOCK: usize = 2;
    pub const LEN: usize = 3;
    /// Modes.
    pub const NORMAL: i64 = 0;
    pub const STRING: i64 = 1;
    pub const STRING_ESCAPE: i64 = 2;
    pub const BAR_SYMBOL: i64 = 3;
    pub const BAR_ESCAPE: i64 = 4;
    pub const LINE_COMMENT: i64 = 5;
    pub const BLOCK_COMMENT: i64 = 6;
    pub const BLOCK_BAR: i64 = 7;
    pub const BLOCK_HASH: i64 = 8;
    pub const HASH: i64 = 9;
    pub const CHAR: i64 = 10;

    /// The mode after `c` in `mode`, counting brackets in `depth` and
    /// nested block comments in `block`.
    pub fn step(mode: i64, c: char, depth: &mut i64, block: &mut i64) -> i64 {
        match (mode, c) {
            (NORMAL, '(' | '[') => {
                *depth += 1;
                NORMAL
            }
            (NORMAL, ')' | ']') => {
                *depth -= 1;
                NORMAL
            }
            (NORMAL, '"') => STRING,
            (NORMAL, '|') => BAR_SYMBOL,
            (NORMAL, ';') => LINE_COMMENT,
            (NORMAL, '#') => HASH,
            (STRING, '\\') => STRING_ESCAPE,
            (STRING, '"') => NORMAL,
            (STRING, _) | (STRING_ESCAPE, _) => STRING,
            (BAR_SYMBOL, '\\') => BAR_ESCAPE,
            (BAR_SYMBOL, '|') => NORMAL,
            (BAR_SYMBOL, _) | (BAR_ESCAPE, _) => BAR_SYMBOL,
            (LINE_COMMENT, '\n') => NORMAL,
            (LINE_COMMENT, _) => LINE_COMMENT,
            (BLOCK_COMMENT, '|') => BLOCK_BAR,
            (BLOCK_COMMENT, '#') => BLOCK_HASH,
            (BLOCK_COMMENT, _) => BLOCK_COMMENT,
            (BLOCK_BAR, '#') => {
                *block -= 1;
                if *block <= 0 { NORMAL } else { BLOCK_COMMENT }
            }
            (BLOCK_BAR, '|') => BLOCK_BAR,
            (BLOCK_BAR, _) => BLOCK_COMMENT,
            (BLOCK_HASH, '|') => {
                *block += 1;
                BLOCK_COMMENT
            }
            (BLOCK_HASH, '#') => BLOCK_HASH,
            (BLOCK_HASH, _) => BLOCK_COMMENT,
            (HASH, '|') => {
                *block = 1;
                BLOCK_COMMENT
            }
            (HASH, '\\') => CHAR,
            // `#;` comments out the datum after it, which is scanned as
            // any other (it is no line comment).
            (HASH, ';') => NORMAL,
            // After `#` anything else reads as it would alone: `#(` opens
            // a vector, `#u8(` is seen as `u8` then `(`.
            (HASH, c) => step(NORMAL, c, depth, block),
            // `#\(` and its kin are characters, not brackets; as is any
            // other character in NORMAL.
            _ => NORMAL,
        }
    }
}

/// `(%source-scanner)`: a fresh scanner for `%source-scan!`.
fn source_scanner(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    vm.make_vector(scan::LEN, Value::fix(0))
}

/// `(%source-scan! scanner text)`: follow the brackets, strings and
/// comments of `text`, the next piece of an entry; `#t` if the entry read
/// so far may be complete (every bracket closed, outside any string or
/// comment), so the listener reads it with the reader only then. The scan
/// costs time in proportion to `text`, so an entry of many lines costs
/// time in proportion to its length, not its square. It may say "maybe"
/// where the reader still finds the entry unfinished (`'` at the end of a
/// line, say), never "no" where the entry is complete.
fn source_scan(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let sc = arg(vm, base, 0);
    if !vm.is(sc, obj::VECTOR) || vm.heap.len(sc) != scan::LEN {
        return Err(vm.type_error("%source-scan!", "a scanner", sc));
    }
    let t = vm.typed_arg("%source-scan!", base, 1, obj::STRING, "a string")?;
    let field = |vm: &Vm, i| vm.heap.get(sc, i).as_fixnum().unwrap_or(0);
    let (mut depth, mut mode, mut block) = (
        field(vm, scan::DEPTH),
        field(vm, scan::MODE),
        field(vm, scan::BLOCK),
    );
    for c in vm.string_text(t).chars() {
        mode = scan::step(mode, c, &mut depth, &mut block);
    }
    vm.heap.set(sc, scan::DEPTH, Value::fix(depth));
    vm.heap.set(sc, scan::MODE, Value::fix(mode));
    vm.heap.set(sc, scan::BLOCK, Value::fix(block));
    use scan::*;
    let done = depth <= 0 && matches!(mode, NORMAL | HASH | CHAR | LINE_COMMENT);
    Ok(Value::bool(done))
}

/// `(%source-close state)`: forget a source the listener did not read to
/// its end.
fn source_close(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let st = arg(vm, base, 0);
    if vm.is(st, obj::VECTOR)
        && vm.heap.len(st) == super::io::LOAD_STATE_LEN
        && let Some(id) = vm.heap.get(st, 0).as_fixnum()
    {
        vm.sources.remove(&id);
    }
    Ok(Value::UNSPECIFIED)
}

/// `(%condition-report c [part])`: the report of a condition as printed
/// for an uncaught error (`part` #f or absent), or only its backtrace
/// (`part` the symbol `backtrace`).
fn condition_report(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let c = arg(vm, base, 0);
    let mut parts = crate::report::condition_parts(vm, c);
    // The listener's own frames (and the library frames it called the
    // entry through) are no part of the entry's backtrace, full or not.
    if let Some(i) = parts
        .full_backtrace
        .iter()
        .position(|l| l.contains("(repl.scm:"))
    {
        let mut cut = i;
        while cut > 0 && parts.full_backtrace[cut - 1].contains("(boot.scm:") {
            cut -= 1;
        }
        parts.full_backtrace.truncate(cut);
    }
    let part = if argc > 1 && vm.is(arg(vm, base, 1), obj::SYMBOL) {
        vm.symbol_name(arg(vm, base, 1))
    } else {
        String::new()
    };
    let lines = match part.as_str() {
        "backtrace" => Some(&parts.backtrace),
        "full" => Some(&parts.full_backtrace),
        _ => None,
    };
    let text = match lines {
        Some(l) if l.is_empty() => "no backtrace".to_string(),
        Some(l) => l
            .iter()
            .enumerate()
            .map(|(i, l)| format!("  {i}: {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        None => parts.to_string(),
    };
    vm.string(&text)
}

/// `(%apropos text)`: the bound symbols whose names contain `text`, sorted.
fn apropos(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = vm.typed_arg(",apropos", base, 0, obj::STRING, "a string")?;
    let needle = vm.string_text(t);
    let names: Vec<String> = bound_names(vm)
        .into_iter()
        .filter(|n| n.contains(&needle))
        .collect();
    let at = vm.stack.len();
    for n in &names {
        let s = vm.intern(n)?;
        vm.stack.push(s);
    }
    vm.list_from_stack(at)
}

/// `(%describe v)`: a few lines about `v`: its type, how it prints, and
/// what else is worth knowing about that type.
fn describe(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let v = arg(vm, base, 0);
    let shown = print(vm, v, Mode::Write);
    let shown = if shown.chars().count() > 200 {
        format!("{}…", shown.chars().take(200).collect::<String>())
    } else {
        shown
    };
    let mut lines = vec![shown];
    let kind = if v.is_fixnum() {
        "a fixnum (exact integer)".to_string()
    } else if v.as_char().is_some() {
        let c = v.as_char().unwrap_or('\0');
        format!("a character, U+{:04X}", c as u32)
    } else if !v.is_ref() {
        "an immediate object".to_string()
    } else {
        let t = vm.heap.tag(v);
        let mut k = format!("a {}", obj::tag_name(t));
        if vm.is(v, obj::STRING) {
            k.push_str(&format!(
                " of {} characters, stored {}",
                vm.string_len(v),
                if vm.string_is_wide(v) {
                    "wide (4 bytes a character)"
                } else {
                    "narrow (a byte a character)"
                }
            ));
        } else if t == obj::VECTOR {
            k.push_str(&format!(" of {} elements", vm.heap.len(v)));
        } else if t == obj::SYMBOL {
            let bound = vm.global_value(v) != Value::UNDEFINED;
            k.push_str(if bound {
                ", bound globally"
            } else {
                ", not bound"
            });
        } else if t == obj::HASH_TABLE {
            let n = vm.heap.get(v, 1).as_fixnum().unwrap_or(0);
            k.push_str(&format!(" with {n} entries"));
        } else if t == obj::RECORD {
            let rt = vm.heap.get(v, 0);
            lines.push(format!(
                "record type: {}",
                print(vm, vm.heap.get(rt, 0), Mode::Write)
            ));
            let names = vm.heap.get(rt, 1);
            for i in 1..vm.heap.len(v) {
                let name = if vm.is(names, obj::VECTOR) && i - 1 < vm.heap.len(names) {
                    print(vm, vm.heap.get(names, i - 1), Mode::Display)
                } else {
                    format!("field {i}")
                };
                lines.push(format!(
                    "  {name}: {}",
                    print(vm, vm.heap.get(v, i), Mode::Write)
                ));
            }
        }
        k.push_str(&format!(", {} bytes", (vm.heap.len(v) + 1) * 8));
        k
    };
    lines.insert(1, format!("is {kind}"));
    vm.string(&lines.join("\n"))
}

/// `(%disassemble proc)`: the bytecode of a compiled procedure, a line
/// per instruction, then the same for each procedure it creates.
fn disassemble(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let f = arg(vm, base, 0);
    if !vm.is(f, obj::CLOSURE) {
        return Err(vm.type_error("disassemble", "a compiled procedure", f));
    }
    let mut out = String::new();
    let mut todo = vec![vm.heap.get(f, 0)];
    let mut seen = Vec::new();
    while let Some(code) = todo.pop() {
        if seen.contains(&code) {
            continue;
        }
        seen.push(code);
        disassemble_code(vm, code, &mut out, &mut todo);
    }
    vm.string(&out)
}

fn disassemble_code(vm: &Vm, code: Value, out: &mut String, nested: &mut Vec<Value>) {
    use crate::obj::code as c;
    use crate::vm::opcode::{Op, operand_a, operand_a_signed, operand_b};
    use std::fmt::Write as _;
    let field = |i| vm.heap.get(code, i).as_fixnum().unwrap_or(0);
    let name = vm.heap.get(code, c::NAME);
    let name = if vm.is(name, obj::SYMBOL) {
        vm.symbol_name(name)
    } else {
        "<anonymous>".into()
    };
    let _ = writeln!(
        out,
        "{name}: {} required{}, {} slots",
        field(c::NREQ),
        if field(c::REST) < 0 {
            " and a rest list"
        } else {
            ""
        },
        field(c::NSLOTS)
    );
    let bc = vm.heap.get(code, c::BYTECODE);
    let consts = vm.heap.get(code, c::CONSTS);
    let n = vm.heap.raw(bc, 0) as usize;
    for pc in 0..n.min(vm.heap.len(bc).saturating_sub(1)) {
        let w = vm.heap.raw(bc, 1 + pc);
        let (a, b) = (operand_a(w), operand_b(w));
        let Some(op) = Op::from_u8(w as u8) else {
            let _ = writeln!(out, "  {pc:4}  ?? {w:#x}");
            continue;
        };
        let konst = |i: u32| {
            let i = i as usize;
            if vm.is(consts, obj::VECTOR) && i < vm.heap.len(consts) {
                Some(vm.heap.get(consts, i))
            } else {
                None
            }
        };
        let detail = match op {
            Op::Const | Op::Global | Op::SetGlobal | Op::DefGlobal => konst(a)
                .map(|k| format!("{a}  ; {}", print(vm, k, Mode::Write)))
                .unwrap_or_else(|| a.to_string()),
            Op::Closure => {
                if let Some(k) = konst(a) {
                    nested.push(k);
                }
                format!("{a} {b}")
            }
            Op::Local2
            | Op::LocalFree
            | Op::LocalCarLocal
            | Op::JumpUnlessNullLocal
            | Op::JumpUnlessPairLocal
            | Op::JumpIfFalseLocal
            | Op::JumpIfFalseCarLocal => format!("{a} {b}"),
            Op::Fix | Op::Jump | Op::JumpIfFalse | Op::JumpIfTrue => (b as i32).to_string(),
            Op::AddImm => (b as i32).to_string(),
            Op::Imm => print(vm, Value::from_bits(b as u64), Mode::Write),
            Op::Imm2 => format!(
                "{} {}",
                print(vm, Value::from_bits(u64::from(a)), Mode::Write),
                print(vm, Value::from_bits(u64::from(b)), Mode::Write)
            ),
            Op::JumpUnlessLtImm
            | Op::JumpUnlessGtImm
            | Op::JumpUnlessLeImm
            | Op::JumpUnlessGeImm
            | Op::JumpUnlessNumEqImm => format!("{} {b}", operand_a_signed(w)),
            Op::JumpUnlessLtImmLocal
            | Op::JumpUnlessGtImmLocal
            | Op::JumpUnlessLeImmLocal
            | Op::JumpUnlessGeImmLocal
            | Op::JumpUnlessNumEqImmLocal => {
                let (s, k) = crate::vm::opcode::slot_and_imm(w);
                format!("{s} {k} {b}")
            }
            Op::JumpUnlessLtLocals
            | Op::JumpUnlessGtLocals
            | Op::JumpUnlessLeLocals
            | Op::JumpUnlessGeLocals
            | Op::JumpUnlessNumEqLocals => {
                let (s, t) = crate::vm::opcode::two_slots(w);
                format!("{s} {t} {b}")
            }
            Op::LocalAddImm | Op::SelfLocalAddImm => format!("{a} {}", b as i32),
            Op::ReturnFix => (b as i32).to_string(),
            Op::ReturnImm => print(vm, Value::from_bits(b as u64), Mode::Write),
            Op::TailSelf => format!("{a}  ; {b} slots"),
            Op::CallSelfGlobal
            | Op::TailSelfGlobal
            | Op::CallSelfGlobalLocal
            | Op::CallSelfGlobalCarLocal
            | Op::CallSelfGlobalCdrLocal
            | Op::CallSelfGlobalLocalAddImm => {
                let name = konst(b & 0xffff)
                    .map(|k| print(vm, k, Mode::Write))
                    .unwrap_or_default();
                let a = if op == Op::CallSelfGlobalLocalAddImm {
                    let (s, k) = crate::vm::opcode::slot_and_imm(w);
                    format!("{s} {k}")
                } else {
                    a.to_string()
                };
                format!("{a}  ; {name}, {} slots", b >> 16)
            }
            Op::Local
            | Op::SetLocal
            | Op::LocalBox
            | Op::SetLocalBox
            | Op::BoxLocal
            | Op::Free
            | Op::FreeBox
            | Op::SetFreeBox
            | Op::Call
            | Op::TailCall
            | Op::ReturnLocal
            | Op::CarLocal
            | Op::CdrLocal
            | Op::SelfLocal
            | Op::SelfCarLocal
            | Op::SelfCdrLocal
            | Op::ConsLocal => a.to_string(),
            _ if a != 0 || b != 0 => format!("{a} {b}"),
            _ => String::new(),
        };
        let _ = writeln!(out, "  {pc:4}  {:<18} {detail}", format!("{op:?}"));
    }
}

/// `(%cpu-time-us)`: CPU time this process has used (user and system).
fn cpu_time_us(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    use nix::sys::resource::{UsageWho, getrusage};
    let us = getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            let (a, b) = (u.user_time(), u.system_time());
            (a.tv_sec() + b.tv_sec()) * 1_000_000 + a.tv_usec() + b.tv_usec()
        })
        .unwrap_or(0);
    Ok(Value::fix(us))
}

#[cfg(test)]
mod tests {
    use super::scan;

    /// Would `%source-scan!` call `text`, fed in one piece, complete?
    fn complete(text: &str) -> bool {
        let (mut depth, mut mode, mut block) = (0, scan::NORMAL, 0);
        for c in text.chars() {
            mode = scan::step(mode, c, &mut depth, &mut block);
        }
        depth <= 0
            && matches!(
                mode,
                scan::NORMAL | scan::HASH | scan::CHAR | scan::LINE_COMMENT
            )
    }

    #[test]
    fn brackets_strings_comments_and_characters() {
        for done in [
            "(a b)",
            "[a (b)]",
            "#(1 2)",
            "#u8(1 2)",
            "(list #\\( #\\))",
            "\"(\"",
            "|(|",
            "#| ( |#",
            "#| #| ( |# |#",
            "; (\n",
            "#;(a) b",
            "#; \"\n\" 5",
            "(a \"\\\")\")",
        ] {
            assert!(complete(done), "{done:?} should be complete");
        }
        for open in [
            "(a",
            "#(1 2",
            "#u8(",
            "\"(",
            "|a",
            "#| (",
            "#| #| |# ",
            "#;(a",
            "(a \"\\\")\"",
        ] {
            assert!(!complete(open), "{open:?} should be unfinished");
        }
    }
}
