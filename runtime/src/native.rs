//! Native functions: Rust closures a host registers and Scheme calls.
//!
//! ```
//! let mut rt = imp::Runtime::new().unwrap();
//! rt.register("hypot", |_, (a, b): (f64, f64)| Ok(a.hypot(b))).unwrap();
//! assert_eq!(rt.eval_str("(hypot 3 4)").unwrap().as_f64(&rt), Some(5.0));
//! // Arity and type errors are Scheme errors, catchable like any other.
//! let e = rt.eval_str("(guard (e (#t (error-object-message e))) (hypot 1))").unwrap();
//! assert_eq!(rt.display(&e), "hypot: expected 2 arguments, got 1");
//! ```
//!
//! A native function is a `PRIMITIVE` object whose id is -1 and whose name
//! is its symbol; the VM finds the closure by that name in the runtime's
//! [`Natives`]. So an image holding one stays valid: the runtime that
//! loads it calls whatever it registered under the name (and says so by
//! name if it registered nothing). The closure gets a [`Scope`] over the
//! runtime, so it can convert values, call back into Scheme and allocate.
//! An `Err` it returns, and a panic inside it, become Scheme errors raised
//! at the call; the runtime stays usable.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use imp_gc::Value as Raw;

use crate::convert::{FromValue, IntoValue};
use crate::obj;
use crate::vm::{Exn, Vm, VmResult};
use crate::{Error, Scope, Value, hold_in};

#[doc(hidden)]
/// A registered function, type-erased: it reads its arguments where the
/// call left them on the VM stack (`Args`) and returns a raw value (read
/// before anything else allocates).
pub type NativeFn = Rc<dyn Fn(&mut Scope<'_>, Args) -> Result<Raw, Error>>;

#[doc(hidden)]
/// Where a native call's arguments are: `argc` stack slots from `base`
/// (the stack is a root, so they stay valid while the call runs).
#[derive(Clone, Copy, Debug)]
pub struct Args {
    /// The first argument's stack slot.
    pub base: usize,
    /// How many there are.
    pub argc: usize,
}

/// Entries of the call cache (a power of two).
const CACHE: usize = 16;

/// What the host registered and lent (`Vm::host`).
#[derive(Default)]
pub struct HostState {
    /// Functions the host registered (`Runtime::register`), called from
    /// `PRIMITIVE` objects whose id is negative, found by name.
    pub(crate) natives: Natives,
    /// The Rust values of host objects (`crate::host`).
    pub(crate) objects: crate::host::Hosts,
    /// Host state lent to the call in progress (`Runtime::lend`).
    pub(crate) lent: Option<Box<dyn std::any::Any>>,
    /// Handle slots the host's `imp::Value`s released (freed at the next
    /// hold or collection).
    pub(crate) handles: std::rc::Rc<std::cell::RefCell<Vec<imp_gc::Global>>>,
    /// The continuation and the list of values of an escape out of a
    /// native function (`Abort::Escape`) on its way out.
    pub(crate) pending_escape: Option<(crate::Value, crate::Value)>,
    /// The futures of async native calls (`crate::future`).
    pub(crate) futures: crate::future::Futures,
    /// The native call running now (its number), and how many have
    /// started: an `Arg` is valid while its call is the one running.
    pub(crate) call: u32,
    calls: u32,
}

/// The functions a runtime's host registered, by name; and by the
/// identity hash of their name's symbol (stable across collections and
/// images), so a call finds its function without building the name.
///
/// A runtime keeps its own; a new one knows no names (registering is
/// [`Runtime::register`](crate::Runtime::register)).
///
/// ```
/// let natives = imp::native::Natives::default();
/// assert!(!natives.contains("hypot"));
/// assert!(natives.names().is_empty());
/// ```
#[derive(Default)]
pub struct Natives {
    by_name: HashMap<String, NativeFn>,
    by_hash: WordMap<u32, Vec<Entry>>,
    /// Recently called procedure objects (their bits and the heap's epoch
    /// then: while no collection has moved anything, the same bits are
    /// the same object) and their functions: a call found here costs two
    /// comparisons, not a lookup by name.
    cache: [(u64, u64, Option<NativeFn>); CACHE],
    /// Let Rust's panic hook print a native function's panic (off: the
    /// panic becomes a Scheme error and nothing is printed).
    pub show_panics: bool,
}

thread_local! {
    /// Native calls in progress on this thread whose panics are not shown.
    static QUIET_PANICS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Put, once per process, a panic hook in front of the one there: it stays
/// silent for a panic inside a native call made while `QUIET_PANICS` is
/// set on that thread, and passes every other panic to the hook that was
/// there before (the host's, or Rust's default).
fn install_quiet_hook() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET_PANICS.with(|q| q.get()) == 0 {
                previous(info);
            }
        }));
    });
}

