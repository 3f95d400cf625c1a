//! Checking a section's bytes against its chunk checksums (§4.4, §8.5), a
//! chunk at a time: whole at load for a small image, or as the heap first
//! uses each chunk of a large one (`imp_gc::ChunkCheck`).

use crate::{
    error::section_name, map_readonly, Image, ImageError, Section, SectionKind, ALIGN, CHUNK,
};

/// One section's chunk checksums and a read-only view of its bytes in the
/// file. Checking a chunk reads the file's pages through that view and
/// then lets them go from it, so a check leaves no second mapping of the
/// image resident.
pub struct BodyCheck {
    /// The file, for messages.
    path: String,
    /// The section's kind, for messages.
    kind: SectionKind,
    /// The file from the page boundary at or below the section's start.
    map: Option<memmap2::Mmap>,
    /// Where the section starts in `map`.
    delta: usize,
    /// The section's length in bytes.
    len: usize,
    /// The expected CRC-32 of each chunk.
    sums: Vec<u32>,
    /// The start of the message a process ending on damage writes:
    /// `PREFIX PATH: damaged image: chunk `.
    head: Vec<u8>,
    /// The middle of that message: ` of its KIND section (bytes `.
    middle: Vec<u8>,
}

impl BodyCheck {
    pub(crate) fn new(
        img: &Image,
        s: &Section,
        sums: Vec<u32>,
        prefix: &str,
    ) -> Result<BodyCheck, ImageError> {
        let base = s.file_offset / ALIGN * ALIGN;
        let delta = (s.file_offset - base) as usize;
        let len = usize::try_from(s.len).map_err(|_| ImageError::Damaged {
            path: img.path.clone(),
            cause: "a section too large for this machine".into(),
        })?;
        let map = if len == 0 {
            None
        } else {
            Some(
                map_readonly(&img.file, base, delta + len).map_err(|source| ImageError::Io {
                    path: img.path.clone(),
                    what: "cannot map the image",
                    source,
                })?,
            )
        };
        // Settle the CPU feature detection the hash makes on first use, so
        // that a check from a signal handler only reads what it cached.
        let _ = crc32fast::hash(&[0]);
        Ok(BodyCheck {
            path: img.path.clone(),
            kind: s.kind,
            map,
            delta,
            len,
            sums,
            head: format!("{prefix}{}: damaged image: chunk ", img.path).into_bytes(),
            middle: format!(" of its {} section (bytes ", section_name(s.kind)).into_bytes(),
        })
    }

    /// Number of chunks.
    pub fn chunks(&self) -> usize {
        self.sums.len()
    }

    /// Bytes `start..end` of the section that chunk `i` covers.
    fn span(&self, i: usize) -> (usize, usize) {
        let start = i.saturating_mul(CHUNK as usize).min(self.len);
        (start, start.saturating_add(CHUNK as usize).min(self.len))
    }

    /// Do chunk `i`'s bytes in the file match its checksum? Allocates
    /// nothing and takes no lock (it may run in a signal handler).
    pub fn check_chunk(&self, i: usize) -> bool {
        let (Some(map), Some(&want)) = (&self.map, self.sums.get(i)) else {
            return false;
        };
        let (start, end) = self.span(i);
        let Some(bytes) = map.get(self.delta + start..self.delta + end) else {
            return false;
        };
        let ok = crc32fast::hash(bytes) == want;
        // The pages stay in the page cache (the heap maps them); only this
        // view's hold on them goes.
        // From a boundary of the section alignment, which is a multiple of
        // every page size.
        let align = ALIGN as usize;
        let from = (self.delta + start) / align * align;
        let to = (self.delta + end).min(map.len());
        // Dropping the pages loses nothing: they are read again from the
        // file if touched.
        // SAFETY: `[from, to)` lies inside this read-only shared mapping of
        // the file, and no Rust reference into it is live past this call.
        unsafe {
            nix::libc::madvise(
                map.as_ptr().add(from) as *mut nix::libc::c_void,
                to - from,
                nix::libc::MADV_DONTNEED,
            );
        }
        ok
    }

    /// Check every chunk, in order.
    ///
    /// # Errors
    /// [`ImageError::ChecksumMismatch`] for the first that does not match.
    pub fn verify_all(&self) -> Result<(), ImageError> {
        match (0..self.chunks()).find(|&i| !self.check_chunk(i)) {
            Some(i) => Err(self.error(i)),
            None => Ok(()),
        }
    }

    /// The error for damage in chunk `i`.
    pub fn error(&self, i: usize) -> ImageError {
        let (start, end) = self.span(i);
        ImageError::ChecksumMismatch {
            path: self.path.clone(),
            section: self.kind,
            chunk: i as u64,
            start: start as u64,
            end: end as u64,
        }
    }

    /// Write the prefix given to [`Image::body_check`] and the text of
    /// [`BodyCheck::error`]`(i)`, with a newline, into `out` without
    /// allocating (for a signal handler); the length written (the message
    /// is cut if `out` is too short).
    pub fn damage_message(&self, i: usize, out: &mut [u8]) -> usize {
        let (start, end) = self.span(i);
        let mut w = Writer { out, at: 0 };
        w.put(&self.head);
        w.num(i as u64);
        w.put(&self.middle);
        w.num(start as u64);
        w.put(b"..");
        w.num(end as u64);
        w.put(b") does not match its checksum\n");
        w.at
    }
}

/// Bytes into a fixed buffer, dropping what does not fit.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        let n = b.len().min(self.out.len() - self.at);
        self.out[self.at..self.at + n].copy_from_slice(&b[..n]);
        self.at += n;
    }

    fn num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[k..]);
    }
}

// `check` and `damage_message` read only this struct's own memory (its
// vectors and its read-only mapping of the file), call the CRC (pure
// computation; its CPU detection was settled in `new`) and `madvise`, and
// write only into `out`. `check` reads the file's bytes, not the heap's.
// SAFETY: so no allocation, lock or heap access happens in them (1 and 2);
// `CHUNK` (1 MiB) is a multiple of every page size (3).
unsafe impl imp_gc::ChunkCheck for BodyCheck {
    fn chunk_bytes(&self) -> u64 {
        CHUNK
    }

    fn check(&self, i: usize) -> bool {
        self.check_chunk(i)
    }

    fn damage_message(&self, i: usize, out: &mut [u8]) -> usize {
        BodyCheck::damage_message(self, i, out)
    }
}
