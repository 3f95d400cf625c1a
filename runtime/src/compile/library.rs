//! R7RS libraries: `define-library`, `import`, `include`, and the
//! environments `environment` makes.
//!
//! Globals stay one table of symbols (ARCHITECTURE.md invariant 1). A library's own
//! top-level names are globals under a mangled name, `\u{2}KEY\u{2}name`
//! (KEY is the library's name as written, `(foo bar)`), so two libraries'
//! private `helper`s never meet; a library's exports map each external
//! name to such a global (or to a global it imported). Every form is
//! expanded in an `Env`, which says what a free identifier names:
//!
//! - in a library body: the library's own definition of it, else what an
//!   import set gives it, else the library's own (not yet defined) global;
//! - at the top level (programs, the REPL, `load`): what an imported user
//!   library gives it, else the plain global of that name;
//! - in an environment from `environment`: what its import sets give it,
//!   else nothing (an unbound variable); it cannot be defined into.
//!
//! The standard libraries (`(scheme base)`, …, `(srfi 69)`, `(imp)`) all
//! export every built-in: the names bound when boot finished.
//!
//! The heap holds the truth, so images keep it: `%libraries` is an alist
//! from KEY (a string) to `#(exports imports own)` — exports an alist of
//! symbols `(external . global)`, imports the import-set data, own the
//! names the library defines; `%top-imports` lists the import sets the top
//! level imported; `%builtin-names` is a vector of the built-in names.
//! `Vm::libs` caches them parsed; a process started from an image begins
//! with an empty cache and rebuilds it from the heap.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use imp_gc::Value;

use super::alias;
use super::expand::{Expander, is_special_form, list_items};
use crate::obj;
use crate::reader::{Datum, DatumKind, Number};
use crate::vm::{Vm, VmResult};

/// Separates a library key from a name in a mangled global.
const MANGLE: char = '\u{2}';

/// The standard library names imp provides (after `scheme` or `srfi`).
const SCHEME_LIBS: &[&str] = &[
    "base",
    "case-lambda",
    "char",
    "complex",
    "cxr",
    "eval",
    "file",
    "inexact",
    "lazy",
    "load",
    "process-context",
    "read",
    "repl",
    "time",
    "write",
    "r5rs",
];
/// The SRFIs imp provides (all or, for 1, the commonly used part).
const SRFIS: &[i64] = &[
    0, 1, 2, 6, 8, 9, 11, 13, 14, 18, 19, 23, 26, 27, 28, 30, 39, 41, 62, 64, 69, 87, 95, 98, 106,
    111, 115, 117, 125, 128, 130, 132, 133, 143, 151, 158, 170, 180,
];

/// What an import set makes visible.
#[derive(Debug)]
pub enum ImportSet {
    /// A standard library: every built-in.
    Builtin,
    /// `null-environment`: the built-in syntactic keywords only.
    Syntax,
    /// A user library, by key.
    Library(String),
    /// `(only set name ...)`.
    Only(Box<ImportSet>, Vec<String>),
    /// `(except set name ...)`.
    Except(Box<ImportSet>, Vec<String>),
    /// `(prefix set prefix)`.
    Prefix(Box<ImportSet>, String),
    /// `(from . to)` pairs.
    Rename(Box<ImportSet>, Vec<(String, String)>),
}

/// Where free identifiers are resolved.
#[derive(Debug)]
pub struct Env {
    /// The library whose body this is.
    pub own: Option<String>,
    /// What it imported, searched in order.
    pub imports: Vec<ImportSet>,
    /// Made by `environment`: nothing outside the imports, no definitions.
    pub closed: bool,
}

/// A library as the expander uses it.
#[derive(Debug)]
pub struct Lib {
    exports: HashMap<String, String>,
    env: Rc<Env>,
    own: RefCell<HashSet<String>>,
}

/// The parsed form of the heap's library state (see the module comment).
#[derive(Default)]
pub struct Cache {
    builtins: Option<HashSet<String>>,
    libs: HashMap<String, Rc<Lib>>,
    top: Option<Rc<Env>>,
    loading: Vec<String>,
}

