//! The primitives of threads, mutexes, condition variables and channels
//! (SRFI-18 and imp's channels): the atomic state changes the Scheme side
//! (`threads.scm`) builds waiting from. The scheduler they act on is
//! `crate::sched`.

use imp_gc::Value;

use crate::obj::{self, THREAD};
use crate::prim::{Control, PrimDef, PrimFn, arg, def};
use crate::sched::{channel, condvar, field, flag, mutex, state};
use crate::vm::{Reg, Vm, VmResult};

// ---- primitives -----------------------------------------------------------------------

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
    ctl("%yield", 0, 0, Control::Yield),
    ctl("%park", 1, 1, Control::Park),
    ctl("%end-thread", 0, 0, Control::EndThread),
    def("current-thread", 0, 0, current_thread),
    def("%initial-thread", 0, 0, initial_thread),
    def("thread?", 1, 1, thread_p),
    def("%make-thread", 2, 2, make_thread),
    def("thread-name", 1, 1, thread_name),
    def("thread-specific", 1, 1, thread_specific),
    def("thread-specific-set!", 2, 2, thread_specific_set),
    def("%thread-start!", 1, 1, thread_start),
    def("%thread-state", 1, 1, thread_state),
    def("%thread-waiting-for", 1, 1, thread_waiting_for),
    def("%thread-end-kind", 1, 1, thread_end_kind),
    def("%thread-result", 1, 1, thread_result),
    def("%thread-joiners", 1, 1, thread_joiners),
    def("%thread-fail!", 1, 1, thread_fail),
    def("%thread-begin-terminate!", 1, 1, thread_begin_terminate),
    def("%thread-kill!", 1, 1, thread_kill),
    def("%terminate-others!", 0, 0, terminate_others),
    def("%unwinding-count", 0, 0, unwinding_count),
    def("%kill-others!", 0, 0, kill_others),
    def("%thread-interrupt!", 2, 2, thread_interrupt),
    def("%take-interrupts!", 0, 0, take_interrupts),
    def("%thread-list", 0, 0, thread_list),
    def("%others-runnable?", 0, 0, others_runnable),
    def("%unpark!", 2, 2, unpark_prim),
    def("%enqueue-waiter!", 1, 1, enqueue_waiter),
    def("%cancel-wait!", 0, 0, cancel_wait),
    def("%now-us", 0, 0, now_us),
    def("%params", 0, 0, params),
    def("%set-params!", 1, 1, set_params),
    def("%make-mutex", 1, 1, make_mutex),
    def("mutex?", 1, 1, mutex_p),
    def("mutex-name", 1, 1, mutex_name),
    def("mutex-specific", 1, 1, mutex_specific),
    def("mutex-specific-set!", 2, 2, mutex_specific_set),
    def("%mutex-state", 1, 1, mutex_state),
    def("%mutex-acquire!", 2, 2, mutex_acquire),
    def("%mutex-release!", 1, 1, mutex_release_prim),
    def("%make-condition-variable", 1, 1, make_condvar),
    def("condition-variable?", 1, 1, condvar_p),
    def("condition-variable-name", 1, 1, condvar_name),
    def("condition-variable-specific", 1, 1, condvar_specific),
    def(
        "condition-variable-specific-set!",
        2,
        2,
        condvar_specific_set,
    ),
    def("condition-variable-signal!", 1, 1, condvar_signal),
    def("condition-variable-broadcast!", 1, 1, condvar_broadcast),
    def("%condvar-waiters", 1, 1, condvar_waiters),
    def("%make-channel", 1, 1, make_channel),
    def("channel?", 1, 1, channel_p),
    def("%channel-send!", 2, 2, channel_send),
    def("%channel-sent-taken?", 2, 2, channel_sent_taken),
    def("%channel-try-receive!", 1, 1, channel_try_receive),
    def("channel-close!", 1, 1, channel_close),
    def("channel-closed?", 1, 1, channel_closed),
    def("%channel-senders", 1, 1, channel_senders),
    def("%channel-receivers", 1, 1, channel_receivers),
];

fn thread_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, i, THREAD, "a thread")
}

fn current_thread(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Thread))
}

fn initial_thread(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Initial))
}

fn thread_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), THREAD)))
}

