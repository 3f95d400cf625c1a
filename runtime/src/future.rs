//! Async native functions: a host function that returns a Rust future.
//! The green thread that calls it waits (the others run) until the future
//! completes; the future is polled on the thread that runs Scheme, when
//! its waker says it can go on.
//!
//! The procedure Scheme sees is a closure `(lambda args (%await-future
//! (apply start args)))`: `start` (a native function named `NAME%start`)
//! makes the future, polls it once (a future ready at once costs no wait)
//! and files it under a number; `%await-future` returns its result, or
//! waits for it as an I/O wait (`IoWait::Future`), which the event loop
//! ends when the future completes. A waker may be called from any thread
//! (a tokio timer's): it records the future's number under a lock in the
//! fork registry and writes to the wake pipe. The event loop polls the
//! futures whose wakers were called (`Vm::poll_futures`).
//!
//! A forked save child never polls a future (its wakers write to the
//! parent's pipe, and no thread of the child calls them); an image keeps
//! the waiting closure but not the future, and waiting for it there is an
//! error that says so.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use imp_gc::Value as Raw;

use crate::convert::IntoValue;
use crate::native::FromArgs;
use crate::vm::{IoWait, Vm, VmResult};
use crate::{Error, Scope};

/// What a completed future leaves: the conversion of its result, made
/// when the waiting thread takes it.
type Finish = Box<dyn FnOnce(&mut Scope<'_>) -> Result<Raw, Error>>;

/// A future filed under a number.
type Pending = Pin<Box<dyn Future<Output = Finish>>>;

enum Slot {
    Pending(Pending, Waker),
    Done(Finish),
}

/// The futures of a runtime's async native calls (`HostState::futures`).
#[derive(Default)]
pub struct Futures {
    slots: crate::native::WordMap<u64, Slot>,
    next: u64,
    /// Numbers of futures whose wakers were called (from any thread).
    woken: Option<Arc<Mutex<Vec<u64>>>>,
}

impl Futures {
    /// Futures filed and not yet taken.
    pub(crate) fn count(&self) -> usize {
        self.slots.len()
    }
}

/// A future's waker: records its number and wakes the scheduler.
struct FutureWake {
    id: u64,
    woken: Arc<Mutex<Vec<u64>>>,
    wake: crate::os::Waker,
}

impl Wake for FutureWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let first = {
            let mut woken = self.woken.lock().unwrap_or_else(|e| e.into_inner());
            woken.push(self.id);
            woken.len() == 1
        };
        // Only the wake-up that makes the list non-empty writes the pipe:
        // the event loop reads the pipe before it takes the list
        // (`Vm::poll_io`), so the ids pushed after that write are taken
        // by that same read, and a push after the take finds it empty.
        if first {
            self.wake.wake();
        }
    }
}

impl Vm {
    /// File `fut` and poll it once; its number.
    fn start_future(&mut self, fut: Pending) -> u64 {
        let woken = match &self.host.futures.woken {
            Some(w) => w.clone(),
            None => {
                let w = self.os.registry.register("future wake-ups", Vec::new());
                self.host.futures.woken = Some(w.clone());
                w
            }
        };
        if self.host.futures.next == 0 {
            // Numbers differ from one process to the next, so an image's
            // stale number is not taken for a new future.
            self.host.futures.next = (self.os.session as u64 & 0xffff_ffff) << 20 | 1;
        }
        let id = self.host.futures.next;
        self.host.futures.next += 1;
        let waker = Waker::from(Arc::new(FutureWake {
            id,
            woken,
            wake: self.os.waker(),
        }));
        let mut fut = fut;
        let slot = match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(finish) => Slot::Done(finish),
            Poll::Pending => Slot::Pending(fut, waker),
        };
        self.host.futures.slots.insert(id, slot);
        id
    }

    /// Poll the futures whose wakers were called; wake the threads
    /// waiting for those that completed.
    pub(crate) fn poll_futures(&mut self) -> VmResult<()> {
        let Some(woken) = &self.host.futures.woken else {
            return Ok(());
        };
        let ids = std::mem::take(&mut *woken.lock().unwrap_or_else(|e| e.into_inner()));
        for id in ids {
            let Some(Slot::Pending(mut fut, waker)) = self.host.futures.slots.remove(&id) else {
                continue;
            };
            match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                Poll::Ready(finish) => {
                    self.host.futures.slots.insert(id, Slot::Done(finish));
                    self.wake_key(crate::sched::wait_key(IoWait::Future(id)))?;
                }
                Poll::Pending => {
                    self.host
                        .futures
                        .slots
                        .insert(id, Slot::Pending(fut, waker));
                }
            }
        }
        Ok(())
    }

    /// Has future `id` completed (or is it unknown here)?
    pub(crate) fn future_done(&self, id: u64) -> bool {
        !matches!(self.host.futures.slots.get(&id), Some(Slot::Pending(..)))
    }
}

