//! The clocks and the local time zone under SRFI-19 (`time.scm` has the
//! rest): the real-time, monotonic, thread and process clocks to the
//! nanosecond, and the local offset from UTC at a given moment (from the
//! system's time zone database).

use imp_gc::Value;

use super::{PrimDef, arg, def};
use crate::vm::{Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%clock-time", 1, 1, clock_time),
    def("%local-offset", 1, 1, local_offset),
];

/// `(%clock-time kind)`: `(seconds . nanoseconds)` of clock `kind`: 0 real
/// time (since the epoch), 1 monotonic, 2 this thread's CPU time, 3 the
/// process's CPU time.
fn clock_time(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use nix::time::{ClockId, clock_gettime};
    let kind = arg(vm, base, 0).as_fixnum().unwrap_or(0);
    let (s, ns) = match kind {
        0 => {
            let d = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            (d.as_secs() as i64, i64::from(d.subsec_nanos()))
        }
        _ => {
            let id = match kind {
                1 => ClockId::CLOCK_MONOTONIC,
                2 => ClockId::CLOCK_THREAD_CPUTIME_ID,
                _ => ClockId::CLOCK_PROCESS_CPUTIME_ID,
            };
            let t = clock_gettime(id).map_err(|e| {
                vm.error(format!("current-time: the clock cannot be read: {e}"), &[])
            })?;
            (t.tv_sec(), t.tv_nsec())
        }
    };
    vm.cons(Value::fix(s), Value::fix(ns))
}

/// `(%local-offset seconds)`: the local time zone's offset from UTC, in
/// seconds east, at `seconds` after the epoch (UTC if the system names no
/// zone).
fn local_offset(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let Some(secs) = arg(vm, base, 0).as_fixnum() else {
        let v = arg(vm, base, 0);
        return Err(vm.type_error("%local-offset", "a fixnum", v));
    };
    let offset = jiff::Timestamp::from_second(secs)
        .map(|ts| jiff::tz::TimeZone::system().to_offset(ts).seconds())
        .unwrap_or(0);
    Ok(Value::fix(i64::from(offset)))
}
