//! Host objects: Rust values a host hands to Scheme. Scheme sees an opaque
//! object (`#<host Counter>`) it can store and pass back; the host's native
//! functions are its methods. The value lives in `Vm::hosts`, found by the
//! object's token; the collector reports the object's death (`Heap::track`)
//! and the value is dropped then. An image keeps the objects but not the
//! Rust values: in a later process they are stale, and using one is an
//! error that says so.
//!
//! ```
//! struct Counter { n: i64 }
//! let mut rt = imp::Runtime::new().unwrap();
//! rt.register("make-counter", |cx, ()| cx.host_object(Counter { n: 0 })).unwrap();
//! rt.register("counter-next!", |cx, (c,): (imp::Value,)| {
//!     let c = cx.host_mut::<Counter>(&c)?;
//!     c.n += 1;
//!     Ok(c.n)
//! }).unwrap();
//! let v = rt.eval_str("(let ((c (make-counter))) (counter-next! c) (counter-next! c))").unwrap();
//! assert_eq!(v.as_i64(&rt), Some(2));
//! ```

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use imp_gc::Value as Raw;

use crate::convert::{FromValue, IntoValue, type_error};
use crate::obj;
use crate::vm::Vm;
use crate::{Error, Scope, Value};

/// Field indices of a `HOST` object.
pub mod field {
    /// Its token: slot and generation in `Hosts`.
    pub const TOKEN: usize = 0;
    /// The session that made it (a later process finds it stale).
    pub const SESSION: usize = 1;
    /// Its type's name (a symbol; images keep it).
    pub const TYPE_NAME: usize = 2;
    /// Its type's index in this runtime's `Hosts::types`.
    pub const TYPE: usize = 3;
    /// Number of fields.
    pub const SIZE: usize = 4;
}

/// A host type's printed form of a value.
type PrintFn = Box<dyn Fn(&dyn Any) -> String>;
/// A host type's `equal?` of two values.
type EqFn = Box<dyn Fn(&dyn Any, &dyn Any) -> bool>;
/// A host type's `equal?` hash of a value.
type HashFn = Box<dyn Fn(&dyn Any) -> u64>;
/// Where `HostMut` guards give their values back: (slot, value).
type Returned = Rc<RefCell<Vec<(u32, Rc<dyn Any>)>>>;

/// What a host type offers Scheme beyond being held: a printed form,
/// `equal?`, a hash.
pub(crate) struct HostType {
    /// The Rust type (what a type check compares).
    type_id: TypeId,
    name: String,
    /// The name as a symbol, once interned (a handle: it follows the
    /// symbol when the collector moves it).
    symbol: Option<Value>,
    print: Option<PrintFn>,
    eq: Option<EqFn>,
    hash: Option<HashFn>,
}

/// A slot of the value slab.
#[derive(Default)]
struct Slot {
    /// Bumped each time the slot is freed, so an old token never finds a
    /// new value.
    generation: u32,
    value: Option<Rc<dyn Any>>,
    /// Its value is lent to a `HostMut` (which gives it back when dropped).
    lent: bool,
}

/// A hasher for `TypeId`s, which are hashes already.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
}

#[doc(hidden)]
/// The host values of a runtime's live host objects, in a slab found by
/// the objects' tokens, and the host types they belong to. A runtime
/// keeps its own ([`Runtime::host_object_count`](crate::Runtime::host_object_count)
/// is its length); a new one is empty.
///
/// ```
/// let hosts = imp::host::Hosts::default();
/// assert_eq!(hosts.len(), 0);
/// assert!(hosts.is_empty());
/// ```
#[derive(Default)]
pub struct Hosts {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    types: Vec<HostType>,
    by_type: HashMap<TypeId, u32, std::hash::BuildHasherDefault<IdHasher>>,
    /// Values `HostMut` guards gave back, to put in their slots.
    returned: Returned,
}

