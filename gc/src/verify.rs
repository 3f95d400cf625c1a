//! The heap verifier: walks every space and checks every object and
//! reference. Tests and the stress mode run it after collections.

use crate::heap::Heap;
use crate::object::{
    header_tag, header_words, FILLER_TAG, FORWARD_TAG, INVALID_TAG, REMEMBERED_BIT,
};
use crate::{Roots, Value};

impl Heap {
    /// Check the heap's structure: every object has a valid header and fits
    /// its space, every reference (in objects, handles, globals and `roots`)
    /// points at an object start, and every old-to-young reference is
    /// remembered.
    ///
    /// # Errors
    /// A description of the first problem found.
    pub fn verify(&self, roots: &mut dyn Roots) -> Result<(), String> {
        let w = self.region.words();
        // Object starts, a bit per heap word (a hash set of them made the
        // stress mode's verification most of its time).
        let mut starts = crate::OffsetSet::default();
        for (name, s) in self.spaces() {
            let mut at = s.start;
            while at < s.top {
                let h = w[(at / 8) as usize];
                let t = header_tag(h).0;
                if t == INVALID_TAG || t == FORWARD_TAG {
                    return Err(format!("{name} space: bad header {h:#x} at offset {at:#x}"));
                }
                let next = at + (header_words(h) as u64 + 1) * 8;
                if next > s.top {
                    return Err(format!(
                        "{name} space: object at {at:#x} runs past the space's top"
                    ));
                }
                if t != FILLER_TAG {
                    starts.insert(at);
                }
                at = next;
            }
        }
        // `what` names the place, made only for the message of a failure.
        let check = |what: &dyn Fn() -> String, v: Value| -> Result<(), String> {
            if v.is_ref() && !starts.contains(v.offset()) {
                Err(format!("{}: dangling reference {:#x}", what(), v.offset()))
            } else {
                Ok(())
            }
        };
        for (name, s) in self.spaces() {
            let mut at = s.start;
            while at < s.top {
                let i = (at / 8) as usize;
                let h = w[i];
                let n = header_words(h);
                if header_tag(h).is_traced() {
                    for j in 0..n {
                        let v = Value::from_bits(w[i + 1 + j]);
                        check(&|| format!("{name} object at {at:#x} word {j}"), v)?;
                        if !self.young_contains(at) && self.is_young(v) && h & REMEMBERED_BIT == 0 {
                            return Err(format!(
                                "{name} object at {at:#x} points to a young object but is not remembered"
                            ));
                        }
                    }
                }
                at += (n as u64 + 1) * 8;
            }
        }
        // Holes: free runs of fillers, in the old generation, outside the
        // window, lowest last.
        let mut below = u64::MAX;
        for h in &self.holes {
            if !(self.old.start <= h.start && h.limit <= self.old.top)
                || h.limit - h.start < self.window_bytes()
                || (h.start < self.nursery.limit && self.nursery.start < h.limit)
                || h.limit > below
            {
                return Err(format!("bad hole {:#x}..{:#x}", h.start, h.limit));
            }
            below = h.start;
            let mut at = h.start;
            while at < h.limit {
                let hd = w[(at / 8) as usize];
                if header_tag(hd).0 != FILLER_TAG {
                    return Err(format!("hole at {:#x} holds an object at {at:#x}", h.start));
                }
                at += (header_words(hd) as u64 + 1) * 8;
            }
            if at != h.limit {
                return Err(format!("hole at {:#x}: fillers overrun it", h.start));
            }
        }
        for (i, v) in self.roots.iter().enumerate() {
            check(&|| format!("handle {i}"), *v)?;
        }
        for (i, v) in self.globals.iter().enumerate() {
            check(&|| format!("global {i}"), *v)?;
        }
        let mut err = Ok(());
        roots.visit(&mut |v: &mut Value| {
            if err.is_ok() {
                err = check(&|| "mutator root".to_string(), *v);
            }
        });
        err
    }

    fn spaces(&self) -> [(&'static str, crate::Space); 6] {
        let [before, after] = self.old_runs();
        [
            ("pure", self.pure),
            ("static", self.statics),
            ("old", before),
            ("old", after),
            ("nursery", self.nursery),
            ("survivor", self.survivors),
        ]
    }
}
