//! Saving the running system to an image and starting from one
//! (`doc/IMAGE-FORMAT.md`). The image holds everything reachable from the
//! symbol table, the console ports, the scheduler's symbols and the
//! toplevel procedure; threads, stacks and open descriptors are not saved
//! (a loaded image starts with only its initial thread).

use std::path::Path;

use imp_gc::Value;
use imp_images::{Image, ImageMeta, SectionKind};

#[doc(hidden)]
mod checked;
pub mod fuzz;
pub(crate) mod load;
mod shape;

use crate::obj;
use crate::prim::{PRIMITIVES, PrimDef, arg, def};
use crate::vm::{Exn, IoWait, Reg, Vm, VmResult};

impl SaveState {
    /// Let the next Scheme save write its file whatever the grants say
    /// (`Runtime::save_forked`), or take that back.
    pub(crate) fn set_permit(&mut self, on: bool) {
        self.permit = on;
    }
}

/// A save in progress (`Vm::save`): in the parent, whether its child
/// runs and what its fork cost; in the child, its file and report pipe.
#[derive(Default)]
pub struct SaveState {
    /// The next Scheme save may write its file whatever the grants say
    /// (set by the host's `Runtime::save_forked`, used up by the save).
    permit: bool,
    /// In a save child: the temporary file the parent made.
    tmp: Option<imp_images::TempFile>,
    /// In a save child: where to report phases and the result.
    pipe: Option<std::os::fd::OwnedFd>,
    /// The save keeps the other threads (`#:threads 'keep`): the image
    /// gets the scheduler's state as its `threads` root.
    keep_threads: bool,
    /// A save child is running (in the parent).
    running: bool,
    /// How long the last save's `fork` took (the parent's pause).
    last_fork_pause: std::time::Duration,
}

/// Registers saved as image roots (§4.1), by name.
const SAVED_REGS: &[(&str, Reg)] = &[
    ("symbol-table", Reg::Symtab),
    ("symbol-count", Reg::SymCount),
    ("output-port", Reg::OutParam),
    ("input-port", Reg::InParam),
    ("error-port", Reg::ErrParam),
    ("keywords", Reg::Keywords),
    ("internal-symbols", Reg::Internals),
];

#[doc(hidden)]
/// Root name of the procedure an image runs when it starts.
pub const TOPLEVEL_ROOT: &str = "toplevel";
#[doc(hidden)]
/// Root name of the restore hooks (a list of thunks).
pub const HOOKS_ROOT: &str = "restore-hooks";
#[doc(hidden)]
/// Root name of the kept threads (`#f` when the save ended them).
pub const THREADS_ROOT: &str = "threads";

/// What a save produced.
///
/// ```
/// let path = std::env::temp_dir().join(format!("doc-report-{}.img", std::process::id()));
/// let report = imp::Runtime::new().unwrap().save_image(&path, None).unwrap();
/// assert_eq!(report.image_bytes, std::fs::metadata(&path).unwrap().len());
/// assert!(report.objects > 1000);
/// assert_eq!(report.fields()[0], ("image-bytes", report.image_bytes as i64));
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct SaveReport {
    /// Image size in bytes.
    pub image_bytes: u64,
    /// Objects written.
    pub objects: usize,
    /// Time spent copying the heap (purify).
    pub purify: std::time::Duration,
    /// Time spent writing and syncing the file (`sync` included).
    pub write: std::time::Duration,
    /// Of `write`, the time spent waiting for the data to reach the disk.
    pub sync: std::time::Duration,
}

impl SaveReport {
    /// The report as `name value` pairs (integers; times in microseconds),
    /// as a save child sends it to its parent and `save-application`
    /// returns it.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("doc-fields-{}.img", std::process::id()));
    /// let report = imp::Runtime::new().unwrap().save_image(&path, None).unwrap();
    /// let names: Vec<&str> = report.fields().iter().map(|(n, _)| *n).collect();
    /// assert_eq!(names[..2], ["image-bytes", "objects"]);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn fields(&self) -> [(&'static str, i64); 5] {
        let us = |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        [
            (
                "image-bytes",
                i64::try_from(self.image_bytes).unwrap_or(i64::MAX),
            ),
            ("objects", i64::try_from(self.objects).unwrap_or(i64::MAX)),
            ("purify-us", us(self.purify)),
            ("write-us", us(self.write)),
            ("sync-us", us(self.sync)),
        ]
    }
}