impl Hosts {
    /// How many host values are alive.
    ///
    /// ```
    /// assert_eq!(imp::host::Hosts::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether none is.
    ///
    /// ```
    /// assert!(imp::host::Hosts::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The index of type `T`, registering it (named by its Rust name) if
    /// it is new.
    fn type_index<T: 'static>(&mut self) -> u32 {
        if let Some(&i) = self.by_type.get(&TypeId::of::<T>()) {
            return i;
        }
        let i = self.types.len() as u32;
        self.types.push(HostType {
            type_id: TypeId::of::<T>(),
            name: short_type_name(std::any::type_name::<T>()),
            symbol: None,
            print: None,
            eq: None,
            hash: None,
        });
        self.by_type.insert(TypeId::of::<T>(), i);
        i
    }

    fn known_index<T: 'static>(&self) -> Option<u32> {
        self.by_type.get(&TypeId::of::<T>()).copied()
    }

    /// Put a new value in a slot; its token.
    fn insert(&mut self, value: Rc<dyn Any>) -> u64 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        s.value = Some(value);
        s.lent = false;
        self.live += 1;
        (u64::from(s.generation) << 32) | u64::from(slot)
    }

    fn slot_of(&self, token: u64) -> Option<usize> {
        let i = (token & 0xffff_ffff) as usize;
        let s = self.slots.get(i)?;
        (u64::from(s.generation) == token >> 32 && (s.value.is_some() || s.lent)).then_some(i)
    }

    /// Drop the value of a dead object.
    fn remove(&mut self, token: u64) {
        self.reclaim();
        if let Some(i) = self.slot_of(token) {
            let s = &mut self.slots[i];
            s.value = None;
            s.lent = false;
            s.generation = s.generation.wrapping_add(1);
            self.free.push(i as u32);
            self.live -= 1;
        }
    }

    /// Put back what dropped `HostMut` guards returned (after every
    /// native call, and before a slot is used).
    #[inline]
    pub(crate) fn reclaim(&mut self) {
        if self.returned.borrow().is_empty() {
            return;
        }
        self.reclaim_returned();
    }

    #[cold]
    fn reclaim_returned(&mut self) {
        let back = std::mem::take(&mut *self.returned.borrow_mut());
        for (slot, v) in back {
            if let Some(s) = self.slots.get_mut(slot as usize)
                && s.lent
            {
                s.value = Some(v);
                s.lent = false;
            }
        }
    }

    /// The slot of `token` and its value, if it holds one that is not
    /// lent; an error that says why not.
    fn value(&mut self, token: u64) -> Result<(usize, &mut Rc<dyn Any>), Error> {
        let unusable = |why: &str| Error::Type(format!("the host object is unusable: {why}"));
        let i = self
            .slot_of(token)
            .ok_or_else(|| unusable("its value was dropped"))?;
        if self.slots[i].lent {
            self.reclaim();
        }
        match &mut self.slots[i].value {
            Some(v) => Ok((i, v)),
            None => Err(unusable(
                "it is borrowed mutably (by a host function's `HostMut` argument)",
            )),
        }
    }

    /// The value of a host object for the printer and `equal?` (which
    /// only read it), if it is here.
    pub(crate) fn peek(&self, token: u64) -> Option<&dyn Any> {
        let i = self.slot_of(token)?;
        self.slots[i].value.as_deref()
    }

    /// What host type `index` prints, given its value.
    pub(crate) fn print(&self, index: usize, value: &dyn Any) -> Option<String> {
        self.types.get(index)?.print.as_ref().map(|p| p(value))
    }

    /// Are two values of host type `index` `equal?` (`None`: the type
    /// does not say).
    pub(crate) fn equal(&self, index: usize, a: &dyn Any, b: &dyn Any) -> Option<bool> {
        self.types.get(index)?.eq.as_ref().map(|e| e(a, b))
    }

    /// The `equal?` hash of a value of host type `index`, if the type
    /// hashes.
    pub(crate) fn hash(&self, index: usize, value: &dyn Any) -> Option<u64> {
        let t = self.types.get(index)?;
        match (&t.hash, &t.eq) {
            (Some(h), _) => Some(h(value)),
            // Compared by value but not hashed: every value of the type
            // hashes alike, so equal ones meet (slowly, but right).
            (None, Some(_)) => Some(index as u64),
            (None, None) => None,
        }
    }

    /// The name of host type `index`.
    pub(crate) fn type_name(&self, index: usize) -> Option<&str> {
        self.types.get(index).map(|t| t.name.as_str())
    }
}

/// Drop the host values whose objects the collector found dead.
pub(crate) fn drop_dead(vm: &mut Vm) {
    for token in vm.heap.take_dead() {
        vm.host.objects.remove(token);
    }
}