/// The global that library `key`'s own `name` lives in.
pub fn mangle(key: &str, name: &str) -> String {
    format!("{MANGLE}{key}{MANGLE}{name}")
}

/// A global's name as the user wrote it (without its library).
pub fn display_name(s: &str) -> &str {
    match s.strip_prefix(MANGLE).and_then(|r| r.split_once(MANGLE)) {
        Some((_, name)) => name,
        None => s,
    }
}

/// Whether a global name is some library's private one.
pub fn is_mangled(s: &str) -> bool {
    s.starts_with(MANGLE)
}

/// `(foo bar 1)` → its key, the text `(foo bar 1)`.
pub fn key_of(d: &Datum) -> Option<String> {
    let items = list_items(d)?;
    if items.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for i in items {
        match &i.kind {
            DatumKind::Sym(s) => parts.push(alias::base(s).to_string()),
            DatumKind::Num(Number::Fixnum(n)) if *n >= 0 => parts.push(n.to_string()),
            _ => return None,
        }
    }
    Some(format!("({})", parts.join(" ")))
}

/// Is `key` one of the standard libraries?
pub fn is_standard(key: &str) -> bool {
    let inner = key.trim_start_matches('(').trim_end_matches(')');
    let parts: Vec<&str> = inner.split(' ').collect();
    match parts.as_slice() {
        ["scheme", lib] => SCHEME_LIBS.contains(lib),
        ["srfi", n] => n.parse::<i64>().is_ok_and(|n| SRFIS.contains(&n)),
        ["imp"] | ["imp", _] => true,
        _ => false,
    }
}

/// Record every name bound now as a built-in (the end of boot).
pub fn record_builtins(vm: &mut Vm) -> VmResult<()> {
    let base = vm.stack.len();
    for s in vm.all_symbols() {
        if vm.global_value(s) != Value::UNDEFINED {
            vm.stack.push(s);
        }
    }
    let v = vm.vector_from_stack(base)?;
    vm.define_global("%builtin-names", v)?;
    vm.libs.builtins = None;
    Ok(())
}

/// The value of one of the library system's own globals (`%libraries`, …).
fn global_named(vm: &mut Vm, name: &str) -> VmResult<Value> {
    vm.internal_global(name)
}

fn ensure_builtins(vm: &mut Vm) -> VmResult<()> {
    if vm.libs.builtins.is_some() {
        return Ok(());
    }
    let v = global_named(vm, "%builtin-names")?;
    let mut set = HashSet::new();
    if vm.is(v, obj::VECTOR) {
        for i in 0..vm.heap.len(v) {
            let s = vm.heap.get(v, i);
            if vm.is(s, obj::SYMBOL) {
                set.insert(vm.symbol_name(s));
            }
        }
        vm.libs.builtins = Some(set);
    }
    Ok(())
}

fn is_builtin(vm: &Vm, name: &str) -> bool {
    // The host's native functions count as built in: libraries see them.
    if vm.host.natives.contains(name) {
        return true;
    }
    match &vm.libs.builtins {
        Some(set) => set.contains(name),
        // During boot: whatever is bound.
        None => vm
            .symbol_lookup(name)
            .is_some_and(|s| vm.global_value(s) != Value::UNDEFINED),
    }
}

/// Whether `name` is a plain global the user defined (bound, not built in).
fn user_defined(vm: &Vm, name: &str) -> bool {
    vm.symbol_lookup(name)
        .is_some_and(|s| vm.global_value(s) != Value::UNDEFINED)
        && !is_builtin(vm, name)
}

