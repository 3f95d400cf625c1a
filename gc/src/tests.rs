//! Collector tests: a model graph in plain Rust is mirrored in the heap,
//! and after every collection the heap must still describe the model.

use proptest::prelude::*;

use crate::{CollectionKind, Heap, HeapConfig, NoRoots, Roots, Tag, Value};

const NODE: Tag = Tag(1);
const RAW: Tag = Tag(0x80);

fn small_heap(stress: bool) -> Heap {
    Heap::new(HeapConfig {
        nursery_bytes: 64 * 1024,
        old_bytes: 256 << 20,
        static_bytes: 4 << 20,
        pure_bytes: 1 << 20,
        min_major_bytes: 256 * 1024,
        stress,
    })
    .expect("reserve heap")
}

/// Allocate, collecting with `roots` when the nursery is full.
fn alloc(heap: &mut Heap, tag: Tag, words: usize, roots: &mut dyn Roots) -> Value {
    loop {
        if let Some(v) = heap.try_alloc(tag, words) {
            return v;
        }
        heap.collect(CollectionKind::Auto, roots).expect("collect");
    }
}

/// A node: [id (fixnum), left, right] ; raw blobs hold their id in word 0.
fn make_node(heap: &mut Heap, id: i64) -> Value {
    let v = alloc(heap, NODE, 3, &mut NoRoots);
    heap.set_init(v, 0, Value::fix(id));
    heap.set_init(v, 1, Value::NIL);
    heap.set_init(v, 2, Value::NIL);
    v
}

#[derive(Debug, Clone)]
enum Op {
    New,
    Link {
        from: usize,
        to: usize,
        right: bool,
    },
    Drop(usize),
    Minor,
    Major,
    Blob(u8),
    /// A chain of many nodes, only its newest one a root: fills nurseries
    /// with survivors, so collections promote in place.
    Burst(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::New),
        4 => (any::<usize>(), any::<usize>(), any::<bool>()).prop_map(|(from, to, right)| Op::Link { from, to, right }),
        1 => any::<usize>().prop_map(Op::Drop),
        1 => Just(Op::Minor),
        1 => Just(Op::Major),
        2 => any::<u8>().prop_map(Op::Blob),
        1 => (0u8..4).prop_map(Op::Burst),
    ]
}

/// The model: node id -> (left id, right id); roots are ids held in globals.
struct Model {
    edges: Vec<(Option<usize>, Option<usize>)>,
    roots: Vec<(usize, crate::Global)>,
}

fn check_against_model(heap: &Heap, model: &Model) {
    heap.verify(&mut NoRoots).expect("heap verifies");
    for &(id, g) in &model.roots {
        let mut stack = vec![(id, heap.global(g))];
        let mut seen = std::collections::HashSet::new();
        while let Some((id, v)) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            assert_eq!(heap.tag(v), NODE);
            assert_eq!(heap.get(v, 0).as_fixnum(), Some(id as i64));
            let (l, r) = model.edges[id];
            for (slot, want) in [(1, l), (2, r)] {
                let child = heap.get(v, slot);
                match want {
                    None => assert!(child.is_nil()),
                    Some(c) => stack.push((c, child)),
                }
            }
        }
    }
}

fn run_ops(ops: Vec<Op>, stress: bool) {
    let mut heap = small_heap(stress);
    let mut model = Model {
        edges: Vec::new(),
        roots: Vec::new(),
    };
    for op in ops {
        match op {
            Op::New => {
                let id = model.edges.len();
                let v = make_node(&mut heap, id as i64);
                model.edges.push((None, None));
                let g = heap.new_global(v);
                model.roots.push((id, g));
            }
            Op::Link { from, to, right } if !model.roots.is_empty() => {
                let (fid, fg) = model.roots[from % model.roots.len()];
                let (tid, tg) = model.roots[to % model.roots.len()];
                let (fv, tv) = (heap.global(fg), heap.global(tg));
                heap.set(fv, if right { 2 } else { 1 }, tv);
                let e = &mut model.edges[fid];
                if right {
                    e.1 = Some(tid)
                } else {
                    e.0 = Some(tid)
                }
            }
            Op::Drop(i) if !model.roots.is_empty() => {
                let (_, g) = model.roots.swap_remove(i % model.roots.len());
                heap.release_global(g);
            }
            Op::Minor => heap
                .collect(CollectionKind::Minor, &mut NoRoots)
                .expect("minor"),
            Op::Major => heap
                .collect(CollectionKind::Major, &mut NoRoots)
                .expect("major"),
            Op::Blob(n) => {
                let v = alloc(&mut heap, RAW, n as usize, &mut NoRoots);
                heap.payload_mut(v).fill(0xdead_beef);
            }
            Op::Burst(k) => {
                let n = if stress { 40 } else { 600 * (k as usize + 1) };
                let g = heap.new_global(Value::NIL);
                let mut prev = None;
                for _ in 0..n {
                    let id = model.edges.len();
                    let v = make_node(&mut heap, id as i64);
                    heap.set(v, 1, heap.global(g));
                    heap.set_global(g, v);
                    model.edges.push((prev, None));
                    prev = Some(id);
                }
                if let Some(id) = prev {
                    model.roots.push((id, g));
                } else {
                    heap.release_global(g);
                }
            }
            _ => {}
        }
        check_against_model(&heap, &model);
    }
    check_purified_against_model(&heap, &model);
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("final major");
    check_against_model(&heap, &model);
    check_purified_against_model(&heap, &model);
}

