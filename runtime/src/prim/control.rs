//! Control: `apply`, continuations, values, errors, the dynamic-wind and
//! handler registers, `eval`, `exit`, and the collector's entry points.

use imp_gc::{CollectionKind, Value};

use super::{Control, MANY, PrimDef, PrimFn, arg, def, opt_arg};
use crate::obj::{self, error};
use crate::vm::{Abort, Exn, Grant, Reg, Vm, VmResult};

const fn ctl(name: &'static str, min: u16, max: u16, c: Control) -> PrimDef {
    PrimDef {
        name,
        min,
        max,
        f: PrimFn::Control(c),
    }
}

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    ctl("apply", 2, MANY, Control::Apply),
    ctl("%call/cc", 1, 1, Control::CallCC),
    ctl("%apply-values", 2, 2, Control::ApplyValues),
    ctl("eval", 1, 2, Control::Eval),
    def("values", 0, MANY, values),
    def("procedure?", 1, 1, procedure_p),
    def("%winders", 0, 0, winders),
    def("%set-winders!", 1, 1, set_winders),
    def("%handlers", 0, 0, handlers),
    def("%set-handlers!", 1, 1, set_handlers),
    def("%uncaught", 1, 1, uncaught),
    def("error", 0, MANY, error_prim),
    def("error-object?", 1, 1, error_object_p),
    def("error-object-message", 1, 1, error_object_message),
    def("error-object-irritants", 1, 1, error_object_irritants),
    def("%error-object-kind", 1, 1, error_object_kind),
    def("%error-object-location", 1, 1, error_object_location),
    def("%exit", 0, 1, exit),
    def("%limit-abort", 1, 1, limit_abort),
    def("emergency-exit", 0, 1, exit),
    def("gc", 0, 0, gc),
    def("gc-stats", 0, 0, gc_stats),
    def("command-line", 0, 0, command_line),
    def("get-environment-variable", 1, 1, get_environment_variable),
    def("get-environment-variables", 0, 0, get_environment_variables),
    def("%make-parameter", 1, 2, make_parameter),
    def("%parameter-converter", 1, 1, parameter_converter),
    def("%make-promise", 2, 2, make_promise),
    def("promise?", 1, 1, promise_p),
    def("%promise-done?", 1, 1, promise_done),
    def("%promise-value", 1, 1, promise_value),
    def("%promise-update!", 3, 3, promise_update),
    def("current-jiffy", 0, 0, current_jiffy),
    def("jiffies-per-second", 0, 0, jiffies_per_second),
    def("current-second", 0, 0, current_second),
    def("interaction-environment", 0, 0, interaction_environment),
    def("environment", 0, MANY, environment),
    def("scheme-report-environment", 1, 1, scheme_report_environment),
    def("null-environment", 1, 1, null_environment),
    def("%macro?", 1, 1, macro_p),
    def("void", 0, MANY, void),
    def("%captures", 0, 0, captures),
];

fn values(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    if argc == 1 {
        return Ok(arg(vm, base, 0));
    }
    let v = vm.alloc(obj::VALUES, argc)?;
    for i in 0..argc {
        let x = arg(vm, base, i);
        vm.heap.set(v, i, x);
    }
    Ok(v)
}

fn procedure_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is_procedure(arg(vm, base, 0))))
}

fn winders(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Winders))
}

fn set_winders(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    vm.set_reg(Reg::Winders, arg(vm, base, 0));
    Ok(Value::UNSPECIFIED)
}

fn handlers(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Handlers))
}

fn set_handlers(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    vm.set_reg(Reg::Handlers, arg(vm, base, 0));
    Ok(Value::UNSPECIFIED)
}

/// No handler took the condition: unwind to the Rust caller.
fn uncaught(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = arg(vm, base, 0);
    vm.set_reg(Reg::LastError, c);
    if !vm.is(c, obj::ERROR) {
        // Remember where a non-error object was raised from.
        let bt = vm.backtrace();
        vm.last_backtrace = bt;
    } else {
        vm.last_backtrace.clear();
    }
    Err(Exn::Abort(Abort::Uncaught))
}

