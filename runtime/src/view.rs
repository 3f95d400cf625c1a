//! Reading Scheme data in place: a [`View`] looks at a value (and, through
//! it, at the elements of a list, a vector or a hash table, and at the
//! bytes of a bytevector or a string) without converting it and without
//! rooting anything. It borrows the runtime: while a view lives nothing
//! can run or allocate, so nothing can move under it.
//!
//! ```
//! let mut rt = imp::Runtime::new().unwrap();
//! let v = rt.eval_str("(vector 1 2.5 \"three\" '(4 5) #u8(6 7))").unwrap();
//! let view = rt.view(&v).unwrap();
//! assert_eq!(view.len(), Some(5));
//! assert_eq!(view.at(0).and_then(|e| e.as_i64()), Some(1));
//! assert_eq!(view.at(1).and_then(|e| e.as_f64()), Some(2.5));
//! assert_eq!(view.at(2).and_then(|e| e.as_str()).as_deref(), Some("three"));
//! let sum: i64 = view.at(3).unwrap().iter().unwrap().filter_map(|e| e.as_i64()).sum();
//! assert_eq!(sum, 9);
//! assert_eq!(view.at(4).and_then(|e| e.bytes()), Some(&[6u8, 7][..]));
//! ```

use std::borrow::Cow;

use imp_gc::Value as Raw;

use crate::obj;
use crate::vm::Vm;
use crate::{Error, Runtime, Scope, Value};

/// A Scheme value seen in place (see the module's documentation).
#[derive(Clone, Copy)]
pub struct View<'a> {
    vm: &'a Vm,
    raw: Raw,
}

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::printer::print(
            self.vm,
            self.raw,
            crate::printer::Mode::Write,
        ))
    }
}

impl<'a> View<'a> {
    fn of(&self, raw: Raw) -> View<'a> {
        View { vm: self.vm, raw }
    }

    /// The number of elements of a list, a vector or a hash table (its
    /// entries), or of bytes of a bytevector, or of characters of a
    /// string; `None` for anything else (and an improper or circular
    /// list).
    pub fn len(&self) -> Option<usize> {
        let vm = self.vm;
        let v = self.raw;
        if v.is_nil() || vm.is_pair(v) {
            if crate::prim::list::circular(vm, v) {
                return None;
            }
            let (mut n, mut l) = (0, v);
            while vm.is_pair(l) {
                n += 1;
                l = vm.cdr(l);
            }
            return l.is_nil().then_some(n);
        }
        if vm.is(v, obj::VECTOR) {
            return Some(vm.heap.len(v));
        }
        if vm.is(v, obj::BYTEVECTOR) {
            return Some(vm.bytevector_len(v));
        }
        if vm.is(v, obj::STRING) {
            return Some(vm.string_len(v));
        }
        if vm.is(v, obj::HASH_TABLE) {
            return vm.heap.get(v, 1).as_fixnum().map(|n| n as usize);
        }
        None
    }

    /// Whether `len` is `Some(0)`.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Element `i` of a vector or a list.
    pub fn at(&self, i: usize) -> Option<View<'a>> {
        let vm = self.vm;
        if vm.is(self.raw, obj::VECTOR) {
            return (i < vm.heap.len(self.raw)).then(|| self.of(vm.heap.get(self.raw, i)));
        }
        self.iter()?.nth(i)
    }

    /// The elements of a list (to its end, or to where it stops being a
    /// list; a circular one stops after as many elements as the heap
    /// could hold) or of a vector.
    pub fn iter(&self) -> Option<Elements<'a>> {
        let vm = self.vm;
        let v = self.raw;
        if vm.is(v, obj::VECTOR) {
            return Some(Elements {
                vm,
                list: Raw::NIL,
                vector: Some((v, 0)),
                steps: 0,
            });
        }
        (v.is_nil() || vm.is_pair(v)).then_some(Elements {
            vm,
            list: v,
            vector: None,
            steps: 0,
        })
    }

    /// The entries of a hash table, as (key, value) views, in no order.
    pub fn entries(&self) -> Option<impl Iterator<Item = (View<'a>, View<'a>)> + 'a> {
        let vm = self.vm;
        if !vm.is(self.raw, obj::HASH_TABLE) {
            return None;
        }
        let buckets = vm.heap.get(self.raw, 2);
        let n = if vm.is(buckets, obj::VECTOR) {
            vm.heap.len(buckets)
        } else {
            0
        };
        Some((0..n).flat_map(move |i| {
            let mut e = vm.heap.get(buckets, i);
            std::iter::from_fn(move || {
                if !vm.is(e, obj::VECTOR) || vm.heap.len(e) < 3 {
                    return None;
                }
                let kv = (
                    View {
                        vm,
                        raw: vm.heap.get(e, 0),
                    },
                    View {
                        vm,
                        raw: vm.heap.get(e, 1),
                    },
                );
                e = vm.heap.get(e, 2);
                Some(kv)
            })
        }))
    }

    /// The integer, if this is an exact integer that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        if let Some(n) = self.raw.as_fixnum() {
            return Some(n);
        }
        match self.vm.num(self.raw)? {
            crate::num::Num::Big(b) => num_traits::ToPrimitive::to_i64(&b),
            _ => None,
        }
    }

    /// The number as an `f64`, if this is a real number.
    pub fn as_f64(&self) -> Option<f64> {
        if let Some(n) = self.raw.as_fixnum() {
            return Some(n as f64);
        }
        self.vm.num(self.raw).map(|n| n.to_f64())
    }

    /// The boolean, if this is `#t` or `#f`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.raw {
            Raw::TRUE => Some(true),
            Raw::FALSE => Some(false),
            _ => None,
        }
    }

    /// The text of a string: borrowed from the heap when it is ASCII (a
    /// narrow string's bytes are then UTF-8 as they lie), else decoded.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        let vm = self.vm;
        let v = self.raw;
        if !vm.is(v, obj::STRING) {
            return None;
        }
        if !vm.string_is_wide(v) {
            let body = vm.string_body(v);
            let n = vm.string_len(v);
            let bytes = &vm.heap.payload_bytes(body)[8..8 + n];
            if bytes.is_ascii() {
                return std::str::from_utf8(bytes).ok().map(Cow::Borrowed);
            }
            return Some(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()));
        }
        Some(Cow::Owned(vm.string_text(v)))
    }

    /// A symbol's name.
    pub fn symbol_name(&self) -> Option<String> {
        self.vm
            .is(self.raw, obj::SYMBOL)
            .then(|| self.vm.symbol_name(self.raw))
    }

    /// The bytes of a bytevector, in place.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        self.vm
            .is(self.raw, obj::BYTEVECTOR)
            .then(|| self.vm.bytevector_slice(self.raw))
    }

    /// The Scheme type's name (`"pair"`, `"vector"`, `"string"` …).
    pub fn type_name(&self) -> &'static str {
        self.vm.type_name(self.raw)
    }
}

