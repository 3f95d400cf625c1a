//! The dispatch loop.
//!
//! **Invariant (stackless):** a Scheme call never recurses on the Rust
//! stack. `Call` pushes a `Frame` (two integers) and jumps; `Return` pops
//! one. The only Rust recursion is `call_from_rust`, used when native code
//! (the compiler running a macro, the embedding API) calls into Scheme, and
//! each such entry pushes an `ENTRY_PC` frame that returns to it.
//!
//! Registers `fp` and `pc` live in locals during the loop and are written
//! back to `self` before anything that can fail, call out, or collect.

use imp_gc::Value;

use super::assembled::map;
use super::opcode::{byte, operand_a, operand_a_signed, operand_b, slot_and_imm, two_slots};
use super::{Abort, DISCARD_BIT, ENTRY_PC, Exn, Frame, REDO_PC, Reg, THREAD_END_PC, Vm, VmResult};
use crate::obj::{self, CLOSURE, CONTINUATION, PARAMETER, PRIMITIVE, code};
use crate::prim::{Control, PRIMITIVES, PrimFn};

/// Where a `run` was entered from Rust: the control and value stack heights
/// to unwind to when it is aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `frames.len()` before the entry frame was pushed.
    pub frames: usize,
    /// `stack.len()` before the callee was pushed.
    pub stack: usize,
}

/// What a call did.
enum Called {
    /// A closure frame was entered: continue the loop.
    Entered,
    /// The call finished at once with this value.
    Done(Value),
}

impl Vm {
    /// Call the procedure at `stack[base]` with the arguments above it and
    /// run until it returns.
    ///
    /// # Errors
    /// `Exn::Abort` when a condition is not handled, `exit` is called, or a
    /// limit is hit; the stacks are unwound to where they were.
    pub fn call_from_rust(&mut self, base: usize) -> VmResult<Value> {
        if self.image.damage.is_some() && self.run_depth == 0 {
            // Nothing runs on a damaged image (`image::load`).
            self.stack.truncate(base);
            return Err(Exn::Abort(Abort::DamagedImage(
                self.image.damage.clone().unwrap_or_default(),
            )));
        }
        let argc = self.stack.len() - base - 1;
        let entry = Entry {
            frames: self.frames.len(),
            stack: base,
        };
        self.entries.push(entry);
        let saved_pc = self.pc;
        let saved_fp = self.fp;
        // The frame the call pushes returns to Rust.
        self.pc = ENTRY_PC as usize;
        self.run_depth += 1;
        let first = self.do_call(argc, false);
        let mut result = match first {
            Ok(Called::Done(v)) => Ok(v),
            Ok(Called::Entered) => self.run(),
            Err(e) => match self.handle_error(e) {
                Ok(()) => self.run(),
                Err(e) => Err(e),
            },
        };
        // The host's call returning (a value, an error, an exit) is seen
        // outside: a large image's body must have been checked whole.
        if self.run_depth == 1 && !self.image.gate_deferred {
            result = self.before_effect().and(result);
        }
        self.pc = saved_pc;
        self.fp = saved_fp;
        self.run_depth -= 1;
        self.entries.pop();
        if self.run_depth == 0 {
            self.reserve_frames(false);
            // A limit being carried out is over with the host's call, however
            // it ended (an after-thunk's error a handler caught may have let
            // the call return): the budget it tripped stays used up.
            if self.limits.unwinding.take() == Some(crate::vm::LimitTrip::Budget) {
                self.limits.budget = Some(0);
                self.refuel();
            }
        }
        if result.is_err() {
            if self.run_depth == 0 && self.reg(Reg::Thread) != self.reg(Reg::Initial) {
                // An abort (exit, out of memory) in another green thread
                // ends that thread and unwinds the initial one, whose stacks
                // the entry marks describe.
                self.return_to_initial()?;
            }
            self.frames.truncate(entry.frames);
            self.stack.truncate(entry.stack);
        }
        result
    }

    /// Run until the innermost entry frame returns.
    fn run(&mut self) -> VmResult<Value> {
        loop {
            match self.run_loop() {
                Ok(v) => return Ok(v),
                Err(e) => self.handle_error(e)?,
            }
        }
    }

    /// Turn an error into a call to `raise`, or pass an abort through after
    /// unwinding to the innermost entry.
    fn handle_error(&mut self, e: Exn) -> VmResult<()> {
        match e {
            Exn::Error {
                kind,
                message,
                irritant_mark,
            } => {
                let cond = self.make_condition(kind, &message, irritant_mark);
                self.heap.truncate_roots(irritant_mark);
                let cond = match cond {
                    Ok(c) => c,
                    Err(e) => return self.abort(e),
                };
                let raise = self.intern("raise").map(|s| self.global_value(s));
                match raise {
                    Ok(r) if self.is_procedure(r) => {
                        self.stack.push(r);
                        self.stack.push(cond);
                        match self.do_call(1, false) {
                            Ok(Called::Entered) => Ok(()),
                            Ok(Called::Done(v)) => {
                                self.stack.push(v);
                                Ok(())
                            }
                            Err(e) => self.handle_error(e),
                        }
                    }
                    _ => {
                        // No `raise` yet (the prelude is loading): uncaught.
                        self.set_reg(Reg::LastError, cond);
                        self.abort(Exn::Abort(Abort::Uncaught))
                    }
                }
            }
            Exn::Block { wait, argc, tail } => self.block(wait, argc, tail),
            Exn::Redirect { to, argc, tail } => self.redirect(to, argc, tail),
            abort => self.abort(abort),
        }
    }

    /// Make the call at the stack top (a primitive's, which redirected
    /// it) again with the procedure that is the value of global `to`.
    fn redirect(&mut self, to: &'static str, argc: usize, tail: bool) -> VmResult<()> {
        let f = match self.internal_lookup(to).or_else(|| self.symbol_lookup(to)) {
            Some(sym) => self.global_value(sym),
            None => Value::UNDEFINED,
        };
        if !self.is_procedure(f) {
            let e = self.error(format!("internal: no procedure `{to}`"), &[]);
            return self.handle_error(e);
        }
        let f_idx = self.stack.len() - argc - 1;
        self.stack[f_idx] = f;
        self.redo_call(argc, tail)
    }

    /// Make the blocked primitive call at the stack top wait for `wait`,
    /// then be made again.
    fn block(&mut self, wait: super::IoWait, argc: usize, tail: bool) -> VmResult<()> {
        if self.wait_switching(wait, argc, tail)? {
            return Ok(());
        }
        // No other thread may run now: wait right here.
        self.wait_in_place(wait)?;
        self.redo_call(argc, tail)
    }

    /// Make again the call whose procedure and `argc` arguments are at the
    /// stack top (a primitive that blocked), delivering its value.
    pub(crate) fn redo_call(&mut self, argc: usize, tail: bool) -> VmResult<()> {
        match self.do_call(argc, tail) {
            Ok(Called::Entered) => Ok(()),
            Ok(Called::Done(v)) => {
                if tail {
                    match self.do_return(v)? {
                        Some(v) => {
                            self.stack.push(v);
                            self.pending_return = true;
                            Ok(())
                        }
                        None => Ok(()),
                    }
                } else {
                    self.stack.push(v);
                    Ok(())
                }
            }
            Err(e) => self.handle_error(e),
        }
    }

    fn abort(&mut self, e: Exn) -> VmResult<()> {
        if let Some(entry) = self.entries.last().copied() {
            if let Some(f) = self.frames.get(entry.frames) {
                self.fp = f.fp as usize;
            }
            self.frames.truncate(entry.frames);
            self.stack.truncate(entry.stack);
        }
        Err(e)
    }

    /// Build an error object for an error raised by the VM or a primitive;
    /// its irritants are the handles from `irritant_mark` up.
    fn make_condition(
        &mut self,
        kind: &str,
        message: &str,
        irritant_mark: usize,
    ) -> VmResult<Value> {
        let base = self.stack.len();
        let msg = self.string(message)?;
        self.stack.push(msg);
        let irritants: Vec<usize> = (irritant_mark..self.heap.root_mark()).collect();
        let ibase = self.stack.len();
        for i in irritants {
            let v = self.heap.handle(imp_gc::Handle::from_index(i));
            self.stack.push(v);
        }
        let list = self.list_from_stack(ibase)?;
        self.stack.push(list);
        let kind = self.intern(kind)?;
        self.stack.push(kind);
        let loc = match self.current_location() {
            Some(l) => self.string(&l)?,
            None => Value::FALSE,
        };
        self.stack.push(loc);
        let bt = self.backtrace_list()?;
        self.stack.push(bt);
        self.object_from_stack(obj::ERROR, base)
    }