/// A host object's value, shared: what a native function takes to read
/// it. Several may be held at once; `Deref` gives the value.
///
/// ```
/// use imp::HostRef;
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i64, y: i64 }
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register_type::<Point>("point").debug().equality().build().unwrap();
/// rt.register("point", |_, (x, y): (i64, i64)| Ok(imp::Host(Point { x, y }))).unwrap();
/// rt.register("dist2", |_, (a, b): (HostRef<Point>, HostRef<Point>)| {
///     Ok((a.x - b.x).pow(2) + (a.y - b.y).pow(2))
/// }).unwrap();
/// assert_eq!(rt.eval_str("(dist2 (point 0 0) (point 3 4))").unwrap().as_i64(&rt), Some(25));
/// ```
pub struct HostRef<T: 'static>(Rc<T>);

impl<T: 'static> std::ops::Deref for HostRef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A host object's value, borrowed mutably for a native function's call:
/// only one at a time for an object (another argument or reader of the
/// same object meanwhile is an error that says so).
///
/// ```
/// use imp::HostMut;
/// struct Counter { n: i64 }
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register_type::<Counter>("counter").build().unwrap();
/// rt.register("counter", |_, ()| Ok(imp::Host(Counter { n: 0 }))).unwrap();
/// rt.register("bump!", |_, (mut c,): (HostMut<Counter>,)| { c.n += 1; Ok(c.n) }).unwrap();
/// assert_eq!(rt.eval_str("(let ((c (counter))) (bump! c) (bump! c))").unwrap().as_i64(&rt), Some(2));
/// let e = rt.eval_str("(let ((c (counter))) ((lambda (a b) 0) 1 2) (list (counter? c) (counter? 5)))").unwrap();
/// assert_eq!(rt.write(&e), "(#t #f)");
/// ```
pub struct HostMut<T: 'static> {
    /// The value, held alone (taken out of its slot) until dropped.
    value: Option<Rc<T>>,
    slot: u32,
    home: Returned,
}

impl<T: 'static> std::ops::Deref for HostMut<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.value {
            Some(v) => v,
            None => unreachable!("a HostMut is emptied only by its drop"),
        }
    }
}

impl<T: 'static> std::ops::DerefMut for HostMut<T> {
    fn deref_mut(&mut self) -> &mut T {
        // The guard holds the only reference: it took the value out of
        // its slot, and a slot whose value is lent gives out no other.
        match self.value.as_mut().and_then(Rc::get_mut) {
            Some(v) => v,
            None => unreachable!("a HostMut holds its value alone"),
        }
    }
}

impl<T: 'static> Drop for HostMut<T> {
    fn drop(&mut self) {
        if let Some(v) = self.value.take() {
            self.home.borrow_mut().push((self.slot, v));
        }
    }
}

/// A Rust value to hand to Scheme as a host object: what a native
/// function returns to make one.
///
/// ```
/// struct Session { user: String }
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register("login", |_, (user,): (String,)| Ok(imp::Host(Session { user }))).unwrap();
/// let v = rt.eval_str("(login \"ada\")").unwrap();
/// assert_eq!(rt.write(&v), "#<host Session>");
/// ```
pub struct Host<T: 'static>(pub T);

impl<T: 'static> IntoValue for Host<T> {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        cx.host_object(self.0)
    }

    #[inline]
    fn into_raw(self, cx: &mut Scope<'_>) -> Result<Raw, Error> {
        cx.host_object_raw(self.0)
    }
}

/// The error for a host value that is not a `T` (its type index said it
/// was: a bug in the host's use of types, caught).
fn not_holding<T>() -> Error {
    Error::Type(format!(
        "expected a host object holding {}",
        std::any::type_name::<T>()
    ))
}

/// `FromValue` for a guard made from a raw host object (`from_raw_host`).
macro_rules! host_guard_from_value {
    ($guard:ident) => {
        impl<T: 'static> FromValue for $guard<T> {
            fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
                let o = cx.raw(v)?;
                Self::from_raw_host(cx, o)
            }

            #[inline]
            fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
                let o = cx.vm.stack[slot];
                Self::from_raw_host(cx, o)
            }
        }
    };
}

host_guard_from_value!(HostRef);
host_guard_from_value!(HostMut);

