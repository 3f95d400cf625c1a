//! Files and directories (SRFI-170's names): listing, making and removing
//! directories, renaming, file information, modes, links, the current
//! directory, temporary files, and the process's ids.
//!
//! Every failure is a `file-error` whose message names the operation,
//! the path and the operating system's reason. What reads the file
//! system needs the host's `read_files` grant; what changes it (or the
//! process's current directory) needs `write_files`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use imp_gc::Value;

use crate::obj;
use crate::prim::{PrimDef, arg, def};
use crate::vm::{Exn, Grant, Vm, VmResult};

/// This module's primitives.
pub const DEFS: &[PrimDef] = &[
    def("%directory-files", 3, 3, directory_files),
    def("%create-directory", 2, 2, create_directory),
    def("delete-directory", 1, 1, delete_directory),
    def("rename-file", 2, 2, rename_file),
    def("%file-info", 2, 2, file_info),
    def("set-file-mode", 2, 2, set_file_mode),
    def("set-file-owner", 3, 3, set_file_owner),
    def("truncate-file", 2, 2, truncate_file),
    def("create-symlink", 2, 2, create_symlink),
    def("create-hard-link", 2, 2, create_hard_link),
    def("read-symlink", 1, 1, read_symlink),
    def("real-path", 1, 1, real_path),
    def("current-directory", 0, 0, current_directory),
    def("set-current-directory!", 1, 1, set_current_directory),
    def("%create-temp-file", 1, 1, create_temp_file),
    def("umask", 0, 0, umask),
    def("set-umask!", 1, 1, set_umask),
    def("pid", 0, 0, pid),
    def("parent-pid", 0, 0, parent_pid),
    def("user-uid", 0, 0, user_uid),
    def("user-gid", 0, 0, user_gid),
    def("user-effective-uid", 0, 0, user_effective_uid),
    def("user-effective-gid", 0, 0, user_effective_gid),
];

/// A path argument (a string without NUL), after checking `grant`.
fn path_arg(vm: &mut Vm, who: &str, base: usize, i: usize, grant: Grant) -> VmResult<String> {
    let p = vm.typed_arg(who, base, i, obj::STRING, "a file name string")?;
    vm.require(who, grant)?;
    let s = vm.string_text(p);
    if s.contains('\0') {
        return Err(vm.error_kind(
            "file-error",
            format!("{who}: a file name cannot hold a NUL character"),
            &[p],
        ));
    }
    Ok(s)
}

/// A `file-error`: "`who`: cannot `doing` `path`: reason", the path its
/// irritant.
fn fs_error(vm: &mut Vm, who: &str, doing: &str, path: &str, e: &std::io::Error) -> Exn {
    fs_error_text(vm, who, &format!("{doing} `{path}`"), path, e)
}

/// A `file-error`: "`who`: cannot `what`: reason", with `path` as its
/// irritant.
fn fs_error_text(vm: &mut Vm, who: &str, what: &str, path: &str, e: &std::io::Error) -> Exn {
    let reason = crate::os::io_error_text(e);
    match vm.string(path) {
        Ok(p) => vm.error_kind(
            "file-error",
            format!("{who}: cannot {what}: {reason}"),
            &[p],
        ),
        Err(e) => e,
    }
}

/// An effect on the file system: the grant, then the image gate.
fn effect(vm: &mut Vm) -> VmResult<()> {
    vm.before_effect()
}

/// `(%directory-files dir dotfiles? who)`: the names in `dir`, sorted,
/// without `.` and `..` (and without other names starting with a dot
/// unless `dotfiles?`); errors name `who` (a symbol).
fn directory_files(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let w = arg(vm, base, 2);
    let who_name = if vm.is(w, obj::SYMBOL) {
        vm.symbol_name(w)
    } else {
        "directory-files".to_string()
    };
    let who = who_name.as_str();
    let dir = path_arg(vm, who, base, 0, Grant::ReadFiles)?;
    let dot = arg(vm, base, 1).is_true();
    let rd = std::fs::read_dir(&dir).map_err(|e| fs_error(vm, who, "list", &dir, &e))?;
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| fs_error(vm, who, "list", &dir, &e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(vm.error_kind(
                "file-error",
                format!(
                    "{who}: `{dir}` holds a name that is not UTF-8: {}",
                    name.to_string_lossy()
                ),
                &[],
            ));
        };
        if dot || !name.starts_with('.') {
            names.push(name.to_string());
        }
    }
    names.sort();
    let b = vm.stack.len();
    for n in &names {
        let s = vm.string(n)?;
        vm.stack.push(s);
    }
    vm.list_from_stack(b)
}