    /// The source location of the instruction being run, as "file:line".
    pub fn current_location(&self) -> Option<String> {
        self.frame_location(self.fp, self.pc.saturating_sub(1))
    }

    fn frame_location(&self, fp: usize, pc: usize) -> Option<String> {
        let clo = *self.stack.get(fp)?;
        if !self.is(clo, CLOSURE) {
            return None;
        }
        let code = self.heap.get(clo, 0);
        let lines = self.heap.get(code, code::LINES);
        let file = self.heap.get(code, code::FILE);
        if !self.is(lines, obj::LINES) {
            return None;
        }
        let n = self.heap.raw(lines, 0) as usize;
        if pc >= n {
            return None;
        }
        let line = (self.heap.raw(lines, 1 + pc / 2) >> ((pc % 2) * 32)) as u32;
        if line == 0 {
            return None;
        }
        let file = if self.is(file, obj::STRING) {
            self.string_text(file)
        } else {
            "<input>".to_string()
        };
        Some(format!("{file}:{line}"))
    }

    /// The procedure name running in the frame at `fp`.
    fn frame_name(&self, fp: usize) -> String {
        match self.stack.get(fp) {
            Some(&clo) if self.is(clo, CLOSURE) => {
                let name = self.heap.get(self.heap.get(clo, 0), code::NAME);
                if self.is(name, obj::SYMBOL) {
                    self.symbol_name(name)
                } else {
                    "<anonymous>".to_string()
                }
            }
            _ => "<native>".to_string(),
        }
    }

    /// The backtrace, innermost first, as lines "name (file:line)". Runs of
    /// frames at the same place (deep recursion) are folded into one line
    /// ending "× N"; after `GROUPS` lines the rest are counted.
    pub fn backtrace(&self) -> Vec<String> {
        const GROUPS: usize = 40;
        let mut out = Vec::new();
        let (mut fp, mut pc) = (self.fp, self.pc.saturating_sub(1));
        let mut i = self.frames.len();
        // The run being counted: (its procedure, pc), a frame of it, size.
        type Run = ((Value, usize), (usize, usize), u64);
        let mut run: Option<Run> = None;
        loop {
            let key = (self.stack.get(fp).copied().unwrap_or(Value::FALSE), pc);
            match &mut run {
                Some((k, _, n)) if *k == key => *n += 1,
                _ => {
                    if let Some((_, at, n)) = run.take() {
                        self.push_frame_line(&mut out, at, n);
                    }
                    if out.len() >= GROUPS {
                        out.push(format!("... {} more frames", group_digits(i as u64 + 1)));
                        return out;
                    }
                    run = Some((key, (fp, pc), 1));
                }
            }
            if i == 0 {
                break;
            }
            i -= 1;
            let f = self.frames[i];
            if f.pc == ENTRY_PC || f.pc == THREAD_END_PC {
                break;
            }
            fp = f.fp as usize;
            pc = if f.pc == REDO_PC {
                // Interrupted in a blocked call: it is made again here.
                let t = self.reg(Reg::Thread);
                let recall = self.heap.get(t, crate::sched::field::RECALL);
                recall
                    .as_fixnum()
                    .map_or(0, |r| ((r >> 32) as usize).saturating_sub(1))
            } else {
                ((f.pc & !DISCARD_BIT) as usize).saturating_sub(1)
            };
        }
        if let Some((_, at, n)) = run {
            self.push_frame_line(&mut out, at, n);
        }
        out
    }

    /// The line of `n` frames at (`fp`, `pc`), unless it is a native one.
    fn push_frame_line(&self, out: &mut Vec<String>, (fp, pc): (usize, usize), n: u64) {
        let name = self.frame_name(fp);
        if name.starts_with("<native>") {
            return;
        }
        let mut line = match self.frame_location(fp, pc) {
            Some(l) => format!("{name} ({l})"),
            None => name,
        };
        if n > 1 {
            line.push_str(&format!(" × {}", group_digits(n)));
        }
        out.push(line);
    }

    fn backtrace_list(&mut self) -> VmResult<Value> {
        let lines = self.backtrace();
        let base = self.stack.len();
        for l in lines {
            let s = self.string(&l)?;
            self.stack.push(s);
        }
        self.list_from_stack(base)
    }

    /// Set up a call of `stack[len-argc-1]` with the `argc` values above it.
    fn do_call(&mut self, mut argc: usize, tail: bool) -> VmResult<Called> {
        loop {
            let f_idx = self.stack.len() - argc - 1;
            let f = self.stack[f_idx];
            if !f.is_ref() {
                return Err(self.not_a_procedure(f));
            }
            match self.heap.tag(f) {
                CLOSURE => {
                    let new_fp = if tail {
                        let fp = self.fp;
                        self.stack.copy_within(f_idx.., fp);
                        self.stack.truncate(fp + argc + 1);
                        fp
                    } else {
                        if !self.frame_room() {
                            let limit = if self.frames.len() >= self.max_frames + self.frame_reserve
                            {
                                format!("{} frames", self.max_frames)
                            } else {
                                format!("{} values", self.stack.len())
                            };
                            if self.frame_reserve > 0 {
                                // Overflowed again while handling an overflow.
                                return Err(Exn::Abort(Abort::OutOfMemory(format!(
                                    "stack depth limit exceeded ({limit}) while handling a stack overflow"
                                ))));
                            }
                            // Leave room for the handlers to run.
                            self.reserve_frames(true);
                            return Err(
                                self.error(format!("stack depth limit exceeded ({limit})"), &[])
                            );
                        }
                        self.frames.push(Frame {
                            fp: self.fp as u32,
                            pc: self.pc as u32,
                        });
                        f_idx
                    };
                    self.fp = new_fp;
                    self.pc = 0;
                    if let Err(e) = self.enter_closure(argc) {
                        if !tail && let Some(fr) = self.frames.pop() {
                            self.fp = fr.fp as usize;
                            self.pc = fr.pc as usize;
                        }
                        return Err(e);
                    }
                    return Ok(Called::Entered);
                }
                PRIMITIVE => {
                    if crate::native::is_native(self, f) {
                        return self.call_host(f, f_idx, argc);
                    }
                    let id = self.heap.get(f, 0).as_fixnum_unchecked() as usize;
                    let def = &PRIMITIVES[id];
                    if !def.accepts(argc) {
                        return Err(self.arity_error(f, argc));
                    }
                    match def.f {
                        PrimFn::Simple(func) => {
                            return self.call_simple(func, f_idx, argc, tail).map(Called::Done);
                        }
                        PrimFn::Control(
                            c @ (Control::Yield | Control::Park | Control::EndThread),
                        ) => {
                            return match self.thread_control(c, f_idx, tail)? {
                                Some(v) => Ok(Called::Done(v)),
                                None => Ok(Called::Entered),
                            };
                        }
                        PrimFn::Control(c) => match self.control(c, f_idx, argc, tail)? {
                            Some(n) => {
                                argc = n;
                                continue;
                            }
                            None => return Ok(Called::Entered),
                        },
                    }
                }
                CONTINUATION => {
                    self.reinstate(f, f_idx, argc)?;
                    return Ok(Called::Entered);
                }
                PARAMETER => {
                    if argc != 0 {
                        return Err(self.error("parameter object called with arguments", &[f]));
                    }
                    let v = self.parameter_value(f);
                    self.stack.truncate(f_idx);
                    return Ok(Called::Done(v));
                }
                _ => return Err(self.not_a_procedure(f)),
            }
        }
    }