/// Purify from the model's roots: the section must describe the model,
/// every reference in it must point at one of its objects, and the heap
/// must be unchanged.
fn check_purified_against_model(heap: &Heap, model: &Model) {
    let before = heap.region.words()
        [(heap.nursery.start / 8) as usize..(heap.nursery.top / 8) as usize]
        .to_vec();
    let roots: Vec<Value> = model.roots.iter().map(|&(_, g)| heap.global(g)).collect();
    let p = heap.purify(&roots).expect("purify");
    assert_eq!(
        &heap.region.words()[(heap.nursery.start / 8) as usize..(heap.nursery.top / 8) as usize],
        &before[..],
        "purify wrote into the heap"
    );
    let base = heap.static_offset();
    let words = p.words();
    // Object starts, by walking the section.
    let mut starts = std::collections::HashSet::new();
    let mut at = 0;
    while at < words.len() {
        starts.insert(base + at as u64 * 8);
        at += 1 + crate::object::header_words(words[at]);
    }
    assert_eq!(at, words.len());
    assert_eq!(starts.len(), p.objects);
    let word = |off: u64| words[((off - base) / 8) as usize];
    for (&(id, _), &r) in model.roots.iter().zip(&p.roots) {
        let mut stack = vec![(id, r)];
        let mut seen = std::collections::HashSet::new();
        while let Some((id, v)) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            assert!(starts.contains(&v.offset()), "reference to no object");
            assert_eq!(crate::object::header_tag(word(v.offset())), NODE);
            assert_eq!(
                Value::from_bits(word(v.offset() + 8)).as_fixnum(),
                Some(id as i64)
            );
            let (l, r) = model.edges[id];
            for (slot, want) in [(1, l), (2, r)] {
                let child = Value::from_bits(word(v.offset() + 8 * (slot + 1)));
                match want {
                    None => assert!(child.is_nil()),
                    Some(c) => stack.push((c, child)),
                }
            }
        }
    }
}

/// A sink that keeps the pieces it gets, checking how they come.
struct Pieces {
    announced: Option<u64>,
    bytes: Vec<u8>,
    pieces: usize,
    last_short: bool,
    fail_at: Option<usize>,
}

impl crate::SectionSink for Pieces {
    fn begin(&mut self, bytes: u64) -> Result<(), String> {
        assert!(self.announced.is_none(), "begin twice");
        self.announced = Some(bytes);
        Ok(())
    }
    fn write(&mut self, b: &[u8]) -> Result<(), String> {
        assert!(self.announced.is_some(), "write before begin");
        assert!(!self.last_short, "a piece after a short one");
        assert_eq!(b.as_ptr() as usize % 4096, 0, "piece not page-aligned");
        assert!(!b.is_empty() && b.len() <= crate::PIECE_BYTES);
        self.last_short = b.len() < crate::PIECE_BYTES;
        if self.fail_at == Some(self.pieces) {
            return Err("disk full (test)".into());
        }
        self.pieces += 1;
        self.bytes.extend_from_slice(b);
        Ok(())
    }
}

