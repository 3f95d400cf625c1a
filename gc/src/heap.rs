//! `Heap`: allocation, field access, the write barrier and the root tables.
//!
//! **Invariant (where collection happens):** the heap never collects by
//! itself. [`Heap::try_alloc`] returns `None` when the nursery is full and the
//! caller — which knows every root (VM stacks, registers) — calls
//! [`Heap::collect`]. So a collection happens only where the mutator passes a
//! complete root set (ARCHITECTURE.md invariant 4).
//!
//! **Invariant (nursery window):** the nursery is a window inside the old
//! generation's current semispace, `[nursery.start, nursery.limit)`, and
//! old objects lie on both sides of it: `[old.start, nursery.start)` and
//! `[nursery.limit, old.top)`. A minor collection either copies the
//! nursery's survivors to a hole or `old.top`, or, when nearly everything
//! in it survives, *promotes it in place*: the window becomes old data and
//! a new window opens further on (see `collect.rs`).
//!
//! **Invariant (holes):** the old generation is walkable object by object;
//! free runs are filler objects. Each of `holes` is such a run at least a
//! window long, disjoint from the window; `free_bytes` is the size of all
//! the free runs (holes included), so `old_used` counts objects only.
//!
//! **Invariant (survivors):** the young objects are the nursery's and the
//! survivor space's, objects that survived one minor collection. The
//! survivor space lies outside the old semispace; a full collection
//! empties it.
//!
//! **Invariant (remembered set):** every object outside the young spaces
//! that holds a reference into them is in `remembered` with its header's
//! remembered bit set. [`Heap::set`] keeps this; [`Heap::set_init`] is only
//! for objects just allocated in the nursery.

use std::time::Duration;

use crate::object::{
    epoch_mix, hash_for_offset, header_hash, header_tag, header_words, make_header, Tag,
    FILLER_TAG, REMEMBERED_BIT,
};
use crate::space::{Region, Space, GUARD_BYTES, PAGE_BYTES};
use crate::{HeapError, Value};

/// Sizes and modes of a heap.
#[derive(Clone, Debug)]
pub struct HeapConfig {
    /// Bytes of the nursery; young objects are bump-allocated here.
    pub nursery_bytes: u64,
    /// Bytes reserved for each old-generation semispace (virtual; untouched
    /// pages cost nothing). The old generation can never exceed this.
    pub old_bytes: u64,
    /// Bytes reserved for the static space.
    pub static_bytes: u64,
    /// Bytes reserved for the pure space.
    pub pure_bytes: u64,
    /// Old-generation bytes below which no full collection is started.
    pub min_major_bytes: u64,
    /// Collect (and move every young object) at every allocation.
    pub stress: bool,
}

impl Default for HeapConfig {
    /// The standard sizes, shrunk to fit the process's address-space limit
    /// if it has one ([`HeapConfig::fit_address_space`]).
    fn default() -> Self {
        HeapConfig::standard().fit_address_space(address_space_budget())
    }
}

/// The most payload words an object can have: its header holds the length
/// in 32 bits. A larger request is refused, never truncated.
pub const MAX_OBJECT_WORDS: usize = (1 << 32) - 1;

/// Address space kept for everything but the heap when a limit applies:
/// the value stack's reservation ([`crate::stack::STACK_SLOTS`] words) and
/// room for the program, its libraries and its threads.
const OTHER_ADDRESS_SPACE_BYTES: u64 = (crate::stack::STACK_SLOTS as u64) * 8 + (512 << 20);

/// The address space a heap may reserve: what the soft `RLIMIT_AS` and
/// `RLIMIT_DATA` limits leave after everything else (a private writable
/// mapping counts against both); unlimited without them.
pub fn address_space_budget() -> u64 {
    use nix::sys::resource::{getrlimit, Resource};
    let mut limit = u64::MAX;
    for r in [Resource::RLIMIT_AS, Resource::RLIMIT_DATA] {
        match getrlimit(r) {
            Ok((soft, _)) if soft != nix::sys::resource::RLIM_INFINITY => {
                limit = limit.min(soft);
            }
            _ => {}
        }
    }
    if limit == u64::MAX {
        limit
    } else {
        limit.saturating_sub(OTHER_ADDRESS_SPACE_BYTES)
    }
}

