//! The collector: Cheney copying for the nursery; mark-sweep in place, or
//! copying, for the whole heap.
//!
//! * **Minor** collections copy every live nursery object into the spare
//!   survivor space, and every live object of the survivor space (those
//!   that survived one collection already) into the old generation: into
//!   a hole a full collection left, else at the old generation's end.
//!   Roots: the mutator's roots, the handle and global tables, and the
//!   payloads of remembered objects. When the survivor space was found
//!   mostly alive again, the next few promote the nursery's survivors at
//!   once.
//! * **Promotion in place**: when a minor collection found nearly the whole
//!   nursery alive (a program building a large structure), copying it is
//!   all cost and no gain, so the next few minor collections promote the
//!   nursery where it lies: its window becomes old data, untouched, and a
//!   new window opens in a hole or after it. Only the survivor space's
//!   live objects move (to the old generation's end), found by a trace
//!   that marks the window's objects instead of moving them; the window's
//!   dead objects become fillers. Then a minor collection measures the
//!   survival rate anew by
//!   marking the nursery, and promotes again or copies; at worst a few
//!   windows of garbage were promoted, and the next full collection frees
//!   them.
//! * **Major** collections mark every live object of the old semispace
//!   (the nursery window's included) in a side bitmap. When most of it is
//!   dead they copy the survivors into the spare semispace, then swap;
//!   otherwise they sweep in place: runs of dead objects become fillers,
//!   and those a window long become holes that later windows and minor
//!   collections' survivors fill, so memory already touched is reused.
//!   Static objects never move; their payloads are scanned as roots.
//!
//! A collection checks first that the to-space can hold the worst case, so it
//! never fails half way.

use std::time::Instant;

use crate::heap::Heap;
use crate::object::{header_tag, header_words, FORWARD_TAG, REMEMBERED_BIT};
use crate::space::{Space, PAGE_BYTES};
use crate::{HeapError, Value};

/// The mutator's roots: everything outside the heap that holds values
/// (VM stacks, registers, scheduler queues).
pub trait Roots {
    /// Call `f` on every root slot; the collector may rewrite it.
    fn visit(&mut self, f: &mut dyn FnMut(&mut Value));
}

/// No roots beyond the heap's own handle and global tables.
pub struct NoRoots;

impl Roots for NoRoots {
    fn visit(&mut self, _f: &mut dyn FnMut(&mut Value)) {}
}

/// Which kind of collection to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionKind {
    /// Nursery only, unless the old generation has reached its trigger.
    Auto,
    /// Nursery only.
    Minor,
    /// Everything.
    Major,
}

/// The spaces a collection moves objects out of and into.
struct Evacuation {
    /// The nursery as it was when the collection began.
    nursery: Space,
    /// The survivor space as it was: its objects go to `to`.
    survivors: Space,
    /// The old generation as it was, when it is being evacuated too.
    old_from: Option<Space>,
    /// Where old-bound survivors go; `top` advances as objects are copied.
    to: Space,
    /// Where the nursery's survivors go when they are to age once more
    /// (the spare survivor space), else an empty space at offset 0.
    young_to: Space,
    /// Are the nursery's survivors copied to `young_to`?
    aging: bool,
}

impl Evacuation {
    #[inline(always)]
    fn is_from(&self, off: u64) -> bool {
        self.nursery.contains(off)
            || self.survivors.contains(off)
            || self.old_from.is_some_and(|s| s.contains(off))
    }
}

impl Heap {
    /// Collect garbage. `roots` are the mutator's roots.
    ///
    /// # Errors
    /// [`HeapError::OutOfMemory`] if the survivors might not fit;
    /// [`HeapError::Damaged`] if a full collection finds the image's static
    /// section damaged. Nothing has moved in either case.
    pub fn collect(
        &mut self,
        kind: CollectionKind,
        roots: &mut dyn Roots,
    ) -> Result<(), HeapError> {
        let start = Instant::now();
        let major = match kind {
            CollectionKind::Major => true,
            CollectionKind::Minor => false,
            CollectionKind::Auto => self.wants_major(),
        };
        if major {
            self.collect_full(roots)?;
        } else {
            if self.promote_credit > 0 && self.may_promote_in_place() {
                self.promote_in_place(roots);
            } else if self.measure_next
                && self.survivors.used() == 0
                && self.may_promote_in_place()
                && self.young_survive(roots)
            {
                // Still nearly all alive: promote this one and the next
                // few as well.
                self.promote_credit = PROMOTE_STREAK + 1;
                self.promote_in_place(roots);
            } else {
                let aging = self.skip_aging == 0;
                self.skip_aging = self.skip_aging.saturating_sub(1);
                self.collect_minor(roots, aging)?;
            }
            if kind == CollectionKind::Auto && self.wants_major() {
                self.collect_full(roots)?;
            }
        }
        let pause = start.elapsed();
        if std::env::var_os("IMP_GC_TRACE").is_some() {
            eprintln!(
                "gc major={} promotions={} old={} survivors={} pause={:?}",
                self.stats.major_collections,
                self.stats.promotions,
                self.old_used() >> 10,
                self.survivors.used() >> 10,
                pause
            );
        }
        self.stats.total_pause += pause;
        self.stats.max_pause = self.stats.max_pause.max(pause);
        self.stress_armed = true;
        Ok(())
    }

