//! A static section whose pages stay inaccessible until their checksum
//! chunk has been checked (`doc/IMAGE-FORMAT.md` §8).
//!
//! An image's static section is mapped from its file. Checking every
//! chunk before the program starts would make a start cost time in
//! proportion to the image (DESIGN invariant 2), so a large section is
//! mapped with no access at all, and a chunk's pages become readable and
//! writable only once its bytes in the file have matched their checksum:
//!
//! - a helper OS thread checks the chunks in order from the start, opening
//!   each as it goes;
//! - an access to a chunk not yet opened traps (`SIGSEGV`), and the handler
//!   checks that chunk then and there, opens it, and lets the access go on;
//! - the heap's owner can check a range before it reads it
//!   ([`Heap::check_static_range`]), or every chunk left
//!   ([`Heap::finish_static_check`]), and gets an error for damage.
//!
//! **Invariant (no unchecked byte is read):** a page of the section is
//! readable only after the chunk holding it matched its checksum, so
//! nothing, the collector included, ever reads a damaged byte. Damage that
//! the helper thread finds first sets the runtime's interrupt flag and
//! waits to be reported by the owner; damage that an access runs into
//! first cannot be returned from inside a signal handler, so the handler
//! writes its message to standard error and ends the process with the
//! owner's exit status (nothing has run on the damaged bytes, and the
//! process's buffered output is not flushed).
//!
//! The handler is installed once per process in front of the one that was
//! there (Rust's stack-overflow handler, or a host's), which it calls for
//! every fault that is not an access to a guarded chunk.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Checks a chunk of a section against its checksum.
///
/// # Safety
/// Implementors promise:
/// 1. [`ChunkCheck::check`] and [`ChunkCheck::damage_message`] are
///    async-signal-safe: they run inside a `SIGSEGV` handler that may have
///    interrupted any code of the thread, so they neither allocate, nor
///    lock, nor touch the heap; they read only memory of their own.
/// 2. `check` compares the bytes the section was mapped from (the file),
///    so that once it returns true the mapped chunk holds checked bytes.
/// 3. `chunk_bytes` is a non-zero multiple of the system page size.
pub unsafe trait ChunkCheck: Send + Sync {
    /// Bytes per chunk.
    fn chunk_bytes(&self) -> u64;
    /// Do chunk `i`'s bytes match their checksum?
    fn check(&self, i: usize) -> bool;
    /// Write why chunk `i` is refused (one line, ending in a newline) to
    /// `out`; the number of bytes written.
    fn damage_message(&self, i: usize, out: &mut [u8]) -> usize;
}

/// A chunk whose pages are still inaccessible.
const PENDING: u8 = 0;
/// A chunk that matched its checksum: its pages are readable and writable.
const OPEN: u8 = 1;
/// A chunk that did not match: its pages stay inaccessible.
const DAMAGED: u8 = 2;
/// No chunk is damaged (`Guard::damaged`).
const NONE: usize = usize::MAX;

/// The checking state of one mapped section, shared by the heap, the
/// helper thread and the fault handler.
pub(crate) struct Guard {
    /// What checks a chunk.
    check: Arc<dyn ChunkCheck>,
    /// Address of the section's first byte (page aligned).
    base: usize,
    /// Bytes guarded: the section's mapping, a whole number of pages.
    len: usize,
    /// Bytes per chunk.
    chunk: usize,
    /// `PENDING`, `OPEN` or `DAMAGED`, per chunk.
    states: Box<[AtomicU8]>,
    /// The next chunk a sweep (the helper thread or the owner) takes.
    next: AtomicUsize,
    /// Chunks opened so far.
    opened: AtomicUsize,
    /// The first damaged chunk found, or `NONE`.
    damaged: AtomicUsize,
    /// Set when the heap goes: the helper thread stops.
    stop: AtomicBool,
    /// The runtime's interrupt flag, set when the helper finds damage.
    interrupt: Arc<AtomicBool>,
    /// Exit status of a process that runs into a damaged chunk.
    exit_status: i32,
}

