//! Typed values across the API: [`IntoValue`] turns Rust values into
//! Scheme values, [`FromValue`] the reverse, and [`IntoArgs`] makes an
//! argument list of a tuple, so that
//!
//! ```
//! let mut rt = imp::Runtime::new().unwrap();
//! rt.eval_str("(define (scale xs k) (map (lambda (x) (* x k)) xs))").unwrap();
//! let v: Vec<i64> = rt.call_global("scale", (vec![1, 2, 3], 10)).unwrap();
//! assert_eq!(v, [10, 20, 30]);
//! ```
//!
//! | Rust | Scheme |
//! |---|---|
//! | `i8`…`i64`, `u8`…`u64`, `isize`, `usize` | exact integer (bignums included) |
//! | `f32`, `f64` | flonum (any real number converts to `f64`) |
//! | `bool` | `#t`, `#f` |
//! | `char` | character |
//! | `String`, `&str` | string (a symbol converts to `String` too) |
//! | `Vec<T>` | list (a vector converts to `Vec<T>` too) |
//! | `HashMap<K, V>` | `equal?` hash table (an association list converts too) |
//! | `Option<T>` | `#f` for `None` |
//! | `(A, B, …)` | list of that length |
//! | `()` | the unspecified value (anything converts to `()`) |
//! | [`Value`] | itself |
//!
//! A conversion that does not fit is [`Error::Type`], naming what was
//! expected and what was found.

use std::collections::HashMap;
use std::hash::Hash;

use imp_gc::Value as Raw;

use crate::num::Num;
use crate::obj;
use crate::printer::{Mode, print};
use crate::{Error, Runtime, Scope, Value};

/// A Rust value that can become a Scheme value.
///
/// ```
/// use imp::IntoValue;
/// struct Point { x: i64, y: i64 }
/// impl IntoValue for Point {
///     fn into_value(self, cx: &mut imp::Scope<'_>) -> Result<imp::Value, imp::Error> {
///         vec![self.x, self.y].into_value(cx) // as a list (x y)
///     }
/// }
/// let mut rt = imp::Runtime::new().unwrap();
/// let v = rt.put(vec![Point { x: 1, y: 2 }, Point { x: 3, y: 4 }]).unwrap();
/// assert_eq!(rt.write(&v), "((1 2) (3 4))");
/// ```
pub trait IntoValue {
    /// Make the Scheme value (it may allocate in `cx`'s heap).
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error>;

    #[doc(hidden)]
    /// Make the Scheme value as a raw word, to be used before anything
    /// else allocates (a native function's result): no handle is made
    /// for the kinds that need none.
    ///
    /// # Errors
    /// As [`IntoValue::into_value`].
    #[inline]
    fn into_raw(self, cx: &mut Scope<'_>) -> Result<Raw, Error>
    where
        Self: Sized,
    {
        let v = self.into_value(cx)?;
        cx.raw(&v)
    }
}

/// A Rust value that can be made from a Scheme value.
///
/// ```
/// use imp::FromValue;
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i64, y: i64 }
/// impl FromValue for Point {
///     fn from_value(v: &imp::Value, cx: &mut imp::Scope<'_>) -> Result<Self, imp::Error> {
///         let (x, y) = <(i64, i64)>::from_value(v, cx)?;
///         Ok(Point { x, y })
///     }
/// }
/// let mut rt = imp::Runtime::new().unwrap();
/// let v = rt.eval_str("(list 3 (* 2 2))").unwrap();
/// assert_eq!(rt.get::<Point>(&v).unwrap(), Point { x: 3, y: 4 });
/// let short = rt.eval_str("'(1)").unwrap();
/// let e = rt.get::<Point>(&short).unwrap_err();
/// assert_eq!(e.to_string(), "expected a list of 2 elements, got (1)");
/// ```
pub trait FromValue: Sized {
    /// Convert `v`.
    ///
    /// # Errors
    /// [`Error::Type`] if `v` is not of a kind that converts.
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error>;