    /// A minor collection. With `aging`, the nursery's survivors are
    /// copied to the spare survivor space (they stay young, and are copied
    /// again only if they survive the next minor collection too), and the
    /// survivor space's survivors to the old generation: so data that dies
    /// young but happened to be live when the nursery filled (a structure
    /// half built) is not promoted, and does not bring a full collection
    /// closer. Without `aging` both go to the old generation, leaving no
    /// young object (before a full collection).
    fn collect_minor(&mut self, roots: &mut dyn Roots, aging: bool) -> Result<(), HeapError> {
        let young = self.nursery.used();
        let need = self.survivors.used() + if aging { 0 } else { young };
        // Old-bound survivors go into a hole a full collection left (at
        // least a window long) if they fit, else to the old generation's end.
        let hole = match self.holes.last() {
            Some(h) if need > 0 && h.limit - h.start >= need => self.holes.pop(),
            _ => None,
        };
        if hole.is_none() && self.old.free() < need {
            return Err(HeapError::OutOfMemory {
                requested: need,
                limit: self.old.limit - self.old.start,
            });
        }
        let mut ev = Evacuation {
            nursery: self.nursery,
            survivors: self.survivors,
            old_from: None,
            to: hole.unwrap_or(self.old),
            young_to: if aging {
                self.survivors_spare
            } else {
                Space::new(0, 0)
            },
            aging,
        };
        let scan_from = ev.to.top;
        self.evacuate_roots(&mut ev, roots);
        // Remembered objects still pointing at a young object (now in the
        // survivor space) stay remembered; the others are forgotten.
        let mut remembered = std::mem::take(&mut self.remembered);
        let w = self.region.words_mut();
        remembered.retain(|&off| {
            let (_, young) = ev.scan_object(w, off);
            if !young {
                w[(off / 8) as usize] &= !REMEMBERED_BIT;
            }
            young
        });
        self.scan_to_spaces(&mut ev, scan_from, &mut remembered);
        self.remembered = remembered;
        self.sweep_tracked(&ev);
        let survived = ev.to.top - scan_from;
        // Most of the survivor space survived again (a program building
        // data that lives, a little at a time): for a while, promote at
        // once rather than copy everything twice.
        if aging
            && self.survivors.used() >= self.window_bytes() / 8
            && survived * 2 >= self.survivors.used()
        {
            self.skip_aging = SKIP_AGING;
        }
        match hole {
            Some(h) => {
                // The hole's rest stays free: a hole again if a window fits.
                self.free_bytes -= survived;
                self.write_filler(ev.to.top, h.limit);
                if h.limit - ev.to.top >= self.window_bytes() {
                    self.holes.push(Space::new(ev.to.top, h.limit - ev.to.top));
                }
            }
            None => {
                self.old = ev.to;
                if survived > 0 {
                    self.fault_in_ahead_of_survivors(survived);
                }
            }
        }
        let from = self.take_survivors();
        if aging {
            self.survivors_spare = self.survivors;
            self.survivors = ev.young_to;
            self.survivor_pages |= ev.young_to.used() > 0;
        } else {
            // Aging is off for a while, or a full collection follows.
            self.release_survivor_pages();
        }
        // A nursery found nearly all alive (7/8) and at least half full (a
        // collection forced early says little) earns promotions in place.
        // (Without aging, what the nursery kept is at least what survived
        // less the whole survivor space.)
        let kept = if aging {
            ev.young_to.used()
        } else {
            survived.saturating_sub(from.used())
        };
        self.measure_next = false;
        self.promote_credit =
            if kept * 8 >= young * 7 && (young * 2 >= self.window_bytes() || self.config.stress) {
                PROMOTE_STREAK
            } else {
                0
            };
        self.reset_nursery();
        self.stats.minor_collections += 1;
        self.stats_changed();
        self.stats.live_bytes = self.old_used();
        Ok(())
    }

