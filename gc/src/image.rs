//! The heap's side of images (`doc/IMAGE-FORMAT.md` §5, §6): purify copies
//! everything reachable from a set of roots into a buffer laid out as the
//! static space it will be mapped at; loading maps such a buffer from a
//! file into a fresh heap's static space.
//!
//! **Invariant:** purify never writes into the heap it copies from. The
//! forwarding information lives in a side table, so in a forked child the
//! inherited pages stay shared with the parent for the whole save.

use std::os::fd::BorrowedFd;

use crate::heap::Heap;
use crate::object::{header_tag, header_words, REMEMBERED_BIT};
use crate::{HeapError, Value};

/// Where [`Heap::purify_to`] sends the static section it makes.
pub trait SectionSink {
    /// The section will be `bytes` long. Called once, before any `write`.
    ///
    /// # Errors
    /// Why the section cannot be taken; purify stops with it.
    fn begin(&mut self, bytes: u64) -> Result<(), String>;
    /// The section's next bytes, in order: page-aligned pieces, each a
    /// whole multiple of [`PIECE_BYTES`] except the last.
    ///
    /// # Errors
    /// Why the bytes cannot be taken; purify stops with it.
    fn write(&mut self, bytes: &[u8]) -> Result<(), String>;
    /// The next piece, its first `len` bytes filled, in `buf` (a
    /// [`piece_buffer`]). A sink that writes on another thread swaps in
    /// a buffer of its own and keeps the full one, so purify goes on
    /// filling while the piece is written; the default writes it here.
    ///
    /// # Errors
    /// As [`SectionSink::write`].
    fn write_buffer(&mut self, buf: &mut PieceBuf, len: usize) -> Result<(), String> {
        self.write(&buf[..len])
    }
}

/// How many objects purify's mark keeps between finding one (and
/// prefetching its header) and taking it.
const MARK_QUEUE: usize = 16;

/// Ask the processor to bring `w`'s cache line in: a hint only.
#[inline(always)]
fn prefetch(w: &u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes nothing the program
    // sees; `w` is a live reference besides. SSE is in every x86_64.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (w as *const u64).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = w;
}

/// A buffer of [`PIECE_BYTES`] bytes that purify fills with a piece.
pub type PieceBuf = memmap2::MmapMut;

/// A new (page-aligned, zeroed) buffer for a piece.
///
/// # Errors
/// Why the memory cannot be had.
pub fn piece_buffer() -> Result<PieceBuf, String> {
    memmap2::MmapMut::map_anon(PIECE_BYTES)
        .map_err(|e| format!("cannot get {PIECE_BYTES} bytes of memory: {e}"))
}

/// The size of the pieces purify hands its sink: a whole number of the
/// image format's 1 MiB checksum chunks, small enough to stay in cache.
pub const PIECE_BYTES: usize = 4 << 20;

/// What [`Heap::purify_to`] made.
#[derive(Clone, Debug)]
pub struct PurifyReport {
    /// The roots, as references into the section.
    pub roots: Vec<Value>,
    /// Number of objects copied.
    pub objects: usize,
    /// The section's length in bytes.
    pub bytes: u64,
}

/// The result of [`Heap::purify`]: the section in memory.
pub struct Purified {
    words: Vec<u64>,
    /// The roots, as references into the section.
    pub roots: Vec<Value>,
    /// Number of objects copied.
    pub objects: usize,
}

#[cfg(target_endian = "big")]
compile_error!("images are little-endian; this heap writes its words as they are in memory");

impl Purified {
    /// The section's words.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The section's bytes: the words as they are in memory, which on the
    /// little-endian machines imp runs on is the format's byte order.
    pub fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.words)
    }
}

/// A sink that keeps the section in memory.
struct MemorySink(Vec<u64>);

impl SectionSink for MemorySink {
    fn begin(&mut self, bytes: u64) -> Result<(), String> {
        self.0.reserve_exact((bytes / 8) as usize);
        Ok(())
    }
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.0.extend(
            bytes
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])),
        );
        Ok(())
    }
}

/// The live objects of one space, found by marking: a bit per word of
/// every live object (header and payload), and for each 64-word block the
/// section word index of its first live word. A live word's new index is
/// its block's base plus the live words before it in the block.
struct LiveMap {
    start: u64,
    bits: Vec<u64>,
    base: Vec<u32>,
}

