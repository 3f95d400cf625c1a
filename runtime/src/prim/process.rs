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

/// `(%helper-diagnostics)`: messages helper threads left, as strings.
fn helper_diagnostics(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = vm.stack.len();
    for m in vm.os.take_diagnostics() {
        let s = vm.string(&m)?;
        vm.stack.push(s);
    }
    vm.list_from_stack(base)
}