    /// Give back the survivor spaces' pages, both empty now: they would
    /// only add to the peak while aging is off (or promotions in place
    /// run, or a full collection follows).
    fn release_survivor_pages(&mut self) {
        if self.survivor_pages && !self.config.stress {
            self.survivor_pages = false;
            for s in [self.survivors, self.survivors_spare] {
                self.region.release(s.start, s.limit);
            }
        }
    }

    /// Empty the survivor space, whose live objects were all copied out;
    /// returns it as it was.
    fn take_survivors(&mut self) -> Space {
        let from = self.survivors;
        self.clear_if_stress(from);
        self.survivors = Space::new(from.start, from.limit - from.start);
        from
    }

    /// In stress mode, zero the words of `s` just emptied: a stale
    /// reference into it then reads an invalid header, which the verifier
    /// catches, instead of plausible garbage.
    fn clear_if_stress(&mut self, s: Space) {
        if self.config.stress {
            let (a, b) = ((s.start / 8) as usize, (s.top / 8) as usize);
            self.region.words_mut()[a..b].fill(0);
        }
    }

    /// After survivors were copied to the old generation's end: have the
    /// helper thread fault in room for as many again past it, where the
    /// next minor collection's survivors go, while the mutator runs.
    fn fault_in_ahead_of_survivors(&mut self, survived: u64) {
        self.populated = self.populated.max(self.old.top);
        let want = (survived * 2).clamp(PAGE_BYTES, self.window_bytes());
        let end = (self.old.top + want).min(self.old.limit);
        // Not when a full collection is due before that room is used: it
        // would only add to the peak, from-space being given back then.
        if self.old_used() + want < self.major_trigger {
            self.fault_in_ahead(self.populated.max(self.requested), end);
        }
    }

    /// May this minor collection promote the nursery in place? Only for a
    /// nursery at least three quarters full (promoting a nearly empty
    /// window would waste the rest of it), and only with room for the
    /// survivor space's objects (copied to the old generation's end) and
    /// a new window. (It should while the credit of the last copying one
    /// lasts.)
    fn may_promote_in_place(&self) -> bool {
        let window = self.window_bytes();
        let full = self.nursery.used() * 4 >= window * 3 || self.config.stress;
        let room = if self.old.top == self.nursery.limit {
            self.old.limit - self.nursery.top
        } else {
            self.old.free()
        };
        let aged = self.survivors.used();
        full && (room >= aged + window || (room >= aged && !self.holes.is_empty()))
    }

    /// Would nearly all (7/8) of the nursery survive a minor collection?
    /// Found by marking it, without copying: after a streak of promotions
    /// in place, this measures whether the program still builds data
    /// that lives, at the cost of a trace rather than a copy into pages
    /// that may be fresh.
    fn young_survive(&mut self, roots: &mut dyn Roots) -> bool {
        self.measure_next = false;
        let area = Space {
            start: self.nursery.start,
            top: self.nursery.top,
            limit: self.nursery.top,
        };
        let marks = self.mark_area(area, roots, false);
        marks.live * 8 >= area.used() * 7
    }

    /// Empty the remembered set, clearing its objects' bits: for a
    /// collection after which no young object is left to point to.
    fn forget_remembered(&mut self) {
        for off in std::mem::take(&mut self.remembered) {
            self.region.words_mut()[(off / 8) as usize] &= !REMEMBERED_BIT;
        }
    }

    /// Make the nursery's objects old where they lie and open a new window.
    /// Objects keep their offsets, so no root or reference changes, except
    /// references to the survivor space: its live objects are copied to the
    /// old generation's end (`promote_survivors`), so the remembered set
    /// empties: no young object is left to point to.
    /// (`may_promote_in_place` made sure of the room.)
    fn promote_in_place(&mut self, roots: &mut dyn Roots) {
        let win = self.nursery;
        self.stats.bytes_allocated += win.used();
        let at_end = self.old.top == win.limit;
        if at_end {
            // The window is the old generation's end: what follows starts
            // right after the promoted objects.
            self.old.top = win.top;
        } else {
            // Old objects lie past the window: its unused tail becomes a
            // filler object, so the old generation stays walkable.
            self.write_filler(win.top, win.limit);
            self.free_bytes += win.limit - win.top;
        }
        if self.survivors.used() > 0 {
            self.promote_survivors(roots, win);
        }
        self.forget_remembered();
        // The new window opens right after, or in a hole when old objects
        // lie past the old one.
        let at = if at_end {
            self.old.top
        } else {
            self.next_window_at()
        };
        self.open_window(at);
        self.promote_credit -= 1;
        self.measure_next = self.promote_credit == 0;
        self.stats.minor_collections += 1;
        self.stats.promotions += 1;
        self.stats_changed();
        self.stats.live_bytes = self.old_used();
    }

