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

use std::any::Any;
use std::collections::HashMap;

use imp_gc::Value as Raw;

use crate::convert::type_error;
use crate::obj;
use crate::vm::Vm;
use crate::{Error, Scope, Value};

/// The host values of a runtime's live host objects, by token.
#[derive(Default)]
pub struct Hosts {
    values: HashMap<u64, Box<dyn Any>>,
    next: u64,
}

impl Hosts {
    /// How many host values are alive.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Drop the host values whose objects the collector found dead.
pub(crate) fn drop_dead(vm: &mut Vm) {
    for token in vm.heap.take_dead() {
        vm.hosts.values.remove(&token);
    }
}

impl Scope<'_> {
    /// A new host object holding `x`; the collector drops `x` when the
    /// object becomes unreachable.
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn host_object<T: 'static>(&mut self, x: T) -> Result<Value, Error> {
        let token = self.vm.hosts.next;
        self.vm.hosts.next += 1;
        let short = std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("value")
            .to_string();
        let r = (|| {
            let ty = self.vm.intern(&short)?;
            self.vm.stack.push(ty);
            let o = self.vm.alloc(obj::HOST, 3);
            let ty = self.vm.stack.pop().unwrap_or(Raw::FALSE);
            let o = o?;
            self.vm.heap.set(o, 0, Raw::fix(token as i64));
            self.vm.heap.set(o, 1, Raw::fix(self.vm.os.session));
            self.vm.heap.set(o, 2, ty);
            Ok(o)
        })();
        let o = match r {
            Ok(o) => o,
            Err(e) => return Err(self.convert(e)),
        };
        self.vm.heap.track(o, token);
        self.vm.hosts.values.insert(token, Box::new(x));
        Ok(self.hold(o))
    }

    /// The Rust value of host object `v`, if it holds a `T`.
    ///
    /// # Errors
    /// [`Error::Type`] if `v` is not a host object holding a `T`, or is one
    /// an earlier process made (from an image).
    pub fn host_mut<T: 'static>(&mut self, v: &Value) -> Result<&mut T, Error> {
        let o = self.raw(v);
        let want = std::any::type_name::<T>();
        if !self.vm.is(o, obj::HOST) {
            return Err(type_error(
                self,
                &format!("a host object holding {want}"),
                o,
            ));
        }
        if self.vm.heap.get(o, 1) != Raw::fix(self.vm.os.session) {
            return Err(Error::Type(
                "a host object from an earlier process (an image): its Rust value is gone".into(),
            ));
        }
        let token = self.vm.heap.get(o, 0).as_fixnum_unchecked() as u64;
        if !self
            .vm
            .hosts
            .values
            .get(&token)
            .is_some_and(|b| b.is::<T>())
        {
            return Err(type_error(
                self,
                &format!("a host object holding {want}"),
                o,
            ));
        }
        match self
            .vm
            .hosts
            .values
            .get_mut(&token)
            .and_then(|b| b.downcast_mut::<T>())
        {
            Some(x) => Ok(x),
            None => Err(Error::Type(format!(
                "expected a host object holding {want}"
            ))),
        }
    }
}

impl crate::Runtime {
    /// A new host object holding `x` (see [`Scope::host_object`]).
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn host_object<T: 'static>(&mut self, x: T) -> Result<Value, Error> {
        self.scope().host_object(x)
    }

    /// How many host values this runtime holds (those whose objects the
    /// collector has not yet found dead).
    pub fn host_object_count(&self) -> usize {
        self.vm.hosts.len()
    }
}