impl Guard {
    fn chunks(&self) -> usize {
        self.states.len()
    }

    /// The address range of chunk `i`.
    fn range(&self, i: usize) -> (usize, usize) {
        let start = i * self.chunk;
        (self.base + start, (self.len - start).min(self.chunk))
    }

    /// Check chunk `i` if it is pending; open it if it matched. Whether
    /// it is open now. Async-signal-safe (the handler calls it).
    fn settle(&self, i: usize) -> bool {
        match self.states[i].load(Ordering::Acquire) {
            OPEN => return true,
            DAMAGED => return false,
            _ => {}
        }
        if !self.check.check(i) {
            self.states[i].store(DAMAGED, Ordering::Release);
            let _ = self
                .damaged
                .compare_exchange(NONE, i, Ordering::AcqRel, Ordering::Acquire);
            return false;
        }
        let (addr, len) = self.range(i);
        // SAFETY: the range is a page-aligned part of the section's mapping,
        // which lives as long as this guard is registered. Opening it changes
        // no byte: the pages show the file's bytes, just checked.
        let r = unsafe {
            nix::libc::mprotect(
                addr as *mut nix::libc::c_void,
                len,
                nix::libc::PROT_READ | nix::libc::PROT_WRITE,
            )
        };
        if r != 0 {
            // The pages cannot be opened (the kernel is out of memory for
            // its map entries): treat the chunk as unusable.
            self.states[i].store(DAMAGED, Ordering::Release);
            let _ = self
                .damaged
                .compare_exchange(NONE, i, Ordering::AcqRel, Ordering::Acquire);
            return false;
        }
        if self.states[i]
            .compare_exchange(PENDING, OPEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.opened.fetch_add(1, Ordering::AcqRel);
        }
        true
    }

    /// Check chunks in order until none is left, one is damaged, or the
    /// heap goes. The helper thread runs this; so does the owner when it
    /// must wait for the end.
    fn sweep(&self) {
        while !self.stop.load(Ordering::Acquire) && self.damaged.load(Ordering::Acquire) == NONE {
            let i = self.next.fetch_add(1, Ordering::AcqRel);
            if i >= self.chunks() {
                return;
            }
            if !self.settle(i) {
                self.interrupt.store(true, Ordering::Release);
                return;
            }
        }
    }

    fn is_complete(&self) -> bool {
        self.opened.load(Ordering::Acquire) == self.chunks()
    }

    fn damage(&self) -> Option<usize> {
        let d = self.damaged.load(Ordering::Acquire);
        (d != NONE).then_some(d)
    }

    /// The fault handler's part: an access at `addr`, inside this guard,
    /// trapped. Returns when the access may be made again; never returns
    /// if the chunk is damaged.
    fn on_fault(&self, addr: usize) {
        let i = (addr - self.base) / self.chunk;
        if self.settle(i) {
            return;
        }
        let mut msg = [0u8; 1024];
        let n = self.check.damage_message(i, &mut msg).min(msg.len());
        // SAFETY: write and _exit are async-signal-safe; `msg[..n]` is ours.
        unsafe {
            nix::libc::write(2, msg.as_ptr().cast(), n);
            nix::libc::_exit(self.exit_status);
        }
    }
}

/// One registered guard: the address range it covers and the guard. The
/// handler reads the range first and the pointer only for a fault inside
/// it, so a slot being cleared by another thread is never dereferenced.
struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    guard: AtomicPtr<Guard>,
}

/// How many guarded sections a process can have at once (a runtime has
/// one; tests run a few side by side). A section that finds no slot is
/// checked whole before it is used instead.
const SLOTS: usize = 64;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    guard: AtomicPtr::new(std::ptr::null_mut()),
};

static REGISTRY: [Slot; SLOTS] = [EMPTY; SLOTS];

/// The `SIGSEGV` action that was in place before ours.
static PREVIOUS: OnceLock<nix::sys::signal::SigAction> = OnceLock::new();