    /// Copy the survivor space's live objects to the old generation's end,
    /// while the window `win` is promoted in place. Its objects may point
    /// into the survivor space without being remembered, so the trace goes
    /// through the window: a window object reached is marked (in a side
    /// bitmap) and its fields traced, without moving it; a survivor reached
    /// is copied. A survivor that only dead window objects point to (a
    /// structure that died as the window filled) is not copied.
    fn promote_survivors(&mut self, roots: &mut dyn Roots, win: Space) {
        let ev = Evacuation {
            nursery: Space::new(0, 0),
            survivors: self.survivors,
            old_from: None,
            to: self.old,
            young_to: Space::new(0, 0),
            aging: false,
        };
        let area = Space {
            start: win.start,
            top: win.top,
            limit: win.top,
        };
        let scan_from = ev.to.top;
        let mut t = WindowTrace {
            ev,
            marks: MarkBits::new(area),
            stack: Vec::new(),
        };
        let w = self.region.words_mut();
        for r in self.roots.iter_mut().chain(self.globals.iter_mut()) {
            *r = t.visit(w, *r);
        }
        roots.visit(&mut |slot: &mut Value| *slot = t.visit(w, *slot));
        for &off in &self.remembered {
            t.scan(w, off);
        }
        // Two queues: marked window objects, and survivors copied (Cheney).
        let mut at = scan_from;
        loop {
            while let Some(off) = t.stack.pop() {
                t.scan(w, off);
            }
            if at >= t.ev.to.top {
                break;
            }
            while at < t.ev.to.top {
                at = t.scan(w, at);
            }
        }
        let WindowTrace { ev, marks, .. } = t;
        self.sweep_tracked(&ev);
        // The window's objects the trace did not reach are dead, and may
        // point to survivors that were not copied: they become fillers,
        // free space like a sweep leaves.
        let mut dead = Vec::new();
        self.tracked.retain(|&(v, token)| {
            let lost = area.contains(v.offset()) && !marks.is_marked(v.offset());
            if lost {
                dead.push(token);
            }
            !lost
        });
        self.dead.extend(dead);
        for (from, to) in marks.free_runs() {
            self.write_filler(from, to);
            self.free_bytes += to - from;
        }
        self.old = ev.to;
        self.take_survivors();
        self.release_survivor_pages();
    }

    /// A full collection. It marks first; then, if most of the old
    /// generation turned out dead (free space more than twice the live
    /// data), it copies the survivors instead (few to copy, and it gives
    /// the free pages back and undoes fragmentation); otherwise it sweeps
    /// in place. In stress mode every other one copies, so both kinds run.
    fn collect_full(&mut self, roots: &mut dyn Roots) -> Result<(), HeapError> {
        // Every static object is scanned: have a guarded image section
        // checked whole first (with its helper thread) rather than a trap
        // per chunk, and stop before anything moves if it is damaged.
        self.finish_static_check()?;
        if self.survivors.used() > 0 {
            // Both kinds below see only the old semispace: first promote
            // every young object there.
            self.collect_minor(roots, false)?;
        }
        if self.config.stress && self.stats.major_collections % 2 == 1 {
            return self.collect_major(roots);
        }
        self.forget_remembered();
        let marks = self.mark_in_place(roots);
        let free = (marks.area.top - marks.area.start) - marks.live;
        if free > 2 * marks.live && !self.config.stress {
            return self.collect_major(roots);
        }
        self.sweep_in_place(&marks);
        Ok(())
    }

    /// Mark every object of the old semispace (the nursery window's
    /// included) reachable from the roots. The remembered set must be
    /// empty.
    fn mark_in_place(&mut self, roots: &mut dyn Roots) -> MarkBits {
        let area = Space {
            start: self.old.start,
            top: self.old.top,
            limit: self.old.top,
        };
        self.mark_area(area, roots, true)
    }