#[test]
fn purify_streams_whole_pieces_and_stops_at_a_sink_error() {
    let mut heap = Heap::new(HeapConfig {
        static_bytes: 64 << 20,
        ..HeapConfig::default()
    })
    .expect("reserve heap");
    // A static space too small for the data is refused, not overrun.
    let mut small = small_heap(false);
    let g = small.new_global(Value::NIL);
    for i in 0..140_000 {
        let v = make_node(&mut small, i);
        let next = small.global(g);
        small.set(v, 1, next);
        small.set_global(g, v);
    }
    let chain = small.global(g);
    assert!(matches!(
        small.purify(&[chain]),
        Err(crate::HeapError::OutOfMemory { .. })
    ));
    // About 9.6 MB of live nodes in one chain (three pieces), plus garbage.
    let n = 300_000;
    let mut chain = Value::NIL;
    let g = heap.new_global(chain);
    for i in 0..n {
        let v = make_node(&mut heap, i);
        chain = heap.global(g);
        heap.set(v, 1, chain);
        heap.set_global(g, v);
        let _ = alloc(&mut heap, RAW, 5, &mut NoRoots);
    }
    chain = heap.global(g);
    let mem = heap.purify(&[chain]).expect("purify");
    let mut sink = Pieces {
        announced: None,
        bytes: Vec::new(),
        pieces: 0,
        last_short: false,
        fail_at: None,
    };
    let r = heap.purify_to(&[chain], &mut sink).expect("purify_to");
    assert_eq!(sink.announced, Some(r.bytes));
    assert_eq!(sink.bytes.len() as u64, r.bytes);
    assert_eq!(r.bytes, n as u64 * 32);
    assert_eq!(sink.pieces, 3);
    assert_eq!(&sink.bytes[..], mem.bytes());
    assert_eq!(r.roots, mem.roots);
    let mut failing = Pieces {
        announced: None,
        bytes: Vec::new(),
        pieces: 0,
        last_short: false,
        fail_at: Some(1),
    };
    match heap.purify_to(&[chain], &mut failing) {
        Err(crate::HeapError::Image(m)) => assert_eq!(m, "disk full (test)"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a failing sink went unnoticed"),
    }
    assert_eq!(failing.pieces, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn collector_preserves_the_model_graph(ops in proptest::collection::vec(op(), 1..200)) {
        run_ops(ops, false);
    }

    #[test]
    fn collector_preserves_the_model_graph_under_stress(ops in proptest::collection::vec(op(), 1..120)) {
        run_ops(ops, true);
    }
}

#[test]
fn garbage_is_reclaimed_and_live_data_survives_many_collections() {
    let mut heap = small_heap(false);
    let keep = make_node(&mut heap, 7);
    let g = heap.new_global(keep);
    for i in 0..200_000 {
        let v = make_node(&mut heap, i);
        // Hang the newest node off the kept one: an old-to-young store.
        let k = heap.global(g);
        heap.set(k, 1, v);
    }
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    assert!(heap.stats().minor_collections > 10);
    assert!(heap.stats().major_collections >= 1);
    let k = heap.global(g);
    assert_eq!(heap.get(k, 0).as_fixnum(), Some(7));
    assert_eq!(heap.get(heap.get(k, 1), 0).as_fixnum(), Some(199_999));
    // Two live nodes of 4 words each.
    assert_eq!(heap.stats().live_bytes, 64);
    heap.verify(&mut NoRoots).expect("verifies");
}

/// Allocate a chain of `n` nodes numbered from `first`, the newest held by
/// global `g`, each pointing at the one before.
fn chain(heap: &mut Heap, g: crate::Global, first: i64, n: i64) {
    for id in first..first + n {
        let v = make_node(heap, id);
        heap.set(v, 1, heap.global(g));
        heap.set_global(g, v);
    }
}

/// Walk a chain from its newest node: the ids, newest first.
fn chain_ids(heap: &Heap, g: crate::Global) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut v = heap.global(g);
    while !v.is_nil() {
        ids.push(heap.get(v, 0).as_fixnum().expect("id"));
        v = heap.get(v, 1);
    }
    ids
}

/// A small heap that makes no full collection unless asked to, and
/// whose first minor collection copies like the later ones (instead of
/// measuring by marking first).
fn heap_without_majors() -> Heap {
    let mut heap = small_heap(false);
    heap.major_trigger = u64::MAX;
    heap.measure_next = false;
    heap
}

#[test]
fn a_first_nursery_that_all_survives_is_promoted_without_a_copy() {
    let mut heap = small_heap(false);
    heap.major_trigger = u64::MAX;
    let g = heap.new_global(Value::NIL);
    // The first full nursery is marked, found all alive, and promoted
    // where it lies: nothing copied, nothing in the survivor space.
    chain(&mut heap, g, 0, 2048);
    let newest = heap.global(g);
    chain(&mut heap, g, 2048, 1);
    let s = heap.stats();
    assert_eq!((s.minor_collections, s.promotions), (1, 1));
    assert_eq!(heap.survivors.used(), 0);
    assert_eq!(heap.get(heap.global(g), 1), newest, "not moved");
    assert!(!heap.is_young(newest));
    heap.verify(&mut NoRoots).expect("verifies");
    // A first nursery that is mostly garbage is copied as usual.
    let mut heap = small_heap(false);
    let g = heap.new_global(Value::NIL);
    fill_keeping_half(&mut heap, g);
    let s = heap.stats();
    assert_eq!((s.minor_collections, s.promotions), (1, 0));
    assert_eq!(heap.survivors.used(), 1024 * 32);
    assert_eq!(chain_ids(&heap, g).len(), 1024);
}

#[test]
fn a_nursery_that_all_survives_is_promoted_where_it_lies() {
    let mut heap = heap_without_majors();
    let g = heap.new_global(Value::NIL);
    // 64 KB holds 2048 nodes of 32 bytes. The first full nursery is copied
    // and found all alive; the next ones are promoted without moving.
    chain(&mut heap, g, 0, 2058);
    assert_eq!(heap.stats().minor_collections, 1);
    assert_eq!(heap.stats().promotions, 0);
    chain(&mut heap, g, 2058, 2038);
    let full = heap.global(g);
    assert!(heap.is_young(full));
    chain(&mut heap, g, 4096, 1);
    assert_eq!(heap.stats().promotions, 1);
    let promoted = heap.get(heap.global(g), 1);
    assert_eq!(promoted, full, "promoted without moving");
    assert!(!heap.is_young(promoted));
    heap.verify(&mut NoRoots)
        .expect("verifies after a promotion");
    // Two more promotions; then the next collection measures survival by
    // marking, finds the nursery all alive, and promotes it too.
    let before = heap.global(g);
    chain(&mut heap, g, 4097, 3 * 2048);
    let s = heap.stats();
    assert_eq!((s.minor_collections, s.promotions), (5, 4));
    assert!(!heap.is_young(before));
    heap.verify(&mut NoRoots).expect("verifies");
    let ids = chain_ids(&heap, g);
    assert_eq!(ids.len(), 4097 + 3 * 2048);
    assert!(ids.iter().rev().copied().eq(0..ids.len() as i64));
    // A full collection keeps it all and the chain still reads back.
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    heap.verify(&mut NoRoots).expect("verifies after the major");
    assert_eq!(chain_ids(&heap, g), ids);
    assert_eq!(heap.stats().live_bytes, ids.len() as u64 * 32);
}

#[test]
fn a_heap_growing_into_fresh_pages_asks_for_the_next_window_ahead() {
    let mut heap = heap_without_majors();
    let g = heap.new_global(Value::NIL);
    // Promotions in place open each new window past the last, in pages
    // never touched: each asks the helper thread for the one after.
    chain(&mut heap, g, 0, 6 * 2048);
    assert!(heap.stats().promotions >= 3);
    // Pages past the window were asked for, no more than a window ahead
    // of it, and the window's own pages were faulted in.
    let window = heap.window_bytes();
    assert!(heap.populated >= heap.nursery.limit);
    if crate::space::one_cpu() {
        // One CPU: no helper thread, nothing asked for.
        assert_eq!(heap.requested, 0);
        return;
    }
    assert!(heap.requested > heap.nursery.limit, "{}", heap.requested);
    assert!(heap.requested <= heap.nursery.limit + 2 * window);
    assert!(heap.populated >= heap.nursery.limit);
    heap.verify(&mut NoRoots).expect("verifies");
    assert_eq!(chain_ids(&heap, g).len(), 6 * 2048);
    // A copying full collection starts again in the other semispace, its
    // first window fresh too.
    let before = heap.requested;
    heap.set_global(g, Value::NIL);
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    assert!(!heap.old.contains(before));
    assert!(heap.requested > heap.nursery.limit);
    assert!(heap.requested <= heap.nursery.limit + window);
}

/// Fill the nursery with nodes, every other one added to the chain at
/// global `g`, then collect it.
fn fill_keeping_half(heap: &mut Heap, g: crate::Global) {
    for id in 0..2048 {
        let v = make_node(heap, id);
        if id % 2 == 0 {
            heap.set(v, 1, heap.global(g));
            heap.set_global(g, v);
        }
    }
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
}

#[test]
fn survivors_copied_to_the_end_have_room_asked_for_past_them() {
    let mut heap = heap_without_majors();
    let g = heap.new_global(Value::NIL);
    // Half the nursery survives, twice: the first half ages in the
    // survivor space, then is copied to the old generation's end, and
    // the helper is asked for twice that much room past it.
    fill_keeping_half(&mut heap, g);
    assert_eq!(heap.survivors.used(), 1024 * 32);
    fill_keeping_half(&mut heap, g);
    assert_eq!(heap.old_used(), 1024 * 32);
    assert_eq!(heap.stats().promotions, 0);
    assert!(heap.populated >= heap.old.top);
    if crate::space::one_cpu() {
        assert_eq!(heap.requested, 0);
    } else {
        assert!(
            heap.requested > heap.old.top,
            "{} {}",
            heap.requested,
            heap.old.top
        );
        assert!(heap.requested <= heap.old.top + heap.window_bytes());
    }
    assert_eq!(chain_ids(&heap, g).len(), 2048);
    // Near the full collection's trigger, nothing more is asked for.
    let asked = heap.requested;
    heap.major_trigger = heap.old_used() + 1;
    fill_keeping_half(&mut heap, g);
    assert_eq!(heap.requested, asked);
    heap.verify(&mut NoRoots).expect("verifies");
}

#[test]
fn a_promoted_window_with_old_objects_past_it_leaves_a_walkable_filler() {
    let mut heap = heap_without_majors();
    let g = heap.new_global(Value::NIL);
    // Copying collections put survivors of two of them past the window;
    // the window is then promoted three quarters full, its tail left as a
    // filler, and the survivor space's objects are copied to the end.
    let halves = heap.new_global(Value::NIL);
    fill_keeping_half(&mut heap, halves);
    chain(&mut heap, g, 0, 2048 + 1);
    assert!(heap.old.top > heap.nursery.limit);
    assert_eq!(heap.survivors.used(), 2048 * 32);
    chain(&mut heap, g, 2049, 1600);
    heap.collect(CollectionKind::Auto, &mut NoRoots)
        .expect("minor");
    assert_eq!(heap.stats().promotions, 1);
    assert_eq!(heap.survivors.used(), 0);
    heap.verify(&mut NoRoots).expect("a filler is walkable");
    assert_eq!(chain_ids(&heap, halves).len(), 1024);
    // Old objects now point to young ones across both runs.
    let old_node = heap.global(g);
    let young = make_node(&mut heap, -1);
    heap.set(old_node, 2, young);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    heap.verify(&mut NoRoots).expect("verifies");
    let k = heap.global(g);
    assert_eq!(heap.get(heap.get(k, 2), 0).as_fixnum(), Some(-1));
    assert_eq!(chain_ids(&heap, g).len(), 2049 + 1600);
}

#[test]
fn garbage_promoted_in_place_is_freed_by_the_next_full_collection() {
    let mut heap = heap_without_majors();
    let g = heap.new_global(Value::NIL);
    chain(&mut heap, g, 0, 2049);
    // The credit earned, the chain is dropped: three windows of garbage
    // are promoted, then a collection measures by marking, finds nothing
    // alive and copies (nothing), and promotion stops.
    heap.set_global(g, Value::NIL);
    for i in 0..2048 * 6 {
        make_node(&mut heap, i);
    }
    let s = heap.stats();
    assert_eq!((s.minor_collections, s.promotions), (7, 3), "{s:?}");
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    assert_eq!(heap.stats().live_bytes, 0);
    heap.verify(&mut NoRoots).expect("verifies");
}

/// A heap whose old generation holds a kept chain of `kept` nodes (the
/// newest 100 allocated after the garbage) and, between them, four
/// windows of a dropped chain; no full collection has run yet.
fn heap_with_garbage_between(kept: i64) -> (Heap, crate::Global, crate::Global) {
    let mut heap = heap_without_majors();
    let keep = heap.new_global(Value::NIL);
    let drop = heap.new_global(Value::NIL);
    chain(&mut heap, keep, 0, kept - 100);
    chain(&mut heap, drop, 0, 2048 * 4);
    chain(&mut heap, keep, kept - 100, 100);
    heap.set_global(drop, Value::NIL);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    (heap, keep, drop)
}

#[test]
fn a_full_collection_in_place_moves_nothing_and_reuses_the_dead_space() {
    // 6000 nodes live, four windows dead: more live than half the free
    // space, so the collection sweeps in place.
    let (mut heap, keep, drop) = heap_with_garbage_between(6000);
    let newest = heap.global(keep);
    let ids = chain_ids(&heap, keep);
    let top = heap.old.top;
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    heap.major_trigger = u64::MAX;
    let s = heap.stats();
    assert_eq!((s.major_collections, s.majors_in_place), (1, 1));
    assert_eq!(heap.global(keep), newest, "nothing moved");
    assert_eq!(chain_ids(&heap, keep), ids);
    assert_eq!(s.live_bytes, 6000 * 32);
    heap.verify(&mut NoRoots).expect("verifies after marking");
    // The dropped chain's space is holes; the window opened in the first.
    assert!(!heap.holes.is_empty());
    assert!(
        heap.free_bytes >= 2 * heap.window_bytes(),
        "{}",
        heap.free_bytes
    );
    assert!(heap.nursery.limit <= top);
    // Two windows of new data, copied once and then promoted, go into
    // the holes: the old generation's end stays put.
    let top = heap.old.top;
    chain(&mut heap, drop, 0, 2 * 2048);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    assert_eq!(heap.old.top, top);
    heap.verify(&mut NoRoots).expect("verifies after reuse");
    assert_eq!(chain_ids(&heap, drop).len(), 2 * 2048);
    assert_eq!(chain_ids(&heap, keep), ids);
    assert_eq!(heap.stats().live_bytes, (6000 + 2 * 2048) * 32);
}

#[test]
fn a_mostly_dead_old_generation_is_compacted_instead() {
    // 1000 nodes live, four windows dead: copying the few survivors is
    // cheap and gives the pages back.
    let (mut heap, keep, _) = heap_with_garbage_between(1000);
    let newest = heap.global(keep);
    let ids = chain_ids(&heap, keep);
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    let s = heap.stats();
    assert_eq!((s.major_collections, s.majors_in_place), (1, 0));
    assert_ne!(heap.global(keep), newest, "copied");
    assert!(heap.holes.is_empty() && heap.free_bytes == 0);
    assert_eq!(s.live_bytes, 1000 * 32);
    assert_eq!(chain_ids(&heap, keep), ids);
    heap.verify(&mut NoRoots)
        .expect("verifies after compacting");
}

#[test]
fn tracked_objects_are_reported_dead_by_a_full_collection_in_place() {
    let (mut heap, keep, _) = heap_with_garbage_between(6000);
    let live = heap.global(keep);
    let dead = heap.get(live, 1);
    // Only the newest node stays; a minor collection would not free the other.
    heap.set(live, 1, heap.get(dead, 1));
    heap.track(live, 1);
    heap.track(dead, 2);
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    assert_eq!(heap.stats().majors_in_place, 1);
    assert_eq!(heap.take_dead(), vec![2]);
    assert_eq!(heap.tracked, vec![(live, 1)]);
}

#[test]
fn identity_hash_survives_moves() {
    let mut heap = small_heap(false);
    let v = make_node(&mut heap, 1);
    let h = heap.identity_hash(v);
    let g = heap.new_global(v);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    let moved = heap.global(g);
    assert_ne!(moved, v, "the object moved");
    assert_eq!(heap.identity_hash(moved), h);
}

#[test]
fn mutator_roots_are_rewritten() {
    struct Stack(Vec<Value>);
    impl Roots for Stack {
        fn visit(&mut self, f: &mut dyn FnMut(&mut Value)) {
            self.0.iter_mut().for_each(f);
        }
    }
    let mut heap = small_heap(false);
    let mut stack = Stack(Vec::new());
    for i in 0..10 {
        let v = make_node(&mut heap, i);
        stack.0.push(v);
    }
    let first = stack.0.clone();
    // The first minor collection copies them to the survivor space: moved,
    // still young. The second promotes them to the old generation.
    heap.collect(CollectionKind::Minor, &mut stack)
        .expect("minor");
    heap.verify(&mut stack).expect("verifies");
    for (i, v) in stack.0.iter().enumerate() {
        assert_ne!(*v, first[i], "moved");
        assert!(heap.survivors.contains(v.offset()));
        assert!(heap.is_young(*v));
        assert_eq!(heap.get(*v, 0).as_fixnum(), Some(i as i64));
    }
    heap.collect(CollectionKind::Minor, &mut stack)
        .expect("minor");
    heap.verify(&mut stack).expect("verifies");
    assert_eq!(heap.survivors.used(), 0);
    for (i, v) in stack.0.iter().enumerate() {
        assert!(!heap.is_young(*v));
        assert!(heap.old_contains(v.offset()));
        assert_eq!(heap.get(*v, 0).as_fixnum(), Some(i as i64));
    }
}

#[test]
fn an_old_object_pointing_to_a_survivor_stays_remembered_until_it_is_promoted() {
    let mut heap = heap_without_majors();
    // An old object, then a young one it points to, then a minor
    // collection: the young object ages in the survivor space and the old
    // one must stay remembered, or the next minor collection would miss it.
    let old = heap.alloc_old(NODE, 3).expect("old");
    heap.set(old, 0, Value::fix(1));
    let g = heap.new_global(old);
    let young = make_node(&mut heap, 2);
    heap.set(heap.global(g), 1, young);
    assert_eq!(heap.remembered.len(), 1);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    heap.verify(&mut NoRoots).expect("verifies");
    let aged = heap.get(heap.global(g), 1);
    assert!(heap.survivors.contains(aged.offset()));
    assert_eq!(heap.remembered, vec![heap.global(g).offset()]);
    // A survivor promoted while an old object is promoted with a field
    // pointing to a new survivor: the promoted one is remembered.
    let newer = make_node(&mut heap, 3);
    heap.set(aged, 2, newer);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    heap.verify(&mut NoRoots).expect("verifies");
    let promoted = heap.get(heap.global(g), 1);
    assert!(heap.old_contains(promoted.offset()));
    let newest = heap.get(promoted, 2);
    assert!(heap.survivors.contains(newest.offset()));
    assert_eq!(heap.remembered, vec![promoted.offset()]);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    heap.verify(&mut NoRoots).expect("verifies");
    assert!(heap.remembered.is_empty());
    let k = heap.global(g);
    let ids: Vec<_> = [k, heap.get(k, 1), heap.get(heap.get(k, 1), 2)]
        .iter()
        .map(|&v| heap.get(v, 0).as_fixnum())
        .collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3)]);
}

