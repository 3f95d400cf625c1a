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

use crate::convert::{FromValue, IntoValue};
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
    pub fn view<'a, V: Viewable>(&'a self, v: &V) -> Result<View<'a>, Error> {
        let raw = v.raw_in(&self.vm)?;
        Ok(View { vm: &self.vm, raw })
    }
}

impl Scope<'_> {
    /// Look at `v` in place (see [`View`]); inside a native function.
    /// `v` is a [`Value`] or an [`Arg`]: an argument seen where the call
    /// left it, with no handle made.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("total", |cx, (l,): (imp::Arg,)| {
    ///     let view = cx.view(&l)?;
    ///     let elems = view.iter().ok_or_else(|| imp::Error::Type("expected a list".into()))?;
    ///     Ok(elems.filter_map(|e| e.as_i64()).sum::<i64>())
    /// }).unwrap();
    /// assert_eq!(rt.eval_str("(total (iota 101))").unwrap().as_i64(&rt), Some(5050));
    /// // A string argument's text, borrowed from the heap when it can be.
    /// rt.register("shout", |cx, (s,): (imp::Arg,)| {
    ///     let view = cx.view(&s)?;
    ///     let text = view.as_str().ok_or_else(|| imp::Error::Type("expected a string".into()))?;
    ///     Ok(text.to_uppercase())
    /// }).unwrap();
    /// let s = rt.eval_str("(shout \"hi\")").unwrap();
    /// assert_eq!(rt.display(&s), "HI");
    /// ```
    ///
    /// # Errors
    /// [`Error::Type`] if `v` is a value of another runtime, or an
    /// argument of a call that has returned.
    pub fn view<'a, V: Viewable>(&'a self, v: &V) -> Result<View<'a>, Error> {
        let raw = v.raw_in(self.vm)?;
        Ok(View { vm: self.vm, raw })
    }
}

/// What [`Scope::view`] looks at: a [`Value`] or an [`Arg`].
pub trait Viewable: sealed::Sealed {
    #[doc(hidden)]
    /// The value, read now.
    ///
    /// # Errors
    /// [`Error::Type`] if it is not (or no longer) `vm`'s.
    fn raw_in(&self, vm: &Vm) -> Result<Raw, Error>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Value {}
    impl Sealed for super::Arg {}
}

impl Viewable for Value {
    #[inline]
    fn raw_in(&self, vm: &Vm) -> Result<Raw, Error> {
        crate::raw_in(vm, self)
    }
}

impl Viewable for Arg {
    #[inline]
    fn raw_in(&self, vm: &Vm) -> Result<Raw, Error> {
        self.raw(vm)
    }
}

/// An argument of a native function, borrowed where the call left it on
/// the VM's stack: taking one makes no handle (a [`Value`] argument makes
/// one, to keep). Look at it with [`Scope::view`], convert it with
/// [`Arg::get`], return it, or keep it as a [`Value`] with
/// [`Arg::keep`]. It is valid until its call returns; used after that
/// (smuggled out through the host's state) it is an error, not whatever
/// the stack holds then.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// // `first` returns its first argument without a handle for either.
/// rt.register("first", |_, (a, _b): (imp::Arg, imp::Arg)| Ok(a)).unwrap();
/// let x = rt.eval_str("(first 'x 'y)").unwrap();
/// assert_eq!(rt.display(&x), "x");
/// rt.register("plus1", |cx, (a,): (imp::Arg,)| Ok(a.get::<i64>(cx)? + 1)).unwrap();
/// assert_eq!(rt.eval_str("(plus1 41)").unwrap().as_i64(&rt), Some(42));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Arg {
    slot: u32,
    call: u32,
}

impl Arg {
    fn raw(&self, vm: &Vm) -> Result<Raw, Error> {
        match vm.stack.get(self.slot as usize) {
            Some(v) if vm.host.call == self.call => Ok(*v),
            _ => Err(stale_arg()),
        }
    }

    /// The argument converted to `T` (as a `T` argument would have been).
    ///
    /// # Errors
    /// [`Error::Type`] if it does not convert, or its call has returned.
    pub fn get<T: FromValue>(&self, cx: &mut Scope<'_>) -> Result<T, Error> {
        self.raw(cx.vm)?;
        T::from_slot(cx, self.slot as usize)
    }

    /// The argument as a [`Value`] that outlives the call.
    ///
    /// # Errors
    /// [`Error::Type`] if its call has returned.
    pub fn keep(&self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        let raw = self.raw(cx.vm)?;
        Ok(crate::hold_in(cx.vm, raw))
    }
}

#[cold]
fn stale_arg() -> Error {
    Error::Type("an argument of a native call was used after the call returned".into())
}

impl FromValue for Arg {
    /// An `Arg` is only a native function's argument.
    fn from_value(_: &Value, _: &mut Scope<'_>) -> Result<Self, Error> {
        Err(Error::Type(
            "imp::Arg is a native function's argument; convert to imp::Value instead".into(),
        ))
    }

    #[inline]
    fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
        Ok(Arg {
            slot: u32::try_from(slot).map_err(|_| stale_arg())?,
            call: cx.vm.host.call,
        })
    }
}

impl IntoValue for Arg {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        self.keep(cx)
    }

    #[inline]
    fn into_raw(self, cx: &mut Scope<'_>) -> Result<Raw, Error> {
        self.raw(cx.vm)
    }
}