    /// Call native `f` (a host function) with the `argc` arguments above
    /// `f_idx`; an escape it passes on to a continuation of this run
    /// continues there.
    #[inline]
    fn call_host(&mut self, f: Value, f_idx: usize, argc: usize) -> VmResult<Called> {
        match crate::native::call_native(self, f, f_idx, argc) {
            Ok(v) => Ok(Called::Done(v)),
            Err(Exn::Abort(Abort::Escape)) if self.escape_is_here() => {
                self.resume_escape()?;
                Ok(Called::Entered)
            }
            Err(e) => Err(e),
        }
    }

    /// Run built-in primitive `func` on the `argc` arguments above
    /// `f_idx`, then cut the stack back to `f_idx`. A primitive that must
    /// wait says so with `Exn::Block`, which the call completes here.
    #[inline(always)]
    fn call_simple(
        &mut self,
        func: crate::prim::SimpleFn,
        f_idx: usize,
        argc: usize,
        tail: bool,
    ) -> VmResult<Value> {
        match func(self, f_idx + 1, argc) {
            Ok(v) => {
                self.stack.truncate(f_idx);
                Ok(v)
            }
            Err(Exn::Block { wait, .. }) => Err(Exn::Block { wait, argc, tail }),
            Err(Exn::Redirect { to, .. }) => Err(Exn::Redirect { to, argc, tail }),
            Err(e) => Err(e),
        }
    }

    fn not_a_procedure(&mut self, f: Value) -> Exn {
        let msg = format!(
            "attempt to call a non-procedure (a{} {})",
            if matches!(
                self.type_name(f).as_bytes().first(),
                Some(b'a' | b'e' | b'i' | b'o' | b'u')
            ) {
                "n"
            } else {
                ""
            },
            self.type_name(f)
        );
        self.error(msg, &[f])
    }

    fn arity_error(&mut self, f: Value, argc: usize) -> Exn {
        let name = self.procedure_name(f);
        self.error(
            format!("{name}: wrong number of arguments ({argc} given)"),
            &[f],
        )
    }

    /// A printable name of a procedure.
    pub fn procedure_name(&self, f: Value) -> String {
        if self.is(f, PRIMITIVE) {
            if crate::native::is_native(self, f) {
                return crate::native::native_name(self, f);
            }
            return PRIMITIVES[self.heap.get(f, 0).as_fixnum_unchecked() as usize]
                .name
                .to_string();
        }
        if self.is(f, CLOSURE) {
            let name = self.heap.get(self.heap.get(f, 0), code::NAME);
            if self.is(name, obj::SYMBOL) {
                return self.symbol_name(name);
            }
        }
        "#<procedure>".to_string()
    }

    /// Check arity and lay out the frame of the closure at `self.fp`.
    fn enter_closure(&mut self, argc: usize) -> VmResult<()> {
        let clo = self.stack[self.fp];
        let code = self.heap.get(clo, 0);
        let nreq = self.heap.get(code, code::NREQ).as_fixnum_unchecked() as usize;
        let rest = self.heap.get(code, code::REST).as_fixnum_unchecked();
        let nslots = self.heap.get(code, code::NSLOTS).as_fixnum_unchecked() as usize;
        if rest < 0 {
            if argc < nreq {
                return Err(self.arity_error(clo, argc));
            }
            let list = self.list_from_stack(self.fp + 1 + nreq)?;
            self.stack.push(list);
        } else if argc != nreq {
            return Err(self.arity_error(clo, argc));
        }
        self.stack.resize(self.fp + 1 + nslots, Value::UNDEFINED);
        Ok(())
    }

    /// Return `v` from the current frame. `Some(v)` when the frame was an
    /// entry frame (the run is over).
    fn do_return(&mut self, v: Value) -> VmResult<Option<Value>> {
        self.stack.truncate(self.fp);
        let f = self.frames.pop().unwrap_or(Frame {
            fp: 0,
            pc: ENTRY_PC,
        });
        self.fp = f.fp as usize;
        self.return_to_pc(f.pc, v)
    }

    /// Deliver `v` to a caller whose frame (fp already restored) had return
    /// point `pc`.
    fn return_to_pc(&mut self, pc: u32, v: Value) -> VmResult<Option<Value>> {
        match pc {
            ENTRY_PC => Ok(Some(v)),
            THREAD_END_PC => {
                self.thread_finished(v)?;
                Ok(None)
            }
            REDO_PC => {
                self.redo_blocked_call()?;
                Ok(None)
            }
            pc if pc & DISCARD_BIT != 0 => {
                self.pc = (pc & !DISCARD_BIT) as usize;
                Ok(None)
            }
            pc => {
                self.pc = pc as usize;
                self.stack.push(v);
                Ok(None)
            }
        }
    }

    /// Call the procedure at `stack[len - argc - 1]` for the scheduler
    /// (starting a thread, running interrupts); `self.fp`/`self.pc` are the
    /// return point. `Some(v)` if it completed at once.
    pub(crate) fn do_call_for_scheduler(&mut self, argc: usize) -> VmResult<Option<Value>> {
        match self.do_call(argc, false)? {
            Called::Entered => Ok(None),
            Called::Done(v) => Ok(Some(v)),
        }
    }

    /// A call made by the scheduler finished at once with `v`.
    pub(crate) fn return_to_frame(&mut self, v: Value) -> VmResult<()> {
        let pc = self.pc as u32;
        match self.return_to_pc(pc, v)? {
            Some(_) => Err(self.error("internal: scheduler call returned to native code", &[])),
            None => Ok(()),
        }
    }

    /// A control primitive. `Some(argc)` asks the caller to perform the
    /// call now set up on the stack; `None` means a frame was entered.
    fn control(
        &mut self,
        c: Control,
        f_idx: usize,
        argc: usize,
        tail: bool,
    ) -> VmResult<Option<usize>> {
        match c {
            Control::Apply => {
                // (apply f a ... lst): drop `apply`, spread lst.
                let lst = self.stack[self.stack.len() - 1];
                let Some(items) = self.list_to_vec(lst) else {
                    return Err(self.type_error("apply", "a proper list as last argument", lst));
                };
                self.stack.pop();
                self.stack.remove(f_idx);
                let n = argc - 2 + items.len();
                self.stack.extend(items);
                Ok(Some(n))
            }
            Control::CallCC => {
                let k = self.capture(f_idx, tail)?;
                // (%call/cc f) -> (f k)
                self.stack.remove(f_idx);
                self.stack.push(k);
                Ok(Some(1))
            }
            Control::ApplyValues => {
                // (%apply-values consumer vals)
                let vals = self.stack[f_idx + 2];
                self.stack.truncate(f_idx + 2);
                self.stack.remove(f_idx);
                if self.is(vals, obj::VALUES) {
                    let n = self.heap.len(vals);
                    for i in 0..n {
                        let x = self.heap.get(vals, i);
                        self.stack.push(x);
                    }
                    Ok(Some(n))
                } else {
                    self.stack.push(vals);
                    Ok(Some(1))
                }
            }
            Control::Yield | Control::Park | Control::EndThread => {
                Err(self.error("internal: scheduler primitive dispatched as control", &[]))
            }
            Control::Eval => {
                let env = if argc == 2 {
                    let e = self.stack[f_idx + 2];
                    if !self.is(e, obj::ENVIRONMENT) {
                        return Err(self.type_error("eval", "an environment", e));
                    }
                    Some(e)
                } else {
                    None
                };
                let thunk = crate::compile::compile_value(self, f_idx + 1, env)?;
                self.stack.truncate(f_idx);
                self.stack.push(thunk);
                Ok(Some(0))
            }
        }
    }