impl HeapConfig {
    /// The standard sizes: a 4 MB nursery, old semispaces of 64 GB,
    /// a 64 GB static and a 16 GB pure space (address space, not memory).
    pub fn standard() -> HeapConfig {
        HeapConfig {
            nursery_bytes: 4 << 20,
            old_bytes: 64 << 30,
            static_bytes: 64 << 30,
            pure_bytes: 16 << 30,
            min_major_bytes: 24 << 20,
            stress: false,
        }
    }

    /// Bytes of address space a heap with this configuration reserves.
    pub fn reserved_bytes(&self) -> u64 {
        let nursery = round_up(self.nursery_bytes.max(PAGE_BYTES));
        let old = round_up(self.old_bytes).max(2 * nursery);
        GUARD_BYTES
            + round_up(self.pure_bytes)
            + round_up(self.static_bytes)
            + 2 * old
            + 2 * nursery
    }

    /// This configuration, its spaces shrunk in proportion if its
    /// reservation would take more than `budget` bytes of address space
    /// (under `ulimit -v`). A heap shrunk so lays its spaces out
    /// differently, so images are exchanged only between processes with
    /// the same layout (the fingerprint says which).
    pub fn fit_address_space(mut self, budget: u64) -> HeapConfig {
        if self.reserved_bytes() <= budget {
            return self;
        }
        let nursery = round_up(self.nursery_bytes.max(PAGE_BYTES));
        let room = budget.saturating_sub(GUARD_BYTES + 2 * nursery) / 16;
        self.pure_bytes = (room & !(PAGE_BYTES - 1)).max(PAGE_BYTES);
        self.static_bytes = ((2 * room) & !(PAGE_BYTES - 1)).max(PAGE_BYTES);
        self.old_bytes = ((6 * room) & !(PAGE_BYTES - 1)).max(2 * nursery);
        self
    }
}

/// Counters kept by the collector.
#[derive(Clone, Debug, Default)]
pub struct GcStats {
    /// Minor (nursery) collections so far.
    pub minor_collections: u64,
    /// Of those, how many promoted the nursery where it lay instead of
    /// copying its survivors.
    pub promotions: u64,
    /// Major (full) collections so far.
    pub major_collections: u64,
    /// Of those, how many marked and swept in place instead of copying.
    pub majors_in_place: u64,
    /// Bytes allocated since the heap was made.
    pub bytes_allocated: u64,
    /// Bytes live in the old generation after the last collection.
    pub live_bytes: u64,
    /// Total time spent collecting.
    pub total_pause: Duration,
    /// Longest single collection.
    pub max_pause: Duration,
}

/// A handle: a slot in the heap's scoped root stack, rewritten by the
/// collector. Valid until the stack is truncated below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle(u32);

impl Handle {
    /// The handle for slot `i` of the root stack.
    pub fn from_index(i: usize) -> Handle {
        Handle(i as u32)
    }
}

/// An owned root slot, valid until [`Heap::release_global`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global(u32);

