//! Starting from an image (`doc/IMAGE-FORMAT.md` §8): map its static
//! section, check every root and everything the loader and the runtime's
//! own image code follow from them, and adopt them; and the gate that
//! holds the program's first effect outside the process until a large
//! image's body has been checked whole.
//!
//! **Invariant (checked before trusted):** the loader reads an object of
//! the image only after [`Vm::image_object`] found it inside the section,
//! in chunks whose checksums matched, and shaped as this runtime makes
//! objects; a value only after it was found to be one. So a damaged or
//! made-up image is an error naming the file and the cause, never a
//! panic, a hang or a read outside the heap.
//!
//! **Invariant (no effect before the body is checked):** while chunks of
//! a large image are still being checked (`imp_gc::Heap::
//! map_static_checked`), nothing the program does is seen outside the
//! process: output, a file written or removed, a program run, a save, a
//! host function called, or the host's call returning all wait in
//! [`Vm::before_effect`] until every chunk has matched, and damage ends
//! the host's call instead, with the error naming the file and the chunk.
//! The program itself never reads an unchecked byte (the heap's guard).

use std::path::Path;
use std::sync::Arc;

use imp_gc::{HeapError, Tag, Value};
use imp_images::{Image, SectionKind, VERIFY_BODY_LIMIT};

use super::shape::{is_value, valid_fields, valid_object};
use super::{HOOKS_ROOT, SAVED_REGS, THREADS_ROOT, TOPLEVEL_ROOT, fingerprint, primitive_names};
use crate::obj;
use crate::vm::{Abort, Exn, Reg, Vm, VmResult};

/// The image a VM started from (`Vm::image`), while its body is checked.
#[derive(Default)]
pub struct ImageState {
    /// While a large image's chunks are checked as they are used: their
    /// checker, for the message naming a damaged one.
    pub(crate) body: Option<Arc<imp_images::BodyCheck>>,
    /// The image's body was found damaged: the error every call from the
    /// host ends with.
    pub(crate) damage: Option<String>,
    /// The host's call returning waits for no image check (set while the
    /// restore hooks run inside the load: their effects wait all the same).
    pub(crate) gate_deferred: bool,
    /// This process started from an image that kept its threads.
    pub(crate) threads_kept: bool,
    /// The path of the image that kept them, for the message naming a
    /// kept thread found malformed when it is first resumed.
    pub(crate) kept_path: Option<Arc<str>>,
    /// The mark to record once the body has matched every checksum.
    pub(crate) mark: Option<super::checked::Mark>,
}

/// The smallest image whose marks are looked for: checking a smaller
/// body (0.1 ms per MiB) costs about what looking costs.
const MARKED_FROM: u64 = 1 << 20;

/// Exit status of a process whose program runs into a damaged chunk of
/// its image before the checker reported it (what `imp` exits with for an
/// uncaught error, EX_SOFTWARE): that happens inside a signal handler,
/// where the error cannot be returned.
const DAMAGE_EXIT_STATUS: i32 = 70;

/// What the message of a process ending on damage starts with.
const DAMAGE_PREFIX: &str = "imp: ";

/// Globals the runtime's own Rust code reads by name (the scheduler's, the
/// restore hooks', the natives' and the libraries'): checked at load like
/// the roots, since the runtime follows them without looking.
const RUNTIME_GLOBALS: &[&str] = &[
    "%run-interrupts",
    "%limit-unwind",
    "%limit-interrupt",
    "%repl",
    "%channel-poll",
    "%run-until-idle",
    "%thread-failure-hook",
    "%terminate-current!",
    "%raise-deadlock",
    "%sigint-target",
    "%user-interrupt-thunk",
    "%run-restore-hooks",
    "%restore-hooks",
    "%native-names",
    "%load-run",
    "%libraries",
    "%top-imports",
    "%builtin-names",
];