/// Counts a quiet native call for as long as it lives.
struct QuietPanics;

impl QuietPanics {
    /// (The hook is installed when a function is registered.)
    fn begin() -> QuietPanics {
        QUIET_PANICS.with(|q| q.set(q.get() + 1));
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET_PANICS.with(|q| q.set(q.get().saturating_sub(1)));
    }
}

/// A hasher for keys made of integers that are numbers, counters or
/// hashes already (identity hashes, wait keys, future numbers): each
/// word is mixed in with a rotate and a multiply, where SipHash would
/// spend several rounds. Not for keys an adversary chooses.
#[derive(Default)]
pub(crate) struct SpreadHash(u64);

impl std::hash::Hasher for SpreadHash {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

/// A `HashMap` keyed by integers, hashed by [`SpreadHash`].
pub(crate) type WordMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<SpreadHash>>;

/// A registered function as calls find it.
struct Entry {
    name: String,
    func: NativeFn,
    /// The symbol last matched and the heap epoch then: while nothing has
    /// moved, the same symbol is the same name.
    seen: Cell<(Raw, u64)>,
}

impl Natives {
    /// Whether `name` is registered.
    ///
    /// ```
    /// let natives = imp::native::Natives::default();
    /// assert!(!natives.contains("anything"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The registered names, sorted.
    ///
    /// ```
    /// assert_eq!(imp::native::Natives::default().names(), Vec::<String>::new());
    /// ```
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_name.keys().cloned().collect();
        v.sort();
        v
    }

    /// The same functions, for a runtime on a copy of this heap (symbols
    /// keep their identity hashes there).
    pub(crate) fn duplicate(&self) -> Natives {
        let by_hash = self
            .by_hash
            .iter()
            .map(|(&h, entries)| {
                let copies = entries
                    .iter()
                    .map(|e| Entry {
                        name: e.name.clone(),
                        func: e.func.clone(),
                        seen: Cell::new((Raw::FALSE, u64::MAX)),
                    })
                    .collect();
                (h, copies)
            })
            .collect();
        Natives {
            by_name: self.by_name.clone(),
            by_hash,
            cache: Default::default(),
            show_panics: self.show_panics,
        }
    }
}