/// The heap of one runtime. Not `Send`: only the initial thread touches it.
pub struct Heap {
    /// The mapped memory.
    pub(crate) region: Region,
    /// Immutable objects (from images).
    pub(crate) pure: Space,
    /// Mutable objects that never move (from images).
    pub(crate) statics: Space,
    /// The old generation's current semispace, the nursery window included.
    pub(crate) old: Space,
    /// The old generation's other semispace (empty between collections).
    pub(crate) old_spare: Space,
    /// Young objects: a window inside `old` (see the module's invariants).
    pub(crate) nursery: Space,
    /// Objects that survived one minor collection: still young, copied
    /// again (to the old generation) if they survive the next.
    pub(crate) survivors: Space,
    /// The survivor space the next minor collection copies into (empty
    /// between collections).
    pub(crate) survivors_spare: Space,
    /// Minor collections still to come that promote the nursery's
    /// survivors at once instead of aging them: the survivor space was
    /// found mostly alive again, so aging only copied it twice.
    pub(crate) skip_aging: u32,
    /// Objects were copied into a survivor space since its pages were last
    /// given back.
    pub(crate) survivor_pages: bool,
    /// Minor collections that may still promote in place before one copies
    /// again (which measures how much of the nursery survives).
    pub(crate) promote_credit: u32,
    /// Pages of the old semispace below this offset have been faulted in.
    pub(crate) populated: u64,
    /// The helper thread was asked to fault in the pages up to here
    /// (`Region::populate_ahead`); they may still be on their way.
    pub(crate) requested: u64,
    /// The last promotion in place used the credit up, or this heap has not
    /// collected yet: the next minor collection measures survival by
    /// marking before it decides. (A program's first data often lives:
    /// measured so, a first nursery all alive is promoted where it lies
    /// instead of copied to the survivor space and soon copied again.)
    pub(crate) measure_next: bool,
    /// Free runs of the old semispace at least a window long, each covered
    /// by a filler object, highest address first (the next window opens in
    /// the last one).
    pub(crate) holes: Vec<Space>,
    /// Bytes of the old semispace (outside the window) that hold fillers
    /// rather than objects: the holes and smaller free runs.
    pub(crate) free_bytes: u64,
    /// Offsets of non-nursery objects that may hold nursery references.
    pub(crate) remembered: Vec<u64>,
    /// Objects whose death the owner wants to hear of, with its token for
    /// each (not roots: they do not keep the objects alive).
    pub(crate) tracked: Vec<(Value, u64)>,
    /// Tokens of tracked objects found dead, until `take_dead`.
    pub(crate) dead: Vec<u64>,
    /// Scoped handle slots (LIFO).
    pub(crate) roots: Vec<Value>,
    /// Owned root slots; free ones hold `Value::UNDEFINED` and are listed in `free_globals`.
    pub(crate) globals: Vec<Value>,
    /// Indices of free slots in `globals`.
    pub(crate) free_globals: Vec<u32>,
    /// Old-generation size that triggers the next major collection, in bytes.
    pub(crate) major_trigger: u64,
    /// In stress mode: the allocation right after a collection must succeed.
    pub(crate) stress_armed: bool,
    /// `try_alloc`'s fast path bumps below this: the nursery's limit, or 0
    /// in stress mode so that every allocation takes the slow path.
    pub(crate) alloc_limit: u64,
    /// Full collections are put off (a save child shares the pages).
    pub(crate) defer_major: bool,
    /// Counters.
    pub(crate) stats: GcStats,
    /// `epoch_mix(self.epoch())`, kept ready for allocation: see
    /// [`Heap::stats_changed`].
    pub(crate) hash_mix: u64,
    /// How this heap was configured.
    pub(crate) config: HeapConfig,
}

fn round_up(n: u64) -> u64 {
    n.div_ceil(PAGE_BYTES) * PAGE_BYTES
}

impl Heap {
    /// Reserve a heap's region and lay out its spaces.
    ///
    /// # Errors
    /// [`HeapError::Reserve`] if the address space cannot be reserved.
    pub fn new(config: HeapConfig) -> Result<Heap, HeapError> {
        let pure_b = round_up(config.pure_bytes);
        let static_b = round_up(config.static_bytes);
        let nursery_b = round_up(config.nursery_bytes.max(PAGE_BYTES));
        // The nursery window lives inside the old semispace.
        let old_b = round_up(config.old_bytes).max(2 * nursery_b);
        let mut at = GUARD_BYTES;
        let pure = Space::new(at, pure_b);
        at += pure_b;
        let statics = Space::new(at, static_b);
        at += static_b;
        let mut old = Space::new(at, old_b);
        at += old_b;
        let old_spare = Space::new(at, old_b);
        at += old_b;
        // Each survivor space holds at most one nursery's survivors.
        let survivors = Space::new(at, nursery_b);
        at += nursery_b;
        let survivors_spare = Space::new(at, nursery_b);
        at += nursery_b;
        let nursery = Space::new(old.start, nursery_b);
        old.top = nursery.limit;
        let region = Region::reserve(at)?;
        Ok(Heap {
            region,
            pure,
            statics,
            old,
            old_spare,
            nursery,
            survivors,
            survivors_spare,
            skip_aging: 0,
            survivor_pages: false,
            promote_credit: 0,
            populated: 0,
            requested: 0,
            measure_next: true,
            holes: Vec::new(),
            free_bytes: 0,
            remembered: Vec::new(),
            tracked: Vec::new(),
            dead: Vec::new(),
            roots: Vec::new(),
            globals: Vec::new(),
            free_globals: Vec::new(),
            major_trigger: config.min_major_bytes,
            stress_armed: false,
            alloc_limit: if config.stress { 0 } else { nursery.limit },
            defer_major: false,
            stats: GcStats::default(),
            hash_mix: epoch_mix(0),
            config,
        })
    }

