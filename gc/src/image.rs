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

/// The result of [`Heap::purify`].
pub struct Purified {
    /// The static section: objects back to back, starting at the static
    /// space's region offset.
    pub words: Vec<u64>,
    /// The roots, as references into `words`.
    pub roots: Vec<Value>,
    /// Number of objects copied.
    pub objects: usize,
}

#[cfg(target_endian = "big")]
compile_error!("images are little-endian; this heap writes its words as they are in memory");

impl Purified {
    /// The section's bytes: the words as they are in memory, which on the
    /// little-endian machines imp runs on is the format's byte order.
    pub fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.words)
    }
}

impl Heap {
    /// Region offset of the static space (where a purified section goes).
    pub fn static_offset(&self) -> u64 {
        self.statics.start
    }

    /// Copy every object reachable from `roots` into a new static section.
    /// The heap is only read. Work list: the output buffer itself (Cheney),
    /// so deep structures need no recursion.
    ///
    /// # Errors
    /// [`HeapError::OutOfMemory`] if the live data exceeds the static space.
    pub fn purify(&self, roots: &[Value]) -> Result<Purified, HeapError> {
        let base = self.statics.start;
        let limit_words = ((self.statics.limit - base) / 8) as usize;
        let words = self.region.words();
        // Forwarding: one u32 per word of each space that holds objects
        // (new word index + 1; 0: not copied yet). Zeroed lazily by the OS,
        // so only the pages of copied objects' headers are touched.
        let spaces = [self.statics, self.old, self.nursery, self.pure];
        let mut fwd: Vec<Vec<u32>> = spaces
            .iter()
            .map(|s| vec![0u32; (s.used() / 8) as usize])
            .collect();
        let capacity: u64 = spaces.iter().map(|s| s.used() / 8).sum();
        let mut out: Vec<u64> = Vec::with_capacity(capacity as usize);
        let mut objects = 0usize;
        let mut copy = |v: Value, out: &mut Vec<u64>| -> Result<Value, HeapError> {
            if !v.is_ref() {
                return Ok(v);
            }
            let off = v.offset();
            let Some(k) = spaces.iter().position(|s| s.contains(off)) else {
                return Err(HeapError::Image(format!(
                    "purify: reference to offset {off}, outside every space"
                )));
            };
            let slot = ((off - spaces[k].start) / 8) as usize;
            let f = fwd[k][slot];
            if f != 0 {
                return Ok(Value::from_offset(base + (f as u64 - 1) * 8));
            }
            let i = (off / 8) as usize;
            let n = header_words(words[i]) + 1;
            if out.len() + n > limit_words || out.len() >= u32::MAX as usize - 1 {
                return Err(HeapError::OutOfMemory {
                    requested: ((out.len() + n) * 8) as u64,
                    limit: limit_words as u64 * 8,
                });
            }
            let at = out.len();
            out.extend_from_slice(&words[i..i + n]);
            out[at] &= !REMEMBERED_BIT;
            fwd[k][slot] = at as u32 + 1;
            objects += 1;
            Ok(Value::from_offset(base + at as u64 * 8))
        };
        let mut new_roots = Vec::with_capacity(roots.len());
        for &r in roots {
            new_roots.push(copy(r, &mut out)?);
        }
        let mut scan = 0;
        while scan < out.len() {
            let h = out[scan];
            let n = header_words(h);
            if header_tag(h).is_traced() {
                for j in scan + 1..scan + 1 + n {
                    let v = Value::from_bits(out[j]);
                    if v.is_ref() {
                        out[j] = copy(v, &mut out)?.bits();
                    }
                }
            }
            scan += n + 1;
        }
        Ok(Purified {
            words: out,
            roots: new_roots,
            objects,
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
        if len > self.statics.limit - self.statics.start || len % 8 != 0 {
            return Err(HeapError::Image(format!(
                "a static section of {len} bytes does not fit this heap's static space"
            )));
        }
        self.region
            .map_file(self.statics.start, fd, file_offset, len)?;
        self.statics.top = self.statics.start + len;
        Ok(())
    }

    /// Check every object of the static space (an image just mapped): each
    /// accepted by `valid` (tag and payload, the runtime's shapes), sizes inside the space, references to object
    /// headers inside it, and every reference in `roots` too. Returns the
    /// number of objects.
    ///
    /// # Errors
    /// A description of the first bad object.
    pub fn verify_static(
        &self,
        valid: &dyn Fn(crate::Tag, &[u64]) -> Result<(), String>,
        roots: &[Value],
    ) -> Result<usize, String> {
        let words = self.region.words();
        let (start, top) = (
            (self.statics.start / 8) as usize,
            (self.statics.top / 8) as usize,
        );
        let mut starts = std::collections::HashSet::new();
        let mut at = start;
        while at < top {
            let h = words[at];
            let t = header_tag(h);
            let n = header_words(h);
            if at + 1 + n > top {
                return Err(format!("object at offset {} runs past the section", at * 8));
            }
            valid(t, &words[at + 1..at + 1 + n])
                .map_err(|m| format!("object at offset {}: {m}", at * 8))?;
            starts.insert(at);
            at += 1 + n;
        }
        for r in roots {
            if r.is_ref() && !starts.contains(&((r.offset() / 8) as usize)) {
                return Err(format!(
                    "a root refers to offset {}, which is no object of the image",
                    r.offset()
                ));
            }
        }
        let mut at = start;
        while at < top {
            let h = words[at];
            let n = header_words(h);
            if header_tag(h).is_traced() {
                for j in at + 1..at + 1 + n {
                    let v = Value::from_bits(words[j]);
                    if v.is_ref() && !starts.contains(&((v.offset() / 8) as usize)) {
                        return Err(format!(
                            "object at offset {} refers to offset {}, which is no object of the image",
                            at * 8,
                            v.offset()
                        ));
                    }
                }
            }
            at += 1 + n;
        }
        Ok(starts.len())
    }
}
