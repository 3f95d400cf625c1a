//! The heap region and the spaces carved out of it.
//!
//! The whole heap is one reservation of virtual memory. Spaces sit at fixed
//! offsets inside it; references are offsets from its base (see `value.rs`).
//! The reservation is mapped read-write with `MAP_NORESERVE`, so untouched
//! pages cost nothing, released pages are handed back with
//! `MADV_DONTNEED`, and a nursery window about to be filled is faulted in
//! with one `MADV_POPULATE_WRITE` rather than a trap per page (the next
//! one ahead of time, by a helper thread: `Region::populate_ahead`).
//!
//! ```text
//! 0        GUARD_BYTES            never an object: offset 0 is no reference
//! pure     immutable objects from an image (read-only once images map it)
//! static   mutable objects from an image, never moved
//! old[0]   old generation, semispace A
//! old[1]   old generation, semispace B
//! nursery  young objects, bump allocated
//! ```

use std::ptr::NonNull;

use nix::sys::mman::{madvise, mmap_anonymous, munmap, MapFlags, MmapAdvise, ProtFlags};

use crate::HeapError;

/// Bytes at the start of the region that hold no object.
pub const GUARD_BYTES: u64 = 64 * 1024;

/// Page granularity for space boundaries.
pub(crate) const PAGE_BYTES: u64 = 64 * 1024;

/// A contiguous range of the region that objects are bump-allocated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// Byte offset of the first object slot.
    pub start: u64,
    /// Byte offset one past the last allocated byte.
    pub top: u64,
    /// Byte offset one past the end of the space's reservation.
    pub limit: u64,
}

impl Space {
    pub(crate) fn new(start: u64, bytes: u64) -> Space {
        Space {
            start,
            top: start,
            limit: start + bytes,
        }
    }

    /// Does `offset` fall among this space's allocated objects?
    #[inline(always)]
    pub fn contains(&self, offset: u64) -> bool {
        offset.wrapping_sub(self.start) < self.top - self.start
    }

    /// Bytes allocated so far.
    pub fn used(&self) -> u64 {
        self.top - self.start
    }

    /// Bytes still free.
    pub fn free(&self) -> u64 {
        self.limit - self.top
    }
}

/// The mapped region backing one heap.
pub(crate) struct Region {
    /// First byte of the mapping (word aligned: mappings are page aligned).
    base: NonNull<u64>,
    /// Length of the mapping in bytes.
    bytes: usize,
    /// The helper thread faulting in pages ahead of use, once asked to.
    prefaulter: Option<Prefaulter>,
    /// No helper thread: the process may run on one CPU only (it would
    /// only take turns with the mutator), or one could not be started.
    no_prefaulter: bool,
    /// The static section mapped from an image, while some of its chunks
    /// are still to be checked (`guard.rs`).
    pub(crate) guard: Option<crate::guard::Armed>,
}

/// A helper OS thread that faults in pages of the region ahead of the
/// mutator (`Region::populate_ahead`), on the other core: the kernel's
/// work for fresh pages (zeroing, accounting, page tables) is most of what
/// growing the heap costs. It never reads or writes a heap word and holds
/// no lock; a forked child, which has no such thread, just never sees its
/// requests served and faults pages in as it uses them.
struct Prefaulter {
    shared: std::sync::Arc<PrefaultRequest>,
    thread: std::thread::JoinHandle<()>,
}

struct PrefaultRequest {
    /// The range to fault in, in `PAGE_BYTES` units, first page in the high
    /// half and page count in the low half; 0 for none. A newer request
    /// replaces one not yet taken.
    pending: std::sync::atomic::AtomicU64,
    /// Set by the thread while it may be working on a request: a release
    /// waits for it to clear, so that no page given back is faulted in
    /// again behind it.
    busy: std::sync::atomic::AtomicBool,
    /// Set when the region is dropped: the thread ends.
    stop: std::sync::atomic::AtomicBool,
}

/// May this process run on one CPU only (affinity, cgroup quota)?
pub(crate) fn one_cpu() -> bool {
    std::thread::available_parallelism().map_or(true, |n| n.get() < 2)
}