    /// Turn the stress mode on or off from now on (every allocation
    /// collects and moves every young object; see [`HeapConfig::stress`]).
    pub fn set_stress(&mut self, on: bool) {
        self.config.stress = on;
        self.alloc_limit = if on { 0 } else { self.nursery.limit };
    }

    /// The configuration this heap was made with.
    pub fn config(&self) -> &HeapConfig {
        &self.config
    }

    /// Collection counters.
    pub fn stats(&self) -> GcStats {
        let mut s = self.stats.clone();
        s.bytes_allocated += self.nursery.used();
        s
    }

    /// Bytes currently allocated in all spaces (live or not yet collected).
    pub fn used_bytes(&self) -> u64 {
        self.pure.used()
            + self.statics.used()
            + self.old_used()
            + self.nursery.used()
            + self.survivors.used()
    }

    /// Bytes of old objects: the old semispace's, less the nursery window
    /// and the free runs between objects.
    pub(crate) fn old_used(&self) -> u64 {
        self.old.used() - self.window_bytes() - self.free_bytes
    }

    /// The nursery window's size.
    pub(crate) fn window_bytes(&self) -> u64 {
        self.nursery.limit - self.nursery.start
    }

    /// Does `off` fall among the old generation's objects (either side of
    /// the nursery window)?
    pub(crate) fn old_contains(&self, off: u64) -> bool {
        self.old.contains(off) && !(self.nursery.start..self.nursery.limit).contains(&off)
    }

    /// The old generation's objects as the two ranges either side of the
    /// nursery window.
    pub(crate) fn old_runs(&self) -> [Space; 2] {
        let before = Space {
            start: self.old.start,
            top: self.nursery.start,
            limit: self.nursery.start,
        };
        let after = Space {
            start: self.nursery.limit,
            top: self.old.top,
            limit: self.old.limit,
        };
        [before, after]
    }

    /// Where the next nursery window opens: in the lowest hole, whose
    /// rest stays a hole (or a smaller free run), else at the old
    /// generation's end.
    pub(crate) fn next_window_at(&mut self) -> u64 {
        let bytes = self.window_bytes();
        let Some(hole) = self.holes.pop() else {
            return self.old.top;
        };
        let rest = Space {
            start: hole.start + bytes,
            top: hole.start + bytes,
            limit: hole.limit,
        };
        self.write_filler(rest.start, rest.limit);
        // A rest too small for a window stays free until a compaction.
        if rest.limit - rest.start >= bytes {
            self.holes.push(rest);
        }
        self.free_bytes -= bytes;
        hole.start
    }

    /// Cover `[start, end)` with filler objects, so the old generation
    /// stays walkable over it (a filler's length is at most `u32::MAX`
    /// words). In stress mode their payloads are zeroed, so a stale
    /// reference reads an invalid header.
    pub(crate) fn write_filler(&mut self, mut start: u64, end: u64) {
        let stress = self.config.stress;
        let w = self.region.words_mut();
        while start < end {
            let words = ((end - start) / 8 - 1).min(u64::from(u32::MAX));
            let i = (start / 8) as usize;
            w[i] = make_header(Tag(FILLER_TAG), 0, words as usize);
            if stress {
                w[i + 1..i + 1 + words as usize].fill(0);
            }
            start += (words + 1) * 8;
        }
    }

    /// Have the helper thread fault in `[from, end)` if that reaches past
    /// what it was asked for (not in stress mode, whose collections make
    /// the page layout moot).
    pub(crate) fn fault_in_ahead(&mut self, from: u64, end: u64) {
        if !self.config.stress
            && end > from.max(self.requested)
            && self.region.populate_ahead(from, end)
        {
            self.requested = end;
        }
    }