    /// Mark the objects in `area` reachable from the roots: the mutator's,
    /// the handles and globals, and either the static objects' fields
    /// (`statics`: for the whole old generation) or the remembered
    /// objects' (for the nursery). Objects outside `area` are not traced.
    fn mark_area(&mut self, area: Space, roots: &mut dyn Roots, statics: bool) -> MarkBits {
        let mut marks = MarkBits::new(area);
        // Objects marked whose fields are still to scan: offset, words.
        let mut stack: Vec<(u64, usize)> = Vec::new();
        let w = self.region.words();
        // Mark `v`'s object if it was not yet; the number of its fields
        // to scan then (0 when none may hold references).
        let mark = |v: Value, marks: &mut MarkBits| -> usize {
            let Some(slot) = v.is_ref().then(|| marks.unmarked(v.offset())).flatten() else {
                return 0;
            };
            let h = w[(v.offset() / 8) as usize];
            let n = header_words(h);
            marks.set(slot, n + 1);
            if header_tag(h).is_traced() {
                n
            } else {
                0
            }
        };
        let mut root = |v: Value, marks: &mut MarkBits| {
            let n = mark(v, marks);
            if n > 0 {
                stack.push((v.offset(), n));
            }
        };
        for &r in self.roots.iter().chain(self.globals.iter()) {
            root(r, &mut marks);
        }
        roots.visit(&mut |slot: &mut Value| root(*slot, &mut marks));
        let mut scan_fields = |at: u64, marks: &mut MarkBits| {
            let i = (at / 8) as usize;
            let n = header_words(w[i]);
            if header_tag(w[i]).is_traced() {
                for &x in &w[i + 1..i + 1 + n] {
                    root(Value::from_bits(x), marks);
                }
            }
            at + (n as u64 + 1) * 8
        };
        if statics {
            // Static objects are never freed but may point anywhere.
            let mut at = self.statics.start;
            while at < self.statics.top {
                at = scan_fields(at, &mut marks);
            }
        } else {
            for &off in &self.remembered {
                scan_fields(off, &mut marks);
            }
        }
        // Depth first: of an object's children that need scanning, the
        // last is scanned next without going through the stack (a list's
        // tail, a tree's right branch); the others wait there. Up to
        // `LANES` such chains are followed in turn, a step each, so that
        // the cache misses of independent chains (two long lists, the
        // branches of a tree) are waited for together.
        const LANES: usize = 4;
        let mut lanes = [(0u64, 0usize); LANES];
        let mut active = 0;
        while active < LANES {
            let Some(o) = stack.pop() else { break };
            lanes[active] = o;
            active += 1;
        }
        while active > 0 {
            let mut k = 0;
            while k < active {
                let (off, n) = lanes[k];
                let i = (off / 8) as usize;
                let mut next = (0, 0);
                for &x in &w[i + 1..i + 1 + n] {
                    let v = Value::from_bits(x);
                    let m = mark(v, &mut marks);
                    if m > 0 {
                        if next.1 > 0 {
                            // A chain of its own if a lane is free.
                            if active < LANES {
                                lanes[active] = next;
                                active += 1;
                            } else {
                                stack.push(next);
                            }
                        }
                        next = (v.offset(), m);
                    }
                }
                if next.1 > 0 {
                    lanes[k] = next;
                    k += 1;
                } else if let Some(o) = stack.pop() {
                    // This chain ended: a waiting one takes its place.
                    lanes[k] = o;
                    k += 1;
                } else {
                    // Or the last lane does.
                    active -= 1;
                    lanes[k] = lanes[active];
                }
            }
        }
        marks
    }

    /// Sweep after [`Heap::mark_in_place`]: each run of dead objects
    /// between live ones becomes a filler, and the runs a window long
    /// become holes that windows and the survivors of minor collections
    /// go into. The nursery window is dissolved (its objects become old
    /// where they lie, like a promotion), so nothing moves, no reference
    /// is rewritten, and memory already touched is reused: a copying
    /// collection writes every survivor to pages the kernel must first
    /// zero, and fresh pages were most of what a copying full collection
    /// cost when most of the heap was alive.
    fn sweep_in_place(&mut self, marks: &MarkBits) {
        let area = marks.area;
        self.stats.bytes_allocated += self.nursery.used();
        if !self.tracked.is_empty() {
            let mut dead = Vec::new();
            self.tracked.retain(|&(v, token)| {
                let off = v.offset();
                if !area.contains(off) || marks.is_marked(off) {
                    return true;
                }
                dead.push(token);
                false
            });
            self.dead.extend(dead);
        }
        let window = self.window_bytes();
        let mut holes = Vec::new();
        let mut free = 0;
        let mut end = area.top;
        for (from, to) in marks.free_runs() {
            if to == area.top {
                end = from;
                break;
            }
            self.write_filler(from, to);
            free += to - from;
            if to - from >= window {
                holes.push(Space::new(from, to - from));
            }
        }
        // Past the last live object the semispace is free again: keep a
        // window's worth of its pages, give the rest back.
        if self.config.stress {
            let (a, b) = ((end / 8) as usize, (area.top / 8) as usize);
            self.region.words_mut()[a..b].fill(0);
        } else {
            self.region.release(end + window, area.top);
        }
        self.populated = self.populated.min(end + window);
        self.requested = self.requested.min(self.populated);
        self.old.top = end;
        holes.reverse();
        self.holes = holes;
        self.free_bytes = free;
        self.major_trigger = next_major_trigger(marks.live, self.config.min_major_bytes);
        let at = self.next_window_at();
        self.open_window(at);
        self.stats.majors_in_place += 1;
        self.full_collection_done();
    }