impl LiveMap {
    fn new(space: &crate::Space) -> LiveMap {
        let words = (space.used() / 8) as usize;
        LiveMap {
            start: space.start,
            bits: vec![0; words.div_ceil(64)],
            base: Vec::new(),
        }
    }

    fn is_live(&self, slot: usize) -> bool {
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// Mark words `from..to` live.
    fn set(&mut self, from: usize, to: usize) {
        let mut i = from;
        while i < to {
            let (w, b) = (i / 64, i % 64);
            let n = (64 - b).min(to - i);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << b
            };
            self.bits[w] |= mask;
            i += n;
        }
    }

    /// Fill `base`, numbering from `first`; returns the index after this
    /// space's last live word.
    fn number(&mut self, first: u64) -> u64 {
        let mut at = first;
        self.base = self
            .bits
            .iter()
            .map(|&w| {
                let b = at as u32;
                at += u64::from(w.count_ones());
                b
            })
            .collect();
        at
    }

    /// The section word index of live word `slot`.
    fn new_index(&self, slot: usize) -> u64 {
        let (w, b) = (slot / 64, slot % 64);
        let below = self.bits[w] & ((1u64 << b) - 1);
        u64::from(self.base[w]) + u64::from(below.count_ones())
    }

    /// The first live word at or after `slot`, if any.
    fn next_live(&self, slot: usize) -> Option<usize> {
        let mut w = slot / 64;
        let mut word = *self.bits.get(w)? & (u64::MAX << (slot % 64));
        loop {
            if word != 0 {
                return Some(w * 64 + word.trailing_zeros() as usize);
            }
            w += 1;
            word = *self.bits.get(w)?;
        }
    }
}

/// Page-aligned output pieces of [`PIECE_BYTES`], handed to a sink when full.
struct PieceWriter<'s> {
    buf: memmap2::MmapMut,
    len: usize,
    sink: &'s mut dyn SectionSink,
    written: u64,
}

impl PieceWriter<'_> {
    const WORDS: usize = PIECE_BYTES / 8;

    fn words(&mut self) -> &mut [u64] {
        bytemuck::cast_slice_mut(&mut self.buf[..])
    }

    fn flush(&mut self) -> Result<(), HeapError> {
        if self.len > 0 {
            self.sink
                .write_buffer(&mut self.buf, self.len * 8)
                .map_err(HeapError::Image)?;
            if self.buf.len() != PIECE_BYTES {
                return Err(HeapError::Image(
                    "purify: the sink gave back a buffer of the wrong size".into(),
                ));
            }
            self.written += self.len as u64 * 8;
            self.len = 0;
        }
        Ok(())
    }

    #[inline]
    fn push(&mut self, w: u64) -> Result<(), HeapError> {
        let at = self.len;
        self.words()[at] = w;
        self.len += 1;
        if self.len == Self::WORDS {
            self.flush()?;
        }
        Ok(())
    }

    fn extend(&mut self, mut ws: &[u64]) -> Result<(), HeapError> {
        while !ws.is_empty() {
            let at = self.len;
            let n = ws.len().min(Self::WORDS - at);
            self.words()[at..at + n].copy_from_slice(&ws[..n]);
            self.len += n;
            ws = &ws[n..];
            if self.len == Self::WORDS {
                self.flush()?;
            }
        }
        Ok(())
    }
}

/// The runtime's check of one object's shape: its tag and payload words.
pub type ShapeCheck<'a> = dyn Fn(crate::Tag, &[u64]) -> Result<(), String> + 'a;

/// The runtime's check of a traced object's fields: its tag, its payload,
/// and the tag of the object a value refers to (`None` for no object).
pub type FieldCheck<'a> =
    dyn Fn(crate::Tag, &[u64], &dyn Fn(Value) -> Option<crate::Tag>) -> Result<(), String> + 'a;

impl Heap {
    /// Region offset of the static space (where a purified section goes).
    pub fn static_offset(&self) -> u64 {
        self.statics.start
    }

    /// Copy every object reachable from `roots` into a new static section,
    /// in memory. See [`Heap::purify_to`].
    ///
    /// # Errors
    /// As [`Heap::purify_to`].
    pub fn purify(&self, roots: &[Value]) -> Result<Purified, HeapError> {
        let mut sink = MemorySink(Vec::new());
        let r = self.purify_to(roots, &mut sink)?;
        Ok(Purified {
            words: sink.0,
            roots: r.roots,
            objects: r.objects,
        })
    }