/// This module's primitives.
pub const DEFS: &[crate::prim::PrimDef] = &[crate::prim::def("%await-future", 1, 1, await_future)];

/// `(%await-future id)`: the result of future `id`, waiting for it.
fn await_future(vm: &mut Vm, base: usize, _: usize) -> VmResult<Raw> {
    let v = crate::prim::arg(vm, base, 0);
    let Some(id) = v.as_fixnum().filter(|n| *n > 0).map(|n| n as u64) else {
        return Err(vm.type_error("await", "a future number", v));
    };
    match vm.host.futures.slots.remove(&id) {
        Some(Slot::Done(finish)) => {
            let r = {
                let mut cx = Scope { vm: &mut *vm };
                finish(&mut cx)
            };
            r.map_err(|e| crate::native::error_to_exn(vm, e))
        }
        Some(pending @ Slot::Pending(..)) => {
            vm.host.futures.slots.insert(id, pending);
            Err(vm.block_until(IoWait::Future(id), None))
        }
        None => Err(vm.error(
            "an async native call's future is not here: it was made by another process \
             (an image's earlier life) or already taken",
            &[],
        )),
    }
}

impl crate::Runtime {
    /// Bind the global `name` to a procedure that calls the async
    /// function `f`: its arguments convert to `A` as
    /// [`register`](crate::Runtime::register)'s do, and the green thread
    /// that calls it waits (the others run) until the future `f` returns
    /// completes; its result converts from `R`. The future is polled on
    /// the thread that runs Scheme, whenever its waker is called (from any
    /// thread), so it needs no `Send`. A tokio future that needs a tokio
    /// runtime needs one entered on that thread (`Runtime::enter`, or a
    /// call inside `block_on`) with its own threads driving its timers
    /// and I/O (the multi-threaded runtime).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register_async("double-later", |(n,): (i64,)| async move { Ok(2 * n) }).unwrap();
    /// assert_eq!(rt.eval_str("(double-later 21)").unwrap().as_i64(&rt), Some(42));
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn register_async<A, R, Fut, F>(&mut self, name: &str, f: F) -> Result<(), Error>
    where
        A: FromArgs,
        R: IntoValue + 'static,
        Fut: Future<Output = Result<R, Error>> + 'static,
        F: Fn(A) -> Fut + 'static,
    {
        let start_name = format!("{name}%start");
        self.register(&start_name, move |cx, a: A| {
            let fut = f(a);
            let finishing: Pending = Box::pin(async move {
                let r = fut.await;
                let finish: Finish = Box::new(move |cx: &mut Scope<'_>| r?.into_raw(cx));
                finish
            });
            Ok(cx.vm.start_future(finishing) as i64)
        })?;
        let start: crate::Value = self.global(&start_name)?;
        let make = self
            .vm
            .internal_global("%make-async-wrapper")
            .map_err(|e| self.convert(e))?;
        let make = self.hold(make);
        let wrapper: crate::Value = self.call_value(&make, (&start,))?;
        self.set_global(name, &wrapper)
    }

    /// Futures of async native calls filed and not yet taken.
    pub fn pending_futures(&self) -> usize {
        self.vm.host.futures.count()
    }
}

/// What one step of [`RunAsync`] left.
enum Step {
    /// Every thread but the initial one has finished, or those left wait
    /// only for each other.
    Done,
    /// Threads wait for the OS, a timer (µs from now) or a future.
    Waiting(Option<i64>),
}

impl crate::Runtime {
    /// Drive the runtime's green threads from an async task, without an
    /// OS thread of the runtime's own: each poll runs the threads that can
    /// run until they all wait, then the task yields to its executor until
    /// something they wait for happens (an async native's future, a timer,
    /// I/O). It completes when no thread but the initial one is left (or
    /// those left can only wait for each other). The host's executor may
    /// be single-threaded: the futures Scheme awaits are polled by this
    /// task, on its thread.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register_async("later", |(n,): (i64,)| async move { Ok(n * 2) }).unwrap();
    /// rt.eval_str("(define got #f) (thread-start! (make-thread (lambda () (set! got (later 21)))))").unwrap();
    /// // Any executor: here a minimal one that polls until done.
    /// let mut fut = std::pin::pin!(rt.run_async());
    /// let waker = std::task::Waker::noop();
    /// let mut cx = std::task::Context::from_waker(&waker);
    /// while fut.as_mut().poll(&mut cx).is_pending() {}
    /// drop(fut);
    /// assert_eq!(rt.global::<i64>("got").unwrap(), 42);
    /// ```
    ///
    /// While it is pending, the task holds the runtime; an
    /// [`InterruptHandle`](crate::InterruptHandle) wakes the task and
    /// ends the run with [`Error::Limit`] (a thread running then unwinds
    /// as in any call; threads waiting stay waiting, and a later run
    /// goes on with them).
    ///
    /// # Errors
    /// As [`Runtime::run_until_idle`].
    pub fn run_async(&mut self) -> RunAsync<'_> {
        RunAsync {
            rt: self,
            watcher: None,
        }
    }

