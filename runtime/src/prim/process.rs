//! Running other programs: `process-run`'s primitives. A child is waited
//! for by a helper thread (`crate::os`), so the waiting green thread
//! blocks alone.

use imp_gc::Value;

use crate::obj;
use crate::prim::{PrimDef, arg, def};
use crate::vm::{IoWait, Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%process-start", 2, 2, process_start),
    def("%process-wait", 1, 1, process_wait),
    def("%helper-diagnostics", 0, 0, helper_diagnostics),
    def("%process-spawn", 8, 8, process_spawn),
    def("%process-signal", 4, 4, process_signal),
    def("%process-wait-until", 3, 3, process_wait_until),
];

/// `(%process-start cmd args)`: run a program (stdio inherited) on a helper
/// that waits for it; returns the job number.
fn process_start(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    if vm.os.fenced {
        return Err(vm.error("process-run: not allowed while saving an image", &[]));
    }
    vm.require("process-run", crate::vm::Grant::Processes)?;
    vm.before_effect()?;
    let cmd = vm.typed_arg("process-run", base, 0, obj::STRING, "a program name string")?;
    let cmd = vm.string_text(cmd);
    let list = arg(vm, base, 1);
    let Some(items) = vm.list_to_vec(list) else {
        return Err(vm.type_error("process-run", "a list of argument strings", list));
    };
    let mut args = Vec::with_capacity(items.len());
    for a in items {
        if !vm.is(a, obj::STRING) {
            return Err(vm.type_error("process-run", "a string argument", a));
        }
        args.push(vm.string_text(a));
    }
    let _ = vm.out.flush();
    let job = vm.os.start_process(cmd, args);
    Ok(Value::fix(job as i64))
}

/// `(%process-wait job)`: the job's exit status, waiting for it to end.
fn process_wait(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let j = arg(vm, base, 0);
    let Some(job) = j.as_fixnum().filter(|&j| j >= 0) else {
        return Err(vm.type_error("process-run", "a job number", j));
    };
    match vm.take_job_result(job as u64) {
        Some(v) if v.is_fixnum() => Ok(v),
        Some(msg) => {
            let text = vm.string_text(msg);
            Err(vm.error_kind("file-error", format!("process-run: {text}"), &[]))
        }
        None => Err(vm.block_until(IoWait::Job(job as u64), None)),
    }
}

/// A list of strings argument, as Rust strings.
fn strings_arg(vm: &mut Vm, who: &str, v: Value, what: &str) -> VmResult<Vec<String>> {
    let Some(items) = vm.list_to_vec(v) else {
        return Err(vm.type_error(who, what, v));
    };
    let mut out = Vec::with_capacity(items.len());
    for a in items {
        if !vm.is(a, obj::STRING) {
            return Err(vm.type_error(who, what, a));
        }
        let t = vm.string_text(a);
        if t.contains('\0') {
            return Err(vm.error(format!("{who}: a string holds a NUL character"), &[a]));
        }
        out.push(t);
    }
    Ok(out)
}