    /// Copy every object reachable from `roots` into a new static section
    /// laid out to be mapped at the static space, handing it to `sink` a
    /// piece at a time. The heap is only read, and the memory purify needs
    /// besides the heap is small (a bit and a half per heap word, and one
    /// piece): a save child that wrote a copy of a large heap into fresh
    /// memory would spend more time having the kernel zero pages than
    /// copying.
    ///
    /// Three passes, as a compacting collector does: mark what is
    /// reachable (an explicit stack, no recursion), number the live words
    /// in address order (so an object's new place is computed, never
    /// stored), then copy the live objects in address order with their
    /// references renumbered. The section keeps the heap's order.
    ///
    /// # Errors
    /// [`HeapError::OutOfMemory`] if the live data exceeds the static space;
    /// [`HeapError::Image`] for a reference outside the heap or what the
    /// sink refused.
    pub fn purify_to(
        &self,
        roots: &[Value],
        sink: &mut dyn SectionSink,
    ) -> Result<PurifyReport, HeapError> {
        let base = self.statics.start;
        let limit_words = (self.statics.limit - base) / 8;
        let words = self.region.words();
        let spaces = [
            self.statics,
            self.old,
            self.nursery,
            self.pure,
            self.survivors,
        ];
        let mut maps: Vec<LiveMap> = spaces.iter().map(LiveMap::new).collect();
        // The nursery is a window inside the old semispace: look there first.
        let find = |off: u64| -> Result<(usize, usize), HeapError> {
            match [2, 1, 0, 4, 3]
                .into_iter()
                .find(|&k| spaces[k].contains(off))
            {
                Some(k) => Ok((k, ((off - spaces[k].start) / 8) as usize)),
                None => Err(HeapError::Image(format!(
                    "purify: reference to offset {off}, outside every space"
                ))),
            }
        };

        // 1. Mark. The header of an object found, and the word of the
        // live map that holds its bit, are prefetched; it waits in a short
        // queue before it goes on the stack, so that by the time it is
        // taken (found live already, or marked with its size and its
        // fields scanned) both lines have arrived: the walk is bound by
        // memory latency otherwise.
        let mut stack: Vec<(usize, usize, usize)> = Vec::new();
        let mut queue = std::collections::VecDeque::with_capacity(MARK_QUEUE);
        let mut objects = 0usize;
        let mut live_words = 0u64;
        let find_object = |v: Value,
                           maps: &mut [LiveMap],
                           queue: &mut std::collections::VecDeque<(usize, usize, usize)>,
                           stack: &mut Vec<(usize, usize, usize)>|
         -> Result<(), HeapError> {
            if !v.is_ref() {
                return Ok(());
            }
            let (k, slot) = find(v.offset())?;
            let i = (v.offset() / 8) as usize;
            if let Some(w) = words.get(i) {
                prefetch(w);
            }
            if let Some(b) = maps[k].bits.get(slot / 64) {
                prefetch(b);
            }
            if queue.len() == MARK_QUEUE {
                if let Some(oldest) = queue.pop_front() {
                    stack.push(oldest);
                }
            }
            queue.push_back((i, k, slot));
            Ok(())
        };
        for &r in roots {
            find_object(r, &mut maps, &mut queue, &mut stack)?;
        }
        while let Some((i, k, slot)) = stack.pop().or_else(|| queue.pop_front()) {
            if maps[k].is_live(slot) {
                continue;
            }
            let h = *words.get(i).ok_or_else(|| {
                HeapError::Image(format!(
                    "purify: reference to offset {}, past the region",
                    i * 8
                ))
            })?;
            let n = header_words(h);
            if (slot + 1 + n) as u64 > spaces[k].used() / 8 {
                return Err(HeapError::Image(format!(
                    "purify: the object at offset {} runs past its space",
                    i * 8
                )));
            }
            maps[k].set(slot, slot + 1 + n);
            objects += 1;
            live_words += 1 + n as u64;
            if n > 0 && header_tag(h).is_traced() {
                for &w in &words[i + 1..i + 1 + n] {
                    find_object(Value::from_bits(w), &mut maps, &mut queue, &mut stack)?;
                }
            }
        }
        drop((stack, queue));
        if live_words > limit_words || live_words >= u64::from(u32::MAX) {
            return Err(HeapError::OutOfMemory {
                requested: live_words * 8,
                limit: limit_words * 8,
            });
        }

        // 2. Number the live words.
        let mut next = 0u64;
        for m in &mut maps {
            next = m.number(next);
        }
        let relocate = |v: Value| -> Result<Value, HeapError> {
            if !v.is_ref() {
                return Ok(v);
            }
            let (k, slot) = find(v.offset())?;
            Ok(Value::from_offset(base + maps[k].new_index(slot) * 8))
        };
        let new_roots = roots
            .iter()
            .map(|&r| relocate(r))
            .collect::<Result<Vec<_>, _>>()?;

        // 3. Copy, in address order.
        sink.begin(live_words * 8).map_err(HeapError::Image)?;
        let buf = piece_buffer().map_err(|e| HeapError::Image(format!("purify: {e}")))?;
        let mut out = PieceWriter {
            buf,
            len: 0,
            sink,
            written: 0,
        };
        for m in &maps {
            let first = (m.start / 8) as usize;
            let mut slot = 0;
            while let Some(at) = m.next_live(slot) {
                let i = first + at;
                let h = words[i];
                let n = header_words(h);
                out.push(h & !REMEMBERED_BIT)?;
                let payload = &words[i + 1..i + 1 + n];
                if header_tag(h).is_traced() {
                    for &w in payload {
                        out.push(relocate(Value::from_bits(w))?.bits())?;
                    }
                } else {
                    out.extend(payload)?;
                }
                slot = at + 1 + n;
            }
        }
        out.flush()?;
        if out.written != live_words * 8 {
            return Err(HeapError::Image(format!(
                "purify: wrote {} bytes of a {}-byte section",
                out.written,
                live_words * 8
            )));
        }
        Ok(PurifyReport {
            roots: new_roots,
            objects,
            bytes: live_words * 8,
        })
    }