#[test]
fn heap_copied_to_another_address_reads_the_same() {
    let mut heap = small_heap(false);
    let a = make_node(&mut heap, 1);
    let ga = heap.new_global(a);
    let b = make_node(&mut heap, 2);
    let a = heap.global(ga);
    heap.set(a, 1, b);
    heap.collect(CollectionKind::Major, &mut NoRoots)
        .expect("major");
    let copy = heap.copy_to_new_region().expect("copy");
    assert_ne!(copy.base_address(), heap.base_address());
    drop(heap);
    copy.verify(&mut NoRoots).expect("copy verifies");
    let a = copy.global(ga);
    assert_eq!(copy.get(a, 0).as_fixnum(), Some(1));
    assert_eq!(copy.get(copy.get(a, 1), 0).as_fixnum(), Some(2));
}

#[test]
fn large_objects_go_to_the_old_generation_and_are_remembered() {
    let mut heap = small_heap(false);
    let big = heap.alloc_old(NODE, 100_000).expect("old alloc");
    let g = heap.new_global(big);
    let young = make_node(&mut heap, 42);
    heap.set(heap.global(g), 5, young);
    heap.verify(&mut NoRoots).expect("verifies");
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    let big = heap.global(g);
    assert_eq!(heap.get(heap.get(big, 5), 0).as_fixnum(), Some(42));
    heap.verify(&mut NoRoots).expect("verifies");
}