/// Put the fault handler in place, once per process; whether it is.
fn install_handler() -> bool {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        let ours = SigAction::new(
            SigHandler::SigAction(on_segv),
            SaFlags::SA_SIGINFO | SaFlags::SA_ONSTACK,
            SigSet::empty(),
        );
        // `on_segv` reads atomics, calls `ChunkCheck` methods (which promise
        // to be async-signal-safe) and makes system calls.
        // SAFETY: the handler is async-signal-safe and passes every fault it
        // does not own to the action installed before it.
        match unsafe { sigaction(Signal::SIGSEGV, &ours) } {
            Ok(old) => {
                let _ = PREVIOUS.set(old);
                true
            }
            Err(_) => false,
        }
    })
}

extern "C" fn on_segv(
    sig: nix::libc::c_int,
    info: *mut nix::libc::siginfo_t,
    ctx: *mut nix::libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    for slot in &REGISTRY {
        let start = slot.start.load(Ordering::Acquire);
        let end = slot.end.load(Ordering::Acquire);
        if start <= addr && addr < end {
            let g = slot.guard.load(Ordering::Acquire);
            if !g.is_null() {
                // SAFETY: a guard stays alive while it is registered, and a
                // fault inside its range comes from its heap's own thread,
                // the one that unregisters it (heaps are not `Send`).
                unsafe { &*g }.on_fault(addr);
                return;
            }
        }
    }
    // Not ours: whatever was there before decides.
    use nix::sys::signal::SigHandler;
    match PREVIOUS.get().map(|a| a.handler()) {
        Some(SigHandler::SigAction(f)) => f(sig, info, ctx),
        Some(SigHandler::Handler(f)) => f(sig),
        _ => {
            // The default action: put it back and return, so the access
            // faults again and ends the process as it would have.
            // SAFETY: `signal` is async-signal-safe.
            unsafe {
                nix::libc::signal(nix::libc::SIGSEGV, nix::libc::SIG_DFL);
            }
        }
    }
}

/// A guarded section, owned by its region: the guard, its registry slot
/// and the helper thread.
pub(crate) struct Armed {
    guard: Arc<Guard>,
    slot: usize,
    helper: Option<std::thread::JoinHandle<()>>,
}