    /// Capture the continuation of the call being made at `f_idx`.
    fn capture(&mut self, f_idx: usize, tail: bool) -> VmResult<Value> {
        // The state a return from this call would resume.
        let (sp, fp, pc, nframes) = if tail {
            let Some(f) = self.frames.last().copied() else {
                return Err(self.error("call/cc: no continuation", &[]));
            };
            (self.fp, f.fp as usize, f.pc as usize, self.frames.len() - 1)
        } else {
            (f_idx, self.fp, self.pc, self.frames.len())
        };
        if pc == ENTRY_PC as usize {
            // Returning from here goes straight back to Rust: capture the
            // entry frame too so that invoking resumes it.
        }
        let entry = self.entries.last().copied().unwrap_or(Entry {
            frames: 0,
            stack: 0,
        });
        self.captures += 1;
        let base = self.stack.len();
        let saved = self.alloc(obj::VECTOR, sp)?;
        for i in 0..sp {
            let x = self.stack[i];
            self.heap.set(saved, i, x);
        }
        self.stack.push(saved);
        let fr = self.alloc(obj::BYTEVECTOR, 1 + nframes)?;
        self.heap.set_raw(fr, 0, (nframes * 8) as u64);
        for i in 0..nframes {
            let f = self.frames[i];
            self.heap
                .set_raw(fr, 1 + i, (f.fp as u64) | ((f.pc as u64) << 32));
        }
        self.stack.push(fr);
        self.stack.push(Value::fix(fp as i64));
        self.stack.push(Value::fix(pc as i64));
        self.stack.push(Value::fix(entry.frames as i64));
        self.stack.push(Value::fix(entry.stack as i64));
        self.object_from_stack(CONTINUATION, base)
    }

    /// Was the continuation of the pending escape captured in the innermost
    /// entry (so this VM loop resumes it)?
    fn escape_is_here(&self) -> bool {
        let Some((k, _)) = &self.host.pending_escape else {
            return false;
        };
        let k = crate::own_raw(self, k);
        let entry = self.entries.last().copied().unwrap_or(Entry {
            frames: 0,
            stack: 0,
        });
        self.heap.get(k, 4).as_fixnum_unchecked() as usize == entry.frames
            && self.heap.get(k, 5).as_fixnum_unchecked() as usize == entry.stack
    }

    /// Invoke the pending escape's continuation with its values.
    fn resume_escape(&mut self) -> VmResult<()> {
        let Some((k, vals)) = self.host.pending_escape.take() else {
            return Ok(());
        };
        let f_idx = self.stack.len();
        let k = crate::own_raw(self, &k);
        self.stack.push(k);
        let vals = crate::own_raw(self, &vals);
        let items = self.list_to_vec(vals).unwrap_or_default();
        let argc = items.len();
        self.stack.extend(items);
        self.reinstate(k, f_idx, argc)
    }

    /// Invoke continuation `k` with the `argc` values above `f_idx`.
    fn reinstate(&mut self, k: Value, f_idx: usize, argc: usize) -> VmResult<()> {
        let entry = self.entries.last().copied().unwrap_or(Entry {
            frames: 0,
            stack: 0,
        });
        let ef = self.heap.get(k, 4).as_fixnum_unchecked() as usize;
        let es = self.heap.get(k, 5).as_fixnum_unchecked() as usize;
        if ef != entry.frames || es != entry.stack {
            let n = self.entries.len();
            let outer = n > 0
                && self.entries[..n - 1]
                    .iter()
                    .any(|e| e.frames == ef && e.stack == es);
            if outer && self.run_depth > 0 {
                // Captured outside the native call now running: unwind it,
                // and resume `k` from the VM loop that captured it.
                let vals = self.list_from_stack(f_idx + 1)?;
                let vals = crate::hold_in(self, vals);
                let k = self.stack[f_idx];
                let k = crate::hold_in(self, k);
                self.host.pending_escape = Some((k, vals));
                return Err(Exn::Abort(Abort::Escape));
            }
            return Err(self.error(
                "continuation invoked outside the native call that captured it",
                &[],
            ));
        }
        let v = if argc == 1 {
            self.stack[f_idx + 1]
        } else {
            // Leaves the continuation itself at f_idx.
            self.object_from_stack(obj::VALUES, f_idx + 1)?
        };
        self.stack.push(v);
        let k = self.stack[f_idx];
        let saved = self.heap.get(k, 0);
        let n = self.heap.len(saved);
        let v = self.stack[self.stack.len() - 1];
        self.stack.truncate(0);
        for i in 0..n {
            self.stack.push(self.heap.get(saved, i));
        }
        let fr = self.heap.get(k, 1);
        let nframes = self.heap.raw(fr, 0) as usize / 8;
        self.frames.clear();
        for i in 0..nframes {
            let w = self.heap.raw(fr, 1 + i);
            self.frames.push(Frame {
                fp: w as u32,
                pc: (w >> 32) as u32,
            });
        }
        self.fp = self.heap.get(k, 2).as_fixnum_unchecked() as usize;
        self.pc = self.heap.get(k, 3).as_fixnum_unchecked() as usize;
        if self.pc == ENTRY_PC as usize {
            // The continuation returns straight to Rust: emulate `Return`.
            self.stack.push(v);
            self.pending_return = true;
        } else if self.pc >= DISCARD_BIT as usize {
            // A return into a frame the scheduler made (end of thread, or
            // a call whose value is dropped).
            let pc = self.pc as u32;
            self.return_to_pc(pc, v)?;
        } else {
            self.stack.push(v);
        }
        Ok(())
    }