fn make_thread(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let thunk = arg(vm, base, 0);
    if !vm.is_procedure(thunk) {
        return Err(vm.type_error("make-thread", "a procedure", thunk));
    }
    vm.make_thread(thunk, arg(vm, base, 1))
}

fn thread_name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-name", base, 0)?;
    Ok(vm.tfield(t, field::NAME))
}

fn thread_specific(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-specific", base, 0)?;
    Ok(vm.tfield(t, field::SPECIFIC))
}

fn thread_specific_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-specific-set!", base, 0)?;
    vm.heap.set(t, field::SPECIFIC, arg(vm, base, 1));
    Ok(Value::UNSPECIFIED)
}

fn thread_start(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-start!", base, 0)?;
    if vm.tstate(t) != state::NEW {
        return Err(vm.error("thread-start!: thread already started", &[t]));
    }
    vm.set_tflag(t, flag::FRESH, true);
    vm.make_runnable(t)?;
    let t = arg(vm, base, 0);
    let all = vm.cons(t, vm.reg(Reg::Threads))?;
    vm.set_reg(Reg::Threads, all);
    if vm.sched.note_registered() {
        vm.prune_thread_registry()?;
    }
    Ok(arg(vm, base, 0))
}

fn thread_state(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-state", base, 0)?;
    let name = match vm.tstate(t) {
        state::NEW => "new",
        state::RUNNABLE => "runnable",
        state::PARKED => "blocked",
        _ => "terminated",
    };
    Ok(vm.sym(name))
}

/// `(%thread-waiting-for t)`: what a blocked thread waits for, in words,
/// or `#f` if it does not wait.
fn thread_waiting_for(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "%thread-waiting-for", base, 0)?;
    if vm.tstate(t) != state::PARKED {
        return Ok(Value::FALSE);
    }
    let w = vm.tfield(t, field::WAITING_ON);
    let deadline = vm.tfield(t, field::DEADLINE).as_fixnum();
    let mut what =
        if w.is_ref() && vm.is(w, obj::VECTOR) && vm.heap.len(w) == 3 && vm.heap.get(w, 2) == t {
            match (vm.heap.get(w, 0).as_fixnum(), vm.heap.get(w, 1).as_fixnum()) {
                (Some(0), Some(fd)) => format!("input on descriptor {fd}"),
                (Some(1), Some(fd)) => format!("room to write on descriptor {fd}"),
                (Some(2), _) => "a line of standard input".to_string(),
                (Some(3), _) => "a process or save to end".to_string(),
                (Some(4), _) => "an async host function to finish".to_string(),
                _ => "input or output".to_string(),
            }
        } else if vm.is_pair(w) {
            "a mutex, condition variable, channel or thread".to_string()
        } else if deadline.is_some() {
            "time to pass".to_string()
        } else {
            "something (parked)".to_string()
        };
    if let (Some(d), true) = (deadline, vm.is_pair(w) || w.is_ref()) {
        let left = (d - vm.now_us()).max(0) as f64 / 1e6;
        what.push_str(&format!(" (at most {left:.1} s more)"));
    } else if let Some(d) = deadline {
        let left = (d - vm.now_us()).max(0) as f64 / 1e6;
        what = format!("{left:.1} s to pass");
    }
    vm.string(&what)
}

fn thread_end_kind(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-join!", base, 0)?;
    let f = vm.tflags(t);
    let name = if f & flag::FAILED != 0 {
        "failed"
    } else if f & flag::TERMINATED != 0 {
        "terminated"
    } else {
        "normal"
    };
    Ok(vm.sym(name))
}

fn thread_result(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-join!", base, 0)?;
    Ok(vm.tfield(t, field::RESULT))
}

fn thread_joiners(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-join!", base, 0)?;
    Ok(vm.tfield(t, field::JOINERS))
}

/// `(%thread-fail! condition)`: the running thread ends by an uncaught raise.
fn thread_fail(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = vm.reg(Reg::Thread);
    if vm.tflags(t) & flag::TERMINATED == 0 {
        vm.heap.set(t, field::RESULT, arg(vm, base, 0));
        vm.set_tflag(t, flag::FAILED, true);
    }
    Ok(Value::UNSPECIFIED)
}