    /// What every full collection ends with, once the new window is open.
    fn full_collection_done(&mut self) {
        // A program that was building data that lives still is: the next
        // minor collection measures by marking, as after a streak.
        self.measure_next = self.promote_credit > 0 || self.measure_next;
        self.promote_credit = 0;
        self.stats.major_collections += 1;
        self.stats_changed();
        self.stats.live_bytes = self.old_used();
    }

    fn collect_major(&mut self, roots: &mut dyn Roots) -> Result<(), HeapError> {
        let need =
            self.old_used() + self.nursery.used() + self.survivors.used() + self.window_bytes();
        if self.old_spare.free() < need {
            return Err(HeapError::OutOfMemory {
                requested: need,
                limit: self.old_spare.limit - self.old_spare.start,
            });
        }
        let mut ev = Evacuation {
            nursery: self.nursery,
            survivors: self.survivors,
            // The whole semispace, the window included: a test cheaper than
            // two, and the window's objects are from-space anyway.
            old_from: Some(self.old),
            to: self.old_spare,
            young_to: Space::new(0, 0),
            aging: false,
        };
        let scan_from = ev.to.top;
        self.forget_remembered();
        self.evacuate_roots(&mut ev, roots);
        // Static objects never move but may point anywhere.
        let mut at = self.statics.start;
        while at < self.statics.top {
            at = self.scan_object(&mut ev, at);
        }
        self.scan_to_spaces(&mut ev, scan_from, &mut Vec::new());
        self.sweep_tracked(&ev);
        self.holes.clear();
        self.free_bytes = 0;
        // Count the nursery's bytes before its window closes.
        self.stats.bytes_allocated += self.nursery.used();
        self.take_survivors();
        let from = self.old;
        self.old_spare = Space::new(from.start, from.limit - from.start);
        self.old = ev.to;
        self.major_trigger = next_major_trigger(self.old.used(), self.config.min_major_bytes);
        if self.config.stress {
            let (a, b) = ((from.start / 8) as usize, (from.top / 8) as usize);
            self.region.words_mut()[a..b].fill(0);
        } else {
            self.region.release(from.start, from.top);
        }
        // The new window opens after the survivors.
        self.populated = self.old.top;
        self.requested = self.old.top;
        self.open_window(self.old.top);
        self.full_collection_done();
        Ok(())
    }

    /// After the survivors are copied: a tracked object in from-space was
    /// copied (follow it) or is dead (report its token). Must run before
    /// from-space is reused.
    fn sweep_tracked(&mut self, ev: &Evacuation) {
        if self.tracked.is_empty() {
            return;
        }
        let w = self.region.words_mut();
        let mut dead = Vec::new();
        self.tracked.retain_mut(|(v, token)| {
            if !ev.is_from(v.offset()) {
                return true;
            }
            let h = w[(v.offset() / 8) as usize];
            if header_tag(h).0 == FORWARD_TAG {
                *v = Value::from_offset(h >> 8);
                true
            } else {
                dead.push(*token);
                false
            }
        });
        self.dead.extend(dead);
    }

    fn reset_nursery(&mut self) {
        self.stats.bytes_allocated += self.nursery.used();
        if self.config.stress {
            // Zeroed headers are invalid, so a stale reference is caught by
            // the verifier instead of reading plausible garbage.
            let (a, b) = (
                (self.nursery.start / 8) as usize,
                (self.nursery.top / 8) as usize,
            );
            self.region.words_mut()[a..b].fill(0);
        }
        self.nursery.top = self.nursery.start;
    }

    fn evacuate_roots(&mut self, ev: &mut Evacuation, roots: &mut dyn Roots) {
        let w = self.region.words_mut();
        for r in self.roots.iter_mut() {
            *r = ev.forward(w, *r);
        }
        for g in self.globals.iter_mut() {
            *g = ev.forward(w, *g);
        }
        roots.visit(&mut |slot: &mut Value| *slot = ev.forward(w, *slot));
    }

    /// Scan the objects copied into `to` from `at` and every object copied
    /// into `young_to` until no unscanned object remains (Cheney's
    /// algorithm: each to-space is a queue). An object copied into `to`
    /// that is left pointing into `young_to` is added to `remembered`.
    fn scan_to_spaces(&mut self, ev: &mut Evacuation, mut at: u64, remembered: &mut Vec<u64>) {
        let w = self.region.words_mut();
        let mut young_at = ev.young_to.start;
        loop {
            while young_at < ev.young_to.top {
                young_at = ev.scan_object(w, young_at).0;
            }
            if at >= ev.to.top {
                break;
            }
            while at < ev.to.top {
                let (next, young) = ev.scan_object(w, at);
                if young {
                    w[(at / 8) as usize] |= REMEMBERED_BIT;
                    remembered.push(at);
                }
                at = next;
            }
        }
    }