impl<T: 'static> HostRef<T> {
    fn from_raw_host(cx: &mut Scope<'_>, o: Raw) -> Result<Self, Error> {
        let token = cx.host_token::<T>(o)?;
        let (_, rc) = cx.vm.host.objects.value(token)?;
        rc.clone()
            .downcast::<T>()
            .map(HostRef)
            .map_err(|_| not_holding::<T>())
    }
}

impl<T: 'static> HostMut<T> {
    fn from_raw_host(cx: &mut Scope<'_>, o: Raw) -> Result<Self, Error> {
        let token = cx.host_token::<T>(o)?;
        let hosts = &mut cx.vm.host.objects;
        let (i, _) = hosts.value(token)?;
        let slot = &mut hosts.slots[i];
        let Some(rc) = slot.value.take() else {
            return Err(Error::Type(
                "the host object is borrowed mutably already".into(),
            ));
        };
        if Rc::strong_count(&rc) > 1 {
            slot.value = Some(rc);
            return Err(Error::Type(
                "the host object is borrowed already (another argument of this call reads it)"
                    .into(),
            ));
        }
        match rc.downcast::<T>() {
            Ok(t) => {
                slot.lent = true;
                Ok(HostMut {
                    value: Some(t),
                    slot: i as u32,
                    home: hosts.returned.clone(),
                })
            }
            Err(rc) => {
                slot.value = Some(rc);
                Err(not_holding::<T>())
            }
        }
    }
}

/// Options of a host type being registered ([`Runtime::register_type`]).
pub struct HostTypeBuilder<'a, T: 'static> {
    rt: &'a mut crate::Runtime,
    name: String,
    print: Option<PrintFn>,
    eq: Option<EqFn>,
    hash: Option<HashFn>,
    marker: std::marker::PhantomData<T>,
}

impl<T: 'static> HostTypeBuilder<'_, T> {
    /// Print values as `#<name DISPLAY>`, with their `Display` form
    /// (without a printed form they print as `#<host name>`).
    pub fn display(mut self) -> Self
    where
        T: std::fmt::Display,
    {
        self.print = Some(Box::new(|v| {
            v.downcast_ref::<T>()
                .map(|t| t.to_string())
                .unwrap_or_default()
        }));
        self
    }

    /// Print values as `#<name DEBUG>`, with their `Debug` form.
    pub fn debug(mut self) -> Self
    where
        T: std::fmt::Debug,
    {
        self.print = Some(Box::new(|v| {
            v.downcast_ref::<T>()
                .map(|t| format!("{t:?}"))
                .unwrap_or_default()
        }));
        self
    }

    /// Print values as `#<name TEXT>` with `TEXT` from `f`.
    pub fn printer(mut self, f: impl Fn(&T) -> String + 'static) -> Self {
        self.print = Some(Box::new(move |v| {
            v.downcast_ref::<T>().map(&f).unwrap_or_default()
        }));
        self
    }

    /// Make `equal?` compare values with `PartialEq` (otherwise two host
    /// objects are `equal?` only if they are the same object).
    pub fn equality(mut self) -> Self
    where
        T: PartialEq,
    {
        self.eq = Some(Box::new(
            |a, b| matches!((a.downcast_ref::<T>(), b.downcast_ref::<T>()), (Some(a), Some(b)) if a == b),
        ));
        self
    }

    /// Hash values with `Hash` in `equal?` hash tables (with
    /// [`equality`](Self::equality); otherwise objects hash by identity).
    pub fn hashing(mut self) -> Self
    where
        T: std::hash::Hash,
    {
        self.hash = Some(Box::new(|v| {
            use std::hash::Hasher;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            if let Some(t) = v.downcast_ref::<T>() {
                t.hash(&mut h);
            }
            h.finish()
        }));
        self
    }