    #[doc(hidden)]
    /// Convert the value in VM stack slot `slot` (a native call's
    /// argument): the kinds that need no handle read it in place.
    ///
    /// # Errors
    /// As [`FromValue::from_value`].
    #[inline]
    fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
        let v = cx.vm.stack[slot];
        let v = cx.hold(v);
        Self::from_value(&v, cx)
    }
}

/// Arguments for a call: a tuple of [`IntoValue`]s (or `()`), a
/// `Vec<T>`, or a slice of [`Value`]s.
///
/// ```
/// let mut rt = imp::Runtime::new().unwrap();
/// assert_eq!(rt.call_global::<i64>("+", (1, 2)).unwrap(), 3);
/// assert_eq!(rt.call_global::<i64>("+", vec![1, 2, 3, 4]).unwrap(), 10);
/// assert_eq!(rt.call_global::<i64>("+", ()).unwrap(), 0);
/// let held = [rt.put(5).unwrap(), rt.put(6).unwrap()];
/// assert_eq!(rt.call_global::<i64>("*", &held[..]).unwrap(), 30);
/// ```
pub trait IntoArgs {
    /// The arguments as Scheme values.
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    fn into_args(self, cx: &mut Scope<'_>) -> Result<Vec<Value>, Error>;

    #[doc(hidden)]
    /// Push the arguments onto the VM stack (a root) for a call; how many.
    /// Tuples push each converted value raw, making no handle.
    ///
    /// # Errors
    /// As [`IntoArgs::into_args`].
    fn push_args(self, cx: &mut Scope<'_>) -> Result<usize, Error>
    where
        Self: Sized,
    {
        let args = self.into_args(cx)?;
        for a in &args {
            let r = cx.raw(a)?;
            cx.vm.stack.push(r);
        }
        Ok(args.len())
    }
}

/// The error for a value that does not convert to `expected`.
#[cold]
pub(crate) fn type_error(cx: &Scope<'_>, expected: &str, v: Raw) -> Error {
    let mut shown = print(cx.vm, v, Mode::Write);
    if shown.chars().count() > 60 {
        shown = shown.chars().take(57).collect::<String>() + "...";
    }
    Error::Type(format!("expected {expected}, got {shown}"))
}

impl Scope<'_> {
    pub(crate) fn hold_result(&mut self, r: crate::vm::VmResult<Raw>) -> Result<Value, Error> {
        match r {
            Ok(v) => Ok(self.hold(v)),
            Err(e) => Err(self.convert(e)),
        }
    }

    /// A list of `items`.
    pub(crate) fn list_of(&mut self, items: &[Value]) -> Result<Value, Error> {
        let base = self.vm.stack.len();
        for i in items {
            let v = self.raw(i)?;
            self.vm.stack.push(v);
        }
        let r = self.vm.list_from_stack(base);
        self.vm.stack.truncate(base);
        self.hold_result(r)
    }

    /// The elements of a list or vector, held.
    fn elements(&mut self, v: &Value, expected: &str) -> Result<Vec<Value>, Error> {
        let raw = self.raw(v)?;
        let items = if self.vm.is(raw, obj::VECTOR) {
            (0..self.vm.heap.len(raw))
                .map(|i| self.vm.heap.get(raw, i))
                .collect()
        } else {
            match self.vm.list_to_vec(raw) {
                Some(items) => items,
                None => return Err(type_error(self, expected, raw)),
            }
        };
        Ok(items.into_iter().map(|x| self.hold(x)).collect())
    }
}

// ---- numbers ------------------------------------------------------------------------

/// An exact integer of a Rust type from a raw Scheme number.
trait FromRawNum: Sized {
    fn from_raw_num(cx: &mut Scope<'_>, raw: Raw) -> Result<Self, Error>;
}

macro_rules! integer_conversions {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
                let n = match i64::try_from(self) {
                    Ok(i) => Num::Fix(i),
                    Err(_) => Num::Big(num_bigint::BigInt::from(self)),
                };
                let r = cx.vm.make_num(n);
                cx.hold_result(r)
            }

