//! Object headers.
//!
//! Every heap object starts with one header word followed by its payload:
//!
//! ```text
//! bits  0..8   tag: what the object is (the runtime gives tags meaning)
//! bit   8      remembered: the object is in the remembered set
//! bits  9..32  identity hash (23 bits), fixed when the object is allocated
//! bits 32..64  payload length in words
//! ```
//!
//! **Invariant (scanning):** a tag below [`RAW_TAG_MIN`] means every payload
//! word is a [`Value`](crate::Value) the collector traces; a tag at or above it
//! means the payload is raw bytes the collector copies but never reads. This
//! is the only thing the collector knows about object shapes.
//!
//! The identity hash survives moves and image loads, so `eq?`-keyed tables
//! never need rehashing.

/// An object's type tag. The runtime defines the values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag(pub u8);

/// Tags from here up mark raw (untraced) payloads.
pub const RAW_TAG_MIN: u8 = 0x80;
/// Header tag of a forwarded object during a collection; the rest of the
/// header word is the new offset shifted left by 8.
pub(crate) const FORWARD_TAG: u8 = 0xFF;
/// Header tag of a filler: the unused tail of a nursery window promoted in
/// place, raw so it is never scanned, and never referenced.
pub(crate) const FILLER_TAG: u8 = 0xFE;
/// Tag 0 is never a valid object: zeroed or released memory reads as it.
pub(crate) const INVALID_TAG: u8 = 0;

pub(crate) const REMEMBERED_BIT: u64 = 1 << 8;
const HASH_SHIFT: u32 = 9;
const HASH_MASK: u64 = (1 << 23) - 1;

impl Tag {
    /// Does the collector trace this object's payload?
    #[inline(always)]
    pub const fn is_traced(self) -> bool {
        self.0 < RAW_TAG_MIN
    }
}

/// Build a header word.
#[inline(always)]
pub(crate) fn make_header(tag: Tag, hash: u32, words: usize) -> u64 {
    (tag.0 as u64) | ((hash as u64 & HASH_MASK) << HASH_SHIFT) | ((words as u64) << 32)
}

/// Tag of a header word.
#[inline(always)]
pub(crate) fn header_tag(h: u64) -> Tag {
    Tag(h as u8)
}

/// Payload length in words of a header word.
#[inline(always)]
pub(crate) fn header_words(h: u64) -> usize {
    (h >> 32) as usize
}

/// Identity hash of a header word.
#[inline(always)]
pub(crate) fn header_hash(h: u64) -> u32 {
    ((h >> HASH_SHIFT) & HASH_MASK) as u32
}

/// The identity hash given to an object first allocated at `offset` during
/// nursery cycle `epoch`: a mix of both. The nursery reuses its offsets
/// after every collection, so the offset alone would give every cycle's
/// objects the same few hundred thousand hashes.
/// `mix` is [`epoch_mix`] of the epoch, which the heap keeps ready.
#[inline(always)]
pub(crate) fn hash_for_offset(offset: u64, mix: u64) -> u32 {
    let x = (offset >> 3) ^ mix;
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 41) as u32
}

/// The epoch's part of [`hash_for_offset`].
#[inline(always)]
pub(crate) fn epoch_mix(epoch: u64) -> u64 {
    epoch.wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_round_trip() {
        let h = make_header(Tag(0x42), 0x7f_ffff, 123_456);
        assert_eq!(header_tag(h), Tag(0x42));
        assert_eq!(header_hash(h), 0x7f_ffff);
        assert_eq!(header_words(h), 123_456);
        assert_eq!(h & REMEMBERED_BIT, 0);
    }

    #[test]
    fn raw_tags_are_not_traced() {
        assert!(Tag(1).is_traced());
        assert!(!Tag(RAW_TAG_MIN).is_traced());
    }
}
