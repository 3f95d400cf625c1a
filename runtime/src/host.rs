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

#[doc(hidden)]
/// The host values of a runtime's live host objects, by token. A runtime
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
    values: HashMap<u64, Box<dyn Any>>,
    next: u64,
}

impl Hosts {
    /// How many host values are alive.
    ///
    /// ```
    /// assert_eq!(imp::host::Hosts::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether none is.
    ///
    /// ```
    /// assert!(imp::host::Hosts::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Drop the host values whose objects the collector found dead.
pub(crate) fn drop_dead(vm: &mut Vm) {
    for token in vm.heap.take_dead() {
        vm.host.objects.values.remove(&token);
    }
}

impl Scope<'_> {
    /// A new host object holding `x`; the collector drops `x` when the
    /// object becomes unreachable.
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
        let token = self.vm.host.objects.next;
        self.vm.host.objects.next += 1;
        let short = short_type_name(std::any::type_name::<T>());
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
        self.vm.host.objects.values.insert(token, Box::new(x));
        Ok(self.hold(o))
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
    /// [`Error::Type`] if `v` is not a host object holding a `T`, or is one
    /// another runtime made (an image's earlier process, or the runtime
    /// a heap was copied from).
    pub fn host_mut<T: 'static>(&mut self, v: &Value) -> Result<&mut T, Error> {
        let o = self.raw(v)?;
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
                "a host object made by another runtime (an image's earlier process, or the runtime this heap was copied from): its Rust value is not here".into(),
            ));
        }
        let token = self.vm.heap.get(o, 0).as_fixnum_unchecked() as u64;
        if !self
            .vm
            .host
            .objects
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
            .host
            .objects
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