    /// Register a method: a native function (as [`Runtime::register`]).
    ///
    /// # Errors
    /// As [`Runtime::register`].
    pub fn method<A, R, F>(self, name: &str, f: F) -> Result<Self, Error>
    where
        A: crate::native::FromArgs,
        R: IntoValue,
        F: Fn(&mut Scope<'_>, A) -> Result<R, Error> + 'static,
    {
        self.rt.register(name, f)?;
        Ok(self)
    }

    /// Register the type: its options, and the predicate `name?`.
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn build(self) -> Result<(), Error> {
        let hosts = &mut self.rt.vm.host.objects;
        let index = hosts.type_index::<T>();
        let t = &mut hosts.types[index as usize];
        t.name = self.name.clone();
        t.symbol = None;
        t.print = self.print;
        t.eq = self.eq;
        t.hash = self.hash;
        let pred = format!("{}?", self.name);
        self.rt.register(&pred, move |cx, (v,): (Value,)| {
            Ok(cx.host_type_index(&v) == Some(index))
        })
    }
}

impl crate::Runtime {
    /// Register Rust type `T` as the host type `name`: Scheme gets the
    /// predicate `name?`, values print as `#<host name>` (or `#<name
    /// TEXT>` with a form the builder gives), and `equal?` and hashing use `PartialEq` and `Hash`
    /// when asked. Native functions take its values as [`HostRef<T>`]
    /// (shared, several at once) or [`HostMut<T>`] (exclusive) arguments,
    /// and return [`Host<T>`] to make one. The type check is a comparison
    /// of a type index stored in the object.
    ///
    /// ```
    /// use imp::{Host, HostRef};
    /// #[derive(Debug, PartialEq, Hash)]
    /// struct Key(String);
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register_type::<Key>("key")
    ///     .printer(|k| k.0.clone())
    ///     .equality()
    ///     .hashing()
    ///     .method("key-length", |_, (k,): (HostRef<Key>,)| Ok(k.0.len()))?
    ///     .build()?;
    /// rt.register("key", |_, (s,): (String,)| Ok(Host(Key(s)))).unwrap();
    /// let v = rt.eval_str("(list (key \"ab\") (key? (key \"x\")) (equal? (key \"a\") (key \"a\")) (key-length (key \"abc\")))")?;
    /// assert_eq!(rt.write(&v), "(#<key ab> #t #t 3)");
    /// // A table keyed by host values.
    /// let v = rt.eval_str("(let ((t (make-equal-hash-table))) (hash-table-set! t (key \"k\") 1) (hash-table-ref/default t (key \"k\") 0))")?;
    /// assert_eq!(v.as_i64(&rt), Some(1));
    /// # Ok::<(), imp::Error>(())
    /// ```
    pub fn register_type<T: 'static>(&mut self, name: &str) -> HostTypeBuilder<'_, T> {
        HostTypeBuilder {
            rt: self,
            name: name.to_string(),
            print: None,
            eq: None,
            hash: None,
            marker: std::marker::PhantomData,
        }
    }
}

impl Scope<'_> {
    /// A new host object holding `x`; the collector drops `x` when the
    /// object becomes unreachable. (A native function can return
    /// [`Host(x)`](Host) instead.)
    ///
    /// ```
    /// struct Log { lines: Vec<String> }
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("open-log", |cx, ()| cx.host_object(Log { lines: Vec::new() })).unwrap();
    /// rt.register("log!", |cx, (log, line): (imp::Value, String)| {
    ///     let log = cx.host_mut::<Log>(&log)?;
    ///     log.lines.push(line);
    ///     Ok(log.lines.len())
    /// }).unwrap();
    /// let v = rt.eval_str("(define logs (list (open-log) (open-log))) (car logs)").unwrap();
    /// assert_eq!(rt.write(&v), "#<host Log>");
    /// assert_eq!(rt.eval_str("(log! (cadr logs) \"hi\")").unwrap().as_i64(&rt), Some(1));
    /// assert_eq!(rt.host_object_count(), 2);
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn host_object<T: 'static>(&mut self, x: T) -> Result<Value, Error> {
        let o = self.host_object_raw(x)?;
        Ok(self.hold(o))
    }

    /// A new host object holding `x`, raw (used before anything else
    /// allocates).
    pub(crate) fn host_object_raw<T: 'static>(&mut self, x: T) -> Result<Raw, Error> {
        let index = self.vm.host.objects.type_index::<T>();
        let ty = self.host_type_symbol(index as usize)?;
        let r = (|| {
            self.vm.stack.push(ty);
            let o = self.vm.alloc(obj::HOST, field::SIZE);
            let ty = self.vm.stack.pop().unwrap_or(Raw::FALSE);
            let o = o?;
            self.vm.heap.set(o, field::TOKEN, Raw::fix(0));
            self.vm
                .heap
                .set(o, field::SESSION, Raw::fix(self.vm.os.session));
            self.vm.heap.set(o, field::TYPE_NAME, ty);
            self.vm.heap.set(o, field::TYPE, Raw::fix(i64::from(index)));
            Ok(o)
        })();
        let o = match r {
            Ok(o) => o,
            Err(e) => return Err(self.convert(e)),
        };
        let token = self.vm.host.objects.insert(Rc::new(x));
        self.vm.heap.set(o, field::TOKEN, Raw::fix(token as i64));
        self.vm.heap.track(o, token);
        Ok(o)
    }

    /// Host type `index`'s name as a symbol, interned on first use (not
    /// for every object made).
    fn host_type_symbol(&mut self, index: usize) -> Result<Raw, Error> {
        if let Some(v) = &self.vm.host.objects.types[index].symbol {
            return self.raw(v);
        }
        let name = self.vm.host.objects.types[index].name.clone();
        let sym = match self.vm.intern(&name) {
            Ok(s) => s,
            Err(e) => return Err(self.convert(e)),
        };
        let held = self.hold(sym);
        let raw = self.raw(&held)?;
        self.vm.host.objects.types[index].symbol = Some(held);
        Ok(raw)
    }

    /// The type index of host object `v` of this runtime, if it is one.
    pub(crate) fn host_type_index(&self, v: &Value) -> Option<u32> {
        let o = self.raw(v).ok()?;
        if !self.vm.is(o, obj::HOST)
            || self.vm.heap.get(o, field::SESSION) != Raw::fix(self.vm.os.session)
        {
            return None;
        }
        self.vm
            .heap
            .get(o, field::TYPE)
            .as_fixnum()
            .map(|i| i as u32)
    }

    /// The token of `v`, a host object of this runtime whose type is `T`;
    /// the error names both types otherwise.
    fn host_token<T: 'static>(&mut self, o: Raw) -> Result<u64, Error> {
        let want = || match self.vm.host.objects.known_index::<T>() {
            Some(i) => self
                .vm
                .host
                .objects
                .type_name(i as usize)
                .unwrap_or("?")
                .to_string(),
            None => short_type_name(std::any::type_name::<T>()),
        };
        if !self.vm.is(o, obj::HOST) {
            let w = want();
            return Err(type_error(self, &format!("a host object of type {w}"), o));
        }
        if self.vm.heap.get(o, field::SESSION) != Raw::fix(self.vm.os.session) {
            return Err(Error::Type(
                "a host object made by another runtime (an image's earlier process, or the runtime this heap was copied from): its Rust value is not here".into(),
            ));
        }
        let index = self.vm.heap.get(o, field::TYPE).as_fixnum_unchecked();
        // The check: the object's type index names `T` (an index and a
        // comparison, no lookup).
        let is_t = usize::try_from(index)
            .ok()
            .and_then(|i| self.vm.host.objects.types.get(i))
            .is_some_and(|t| t.type_id == TypeId::of::<T>());
        if !is_t {
            let w = want();
            let got = self
                .vm
                .host
                .objects
                .type_name(index as usize)
                .unwrap_or("?")
                .to_string();
            return Err(Error::Type(format!(
                "expected a host object of type {w}, got one of type {got}"
            )));
        }
        Ok(self.vm.heap.get(o, field::TOKEN).as_fixnum_unchecked() as u64)
    }

    /// Whether `v` is a host object of this runtime holding a `T`: the
    /// object's type index compared with `T`'s, no lookup and no borrow.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let h = rt.host_object(String::from("config")).unwrap();
    /// let n = rt.eval_str("42").unwrap();
    /// let cx = rt.scope();
    /// assert!(cx.is_host::<String>(&h));
    /// assert!(!cx.is_host::<i32>(&h));
    /// assert!(!cx.is_host::<String>(&n));
    /// ```
    #[inline]
    pub fn is_host<T: 'static>(&self, v: &Value) -> bool {
        is_host_in::<T>(self.vm, v)
    }

    /// The Rust value of host object `v`, if it holds a `T`.
    ///
    /// ```
    /// use imp::IntoValue;
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let h = rt.host_object(String::from("config")).unwrap();
    /// let mut cx = rt.scope();
    /// cx.host_mut::<String>(&h).unwrap().push_str(".toml");
    /// assert_eq!(cx.host_mut::<String>(&h).unwrap(), "config.toml");
    /// assert!(matches!(cx.host_mut::<i32>(&h), Err(imp::Error::Type(_)))); // holds a String
    /// let n = 42.into_value(&mut cx).unwrap();
    /// assert!(cx.host_mut::<String>(&n).is_err()); // not a host object
    /// ```
    ///
    /// # Errors
    /// [`Error::Type`] if `v` is not a host object holding a `T`, is one
    /// another runtime made (an image's earlier process, or the runtime
    /// a heap was copied from), or is borrowed by a [`HostRef`] or
    /// [`HostMut`] now.
    pub fn host_mut<T: 'static>(&mut self, v: &Value) -> Result<&mut T, Error> {
        let o = self.raw(v)?;
        let token = self.host_token::<T>(o)?;
        let (_, rc) = self.vm.host.objects.value(token)?;
        match Rc::get_mut(rc) {
            Some(any) => any.downcast_mut::<T>().ok_or_else(not_holding::<T>),
            None => Err(Error::Type(
                "the host object is borrowed now (a HostRef of it is held)".into(),
            )),
        }
    }
}