/// Fault in `len` bytes at `addr` for writing. Failing (an older kernel,
/// a range given back meanwhile) is harmless: the pages fault in as used.
fn populate_range(addr: *mut u8, len: usize) {
    // SAFETY: callers pass a range inside a live mapping of their region;
    // populating anonymous memory changes no contents.
    let r = unsafe { nix::libc::madvise(addr.cast(), len, nix::libc::MADV_POPULATE_WRITE) };
    let _ = r;
}

fn prefault_loop(base: usize, bytes: usize, req: &PrefaultRequest) {
    use std::sync::atomic::Ordering;
    loop {
        // Busy before taking a request: a release that cleared `pending`
        // and then saw `busy` clear knows no request is being served.
        req.busy.store(true, Ordering::SeqCst);
        let r = req.pending.swap(0, Ordering::SeqCst);
        if r == 0 {
            req.busy.store(false, Ordering::SeqCst);
            if req.stop.load(Ordering::Acquire) {
                return;
            }
            // An unpark between the two loads above and here makes this
            // return at once.
            std::thread::park();
            continue;
        }
        let start = (r >> 32) * PAGE_BYTES;
        let end = start + (r & 0xffff_ffff) * PAGE_BYTES;
        if end as usize <= bytes {
            populate_range((base + start as usize) as *mut u8, (end - start) as usize);
        }
    }
}