            #[inline]
            fn into_raw(self, cx: &mut Scope<'_>) -> Result<Raw, Error> {
                if let Some(r) = i64::try_from(self).ok().and_then(Raw::fixnum) {
                    return Ok(r);
                }
                let v = self.into_value(cx)?;
                cx.raw(&v)
            }
        }

        impl FromValue for $t {
            fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
                let raw = cx.raw(v)?;
                Self::from_raw_num(cx, raw)
            }

            #[inline]
            fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
                let raw = cx.vm.stack[slot];
                if let Some(i) = raw.as_fixnum()
                    && let Ok(n) = <$t>::try_from(i)
                {
                    return Ok(n);
                }
                Self::from_raw_num(cx, raw)
            }
        }

        impl FromRawNum for $t {
            fn from_raw_num(cx: &mut Scope<'_>, raw: Raw) -> Result<Self, Error> {
                let n = match cx.vm.num(raw) {
                    Some(Num::Fix(i)) => <$t>::try_from(i).ok(),
                    Some(Num::Big(b)) => <$t>::try_from(&b).ok(),
                    _ => None,
                };
                n.ok_or_else(|| {
                    type_error(cx, concat!("an exact integer that fits ", stringify!($t)), raw)
                })
            }
        }
    )*};
}

integer_conversions!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl IntoValue for f64 {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        let r = cx.vm.flonum(self);
        cx.hold_result(r)
    }
}

impl IntoValue for f32 {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        f64::from(self).into_value(cx)
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let raw = cx.raw(v)?;
        f64_of(cx, raw)
    }

    #[inline]
    fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
        let raw = cx.vm.stack[slot];
        f64_of(cx, raw)
    }
}

fn f64_of(cx: &mut Scope<'_>, raw: Raw) -> Result<f64, Error> {
    if let Some(i) = raw.as_fixnum() {
        return Ok(i as f64);
    }
    match cx.vm.num(raw) {
        Some(n) => Ok(n.to_f64()),
        None => Err(type_error(cx, "a real number", raw)),
    }
}

impl FromValue for f32 {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        f64::from_value(v, cx).map(|x| x as f32)
    }
}

// ---- booleans, characters, strings -------------------------------------------------------

impl IntoValue for bool {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        Ok(cx.hold(Raw::bool(self)))
    }

    #[inline]
    fn into_raw(self, _: &mut Scope<'_>) -> Result<Raw, Error> {
        Ok(Raw::bool(self))
    }
}

impl FromValue for bool {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let raw = cx.raw(v)?;
        bool_of(cx, raw)
    }

    #[inline]
    fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
        let raw = cx.vm.stack[slot];
        bool_of(cx, raw)
    }
}

fn bool_of(cx: &mut Scope<'_>, raw: Raw) -> Result<bool, Error> {
    match raw {
        Raw::TRUE => Ok(true),
        Raw::FALSE => Ok(false),
        raw => Err(type_error(cx, "a boolean", raw)),
    }
}

impl IntoValue for char {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        Ok(cx.hold(Raw::char(self)))
    }
}

impl FromValue for char {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let raw = cx.raw(v)?;
        raw.as_char()
            .ok_or_else(|| type_error(cx, "a character", raw))
    }
}

impl IntoValue for &str {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        let r = cx.vm.string(self);
        cx.hold_result(r)
    }
}

impl IntoValue for String {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        self.as_str().into_value(cx)
    }
}

impl IntoValue for &String {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        self.as_str().into_value(cx)
    }
}

impl FromValue for String {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let raw = cx.raw(v)?;
        if cx.vm.is(raw, obj::STRING) {
            Ok(cx.vm.string_text(raw))
        } else if cx.vm.is(raw, obj::SYMBOL) {
            Ok(cx.vm.symbol_name(raw))
        } else {
            Err(type_error(cx, "a string", raw))
        }
    }
}

// ---- the unit, values, options ------------------------------------------------------------

impl IntoValue for () {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        Ok(cx.hold(Raw::UNSPECIFIED))
    }

    #[inline]
    fn into_raw(self, _: &mut Scope<'_>) -> Result<Raw, Error> {
        Ok(Raw::UNSPECIFIED)
    }
}