/// `(%thread-begin-terminate! t)`: mark a terminate request. Returns
/// `done` if `t` ended here and now (it never ran), `again` if a request
/// is already being carried out, else `unwind` (the caller must make `t`
/// unwind).
fn thread_begin_terminate(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-terminate!", base, 0)?;
    let st = vm.tstate(t);
    let f = vm.tflags(t);
    let answer = if st == state::TERMINATED {
        "done"
    } else if f & flag::TERMINATING != 0 {
        "again"
    } else {
        vm.set_tflag(t, flag::TERMINATING | flag::TERMINATED, true);
        vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
        if st == state::NEW || f & flag::FRESH != 0 {
            vm.end_thread(t)?;
            "done"
        } else {
            "unwind"
        }
    };
    Ok(vm.sym(answer))
}

/// `(%thread-kill! t)`: end `t` at once without running any of its code.
fn thread_kill(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "%thread-kill!", base, 0)?;
    if t == vm.reg(Reg::Thread) {
        return Err(vm.error("%thread-kill!: cannot kill the running thread", &[t]));
    }
    if vm.tstate(t) != state::TERMINATED {
        vm.set_tflag(t, flag::TERMINATED, true);
        vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
        vm.end_thread(t)?;
    }
    Ok(Value::UNSPECIFIED)
}

/// `(%terminate-others!)`: the start of a save child's terminate phase.
/// Every live thread but the running one and the initial one is ended
/// now if it has nothing to unwind (no `dynamic-wind` after-thunk, no
/// pending interrupt), else asked to unwind; those are counted in
/// `SchedState::unwinding`, and the running thread becomes the one their
/// ends wake (`Reg::TerminateWaiter`). One pass over the threads, with no
/// safepoint in it: no thread runs ordinary code once the phase begins.
fn terminate_others(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = push_live_threads(vm)?;
    vm.sched.begin_terminate_phase();
    let me = vm.reg(Reg::Thread);
    vm.set_reg(Reg::TerminateWaiter, me);
    let terminate = vm.global_value(vm.sym("%terminate-current!"));
    for i in base..vm.stack.len() {
        let t = vm.stack[i];
        if t == me || t == vm.reg(Reg::Initial) || vm.tstate(t) == state::TERMINATED {
            continue;
        }
        let f = vm.tflags(t);
        if f & flag::TERMINATING != 0 {
            // Already unwinding: wait for it like the others.
            vm.set_tflag(t, flag::UNWIND_COUNTED, true);
            vm.sched.count_unwinding();
            continue;
        }
        vm.set_tflag(t, flag::TERMINATING | flag::TERMINATED, true);
        vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
        let nothing_to_unwind = vm.tstate(t) == state::NEW
            || f & flag::FRESH != 0
            || (vm.tfield(t, field::WINDERS).is_nil() && vm.tfield(t, field::INTERRUPTS).is_nil());
        if nothing_to_unwind || !vm.is_procedure(terminate) {
            vm.end_thread(t)?;
        } else {
            vm.set_tflag(t, flag::UNWIND_COUNTED, true);
            vm.sched.count_unwinding();
            let terminate = vm.global_value(vm.sym("%terminate-current!"));
            let t = vm.stack[i];
            vm.queue_interrupt(t, terminate)?;
        }
    }
    vm.stack.truncate(base);
    Ok(Value::fix(vm.sched.unwinding() as i64))
}

/// Prunes the thread registry and pushes every thread in it (all live
/// now) onto the stack, where the collector sees them while the caller
/// works;
/// returns the stack height below them, for the caller to truncate to.
fn push_live_threads(vm: &mut Vm) -> VmResult<usize> {
    vm.prune_thread_registry()?;
    let base = vm.stack.len();
    let mut l = vm.reg(Reg::Threads);
    while !l.is_nil() {
        vm.stack.push(vm.heap.get(l, 0));
        l = vm.heap.get(l, 1);
    }
    Ok(base)
}

/// `(%unwinding-count)`: threads asked to unwind by `%terminate-others!`
/// that have not ended yet.
fn unwinding_count(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(vm.sched.unwinding() as i64))
}

/// `(%kill-others!)`: the end of the terminate phase. Every thread but the
/// running one still alive ends at once, without running any of its code
/// (its mutexes become abandoned).
fn kill_others(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let base = push_live_threads(vm)?;
    let me = vm.reg(Reg::Thread);
    for i in base..vm.stack.len() {
        let t = vm.stack[i];
        if t != me && vm.tstate(t) != state::TERMINATED {
            vm.set_tflag(t, flag::TERMINATED, true);
            vm.heap.set(t, field::RESULT, Value::UNSPECIFIED);
            vm.end_thread(t)?;
        }
    }
    vm.stack.truncate(base);
    vm.set_reg(Reg::TerminateWaiter, Value::FALSE);
    vm.sched.end_terminate_phase();
    Ok(Value::UNSPECIFIED)
}