/// Takes purify's pieces into an image file as they come (§5), on a
/// writer thread: purify fills the next piece while the last one is
/// checksummed and written, with two buffers going back and forth.
struct StreamSink<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    tmp: &'env imp_images::TempFile,
    meta: &'env ImageMeta,
    prefix: u64,
    path: &'env Path,
    /// Full pieces to the writer, and empty buffers back.
    full: Option<crossbeam_channel::Sender<(imp_gc::PieceBuf, usize)>>,
    empty: Option<crossbeam_channel::Receiver<imp_gc::PieceBuf>>,
    /// The writer: the stream once every piece is in it, or why not.
    writer: Option<std::thread::ScopedJoinHandle<'scope, WriterEnd<'env>>>,
}

/// What the writer thread ends with: the stream and the time it spent
/// writing, or the error that stopped it.
type WriterEnd<'env> = Result<(imp_images::ImageStream<'env>, std::time::Duration), String>;

impl<'scope, 'env> StreamSink<'scope, 'env> {
    /// Close the pipe and wait for the writer: the stream, or the error.
    fn finish(&mut self) -> WriterEnd<'env> {
        self.full = None;
        self.empty = None;
        match self.writer.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err("internal error: the image writer failed".into())),
            None => Err("internal error: nothing was written".into()),
        }
    }
}

impl imp_gc::SectionSink for StreamSink<'_, '_> {
    fn begin(&mut self, bytes: u64) -> Result<(), String> {
        let plan = imp_images::SectionPlan {
            kind: SectionKind::Static,
            region_offset: self.meta.static_region_offset,
            len: bytes,
        };
        let mut stream =
            imp_images::ImageStream::begin(self.tmp, self.meta, &[plan], self.prefix, self.path);
        let (full_tx, full_rx) = crossbeam_channel::bounded::<(imp_gc::PieceBuf, usize)>(1);
        let (empty_tx, empty_rx) = crossbeam_channel::bounded(2);
        empty_tx
            .send(imp_gc::piece_buffer()?)
            .map_err(|_| "internal error: the image writer's pipe")?;
        let writer = std::thread::Builder::new()
            .name("imp-image-write".into())
            .spawn_scoped(self.scope, move || {
                let mut busy = std::time::Duration::ZERO;
                for (buf, len) in full_rx {
                    let t = std::time::Instant::now();
                    stream.write(&buf[..len]).map_err(|e| e.to_string())?;
                    busy += t.elapsed();
                    // Purify may have stopped: a buffer not taken back is
                    // only dropped.
                    let _ = empty_tx.send(buf);
                }
                Ok((stream, busy))
            })
            .map_err(|e| format!("cannot start the image writer: {e}"))?;
        self.full = Some(full_tx);
        self.empty = Some(empty_rx);
        self.writer = Some(writer);
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut buf = imp_gc::piece_buffer()?;
        buf[..bytes.len()].copy_from_slice(bytes);
        self.write_buffer(&mut buf, bytes.len())
    }

    fn write_buffer(&mut self, buf: &mut imp_gc::PieceBuf, len: usize) -> Result<(), String> {
        let next = match &self.empty {
            Some(empty) => empty.recv().ok(),
            None => return Err("internal error: a piece before the section began".into()),
        };
        let sent = match (next, &self.full) {
            (Some(next), Some(full)) => full.send((std::mem::replace(buf, next), len)).is_ok(),
            _ => false,
        };
        if sent {
            Ok(())
        } else {
            // The writer stopped: its error says why.
            Err(self
                .finish()
                .err()
                .unwrap_or_else(|| "the image writer stopped".into()))
        }
    }
}

#[doc(hidden)]
/// The layout fingerprint (§3): FNV-1a 64 over a canonical description of
/// the object layout, the heap geometry, the primitive table and the
/// instruction set.
pub fn fingerprint(static_offset: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in layout_description(static_offset).bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The canonical text the fingerprint hashes.
fn layout_description(static_offset: u64) -> String {
    let mut d = String::from(
        "imp image layout 1; word 64; fixnum xx0 ref 001 imm 011; string len63+wide1 narrow8 wide32;",
    );
    for t in (1u8..=27).chain(0x80..=0x85) {
        let tag = imp_gc::Tag(t);
        d.push_str(&format!(
            "tag {t} {} {};",
            obj::tag_name(tag),
            if tag.is_traced() { "traced" } else { "raw" }
        ));
    }
    d.push_str(&format!(
        "code {}; error {}; thread {}; mutex {}; condvar {}; channel {}; socket {}; port 5; static at {static_offset};",
        obj::code::SIZE,
        obj::error::SIZE,
        crate::sched::field::SIZE,
        crate::sched::mutex::SIZE,
        crate::sched::condvar::SIZE,
        crate::sched::channel::SIZE,
        crate::prim::net::field::SIZE,
    ));
    for p in PRIMITIVES.iter() {
        d.push_str(p.name);
        d.push('\n');
    }
    // The instruction set: saved code runs only on the opcodes it was
    // compiled for.
    for op in (0..crate::vm::opcode::OP_COUNT).filter_map(crate::vm::opcode::Op::from_u8) {
        d.push_str(&format!("op {op:?};"));
    }
    d
}

#[doc(hidden)]
/// This build's primitive names, in id order.
pub fn primitive_names() -> Vec<&'static str> {
    PRIMITIVES.iter().map(|p| p.name).collect()
}