/// `(%create-directory path mode)`.
fn create_directory(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use std::os::unix::fs::DirBuilderExt;
    let who = "create-directory";
    let path = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let mode = mode_arg(vm, who, base, 1)?;
    effect(vm)?;
    std::fs::DirBuilder::new()
        .mode(mode)
        .create(&path)
        .map_err(|e| fs_error(vm, who, "create directory", &path, &e))?;
    Ok(Value::UNSPECIFIED)
}

fn mode_arg(vm: &mut Vm, who: &str, base: usize, i: usize) -> VmResult<u32> {
    let v = arg(vm, base, i);
    match v.as_fixnum() {
        Some(m) if (0..=0o7777).contains(&m) => Ok(m as u32),
        _ => Err(vm.type_error(who, "permission bits from 0 to #o7777", v)),
    }
}

fn delete_directory(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "delete-directory";
    let path = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    effect(vm)?;
    std::fs::remove_dir(&path).map_err(|e| fs_error(vm, who, "delete directory", &path, &e))?;
    Ok(Value::UNSPECIFIED)
}

fn rename_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "rename-file";
    let from = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let to = path_arg(vm, who, base, 1, Grant::WriteFiles)?;
    effect(vm)?;
    std::fs::rename(&from, &to)
        .map_err(|e| fs_error_text(vm, who, &format!("rename `{from}` to `{to}`"), &from, &e))?;
    Ok(Value::UNSPECIFIED)
}

/// `(%file-info path follow?)`: `#(type device inode mode nlinks uid gid
/// rdev size blksize blocks atime mtime ctime)`, the type a symbol
/// (`regular`, `directory`, `symlink`, `fifo`, `socket`, `block-device`,
/// `char-device`), times in seconds (reals).
fn file_info(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use std::os::unix::fs::FileTypeExt;
    let who = "file-info";
    let path = path_arg(vm, who, base, 0, Grant::ReadFiles)?;
    let follow = arg(vm, base, 1).is_true();
    let m = if follow {
        std::fs::metadata(&path)
    } else {
        std::fs::symlink_metadata(&path)
    }
    .map_err(|e| fs_error(vm, who, "get information on", &path, &e))?;
    let ft = m.file_type();
    let ty = if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block-device"
    } else if ft.is_char_device() {
        "char-device"
    } else {
        "regular"
    };
    let b = vm.stack.len();
    let t = vm.intern(ty)?;
    vm.stack.push(t);
    for n in [
        m.dev(),
        m.ino(),
        u64::from(m.mode()),
        m.nlink(),
        u64::from(m.uid()),
        u64::from(m.gid()),
        m.rdev(),
        m.size(),
        m.blksize(),
        m.blocks(),
    ] {
        let v = vm.make_int(i128::from(n))?;
        vm.stack.push(v);
    }
    for (s, ns) in [
        (m.atime(), m.atime_nsec()),
        (m.mtime(), m.mtime_nsec()),
        (m.ctime(), m.ctime_nsec()),
    ] {
        let v = vm.flonum(s as f64 + ns as f64 / 1e9)?;
        vm.stack.push(v);
    }
    vm.object_from_stack(obj::VECTOR, b)
}

fn set_file_mode(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "set-file-mode";
    let path = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let mode = mode_arg(vm, who, base, 1)?;
    effect(vm)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| fs_error(vm, who, "set the mode of", &path, &e))?;
    Ok(Value::UNSPECIFIED)
}

fn set_file_owner(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "set-file-owner";
    let path = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let id = |vm: &mut Vm, i: usize| -> VmResult<Option<u32>> {
        let v = arg(vm, base, i);
        match v.as_fixnum() {
            _ if v == Value::FALSE => Ok(None),
            Some(n) if (0..=u32::MAX as i64).contains(&n) => Ok(Some(n as u32)),
            _ => Err(vm.type_error(who, "a user or group id, or #f", v)),
        }
    };
    let uid = id(vm, 1)?;
    let gid = id(vm, 2)?;
    effect(vm)?;
    std::os::unix::fs::chown(&path, uid, gid)
        .map_err(|e| fs_error(vm, who, "set the owner of", &path, &e))?;
    Ok(Value::UNSPECIFIED)
}

fn truncate_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "truncate-file";
    let path = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let len = vm.index_arg(who, base, 1)?;
    effect(vm)?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(len as u64))
        .map_err(|e| fs_error(vm, who, "truncate", &path, &e))?;
    Ok(Value::UNSPECIFIED)
}