/// An argument list a native function takes: a tuple of [`FromValue`]s
/// (exactly that many arguments), `()` (none), or `Vec<T>` (any number).
///
/// ```
/// use imp::FromArgs;
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register("sum", |_, xs: Vec<i64>| Ok(xs.iter().sum::<i64>())).unwrap();
/// rt.register("answer", |_, ()| Ok(42)).unwrap();
/// assert_eq!(rt.eval_str("(+ (sum 1 2 3) (sum) (answer))").unwrap().as_i64(&rt), Some(48));
/// // Used directly, the conversion names the function in its errors.
/// let args = [rt.put(1).unwrap()];
/// let e = <(i64, String)>::from_args("pair", &args, &mut rt.scope()).unwrap_err();
/// assert_eq!(e.to_string(), "pair: expected 2 arguments, got 1");
/// ```
pub trait FromArgs: Sized {
    /// Convert the arguments of a call to the function `who`.
    ///
    /// # Errors
    /// [`Error::Type`] naming `who` for a wrong count or a wrong type.
    fn from_args(who: &str, args: &[Value], cx: &mut Scope<'_>) -> Result<Self, Error>;

    #[doc(hidden)]
    /// Convert the arguments of a native call where they lie on the stack
    /// (the tuples convert each in place, with no handle unless a
    /// `Value` is asked for).
    ///
    /// # Errors
    /// As [`FromArgs::from_args`].
    #[inline]
    fn from_stack(who: &str, args: Args, cx: &mut Scope<'_>) -> Result<Self, Error> {
        let held: Vec<Value> = (0..args.argc)
            .map(|i| {
                let v = cx.vm.stack[args.base + i];
                hold_in(cx.vm, v)
            })
            .collect();
        Self::from_args(who, &held, cx)
    }
}

#[cold]
fn count_error(who: &str, want: usize, got: usize) -> Error {
    Error::Type(format!(
        "{who}: expected {want} argument{}, got {got}",
        if want == 1 { "" } else { "s" }
    ))
}

#[cold]
fn arg_error(who: &str, i: usize, e: Error) -> Error {
    match e {
        Error::Type(m) => Error::Type(format!("{who}: argument {}: {m}", i + 1)),
        e => e,
    }
}

impl FromArgs for () {
    fn from_args(who: &str, args: &[Value], _: &mut Scope<'_>) -> Result<Self, Error> {
        if args.is_empty() {
            Ok(())
        } else {
            Err(count_error(who, 0, args.len()))
        }
    }

    #[inline]
    fn from_stack(who: &str, args: Args, _: &mut Scope<'_>) -> Result<Self, Error> {
        if args.argc == 0 {
            Ok(())
        } else {
            Err(count_error(who, 0, args.argc))
        }
    }
}

impl<T: FromValue> FromArgs for Vec<T> {
    fn from_args(who: &str, args: &[Value], cx: &mut Scope<'_>) -> Result<Self, Error> {
        args.iter()
            .enumerate()
            .map(|(i, a)| T::from_value(a, cx).map_err(|e| arg_error(who, i, e)))
            .collect()
    }

    #[inline]
    fn from_stack(who: &str, args: Args, cx: &mut Scope<'_>) -> Result<Self, Error> {
        (0..args.argc)
            .map(|i| T::from_slot(cx, args.base + i).map_err(|e| arg_error(who, i, e)))
            .collect()
    }
}

macro_rules! tuple_args {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: FromValue),+> FromArgs for ($($t,)+) {
            fn from_args(who: &str, args: &[Value], cx: &mut Scope<'_>) -> Result<Self, Error> {
                if args.len() != $n {
                    return Err(count_error(who, $n, args.len()));
                }
                Ok(($($t::from_value(&args[$i], cx).map_err(|e| arg_error(who, $i, e))?,)+))
            }

            #[inline]
            fn from_stack(who: &str, args: Args, cx: &mut Scope<'_>) -> Result<Self, Error> {
                if args.argc != $n {
                    return Err(count_error(who, $n, args.argc));
                }
                Ok(($($t::from_slot(cx, args.base + $i).map_err(|e| arg_error(who, $i, e))?,)+))
            }
        }
    };
}

tuple_args!(1; A 0);
tuple_args!(2; A 0, B 1);
tuple_args!(3; A 0, B 1, C 2);
tuple_args!(4; A 0, B 1, C 2, D 3);
tuple_args!(5; A 0, B 1, C 2, D 3, E 4);
tuple_args!(6; A 0, B 1, C 2, D 3, E 4, F 5);