/// `(%thread-interrupt! t thunk)`: queue `thunk` for `t` (another thread)
/// and wake it if it waits. Returns `#f` if `t` has ended.
fn thread_interrupt(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "thread-interrupt!", base, 0)?;
    vm.queue_interrupt(t, arg(vm, base, 1))
}

/// `(%take-interrupts!)`: the running thread's pending interrupt thunks,
/// removed from it.
fn take_interrupts(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let t = vm.reg(Reg::Thread);
    let l = vm.tfield(t, field::INTERRUPTS);
    vm.heap.set(t, field::INTERRUPTS, Value::NIL);
    Ok(l)
}

/// `(%others-runnable?)`: is another thread ready to run now?
fn others_runnable(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let q = vm.reg(Reg::RunQueue);
    Ok(Value::bool(!vm.queue_is_empty(q)))
}

fn thread_list(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    // `Reg::Threads` lists every started thread (and the initial one);
    // the caller gets a fresh list, not the registry itself.
    let base = push_live_threads(vm)?;
    vm.list_from_stack(base)
}

fn unpark_prim(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let t = thread_arg(vm, "%unpark!", base, 0)?;
    vm.unpark(t, arg(vm, base, 1))?;
    Ok(Value::UNSPECIFIED)
}

fn enqueue_waiter(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let q = arg(vm, base, 0);
    vm.enqueue_waiter(q)?;
    Ok(Value::UNSPECIFIED)
}

fn cancel_wait(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let t = vm.reg(Reg::Thread);
    let q = vm.tfield(t, field::WAITING_ON);
    if q.is_ref() {
        vm.queue_remove(q, t);
    }
    vm.heap.set(t, field::WAITING_ON, Value::FALSE);
    vm.heap.set(t, field::PERMIT, Value::UNDEFINED);
    Ok(Value::UNSPECIFIED)
}

fn now_us(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(vm.now_us()))
}

fn params(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(vm.reg(Reg::Params))
}

fn set_params(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    vm.set_reg(Reg::Params, arg(vm, base, 0));
    Ok(Value::UNSPECIFIED)
}

// ---- mutexes ---------------------------------------------------------------------------

fn mutex_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, 0, obj::MUTEX, "a mutex")
}

fn make_mutex(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let q = vm.queue_new()?;
    let at = vm.stack.len();
    vm.stack.extend_from_slice(&[
        arg(vm, base, 0),
        Value::FALSE,
        Value::FALSE,
        Value::FALSE,
        Value::FALSE,
        q,
    ]);
    vm.object_from_stack(obj::MUTEX, at)
}

fn mutex_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::MUTEX)))
}

fn mutex_name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-name", base)?;
    Ok(vm.heap.get(m, mutex::NAME))
}

fn mutex_specific(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-specific", base)?;
    Ok(vm.heap.get(m, mutex::SPECIFIC))
}

fn mutex_specific_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-specific-set!", base)?;
    vm.heap.set(m, mutex::SPECIFIC, arg(vm, base, 1));
    Ok(Value::UNSPECIFIED)
}

/// SRFI-18 `mutex-state`: the owner, `not-owned`, `abandoned` or
/// `not-abandoned`.
fn mutex_state(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-state", base)?;
    if vm.heap.get(m, mutex::LOCKED).is_true() {
        let owner = vm.heap.get(m, mutex::OWNER);
        if vm.is(owner, THREAD) {
            return Ok(owner);
        }
        return Ok(vm.sym("not-owned"));
    }
    if vm.heap.get(m, mutex::ABANDONED).is_true() {
        Ok(vm.sym("abandoned"))
    } else {
        Ok(vm.sym("not-abandoned"))
    }
}