fn create_symlink(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "create-symlink";
    let target = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let link = path_arg(vm, who, base, 1, Grant::WriteFiles)?;
    effect(vm)?;
    std::os::unix::fs::symlink(&target, &link).map_err(|e| {
        let what = format!("make `{link}` a symbolic link to `{target}`");
        fs_error_text(vm, who, &what, &link, &e)
    })?;
    Ok(Value::UNSPECIFIED)
}

fn create_hard_link(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "create-hard-link";
    let target = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    let link = path_arg(vm, who, base, 1, Grant::WriteFiles)?;
    effect(vm)?;
    std::fs::hard_link(&target, &link).map_err(|e| {
        let what = format!("make `{link}` a hard link to `{target}`");
        fs_error_text(vm, who, &what, &link, &e)
    })?;
    Ok(Value::UNSPECIFIED)
}

/// A path from the OS as a Scheme string, or a `file-error` if it is not
/// UTF-8.
fn path_value(vm: &mut Vm, who: &str, p: &std::path::Path) -> VmResult<Value> {
    match p.to_str() {
        Some(s) => vm.string(s),
        None => Err(vm.error_kind(
            "file-error",
            format!("{who}: the path is not UTF-8: {}", p.to_string_lossy()),
            &[],
        )),
    }
}

fn read_symlink(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "read-symlink";
    let path = path_arg(vm, who, base, 0, Grant::ReadFiles)?;
    let t = std::fs::read_link(&path).map_err(|e| fs_error(vm, who, "read the link", &path, &e))?;
    path_value(vm, who, &t)
}

fn real_path(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "real-path";
    let path = path_arg(vm, who, base, 0, Grant::ReadFiles)?;
    let t = std::fs::canonicalize(&path).map_err(|e| fs_error(vm, who, "resolve", &path, &e))?;
    path_value(vm, who, &t)
}

fn current_directory(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    let who = "current-directory";
    vm.require(who, Grant::ReadFiles)?;
    let d = std::env::current_dir().map_err(|e| fs_error(vm, who, "find", ".", &e))?;
    path_value(vm, who, &d)
}

fn set_current_directory(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let who = "set-current-directory!";
    let path = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    std::env::set_current_dir(&path).map_err(|e| fs_error(vm, who, "change to", &path, &e))?;
    Ok(Value::UNSPECIFIED)
}

/// `(%create-temp-file prefix)`: a new empty file (mode 0600) whose name
/// is `prefix` and a random suffix; its name.
fn create_temp_file(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    use std::os::unix::fs::OpenOptionsExt;
    let who = "create-temp-file";
    let prefix = path_arg(vm, who, base, 0, Grant::WriteFiles)?;
    effect(vm)?;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (u64::from(std::process::id()) << 32);
    for _ in 0..100 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let name = format!("{prefix}{:012x}", seed & 0xffff_ffff_ffff);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&name)
        {
            Ok(_) => return vm.string(&name),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fs_error(vm, who, "create", &name, &e)),
        }
    }
    Err(vm.error_kind(
        "file-error",
        format!("{who}: cannot find a free name starting with `{prefix}`"),
        &[],
    ))
}

fn umask(vm: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    vm.require("umask", Grant::ReadFiles)?;
    use nix::sys::stat::{Mode, umask};
    // Reading the mask means setting it: put it back at once.
    let old = umask(Mode::from_bits_truncate(0o022));
    umask(old);
    Ok(Value::fix(i64::from(old.bits())))
}

fn set_umask(vm: &mut Vm, base: usize, _: usize) -> VmResult<Value> {
    let m = mode_arg(vm, "set-umask!", base, 0)?;
    vm.require("set-umask!", Grant::WriteFiles)?;
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(m as _));
    Ok(Value::UNSPECIFIED)
}

fn pid(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(i64::from(std::process::id())))
}

fn parent_pid(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(i64::from(nix::unistd::getppid().as_raw())))
}

fn user_uid(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(i64::from(nix::unistd::getuid().as_raw())))
}

fn user_gid(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(i64::from(nix::unistd::getgid().as_raw())))
}

fn user_effective_uid(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(i64::from(nix::unistd::geteuid().as_raw())))
}

fn user_effective_gid(_: &mut Vm, _: usize, _: usize) -> VmResult<Value> {
    Ok(Value::fix(i64::from(nix::unistd::getegid().as_raw())))
}