#[test]
fn identity_hashes_stay_spread_across_nursery_cycles() {
    let mut h = crate::Heap::new(crate::HeapConfig::default()).expect("heap");
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    for _ in 0..8 {
        // Fill the nursery, then empty it: offsets repeat, hashes must not.
        while let Some(v) = h.try_alloc(crate::Tag(1), 2) {
            h.set_init(v, 0, crate::Value::NIL);
            h.set_init(v, 1, crate::Value::NIL);
            seen.insert(h.identity_hash(v));
            n += 1;
        }
        h.collect(crate::CollectionKind::Minor, &mut crate::NoRoots)
            .expect("collect");
    }
    // 23-bit hashes: with n draws, nearly all distinct unless cycles repeat.
    assert!(
        seen.len() as f64 > 0.8 * n as f64,
        "{} distinct of {n}",
        seen.len()
    );
}

#[test]
fn purify_copies_what_is_reachable_and_leaves_the_heap_alone() {
    let mut h = crate::Heap::new(crate::HeapConfig::default()).expect("heap");
    // A list of 1000 pairs whose cars are boxes, plus garbage.
    let mut list = crate::Value::NIL;
    for i in 0..1000 {
        let b = h.try_alloc(crate::Tag(4), 1).expect("box");
        h.set_init(b, 0, crate::Value::fix(i));
        let g = h.try_alloc(crate::Tag(2), 3).expect("garbage");
        for k in 0..3 {
            h.set_init(g, k, crate::Value::FALSE);
        }
        let p = h.try_alloc(crate::Tag(1), 2).expect("pair");
        h.set_init(p, 0, b);
        h.set_init(p, 1, list);
        list = p;
    }
    let hash = h.identity_hash(list);
    let used = (h.nursery.start / 8) as usize..(h.nursery.top / 8) as usize;
    let before: Vec<u64> = h.region.words()[used.clone()].to_vec();
    let p = h.purify(&[list, crate::Value::fix(7)]).expect("purify");
    assert_eq!(h.region.words()[used], before[..], "heap untouched");
    assert_eq!(p.objects, 2000);
    assert_eq!(p.words().len(), 1000 * 3 + 1000 * 2);
    assert_eq!(p.roots[1], crate::Value::fix(7));
    let base = h.static_offset();
    let end = base + p.words().len() as u64 * 8;
    // Walk the copy: the list in order, the hash kept.
    let word = |off: u64| p.words()[((off - base) / 8) as usize];
    let mut l = p.roots[0];
    assert_eq!(crate::object::header_hash(word(l.offset())), hash);
    let mut expect = 999;
    while l != crate::Value::NIL {
        assert!(l.offset() >= base && l.offset() < end);
        let car = crate::Value::from_bits(word(l.offset() + 8));
        assert_eq!(
            crate::Value::from_bits(word(car.offset() + 8)),
            crate::Value::fix(expect)
        );
        l = crate::Value::from_bits(word(l.offset() + 16));
        expect -= 1;
    }
    assert_eq!(expect, -1);
}