impl ImportSet {
    /// The global an import set gives `name`, if it gives it one.
    fn resolve(&self, vm: &Vm, name: &str) -> Option<String> {
        match self {
            ImportSet::Builtin => {
                (is_builtin(vm, name) || is_special_form(name)).then(|| name.to_string())
            }
            ImportSet::Syntax => {
                let macro_ = vm
                    .symbol_lookup(name)
                    .is_some_and(|s| vm.is(vm.global_value(s), obj::MACRO));
                (is_special_form(name) || (macro_ && is_builtin(vm, name)))
                    .then(|| name.to_string())
            }
            ImportSet::Library(key) => vm.libs.libs.get(key)?.exports.get(name).cloned(),
            ImportSet::Only(s, names) => {
                if names.iter().any(|n| n == name) {
                    s.resolve(vm, name)
                } else {
                    None
                }
            }
            ImportSet::Except(s, names) => {
                if names.iter().any(|n| n == name) {
                    None
                } else {
                    s.resolve(vm, name)
                }
            }
            ImportSet::Prefix(s, p) => s.resolve(vm, name.strip_prefix(p.as_str())?),
            ImportSet::Rename(s, pairs) => {
                if let Some((from, _)) = pairs.iter().find(|(_, to)| to == name) {
                    return s.resolve(vm, from);
                }
                if pairs.iter().any(|(from, _)| from == name) {
                    return None;
                }
                s.resolve(vm, name)
            }
        }
    }
}

/// The global a free identifier `name` names in `env`.
pub fn resolve_in(vm: &Vm, env: &Env, name: &str) -> String {
    if let Some(key) = &env.own
        && let Some(lib) = vm.libs.libs.get(key)
        && lib.own.borrow().contains(name)
    {
        return mangle(key, name);
    }
    for s in &env.imports {
        if let Some(g) = s.resolve(vm, name) {
            // At the top level, a name the user defined there wins over
            // an import (a REPL redefinition takes effect).
            if env.own.is_none() && !env.closed && g != name && user_defined(vm, name) {
                return name.to_string();
            }
            return g;
        }
    }
    match &env.own {
        _ if is_special_form(name) => name.to_string(),
        Some(key) => mangle(key, name),
        None if env.closed => mangle("environment", name),
        None => name.to_string(),
    }
}

/// The global a top-level definition of `name` in `env` binds.
pub fn define_target(
    x: &mut Expander,
    env: &Env,
    name: &str,
    pos: crate::reader::Pos,
) -> VmResult<String> {
    if env.closed {
        return Err(x.err(
            pos,
            format!("cannot define `{name}` in an environment made by `environment`"),
        ));
    }
    match &env.own {
        Some(key) => {
            if let Some(lib) = x.vm.libs.libs.get(key) {
                lib.own.borrow_mut().insert(name.to_string());
            }
            Ok(mangle(key, name))
        }
        None => Ok(name.to_string()),
    }
}

/// The top level's environment: the plain globals and what was imported.
pub fn top_env(x: &mut Expander) -> VmResult<Rc<Env>> {
    ensure_builtins(x.vm)?;
    if let Some(e) = &x.vm.libs.top {
        return Ok(e.clone());
    }
    let l = global_named(x.vm, "%top-imports")?;
    let mut imports = Vec::new();
    for d in data_list(x, l)? {
        imports.push(parse_import_set(x, &d)?);
    }
    let env = Rc::new(Env {
        own: None,
        imports,
        closed: false,
    });
    x.vm.libs.top = Some(env.clone());
    Ok(env)
}

/// The environment of an `ENVIRONMENT` object (for `eval`); `None` for the
/// interaction environment.
pub fn env_of_object(x: &mut Expander, e: Value) -> VmResult<Option<Rc<Env>>> {
    ensure_builtins(x.vm)?;
    let spec = x.vm.heap.get(e, 0);
    if spec == Value::FALSE {
        return Ok(None);
    }
    let imports = if spec == Value::fix(0) {
        vec![ImportSet::Syntax]
    } else {
        let mut v = Vec::new();
        for d in data_list(x, spec)? {
            v.push(parse_import_set(x, &d)?);
        }
        v
    };
    Ok(Some(Rc::new(Env {
        own: None,
        imports,
        closed: true,
    })))
}

/// The elements of a heap list as datums.
fn data_list(x: &mut Expander, mut l: Value) -> VmResult<Vec<Datum>> {
    let mut out = Vec::new();
    while x.vm.is_pair(l) {
        let item = x.vm.car(l);
        out.push(super::value_to_datum(x.vm, item, 0)?);
        l = x.vm.cdr(l);
    }
    Ok(out)
}