impl crate::Runtime {
    /// A new host object holding `x` (see [`Scope::host_object`]).
    ///
    /// ```
    /// struct Connection { id: u32 }
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let conn = rt.host_object(Connection { id: 7 }).unwrap();
    /// assert_eq!(rt.write(&conn), "#<host Connection>");
    /// // Scheme can store it and hand it back.
    /// rt.set_global("conns", vec![&conn]).unwrap();
    /// let back: imp::Value = rt.eval_str("(car conns)").unwrap();
    /// assert_eq!(rt.scope().host_mut::<Connection>(&back).unwrap().id, 7);
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn host_object<T: 'static>(&mut self, x: T) -> Result<Value, Error> {
        self.scope().host_object(x)
    }

    /// Whether `v` is a host object of this runtime holding a `T` (see
    /// [`Scope::is_host`]).
    ///
    /// ```
    /// struct Connection;
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let conn = rt.host_object(Connection).unwrap();
    /// assert!(rt.is_host::<Connection>(&conn));
    /// assert!(!rt.is_host::<String>(&conn));
    /// ```
    #[inline]
    pub fn is_host<T: 'static>(&self, v: &Value) -> bool {
        is_host_in::<T>(&self.vm, v)
    }

    /// How many host values this runtime holds (those whose objects the
    /// collector has not yet found dead).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let h = rt.host_object([0u8; 16]).unwrap();
    /// assert_eq!(rt.host_object_count(), 1);
    /// drop(h);
    /// rt.collect_garbage().unwrap();
    /// assert_eq!(rt.host_object_count(), 0);
    /// ```
    pub fn host_object_count(&self) -> usize {
        self.vm.host.objects.len()
    }
}