impl crate::Runtime {
    /// Bind the global `name` to a procedure that calls `f`. Its arguments
    /// convert to `A` ([`FromArgs`]: a tuple, `()` or `Vec<T>`), its result
    /// from `R`. Registering a name again replaces the function (procedures
    /// already made for the name call the new one).
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("greet", |_, (who,): (String,)| Ok(format!("hello, {who}"))).unwrap();
    /// let s: String = rt.call_global("greet", ("ada",)).unwrap();
    /// assert_eq!(s, "hello, ada");
    /// ```
    ///
    /// # Errors
    /// [`Error::Heap`] if the heap is exhausted.
    pub fn register<A, R, F>(&mut self, name: &str, f: F) -> Result<(), Error>
    where
        A: FromArgs,
        R: IntoValue,
        F: Fn(&mut Scope<'_>, A) -> Result<R, Error> + 'static,
    {
        install_quiet_hook();
        let who = name.to_string();
        let erased: NativeFn = Rc::new(move |cx, args| {
            let a = A::from_stack(&who, args, cx)?;
            f(cx, a)?.into_raw(cx)
        });
        // Procedures already made for the name call the new function.
        self.vm.host.natives.cache = Default::default();
        self.vm
            .host
            .natives
            .by_name
            .insert(name.to_string(), erased.clone());
        let r = make_native(&mut self.vm, name);
        r.map_err(|e| self.convert(e))?;
        let sym = self.vm.intern(name).map_err(|e| self.convert(e))?;
        let h = self.vm.heap.identity_hash(sym);
        let bucket = self.vm.host.natives.by_hash.entry(h).or_default();
        bucket.retain(|e| e.name != name);
        bucket.push(Entry {
            name: name.to_string(),
            func: erased,
            seen: Cell::new((Raw::FALSE, u64::MAX)),
        });
        Ok(())
    }
}

/// Make the procedure object for native `name`, bind the global, and add
/// the name to `%native-names` (what an image of this heap needs).
fn make_native(vm: &mut Vm, name: &str) -> VmResult<()> {
    let list_sym = vm.intern_internal("%native-names")?;
    let names = vm.global_value(list_sym);
    let names = if vm.list_to_vec(names).is_some() {
        names
    } else {
        Raw::NIL
    };
    let listed = vm
        .list_to_vec(names)
        .unwrap_or_default()
        .iter()
        .any(|s| vm.is(*s, obj::SYMBOL) && vm.symbol_name(*s) == name);
    if !listed {
        vm.stack.push(names);
        let sym = vm.intern(name)?;
        let names = vm.stack.pop().unwrap_or(Raw::NIL);
        let l = vm.cons(sym, names)?;
        vm.define_global("%native-names", l)?;
    }
    let sym = vm.intern(name)?;
    vm.stack.push(sym);
    let p = vm.alloc(obj::PRIMITIVE, 2);
    let sym = vm.stack.pop().unwrap_or(Raw::FALSE);
    let p = p?;
    vm.heap.set(p, 0, Raw::fix(-1));
    vm.heap.set(p, 1, sym);
    vm.define_global(name, p)
}

#[doc(hidden)]
/// Is `f` (a `PRIMITIVE`) a native function?
///
/// ```
/// let path = std::env::temp_dir().join(format!("doc-is-native-{}.img", std::process::id()));
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register("double", |_, (n,): (i64,)| Ok(2 * n)).unwrap();
/// rt.save_image(&path, None).unwrap();
/// let (vm, _, _) = imp::vm::Vm::from_image(&path, Default::default()).unwrap();
/// # std::fs::remove_file(&path).unwrap();
/// let global = |name: &str| vm.global_value(vm.symbol_lookup(name).unwrap());
/// assert!(imp::native::is_native(&vm, global("double")));
/// assert!(!imp::native::is_native(&vm, global("car")));
/// ```
pub fn is_native(vm: &Vm, f: Raw) -> bool {
    vm.is(f, obj::PRIMITIVE) && vm.heap.get(f, 0).as_fixnum_unchecked() < 0
}

#[doc(hidden)]
/// The name of native `f`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("doc-native-name-{}.img", std::process::id()));
/// let mut rt = imp::Runtime::new().unwrap();
/// rt.register("double", |_, (n,): (i64,)| Ok(2 * n)).unwrap();
/// rt.eval_str("(define twice double)").unwrap();
/// rt.save_image(&path, None).unwrap();
/// let (vm, _, _) = imp::vm::Vm::from_image(&path, Default::default()).unwrap();
/// # std::fs::remove_file(&path).unwrap();
/// let f = vm.global_value(vm.symbol_lookup("twice").unwrap());
/// assert_eq!(imp::native::native_name(&vm, f), "double");
/// ```
pub fn native_name(vm: &Vm, f: Raw) -> String {
    if !is_native(vm, f) {
        return "#<native>".to_string();
    }
    let s = vm.heap.get(f, 1);
    if vm.is(s, obj::SYMBOL) {
        vm.symbol_name(s)
    } else {
        "#<native>".to_string()
    }
}

/// The function registered under native `f`'s name.
#[inline]
fn find(vm: &mut Vm, f: Raw) -> Option<NativeFn> {
    let epoch = vm.heap.epoch();
    let i = (f.bits() >> 4) as usize & (CACHE - 1);
    if let (bits, e, Some(func)) = &vm.host.natives.cache[i]
        && *bits == f.bits()
        && *e == epoch
    {
        return Some(func.clone());
    }
    let func = find_by_name(vm, f)?;
    vm.host.natives.cache[i] = (f.bits(), epoch, Some(func.clone()));
    Some(func)
}

/// The function registered under native `f`'s name, found by the name.
fn find_by_name(vm: &Vm, f: Raw) -> Option<NativeFn> {
    let sym = vm.heap.get(f, 1);
    if !vm.is(sym, obj::SYMBOL) {
        return None;
    }
    let bucket = vm.host.natives.by_hash.get(&vm.heap.identity_hash(sym))?;
    let epoch = vm.heap.epoch();
    if let Some(e) = bucket.iter().find(|e| e.seen.get() == (sym, epoch)) {
        return Some(e.func.clone());
    }
    let text = vm.heap.get(sym, 0);
    let e = bucket.iter().find(|e| vm.string_eq_str(text, &e.name))?;
    e.seen.set((sym, epoch));
    Some(e.func.clone())
}

/// Call native `f` with the `argc` arguments above `f_idx` on the stack;
/// the stack is cut back to `f_idx`.
pub(crate) fn call_native(vm: &mut Vm, f: Raw, f_idx: usize, argc: usize) -> VmResult<Raw> {
    let Some(func) = find(vm, f) else {
        return Err(unregistered(vm, f, f_idx));
    };
    // The host's function may do anything seen outside the process.
    if let Err(e) = vm.before_effect() {
        vm.stack.truncate(f_idx);
        return Err(e);
    }
    // The arguments stay where the call put them (the stack is a root);
    // the procedure below them is kept for the error messages.
    let args = Args {
        base: f_idx + 1,
        argc,
    };
    let frames = vm.frames.len();
    let outer = vm.host.call;
    vm.host.calls = vm.host.calls.wrapping_add(1);
    vm.host.call = vm.host.calls;
    let quiet = (!vm.host.natives.show_panics).then(QuietPanics::begin);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut cx = Scope { vm: &mut *vm };
        func(&mut cx, args)
    }));
    drop(quiet);
    vm.host.call = outer;
    // HostMut arguments the function dropped gave their values back.
    vm.host.objects.reclaim();
    // Whatever the closure did, the caller's stack is as it left it,
    // less the call.
    vm.frames.truncate(frames);
    match r {
        Ok(Ok(v)) => {
            vm.stack.truncate(f_idx);
            if vm.host.pending_escape.is_some() {
                // An escape the function chose not to pass on is over.
                vm.host.pending_escape = None;
            }
            Ok(v)
        }
        Ok(Err(e)) => Err(failed(vm, Ok(e), f_idx)),
        Err(panic) => Err(failed(vm, Err(panic), f_idx)),
    }
}