fn error_prim(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let (msg, rest) = match argc {
        0 => (String::new(), 0),
        _ => {
            let m = arg(vm, base, 0);
            if vm.is(m, obj::STRING) {
                (vm.string_text(m), 1)
            } else if vm.is(m, obj::SYMBOL) {
                (vm.symbol_name(m), 1)
            } else {
                (crate::printer::write_string(vm, m, false), 1)
            }
        }
    };
    let irritants: Vec<Value> = (rest..argc).map(|i| arg(vm, base, i)).collect();
    Err(vm.error(msg, &irritants))
}

fn error_field(vm: &mut Vm, base: usize, field: usize, who: &str) -> VmResult<Value> {
    let e = vm.typed_arg(who, base, 0, obj::ERROR, "an error object")?;
    Ok(vm.heap.get(e, field))
}

fn error_object_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::ERROR)))
}

fn error_object_message(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    error_field(vm, base, error::MESSAGE, "error-object-message")
}

fn error_object_irritants(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    error_field(vm, base, error::IRRITANTS, "error-object-irritants")
}

fn error_object_kind(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    error_field(vm, base, error::KIND, "%error-object-kind")
}

fn error_object_location(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    error_field(vm, base, error::LOCATION, "%error-object-location")
}

fn exit(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let code = match opt_arg(vm, base, argc, 0) {
        None | Some(Value::TRUE) => 0,
        Some(Value::FALSE) => 1,
        Some(v) => match v.as_fixnum() {
            Some(n) => (n & 0xff) as i32,
            None => 1,
        },
    };
    Err(Exn::Abort(Abort::Exit(code)))
}

/// `(%limit-abort message)`: end the host's call for a limit that tripped
/// (after `%limit-unwind` ran the after-thunks). Only while a limit is
/// being carried out; otherwise it is an error.
fn limit_abort(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    if vm.limits.unwinding.is_none() {
        return Err(vm.error("%limit-abort: no limit has tripped", &[]));
    }
    let m = arg(vm, base, 0);
    let text = if vm.is(m, crate::obj::STRING) {
        vm.string_text(m)
    } else {
        "limit".to_string()
    };
    Err(Exn::Abort(Abort::Limit(text)))
}

fn gc(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    vm.collect(CollectionKind::Major)?;
    Ok(Value::UNSPECIFIED)
}

fn gc_stats(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let s = vm.heap.stats().clone();
    let fields: [(&str, i64); 9] = [
        ("minor-collections", s.minor_collections as i64),
        ("promotions-in-place", s.promotions as i64),
        ("major-collections", s.major_collections as i64),
        ("majors-in-place", s.majors_in_place as i64),
        ("bytes-allocated", s.bytes_allocated as i64),
        ("live-bytes", s.live_bytes as i64),
        ("heap-bytes", vm.heap.used_bytes() as i64),
        ("total-pause-us", s.total_pause.as_micros() as i64),
        ("max-pause-us", s.max_pause.as_micros() as i64),
    ];
    let base = vm.stack.len();
    for (name, n) in fields {
        let k = vm.intern(name)?;
        vm.stack.push(k);
        let v = vm.make_int(n as i128)?;
        let k = vm.stack.pop().unwrap_or(Value::NIL);
        let p = vm.cons(k, v)?;
        vm.stack.push(p);
    }
    vm.list_from_stack(base)
}

fn command_line(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::CommandLine))
}

/// `(get-environment-variable name)`: its value, or `#f` when unset (or
/// not text).
fn get_environment_variable(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let n = vm.typed_arg("get-environment-variable", base, 0, obj::STRING, "a string")?;
    vm.require("get-environment-variable", Grant::Environment)?;
    let name = vm.string_text(n);
    if name.is_empty() || name.contains(['=', '\0']) {
        return Ok(Value::FALSE);
    }
    match std::env::var(&name) {
        Ok(v) => vm.string(&v),
        Err(_) => Ok(Value::FALSE),
    }
}

/// `(get-environment-variables)`: an alist of every variable's name and
/// value (those that are text).
fn get_environment_variables(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    vm.require("get-environment-variables", Grant::Environment)?;
    let base = vm.stack.len();
    for (k, v) in std::env::vars() {
        let k = vm.string(&k)?;
        vm.stack.push(k);
        let v = vm.string(&v);
        let k = vm.stack.pop().unwrap_or(Value::FALSE);
        let e = vm.cons(k, v?)?;
        vm.stack.push(e);
    }
    vm.list_from_stack(base)
}