/// Why a load stopped: the image is damaged in a checksummed chunk (the
/// message names the file and the chunk), or it breaks a rule the loader
/// checks (the cause, to follow the file's name).
#[derive(Debug)]
pub(super) enum Fault {
    /// A chunk that did not match its checksum: the whole message.
    Chunk(String),
    /// Anything else: the cause.
    Bad(String),
}

impl Fault {
    /// The message, naming `path`.
    pub(super) fn message(self, path: &str) -> String {
        match self {
            Fault::Chunk(m) => m,
            Fault::Bad(m) => format!("{path}: {m}"),
        }
    }
}

impl Vm {
    /// A VM whose heap is the image at `path` (checked first). Returns it
    /// with the toplevel procedure and the restore hooks. An image larger
    /// than [`VERIFY_BODY_LIMIT`] has its body checked as it is used and
    /// in the background (the module's invariants).
    ///
    /// # Errors
    /// The reason, naming the file.
    pub fn from_image(
        path: &Path,
        config: imp_gc::HeapConfig,
    ) -> Result<(Vm, Value, Value), String> {
        let vm = Vm::new(config)?;
        let img = Image::open_unchecked(path).map_err(|e| e.to_string())?;
        img.check_build(fingerprint(vm.heap.static_offset()), &primitive_names())
            .map_err(|e| e.to_string())?;
        // A body is checked whole now (up to 16 MiB) or as it is used,
        // unless this very file was checked whole before (`checked.rs`;
        // not worth looking for under a megabyte).
        let mark = (img.len >= MARKED_FROM)
            .then(|| super::checked::Mark::of(&img))
            .flatten();
        let marked = mark.as_ref().is_some_and(|m| m.present());
        let mut mark = mark.filter(|_| !marked);
        if img.len <= VERIFY_BODY_LIMIT && !marked {
            img.verify_body().map_err(|e| e.to_string())?;
            if let Some(m) = mark.take() {
                m.record();
            }
        }
        let checked = img.len <= VERIFY_BODY_LIMIT || marked;
        vm.load_image(&img, checked, false)
            .map(|(mut vm, t, h, _)| {
                vm.image.mark = mark;
                (vm, t, h)
            })
    }

    /// Map `img` into this fresh VM and adopt its roots. `checked`: its
    /// body was checked whole already. With `verify`, every object is
    /// checked (§8.7) before any is used; the object count is returned
    /// then.
    pub(super) fn load_image(
        mut self,
        img: &Image,
        checked: bool,
        verify: bool,
    ) -> Result<(Vm, Value, Value, usize), String> {
        let bad = |m: &str| format!("{}: {m}", img.path);
        if img.static_region_offset != self.heap.static_offset() {
            return Err(bad("the image was saved for another heap layout"));
        }
        for s in &img.sections {
            match s.kind {
                SectionKind::Static if s.region_offset == self.heap.static_offset() => {
                    self.map_section(img, s, checked)?;
                }
                SectionKind::Static => return Err(bad("a static section belongs elsewhere")),
                SectionKind::Pure => {
                    if s.len != 0 {
                        return Err(bad("pure sections are not supported by this imp"));
                    }
                }
            }
        }
        let mut objects = 0;
        if verify {
            let roots: Vec<Value> = img
                .roots
                .iter()
                .map(|(_, v)| Value::from_bits(*v))
                .collect();
            objects = self
                .heap
                .verify_static(&valid_object, &valid_fields, &roots)
                .map_err(|m| bad(&format!("damaged image: {m}")))?;
        }
        let (toplevel, hooks) = self.adopt_roots(img).map_err(|f| f.message(&img.path))?;
        // A fresh scheduler over the loaded symbol table.
        for r in [Reg::Winders, Reg::Handlers, Reg::Params, Reg::JobResults] {
            self.set_reg(r, Value::NIL);
        }
        self.set_reg(Reg::LastError, Value::FALSE);
        self.set_reg(Reg::Scratch, Value::FALSE);
        self.set_reg(Reg::TerminateWaiter, Value::FALSE);
        self.stack.push(toplevel);
        self.stack.push(hooks);
        let r = self.init_threads();
        let hooks = self.stack.pop().unwrap_or(Value::NIL);
        let toplevel = self.stack.pop().unwrap_or(Value::FALSE);
        r.map_err(|_| bad("out of memory starting the scheduler"))?;
        // Threads the image kept (an image of an earlier format has none).
        let kept = img
            .root(THREADS_ROOT)
            .map_or(Value::FALSE, Value::from_bits);
        if kept == Value::FALSE {
            return Ok((self, toplevel, hooks, objects));
        }
        // Every load checks what the scheduler holds whatever the count of
        // threads (the vector, the saving thread, the run queue, the
        // stale threads, the sources, the timer heap's vector); each
        // other thread is checked when it is first resumed (`flag::KEPT`,
        // `Vm::check_kept_thread`), so the start does not grow with their
        // number. A full check (`--check-image`) walks them all.
        self.check_kept_threads(kept, verify)
            .map_err(|f| in_root(THREADS_ROOT, f).message(&img.path))?;
        self.image.kept_path = Some(img.path.as_str().into());
        self.stack.push(toplevel);
        self.stack.push(hooks);
        let r = self.adopt_kept_threads(kept);
        let hooks = self.stack.pop().unwrap_or(Value::NIL);
        let toplevel = self.stack.pop().unwrap_or(Value::FALSE);
        r.map_err(|_| bad("out of memory restoring the kept threads"))?;
        Ok((self, toplevel, hooks, objects))
    }