    /// Open the nursery window at `at` in the old semispace, empty.
    pub(crate) fn open_window(&mut self, at: u64) {
        let bytes = self.window_bytes();
        if at + bytes > self.populated {
            // Unless the helper thread was asked for these pages already,
            // fault them in now, in one call rather than a trap per page.
            if at + bytes > self.requested {
                self.region.populate(at.max(self.populated), at + bytes);
            }
            self.populated = at + bytes;
            // The heap is growing into fresh pages: the next window most
            // likely opens right after this one (a promotion in place),
            // so have the helper fault those in meanwhile.
            let next = (at + 2 * bytes).min(self.old.limit);
            self.fault_in_ahead(self.populated, next);
        }
        self.nursery = Space::new(at, bytes);
        self.old.top = self.old.top.max(self.nursery.limit);
        self.alloc_limit = if self.config.stress {
            0
        } else {
            self.nursery.limit
        };
    }

    // ---- allocation -------------------------------------------------------

    /// Allocate an object of `words` payload words in the nursery.
    ///
    /// Returns `None` when the nursery has no room (or in stress mode, every
    /// other time): the caller must then [`collect`](Heap::collect) with its
    /// roots and retry, or use [`alloc_old`](Heap::alloc_old) for a large
    /// object. The payload is uninitialised garbage: the caller must write
    /// every word before the next collection.
    #[inline(always)]
    pub fn try_alloc(&mut self, tag: Tag, words: usize) -> Option<Value> {
        // Wrapping: a huge request wraps to a small size or to an end past
        // the limit, and the size check below sends both to the slow path,
        // which refuses what a header cannot describe.
        let bytes = (words as u64).wrapping_add(1).wrapping_mul(8);
        let off = self.nursery.top;
        if words > MAX_OBJECT_WORDS || off.wrapping_add(bytes) > self.alloc_limit {
            return self.try_alloc_slow(tag, words);
        }
        self.nursery.top = off + bytes;
        // Nursery bytes are counted when the nursery is emptied.
        self.region.words_mut()[(off / 8) as usize] =
            make_header(tag, hash_for_offset(off, self.hash_mix), words);
        Some(Value::from_offset(off))
    }

    /// Allocate an object of two payload words, `x` and `y`, in the
    /// nursery: [`try_alloc`](Heap::try_alloc) and two
    /// [`set_init`](Heap::set_init)s with one bounds check (a pair).
    #[inline(always)]
    pub fn try_alloc2(&mut self, tag: Tag, x: Value, y: Value) -> Option<Value> {
        let off = self.nursery.top;
        if off + 24 > self.alloc_limit {
            return self.try_alloc2_slow(tag, x, y);
        }
        self.nursery.top = off + 24;
        let h = make_header(tag, hash_for_offset(off, self.hash_mix), 2);
        let i = (off / 8) as usize;
        self.region.words_mut()[i..i + 3].copy_from_slice(&[h, x.bits(), y.bits()]);
        Some(Value::from_offset(off))
    }

    #[cold]
    fn try_alloc2_slow(&mut self, tag: Tag, x: Value, y: Value) -> Option<Value> {
        let v = self.try_alloc_slow(tag, 2)?;
        self.set_init(v, 0, x);
        self.set_init(v, 1, y);
        Some(v)
    }

    /// `try_alloc` past `alloc_limit`: the nursery is full, or in stress
    /// mode (where `alloc_limit` is 0) the one allocation allowed after
    /// each collection.
    #[cold]
    fn try_alloc_slow(&mut self, tag: Tag, words: usize) -> Option<Value> {
        if !self.config.stress || !self.stress_armed || words > MAX_OBJECT_WORDS {
            return None;
        }
        let bytes = (words as u64 + 1) * 8;
        let off = self.nursery.top;
        if self.nursery.limit - off < bytes {
            return None;
        }
        self.stress_armed = false;
        self.nursery.top = off + bytes;
        self.region.words_mut()[(off / 8) as usize] =
            make_header(tag, hash_for_offset(off, self.hash_mix), words);
        Some(Value::from_offset(off))
    }

    /// Report `v`'s death: after the collection that finds it unreachable,
    /// [`Heap::take_dead`] returns `token`. (A finalization hook for
    /// objects that stand for something outside the heap.)
    pub fn track(&mut self, v: Value, token: u64) {
        self.tracked.push((v, token));
    }