/// `(%mutex-acquire! m owner)`: lock `m` for `owner` (a thread or `#f`)
/// if it is unlocked: `#t`, or `abandoned` if it was. Otherwise register
/// the running thread as a waiter and return `#f`.
fn mutex_acquire(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-lock!", base)?;
    let owner = arg(vm, base, 1);
    if !(owner.is_false() || vm.is(owner, THREAD)) {
        return Err(vm.type_error("mutex-lock!", "a thread or #f", owner));
    }
    if vm.heap.get(m, mutex::LOCKED).is_true() {
        let q = vm.heap.get(m, mutex::WAITERS);
        vm.enqueue_waiter(q)?;
        return Ok(Value::FALSE);
    }
    let was_abandoned = vm.heap.get(m, mutex::ABANDONED).is_true();
    if vm.is(owner, THREAD) && vm.tstate(owner) != state::TERMINATED {
        let owned = vm.tfield(owner, field::OWNED);
        let cell = vm.cons(m, owned)?;
        let (m, owner) = (arg(vm, base, 0), arg(vm, base, 1));
        vm.heap.set(owner, field::OWNED, cell);
        vm.heap.set(m, mutex::OWNER, owner);
    } else if vm.is(owner, THREAD) {
        // Locking on behalf of a thread that has ended: abandoned at once.
        vm.heap.set(m, mutex::ABANDONED, Value::TRUE);
        return Ok(vm.sym("abandoned"));
    }
    let m = arg(vm, base, 0);
    vm.heap.set(m, mutex::LOCKED, Value::TRUE);
    vm.heap.set(m, mutex::ABANDONED, Value::FALSE);
    if was_abandoned {
        Ok(vm.sym("abandoned"))
    } else {
        Ok(Value::TRUE)
    }
}

/// `(%mutex-release! m)`: unlock, forget the owner, wake one waiter.
fn mutex_release_prim(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mutex_arg(vm, "mutex-unlock!", base)?;
    let owner = vm.heap.get(m, mutex::OWNER);
    if vm.is(owner, THREAD) {
        // Drop m from the owner's list.
        let mut prev = Value::NIL;
        let mut l = vm.tfield(owner, field::OWNED);
        while !l.is_nil() {
            let next = vm.heap.get(l, 1);
            if vm.heap.get(l, 0) == m {
                if prev.is_nil() {
                    vm.heap.set(owner, field::OWNED, next);
                } else {
                    vm.heap.set(prev, 1, next);
                }
                break;
            }
            prev = l;
            l = next;
        }
    }
    vm.mutex_release(m)?;
    Ok(Value::UNSPECIFIED)
}

// ---- condition variables ---------------------------------------------------------------

fn condvar_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, 0, obj::CONDVAR, "a condition variable")
}

fn make_condvar(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let q = vm.queue_new()?;
    let at = vm.stack.len();
    vm.stack
        .extend_from_slice(&[arg(vm, base, 0), Value::FALSE, q]);
    vm.object_from_stack(obj::CONDVAR, at)
}

fn condvar_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::CONDVAR)))
}

fn condvar_name(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-name", base)?;
    Ok(vm.heap.get(c, condvar::NAME))
}

fn condvar_specific(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-specific", base)?;
    Ok(vm.heap.get(c, condvar::SPECIFIC))
}

fn condvar_specific_set(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-specific-set!", base)?;
    vm.heap.set(c, condvar::SPECIFIC, arg(vm, base, 1));
    Ok(Value::UNSPECIFIED)
}

fn condvar_signal(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-signal!", base)?;
    let q = vm.heap.get(c, condvar::WAITERS);
    vm.wake_one(q, Value::TRUE)?;
    Ok(Value::UNSPECIFIED)
}

fn condvar_broadcast(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "condition-variable-broadcast!", base)?;
    let q = vm.heap.get(c, condvar::WAITERS);
    vm.wake_all(q, Value::TRUE)?;
    Ok(Value::UNSPECIFIED)
}

fn condvar_waiters(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let c = condvar_arg(vm, "mutex-unlock!", base)?;
    Ok(vm.heap.get(c, condvar::WAITERS))
}

// ---- channels --------------------------------------------------------------------------

fn channel_arg(vm: &mut Vm, who: &str, base: usize) -> VmResult<Value> {
    vm.typed_arg(who, base, 0, obj::CHANNEL, "a channel")
}