impl Vm {
    /// Write an image of this VM to `path`, with `toplevel` (a procedure or
    /// `#f`) and `hooks` (a list of thunks) as roots. The heap is only read.
    ///
    /// # Errors
    /// The reason, naming the file.
    pub fn save_image(
        &mut self,
        path: &Path,
        toplevel: Value,
        hooks: Value,
        executable: bool,
    ) -> Result<SaveReport, String> {
        // A save reads every object and writes a file: a large image's
        // body must be checked whole first (`load`), and a damaged one is
        // never saved again.
        if let Err(e) = self.before_effect() {
            return Err(match e {
                Exn::Abort(crate::vm::Abort::DamagedImage(m)) => m,
                _ => format!(
                    "{}: cannot save: the image this runtime started from is damaged",
                    path.display()
                ),
            });
        }
        let t0 = std::time::Instant::now();
        // The kept threads first: what the roots hold is read after.
        let (toplevel, hooks, kept) = if self.save.keep_threads {
            self.stack.push(toplevel);
            self.stack.push(hooks);
            let kept = self.kept_threads_root();
            let hooks = self.stack.pop().unwrap_or(Value::NIL);
            let toplevel = self.stack.pop().unwrap_or(Value::FALSE);
            let kept = kept
                .map_err(|_| format!("{}: out of memory recording the threads", path.display()))?;
            (toplevel, hooks, kept)
        } else {
            (toplevel, hooks, Value::FALSE)
        };
        let mut names: Vec<String> = SAVED_REGS.iter().map(|(n, _)| n.to_string()).collect();
        let mut roots: Vec<Value> = SAVED_REGS.iter().map(|(_, r)| self.reg(*r)).collect();
        names.push(TOPLEVEL_ROOT.into());
        roots.push(toplevel);
        names.push(HOOKS_ROOT.into());
        roots.push(hooks);
        names.push(THREADS_ROOT.into());
        roots.push(kept);
        let mut meta = ImageMeta {
            fingerprint: fingerprint(self.heap.static_offset()),
            static_region_offset: self.heap.static_offset(),
            roots: names.into_iter().map(|n| (n, 0)).collect(),
            primitives: primitive_names().iter().map(|s| s.to_string()).collect(),
            writer: format!("imp {}", env!("CARGO_PKG_VERSION")),
        };
        // In a save child the parent made the temporary file.
        let mut tmp = match self.save.tmp.take() {
            Some(t) => t,
            None => imp_images::TempFile::beside(path).map_err(|e| e.to_string())?,
        };
        let prefix = if executable {
            // The running program, without any image appended to it.
            let exe = std::env::current_exe().map_err(|e| {
                format!(
                    "{}: cannot find this program's executable: {e}",
                    path.display()
                )
            })?;
            let len = imp_images::executable_prefix_len(&exe).map_err(|e| e.to_string())?;
            imp_images::copy_executable(&mut tmp, &exe, len).map_err(|e| e.to_string())?
        } else {
            0
        };
        // The heap goes to the file as purify makes it, never whole in memory.
        let meta_at_begin = meta.clone();
        let heap = &self.heap;
        let (purified, written) = std::thread::scope(|scope| {
            let mut sink = StreamSink {
                scope,
                tmp: &tmp,
                meta: &meta_at_begin,
                prefix,
                path,
                full: None,
                empty: None,
                writer: None,
            };
            let purified = heap.purify_to(&roots, &mut sink).map(|p| (p, t0.elapsed()));
            let written = sink.finish();
            (purified, written)
        });
        // The writer's errors name the file already.
        let named = |e: String| {
            let file = format!("{}: ", path.display());
            if e.starts_with(&file) { e } else { file + &e }
        };
        let (purified, purify) = purified.map_err(|e| named(e.to_string()))?;
        let (stream, streaming) = written.map_err(named)?;
        for (r, v) in meta.roots.iter_mut().zip(&purified.roots) {
            r.1 = v.bits();
        }
        let t1 = std::time::Instant::now();
        let r = stream.finish(&meta).map_err(|e| e.to_string())?;
        tmp.commit().map_err(|e| e.to_string())?;
        let write = streaming + t1.elapsed();
        Ok(SaveReport {
            image_bytes: r.image_bytes,
            objects: purified.objects,
            purify,
            write,
            sync: r.sync,
        })
    }
}