fn names_of(x: &mut Expander, items: &[Datum]) -> VmResult<Vec<String>> {
    let mut out = Vec::new();
    for i in items {
        match i.as_sym() {
            Some(s) => out.push(alias::base(s).to_string()),
            None => return Err(x.err(i.pos, "bad import set: expected an identifier")),
        }
    }
    Ok(out)
}

/// Parse an import set, loading the user libraries it names.
pub fn parse_import_set(x: &mut Expander, d: &Datum) -> VmResult<ImportSet> {
    let items = list_items(d).unwrap_or(&[]);
    let head = items.first().and_then(|h| h.as_sym()).map(alias::base);
    let inner_is_set = items.get(1).is_some_and(|i| list_items(i).is_some());
    match head {
        Some("only") if inner_is_set => {
            let s = parse_import_set(x, &items[1])?;
            Ok(ImportSet::Only(Box::new(s), names_of(x, &items[2..])?))
        }
        Some("except") if inner_is_set => {
            let s = parse_import_set(x, &items[1])?;
            Ok(ImportSet::Except(Box::new(s), names_of(x, &items[2..])?))
        }
        Some("prefix") if inner_is_set && items.len() == 3 => {
            let s = parse_import_set(x, &items[1])?;
            let p = names_of(x, &items[2..])?.remove(0);
            Ok(ImportSet::Prefix(Box::new(s), p))
        }
        Some("rename") if inner_is_set => {
            let s = parse_import_set(x, &items[1])?;
            let mut pairs = Vec::new();
            for r in &items[2..] {
                let p = list_items(r).map(|p| names_of(x, p)).transpose()?;
                match p.as_deref() {
                    Some([from, to]) => pairs.push((from.clone(), to.clone())),
                    _ => return Err(x.err(r.pos, "bad `rename` import set: expected (from to)")),
                }
            }
            Ok(ImportSet::Rename(Box::new(s), pairs))
        }
        _ => {
            let Some(key) = key_of(d) else {
                return Err(x.err(
                    d.pos,
                    format!(
                        "bad import set {}",
                        crate::reader::write_datum(&alias::strip(d))
                    ),
                ));
            };
            if is_standard(&key) {
                return Ok(ImportSet::Builtin);
            }
            ensure_library(x, &key, d)?;
            Ok(ImportSet::Library(key))
        }
    }
}

/// The library `key`, from the cache or rebuilt from the heap.
fn lib(x: &mut Expander, key: &str) -> VmResult<Option<Rc<Lib>>> {
    if let Some(l) = x.vm.libs.libs.get(key) {
        return Ok(Some(l.clone()));
    }
    let mut reg = global_named(x.vm, "%libraries")?;
    let mut entry = None;
    while x.vm.is_pair(reg) {
        let e = x.vm.car(reg);
        let k = x.vm.car(e);
        if x.vm.is(k, obj::STRING) && x.vm.string_text(k) == key {
            entry = Some(x.vm.cdr(e));
            break;
        }
        reg = x.vm.cdr(reg);
    }
    let Some(entry) = entry else {
        return Ok(None);
    };
    let mut exports = HashMap::new();
    let mut l = x.vm.heap.get(entry, 0);
    while x.vm.is_pair(l) {
        let p = x.vm.car(l);
        let (a, b) = (x.vm.car(p), x.vm.cdr(p));
        exports.insert(x.vm.symbol_name(a), x.vm.symbol_name(b));
        l = x.vm.cdr(l);
    }
    let mut own = HashSet::new();
    let mut l = x.vm.heap.get(entry, 2);
    while x.vm.is_pair(l) {
        own.insert(x.vm.symbol_name(x.vm.car(l)));
        l = x.vm.cdr(l);
    }
    // Keep the entry reachable while its imports are parsed (they may load).
    let h = x.vm.heap.push_root(entry);
    let imports_data = x.vm.heap.get(entry, 1);
    let data = data_list(x, imports_data)?;
    let _ = h;
    let mut imports = Vec::new();
    for d in &data {
        imports.push(parse_import_set(x, d)?);
    }
    let lib = Rc::new(Lib {
        exports,
        env: Rc::new(Env {
            own: Some(key.to_string()),
            imports,
            closed: false,
        }),
        own: RefCell::new(own),
    });
    x.vm.libs.libs.insert(key.to_string(), lib.clone());
    Ok(Some(lib))
}