/// Whether `v` is a host object of `vm`'s process holding a `T`.
#[inline]
fn is_host_in<T: 'static>(vm: &crate::vm::Vm, v: &Value) -> bool {
    let Ok(o) = crate::raw_in(vm, v) else {
        return false;
    };
    vm.is(o, obj::HOST)
        && vm.heap.get(o, field::SESSION) == Raw::fix(vm.os.session)
        && usize::try_from(vm.heap.get(o, field::TYPE).as_fixnum_unchecked())
            .ok()
            .and_then(|i| vm.host.objects.types.get(i))
            .is_some_and(|t| t.type_id == TypeId::of::<T>())
}

/// A Rust type name without its module paths:
/// `alloc::vec::Vec<alloc::string::String>` is `Vec<String>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Where the path being written began in `out`.
    let mut path_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(path_start);
        } else if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push(c);
            path_start = out.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type_name("my_crate::Config"), "Config");
        assert_eq!(
            short_type_name("alloc::vec::Vec<alloc::string::String>"),
            "Vec<String>"
        );
        assert_eq!(
            short_type_name("std::collections::hash::map::HashMap<u32, (f64, app::db::Row)>"),
            "HashMap<u32, (f64, Row)>"
        );
        assert_eq!(short_type_name("&[u8]"), "&[u8]");
    }
}