impl FromValue for () {
    fn from_value(_: &Value, _: &mut Scope<'_>) -> Result<Self, Error> {
        Ok(())
    }
}

impl IntoValue for Value {
    fn into_value(self, _: &mut Scope<'_>) -> Result<Value, Error> {
        Ok(self)
    }
}

impl IntoValue for &Value {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        let raw = cx.raw(self)?;
        Ok(cx.hold(raw))
    }

    #[inline]
    fn into_raw(self, cx: &mut Scope<'_>) -> Result<Raw, Error> {
        cx.raw(self)
    }
}

impl FromValue for Value {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let raw = cx.raw(v)?;
        Ok(cx.hold(raw))
    }

    #[inline]
    fn from_slot(cx: &mut Scope<'_>, slot: usize) -> Result<Self, Error> {
        let v = cx.vm.stack[slot];
        Ok(cx.hold(v))
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        match self {
            Some(x) => x.into_value(cx),
            None => Ok(cx.hold(Raw::FALSE)),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        if cx.raw(v)? == Raw::FALSE {
            Ok(None)
        } else {
            T::from_value(v, cx).map(Some)
        }
    }
}

// ---- sequences and tables ------------------------------------------------------------------

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        let mut items = Vec::with_capacity(self.len());
        for x in self {
            items.push(x.into_value(cx)?);
        }
        cx.list_of(&items)
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let items = cx.elements(v, "a list or a vector")?;
        items.iter().map(|x| T::from_value(x, cx)).collect()
    }
}

impl<K: IntoValue, V: IntoValue, S> IntoValue for HashMap<K, V, S> {
    fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
        let equal = cx.global::<Value>("equal?")?;
        let table: Value = cx.call_global("make-hash-table", (equal,))?;
        for (k, v) in self {
            let k = k.into_value(cx)?;
            let v = v.into_value(cx)?;
            cx.call_global::<()>("hash-table-set!", (&table, k, v))?;
        }
        Ok(table)
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue> FromValue for HashMap<K, V> {
    fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let raw = cx.raw(v)?;
        let alist: Value = if cx.vm.is(raw, obj::HASH_TABLE) {
            cx.call_global("hash-table->alist", (v,))?
        } else {
            cx.hold(raw)
        };
        let mut out = HashMap::new();
        for pair in cx.elements(&alist, "a hash table or an association list")? {
            let p = cx.raw(&pair)?;
            if !cx.vm.is_pair(p) {
                return Err(type_error(cx, "an association list entry (key . value)", p));
            }
            let (k, x) = (cx.vm.car(p), cx.vm.cdr(p));
            let (k, x) = (cx.hold(k), cx.hold(x));
            out.insert(K::from_value(&k, cx)?, V::from_value(&x, cx)?);
        }
        Ok(out)
    }
}

// ---- tuples ---------------------------------------------------------------------------------

macro_rules! tuple_conversions {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: IntoValue),+> IntoValue for ($($t,)+) {
            fn into_value(self, cx: &mut Scope<'_>) -> Result<Value, Error> {
                let items = vec![$(self.$i.into_value(cx)?),+];
                cx.list_of(&items)
            }
        }

        impl<$($t: FromValue),+> FromValue for ($($t,)+) {
            fn from_value(v: &Value, cx: &mut Scope<'_>) -> Result<Self, Error> {
                let items = cx.elements(v, concat!("a list of ", stringify!($n), " elements"))?;
                if items.len() != $n {
                    let raw = cx.raw(v)?;
                    return Err(type_error(cx, concat!("a list of ", stringify!($n), " elements"), raw));
                }
                Ok(($($t::from_value(&items[$i], cx)?,)+))
            }
        }

        impl<$($t: IntoValue),+> IntoArgs for ($($t,)+) {
            fn into_args(self, cx: &mut Scope<'_>) -> Result<Vec<Value>, Error> {
                Ok(vec![$(self.$i.into_value(cx)?),+])
            }

            fn push_args(self, cx: &mut Scope<'_>) -> Result<usize, Error> {
                // Each raw value goes onto the stack (a root) before the
                // next conversion can allocate.
                $(
                    let r = self.$i.into_raw(cx)?;
                    cx.vm.stack.push(r);
                )+
                Ok($n)
            }
        }
    };
}