/// The environment of library `key` (for a macro it defined).
pub fn lib_env(x: &mut Expander, key: &str) -> VmResult<Option<Rc<Env>>> {
    Ok(lib(x, key)?.map(|l| l.env.clone()))
}

/// Directories searched for library files, in order.
fn search_dirs(x: &Expander) -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    // The directory of the file being compiled (not of `<command line>`
    // and its kin, which are no files).
    if let Some(f) = &x.file
        && !f.starts_with('<')
        && let Some(p) = std::path::Path::new(f).parent()
        && !p.as_os_str().is_empty()
    {
        dirs.push(p.to_path_buf());
    }
    dirs.push(std::path::PathBuf::from("."));
    if let Ok(p) = std::env::var("IMP_LIBRARY_PATH") {
        dirs.extend(
            p.split(':')
                .filter(|s| !s.is_empty())
                .map(std::path::PathBuf::from),
        );
    }
    dirs
}

/// The file that holds library `d`, if one is on the search path.
fn find_library_file(x: &Expander, d: &Datum) -> Option<std::path::PathBuf> {
    if !x.vm.grants.read_files {
        return None;
    }
    let key = key_of(d)?;
    let rel: Vec<&str> = key
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(' ')
        .collect();
    let rel = rel.join("/");
    for dir in search_dirs(x) {
        for ext in ["sld", "scm"] {
            let p = dir.join(format!("{rel}.{ext}"));
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Whether `(library name)` in `cond-expand` holds.
pub fn library_available(x: &mut Expander, d: &Datum) -> VmResult<bool> {
    let Some(key) = key_of(d) else {
        return Ok(false);
    };
    Ok(is_standard(&key) || lib(x, &key)?.is_some() || find_library_file(x, d).is_some())
}

/// Make sure library `key` is defined, loading its file if need be.
fn ensure_library(x: &mut Expander, key: &str, d: &Datum) -> VmResult<()> {
    if lib(x, key)?.is_some() {
        return Ok(());
    }
    if x.vm.libs.loading.iter().any(|k| k == key) {
        return Err(x.err(d.pos, format!("library {key} imports itself")));
    }
    if !x.vm.grants.read_files {
        return Err(x.vm.error_kind(
            "file-error",
            format!(
                "import: library {key} is not defined in this engine, and reading library files is not granted to it"
            ),
            &[],
        ));
    }
    let Some(path) = find_library_file(x, d) else {
        let mut dirs: Vec<String> = Vec::new();
        for p in search_dirs(x) {
            let p = format!("`{}`", p.display());
            if !dirs.contains(&p) {
                dirs.push(p);
            }
        }
        return Err(x.err(
            d.pos,
            format!(
                "library {key} not found (looked for {}.sld in {}; more directories go in IMP_LIBRARY_PATH)",
                key.trim_start_matches('(').trim_end_matches(')').replace(' ', "/"),
                dirs.join(", ")
            ),
        ));
    };
    let path_s = path.display().to_string();
    let text = x.vm.read_source_file("import", &path)?;
    x.vm.libs.loading.push(key.to_string());
    let r = run_file_forms(x.vm, &text, &path_s);
    x.vm.libs.loading.retain(|k| k != key);
    r?;
    if lib(x, key)?.is_none() {
        return Err(x.err(d.pos, format!("`{path_s}` does not define library {key}")));
    }
    Ok(())
}

/// Compile and run every form of a file, from inside the expander.
fn run_file_forms(vm: &mut Vm, text: &str, path: &str) -> VmResult<()> {
    let mut reader = crate::reader::Reader::new(text);
    loop {
        let form = match reader.read() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(vm.error_kind(
                    "read-error",
                    format!("{path}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
                    &[],
                ));
            }
        };
        let thunk = super::compile_toplevel(vm, &form, Some(path))?;
        let base = vm.stack.len();
        vm.stack.push(thunk);
        let r = vm.call_from_rust(base);
        vm.stack.truncate(base);
        r?;
    }
}

/// The forms of the files an `include` names, read relative to the file
/// being compiled (or the working directory).
pub fn include_forms(x: &mut Expander, items: &[Datum], fold_case: bool) -> VmResult<Vec<Datum>> {
    let dir = x
        .file
        .as_ref()
        .and_then(|f| std::path::Path::new(f).parent().map(|p| p.to_path_buf()));
    let mut forms = Vec::new();
    for f in items {
        let DatumKind::Str(name) = &f.kind else {
            return Err(x.err(f.pos, "bad `include`: expected file name strings"));
        };
        let path = match &dir {
            Some(d) if !std::path::Path::new(name).is_absolute() => d.join(name),
            _ => std::path::PathBuf::from(name),
        };
        let text = x.vm.read_source_file("include", &path)?;
        let path_s = path.display().to_string();
        let mut reader = crate::reader::Reader::new(&text).with_fold_case(fold_case);
        loop {
            match reader.read() {
                Ok(Some(d)) => {
                    super::check_reserved(x.vm, &d)?;
                    forms.push(d);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(x.vm.error_kind(
                        "read-error",
                        format!("{path_s}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
                        &[],
                    ));
                }
            }
        }
    }
    Ok(forms)
}

/// Names a library body defines at its top level, found before expanding
/// it so that a definition shadows a built-in of the same name even where
/// it is used before it is defined.
fn prescan(forms: &[Datum], out: &mut HashSet<String>) {
    for f in forms {
        let Some(items) = list_items(f) else { continue };
        let head = items.first().and_then(|h| h.as_sym()).map(alias::base);
        let name_of = |d: &Datum| -> Option<String> {
            match &d.kind {
                DatumKind::Sym(s) => Some(alias::base(s).to_string()),
                DatumKind::List(i, _) => i
                    .first()
                    .and_then(|h| h.as_sym())
                    .map(|s| alias::base(s).to_string()),
                _ => None,
            }
        };
        match head {
            Some("define" | "define-syntax" | "define-macro") => {
                if let Some(n) = items.get(1).and_then(name_of) {
                    out.insert(n);
                }
            }
            Some("define-values") => {
                if let Some(DatumKind::List(i, t)) = items.get(1).map(|d| &d.kind) {
                    for d in i.iter().chain(t.iter().map(|b| &**b)) {
                        if let Some(s) = d.as_sym() {
                            out.insert(alias::base(s).to_string());
                        }
                    }
                }
            }
            Some("define-record-type") => {
                if let Some(n) = items.get(1).and_then(name_of) {
                    out.insert(n);
                }
                if let Some(c) = items.get(2).and_then(name_of) {
                    out.insert(c);
                }
                if let Some(p) = items.get(3).and_then(|d| d.as_sym()) {
                    out.insert(alias::base(p).to_string());
                }
                for fs in items.iter().skip(4) {
                    for a in list_items(fs).unwrap_or(&[]).iter().skip(1) {
                        if let Some(s) = a.as_sym() {
                            out.insert(alias::base(s).to_string());
                        }
                    }
                }
            }
            Some("begin") => prescan(&items[1..], out),
            _ => {}
        }
    }
}

/// A library definition's parts, its declarations flattened.
struct LibraryDecls {
    exports: Vec<(String, String)>,
    imports: Vec<Datum>,
    body: Vec<Datum>,
}

fn collect_decls(x: &mut Expander, decls: &[Datum], out: &mut LibraryDecls) -> VmResult<()> {
    for d in decls {
        let items = list_items(d).unwrap_or(&[]);
        let head = items.first().and_then(|h| h.as_sym()).map(alias::base);
        match head {
            Some("export") => {
                for e in &items[1..] {
                    match (&e.kind, list_items(e)) {
                        (DatumKind::Sym(s), _) => {
                            let s = alias::base(s).to_string();
                            out.exports.push((s.clone(), s));
                        }
                        (_, Some([r, from, to])) if alias::is(r, "rename") => {
                            match (from.as_sym(), to.as_sym()) {
                                (Some(f), Some(t)) => out
                                    .exports
                                    .push((alias::base(f).to_string(), alias::base(t).to_string())),
                                _ => return Err(x.err(e.pos, "bad export: expected (rename from to)")),
                            }
                        }
                        _ => return Err(x.err(e.pos, "bad export specification")),
                    }
                }
            }
            Some("import") => out.imports.extend(items[1..].iter().cloned()),
            Some("begin") => out.body.extend(items[1..].iter().cloned()),
            Some("include") => out.body.extend(include_forms(x, &items[1..], false)?),
            Some("include-ci") => out.body.extend(include_forms(x, &items[1..], true)?),
            Some("include-library-declarations") => {
                let ds = include_forms(x, &items[1..], false)?;
                collect_decls(x, &ds, out)?;
            }
            Some("cond-expand") => {
                let chosen = super::derived::cond_expand_clause(x, items)?;
                collect_decls(x, &chosen, out)?;
            }
            _ => {
                return Err(x.err(
                    d.pos,
                    "bad library declaration: expected export, import, begin, include, include-ci, include-library-declarations or cond-expand",
                ))
            }
        }
    }
    Ok(())
}

/// `(define-library name declaration...)`: register the library, expand its
/// body in its environment; the returned forms (expanded by the caller in
/// that environment) define its globals when run.
pub fn define_library(x: &mut Expander, d: &Datum) -> VmResult<(Rc<Env>, Vec<Datum>, String)> {
    let items = list_items(d).unwrap_or(&[]);
    let Some(key) = items.get(1).and_then(key_of) else {
        return Err(x.err(
            d.pos,
            "bad `define-library`: expected (define-library (name ...) declaration ...)",
        ));
    };
    if is_standard(&key) {
        return Err(x.err(d.pos, format!("cannot redefine the standard library {key}")));
    }
    let mut decls = LibraryDecls {
        exports: Vec::new(),
        imports: Vec::new(),
        body: Vec::new(),
    };
    collect_decls(x, &items[2..], &mut decls)?;
    let mut imports = Vec::new();
    for i in &decls.imports {
        imports.push(parse_import_set(x, i)?);
    }
    let mut own = HashSet::new();
    prescan(&decls.body, &mut own);
    let env = Rc::new(Env {
        own: Some(key.clone()),
        imports,
        closed: false,
    });
    // Exports resolve in the library's environment.
    let mut exports = HashMap::new();
    let lib0 = Rc::new(Lib {
        exports: HashMap::new(),
        env: env.clone(),
        own: RefCell::new(own),
    });
    x.vm.libs.libs.insert(key.clone(), lib0.clone());
    for (internal, external) in &decls.exports {
        let g = resolve_in(x.vm, &env, internal);
        exports.insert(external.clone(), g);
    }
    let lib = Rc::new(Lib {
        exports,
        env: env.clone(),
        own: RefCell::new(lib0.own.borrow().clone()),
    });
    x.vm.libs.libs.insert(key.clone(), lib.clone());
    save_library(x, &key, &lib, &decls.imports)?;
    Ok((env, decls.body, key))
}

/// After the body was expanded: record the names it defined.
pub fn finish_library(x: &mut Expander, key: &str) -> VmResult<()> {
    let Some(lib) = x.vm.libs.libs.get(key).cloned() else {
        return Ok(());
    };
    let prefix = mangle(key, "");
    let mut missing: Vec<&String> = lib
        .exports
        .iter()
        .filter(|(_, g)| {
            g.strip_prefix(prefix.as_str())
                .is_some_and(|own| !lib.own.borrow().contains(own))
        })
        .map(|(ext, _)| ext)
        .collect();
    if !missing.is_empty() {
        missing.sort();
        let names: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
        forget_library(x, key)?;
        return Err(x.err(
            crate::reader::Pos::default(),
            format!(
                "library {key} exports {}, which it neither defines nor imports",
                names.join(", ")
            ),
        ));
    }
    let reg = global_named(x.vm, "%libraries")?;
    let mut l = reg;
    while x.vm.is_pair(l) {
        let e = x.vm.car(l);
        let k = x.vm.car(e);
        if x.vm.is(k, obj::STRING) && x.vm.string_text(k) == key {
            let entry = x.vm.cdr(e);
            let h = x.vm.heap.push_root(entry);
            let names: Vec<String> = lib.own.borrow().iter().cloned().collect();
            let base = x.vm.stack.len();
            for n in &names {
                let s = x.vm.intern(n)?;
                x.vm.stack.push(s);
            }
            let list = x.vm.list_from_stack(base)?;
            let entry = x.vm.heap.handle(h);
            x.vm.heap.set(entry, 2, list);
            return Ok(());
        }
        l = x.vm.cdr(l);
    }
    Ok(())
}

/// Write library `key`'s entry into `%libraries`.
fn save_library(x: &mut Expander, key: &str, lib: &Lib, imports: &[Datum]) -> VmResult<()> {
    let base = x.vm.stack.len();
    let k = x.vm.string(key)?;
    x.vm.stack.push(k);
    let eb = x.vm.stack.len();
    let mut exports: Vec<(&String, &String)> = lib.exports.iter().collect();
    exports.sort();
    for (ext, g) in exports {
        let a = x.vm.intern(ext)?;
        x.vm.stack.push(a);
        let b = x.vm.intern(g)?;
        let a = x.vm.stack.pop().unwrap_or(Value::FALSE);
        let p = x.vm.cons(a, b)?;
        x.vm.stack.push(p);
    }
    let exports = x.vm.list_from_stack(eb)?;
    x.vm.stack.push(exports);
    let ib = x.vm.stack.len();
    for i in imports {
        let v = super::datum_to_value(x.vm, &alias::strip(i))?;
        x.vm.stack.push(v);
    }
    let imports = x.vm.list_from_stack(ib)?;
    x.vm.stack.push(imports);
    x.vm.stack.push(Value::NIL);
    let entry = x.vm.object_from_stack(obj::VECTOR, base + 1)?;
    x.vm.stack.push(entry);
    let n = x.vm.stack.len();
    let pair = x.vm.cons(x.vm.stack[n - 2], x.vm.stack[n - 1])?;
    x.vm.stack.truncate(base);
    x.vm.stack.push(pair);
    // Replace an older entry of the same key.
    let rest = entries_except(x, key)?;
    let n = x.vm.stack.len();
    let all = x.vm.cons(x.vm.stack[n - 1], rest)?;
    x.vm.stack.truncate(base);
    x.vm.define_global("%libraries", all)
}

/// `%libraries` without the entry of `key`.
fn entries_except(x: &mut Expander, key: &str) -> VmResult<Value> {
    let mut old = global_named(x.vm, "%libraries")?;
    let eb = x.vm.stack.len();
    while x.vm.is_pair(old) {
        let e = x.vm.car(old);
        let k = x.vm.car(e);
        if !(x.vm.is(k, obj::STRING) && x.vm.string_text(k) == key) {
            x.vm.stack.push(e);
        }
        old = x.vm.cdr(old);
    }
    x.vm.list_from_stack(eb)
}

/// Forget library `key` (its definition failed).
pub fn forget_library(x: &mut Expander, key: &str) -> VmResult<()> {
    x.vm.libs.libs.remove(key);
    let rest = entries_except(x, key)?;
    x.vm.define_global("%libraries", rest)
}

/// `(import set ...)` at the top level.
pub fn import_toplevel(x: &mut Expander, sets: &[Datum]) -> VmResult<()> {
    for s in sets {
        parse_import_set(x, s)?;
    }
    let base = x.vm.stack.len();
    let old = global_named(x.vm, "%top-imports")?;
    x.vm.stack
        .push(if x.vm.is_pair(old) { old } else { Value::NIL });
    for s in sets {
        let v = super::datum_to_value(x.vm, &alias::strip(s))?;
        let n = x.vm.stack.len();
        x.vm.stack.push(v);
        let p = x.vm.cons(x.vm.stack[n], x.vm.stack[n - 1])?;
        x.vm.stack.truncate(n - 1);
        x.vm.stack.push(p);
    }
    let l = x.vm.stack.pop().unwrap_or(Value::NIL);
    x.vm.stack.truncate(base);
    x.vm.define_global("%top-imports", l)?;
    x.vm.libs.top = None;
    Ok(())
}