    /// The tokens of tracked objects the collections since the last call
    /// found dead.
    pub fn take_dead(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dead)
    }

    /// How many times the nursery has been emptied (minor and major
    /// collections): with the offset, it makes identity hashes distinct.
    /// While it stays the same, no object has moved.
    #[inline(always)]
    pub fn epoch(&self) -> u64 {
        self.stats.minor_collections + (self.stats.major_collections << 32)
    }

    /// The collection counters changed: recompute what depends on them.
    pub(crate) fn stats_changed(&mut self) {
        self.hash_mix = epoch_mix(self.epoch());
    }

    /// Would an object of `words` payload words fit in an empty nursery?
    pub fn fits_nursery(&self, words: usize) -> bool {
        words <= MAX_OBJECT_WORDS && (words as u64 + 1) * 8 <= self.window_bytes() / 4
    }

    /// Allocate directly in the old generation (for objects too large for
    /// the nursery). The payload is zeroed-or-garbage: the caller must write
    /// every word, through [`Heap::set`] for references.
    ///
    /// # Errors
    /// [`HeapError::OutOfMemory`] if the old generation's reservation is full.
    pub fn alloc_old(&mut self, tag: Tag, words: usize) -> Result<Value, HeapError> {
        if words > MAX_OBJECT_WORDS {
            return Err(HeapError::OutOfMemory {
                requested: (words as u64).saturating_add(1).saturating_mul(8),
                limit: (MAX_OBJECT_WORDS as u64 + 1) * 8,
            });
        }
        let bytes = (words as u64 + 1) * 8;
        if self.old.free() < bytes {
            return Err(HeapError::OutOfMemory {
                requested: bytes,
                limit: self.old.limit - self.old.start,
            });
        }
        let off = self.old.top;
        self.old.top += bytes;
        self.stats.bytes_allocated += bytes;
        let mix = self.hash_mix;
        let w = self.region.words_mut();
        let i = (off / 8) as usize;
        w[i] = make_header(tag, hash_for_offset(off, mix), words);
        // Fill with a harmless value so the object is scannable at once.
        w[i + 1..i + 1 + words].fill(Value::FALSE.bits());
        Ok(Value::from_offset(off))
    }

    /// Should the next collection be a full one?
    pub fn wants_major(&self) -> bool {
        if self.defer_major && self.old.free() > self.old_used() {
            // A forked save child shares the parent's pages: a full
            // collection now would copy the whole heap. Wait while there is room.
            return false;
        }
        self.old_used() >= self.major_trigger
    }

    /// Put off full collections (while a save child runs) unless the old
    /// generation runs short of room.
    pub fn set_defer_major(&mut self, defer: bool) {
        self.defer_major = defer;
    }

    // ---- field access -------------------------------------------------------

    /// The object's tag. `v` must be a reference into this heap.
    #[inline(always)]
    pub fn tag(&self, v: Value) -> Tag {
        header_tag(self.region.words()[(v.offset() / 8) as usize])
    }

    /// The object's payload length in words.
    #[inline(always)]
    pub fn len(&self, v: Value) -> usize {
        header_words(self.region.words()[(v.offset() / 8) as usize])
    }

    /// The object's identity hash (stable across moves and image loads).
    #[inline(always)]
    pub fn identity_hash(&self, v: Value) -> u32 {
        header_hash(self.region.words()[(v.offset() / 8) as usize])
    }

    /// Payload word `i` as a value.
    #[inline(always)]
    pub fn get(&self, v: Value, i: usize) -> Value {
        Value::from_bits(self.region.words()[(v.offset() / 8) as usize + 1 + i])
    }

    /// The word at index `i` of the region (an offset divided by 8): the
    /// VM's instruction fetch.
    #[inline(always)]
    pub fn word_at(&self, i: usize) -> u64 {
        self.region.words()[i]
    }

    /// Payload word `i` as raw bits.
    #[inline(always)]
    pub fn raw(&self, v: Value, i: usize) -> u64 {
        self.region.words()[(v.offset() / 8) as usize + 1 + i]
    }

    /// The payload as words.
    #[inline(always)]
    pub fn payload(&self, v: Value) -> &[u64] {
        let i = (v.offset() / 8) as usize;
        let w = self.region.words();
        let n = header_words(w[i]);
        &w[i + 1..i + 1 + n]
    }

    /// The payload as bytes (in memory order: little-endian words).
    #[inline(always)]
    pub fn payload_bytes(&self, v: Value) -> &[u8] {
        bytemuck::cast_slice(self.payload(v))
    }

    /// The payload as mutable words (raw objects only: no barrier is applied).
    #[inline(always)]
    pub fn payload_mut(&mut self, v: Value) -> &mut [u64] {
        let i = (v.offset() / 8) as usize;
        let w = self.region.words_mut();
        let n = header_words(w[i]);
        &mut w[i + 1..i + 1 + n]
    }

    /// Store into payload word `i` of a traced object, keeping the
    /// remembered-set invariant.
    #[inline(always)]
    pub fn set(&mut self, v: Value, i: usize, x: Value) {
        let off = v.offset();
        self.region.words_mut()[(off / 8) as usize + 1 + i] = x.bits();
        if x.is_ref() && self.young_contains(x.offset()) && !self.young_contains(off) {
            self.remember(off);
        }
    }

    /// Store into payload word `i` of an object allocated in the nursery
    /// since the last collection (no barrier needed).
    #[inline(always)]
    pub fn set_init(&mut self, v: Value, i: usize, x: Value) {
        debug_assert!(
            self.nursery.contains(v.offset()),
            "set_init outside the nursery"
        );
        self.region.words_mut()[(v.offset() / 8) as usize + 1 + i] = x.bits();
    }

    /// Store raw bits into payload word `i` of a raw object.
    #[inline(always)]
    pub fn set_raw(&mut self, v: Value, i: usize, bits: u64) {
        self.region.words_mut()[(v.offset() / 8) as usize + 1 + i] = bits;
    }

    /// Copy `n` payload bytes of raw object `from` starting at byte
    /// `from_byte` into raw object `to` at byte `to_byte` (the two may be
    /// the same object and the ranges may overlap). The caller keeps both
    /// ranges inside the payloads.
    pub fn copy_payload_bytes(
        &mut self,
        from: Value,
        from_byte: usize,
        to: Value,
        to_byte: usize,
        n: usize,
    ) {
        let src = from.offset() as usize + 8 + from_byte;
        let dst = to.offset() as usize + 8 + to_byte;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(self.region.words_mut());
        bytes.copy_within(src..src + n, dst);
    }

    /// Write `data` into raw object `to`'s payload at byte `to_byte` (the
    /// caller keeps the range inside the payload).
    pub fn set_payload_bytes(&mut self, to: Value, to_byte: usize, data: &[u8]) {
        let dst = to.offset() as usize + 8 + to_byte;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(self.region.words_mut());
        bytes[dst..dst + data.len()].copy_from_slice(data);
    }

    /// Turn the raw object `v` into a traced object of tag `tag` whose
    /// payload words are all `fill` (an immediate), keeping its size,
    /// identity hash and place: its identity survives a change of
    /// representation (a string that must widen forwards to its new body).
    /// Panics (a bug in the caller) unless `tag` is traced and `fill` is
    /// not a reference.
    pub fn become_traced(&mut self, v: Value, tag: Tag, fill: Value) {
        assert!(
            tag.is_traced() && !fill.is_ref(),
            "become_traced: bad tag or fill"
        );
        let i = (v.offset() / 8) as usize;
        let w = self.region.words_mut();
        let n = crate::object::header_words(w[i]);
        w[i] = (w[i] & !0xff) | u64::from(tag.0);
        w[i + 1..i + 1 + n].fill(fill.bits());
    }

    #[cold]
    fn remember(&mut self, off: u64) {
        let w = self.region.words_mut();
        let h = &mut w[(off / 8) as usize];
        if *h & REMEMBERED_BIT == 0 {
            *h |= REMEMBERED_BIT;
            self.remembered.push(off);
        }
    }

    /// Is `v` a reference to a young object (in the nursery or a survivor
    /// of one minor collection)?
    #[inline(always)]
    pub fn is_young(&self, v: Value) -> bool {
        v.is_ref() && self.young_contains(v.offset())
    }

    /// Does `off` fall in the nursery or the survivor space?
    #[inline(always)]
    pub(crate) fn young_contains(&self, off: u64) -> bool {
        self.nursery.contains(off) || self.survivors.contains(off)
    }

    /// Is `v` a reference to a live-looking object in some space?
    pub fn is_valid_ref(&self, v: Value) -> bool {
        let o = v.offset();
        v.is_ref()
            && (self.young_contains(o)
                || self.old_contains(o)
                || self.statics.contains(o)
                || self.pure.contains(o))
    }

    /// Is `v` in the pure (read-only) space?
    pub fn is_pure(&self, v: Value) -> bool {
        v.is_ref() && self.pure.contains(v.offset())
    }

    // ---- roots ----------------------------------------------------------------

    /// Push `v` on the scoped root stack.
    #[inline]
    pub fn push_root(&mut self, v: Value) -> Handle {
        self.roots.push(v);
        Handle((self.roots.len() - 1) as u32)
    }

    /// The depth of the root stack, to restore with [`Heap::truncate_roots`].
    #[inline]
    pub fn root_mark(&self) -> usize {
        self.roots.len()
    }

    /// Drop every scoped handle made since `mark`.
    #[inline]
    pub fn truncate_roots(&mut self, mark: usize) {
        self.roots.truncate(mark);
    }

    /// The current value of a handle.
    ///
    /// # Panics
    /// If the handle was dropped by [`Heap::truncate_roots`] (a bug in the caller).
    #[inline]
    pub fn handle(&self, h: Handle) -> Value {
        self.roots[h.0 as usize]
    }

    /// Replace a handle's value.
    #[inline]
    pub fn set_handle(&mut self, h: Handle, v: Value) {
        self.roots[h.0 as usize] = v;
    }

    /// Make an owned root holding `v`.
    #[inline]
    pub fn new_global(&mut self, v: Value) -> Global {
        if let Some(i) = self.free_globals.pop() {
            self.globals[i as usize] = v;
            Global(i)
        } else {
            self.globals.push(v);
            Global((self.globals.len() - 1) as u32)
        }
    }

    /// The value an owned root holds.
    #[inline]
    pub fn global(&self, g: Global) -> Value {
        self.globals[g.0 as usize]
    }

    /// Replace the value an owned root holds.
    #[inline]
    pub fn set_global(&mut self, g: Global, v: Value) {
        self.globals[g.0 as usize] = v;
    }

    /// Free an owned root slot.
    #[inline]
    pub fn release_global(&mut self, g: Global) {
        self.globals[g.0 as usize] = Value::UNDEFINED;
        self.free_globals.push(g.0);
    }

    /// Number of owned root slots in use.
    pub fn global_count(&self) -> usize {
        self.globals.len() - self.free_globals.len()
    }

    /// A copy of this heap at another address: a fresh region with every
    /// space's contents and every root copied. Proves position independence
    /// (the seed of image loading): references are offsets, so nothing is
    /// relocated.
    ///
    /// # Errors
    /// [`HeapError::Reserve`] if the new region cannot be reserved.
    pub fn copy_to_new_region(&self) -> Result<Heap, HeapError> {
        let mut other = Heap::new(self.config.clone())?;
        for (src, dst) in [
            (&self.pure, &mut other.pure),
            (&self.statics, &mut other.statics),
            (&self.old, &mut other.old),
            (&self.old_spare, &mut other.old_spare),
            (&self.nursery, &mut other.nursery),
            (&self.survivors, &mut other.survivors),
            (&self.survivors_spare, &mut other.survivors_spare),
        ] {
            *dst = *src;
        }
        let words = self.region.words();
        let ow = other.region.words_mut();
        for s in [
            self.pure,
            self.statics,
            self.old,
            self.nursery,
            self.survivors,
        ] {
            let (a, b) = ((s.start / 8) as usize, (s.top / 8) as usize);
            ow[a..b].copy_from_slice(&words[a..b]);
        }
        other.remembered = self.remembered.clone();
        other.roots = self.roots.clone();
        other.globals = self.globals.clone();
        other.free_globals = self.free_globals.clone();
        other.major_trigger = self.major_trigger;
        other.promote_credit = self.promote_credit;
        other.skip_aging = self.skip_aging;
        other.measure_next = self.measure_next;
        other.holes = self.holes.clone();
        other.free_bytes = self.free_bytes;
        other.alloc_limit = self.alloc_limit;
        other.stats = self.stats.clone();
        other.stats_changed();
        Ok(other)
    }

    /// The base address of the region (for tests proving relocation).
    pub fn base_address(&self) -> usize {
        self.region.words().as_ptr() as usize
    }
}