fn make_parameter(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let conv = opt_arg(vm, base, argc, 1).unwrap_or(Value::FALSE);
    let p = vm.alloc(obj::PARAMETER, 2)?;
    let v = arg(vm, base, 0);
    vm.heap.set(p, 0, v);
    vm.heap.set(p, 1, conv);
    Ok(p)
}

fn parameter_converter(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("parameterize", base, 0, obj::PARAMETER, "a parameter")?;
    Ok(vm.heap.get(p, 1))
}

fn make_promise(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.alloc(obj::PROMISE, 2)?;
    let (d, v) = (arg(vm, base, 0), arg(vm, base, 1));
    vm.heap.set(p, 0, d);
    vm.heap.set(p, 1, v);
    Ok(p)
}

fn promise_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::PROMISE)))
}

fn promise_done(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("force", base, 0, obj::PROMISE, "a promise")?;
    Ok(vm.heap.get(p, 0))
}

fn promise_value(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("force", base, 0, obj::PROMISE, "a promise")?;
    Ok(vm.heap.get(p, 1))
}

fn promise_update(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = vm.typed_arg("force", base, 0, obj::PROMISE, "a promise")?;
    let (d, v) = (arg(vm, base, 1), arg(vm, base, 2));
    vm.heap.set(p, 0, d);
    vm.heap.set(p, 1, v);
    Ok(Value::UNSPECIFIED)
}

fn current_jiffy(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let us = vm.started.elapsed().as_micros();
    vm.make_int(us as i128)
}

fn jiffies_per_second(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(1_000_000))
}

fn current_second(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    vm.flonum(t)
}

fn interaction_environment(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let e = vm.alloc(obj::ENVIRONMENT, 1)?;
    vm.heap.set(e, 0, Value::FALSE);
    Ok(e)
}

/// `(environment import-set ...)`: an environment holding what the import
/// sets give (loading the user libraries they name), for `eval`.
fn environment(vm: &mut Vm, base: usize, argc: usize) -> VmResult<Value> {
    let mark = vm.heap.root_mark();
    let r = (|| {
        let mut sets = Vec::new();
        for i in 0..argc {
            let v = arg(vm, base, i);
            sets.push(crate::compile::value_to_datum(vm, v, 0)?);
        }
        let mut x = crate::compile::expand::Expander::new(vm, None);
        for s in &sets {
            crate::compile::library::parse_import_set(&mut x, s)?;
        }
        Ok(())
    })();
    vm.heap.truncate_roots(mark);
    r?;
    let at = vm.stack.len();
    for i in 0..argc {
        vm.stack.push(arg(vm, base, i));
    }
    let l = vm.list_from_stack(at)?;
    environment_object(vm, l)
}

fn environment_object(vm: &mut Vm, spec: Value) -> VmResult<Value> {
    vm.stack.push(spec);
    let e = vm.alloc(obj::ENVIRONMENT, 1);
    let spec = vm.stack.pop().unwrap_or(Value::FALSE);
    let e = e?;
    vm.heap.set(e, 0, spec);
    Ok(e)
}

fn report_version(vm: &mut Vm, who: &str, base: usize) -> VmResult<()> {
    let v = arg(vm, base, 0);
    if v != Value::fix(5) {
        return Err(vm.error(
            format!("{who}: imp provides version 5 of the report's environments"),
            &[v],
        ));
    }
    Ok(())
}

/// `(scheme-report-environment 5)`: the bindings of `(scheme r5rs)`.
fn scheme_report_environment(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    report_version(vm, "scheme-report-environment", base)?;
    let at = vm.stack.len();
    let scheme = vm.intern("scheme")?;
    vm.stack.push(scheme);
    let r5rs = vm.intern("r5rs")?;
    vm.stack.push(r5rs);
    let name = vm.list_from_stack(at)?;
    let l = vm.cons(name, Value::NIL)?;
    environment_object(vm, l)
}

/// `(null-environment 5)`: the built-in syntactic keywords only.
fn null_environment(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    report_version(vm, "null-environment", base)?;
    environment_object(vm, Value::fix(0))
}

fn macro_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::MACRO)))
}

fn void(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::UNSPECIFIED)
}

/// `(%captures)`: how many continuations have been captured (modulo the
/// fixnum range); unchanged across a computation means none was.
fn captures(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.capture_count())
}