    /// Map `len` bytes of `fd` from `file_offset` as this (fresh) heap's
    /// static space, copy-on-write. `len` is rounded up to the space's page
    /// size; the file must extend that far (images pad their sections).
    ///
    /// # Errors
    /// [`HeapError::Image`] if the static space is in use or too small, or
    /// the mapping fails.
    pub fn map_static(
        &mut self,
        fd: BorrowedFd<'_>,
        file_offset: u64,
        len: u64,
    ) -> Result<(), HeapError> {
        if self.statics.used() != 0 {
            return Err(HeapError::Image(
                "the static space is already in use".into(),
            ));
        }
        if len > self.statics.limit - self.statics.start || !len.is_multiple_of(8) {
            return Err(HeapError::Image(format!(
                "a static section of {len} bytes does not fit this heap's static space"
            )));
        }
        self.region
            .map_file(self.statics.start, fd, file_offset, len)?;
        self.statics.top = self.statics.start + len;
        Ok(())
    }

    /// Map `len` bytes of `fd` from `file_offset` as this (fresh) heap's
    /// static space, as [`Heap::map_static`] does, but with every page
    /// inaccessible until the chunk holding it has matched its checksum
    /// (`check`): a helper thread checks the chunks in order, an access to
    /// one not yet checked checks it first, and damage the helper finds
    /// sets `interrupt`. A process whose access runs into a damaged chunk
    /// writes `check`'s message to standard error and exits with
    /// `exit_status` (see `guard.rs`). Returns `false` if the section could
    /// not be guarded (it is then mapped and accessible, and the caller
    /// must check it whole before anything reads it).
    ///
    /// # Errors
    /// As [`Heap::map_static`].
    pub fn map_static_checked(
        &mut self,
        fd: BorrowedFd<'_>,
        file_offset: u64,
        len: u64,
        check: std::sync::Arc<dyn crate::ChunkCheck>,
        interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
        exit_status: i32,
    ) -> Result<bool, HeapError> {
        self.map_static(fd, file_offset, len)?;
        self.region
            .guard_section(self.statics.start, len, check, interrupt, exit_status)
    }

    /// Are some chunks of a guarded static section still unchecked?
    #[inline(always)]
    pub fn static_check_pending(&self) -> bool {
        self.region.guard.is_some()
    }

    /// The first damaged chunk of a guarded static section found so far,
    /// without waiting.
    pub fn static_damage(&self) -> Option<usize> {
        self.region.guard.as_ref().and_then(|g| g.damage())
    }