fn make_channel(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let cap = arg(vm, base, 0);
    if cap.as_fixnum().is_none_or(|c| c < 0) {
        return Err(vm.type_error("make-channel", "a non-negative capacity", cap));
    }
    let at = vm.stack.len();
    vm.stack.push(Value::FALSE);
    vm.stack.push(cap);
    vm.stack.push(Value::fix(0));
    vm.stack.push(Value::fix(0));
    vm.stack.push(Value::FALSE);
    for i in [channel::BUFFER, channel::RECEIVERS, channel::SENDERS] {
        let q = vm.queue_new()?;
        if i == channel::BUFFER {
            vm.stack[at] = q;
        } else {
            vm.stack.push(q);
        }
    }
    vm.object_from_stack(obj::CHANNEL, at)
}

fn channel_p(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.is(arg(vm, base, 0), obj::CHANNEL)))
}

/// `(%channel-send! ch v)`: buffer `v`, wake a receiver, return the
/// value's sequence number (the sender waits until it is taken, or is
/// within the capacity). Raises if the channel is closed.
fn channel_send(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-send!", base)?;
    if vm.heap.get(ch, channel::CLOSED).is_true() {
        return Err(vm.error("channel-send!: channel is closed", &[ch]));
    }
    let buf = vm.heap.get(ch, channel::BUFFER);
    vm.queue_push(buf, arg(vm, base, 1))?;
    let ch = arg(vm, base, 0);
    let seq = vm.heap.get(ch, channel::SENT).as_fixnum_unchecked();
    vm.heap.set(ch, channel::SENT, Value::fix(seq + 1));
    let rq = vm.heap.get(ch, channel::RECEIVERS);
    vm.wake_one(rq, Value::TRUE)?;
    Ok(Value::fix(seq))
}

/// `(%channel-sent-taken? ch seq)`: may the sender of value `seq` go on?
/// If not, it is registered as a waiting sender.
fn channel_sent_taken(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-send!", base)?;
    let seq = arg(vm, base, 1).as_fixnum().unwrap_or(0);
    let taken = vm.heap.get(ch, channel::TAKEN).as_fixnum_unchecked();
    let cap = vm.heap.get(ch, channel::CAPACITY).as_fixnum_unchecked();
    if seq - taken < cap || seq < taken || vm.heap.get(ch, channel::CLOSED).is_true() {
        return Ok(Value::TRUE);
    }
    let q = vm.heap.get(ch, channel::SENDERS);
    vm.enqueue_waiter(q)?;
    Ok(Value::FALSE)
}

/// `(%channel-try-receive! ch)`: `(v)` if a value was waiting, the eof
/// object if the channel is closed and empty, else `#f` with the running
/// thread registered as a waiting receiver.
fn channel_try_receive(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-receive", base)?;
    let buf = vm.heap.get(ch, channel::BUFFER);
    if let Some(v) = vm.queue_pop(buf) {
        let ch = arg(vm, base, 0);
        let taken = vm.heap.get(ch, channel::TAKEN).as_fixnum_unchecked();
        vm.heap.set(ch, channel::TAKEN, Value::fix(taken + 1));
        vm.stack.push(v);
        let sq = vm.heap.get(ch, channel::SENDERS);
        // Senders re-check their own sequence number, so wake them all.
        vm.wake_all(sq, Value::TRUE)?;
        let v = vm.stack.pop().unwrap_or(Value::FALSE);
        return vm.cons(v, Value::NIL);
    }
    if vm.heap.get(ch, channel::CLOSED).is_true() {
        return Ok(Value::EOF);
    }
    let q = vm.heap.get(ch, channel::RECEIVERS);
    vm.enqueue_waiter(q)?;
    Ok(Value::FALSE)
}

fn channel_close(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-close!", base)?;
    vm.heap.set(ch, channel::CLOSED, Value::TRUE);
    let rq = vm.heap.get(ch, channel::RECEIVERS);
    vm.wake_all(rq, Value::TRUE)?;
    let ch = arg(vm, base, 0);
    let sq = vm.heap.get(ch, channel::SENDERS);
    vm.wake_all(sq, Value::TRUE)?;
    Ok(Value::UNSPECIFIED)
}

fn channel_closed(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-closed?", base)?;
    Ok(vm.heap.get(ch, channel::CLOSED))
}

fn channel_senders(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-send!", base)?;
    Ok(vm.heap.get(ch, channel::SENDERS))
}

fn channel_receivers(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let ch = channel_arg(vm, "channel-receive", base)?;
    Ok(vm.heap.get(ch, channel::RECEIVERS))
}