/// The error for a call of native `f`, which this runtime's host did not
/// register; the stack is cut back to `f_idx`.
#[cold]
#[inline(never)]
fn unregistered(vm: &mut Vm, f: Raw, f_idx: usize) -> Exn {
    let name = native_name(vm, f);
    vm.stack.truncate(f_idx);
    vm.error(
        format!("native function `{name}` is not registered in this runtime"),
        &[],
    )
}

/// What a native call that returned an error or panicked raises; the
/// stack is cut back to `f_idx`.
#[cold]
#[inline(never)]
fn failed(vm: &mut Vm, r: Result<Error, Box<dyn std::any::Any + Send>>, f_idx: usize) -> Exn {
    let f = vm.stack.get(f_idx).copied().unwrap_or(Raw::FALSE);
    vm.stack.truncate(f_idx);
    match r {
        Ok(e) => error_to_exn(vm, e),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            let name = native_name(vm, f);
            vm.error(format!("native function `{name}` panicked: {what}"), &[])
        }
    }
}

/// What a native function's error becomes in the VM: a Scheme error raised
/// at the call (a Scheme error inside it goes on up as itself), or the
/// abort it stands for.
pub(crate) fn error_to_exn(vm: &mut Vm, e: Error) -> Exn {
    match e {
        Error::Raised(report) => {
            let kind = match report.kind.as_str() {
                "read-error" => "read-error",
                "file-error" => "file-error",
                "syntax-error" => "syntax-error",
                _ => "error",
            };
            let mut msg = report.message;
            for i in &report.irritants {
                msg.push(' ');
                msg.push_str(i);
            }
            vm.error_kind(kind, msg, &[])
        }
        Error::Exit(code) => Exn::Abort(crate::vm::Abort::Exit(code)),
        Error::Limit(m) => Exn::Abort(crate::vm::Abort::Limit(m)),
        Error::Image(m) if vm.image.damage.is_some() => {
            Exn::Abort(crate::vm::Abort::DamagedImage(m))
        }
        Error::Escape if vm.host.pending_escape.is_some() => Exn::Abort(crate::vm::Abort::Escape),
        e => vm.error(e.to_string(), &[]),
    }
}