    /// Map the static section `s`: plainly if its body was `checked`,
    /// else guarded, each chunk checked before its first use, with a
    /// helper thread checking them all (and if it cannot be guarded,
    /// checked whole now).
    fn map_section(
        &mut self,
        img: &Image,
        s: &imp_images::Section,
        checked: bool,
    ) -> Result<(), String> {
        use std::os::fd::AsFd;
        let bad = |m: &str| format!("{}: {m}", img.path);
        if checked {
            return self
                .heap
                .map_static(img.file.as_fd(), s.file_offset, s.len)
                .map_err(|e| bad(&e.to_string()));
        }
        let check = Arc::new(
            img.body_check(s, DAMAGE_PREFIX)
                .map_err(|e| e.to_string())?,
        );
        let guarded = self
            .heap
            .map_static_checked(
                img.file.as_fd(),
                s.file_offset,
                s.len,
                check.clone(),
                self.limits.interrupt.clone(),
                DAMAGE_EXIT_STATUS,
            )
            .map_err(|e| bad(&e.to_string()))?;
        if guarded {
            self.image.body = Some(check);
        } else {
            check.verify_all().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Check every root and what the runtime follows from them, then make
    /// them the VM's: the saved registers; the toplevel and the restore
    /// hooks are returned.
    fn adopt_roots(&mut self, img: &Image) -> Result<(Value, Value), Fault> {
        let root = |name: &str| -> Result<Value, Fault> {
            img.root(name)
                .map(Value::from_bits)
                .ok_or_else(|| Fault::Bad(format!("the image lacks its `{name}` root")))
        };
        let mut values = Vec::with_capacity(SAVED_REGS.len());
        for (name, reg) in SAVED_REGS {
            let v = root(name)?;
            self.check_root(name, v).map_err(|f| in_root(name, f))?;
            values.push((*reg, v));
        }
        let toplevel = root(TOPLEVEL_ROOT)?;
        if toplevel != Value::FALSE {
            self.check_procedure(toplevel)
                .map_err(|f| in_root(TOPLEVEL_ROOT, f))?;
        }
        let hooks = root(HOOKS_ROOT)?;
        self.check_list(hooks, &mut |vm, h| vm.check_procedure(h))
            .map_err(|f| in_root(HOOKS_ROOT, f))?;
        for (reg, v) in values {
            self.set_reg(reg, v);
        }
        self.check_symbol_table()?;
        for name in RUNTIME_GLOBALS {
            if let Some(sym) = self
                .internal_lookup(name)
                .or_else(|| self.symbol_lookup(name))
            {
                let v = self.global_value(sym);
                self.check_global(v)
                    .map_err(|f| in_what(&format!("the global `{name}`"), f))?;
            }
        }
        Ok((toplevel, hooks))
    }

    /// The `threads` root is `#(caller threads run-queue timers stale
    /// sources now)` with a thread, lists and a queue where the scheduler
    /// expects them. The thread list and the timer heap's entries are
    /// walked only when `all` (a full check): otherwise each thread is
    /// checked as it is first resumed.
    fn check_kept_threads(&self, v: Value, all: bool) -> Result<(), Fault> {
        let bad = |m: &str| Fault::Bad(m.into());
        if self.image_object(v)? != obj::VECTOR
            || self.heap.len(v) != crate::sched::KEPT_FIELDS
            || self.heap.get(v, 6).as_fixnum().is_none_or(|n| n < 0)
        {
            return Err(bad("is not the vector of a kept scheduler"));
        }
        if self.check_kept_thread_shape(self.heap.get(v, 0)).is_err() {
            return Err(bad("does not name the thread that saved"));
        }
        let queue = self.heap.get(v, 2);
        if self.image_object(queue)? != obj::PAIR {
            return Err(bad("has no run queue"));
        }
        let lists: &[(usize, &str)] = if all {
            &[(1, "thread list"), (4, "list of stale threads")]
        } else {
            &[(4, "list of stale threads")]
        };
        for &(i, what) in lists {
            self.check_list(self.heap.get(v, i), &mut |vm, t| {
                vm.check_kept_thread_shape(t)
                    .map_err(|_| Fault::Bad(format!("has a damaged {what}")))
            })?;
        }
        self.check_list(self.heap.get(v, 5), &mut |vm, e| {
            if vm.image_object(e)? != obj::PAIR
                || vm.image_object(vm.heap.get(e, 1))? != obj::BYTEVECTOR
            {
                return Err(bad("has a damaged source list"));
            }
            Ok(())
        })?;
        // The timer heap: a count, then that many `(deadline . thread)`.
        let timers = self.heap.get(v, 3);
        if self.image_object(timers)? != obj::VECTOR {
            return Err(bad("has no timer heap"));
        }
        let n = self.heap.get(timers, 0).as_fixnum();
        if n.is_none_or(|n| n < 0 || n as usize >= self.heap.len(timers)) {
            return Err(bad("has a damaged timer heap"));
        }
        if all {
            for i in 1..=n.unwrap_or(0) as usize {
                let e = self.heap.get(timers, i);
                if self.image_object(e)? != obj::PAIR
                    || !self.heap.get(e, 0).is_fixnum()
                    || self.check_kept_thread_shape(self.heap.get(e, 1)).is_err()
                {
                    return Err(bad("has a damaged timer"));
                }
            }
        }
        Ok(())
    }

    /// `t` is a thread of the image, with what resuming it reads without
    /// looking: its saved stack a vector, its saved frames a bytevector
    /// (or both `#f`, for a thread not started or running), its frame
    /// pointer and pc fixnums.
    fn check_kept_thread_shape(&self, t: Value) -> Result<(), Fault> {
        use crate::sched::field;
        if self.image_object(t)? != obj::THREAD {
            return Err(Fault::Bad("is not a thread".into()));
        }
        let bad = |m: String| Err(Fault::Bad(format!("is a thread whose {m}")));
        let part = |what: &str, v: Value, tag: Tag| match self.image_object(v) {
            Ok(t) if t == tag => Ok(()),
            Ok(t) => bad(format!("{what} is a {}", obj::tag_name(t))),
            Err(Fault::Bad(m)) => bad(format!("{what} {m}")),
            Err(chunk) => Err(chunk),
        };
        for (what, f) in [("state", field::STATE), ("flags", field::FLAGS)] {
            if !self.heap.get(t, f).is_fixnum() {
                return bad(format!("{what} is not a fixnum"));
            }
        }
        let (sv, fr) = (
            self.heap.get(t, field::STACK),
            self.heap.get(t, field::FRAMES),
        );
        if sv != Value::FALSE || fr != Value::FALSE {
            part("saved stack", sv, obj::VECTOR)?;
            part("saved frames", fr, obj::BYTEVECTOR)?;
            for (what, f) in [("frame pointer", field::FP), ("pc", field::PC)] {
                if !self.heap.get(t, f).is_fixnum() {
                    return bad(format!("{what} is not a fixnum"));
                }
            }
        }
        Ok(())
    }

    /// A thread an image kept, about to be resumed for the first time
    /// since the load (`flag::KEPT`): checked as the loader checks the
    /// saving one. A malformed one is the damaged-image error every later
    /// call of the host ends with, as a damaged chunk is.
    pub(crate) fn check_kept_thread(&mut self, t: Value) -> VmResult<()> {
        if let Err(f) = self.check_kept_thread_shape(t) {
            let path = self.image.kept_path.as_deref().unwrap_or("the image");
            let m = match f {
                Fault::Chunk(m) => m,
                Fault::Bad(m) => format!(
                    "{path}: damaged image: its kept thread at offset {} {m}",
                    t.offset()
                ),
            };
            self.image.damage = Some(m.clone());
            return Err(Exn::Abort(Abort::DamagedImage(m)));
        }
        Ok(())
    }

    /// The root `name` (one of `SAVED_REGS`) is what the runtime takes it
    /// for.
    fn check_root(&self, name: &str, v: Value) -> Result<(), Fault> {
        match name {
            "symbol-table" => {
                if self.image_object(v)? != obj::VECTOR || self.heap.len(v) == 0 {
                    return Err(Fault::Bad("is not a vector of buckets".into()));
                }
            }
            "symbol-count" => {
                if v.as_fixnum().is_none_or(|n| n < 0) {
                    return Err(Fault::Bad("is not a count".into()));
                }
            }
            "output-port" | "input-port" | "error-port" => {
                if self.image_object(v)? != obj::PARAMETER {
                    return Err(Fault::Bad("is not a parameter object".into()));
                }
                let port = self.heap.get(v, 0);
                if self.image_object(port)? != obj::PORT {
                    return Err(Fault::Bad(
                        "is a parameter whose value is not a port".into(),
                    ));
                }
                self.check_fields(port)?;
            }
            // The internal symbol table: `()` in an image saved before the
            // internals were hidden, else buckets like the symbol table's.
            "internal-symbols" if v.is_nil() => {}
            "internal-symbols" => {
                if self.image_object(v)? != obj::VECTOR || self.heap.len(v) == 0 {
                    return Err(Fault::Bad("is not a vector of buckets".into()));
                }
            }
            "keywords" => self.check_list(v, &mut |vm, e| {
                if vm.image_object(e)? != obj::PAIR {
                    return Err(Fault::Bad("holds an entry that is not a pair".into()));
                }
                let (sym, k) = (vm.heap.get(e, 0), vm.heap.get(e, 1));
                if vm.image_object(sym)? != obj::SYMBOL || vm.image_object(k)? != obj::KEYWORD {
                    return Err(Fault::Bad(
                        "holds an entry that is not a symbol and a keyword".into(),
                    ));
                }
                vm.check_fields(sym)?;
                vm.check_fields(k)
            })?,
            _ => self.check_value(v)?,
        }
        Ok(())
    }

    /// A procedure the runtime may call, with what a call reads first (a
    /// closure's code, its bytecode and constants).
    fn check_procedure(&self, v: Value) -> Result<(), Fault> {
        match self.image_object(v)? {
            obj::CLOSURE => {
                let code = self.heap.get(v, 0);
                self.check_fields(v)?;
                self.check_fields(code)
            }
            obj::PRIMITIVE | obj::PARAMETER => Ok(()),
            obj::CONTINUATION => self.check_fields(v),
            t => Err(Fault::Bad(format!(
                "is a {}, not a procedure",
                obj::tag_name(t)
            ))),
        }
    }

    /// A global the runtime reads: a value; a procedure checked as one; a
    /// list (the natives' names, the libraries) walked, each element a
    /// value.
    fn check_global(&self, v: Value) -> Result<(), Fault> {
        self.check_value(v)?;
        if v.is_ref() && self.is_procedure(v) {
            self.check_procedure(v)?;
        } else if self.is(v, obj::PAIR) {
            self.check_list(v, &mut |vm, e| vm.check_value(e))?;
        }
        Ok(())
    }

    /// `v` is a well-formed value, and an object of the image if a
    /// reference.
    fn check_value(&self, v: Value) -> Result<(), Fault> {
        if !is_value(v.bits()) {
            return Err(Fault::Bad(format!("is {:#x}, which is no value", v.bits())));
        }
        if v.is_ref() {
            self.image_object(v)?;
        }
        Ok(())
    }

    /// `v` is a proper list of at most as many pairs as the image can
    /// hold, whose elements each pass `each`.
    fn check_list(
        &self,
        mut v: Value,
        each: &mut dyn FnMut(&Vm, Value) -> Result<(), Fault>,
    ) -> Result<(), Fault> {
        let (lo, hi) = self.heap.static_section();
        let mut budget = (hi - lo) / 24 + 1;
        while v != Value::NIL {
            budget = budget
                .checked_sub(1)
                .ok_or_else(|| Fault::Bad("is a list that never ends".into()))?;
            if self.image_object(v)? != obj::PAIR {
                return Err(Fault::Bad("is not a proper list".into()));
            }
            each(self, self.heap.get(v, 0))?;
            v = self.heap.get(v, 1);
        }
        Ok(())
    }

    /// Every bucket of the symbol table is a list of symbols named by
    /// strings: what interning follows without looking.
    fn check_symbol_table(&self) -> Result<(), Fault> {
        for (reg, what) in [
            (Reg::Symtab, "the image's symbol table"),
            (Reg::Internals, "the image's internal symbol table"),
        ] {
            let tab = self.reg(reg);
            if tab.is_nil() {
                continue;
            }
            self.check_buckets(tab, what)?;
        }
        Ok(())
    }

    /// Each bucket of the symbol table `tab` is a list of symbols named
    /// by strings.
    fn check_buckets(&self, tab: Value, what: &str) -> Result<(), Fault> {
        for b in 0..self.heap.len(tab) {
            let bucket = self.heap.get(tab, b);
            self.check_list(bucket, &mut |vm, sym| {
                if vm.image_object(sym)? != obj::SYMBOL {
                    return Err(Fault::Bad("holds something other than a symbol".into()));
                }
                vm.check_fields(sym)?;
                let name = vm.heap.get(sym, 0);
                if vm.heap.tag(name) == obj::WIDENED {
                    vm.check_fields(name)?;
                }
                Ok(())
            })
            .map_err(|f| in_what(what, f))?;
        }
        Ok(())
    }

    /// The fields of the checked object `v` that the runtime follows
    /// without looking point to objects of the kinds it expects, each
    /// checked.
    fn check_fields(&self, v: Value) -> Result<(), Fault> {
        let t = self.image_object(v)?;
        // A chunk found damaged while looking is the error, whatever the
        // shape check concludes without it.
        let damage = std::cell::RefCell::new(None);
        let tag_of = |x: Value| -> Option<Tag> {
            if !x.is_ref() {
                return None;
            }
            match self.image_object(x) {
                Ok(t) => Some(t),
                Err(Fault::Chunk(m)) => {
                    damage.borrow_mut().get_or_insert(m);
                    None
                }
                Err(Fault::Bad(_)) => None,
            }
        };
        let r = valid_fields(t, self.heap.payload(v), &tag_of);
        if let Some(m) = damage.into_inner() {
            return Err(Fault::Chunk(m));
        }
        r.map_err(Fault::Bad)
    }

    /// The tag of the object `v` refers to, once found to lie inside the
    /// image's static section, in chunks whose checksums matched, with a
    /// header and payload shaped as this runtime makes objects. The bytes
    /// are checked before they are read, so damage here is an error, not
    /// an end of the process.
    pub(super) fn image_object(&self, v: Value) -> Result<Tag, Fault> {
        let (lo, hi) = self.heap.static_section();
        if !is_value(v.bits()) {
            return Err(Fault::Bad(format!("is {:#x}, which is no value", v.bits())));
        }
        if !v.is_ref() {
            let t = self.type_name(v);
            let a = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            return Err(Fault::Bad(format!(
                "is {a} {t} where an object of the image should be"
            )));
        }
        let off = v.offset();
        if off < lo || off >= hi {
            return Err(Fault::Bad(format!(
                "refers to offset {off}, outside the image"
            )));
        }
        self.heap
            .check_static_range(off, 8)
            .map_err(|e| self.damage_fault(e))?;
        let words = self.heap.len(v) as u64;
        if words > (hi - off) / 8 - 1 {
            return Err(Fault::Bad(format!(
                "refers to an object at offset {off} that runs past the end of the image"
            )));
        }
        self.heap
            .check_static_range(off, 8 * (words + 1))
            .map_err(|e| self.damage_fault(e))?;
        let t = self.heap.tag(v);
        valid_object(t, self.heap.payload(v))
            .map_err(|m| Fault::Bad(format!("refers to offset {off}: {m}")))?;
        Ok(t)
    }

    /// The fault for a chunk the heap found damaged.
    fn damage_fault(&self, e: HeapError) -> Fault {
        match (&e, &self.image.body) {
            (HeapError::Damaged { chunk }, Some(b)) => Fault::Chunk(b.error(*chunk).to_string()),
            _ => Fault::Bad(e.to_string()),
        }
    }

    /// Something the program does is about to be seen outside this
    /// process (the module's second invariant): while the image's body is
    /// still being checked, check it whole first (with the helper thread).
    ///
    /// # Errors
    /// `Abort::DamagedImage` if the body is damaged: the host's call ends
    /// with the error naming the file and the chunk, and so does every
    /// later one.
    #[inline(always)]
    pub fn before_effect(&mut self) -> VmResult<()> {
        if self.heap.static_check_pending() || self.image.damage.is_some() {
            self.settle_image()
        } else {
            Ok(())
        }
    }

    #[cold]
    #[inline(never)]
    fn settle_image(&mut self) -> VmResult<()> {
        if self.image.damage.is_none() {
            match self.heap.finish_static_check() {
                Ok(()) => {
                    self.image.body = None;
                    if let Some(mark) = self.image.mark.take() {
                        mark.record();
                    }
                    return Ok(());
                }
                Err(e) => self.note_image_damage(e),
            }
        }
        Err(self.damage_abort())
    }

    /// Keep the first damage found as the error every call ends with.
    fn note_image_damage(&mut self, e: HeapError) {
        if self.image.damage.is_none() {
            let m = match self.damage_fault(e) {
                Fault::Chunk(m) => m,
                Fault::Bad(m) => m,
            };
            self.image.damage = Some(m);
        }
    }

    fn damage_abort(&self) -> Exn {
        Exn::Abort(Abort::DamagedImage(
            self.image.damage.clone().unwrap_or_default(),
        ))
    }

    /// At a safepoint whose interrupt flag was set: the image checker's
    /// report of damage, as the error that ends the host's call.
    pub(crate) fn image_damage_found(&mut self) -> Option<Exn> {
        if self.image.damage.is_none() {
            let chunk = self.heap.static_damage()?;
            self.note_image_damage(HeapError::Damaged { chunk });
        }
        Some(self.damage_abort())
    }
}

/// A fault under the root `name`.
fn in_root(name: &str, f: Fault) -> Fault {
    in_what(&format!("the image's `{name}` root"), f)
}

/// A fault found in `what`.
fn in_what(what: &str, f: Fault) -> Fault {
    match f {
        Fault::Chunk(m) => Fault::Chunk(m),
        Fault::Bad(m) => Fault::Bad(format!("damaged image: {what} {m}")),
    }
}