    /// The main loop: run instructions until the innermost entry frame returns.
    fn run_loop(&mut self) -> VmResult<Value> {
        let mut fp: usize;
        // The absolute word index of the next instruction: `code_base`
        // plus the frame's pc.
        let mut ip: usize;
        let mut code_base: usize;
        let mut consts: Value;

        // `code_base` and `consts` of the closure running at `fp`.
        macro_rules! load_code {
            () => {{
                let clo = self.stack.at(fp);
                let code = self.heap.get(clo, 0);
                code_base = (self.heap.get(code, code::BYTECODE).offset() / 8) as usize + 2;
                consts = self.heap.get(code, code::CONSTS);
            }};
        }
        macro_rules! reload {
            () => {{
                if self.pending_return {
                    self.pending_return = false;
                    let v = self.stack.pop().unwrap_or(Value::UNSPECIFIED);
                    // The stack is already the caller's: return to Rust.
                    return Ok(v);
                }
                fp = self.fp;
                load_code!();
                ip = code_base + self.pc;
            }};
        }
        macro_rules! sync {
            () => {{
                self.fp = fp;
                self.pc = ip - code_base;
            }};
        }
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => {
                        sync!();
                        return Err(e);
                    }
                }
            };
        }
        macro_rules! pop {
            () => {
                self.stack.pop().unwrap_or(Value::UNSPECIFIED)
            };
        }
        macro_rules! top2 {
            () => {{
                let n = self.stack.len();
                (self.stack.at(n - 2), self.stack.at(n - 1))
            }};
        }
        macro_rules! replace2 {
            ($v:expr) => {{
                let v = $v;
                let n = self.stack.len();
                self.stack.set(n - 2, v);
                self.stack.truncate(n - 1);
            }};
        }
        macro_rules! arith_slow {
            ($op:expr) => {{
                sync!();
                let r = tri!(crate::num::binop(self, $op));
                reload_consts!();
                replace2!(r);
            }};
        }
        // The running closure's code and constants, after anything that
        // may have moved them (the pc stays).
        macro_rules! reload_consts {
            () => {{
                let pc = ip - code_base;
                load_code!();
                ip = code_base + pc;
            }};
        }
        // Continue at the instruction operand b of `$w` names.
        macro_rules! jump {
            ($w:expr) => {
                ip = code_base + operand_b($w) as usize
            };
        }
        macro_rules! compare {
            ($op:tt, $nop:expr) => {{
                let (a, b) = top2!();
                if a.is_fixnum() && b.is_fixnum() {
                    replace2!(Value::bool((a.bits() as i64) $op (b.bits() as i64)));
                } else {
                    arith_slow!($nop);
                }
            }};
        }

        macro_rules! return_value {
            ($v:expr) => {{
                let v = $v;
                if let Some(&Frame { fp: cfp, pc: cpc }) = self.frames.last() {
                    if cpc < DISCARD_BIT {
                        self.frames.pop();
                        // The value takes the callee's place.
                        let me = self.stack.at(fp);
                        self.stack.set(fp, v);
                        self.stack.truncate(fp + 1);
                        fp = cfp as usize;
                        // Back in the same closure (recursion): the same
                        // code and constants.
                        if self.stack.at(fp) != me {
                            load_code!();
                        }
                        ip = code_base + cpc as usize;
                        continue;
                    }
                }
                sync!();
                if let Some(r) = tri!(self.do_return(v)) {
                    return Ok(r);
                }
                reload!();
            }};
        }
        // Branch to operand b of `$w` unless `$x OP $y`: fixnums compared
        // inline, anything else by the generic comparison.
        macro_rules! branch_unless {
            ($w:expr, $x:expr, $y:expr, $op:tt, $nop:expr) => {{
                let (x, y) = ($x, $y);
                let holds = if x.is_fixnum() && y.is_fixnum() {
                    (x.bits() as i64) $op (y.bits() as i64)
                } else {
                    self.stack.push(x);
                    self.stack.push(y);
                    arith_slow!($nop);
                    pop!().is_true()
                };
                if !holds {
                    jump!($w);
                }
            }};
        }
        // `a b --`: branch unless `a OP b`.
        macro_rules! jump_unless_compare {
            ($w:expr, $op:tt, $nop:expr) => {{
                let (x, y) = top2!();
                let n = self.stack.len();
                self.stack.truncate(n - 2);
                branch_unless!($w, x, y, $op, $nop);
            }};
        }
        // `x --`: branch unless `x OP k`, k in operand a.
        macro_rules! jump_unless_compare_imm {
            ($w:expr, $op:tt, $nop:expr) => {{
                let x = pop!();
                branch_unless!($w, x, Value::fix(operand_a_signed($w)), $op, $nop);
            }};
        }
        // `--`: branch unless `slot[s] OP k` (see `slot_and_imm`).
        macro_rules! jump_unless_local_imm {
            ($w:expr, $op:tt, $nop:expr) => {{
                let (s, k) = slot_and_imm($w);
                branch_unless!($w, self.stack.at(fp + 1 + s), Value::fix(k), $op, $nop);
            }};
        }
        // `--`: branch unless `slot[s] OP slot[t]` (see `two_slots`).
        macro_rules! jump_unless_locals {
            ($w:expr, $op:tt, $nop:expr) => {{
                let (s, t) = two_slots($w);
                branch_unless!(
                    $w,
                    self.stack.at(fp + 1 + s),
                    self.stack.at(fp + 1 + t),
                    $op,
                    $nop
                );
            }};
        }

        // Call the procedure below the `$argc` arguments at the stack top
        // through `do_call` (anything callable).
        macro_rules! slow_call {
            ($argc:expr, $tail:expr) => {{
                let tail = $tail;
                sync!();
                match self.do_call($argc, tail) {
                    Ok(Called::Entered) => reload!(),
                    Ok(Called::Done(v)) => {
                        if tail {
                            if let Some(r) = tri!(self.do_return(v)) {
                                return Ok(r);
                            }
                            reload!();
                        } else {
                            self.stack.push(v);
                            reload_consts!();
                        }
                    }
                    Err(e) => return Err(e),
                }
            }};
        }
        // Push a frame returning here; the callee's frame starts at `$f_idx`.
        macro_rules! enter_frame {
            ($f_idx:expr) => {{
                self.frames.push(Frame {
                    fp: fp as u32,
                    pc: (ip - code_base) as u32,
                });
                fp = $f_idx;
            }};
        }
        // Fill the callee's slots past its `$argc` arguments up to `$nslots`.
        macro_rules! clear_slots {
            ($argc:expr, $nslots:expr) => {{
                for _ in $argc..$nslots {
                    self.stack.push(Value::UNDEFINED);
                }
            }};
        }
        // The running closure calls itself in tail position: the `$argc`
        // values on top become its arguments and its code starts again.
        macro_rules! restart_self {
            ($argc:expr, $nslots:expr) => {{
                let from = self.stack.len() - $argc;
                for i in 0..$argc {
                    self.stack.set(fp + 1 + i, self.stack.at(from + i));
                }
                self.stack.truncate(fp + 1 + $argc);
                clear_slots!($argc, $nslots);
                ip = code_base;
                continue;
            }};
        }
        // The value of global `$sym`, or an unbound-variable error.
        macro_rules! global_value {
            ($sym:expr) => {{
                let sym = $sym;
                let v = self.heap.get(sym, 1);
                if v == Value::UNDEFINED {
                    sync!();
                    return Err(self.unbound_error(sym, v));
                }
                v
            }};
        }
        // Safepoint: run this instruction again when the thread resumes.
        macro_rules! count_call {
            () => {{
                self.fuel -= 1;
                if self.fuel <= 0 {
                    ip -= 1;
                    sync!();
                    tri!(self.safepoint());
                    reload!();
                    continue;
                }
            }};
        }

        // A new pair of the two values on top (left there: they are its
        // roots if the allocation collects).
        macro_rules! cons_top2 {
            () => {{
                let (x, y) = top2!();
                match self.heap.try_alloc2(obj::PAIR, x, y) {
                    Some(p) => p,
                    None => {
                        sync!();
                        let p = tri!(self.alloc(obj::PAIR, 2));
                        reload_consts!();
                        let (x, y) = top2!();
                        self.heap.set(p, 0, x);
                        self.heap.set(p, 1, y);
                        p
                    }
                }
            }};
        }
        // `x y -- x+y` into `$r`, fixnums inline.
        macro_rules! add_top2 {
            () => {{
                let (x, y) = top2!();
                match (x.is_fixnum() && y.is_fixnum())
                    .then(|| (x.bits() as i64).checked_add(y.bits() as i64))
                    .flatten()
                {
                    Some(r) => replace2!(Value::from_bits(r as u64)),
                    None => arith_slow!(crate::num::ArithOp::Add),
                }
            }};
        }
        // Push `(car slot[a])` or `(cdr slot[a])`.
        macro_rules! push_field_local {
            ($a:expr, $cdr:expr) => {{
                let p = self.stack.at(fp + 1 + $a);
                if !self.is(p, obj::PAIR) {
                    sync!();
                    let who = if $cdr { "cdr" } else { "car" };
                    return Err(self.type_error(who, "a pair", p));
                }
                let v = self.heap.get(p, $cdr as usize);
                self.stack.push(v);
            }};
        }
        // `-- slot[s]+k`.
        macro_rules! push_local_plus {
            ($s:expr, $k:expr) => {{
                let x = self.stack.at(fp + 1 + $s);
                match x
                    .is_fixnum()
                    .then(|| (x.bits() as i64).checked_add($k << 1))
                    .flatten()
                {
                    Some(r) => self.stack.push(Value::from_bits(r as u64)),
                    None => {
                        self.stack.push(x);
                        self.stack.push(Value::fix($k));
                        arith_slow!(crate::num::ArithOp::Add);
                    }
                }
            }};
        }
        // `-- slot[a]+k` for the small constant k in operand b.
        macro_rules! push_local_add_imm {
            ($w:expr, $a:expr) => {
                push_local_plus!($a, operand_b($w) as i32 as i64)
            };
        }
        // Push the running closure (a procedure naming itself).
        macro_rules! push_self {
            () => {{
                let clo = self.stack.at(fp);
                self.stack.push(clo);
            }};
        }

        // `CallSelfGlobal` of `$a` arguments, operand b of `$w` naming the
        // global and the slot count. The caller has counted the call first
        // (`count_call!` runs the instruction again after a safepoint, so
        // it must come before anything the instruction pushes).
        macro_rules! call_self_global {
            ($w:expr, $a:expr) => {{
                // The running closure is below the arguments; the
                // global may have been redefined since.
                let (k, nslots) = self_global_operands($w);
                let f_idx = self.stack.len() - $a - 1;
                let sym = self.heap.get(consts, k);
                // Still the running closure, so certainly bound.
                if self.heap.get(sym, 1) == self.stack.at(f_idx) && self.frame_room() {
                    // Same code, same constants: only the frame is new.
                    enter_frame!(f_idx);
                    clear_slots!($a, nslots);
                    ip = code_base;
                    continue;
                }
                self.stack.set(f_idx, global_value!(sym));
                slow_call!($a, false);
            }};
        }

        reload!();
        loop {
            let w = self.heap.word_at(ip);
            ip += 1;
            let a = operand_a(w) as usize;
            let op = w as u8;
            match op {
                byte::Const => {
                    let v = self.heap.get(consts, a);
                    self.stack.push(v);
                }
                byte::Fix => self.stack.push(Value::fix(operand_b(w) as i32 as i64)),
                byte::Local => {
                    let v = self.stack.at(fp + 1 + a);
                    self.stack.push(v);
                }
                byte::Local2 => {
                    let x = self.stack.at(fp + 1 + a);
                    let y = self.stack.at(fp + 1 + operand_b(w) as usize);
                    self.stack.push(x);
                    self.stack.push(y);
                }
                byte::SetLocal => {
                    let v = pop!();
                    self.stack.set(fp + 1 + a, v);
                }
                byte::LocalBox => {
                    let b = self.stack.at(fp + 1 + a);
                    let v = self.heap.get(b, 0);
                    if v == Value::UNDEFINED {
                        sync!();
                        return Err(self.unassigned_error(consts, w));
                    }
                    self.stack.push(v);
                }
                byte::SetLocalBox => {
                    let v = pop!();
                    let b = self.stack.at(fp + 1 + a);
                    self.heap.set(b, 0, v);
                }
                byte::BoxLocal => {
                    sync!();
                    let v = self.stack.at(fp + 1 + a);
                    let b = tri!(self.make_box(v));
                    reload_consts!();
                    self.stack.set(fp + 1 + a, b);
                }
                byte::MakeBox => {
                    sync!();
                    let v = pop!();
                    let b = tri!(self.make_box(v));
                    reload_consts!();
                    self.stack.push(b);
                }
                byte::Free => {
                    let clo = self.stack.at(fp);
                    let v = self.heap.get(clo, 1 + a);
                    self.stack.push(v);
                }
                byte::FreeBox => {
                    let clo = self.stack.at(fp);
                    let v = self.heap.get(self.heap.get(clo, 1 + a), 0);
                    if v == Value::UNDEFINED {
                        sync!();
                        return Err(self.unassigned_error(consts, w));
                    }
                    self.stack.push(v);
                }
                byte::SetFreeBox => {
                    let v = pop!();
                    let clo = self.stack.at(fp);
                    let b = self.heap.get(clo, 1 + a);
                    self.heap.set(b, 0, v);
                }
                byte::Global => {
                    let v = global_value!(self.heap.get(consts, a));
                    self.stack.push(v);
                }
                byte::SetGlobal => {
                    let sym = self.heap.get(consts, a);
                    if self.heap.get(sym, 1) == Value::UNDEFINED {
                        sync!();
                        let name = self.symbol_name(sym);
                        let name = crate::compile::library::display_name(&name);
                        return Err(self.error(format!("set!: unbound variable `{name}`"), &[sym]));
                    }
                    let v = pop!();
                    self.heap.set(sym, 1, v);
                }
                byte::DefGlobal => {
                    let sym = self.heap.get(consts, a);
                    let v = pop!();
                    self.heap.set(sym, 1, v);
                    self.stack.push(Value::UNSPECIFIED);
                }
                byte::Pop => {
                    self.stack.pop();
                }
                byte::Jump => jump!(w),
                byte::JumpIfFalse => {
                    if pop!().is_false() {
                        jump!(w);
                    }
                }
                byte::JumpIfTrue => {
                    if pop!().is_true() {
                        jump!(w);
                    }
                }
                byte::Closure => {
                    let nfree = operand_b(w) as usize;
                    sync!();
                    let clo = tri!(self.alloc(CLOSURE, 1 + nfree));
                    reload_consts!();
                    let code = self.heap.get(consts, a);
                    self.heap.set(clo, 0, code);
                    let base = self.stack.len() - nfree;
                    for i in 0..nfree {
                        let v = self.stack.at(base + i);
                        self.heap.set(clo, 1 + i, v);
                    }
                    self.stack.truncate(base);
                    self.stack.push(clo);
                }
                byte::Call | byte::TailCall => {
                    count_call!();
                    let tail = op == byte::TailCall;
                    // Fast path: a closure with fixed arity, called with the
                    // right number of arguments, below the frame limit.
                    let f_idx = self.stack.len() - a - 1;
                    let f = self.stack.at(f_idx);
                    if f.is_ref() && self.heap.tag(f) == CLOSURE {
                        let code = self.heap.get(f, 0);
                        // One word says the arity and the frame size.
                        let (nargs, nslots) = code::entry_fields(
                            self.heap.get(code, code::ENTRY).as_fixnum_unchecked(),
                        );
                        if nargs == a as i64 && (tail || self.frame_room()) {
                            if tail {
                                // A few words: a loop beats a call to memmove.
                                for i in 0..=a {
                                    self.stack.set(fp + i, self.stack.at(f_idx + i));
                                }
                                self.stack.truncate(fp + 1 + a);
                            } else {
                                enter_frame!(f_idx);
                            }
                            clear_slots!(a, nslots);
                            code_base =
                                (self.heap.get(code, code::BYTECODE).offset() / 8) as usize + 2;
                            consts = self.heap.get(code, code::CONSTS);
                            ip = code_base;
                            continue;
                        }
                    }
                    // Fast path: a built-in primitive that returns a value
                    // (not one that transfers control), arity in range.
                    if f.is_ref() && self.heap.tag(f) == PRIMITIVE {
                        let id = self.heap.get(f, 0).as_fixnum_unchecked();
                        if let Some(def) = usize::try_from(id).ok().and_then(|i| PRIMITIVES.get(i))
                            && let PrimFn::Simple(func) = def.f
                            && def.accepts(a)
                        {
                            sync!();
                            let epoch = self.heap.epoch();
                            // `call_simple` written out: through the
                            // helper the whole loop compiles worse
                            // (tak 0.31 → 0.40 s).
                            let v = match func(self, f_idx + 1, a) {
                                Ok(v) => v,
                                Err(Exn::Block { wait, .. }) => {
                                    return Err(Exn::Block {
                                        wait,
                                        argc: a,
                                        tail,
                                    });
                                }
                                Err(Exn::Redirect { to, .. }) => {
                                    return Err(Exn::Redirect { to, argc: a, tail });
                                }
                                Err(e) => return Err(e),
                            };
                            self.stack.truncate(f_idx);
                            if self.heap.epoch() != epoch {
                                reload_consts!();
                            }
                            if tail {
                                return_value!(v);
                            } else {
                                self.stack.push(v);
                            }
                            continue;
                        }
                        if id < 0 && !tail {
                            // A host function: straight to it.
                            sync!();
                            let epoch = self.heap.epoch();
                            match crate::native::call_native(self, f, f_idx, a) {
                                Ok(v) => {
                                    if self.heap.epoch() != epoch {
                                        reload_consts!();
                                    }
                                    // A call for effect: its `Pop` done here.
                                    if self.heap.word_at(ip) as u8 == byte::Pop {
                                        ip += 1;
                                    } else {
                                        self.stack.push(v);
                                    }
                                }
                                Err(Exn::Abort(Abort::Escape)) if self.escape_is_here() => {
                                    tri!(self.resume_escape());
                                    reload!();
                                }
                                Err(e) => return Err(e),
                            }
                            continue;
                        }
                    }
                    slow_call!(a, tail);
                }
                byte::CallSelfGlobal => {
                    count_call!();
                    call_self_global!(w, a);
                }
                byte::CallSelfGlobalLocal => {
                    count_call!();
                    push_self!();
                    let v = self.stack.at(fp + 1 + a);
                    self.stack.push(v);
                    call_self_global!(w, 1);
                }
                byte::CallSelfGlobalLocalAddImm => {
                    count_call!();
                    push_self!();
                    let (s, k) = slot_and_imm(w);
                    push_local_plus!(s, k);
                    call_self_global!(w, 1);
                }
                byte::CallSelfGlobalCarLocal => {
                    count_call!();
                    push_self!();
                    push_field_local!(a, false);
                    call_self_global!(w, 1);
                }
                byte::CallSelfGlobalCdrLocal => {
                    count_call!();
                    push_self!();
                    push_field_local!(a, true);
                    call_self_global!(w, 1);
                }
                byte::TailSelfGlobal => {
                    count_call!();
                    let (k, nslots) = self_global_operands(w);
                    let sym = self.heap.get(consts, k);
                    if self.heap.get(sym, 1) == self.stack.at(fp) {
                        restart_self!(a, nslots);
                    }
                    let g = global_value!(sym);
                    let from = self.stack.len() - a;
                    self.stack.insert(from, g);
                    slow_call!(a, true);
                }
                byte::SelfRef => push_self!(),
                byte::TailSelf => {
                    count_call!();
                    // The arguments are all that is above the slots.
                    restart_self!(a, operand_b(w) as usize);
                }
                byte::Return => {
                    let v = pop!();
                    return_value!(v);
                }
                byte::ReturnLocal => {
                    let v = self.stack.at(fp + 1 + a);
                    return_value!(v);
                }
                byte::Add => add_top2!(),
                byte::AddReturn => {
                    add_top2!();
                    let v = pop!();
                    return_value!(v);
                }
                byte::Sub => {
                    let (x, y) = top2!();
                    match (x.is_fixnum() && y.is_fixnum())
                        .then(|| (x.bits() as i64).checked_sub(y.bits() as i64))
                        .flatten()
                    {
                        Some(r) => replace2!(Value::from_bits(r as u64)),
                        None => arith_slow!(crate::num::ArithOp::Sub),
                    }
                }
                byte::Mul => {
                    let (x, y) = top2!();
                    match (x.is_fixnum() && y.is_fixnum())
                        .then(|| x.as_fixnum_unchecked().checked_mul(y.bits() as i64))
                        .flatten()
                    {
                        Some(r) => replace2!(Value::from_bits(r as u64)),
                        None => arith_slow!(crate::num::ArithOp::Mul),
                    }
                }
                byte::AddImm => {
                    let n = self.stack.len();
                    let x = self.stack.at(n - 1);
                    let k = (operand_b(w) as i32 as i64) << 1;
                    match x
                        .is_fixnum()
                        .then(|| (x.bits() as i64).checked_add(k))
                        .flatten()
                    {
                        Some(r) => self.stack.set(n - 1, Value::from_bits(r as u64)),
                        None => {
                            self.stack.push(Value::fix(operand_b(w) as i32 as i64));
                            arith_slow!(crate::num::ArithOp::Add);
                        }
                    }
                }
                byte::Lt => compare!(<, crate::num::ArithOp::Lt),
                byte::Gt => compare!(>, crate::num::ArithOp::Gt),
                byte::Le => compare!(<=, crate::num::ArithOp::Le),
                byte::Ge => compare!(>=, crate::num::ArithOp::Ge),
                byte::NumEq => compare!(==, crate::num::ArithOp::NumEq),
                byte::Eq => {
                    let (x, y) = top2!();
                    replace2!(Value::bool(x == y));
                }
                byte::Eqv => {
                    let (x, y) = top2!();
                    let r = crate::prim::eqv(self, x, y);
                    replace2!(Value::bool(r));
                }
                byte::Cons => {
                    let p = cons_top2!();
                    replace2!(p);
                }
                byte::ConsLocal => {
                    let v = self.stack.at(fp + 1 + a);
                    self.stack.push(v);
                    let p = cons_top2!();
                    replace2!(p);
                }
                byte::ConsReturn => {
                    let p = cons_top2!();
                    return_value!(p);
                }
                byte::Car | byte::Cdr => {
                    let n = self.stack.len();
                    let p = self.stack.at(n - 1);
                    if !self.is(p, obj::PAIR) {
                        sync!();
                        let who = if op == byte::Car { "car" } else { "cdr" };
                        return Err(self.type_error(who, "a pair", p));
                    }
                    self.stack
                        .set(n - 1, self.heap.get(p, (op == byte::Cdr) as usize));
                }
                byte::SetCar | byte::SetCdr => {
                    let (p, v) = top2!();
                    if !self.is(p, obj::PAIR) {
                        sync!();
                        let who = if op == byte::SetCar {
                            "set-car!"
                        } else {
                            "set-cdr!"
                        };
                        return Err(self.type_error(who, "a pair", p));
                    }
                    self.heap.set(p, (op == byte::SetCdr) as usize, v);
                    replace2!(Value::UNSPECIFIED);
                }
                byte::NullP => {
                    let n = self.stack.len();
                    self.stack
                        .set(n - 1, Value::bool(self.stack.at(n - 1).is_nil()));
                }
                byte::PairP => {
                    let n = self.stack.len();
                    self.stack
                        .set(n - 1, Value::bool(self.is(self.stack.at(n - 1), obj::PAIR)));
                }
                byte::Not => {
                    let n = self.stack.len();
                    self.stack
                        .set(n - 1, Value::bool(self.stack.at(n - 1).is_false()));
                }
                byte::ZeroP => {
                    let n = self.stack.len();
                    let x = self.stack.at(n - 1);
                    if x.is_fixnum() {
                        self.stack.set(n - 1, Value::bool(x.bits() == 0));
                    } else {
                        self.stack.push(Value::fix(0));
                        arith_slow!(crate::num::ArithOp::NumEq);
                    }
                }
                byte::VectorRef => {
                    let (v, i) = top2!();
                    if !self.is(v, obj::VECTOR) {
                        sync!();
                        return Err(self.type_error("vector-ref", "a vector", v));
                    }
                    match i
                        .as_fixnum()
                        .filter(|&k| k >= 0 && (k as usize) < self.heap.len(v))
                    {
                        Some(k) => replace2!(self.heap.get(v, k as usize)),
                        None => {
                            sync!();
                            return Err(self.index_error("vector-ref", v, i));
                        }
                    }
                }
                byte::VectorSet => {
                    let n = self.stack.len();
                    let (v, i, x) = (
                        self.stack.at(n - 3),
                        self.stack.at(n - 2),
                        self.stack.at(n - 1),
                    );
                    if !self.is(v, obj::VECTOR) {
                        sync!();
                        return Err(self.type_error("vector-set!", "a vector", v));
                    }
                    if self.heap.is_pure(v) {
                        sync!();
                        return Err(self.error("vector-set!: vector is immutable", &[v]));
                    }
                    match i
                        .as_fixnum()
                        .filter(|&k| k >= 0 && (k as usize) < self.heap.len(v))
                    {
                        Some(k) => self.heap.set(v, k as usize, x),
                        None => {
                            sync!();
                            return Err(self.index_error("vector-set!", v, i));
                        }
                    }
                    self.stack.truncate(n - 3);
                    self.stack.push(Value::UNSPECIFIED);
                }
                byte::JumpUnlessLt => jump_unless_compare!(w, <, crate::num::ArithOp::Lt),
                byte::JumpUnlessGt => jump_unless_compare!(w, >, crate::num::ArithOp::Gt),
                byte::JumpUnlessLe => jump_unless_compare!(w, <=, crate::num::ArithOp::Le),
                byte::JumpUnlessGe => jump_unless_compare!(w, >=, crate::num::ArithOp::Ge),
                byte::JumpUnlessNumEq => jump_unless_compare!(w, ==, crate::num::ArithOp::NumEq),
                byte::JumpUnlessEq => {
                    let (x, y) = top2!();
                    let n = self.stack.len();
                    self.stack.truncate(n - 2);
                    if x != y {
                        jump!(w);
                    }
                }
                byte::JumpUnlessLtImm => jump_unless_compare_imm!(w, <, crate::num::ArithOp::Lt),
                byte::JumpUnlessGtImm => jump_unless_compare_imm!(w, >, crate::num::ArithOp::Gt),
                byte::JumpUnlessLeImm => jump_unless_compare_imm!(w, <=, crate::num::ArithOp::Le),
                byte::JumpUnlessGeImm => jump_unless_compare_imm!(w, >=, crate::num::ArithOp::Ge),
                byte::JumpUnlessNumEqImm => {
                    jump_unless_compare_imm!(w, ==, crate::num::ArithOp::NumEq)
                }
                byte::Imm => self.stack.push(Value::from_bits(operand_b(w) as u64)),
                byte::Imm2 => {
                    self.stack.push(Value::from_bits(a as u64));
                    self.stack.push(Value::from_bits(operand_b(w) as u64));
                }
                byte::LocalAddImm => push_local_add_imm!(w, a),
                byte::SelfLocalAddImm => {
                    push_self!();
                    push_local_add_imm!(w, a);
                }
                byte::CarLocal => push_field_local!(a, false),
                byte::CdrLocal => push_field_local!(a, true),
                byte::SelfCarLocal => {
                    push_self!();
                    push_field_local!(a, false);
                }
                byte::SelfCdrLocal => {
                    push_self!();
                    push_field_local!(a, true);
                }
                byte::LocalFree => {
                    let x = self.stack.at(fp + 1 + a);
                    let clo = self.stack.at(fp);
                    let y = self.heap.get(clo, 1 + operand_b(w) as usize);
                    self.stack.push(x);
                    self.stack.push(y);
                }
                // The `map` loop of `vm/assembled.rs` (its frame layout
                // is there).
                byte::MapStart => {
                    let c = self.capture_count();
                    let s = fp + 1;
                    self.stack.set(s + map::FIRST, Value::NIL);
                    self.stack.set(s + map::LAST, Value::NIL);
                    self.stack.set(s + map::CAPTURES, c);
                    self.stack.set(s + map::REVERSED, Value::NIL);
                }
                byte::MapNext => {
                    let l = self.stack.at(fp + 1 + map::LIST);
                    if self.is(l, obj::PAIR) {
                        let f = self.stack.at(fp + 1 + map::PROC);
                        let x = self.heap.get(l, 0);
                        self.stack.push(f);
                        self.stack.push(x);
                    } else {
                        jump!(w);
                    }
                }
                byte::MapCollect => {
                    jump!(w);
                    if a == 0 {
                        // The list is built forward, its last pair's cdr
                        // set to each new pair, while no continuation was
                        // captured since the loop began. After one was,
                        // re-entering it must not change a list already
                        // returned (R7RS 6.10): the pairs built so far
                        // stay as they are and the rest is consed up in
                        // reverse, to be copied in order at the end.
                        let s = fp + 1;
                        let forward = self.stack.at(s + map::CAPTURES) == self.capture_count();
                        let tail = if forward {
                            Value::NIL
                        } else {
                            self.stack.at(s + map::REVERSED)
                        };
                        self.stack.push(tail);
                        let p = cons_top2!();
                        replace2!(p);
                        let p = pop!();
                        if forward {
                            let last = self.stack.at(s + map::LAST);
                            if self.is(last, obj::PAIR) {
                                self.heap.set(last, 1, p);
                            } else {
                                self.stack.set(s + map::FIRST, p);
                            }
                            self.stack.set(s + map::LAST, p);
                        } else {
                            self.stack.set(s + map::CAPTURES, Value::FALSE);
                            self.stack.set(s + map::REVERSED, p);
                        }
                    } else {
                        self.stack.pop();
                    }
                    let l = self.stack.at(fp + 1 + map::LIST);
                    self.stack.set(
                        fp + 1 + map::LIST,
                        if self.is(l, obj::PAIR) {
                            self.heap.get(l, 1)
                        } else {
                            Value::NIL
                        },
                    );
                }
                byte::MapResult => {
                    let v = if self.stack.at(fp + 1 + map::CAPTURES).is_fixnum() {
                        self.stack.at(fp + 1 + map::FIRST)
                    } else {
                        sync!();
                        let v = tri!(self.map_results_copied(fp));
                        reload_consts!();
                        v
                    };
                    return_value!(v);
                }
                byte::LocalCarLocal => {
                    let v = self.stack.at(fp + 1 + a);
                    self.stack.push(v);
                    push_field_local!(operand_b(w) as usize, false);
                }
                byte::SelfLocal => {
                    push_self!();
                    let v = self.stack.at(fp + 1 + a);
                    self.stack.push(v);
                }
                byte::JumpUnlessNullLocal => {
                    if !self.stack.at(fp + 1 + a).is_nil() {
                        jump!(w);
                    }
                }
                byte::JumpUnlessPairLocal => {
                    if !self.is(self.stack.at(fp + 1 + a), obj::PAIR) {
                        jump!(w);
                    }
                }
                byte::JumpUnlessLtImmLocal => jump_unless_local_imm!(w, <, crate::num::ArithOp::Lt),
                byte::JumpUnlessGtImmLocal => jump_unless_local_imm!(w, >, crate::num::ArithOp::Gt),
                byte::JumpUnlessLeImmLocal => {
                    jump_unless_local_imm!(w, <=, crate::num::ArithOp::Le)
                }
                byte::JumpUnlessGeImmLocal => {
                    jump_unless_local_imm!(w, >=, crate::num::ArithOp::Ge)
                }
                byte::JumpUnlessNumEqImmLocal => {
                    jump_unless_local_imm!(w, ==, crate::num::ArithOp::NumEq)
                }
                byte::JumpUnlessLtLocals => jump_unless_locals!(w, <, crate::num::ArithOp::Lt),
                byte::JumpUnlessGtLocals => jump_unless_locals!(w, >, crate::num::ArithOp::Gt),
                byte::JumpUnlessLeLocals => jump_unless_locals!(w, <=, crate::num::ArithOp::Le),
                byte::JumpUnlessGeLocals => jump_unless_locals!(w, >=, crate::num::ArithOp::Ge),
                byte::JumpUnlessNumEqLocals => {
                    jump_unless_locals!(w, ==, crate::num::ArithOp::NumEq)
                }
                byte::JumpIfFalseLocal => {
                    if self.stack.at(fp + 1 + a).is_false() {
                        jump!(w);
                    }
                }
                byte::JumpIfFalseCarLocal => {
                    let p = self.stack.at(fp + 1 + a);
                    if !self.is(p, obj::PAIR) {
                        sync!();
                        return Err(self.type_error("car", "a pair", p));
                    }
                    if self.heap.get(p, 0).is_false() {
                        jump!(w);
                    }
                }
                byte::ReturnFix => return_value!(Value::fix(operand_b(w) as i32 as i64)),
                byte::ReturnImm => return_value!(Value::from_bits(operand_b(w) as u64)),
                byte::JumpUnlessNull => {
                    if !pop!().is_nil() {
                        jump!(w);
                    }
                }
                byte::JumpUnlessPair => {
                    let v = pop!();
                    if !self.is(v, obj::PAIR) {
                        jump!(w);
                    }
                }
                _ => {
                    sync!();
                    return Err(self.error("corrupt bytecode", &[]));
                }
            }
        }
    }

    /// The results of a `map` loop that went on after a continuation was
    /// captured, as a new list: the pairs built forward before, then the
    /// reversed ones.
    fn map_results_copied(&mut self, fp: usize) -> VmResult<Value> {
        let base = self.stack.len();
        for slot in [map::FIRST, map::REVERSED] {
            let from = self.stack.len();
            let mut l = self.stack[fp + 1 + slot];
            while self.is(l, obj::PAIR) {
                self.stack.push(self.heap.get(l, 0));
                l = self.heap.get(l, 1);
            }
            if slot == map::REVERSED {
                self.stack[from..].reverse();
            }
        }
        self.list_from_stack(base)
    }

    fn index_error(&mut self, who: &str, v: Value, i: Value) -> Exn {
        match i.as_fixnum() {
            Some(k) => {
                let n = self.heap.len(v);
                self.error(
                    format!("{who}: index {k} out of range for a vector of length {n}"),
                    &[],
                )
            }
            None => self.type_error(who, "an exact integer index", i),
        }
    }

    fn unbound_error(&mut self, sym: Value, v: Value) -> Exn {
        let name = self.symbol_name(sym);
        let name = crate::compile::library::display_name(&name);
        if v == Value::UNDEFINED {
            self.error(format!("unbound variable `{name}`"), &[])
        } else {
            self.error(format!("syntax keyword `{name}` used as a variable"), &[])
        }
    }

    fn unassigned_error(&mut self, consts: Value, w: u64) -> Exn {
        let _ = (consts, w);
        self.error(
            "variable used before it was assigned (letrec restriction)",
            &[],
        )
    }
}

/// Operand b of `CallSelfGlobal`/`TailSelfGlobal`: the global's constant
/// index (low 16 bits) and the slot count (high 16).
#[inline(always)]
fn self_global_operands(w: u64) -> (usize, usize) {
    let b = operand_b(w);
    ((b & 0xffff) as usize, (b >> 16) as usize)
}

/// `n` with its thousands separated by commas: 9,999,960.
pub fn group_digits(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