/// The native functions an image's heap needs that `vm`'s host has not
/// registered, sorted.
pub(crate) fn missing_natives(vm: &Vm) -> Vec<String> {
    let Some(sym) = vm
        .internal_lookup("%native-names")
        .or_else(|| vm.symbol_lookup("%native-names"))
    else {
        return Vec::new();
    };
    let names = vm.global_value(sym);
    let mut missing: Vec<String> = vm
        .list_to_vec(names)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| vm.is(*s, obj::SYMBOL))
        .map(|s| vm.symbol_name(s))
        .filter(|n| !vm.host.natives.contains(n))
        .collect();
    missing.sort();
    missing
}

impl crate::Runtime {
    /// Start from the image at `path`, let `setup` register the host's
    /// native functions, then check that every native function the image
    /// uses is registered.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-with-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("double", |_, (n,): (i64,)| Ok(2 * n)).unwrap();
    /// rt.save_image(&path, None).unwrap();
    /// let Err(e) = imp::Runtime::from_image_with(&path, |_| Ok(())) else { panic!() };
    /// assert!(matches!(&e, imp::Error::Image(m) if m.ends_with("not registered: double")));
    /// let (mut rt, _) = imp::Runtime::from_image_with(&path, |rt| {
    ///     rt.register("double", |_, (n,): (i64,)| Ok(2 * n))
    /// }).unwrap();
    /// assert_eq!(rt.eval_str("(double 21)").unwrap().as_i64(&rt), Some(42));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Image`] if the image is refused or names native functions
    /// `setup` did not register (all of them, in the message); whatever
    /// `setup` returns.
    pub fn from_image_with(
        path: impl AsRef<std::path::Path>,
        setup: impl FnOnce(&mut crate::Runtime) -> Result<(), Error>,
    ) -> Result<(crate::Runtime, Option<Value>), Error> {
        let (mut rt, top) = crate::Runtime::from_image(path)?;
        setup(&mut rt)?;
        rt.check_natives()?;
        Ok((rt, top))
    }

    /// [`Runtime::from_image_with`](crate::Runtime::from_image_with) for
    /// an image held in memory.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-bytes-with-{}.img", std::process::id()));
    /// imp::write_boot_image(&path, |rt| {
    ///     rt.register("double", |_, (n,): (i64,)| Ok(2 * n))?;
    ///     rt.eval_str("(define (quadruple n) (double (double n)))").map(|_| ())
    /// }).unwrap();
    /// let bytes = std::fs::read(&path).unwrap();
    /// # std::fs::remove_file(&path).unwrap();
    /// let (mut rt, _) = imp::Runtime::from_image_bytes_with(&bytes, |rt| {
    ///     rt.register("double", |_, (n,): (i64,)| Ok(2 * n))
    /// }).unwrap();
    /// assert_eq!(rt.call_global::<i64>("quadruple", (5,)).unwrap(), 20);
    /// ```
    ///
    /// # Errors
    /// As [`Runtime::from_image_with`](crate::Runtime::from_image_with).
    pub fn from_image_bytes_with(
        bytes: &[u8],
        setup: impl FnOnce(&mut crate::Runtime) -> Result<(), Error>,
    ) -> Result<(crate::Runtime, Option<Value>), Error> {
        let (mut rt, top) = crate::Runtime::from_image_bytes(bytes)?;
        setup(&mut rt)?;
        rt.check_natives()?;
        Ok((rt, top))
    }