/// `(%process-spawn program args env dir stdin stdout stderr binary?)`:
/// start a child. `env`: `#f` (the parent's) or an alist of strings;
/// `dir`: `#f` or a directory; each stream `inherit`, `pipe` or `null`
/// (standard error also `stdout`). Returns `#(pid job input output error)`
/// whose ports are `#f` unless piped (textual, or binary if `binary?`),
/// then the session (which `%process-wait-until` and `%process-signal`
/// are given back, to refuse a process of an image's earlier life).
fn process_spawn(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use crate::os::{Spawn, Stdio3};
    let who = "process-start";
    if vm.os.fenced {
        return Err(vm.error(format!("{who}: not allowed while saving an image"), &[]));
    }
    vm.require(who, crate::vm::Grant::Processes)?;
    let prog = vm.typed_arg(who, base, 0, obj::STRING, "a program name string")?;
    let program = vm.string_text(prog);
    let args = strings_arg(vm, who, arg(vm, base, 1), "a list of argument strings")?;
    let env_v = arg(vm, base, 2);
    let env = if env_v == Value::FALSE {
        None
    } else {
        let Some(pairs) = vm.list_to_vec(env_v) else {
            return Err(vm.type_error(who, "an alist of environment strings", env_v));
        };
        let mut env = Vec::with_capacity(pairs.len());
        for p in pairs {
            if !vm.is_pair(p) || !vm.is(vm.car(p), obj::STRING) || !vm.is(vm.cdr(p), obj::STRING) {
                return Err(vm.type_error(who, "a (name . value) pair of strings", p));
            }
            let k = vm.string_text(vm.car(p));
            let v = vm.string_text(vm.cdr(p));
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return Err(vm.error(format!("{who}: not an environment variable"), &[p]));
            }
            env.push((k, v));
        }
        Some(env)
    };
    let dir_v = arg(vm, base, 3);
    let dir = if dir_v == Value::FALSE {
        None
    } else if vm.is(dir_v, obj::STRING) {
        Some(vm.string_text(dir_v))
    } else {
        return Err(vm.type_error(who, "a directory name string or #f", dir_v));
    };
    let mut stdio = [Stdio3::Inherit; 3];
    for (i, slot) in stdio.iter_mut().enumerate() {
        let v = arg(vm, base, 4 + i);
        let name = if vm.is(v, obj::SYMBOL) {
            vm.symbol_name(v)
        } else {
            String::new()
        };
        *slot = match name.as_str() {
            "inherit" => Stdio3::Inherit,
            "pipe" => Stdio3::Pipe,
            "null" => Stdio3::Null,
            "stdout" if i == 2 => Stdio3::ToOutput,
            _ => {
                return Err(vm.type_error(
                    who,
                    "inherit, pipe or null (standard error also stdout)",
                    v,
                ));
            }
        };
    }
    let binary = arg(vm, base, 7).is_true();
    if let Some(d) = &dir {
        // Said here: the system's error for a missing directory would
        // seem to be about the program.
        match std::fs::metadata(d) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(vm.error_kind(
                    "file-error",
                    format!("{who}: cannot run `{program}` in `{d}`: Not a directory"),
                    &[dir_v],
                ));
            }
            Err(e) => {
                let reason = crate::os::io_error_text(&e);
                return Err(vm.error_kind(
                    "file-error",
                    format!("{who}: cannot run `{program}` in `{d}`: {reason}"),
                    &[dir_v],
                ));
            }
        }
    }
    vm.before_effect()?;
    let _ = vm.out.flush();
    let child = vm
        .os
        .spawn(Spawn {
            program: program.clone(),
            args,
            env,
            dir,
            stdio,
        })
        .map_err(|e| {
            let text = crate::os::io_error_text(&e);
            vm.error_kind(
                "file-error",
                format!("{who}: cannot run `{program}`: {text}"),
                &[prog],
            )
        })?;
    let b = vm.stack.len();
    vm.stack.push(Value::fix(child.pid as i64));
    vm.stack.push(Value::fix(child.job as i64));
    use crate::prim::io::kind;
    for (i, key) in child.pipes.iter().enumerate() {
        let port = match key {
            Some(k) => {
                let kd = match (i == 0, binary) {
                    (true, false) => kind::FD_OUT,
                    (true, true) => kind::FD_BIN_OUT,
                    (false, false) => kind::FD_IN,
                    (false, true) => kind::FD_BIN_IN,
                };
                crate::prim::io::fd_port(vm, kd, *k)?
            }
            None => Value::FALSE,
        };
        vm.stack.push(port);
    }
    vm.stack.push(Value::fix(vm.os.session));
    vm.object_from_stack(obj::VECTOR, b)
}

/// Refuse a process started by another process: an image's earlier life
/// (another session), or the parent of this forked one.
fn check_process(vm: &mut Vm, who: &str, job: u64, session: Value) -> VmResult<()> {
    if session != Value::fix(vm.os.session) {
        return Err(vm.error_kind(
            "file-error",
            format!(
                "{who}: stale handle from a previous session: this process was started by another process"
            ),
            &[],
        ));
    }
    if vm.os.is_inherited_job(job) {
        return Err(vm.error(
            format!("{who}: this process is a child of the parent process, not of this forked one"),
            &[],
        ));
    }
    Ok(())
}

/// `(%process-signal job pid signal session)`: signal a child not yet
/// reaped; `#f` if it has been.
fn process_signal(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "process-kill";
    let job = vm.index_arg(who, base, 0)? as u64;
    let pid = vm.index_arg(who, base, 1)? as i32;
    let sig = vm.index_arg(who, base, 2)? as i32;
    check_process(vm, who, job, arg(vm, base, 3))?;
    vm.before_effect()?;
    vm.os
        .signal_child(job, pid, sig)
        .map(Value::bool)
        .map_err(|m| vm.error(format!("{who}: {m}"), &[]))
}

/// `(%process-wait-until job deadline session)`: the job's status (an
/// exit code, or an alist with `signal`), waiting at most until
/// `deadline` (`#f`: no limit); `#f` if it passed first; `taken` if
/// another waiter took the status already.
fn process_wait_until(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "process-wait";
    let job = vm.index_arg(who, base, 0)? as u64;
    let deadline = arg(vm, base, 1).as_fixnum();
    check_process(vm, who, job, arg(vm, base, 2))?;
    match vm.take_job_result(job) {
        Some(msg) if vm.is(msg, obj::STRING) => {
            let text = vm.string_text(msg);
            Err(vm.error_kind("file-error", format!("{who}: {text}"), &[]))
        }
        Some(v) => Ok(v),
        None if !vm.os.job_pending(job) => vm.intern("taken"),
        None if deadline.is_some_and(|d| vm.now_us() >= d) => Ok(Value::FALSE),
        None => Err(vm.block_until(IoWait::Job(job), deadline)),
    }
}

/// `(%helper-diagnostics)`: messages helper threads left, as strings.
fn helper_diagnostics(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = vm.stack.len();
    for m in vm.os.take_diagnostics() {
        let s = vm.string(&m)?;
        vm.stack.push(s);
    }
    vm.list_from_stack(base)
}