impl Armed {
    /// Make the `len` bytes at `base` (page aligned, a mapping the caller
    /// owns, just made from the file `check` checks) inaccessible and
    /// register them, then start the helper thread (unless the process may
    /// use one CPU only). `None` if they cannot be guarded (no handler, no
    /// free slot, no protection): they stay accessible, and the caller
    /// checks them whole instead.
    ///
    /// # Safety
    /// 1. `[base, base + len)` is a mapping of the caller's that lives until
    ///    this `Armed` is dropped, holding the bytes `check` checks, that no
    ///    other thread accesses.
    /// 2. No reference into the range is used by the caller while this
    ///    returns other than through accesses that may trap.
    pub(crate) unsafe fn arm(
        base: usize,
        len: usize,
        check: Arc<dyn ChunkCheck>,
        interrupt: Arc<AtomicBool>,
        exit_status: i32,
    ) -> Option<Armed> {
        let chunk = usize::try_from(check.chunk_bytes())
            .ok()
            .filter(|&c| c > 0)?;
        if len == 0 || !install_handler() {
            return None;
        }
        let chunks = len.div_ceil(chunk);
        let guard = Arc::new(Guard {
            check,
            base,
            len,
            chunk,
            states: (0..chunks).map(|_| AtomicU8::new(PENDING)).collect(),
            next: AtomicUsize::new(0),
            opened: AtomicUsize::new(0),
            damaged: AtomicUsize::new(NONE),
            stop: AtomicBool::new(false),
            interrupt,
            exit_status,
        });
        let ptr = Arc::as_ptr(&guard).cast_mut();
        let slot = REGISTRY.iter().position(|s| {
            s.guard
                .compare_exchange(
                    std::ptr::null_mut(),
                    ptr,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        })?;
        // Taking all access away changes no byte; the range is published to
        // the handler only after this.
        // SAFETY: the range is the caller's mapping (obligation 1), and
        // nothing accesses it before it is published (obligation 2).
        let r = unsafe {
            nix::libc::mprotect(base as *mut nix::libc::c_void, len, nix::libc::PROT_NONE)
        };
        if r != 0 {
            REGISTRY[slot]
                .guard
                .store(std::ptr::null_mut(), Ordering::Release);
            return None;
        }
        REGISTRY[slot].end.store(base + len, Ordering::Release);
        REGISTRY[slot].start.store(base, Ordering::Release);
        let helper = if crate::space::one_cpu() {
            None
        } else {
            let g = guard.clone();
            std::thread::Builder::new()
                .name("imp-image-check".into())
                .spawn(move || g.sweep())
                .ok()
        };
        Some(Armed {
            guard,
            slot,
            helper,
        })
    }

    /// Is every chunk open?
    pub(crate) fn is_complete(&self) -> bool {
        self.guard.is_complete()
    }

    /// Is the helper thread still at work?
    #[cfg(test)]
    pub(crate) fn helper_running(&self) -> bool {
        self.helper.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// The first damaged chunk found so far.
    pub(crate) fn damage(&self) -> Option<usize> {
        self.guard.damage()
    }

    /// Check the chunks covering `[offset, offset + bytes)` of the section
    /// now; the first damaged one.
    pub(crate) fn check_range(&self, offset: usize, bytes: usize) -> Result<(), usize> {
        if bytes == 0 || offset >= self.guard.len {
            return Ok(());
        }
        let first = offset / self.guard.chunk;
        let last = (offset + bytes.min(self.guard.len - offset) - 1) / self.guard.chunk;
        for i in first..=last {
            if !self.guard.settle(i) {
                self.guard.interrupt.store(true, Ordering::Release);
                return Err(i);
            }
        }
        Ok(())
    }

    /// Check every chunk left, with the helper thread, and wait for it to
    /// end: `Ok` once every chunk is open, else the first damaged one.
    pub(crate) fn finish(&mut self) -> Result<(), usize> {
        self.guard.sweep();
        if let Some(h) = self.helper.take() {
            let _ = h.join();
        }
        if let Some(i) = self.guard.damage() {
            return Err(i);
        }
        // Every chunk has been taken by a sweep; check any left pending
        // (a sweep stopped by damage elsewhere leaves some) here.
        for i in 0..self.guard.chunks() {
            if !self.guard.settle(i) {
                return Err(i);
            }
        }
        Ok(())
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        // The helper ends before the mapping it opens pages of goes.
        self.guard.stop.store(true, Ordering::Release);
        if let Some(h) = self.helper.take() {
            let _ = h.join();
        }
        let slot = &REGISTRY[self.slot];
        slot.start.store(0, Ordering::Release);
        slot.end.store(0, Ordering::Release);
        slot.guard.store(std::ptr::null_mut(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Heap, HeapConfig};

    /// Chunks of 64 KiB, each checked against the sum of its bytes as they
    /// were when the test wrote the file: the bytes read back from the file
    /// now stand for what a real checker reads through its own mapping.
    struct SumCheck {
        now: Vec<u8>,
        sums: Vec<u64>,
    }

    const CHUNK: usize = 64 * 1024;

    fn sum(bytes: &[u8]) -> u64 {
        bytes.iter().map(|&b| u64::from(b)).sum()
    }

    // SAFETY: `check` and `damage_message` read only the struct's own
    // vectors and write only `out`; 64 KiB is a multiple of every page size.
    unsafe impl ChunkCheck for SumCheck {
        fn chunk_bytes(&self) -> u64 {
            CHUNK as u64
        }
        fn check(&self, i: usize) -> bool {
            let end = ((i + 1) * CHUNK).min(self.now.len());
            self.sums.get(i) == Some(&sum(&self.now[i * CHUNK..end]))
        }
        fn damage_message(&self, _: usize, out: &mut [u8]) -> usize {
            let m = b"damaged\n";
            out[..m.len()].copy_from_slice(m);
            m.len()
        }
    }

    /// A heap whose static space is mapped, guarded, from a file of
    /// `chunks` chunks of words `0, 1, 2, …`, with byte `damage` (if any)
    /// changed after the sums were taken.
    fn guarded(name: &str, chunks: usize, damage: Option<usize>) -> (Heap, Arc<AtomicBool>) {
        let words: Vec<u64> = (0..(chunks * CHUNK / 8) as u64).collect();
        let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let sums = bytes.chunks(CHUNK).map(sum).collect();
        if let Some(at) = damage {
            bytes[at] ^= 0x10;
        }
        let path = std::env::temp_dir().join(format!("imp-guard-{}-{name}", std::process::id()));
        std::fs::write(&path, &bytes).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let _ = std::fs::remove_file(&path);
        let mut heap = Heap::new(HeapConfig {
            nursery_bytes: 64 * 1024,
            old_bytes: 1 << 20,
            static_bytes: 4 << 20,
            pure_bytes: 64 * 1024,
            min_major_bytes: 256 * 1024,
            stress: false,
        })
        .expect("heap");
        let interrupt = Arc::new(AtomicBool::new(false));
        let check = Arc::new(SumCheck { now: bytes, sums });
        use std::os::fd::AsFd;
        let armed = heap
            .map_static_checked(
                file.as_fd(),
                0,
                (chunks * CHUNK) as u64,
                check,
                interrupt.clone(),
                70,
            )
            .expect("map");
        assert!(armed, "the section is guarded");
        (heap, interrupt)
    }

    #[test]
    fn a_guarded_section_reads_its_file_bytes_once_checked() {
        let (mut heap, interrupt) = guarded("good", 5, None);
        let base = (heap.static_offset() / 8) as usize;
        // Out of order: the access to the last chunk traps and is checked
        // on the spot, whatever the helper thread has done.
        let last = base + 5 * CHUNK / 8 - 1;
        assert_eq!(heap.word_at(last), (5 * CHUNK / 8 - 1) as u64);
        assert_eq!(heap.word_at(base + 3), 3);
        heap.check_static_range(heap.static_offset() + 70_000, 200_000)
            .expect("good chunks");
        heap.finish_static_check().expect("all good");
        assert!(!heap.static_check_pending());
        assert!(!interrupt.load(Ordering::Acquire));
        // Writes go to a private copy of the page, as before.
        let v = crate::Value::from_offset(heap.static_offset());
        heap.set_raw(v, 0, 42);
        assert_eq!(heap.word_at(base + 1), 42);
    }

    #[test]
    fn damage_is_reported_and_its_chunk_never_opened() {
        let (mut heap, interrupt) = guarded("bad", 4, Some(2 * CHUNK + 100));
        let base = (heap.static_offset() / 8) as usize;
        // A chunk before the damage reads normally.
        assert_eq!(heap.word_at(base + 10), 10);
        let off = heap.static_offset();
        assert!(matches!(
            heap.check_static_range(off + 2 * CHUNK as u64, 8),
            Err(crate::HeapError::Damaged { chunk: 2 })
        ));
        assert!(interrupt.load(Ordering::Acquire));
        assert!(matches!(
            heap.finish_static_check(),
            Err(crate::HeapError::Damaged { chunk: 2 })
        ));
        assert_eq!(heap.static_damage(), Some(2));
        // Still guarded: the damaged chunk stays closed.
        assert!(heap.static_check_pending());
        // A full collection refuses to scan it.
        assert!(matches!(
            heap.collect(crate::CollectionKind::Major, &mut crate::NoRoots),
            Err(crate::HeapError::Damaged { chunk: 2 })
        ));
    }

    #[test]
    fn the_helper_thread_alone_checks_every_chunk() {
        let (heap, _) = guarded("helper", 6, None);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while heap
            .region
            .guard
            .as_ref()
            .is_some_and(|g| !g.is_complete() && g.helper_running())
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let g = heap.region.guard.as_ref().expect("still registered");
        // On one CPU there is no helper and nothing is checked until used.
        assert!(g.is_complete() || crate::space::one_cpu());
        drop(heap);
    }
}