    /// Check now the chunks of the static section that hold the `bytes`
    /// bytes at region offset `offset` (what the caller is about to read).
    ///
    /// # Errors
    /// [`HeapError::Damaged`] naming the first damaged chunk.
    pub fn check_static_range(&self, offset: u64, bytes: u64) -> Result<(), HeapError> {
        let Some(g) = &self.region.guard else {
            return Ok(());
        };
        let Some(rel) = offset.checked_sub(self.statics.start) else {
            return Ok(());
        };
        let (Ok(rel), Ok(bytes)) = (usize::try_from(rel), usize::try_from(bytes)) else {
            return Ok(());
        };
        g.check_range(rel, bytes)
            .map_err(|chunk| HeapError::Damaged { chunk })
    }

    /// Check every chunk of a guarded static section not yet checked (with
    /// the helper thread) and wait for the end. Afterwards the section is
    /// an ordinary one.
    ///
    /// # Errors
    /// [`HeapError::Damaged`] naming the first damaged chunk; the section
    /// stays guarded then.
    pub fn finish_static_check(&mut self) -> Result<(), HeapError> {
        let Some(g) = &mut self.region.guard else {
            return Ok(());
        };
        if !g.is_complete() {
            g.finish().map_err(|chunk| HeapError::Damaged { chunk })?;
        }
        self.region.guard = None;
        Ok(())
    }

    /// Check every object of the static space (an image just mapped): each
    /// accepted by `valid` (tag and payload: the runtime's shapes), sizes
    /// inside the space, every reference in a traced object and in `roots`
    /// to an object header inside it, and each traced object's fields
    /// accepted by `fields` (given the tag of what a value refers to).
    /// Returns the number of objects. The object starts are kept in a
    /// bitmap, a bit per word of the section.
    ///
    /// # Errors
    /// A description of the first bad object.
    pub fn verify_static(
        &self,
        valid: &ShapeCheck<'_>,
        fields: &FieldCheck<'_>,
        roots: &[Value],
    ) -> Result<usize, String> {
        let words = self.region.words();
        let (start, top) = (
            (self.statics.start / 8) as usize,
            (self.statics.top / 8) as usize,
        );
        let mut starts = vec![0u64; (top - start).div_ceil(64)];
        let is_start = |starts: &[u64], v: Value| -> bool {
            let w = (v.offset() / 8) as usize;
            v.is_ref()
                && w >= start
                && w < top
                && starts[(w - start) / 64] & (1 << ((w - start) % 64)) != 0
        };
        let mut objects = 0;
        let mut at = start;
        while at < top {
            let h = words[at];
            let t = header_tag(h);
            let n = header_words(h);
            if n > top - at - 1 {
                return Err(format!("object at offset {} runs past the section", at * 8));
            }
            valid(t, &words[at + 1..at + 1 + n])
                .map_err(|m| format!("object at offset {}: {m}", at * 8))?;
            starts[(at - start) / 64] |= 1 << ((at - start) % 64);
            objects += 1;
            at += 1 + n;
        }
        for r in roots {
            if r.is_ref() && !is_start(&starts, *r) {
                return Err(format!(
                    "a root refers to offset {}, which is no object of the image",
                    r.offset()
                ));
            }
        }
        let tag_of = |v: Value| -> Option<crate::Tag> {
            is_start(&starts, v).then(|| header_tag(words[(v.offset() / 8) as usize]))
        };
        let mut at = start;
        while at < top {
            let h = words[at];
            let n = header_words(h);
            let t = header_tag(h);
            if t.is_traced() {
                let payload = &words[at + 1..at + 1 + n];
                for &bits in payload {
                    let v = Value::from_bits(bits);
                    if v.is_ref() && !is_start(&starts, v) {
                        return Err(format!(
                            "object at offset {} refers to offset {}, which is no object of the image",
                            at * 8,
                            v.offset()
                        ));
                    }
                }
                fields(t, payload, &tag_of)
                    .map_err(|m| format!("object at offset {}: {m}", at * 8))?;
            }
            at += 1 + n;
        }
        Ok(objects)
    }

    /// Region offsets of the static space's start and of the end of what
    /// it holds (an image's section, once mapped).
    pub fn static_section(&self) -> (u64, u64) {
        (self.statics.start, self.statics.top)
    }
}
