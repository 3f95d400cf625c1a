//! The heap region and the spaces carved out of it.
//!
//! The whole heap is one reservation of virtual memory. Spaces sit at fixed
//! offsets inside it; references are offsets from its base (see `value.rs`).
//! The reservation is mapped read-write with `MAP_NORESERVE`, so untouched
//! pages cost nothing, released pages are handed back with
//! `MADV_DONTNEED`, and a nursery window about to be filled is faulted in
//! with one `MADV_POPULATE_WRITE` rather than a trap per page.
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

    /// The whole region as words.
    #[inline(always)]
    pub(crate) fn words(&self) -> &[u64] {
        // SAFETY: the mapping is readable, word aligned, `bytes` long, and
        // lives as long as `self`; anonymous memory reads as zero until written.
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
        // SAFETY: the range lies inside our own mapping (checked above);
        // populating anonymous memory changes no contents.
        let r = unsafe {
            nix::libc::madvise(
                self.base.cast::<u8>().add(start as usize).as_ptr().cast(),
                (end - start) as usize,
                nix::libc::MADV_POPULATE_WRITE,
            )
        };
        // Failing (an older kernel) is harmless: the pages fault in as used.
        let _ = r;
    }

    /// Give the pages of `[start, end)` back to the kernel; they read as zero after.
    pub(crate) fn release(&mut self, start: u64, end: u64) {
        let start = start.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        let end = end / PAGE_BYTES * PAGE_BYTES;
        if end <= start || end as usize > self.bytes {
            return;
        }
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
        // SAFETY: we own the mapping and nothing borrows it once we are dropped.
        let r = unsafe { munmap(self.base.cast(), self.bytes) };
        let _ = r;
    }
}