/// The elements of a list or a vector ([`View::iter`]).
pub struct Elements<'a> {
    vm: &'a Vm,
    list: Raw,
    vector: Option<(Raw, usize)>,
    steps: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = View<'a>;

    fn next(&mut self) -> Option<View<'a>> {
        let vm = self.vm;
        if let Some((v, i)) = self.vector.as_mut() {
            if *i >= vm.heap.len(*v) {
                return None;
            }
            *i += 1;
            return Some(View {
                vm,
                raw: vm.heap.get(*v, *i - 1),
            });
        }
        if !vm.is_pair(self.list) {
            return None;
        }
        // A circular list is walked once around at most (a list longer
        // than the heap has words cannot exist).
        self.steps += 1;
        if self.steps > vm.heap.used_bytes() as usize / 16 + 1 {
            return None;
        }
        let e = vm.car(self.list);
        self.list = vm.cdr(self.list);
        Some(View { vm, raw: e })
    }
}

impl Runtime {
    /// Look at `v` in place (see [`View`]).
    ///
    /// # Errors
    /// [`Error::Type`] if `v` belongs to another runtime.
    pub fn view<'a>(&'a self, v: &Value) -> Result<View<'a>, Error> {
        let raw = self.raw(v)?;
        Ok(View { vm: &self.vm, raw })
    }
}

impl Scope<'_> {
    /// Look at `v` in place (see [`View`]); inside a native function.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("total", |cx, (l,): (imp::Value,)| {
    ///     let view = cx.view(&l)?;
    ///     let elems = view.iter().ok_or_else(|| imp::Error::Type("expected a list".into()))?;
    ///     Ok(elems.filter_map(|e| e.as_i64()).sum::<i64>())
    /// }).unwrap();
    /// assert_eq!(rt.eval_str("(total (iota 101))").unwrap().as_i64(&rt), Some(5050));
    /// ```
    ///
    /// # Errors
    /// [`Error::Type`] if `v` belongs to another runtime.
    pub fn view<'a>(&'a self, v: &Value) -> Result<View<'a>, Error> {
        let raw = self.raw(v)?;
        Ok(View { vm: self.vm, raw })
    }
}