    /// Forward every reference in the object at `off`; returns the offset
    /// just past it.
    fn scan_object(&mut self, ev: &mut Evacuation, off: u64) -> u64 {
        ev.scan_object(self.region.words_mut(), off).0
    }
}

impl Evacuation {
    /// Forward every reference in the object at `off` of region words `w`;
    /// returns the offset just past it, and whether it now points into
    /// `young_to`.
    #[inline(always)]
    fn scan_object(&mut self, w: &mut [u64], off: u64) -> (u64, bool) {
        let i = (off / 8) as usize;
        let h = w[i];
        let n = header_words(h);
        let mut young = false;
        if header_tag(h).is_traced() {
            for j in i + 1..i + 1 + n {
                let v = Value::from_bits(w[j]);
                if v.is_ref() {
                    // Write only what changed: static objects mapped from an
                    // image stay shared with the file until really modified.
                    let nv = self.forward(w, v);
                    if nv != v {
                        w[j] = nv.bits();
                        young |= self.young_to.contains(nv.offset());
                    }
                }
            }
        }
        (off + (n as u64 + 1) * 8, young)
    }

    /// The new location of `v`, copying its object if it is in from-space
    /// and not yet copied.
    #[inline(always)]
    fn forward(&mut self, w: &mut [u64], v: Value) -> Value {
        if !v.is_ref() || !self.is_from(v.offset()) {
            return v;
        }
        let off = v.offset();
        let i = (off / 8) as usize;
        let h = w[i];
        if header_tag(h).0 == FORWARD_TAG {
            return Value::from_offset(h >> 8);
        }
        let n = header_words(h) + 1;
        let to = if self.aging && self.nursery.contains(off) {
            &mut self.young_to
        } else {
            &mut self.to
        };
        let dst = to.top;
        to.top += n as u64 * 8;
        let d = (dst / 8) as usize;
        if n <= 4 {
            // Pairs, boxes and small closures: a call to memmove costs more
            // than the copy.
            for k in 0..n {
                w[d + k] = w[i + k];
            }
        } else {
            w.copy_within(i..i + n, d);
        }
        w[d] &= !REMEMBERED_BIT;
        w[i] = (dst << 8) | FORWARD_TAG as u64;
        Value::from_offset(dst)
    }
}

/// The trace of `promote_survivors`: window objects (those in
/// `marks.area`) are marked, not moved; survivors are copied by `ev`.
struct WindowTrace {
    ev: Evacuation,
    marks: MarkBits,
    /// Window objects marked whose fields are still to trace.
    stack: Vec<u64>,
}

impl WindowTrace {
    /// A reference met: a window object is marked, a survivor copied.
    fn visit(&mut self, w: &mut [u64], v: Value) -> Value {
        if !(v.is_ref() && self.marks.area.contains(v.offset())) {
            return self.ev.forward(w, v);
        }
        if let Some(slot) = self.marks.unmarked(v.offset()) {
            let h = w[(v.offset() / 8) as usize];
            self.marks.set(slot, header_words(h) + 1);
            if header_tag(h).is_traced() {
                self.stack.push(v.offset());
            }
        }
        v
    }

    /// Trace the fields of the object at `off`; the offset past it.
    fn scan(&mut self, w: &mut [u64], off: u64) -> u64 {
        let i = (off / 8) as usize;
        let n = header_words(w[i]);
        if header_tag(w[i]).is_traced() {
            for j in i + 1..i + 1 + n {
                let v = Value::from_bits(w[j]);
                if v.is_ref() {
                    let nv = self.visit(w, v);
                    if nv != v {
                        w[j] = nv.bits();
                    }
                }
            }
        }
        off + (n as u64 + 1) * 8
    }
}

/// One bit per word of a range of the heap, set on every word of the
/// marked objects: the sweep finds the free runs in the bitmap alone,
/// without reading the heap.
struct MarkBits {
    area: Space,
    bits: Vec<u64>,
    /// Words in `area`.
    words: usize,
    /// Bytes of the marked objects.
    live: u64,
}

impl MarkBits {
    fn new(area: Space) -> MarkBits {
        let words = ((area.top - area.start) / 8) as usize;
        MarkBits {
            area,
            bits: vec![0; words.div_ceil(64)],
            words,
            live: 0,
        }
    }