#[test]
fn two_field_allocation_writes_both_fields_in_every_mode() {
    for stress in [false, true] {
        let mut heap = small_heap(stress);
        let mut i = 0;
        while i < 5000 {
            match heap.try_alloc2(NODE, Value::fix(i), Value::fix(-i)) {
                Some(v) => {
                    assert!(heap.is_young(v));
                    assert_eq!(heap.len(v), 2);
                    assert_eq!(heap.tag(v), NODE);
                    assert_eq!(
                        (heap.get(v, 0), heap.get(v, 1)),
                        (Value::fix(i), Value::fix(-i))
                    );
                    i += 1;
                }
                // Full (or, in stress mode, every other time): collect.
                None => heap
                    .collect(CollectionKind::Auto, &mut NoRoots)
                    .expect("collect"),
            }
        }
        heap.verify(&mut NoRoots).expect("verifies");
    }
}

#[test]
fn purify_takes_objects_from_the_survivor_space() {
    let mut heap = small_heap(false);
    let g = heap.new_global(Value::NIL);
    chain(&mut heap, g, 0, 100);
    heap.collect(CollectionKind::Minor, &mut NoRoots)
        .expect("minor");
    let head = heap.global(g);
    assert!(heap.survivors.contains(head.offset()));
    let p = heap.purify(&[head]).expect("purify");
    assert_eq!(p.objects, 100);
    // The section is the chain, newest first, each node linked to the next.
    let base = heap.static_offset();
    let words = p.words();
    let mut v = p.roots[0];
    for id in (0..100).rev() {
        let i = ((v.offset() - base) / 8) as usize;
        assert_eq!(Value::from_bits(words[i + 1]).as_fixnum(), Some(id));
        v = Value::from_bits(words[i + 2]);
    }
    assert!(v.is_nil());
}

