//! The fork step: `fork(2)` with every registered helper lock held across
//! it, so that the child, which has only the initial thread, finds each
//! lock in a consistent, released state (ARCHITECTURE.md invariant 6). The
//! save-application protocol builds on this.

use nix::unistd::ForkResult;

use crate::vm::Vm;

impl Vm {
    /// Fork the process. Every lock of the fork registry is taken before
    /// and released after, in parent and child alike. The child has only
    /// the calling thread: helper threads, and any work they had in
    /// flight, are gone there; its OS side is reset
    /// ([`crate::os::Os::reset_after_fork`]), so it shares no wake pipe,
    /// channel or port descriptor with the parent.
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
        if let Ok(ForkResult::Child) = r
            && self.os.reset_after_fork().is_err()
        {
            // Without its own wake pipe the child could take the
            // parent's wake-ups: it must not run on.
            exit_child(1);
        }
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