/// `imp --image-info`: what an image's header and tables say, as text
/// (format version, writer, sections, roots), without loading it.
///
/// ```
/// let path = std::env::temp_dir().join(format!("doc-describe-{}.img", std::process::id()));
/// imp::Runtime::new().unwrap().save_image(&path, None).unwrap();
/// let text = imp::image::describe(&path).unwrap();
/// assert!(text.contains("fingerprint:") && text.contains("this imp's"));
/// assert!(imp::image::describe(std::path::Path::new("/nonexistent.img")).is_err());
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
/// Why the file is not an image this format can read.
pub fn describe(path: &Path) -> Result<String, String> {
    let img = Image::open_unchecked(path).map_err(|e| e.to_string())?;
    let mut out = String::new();
    out.push_str(&format!("image:       {}\n", img.path));
    out.push_str(&format!(
        "format:      {}.{}\n",
        imp_images::FORMAT_MAJOR,
        img.minor
    ));
    out.push_str(&format!("written by:  {}\n", img.writer));
    out.push_str(&format!(
        "saved at:    {} (seconds since the epoch)\n",
        img.saved_at
    ));
    out.push_str(&format!("start:       byte {} of the file\n", img.start));
    out.push_str(&format!("length:      {} bytes\n", img.len));
    let here = fingerprint(img.static_region_offset);
    out.push_str(&format!(
        "fingerprint: {:016x} ({})\n",
        img.fingerprint,
        if here == img.fingerprint {
            "this imp's"
        } else {
            "not this imp's"
        }
    ));
    out.push_str("sections:\n");
    for s in &img.sections {
        out.push_str(&format!(
            "  {:?}: {} bytes at file offset {}, mapped at region offset {:#x}\n",
            s.kind, s.len, s.file_offset, s.region_offset
        ));
    }
    out.push_str("roots:\n");
    for (n, v) in &img.roots {
        out.push_str(&format!("  {n}: {v:#x}\n"));
    }
    out.push_str(&format!("primitives:  {}\n", img.primitives.len()));
    Ok(out)
}

/// `imp --check-image`: every check a load makes, then the body's
/// checksum and every object's structure.
///
/// ```
/// let path = std::env::temp_dir().join(format!("doc-check-{}.img", std::process::id()));
/// imp::Runtime::new().unwrap().save_image(&path, None).unwrap();
/// assert!(imp::image::check(&path).unwrap().contains(": ok ("));
/// // One flipped byte in the heap's section is found.
/// let mut bytes = std::fs::read(&path).unwrap();
/// let n = bytes.len();
/// bytes[n / 2] ^= 0x40;
/// std::fs::write(&path, &bytes).unwrap();
/// assert!(imp::image::check(&path).is_err());
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
/// What is wrong, naming the file.
pub fn check(path: &Path) -> Result<String, String> {
    let config = imp_gc::HeapConfig::default();
    let vm = Vm::new(config)?;
    let img = Image::open_unchecked(path).map_err(|e| e.to_string())?;
    img.check_build(fingerprint(vm.heap.static_offset()), &primitive_names())
        .map_err(|e| e.to_string())?;
    img.verify_body().map_err(|e| e.to_string())?;
    let (_, _, _, objects) = vm.load_image(&img, true, true)?;
    Ok(format!(
        "{}: ok ({} objects, {} bytes)\n",
        img.path, objects, img.len
    ))
}

// ---- primitives -------------------------------------------------------------------------

#[doc(hidden)]
/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%save-image", 4, 4, save_image_prim),
    def("%save-fork", 2, 2, save_fork),
    def("%save-child-phase", 1, 1, save_child_phase),
    def("%save-child-finish", 4, 4, save_child_finish),
    def("%save-wait", 1, 1, save_wait),
    def("%save-child-fail", 1, 1, save_child_fail),
    def("%save-keep-threads!", 0, 0, save_keep_threads),
    def("image-threads-kept?", 0, 0, image_threads_kept),
];

