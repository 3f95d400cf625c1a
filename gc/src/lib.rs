//! imp's heap: one region of memory holding every Scheme object.
//!
//! This crate knows object *shapes* — a header, then payload words that are
//! either all traced values or all raw bytes — and nothing of the language:
//! the runtime gives tags their meaning. It provides bump allocation, a
//! precise moving generational collector, the write barrier, root tables and
//! a heap verifier.
//!
//! References are offsets from the region's base (see [`value`]), so a heap
//! copied or mapped elsewhere needs no relocation.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod collect;
mod guard;
mod heap;
mod image;
pub mod object;
mod offset_set;
mod space;
mod stack;
pub mod value;
mod verify;

pub use collect::{CollectionKind, NoRoots, Roots};
pub use guard::ChunkCheck;
pub use heap::{GcStats, Global, Handle, Heap, HeapConfig};
pub use image::{piece_buffer, PieceBuf, Purified, PurifyReport, SectionSink, PIECE_BYTES};
pub use object::{Tag, RAW_TAG_MIN};
pub use offset_set::OffsetSet;
pub use space::Space;
pub use stack::{Stack, STACK_HEADROOM, STACK_LIMIT, STACK_SLOTS};
pub use value::{Imm, Value, FIXNUM_MAX, FIXNUM_MIN};

/// Why a heap operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HeapError {
    /// The address space for the heap could not be reserved.
    #[error("cannot reserve {bytes} bytes of address space for the heap: {cause}")]
    Reserve {
        /// Bytes asked for.
        bytes: u64,
        /// What the system said.
        cause: String,
    },
    /// The old generation is full.
    #[error("heap exhausted: {requested} more bytes needed, limit is {limit} bytes")]
    OutOfMemory {
        /// Bytes that did not fit.
        requested: u64,
        /// The space's size in bytes.
        limit: u64,
    },
    /// An image section could not be mapped.
    #[error("{0}")]
    Image(String),
    /// A chunk of the image's static section did not match its checksum
    /// (`Heap::finish_static_check`).
    #[error("chunk {chunk} of the image's static section does not match its checksum")]
    Damaged {
        /// The chunk's index in the section.
        chunk: usize,
    },
}

#[cfg(test)]
mod tests;