    /// The bit of the object starting at `off`, if it lies in the range
    /// and is not marked yet.
    #[inline(always)]
    fn unmarked(&self, off: u64) -> Option<usize> {
        if !self.area.contains(off) {
            return None;
        }
        let slot = ((off - self.area.start) / 8) as usize;
        (self.bits[slot / 64] & (1 << (slot % 64)) == 0).then_some(slot)
    }

    /// Mark `n` words from bit `slot` (an object and its payload).
    #[inline(always)]
    fn set(&mut self, slot: usize, n: usize) {
        self.live += n as u64 * 8;
        let b = slot % 64;
        if n == 0 {
            return;
        }
        if b + n <= 64 {
            // Within one word: most objects are small.
            if let Some(word) = self.bits.get_mut(slot / 64) {
                *word |= (u64::MAX >> (64 - n)) << b;
            }
            return;
        }
        let mut i = slot;
        let end = slot + n;
        while i < end {
            let (w, b) = (i / 64, i % 64);
            let k = (64 - b).min(end - i);
            self.bits[w] |= (u64::MAX >> (64 - k)) << b;
            i += k;
        }
    }

    fn is_marked(&self, off: u64) -> bool {
        let slot = ((off - self.area.start) / 8) as usize;
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }

    /// The first bit at or after `from` that is `set` (or, if `!set`,
    /// clear); `self.words` if none.
    fn next(&self, from: usize, set: bool) -> usize {
        let flip = if set { 0 } else { u64::MAX };
        let mut k = from / 64;
        if k >= self.bits.len() {
            return self.words;
        }
        let mut word = (self.bits[k] ^ flip) & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return (k * 64 + word.trailing_zeros() as usize).min(self.words);
            }
            k += 1;
            if k >= self.bits.len() {
                return self.words;
            }
            word = self.bits[k] ^ flip;
        }
    }

    /// The runs of unmarked words, as offsets `[start, end)`, in address
    /// order.
    fn free_runs(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            let from = self.next(at, false);
            if from >= self.words {
                return None;
            }
            at = self.next(from, true);
            let off = |slot: usize| self.area.start + slot as u64 * 8;
            Some((off(from), off(at)))
        })
    }
}

/// Minor collections that promote at once after one found that most of
/// the survivor space survived a second time.
const SKIP_AGING: u32 = 8;

/// Promotions in place allowed after a copying minor collection found the
/// nursery nearly all alive; then one copies again to measure.
const PROMOTE_STREAK: u32 = 3;

/// Old-generation size at which the next full collection starts, given
/// what survived this one: three times the survivors for small heaps (a
/// full collection copies every survivor, so fewer of them pay), tending
/// to twice for large ones (a 1 GB heap must not grow to 3 GB).
fn next_major_trigger(live: u64, min: u64) -> u64 {
    const EXTRA_CAP: u64 = 128 << 20;
    (live * 2 + live.min(EXTRA_CAP)).max(min)
}

#[cfg(test)]
mod trigger_tests {
    use super::next_major_trigger;

    #[test]
    fn small_heaps_triple_large_heaps_double() {
        let mb = 1u64 << 20;
        assert_eq!(next_major_trigger(0, 24 * mb), 24 * mb);
        assert_eq!(next_major_trigger(40 * mb, 24 * mb), 120 * mb);
        assert_eq!(next_major_trigger(1024 * mb, 24 * mb), 2048 * mb + 128 * mb);
    }
}

#[cfg(test)]
mod tracked_tests {
    use crate::{CollectionKind, Heap, HeapConfig, NoRoots, Tag, Value};

    #[test]
    fn tracked_objects_report_their_death_and_survivors_are_followed() {
        let mut h = Heap::new(HeapConfig::default()).expect("heap");
        let keep = h.try_alloc(Tag(1), 2).expect("alloc");
        h.set_init(keep, 0, Value::fix(1));
        h.set_init(keep, 1, Value::fix(2));
        let lose = h.try_alloc(Tag(1), 2).expect("alloc");
        h.set_init(lose, 0, Value::fix(3));
        h.set_init(lose, 1, Value::fix(4));
        h.track(keep, 10);
        h.track(lose, 20);
        let g = h.new_global(keep);
        h.collect(CollectionKind::Minor, &mut NoRoots)
            .expect("minor");
        assert_eq!(h.take_dead(), vec![20]);
        // The survivor moved to the old generation and is still tracked.
        let moved = h.global(g);
        assert_eq!(h.get(moved, 1), Value::fix(2));
        h.collect(CollectionKind::Major, &mut NoRoots)
            .expect("major");
        assert!(h.take_dead().is_empty());
        h.release_global(g);
        h.collect(CollectionKind::Major, &mut NoRoots)
            .expect("major");
        assert_eq!(h.take_dead(), vec![10]);
        assert!(h.take_dead().is_empty());
    }
}