/// `(%save-keep-threads!)`: the save about to be written (in the save
/// child, or in this process before it exits) keeps the other threads.
fn save_keep_threads(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    vm.save.keep_threads = true;
    Ok(Value::UNSPECIFIED)
}

/// `(image-threads-kept?)`: did this process start from an image that
/// kept its threads (`save-application`'s `#:threads 'keep`)?
fn image_threads_kept(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::bool(vm.image.threads_kept))
}

fn path_arg(vm: &mut Vm, base: usize) -> VmResult<std::path::PathBuf> {
    let p = vm.typed_arg(
        "save-application",
        base,
        0,
        obj::STRING,
        "a file name string",
    )?;
    Ok(std::path::PathBuf::from(vm.string_text(p)))
}

/// Refuse to start a save unless the host granted writing files (or is
/// itself saving: `Vm::save_permit`), and inside a save child (a fork
/// handler's child thunk), which must not start a save of its own.
fn require_save_grant(vm: &mut Vm) -> VmResult<()> {
    if vm.save.pipe.is_some() {
        return Err(vm.error(
            "save-application: cannot start a save inside a save child (a fork handler's child thunk)",
            &[],
        ));
    }
    if std::mem::take(&mut vm.save.permit) {
        return Ok(());
    }
    vm.require("save-application", crate::vm::Grant::WriteFiles)
}

/// `(%save-image path toplevel hooks executable?)`: save in this process (the heap is
/// only read); the image's size in bytes.
fn save_image_prim(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let path = path_arg(vm, base)?;
    require_save_grant(vm)?;
    let (top, hooks) = (arg(vm, base, 1), arg(vm, base, 2));
    let exe = arg(vm, base, 3).is_true();
    let _ = std::io::Write::flush(&mut vm.out);
    match vm.save_image(&path, top, hooks, exe) {
        Ok(r) => Ok(Value::fix(r.image_bytes as i64)),
        Err(m) => Err(vm.error(format!("save-application: {m}"), &[])),
    }
}

/// `(%save-fork path save-timeout)`: fork a save child. In the child,
/// returns `child`; in the parent, a job number to wait on with
/// `%save-wait`. The temporary file is made here, before forking, so an
/// unwritable destination is reported at once.
fn save_fork(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let path = path_arg(vm, base)?;
    require_save_grant(vm)?;
    vm.before_effect()?;
    let timeout = arg(vm, base, 1);
    let secs = if let Some(n) = timeout.as_fixnum() {
        n as f64
    } else if vm.is(timeout, obj::FLONUM) {
        vm.flonum_value(timeout)
    } else {
        f64::NAN
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(vm.type_error(
            "save-application",
            "a finite, positive number of seconds for #:save-timeout",
            timeout,
        ));
    }
    if vm.save.running {
        return Err(vm.error("save-application: a save is already running", &[]));
    }
    let tmp = imp_images::TempFile::beside(&path)
        .map_err(|e| vm.error(format!("save-application: {e}"), &[]))?;
    let (r, w) = nix::unistd::pipe()
        .map_err(|e| vm.error(format!("save-application: cannot make a pipe: {e}"), &[]))?;
    let t0 = std::time::Instant::now();
    let forked = vm.fork_process();
    let pause = t0.elapsed();
    match forked {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(r);
            vm.save.tmp = Some(tmp);
            vm.save.pipe = Some(w);
            // Fence the parent's descriptors; ports made from now on are
            // the child's own.
            vm.os.fenced = true;
            // Out of the terminal's foreground group: a Ctrl-C meant for
            // the program (or its REPL) does not reach the save.
            let _ = nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0));
            // Die with the parent; be the first the OOM killer picks.
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            if nix::unistd::getppid().as_raw() == 1 {
                crate::fork::exit_child(1);
            }
            let _ = std::fs::write("/proc/self/oom_score_adj", "800");
            vm.intern("child")
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(w);
            let _ = nix::fcntl::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&r),
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            );
            vm.save.last_fork_pause = pause;
            vm.save.running = true;
            vm.heap.set_defer_major(true);
            let d = std::time::Duration::from_secs_f64(secs.min(1e9));
            let job = vm.os.watch_save_child(child, r, d, tmp);
            Ok(Value::fix(job as i64))
        }
        Err(nix::errno::Errno::ENOMEM) => Err(vm.error(
            "save-application: fork failed for lack of memory (see the vm.overcommit_memory setting, or save with #:fork #f)",
            &[],
        )),
        Err(e) => Err(vm.error(format!("save-application: fork failed: {e}"), &[])),
    }
}