tuple_conversions!(1; A 0);
tuple_conversions!(2; A 0, B 1);
tuple_conversions!(3; A 0, B 1, C 2);
tuple_conversions!(4; A 0, B 1, C 2, D 3);
tuple_conversions!(5; A 0, B 1, C 2, D 3, E 4);
tuple_conversions!(6; A 0, B 1, C 2, D 3, E 4, F 5);

impl IntoArgs for () {
    fn into_args(self, _: &mut Scope<'_>) -> Result<Vec<Value>, Error> {
        Ok(Vec::new())
    }

    fn push_args(self, _: &mut Scope<'_>) -> Result<usize, Error> {
        Ok(0)
    }
}

impl<T: IntoValue> IntoArgs for Vec<T> {
    fn into_args(self, cx: &mut Scope<'_>) -> Result<Vec<Value>, Error> {
        self.into_iter().map(|x| x.into_value(cx)).collect()
    }
}

impl IntoArgs for &[Value] {
    fn into_args(self, cx: &mut Scope<'_>) -> Result<Vec<Value>, Error> {
        self.iter().map(|x| x.into_value(cx)).collect()
    }
}

impl Scope<'_> {
    /// The value of the global variable `name`, converted.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define limit 40)").unwrap();
    /// assert_eq!(rt.global::<i64>("limit").unwrap(), 40);
    /// ```
    ///
    /// # Errors
    /// [`Error::Raised`] if `name` is unbound, [`Error::Type`] if its value
    /// does not convert.
    pub fn global<T: FromValue>(&mut self, name: &str) -> Result<T, Error> {
        let s = match self.vm.intern(name) {
            Ok(s) => s,
            Err(e) => return Err(self.convert(e)),
        };
        let raw = self.vm.global_value(s);
        if raw == Raw::UNDEFINED {
            return Err(Error::Raised(Box::new(crate::Report {
                kind: "error".into(),
                message: format!("unbound variable `{name}`"),
                irritants: Vec::new(),
                location: None,
                backtrace: Vec::new(),
                full_backtrace: Vec::new(),
            })));
        }
        let v = self.hold(raw);
        T::from_value(&v, self)
    }

    /// Bind the global variable `name` to `value` (defining it if need be).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_global("names", vec!["ada", "grace"]).unwrap();
    /// assert_eq!(rt.eval_str("(length names)").unwrap().as_i64(&rt), Some(2));
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn set_global<T: IntoValue>(&mut self, name: &str, value: T) -> Result<(), Error> {
        let v = value.into_value(self)?;
        let raw = self.raw(&v)?;
        let r = self.vm.define_global(name, raw);
        r.map_err(|e| self.convert(e))
    }

    /// The symbol named `name`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// // A native function that turns its string argument into a symbol.
    /// rt.register("tag", |cx, (name,): (String,)| cx.symbol(&name)).unwrap();
    /// let v = rt.eval_str("(eq? (tag \"apple\") 'apple)").unwrap();
    /// assert_eq!(v.as_bool(&rt), Some(true));
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn symbol(&mut self, name: &str) -> Result<Value, Error> {
        let r = self.vm.intern(name);
        self.hold_result(r)
    }

    /// Call the procedure `f` with `args`, converting the result.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let add = rt.eval_str("(lambda (a b) (+ a b))").unwrap();
    /// let n: i64 = rt.call_value(&add, (2, 3)).unwrap();
    /// assert_eq!(n, 5);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`], or [`Error::Type`] if the result does not
    /// convert.
    pub fn call_value<R: FromValue>(&mut self, f: &Value, args: impl IntoArgs) -> Result<R, Error> {
        let base = self.vm.stack.len();
        let fv = self.raw(f)?;
        self.vm.stack.push(fv);
        if let Err(e) = args.push_args(self) {
            self.vm.stack.truncate(base);
            return Err(e);
        }
        let v = self.call_pushed(base)?;
        // The result converts where it lies on the stack (a root): no
        // handle unless a `Value` is asked for.
        self.vm.stack.push(v);
        let out = R::from_slot(self, base);
        self.vm.stack.truncate(base);
        out
    }

    /// Call the procedure bound to the global `name` with `args`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let s: String = rt.call_global("string-upcase", ("shout",)).unwrap();
    /// assert_eq!(s, "SHOUT");
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::call_value`]; [`Error::Raised`] if `name` is unbound.
    pub fn call_global<R: FromValue>(
        &mut self,
        name: &str,
        args: impl IntoArgs,
    ) -> Result<R, Error> {
        let f: Value = self.global(name)?;
        self.call_value(&f, args)
    }
}

impl Runtime {
    /// Call one of imp's own procedures (`%channel-poll`, …), which user
    /// code cannot name (see `Vm::hide_internals`).
    pub(crate) fn call_internal<R: FromValue>(
        &mut self,
        name: &str,
        args: impl IntoArgs,
    ) -> Result<R, Error> {
        let f = match self.vm().internal_global(name) {
            Ok(f) => f,
            Err(e) => return Err(self.scope().convert(e)),
        };
        let f = self.scope().hold(f);
        self.call_value(&f, args)
    }

    /// The value of the global variable `name`, converted.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.eval_str("(define limit 40)").unwrap();
    /// assert_eq!(rt.global::<i64>("limit").unwrap(), 40);
    /// ```
    ///
    /// # Errors
    /// [`Error::Raised`] if `name` is unbound, [`Error::Type`] if its value
    /// does not convert.
    pub fn global<T: FromValue>(&mut self, name: &str) -> Result<T, Error> {
        self.scope().global(name)
    }

    /// Bind the global variable `name` to `value` (defining it if need be).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.set_global("names", vec!["ada", "grace"]).unwrap();
    /// assert_eq!(rt.eval_str("(length names)").unwrap().as_i64(&rt), Some(2));
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn set_global<T: IntoValue>(&mut self, name: &str, value: T) -> Result<(), Error> {
        self.scope().set_global(name, value)
    }

    /// Call the procedure `f` with `args`, converting the result.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let add = rt.eval_str("(lambda (a b) (+ a b))").unwrap();
    /// let n: i64 = rt.call_value(&add, (2, 3)).unwrap();
    /// assert_eq!(n, 5);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::eval_str`], or [`Error::Type`] if the result does not
    /// convert.
    pub fn call_value<R: FromValue>(&mut self, f: &Value, args: impl IntoArgs) -> Result<R, Error> {
        self.scope().call_value(f, args)
    }

    /// Call the procedure bound to the global `name` with `args`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let s: String = rt.call_global("string-upcase", ("shout",)).unwrap();
    /// assert_eq!(s, "SHOUT");
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::call_value`]; [`Error::Raised`] if `name` is unbound.
    pub fn call_global<R: FromValue>(
        &mut self,
        name: &str,
        args: impl IntoArgs,
    ) -> Result<R, Error> {
        self.scope().call_global(name, args)
    }

    /// The symbol named `name`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let s = rt.symbol("apple").unwrap();
    /// let found: bool = rt.call_global("symbol?", (s,)).unwrap();
    /// assert!(found);
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn symbol(&mut self, name: &str) -> Result<Value, Error> {
        self.scope().symbol(name)
    }

    /// Convert `v` to a Rust value.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.eval_str("'(1 2 3)").unwrap();
    /// assert_eq!(rt.get::<Vec<u8>>(&v).unwrap(), [1, 2, 3]);
    /// ```
    ///
    /// # Errors
    /// [`Error::Type`] if it does not convert.
    pub fn get<T: FromValue>(&mut self, v: &Value) -> Result<T, Error> {
        T::from_value(v, &mut self.scope())
    }

    /// Make a Scheme value of `x`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// let v = rt.put(("a", 1, true)).unwrap();
    /// assert_eq!(rt.write(&v), "(\"a\" 1 #t)");
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn put<T: IntoValue>(&mut self, x: T) -> Result<Value, Error> {
        x.into_value(&mut self.scope())
    }
}