#[test]
fn survivors_only_dead_window_objects_point_to_are_not_promoted() {
    let mut heap = heap_without_majors();
    let a = heap.new_global(Value::NIL);
    let b = heap.new_global(Value::NIL);
    // A full nursery of chain A, all alive: copied to the survivor space,
    // and the next collections may promote in place.
    chain(&mut heap, a, 0, 2049);
    assert_eq!(heap.survivors.used(), 2048 * 32);
    // The window fills three quarters with the rest of A and a short
    // chain B; then A dies, its newest node tracked.
    chain(&mut heap, a, 2049, 1500);
    chain(&mut heap, b, 0, 100);
    heap.track(heap.global(a), 7);
    heap.set_global(a, Value::NIL);
    heap.collect(CollectionKind::Auto, &mut NoRoots)
        .expect("minor");
    assert_eq!(heap.stats().promotions, 1);
    assert_eq!(heap.survivors.used(), 0);
    // A's survivors were not copied and its window nodes became fillers:
    // only B is old now.
    assert_eq!(heap.old_used(), 100 * 32);
    assert_eq!(heap.take_dead(), vec![7]);
    heap.verify(&mut NoRoots).expect("verifies");
    let ids = chain_ids(&heap, b);
    assert!(ids.iter().rev().copied().eq(0..100));
}