    /// Run what can run now; what the threads wait for then.
    fn step_async(&mut self) -> Result<Step, Error> {
        use std::sync::atomic::Ordering;
        if self.vm.limits.interrupt.swap(false, Ordering::Relaxed) {
            // The threads stay where they wait; a later run goes on.
            return Err(Error::Limit("interrupted by the host".into()));
        }
        loop {
            let now = self.vm.now_us();
            let r = self.vm.fire_timers(now).and_then(|()| self.vm.poll_io(0));
            r.map_err(|e| self.convert(e))?;
            self.run_until_idle()?;
            let q = self.vm.reg(crate::vm::Reg::RunQueue);
            if self.vm.queue_is_empty(q) {
                break;
            }
        }
        if !self.vm.other_threads_alive() {
            return Ok(Step::Done);
        }
        let now = self.vm.now_us();
        let next = self.vm.timer_peek_live().map(|(d, _)| (d - now).max(0));
        if next.is_none() && !self.vm.io_waiting() && self.vm.host.futures.count() == 0 {
            return Ok(Step::Done);
        }
        Ok(Step::Waiting(next))
    }
}

/// The future of [`Runtime::run_async`](crate::Runtime::run_async).
pub struct RunAsync<'a> {
    rt: &'a mut crate::Runtime,
    watcher: Option<Watcher>,
}

impl Future for RunAsync<'_> {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.rt.step_async() {
            Err(e) => Poll::Ready(Err(e)),
            Ok(Step::Done) => Poll::Ready(Ok(())),
            Ok(Step::Waiting(timeout_us)) => {
                if this.watcher.is_none() {
                    match Watcher::start(&this.rt.vm.os) {
                        Ok(w) => this.watcher = Some(w),
                        Err(e) => {
                            return Poll::Ready(Err(Error::Type(format!(
                                "run_async: cannot watch the event loop: {e}"
                            ))));
                        }
                    }
                }
                if let Some(w) = &this.watcher {
                    w.arm(cx.waker().clone(), timeout_us);
                }
                Poll::Pending
            }
        }
    }
}

/// A helper thread that waits on the event loop's epoll instance (and a
/// deadline) while the task is pending, and wakes the task: the one
/// blocking wait, kept off the executor's threads. Each `arm` brings the
/// task's newest waker and deadline, and a byte on the control pipe ends
/// a wait made for an older one (an executor may poll a task that was not
/// woken, and the new deadline may be sooner).
struct Watcher {
    requests: Option<std::sync::mpsc::Sender<(Waker, Option<i64>)>>,
    control: std::os::fd::OwnedFd,
}

impl Watcher {
    fn start(os: &crate::os::Os) -> std::io::Result<Watcher> {
        let events = os.event_handle()?;
        let (control_r, control) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .map_err(std::io::Error::from)?;
        let (requests, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("imp-run-async".into())
            .spawn(move || watch(&events, &control_r, &rx))?;
        Ok(Watcher {
            requests: Some(requests),
            control,
        })
    }

    fn arm(&self, waker: Waker, timeout_us: Option<i64>) {
        if let Some(r) = &self.requests {
            let _ = r.send((waker, timeout_us));
            let _ = nix::unistd::write(&self.control, &[1]);
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // The helper sees the channel closed when the control byte ends
        // its wait.
        self.requests = None;
        let _ = nix::unistd::write(&self.control, &[1]);
    }
}

/// The watcher thread: wait for the newest request's events or deadline,
/// then wake its task; end when the channel closes.
fn watch(
    events: &mio::Registry,
    control: &std::os::fd::OwnedFd,
    rx: &std::sync::mpsc::Receiver<(Waker, Option<i64>)>,
) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::{AsFd, AsRawFd};
    use std::sync::mpsc::TryRecvError;
    let mut current: Option<(Waker, Option<i64>)> = None;
    loop {
        loop {
            match rx.try_recv() {
                Ok(r) => current = Some(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        let Some((waker, timeout_us)) = current.take() else {
            match rx.recv() {
                Ok(r) => current = Some(r),
                Err(_) => return,
            }
            continue;
        };
        // Whole milliseconds, rounded up: never early.
        let ms = timeout_us.map_or(-1, |us| {
            i32::try_from((us + 999) / 1000).unwrap_or(i32::MAX)
        });
        let mut fds = [
            PollFd::new(events.as_fd(), PollFlags::POLLIN),
            PollFd::new(control.as_fd(), PollFlags::POLLIN),
        ];
        let _ = poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::NONE),
        );
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            // A newer request (or the end): drain, and look again.
            let mut sink = [0u8; 64];
            while nix::unistd::read(control.as_raw_fd(), &mut sink).is_ok_and(|n| n > 0) {}
            current = Some((waker, timeout_us));
            continue;
        }
        waker.wake();
    }
}
