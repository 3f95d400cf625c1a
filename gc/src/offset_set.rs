//! A set of heap offsets as a paged bitmap.

use std::cell::Cell;
use std::collections::HashMap;

/// A set of heap objects by offset: a bit per heap word, in pages made as
/// they are needed, so marking every object of a large structure costs a
/// sixty-fourth of the memory it lies in (a hash set of offsets cost
/// several times the structure). The page last used is remembered, so
/// runs of nearby offsets (the common case) skip the page lookup.
#[derive(Default)]
pub struct OffsetSet {
    /// Page number → index in `bits`.
    index: HashMap<u64, usize>,
    /// The pages' bitmaps.
    bits: Vec<Box<[u64; PAGE_WORDS]>>,
    /// The last page looked up, and its index.
    last: Cell<Option<(u64, usize)>>,
}

/// Bitmap words per page: a page covers 64 × 512 heap words (256 KiB).
const PAGE_WORDS: usize = 512;
const PAGE_BITS: u64 = 64 * PAGE_WORDS as u64;

/// Page, word in the page's bitmap, and bit mask of offset `off`.
fn locate(off: u64) -> (u64, usize, u64) {
    let w = off / 8;
    let bit = w % PAGE_BITS;
    (w / PAGE_BITS, (bit / 64) as usize, 1 << (bit % 64))
}

impl OffsetSet {
    /// The index of `page` in `bits`, if it has one.
    fn page(&self, page: u64) -> Option<usize> {
        match self.last.get() {
            Some((p, i)) if p == page => return Some(i),
            _ => {}
        }
        let i = *self.index.get(&page)?;
        self.last.set(Some((page, i)));
        Some(i)
    }

    /// Add the object at `off`.
    pub fn insert(&mut self, off: u64) {
        let (page, w, m) = locate(off);
        let i = match self.page(page) {
            Some(i) => i,
            None => {
                self.bits.push(Box::new([0; PAGE_WORDS]));
                let i = self.bits.len() - 1;
                self.index.insert(page, i);
                self.last.set(Some((page, i)));
                i
            }
        };
        self.bits[i][w] |= m;
    }

    /// Take out the object at `off`.
    pub fn remove(&mut self, off: u64) {
        let (page, w, m) = locate(off);
        if let Some(i) = self.page(page) {
            self.bits[i][w] &= !m;
        }
    }

    /// Is the object at `off` in the set?
    pub fn contains(&self, off: u64) -> bool {
        let (page, w, m) = locate(off);
        self.page(page).is_some_and(|i| self.bits[i][w] & m != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::OffsetSet;

    #[test]
    fn offsets_far_apart_and_near_are_kept_apart() {
        let mut s = OffsetSet::default();
        let offs = [8u64, 16, 8 * 32768, 8 * 32768 + 8, 1 << 40, (1 << 40) + 64];
        for &o in &offs {
            assert!(!s.contains(o));
            s.insert(o);
        }
        for &o in &offs {
            assert!(s.contains(o), "{o}");
        }
        assert!(!s.contains(24) && !s.contains((1 << 40) + 8));
        s.remove(16);
        assert!(!s.contains(16) && s.contains(8));
    }
}