impl Region {
    pub(crate) fn reserve(bytes: u64) -> Result<Region, HeapError> {
        let len = usize::try_from(bytes)
            .ok()
            .and_then(std::num::NonZeroUsize::new)
            .ok_or(HeapError::Reserve {
                bytes,
                cause: "size does not fit this platform".into(),
            })?;
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing cannot alias any existing Rust object.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE,
            )
        }
        .map_err(|e| HeapError::Reserve {
            bytes,
            cause: e.desc().to_string(),
        })?;
        // Transparent huge pages would make a forked save child copy 2 MB
        // for the parent's first write to any page; ask for small pages.
        // SAFETY: advice on our own fresh mapping; it changes no contents.
        let _ = unsafe { madvise(ptr, len.get(), MmapAdvise::MADV_NOHUGEPAGE) };
        Ok(Region {
            base: ptr.cast(),
            bytes: len.get(),
            prefaulter: None,
            no_prefaulter: false,
            guard: None,
        })
    }

    /// Map `len` bytes of `fd` from `file_offset` over the region at
    /// `offset`, private and writable (copy-on-write): the region stays
    /// readable and writable everywhere, so the word slices stay valid.
    pub(crate) fn map_file(
        &mut self,
        offset: u64,
        fd: std::os::fd::BorrowedFd<'_>,
        file_offset: u64,
        len: u64,
    ) -> Result<(), HeapError> {
        let map_len = len.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        if !offset.is_multiple_of(PAGE_BYTES)
            || !file_offset.is_multiple_of(PAGE_BYTES)
            || offset
                .checked_add(map_len)
                .is_none_or(|e| e > self.bytes as u64)
        {
            return Err(HeapError::Image(
                "section misaligned or outside the heap region".into(),
            ));
        }
        let Some(n) = std::num::NonZeroUsize::new(map_len as usize) else {
            return Ok(());
        };
        let file_off = i64::try_from(file_offset)
            .map_err(|_| HeapError::Image("section offset too large".into()))?;
        // SAFETY: the target range lies inside our own reservation (checked
        // above), so MAP_FIXED replaces only pages this region owns; `&mut
        // self` means no slice over the region is alive across the call.
        let ptr = unsafe { self.base.cast::<u8>().add(offset as usize) };
        let addr = std::num::NonZeroUsize::new(ptr.as_ptr() as usize)
            .ok_or_else(|| HeapError::Image("null mapping address".into()))?;
        // SAFETY: as above; the new mapping is readable and writable like
        // the rest of the region, and private, so writes never reach the file.
        unsafe {
            nix::sys::mman::mmap(
                Some(addr),
                n,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED,
                fd,
                file_off,
            )
        }
        .map_err(|e| HeapError::Image(format!("cannot map the image: {}", e.desc())))?;
        Ok(())
    }

    /// Take all access away from the `len` bytes at `offset` (a section
    /// just mapped from the file `check` checks) until their chunks have
    /// been checked (`guard.rs`). `Ok(false)`: they could not be guarded
    /// and stay accessible; the caller must check them all itself before
    /// anything reads them.
    pub(crate) fn guard_section(
        &mut self,
        offset: u64,
        len: u64,
        check: std::sync::Arc<dyn crate::guard::ChunkCheck>,
        interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
        exit_status: i32,
    ) -> Result<bool, HeapError> {
        let map_len = len.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        if self.guard.is_some()
            || !offset.is_multiple_of(PAGE_BYTES)
            || offset
                .checked_add(map_len)
                .is_none_or(|e| e > self.bytes as u64)
        {
            return Err(HeapError::Image(
                "a guarded section misaligned, outside the heap region, or a second one".into(),
            ));
        }
        let base = self.base.as_ptr() as usize + offset as usize;
        // The region outlives the guard (`Drop` drops it first), and only
        // this region's heap, on its own thread, accesses the range.
        // SAFETY: the range lies inside this region's mapping (checked
        // above); `&mut self`: no slice over the region is in use.
        let armed = unsafe {
            crate::guard::Armed::arm(base, map_len as usize, check, interrupt, exit_status)
        };
        self.guard = armed;
        Ok(self.guard.is_some())
    }

    /// The first word of the mapping.
    #[inline(always)]
    pub(crate) fn base_ptr(&self) -> *mut u64 {
        self.base.as_ptr()
    }

    /// The whole region as words.
    #[inline(always)]
    pub(crate) fn words(&self) -> &[u64] {
        // Anonymous memory reads as zero until written. A guarded image
        // section's chunk not yet checked traps on access into `guard.rs`'s
        // handler, which makes it readable (its file bytes, checked) and
        // lets the access go on, or ends the process.
        // SAFETY: the mapping is readable, word aligned, `bytes` long, and
        // lives as long as `self`; every access completes on mapped bytes.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.bytes / 8) }
    }

    /// The whole region as mutable words.
    #[inline(always)]
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `words`, and `&mut self` makes this the only borrow.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.bytes / 8) }
    }

    /// Fault in the pages of `[start, end)` for writing, in one call: the
    /// kernel still zeroes each page, but without a trap per page.
    pub(crate) fn populate(&mut self, start: u64, end: u64) {
        let start = start / PAGE_BYTES * PAGE_BYTES;
        let end = end.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        if end <= start || end as usize > self.bytes {
            return;
        }
        // The range lies inside our own mapping (checked above).
        populate_range(
            (self.base.as_ptr() as usize + start as usize) as *mut u8,
            (end - start) as usize,
        );
    }

    /// Have the helper thread fault in `[start, end)` (replacing a request
    /// it has not taken yet), starting the thread the first time. Returns
    /// whether the request was made: not when the process may use only one
    /// CPU or no thread could be started, and then the caller populates
    /// the pages itself when it needs them.
    pub(crate) fn populate_ahead(&mut self, start: u64, end: u64) -> bool {
        use std::sync::atomic::Ordering;
        let first = start / PAGE_BYTES;
        let last = end.div_ceil(PAGE_BYTES);
        if last <= first || (last * PAGE_BYTES) as usize > self.bytes || first >> 32 != 0 {
            return false;
        }
        if self.no_prefaulter {
            return false;
        }
        if self.prefaulter.is_none() {
            // On one CPU the helper would only take turns with the
            // mutator (it costs a little then, not nothing).
            if one_cpu() {
                self.no_prefaulter = true;
                return false;
            }
            let shared = std::sync::Arc::new(PrefaultRequest {
                pending: std::sync::atomic::AtomicU64::new(0),
                busy: std::sync::atomic::AtomicBool::new(false),
                stop: std::sync::atomic::AtomicBool::new(false),
            });
            let (base, bytes) = (self.base.as_ptr() as usize, self.bytes);
            let req = shared.clone();
            let thread = std::thread::Builder::new()
                .name("imp-prefault".into())
                .spawn(move || prefault_loop(base, bytes, &req));
            let Ok(thread) = thread else {
                self.no_prefaulter = true;
                return false;
            };
            self.prefaulter = Some(Prefaulter { shared, thread });
        }
        let Some(p) = &self.prefaulter else {
            return false;
        };
        p.shared
            .pending
            .store((first << 32) | (last - first), Ordering::Release);
        p.thread.thread().unpark();
        true
    }

    /// Drop a request the helper thread has not taken yet and wait for one
    /// it is serving (before pages are given back, so that it does not
    /// fault them in again).
    fn cancel_ahead(&mut self) {
        use std::sync::atomic::Ordering;
        if let Some(p) = &self.prefaulter {
            p.shared.pending.store(0, Ordering::SeqCst);
            // A request already taken takes about a millisecond.
            while p.shared.busy.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
    }

    /// Give the pages of `[start, end)` back to the kernel; they read as zero after.
    pub(crate) fn release(&mut self, start: u64, end: u64) {
        let start = start.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        let end = end / PAGE_BYTES * PAGE_BYTES;
        if end <= start || end as usize > self.bytes {
            return;
        }
        self.cancel_ahead();
        // SAFETY: the range lies inside our own mapping (checked above) and
        // page aligned; `&mut self` means no borrow of these words is live.
        let ptr = unsafe { self.base.cast::<u8>().add(start as usize) };
        // SAFETY: as above; DONTNEED on private anonymous memory only zeroes it.
        let r = unsafe {
            madvise(
                ptr.cast(),
                (end - start) as usize,
                MmapAdvise::MADV_DONTNEED,
            )
        };
        // Failing to release is harmless: the pages stay resident.
        let _ = r;
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // The image checker's thread and registration end before the
        // mapping they work on goes.
        self.guard = None;
        // The helper thread ends before the mapping it works on goes.
        if let Some(p) = self.prefaulter.take() {
            p.shared
                .stop
                .store(true, std::sync::atomic::Ordering::Release);
            p.thread.thread().unpark();
            let _ = p.thread.join();
        }
        // SAFETY: we own the mapping and nothing borrows it once we are dropped.
        let r = unsafe { munmap(self.base.cast(), self.bytes) };
        let _ = r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many 4 KB pages of `[start, end)` are resident.
    fn resident_pages(r: &Region, start: u64, end: u64) -> usize {
        let pages = ((end - start) / 4096) as usize;
        let mut vec = vec![0u8; pages];
        // SAFETY: the range lies inside the region's live mapping and is
        // page aligned; `vec` has a byte per page.
        let rc = unsafe {
            nix::libc::mincore(
                (r.base.as_ptr() as usize + start as usize) as *mut nix::libc::c_void,
                (end - start) as usize,
                vec.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0, "mincore");
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }

    #[test]
    fn pages_asked_for_ahead_are_faulted_in_by_the_helper_thread() {
        let mb = 1u64 << 20;
        let mut r = Region::reserve(64 * mb).expect("reserve");
        assert_eq!(resident_pages(&r, 4 * mb, 8 * mb), 0);
        if one_cpu() {
            // One CPU: no helper, the caller populates as it goes.
            assert!(!r.populate_ahead(4 * mb, 8 * mb));
            assert!(r.prefaulter.is_none());
            return;
        }
        assert!(r.populate_ahead(4 * mb, 8 * mb));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while resident_pages(&r, 4 * mb, 8 * mb) < 1024 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(
            resident_pages(&r, 4 * mb, 8 * mb),
            1024,
            "all 4 MB resident"
        );
        assert_eq!(resident_pages(&r, 16 * mb, 20 * mb), 0, "nothing else");
        // Nothing was written: the pages read as zero.
        assert!(r.words()[(4 * mb / 8) as usize..(8 * mb / 8) as usize]
            .iter()
            .all(|&w| w == 0));
        // Given back, they are not faulted in again; out of range is refused.
        r.release(4 * mb, 8 * mb);
        assert_eq!(resident_pages(&r, 4 * mb, 8 * mb), 0);
        assert!(!r.populate_ahead(60 * mb, 70 * mb));
        // Dropping the region ends the thread (the test would hang if not).
        drop(r);
    }
}
