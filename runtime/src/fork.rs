//! The fork step: `fork(2)` with every registered helper lock held across
//! it, so that the child, which has only the initial thread, finds each
//! lock in a consistent, released state (DESIGN invariant 6). The
//! save-application protocol builds on this.

use nix::unistd::ForkResult;

use crate::vm::Vm;

impl Vm {
    /// Fork the process. Every lock of the fork registry is taken before
    /// and released after, in parent and child alike. The child has only
    /// the calling thread: helper threads, and any work they had in
    /// flight, are gone there.
    ///
    /// # Errors
    /// The `fork` system call's error.
    #[allow(unsafe_code)]
    pub fn fork_process(&mut self) -> nix::Result<ForkResult> {
        let _ = std::io::Write::flush(&mut self.out);
        let guards = self.os.registry.prepare();
        // The child continues with one thread. Every lock a helper thread
        // can hold is held by this thread across the call (the registry),
        // helpers never hold std's stdin or stdout locks, and the C
        // library's own fork handlers take care of the allocator's locks.
        // SAFETY: so every lock the child can reach is consistent and
        // unowned once `guards` is dropped below.
        let r = unsafe { nix::unistd::fork() };
        drop(guards);
        r
    }
}

/// End a forked child at once: no atexit handlers, no stdio flushing, no
/// destructors, any of which may wait for a lock that a thread which did
/// not cross the fork was holding.
#[allow(unsafe_code)]
pub fn exit_child(code: i32) -> ! {
    // SAFETY: `_exit` takes no pointers and does not return; it is
    // async-signal-safe, the only kind of exit that is sound in the child of
    // a multithreaded process.
    unsafe { nix::libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::ForkResult;

    use crate::Runtime;

    /// Forks while helper threads are busy (some hammering the registered
    /// locks, some waiting for child processes, one blocked on stdin) and
    /// checks that the child can take and release every registered lock
    /// and go on running Scheme code, green threads included.
    #[test]
    fn fork_while_helpers_are_busy() {
        let mut rt = Runtime::new().expect("runtime");
        rt.eval_str(
            "(define total 0)
             (define sleepers
               (map (lambda (i) (thread-start! (make-thread (lambda () (process-run \"sleep\" \"0.3\")))))
                    '(1 2 3)))
             (thread-sleep! 0.02)
             ;; Grown into fresh pages: the collector's prefault helper
             ;; thread runs too.
             (define big (iota 400000))",
        )
        .expect("start helpers");
        let stop = Arc::new(AtomicBool::new(false));
        let hammers: Vec<_> = (0..3)
            .map(|_| {
                let stop = stop.clone();
                let (d, s) = rt.vm.os.lock_handles();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        d.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(String::new());
                        d.lock().unwrap_or_else(|e| e.into_inner()).clear();
                        s.lock().unwrap_or_else(|e| e.into_inner()).started += 0;
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let names = rt.vm.os.registry.names();
        assert!(names.len() >= 2, "{names:?}");
        match rt.vm.fork_process().expect("fork") {
            ForkResult::Child => {
                // Only this thread exists now.
                rt.vm.os.registry.check_all();
                let ok = rt
                    .eval_str(
                        "(define m (make-mutex))
                         (define t (thread-start! (make-thread (lambda () (mutex-lock! m) (* 6 7)))))
                         (list (thread-join! t) (length sleepers)
                               (apply + (map (lambda (x) 1) (append big big))))",
                    )
                    .map(|v| rt.write(&v))
                    .unwrap_or_default();
                super::exit_child(if ok == "(42 3 800000)" { 0 } else { 1 });
            }
            ForkResult::Parent { child } => {
                // Wait at most 20 s: a deadlocked child fails the test
                // instead of hanging it.
                let mut status = WaitStatus::StillAlive;
                for _ in 0..2000 {
                    status = waitpid(child, Some(WaitPidFlag::WNOHANG)).expect("waitpid");
                    if status != WaitStatus::StillAlive {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                if status == WaitStatus::StillAlive {
                    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                    let _ = waitpid(child, None);
                }
                stop.store(true, Ordering::Relaxed);
                for h in hammers {
                    h.join().expect("hammer");
                }
                assert_eq!(status, WaitStatus::Exited(child, 0));
                // The parent goes on too, its helpers intact.
                let v = rt
                    .eval_str("(map thread-join! sleepers)")
                    .expect("parent continues");
                assert_eq!(rt.write(&v), "(0 0 0)");
            }
        }
    }
}