/// Report a phase to the parent (save child only).
fn child_report(vm: &mut Vm, line: &str) {
    if let Some(w) = &vm.save.pipe {
        let _ = nix::unistd::write(w, format!("{line}\n").as_bytes());
    }
}

/// `(%save-child-phase name)`: tell the parent which phase the child is in.
fn save_child_phase(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let p = arg(vm, base, 0);
    let name = if vm.is(p, obj::SYMBOL) {
        vm.symbol_name(p)
    } else {
        "unknown".into()
    };
    child_report(vm, &name);
    Ok(Value::UNSPECIFIED)
}

/// `(%save-child-finish path toplevel hooks executable?)`: in the save child, purify
/// and write, report, and leave with `_exit`. Never returns.
fn save_child_finish(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let path = path_arg(vm, base)?;
    if vm.save.pipe.is_none() {
        return Err(vm.error("%save-child-finish: not in a save child", &[]));
    }
    let (top, hooks) = (arg(vm, base, 1), arg(vm, base, 2));
    let exe = arg(vm, base, 3).is_true();
    child_report(vm, "purify and write");
    match vm.save_image(&path, top, hooks, exe) {
        Ok(r) => {
            let mut line = String::from("report");
            for (k, v) in r.fields() {
                line.push_str(&format!(" {k} {v}"));
            }
            let (us, switches) = vm.sched.terminate_figures();
            line.push_str(&format!(" terminate-us {us} terminate-switches {switches}"));
            child_report(vm, &line);
            child_report(vm, "done");
            crate::fork::exit_child(0)
        }
        Err(m) => {
            child_report(vm, &format!("error: {m}"));
            crate::fork::exit_child(1)
        }
    }
}

/// `(%save-wait job)`: wait for the save child; a description of the save,
/// or an error naming the phase where it failed.
fn save_wait(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let j = arg(vm, base, 0);
    let Some(job) = j.as_fixnum().filter(|&j| j >= 0) else {
        return Err(vm.type_error("save-application", "a save job", j));
    };
    match vm.take_job_result(job as u64) {
        Some(v) => {
            vm.save.running = false;
            vm.heap.set_defer_major(false);
            if !vm.is(v, obj::STRING) {
                // The child's report, with the parent's pause in front.
                let pause = i64::try_from(vm.save.last_fork_pause.as_micros()).unwrap_or(i64::MAX);
                vm.stack.push(v);
                let e = vm
                    .intern("fork-pause-us")
                    .and_then(|k| vm.cons(k, Value::fix(pause)));
                let v = vm.stack.pop().unwrap_or(Value::NIL);
                vm.cons(e?, v)
            } else {
                let text = vm.string_text(v);
                if text.starts_with("save-application:") {
                    Err(vm.error(text, &[]))
                } else {
                    Err(vm.error(format!("save-application: {text}"), &[]))
                }
            }
        }
        None => Err(Exn::Block {
            wait: IoWait::Job(job as u64),
            argc: 0,
            tail: false,
        }),
    }
}

/// `(%save-child-fail condition)`: in a save child, report the condition
/// as the save's error and leave. Never returns.
fn save_child_fail(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    if vm.save.pipe.is_none() {
        return Err(vm.error("%save-child-fail: not in a save child", &[]));
    }
    let c = arg(vm, base, 0);
    let text = crate::report::condition_report(vm, c);
    let first = text.lines().next().unwrap_or("an error");
    let first = first.strip_prefix("error: ").unwrap_or(first).to_string();
    child_report(vm, &format!("error: {first}"));
    crate::fork::exit_child(1)
}

#[cfg(test)]
mod fingerprint_tests {
    #[test]
    fn the_fingerprint_covers_shapes_primitives_and_every_instruction() {
        let d = super::layout_description(1 << 20);
        assert!(d.contains("tag 3 ") && d.contains("tag 132 "), "{d}");
        assert!(
            d.contains("car\n") && d.contains("static at 1048576;"),
            "{d}"
        );
        let ops = (0..crate::vm::opcode::OP_COUNT).filter_map(crate::vm::opcode::Op::from_u8);
        for op in ops {
            assert!(d.contains(&format!("op {op:?};")), "{op:?} missing");
        }
        // The description is what the fingerprint hashes.
        assert_ne!(super::fingerprint(1 << 20), super::fingerprint(2 << 20));
    }
}