    /// An error naming every native function the heap uses that this
    /// runtime's host has not registered.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-check-{}.img", std::process::id()));
    /// let mut rt = imp::Runtime::new().unwrap();
    /// assert!(rt.check_natives().is_ok());
    /// rt.register("double", |_, (n,): (i64,)| Ok(2 * n)).unwrap();
    /// rt.save_image(&path, None).unwrap();
    /// // `from_image` does not check; the host can, and register late.
    /// let (mut later, _) = imp::Runtime::from_image(&path).unwrap();
    /// assert!(later.check_natives().unwrap_err().to_string().contains("double"));
    /// later.register("double", |_, (n,): (i64,)| Ok(2 * n)).unwrap();
    /// assert!(later.check_natives().is_ok());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Image`] listing them.
    pub fn check_natives(&self) -> Result<(), Error> {
        let missing = missing_natives(&self.vm);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Image(format!(
                "the image uses native functions this program has not registered: {}",
                missing.join(", ")
            )))
        }
    }
}

impl crate::Runtime {
    /// Lend `state` to the native functions that `f`'s calls into the
    /// runtime reach: inside them, `cx.state::<T>()` is `state`. When `f`
    /// returns, `state` holds what they made of it. (The value moves into
    /// the runtime for the duration, so `T` needs a `Default` to leave in
    /// its place; lends nest.)
    ///
    /// ```
    /// #[derive(Default)]
    /// struct Tally { calls: u32 }
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("count!", |cx, ()| {
    ///     if let Some(t) = cx.state::<Tally>() { t.calls += 1; }
    ///     Ok(())
    /// }).unwrap();
    /// let mut tally = Tally::default();
    /// rt.lend(&mut tally, |rt| rt.eval_str("(count!) (count!)").map(|_| ())).unwrap();
    /// assert_eq!(tally.calls, 2);
    /// ```
    pub fn lend<T: Default + 'static, R>(
        &mut self,
        state: &mut T,
        f: impl FnOnce(&mut crate::Runtime) -> R,
    ) -> R {
        let taken: Box<dyn std::any::Any> = Box::new(std::mem::take(state));
        let outer = self.vm.host.lent.replace(taken);
        let r = f(self);
        let back = std::mem::replace(&mut self.vm.host.lent, outer);
        if let Some(Ok(t)) = back.map(|b| b.downcast::<T>()) {
            *state = *t;
        }
        r
    }
}

impl Scope<'_> {
    /// The host state lent to this call (`Runtime::lend`), if it is a `T`.
    ///
    /// ```
    /// let mut rt = imp::Runtime::new().unwrap();
    /// rt.register("log!", |cx, (msg,): (String,)| Ok(match cx.state::<Vec<String>>() {
    ///     Some(log) => { log.push(msg); true }
    ///     None => false, // nothing lent, or not a Vec<String>
    /// })).unwrap();
    /// assert_eq!(rt.eval_str("(log! \"lost\")").unwrap().as_bool(&rt), Some(false));
    /// let mut log: Vec<String> = Vec::new();
    /// rt.lend(&mut log, |rt| rt.eval_str("(log! \"a\") (log! \"b\")").map(|_| ())).unwrap();
    /// assert_eq!(log, ["a", "b"]);
    /// ```
    pub fn state<T: 'static>(&mut self) -> Option<&mut T> {
        self.vm.host.lent.as_mut()?.downcast_mut::<T>()
    }
}
