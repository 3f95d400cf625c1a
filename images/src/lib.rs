//! imp's image files (`doc/IMAGE-FORMAT.md`): the format, a writer that
//! replaces files atomically, and a loader that checks an image cheapest
//! check first and hands back where each section lies in the file, for the
//! heap to map.
//!
//! This crate knows bytes, not objects: the runtime supplies the roots,
//! the section contents and the fingerprint, and maps the sections itself.
//! For a body too large to check whole at load, [`BodyCheck`] checks one
//! chunk at a time (it is the `imp_gc::ChunkCheck` the heap's guard calls
//! before a chunk is first used). Errors are [`ImageError`] variants, one
//! per kind of refusal a caller may act on.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

mod body;
mod error;

pub use body::BodyCheck;
pub use error::ImageError;

/// `IMPIMAGE`: a complete image (§2).
pub const MAGIC: [u8; 8] = *b"IMPIMAGE";
/// What the writer puts first and replaces last (§2).
pub const MAGIC_UNFINISHED: [u8; 8] = *b"!MPIMAGE";
/// `IMPTRAIL` (§7).
pub const TRAILER_MAGIC: [u8; 8] = *b"IMPTRAIL";
/// Format major version (§2).
pub const FORMAT_MAJOR: u32 = 1;
/// Format minor version (§2).
pub const FORMAT_MINOR: u32 = 0;
/// Header size (§1).
pub const HEADER_BYTES: u64 = 4096;
/// Section alignment (§1).
pub const ALIGN: u64 = 65536;
/// Trailer size (§7).
pub const TRAILER_BYTES: u64 = 32;
/// Checksum chunk size (§4).
pub const CHUNK: u64 = 1 << 20;
/// Images up to this size have their body checked whole before it is
/// mapped (§8.5): it costs about 0.08 ms per MiB here, so at most about
/// 1.3 ms. A larger body is checked as it is used ([`Image::body_check`]
/// and the heap's guard).
pub const VERIFY_BODY_LIMIT: u64 = 16 << 20;

/// Section kinds (§4, §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// Immutable objects, mapped read-only.
    Pure = 0,
    /// Everything else, mapped copy-on-write.
    Static = 1,
}

/// One section to write.
pub struct SectionOut<'a> {
    /// Its kind.
    pub kind: SectionKind,
    /// Where it must be mapped in the heap region.
    pub region_offset: u64,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// Everything an image holds besides its sections.
#[derive(Clone, Debug)]
pub struct ImageMeta {
    /// Layout fingerprint (§3).
    pub fingerprint: u64,
    /// Region offset of the static space (§2).
    pub static_region_offset: u64,
    /// Named roots: encoded values (§4.1).
    pub roots: Vec<(String, u64)>,
    /// Primitive names in id order (§4.2).
    pub primitives: Vec<String>,
    /// Writer version, for messages.
    pub writer: String,
}

/// A section as found in a loaded image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Its kind.
    pub kind: SectionKind,
    /// Offset of its bytes in the file (the image start included).
    pub file_offset: u64,
    /// Length in bytes.
    pub len: u64,
    /// Where it must be mapped in the heap region.
    pub region_offset: u64,
    /// Index of its first checksum chunk.
    first_chunk: u64,
}

/// A checked image: the open file and what its header and tables say.
pub struct Image {
    /// The file's path, for messages.
    pub path: String,
    /// The open file (read-only).
    pub file: File,
    /// Where the image starts in the file (non-zero for executables).
    pub start: u64,
    /// Its length.
    pub len: u64,
    /// Format minor version.
    pub minor: u32,
    /// Layout fingerprint.
    pub fingerprint: u64,
    /// Region offset of the static space.
    pub static_region_offset: u64,
    /// Save time (seconds since the epoch).
    pub saved_at: u64,
    /// Writer version.
    pub writer: String,
    /// Named roots.
    pub roots: Vec<(String, u64)>,
    /// Primitive names in id order.
    pub primitives: Vec<String>,
    /// Sections.
    pub sections: Vec<Section>,
    checksums: Vec<u32>,
}

/// Reads the tables (§4).
struct Cursor<'a> {
    t: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.t.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| get_u32(b, 0))
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| get_u64(b, 0))
    }

    fn name(&mut self) -> Option<String> {
        let l = self.take(2)?;
        let n = u16::from_le_bytes([l[0], l[1]]) as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGN) * ALIGN
}

/// The tables (§4) for `meta` and sections laid out at `offsets`.
fn encode_tables(
    meta: &ImageMeta,
    plans: &[SectionPlan],
    offsets: &[u64],
    sums: &[u32],
) -> Vec<u8> {
    let mut t = Vec::new();
    for (name, v) in &meta.roots {
        t.extend_from_slice(&(name.len() as u16).to_le_bytes());
        t.extend_from_slice(name.as_bytes());
        t.extend_from_slice(&v.to_le_bytes());
    }
    for name in &meta.primitives {
        t.extend_from_slice(&(name.len() as u16).to_le_bytes());
        t.extend_from_slice(name.as_bytes());
    }
    let mut chunk = 0u64;
    for (s, &off) in plans.iter().zip(offsets) {
        t.extend_from_slice(&(s.kind as u32).to_le_bytes());
        t.extend_from_slice(&0u32.to_le_bytes());
        t.extend_from_slice(&off.to_le_bytes());
        t.extend_from_slice(&s.len.to_le_bytes());
        t.extend_from_slice(&s.region_offset.to_le_bytes());
        t.extend_from_slice(&chunk.to_le_bytes());
        chunk += s.len.div_ceil(CHUNK);
    }
    for c in sums {
        t.extend_from_slice(&c.to_le_bytes());
    }
    t
}

fn header_crc(h: &[u8]) -> u32 {
    let mut copy = h[..124].to_vec();
    copy[..8].copy_from_slice(&MAGIC);
    crc(&copy)
}

/// The header (§2, magic unfinished) of an image with these `tables`.
fn encode_header(
    meta: &ImageMeta,
    tables: &[u8],
    nsections: usize,
    nsums: usize,
    saved_at: u64,
) -> Vec<u8> {
    let mut h = vec![0u8; HEADER_BYTES as usize];
    h[..8].copy_from_slice(&MAGIC_UNFINISHED);
    put_u32(&mut h, 8, FORMAT_MAJOR);
    put_u32(&mut h, 12, FORMAT_MINOR);
    put_u64(&mut h, 16, meta.fingerprint);
    put_u32(&mut h, 24, 64);
    put_u32(&mut h, 28, ALIGN as u32);
    put_u64(&mut h, 32, meta.static_region_offset);
    put_u64(&mut h, 40, HEADER_BYTES);
    put_u64(&mut h, 48, tables.len() as u64);
    put_u32(&mut h, 56, meta.roots.len() as u32);
    put_u32(&mut h, 60, meta.primitives.len() as u32);
    put_u32(&mut h, 64, nsections as u32);
    put_u32(&mut h, 68, CHUNK as u32);
    put_u64(&mut h, 72, nsums as u64);
    put_u64(&mut h, 80, saved_at);
    let w = meta.writer.as_bytes();
    let n = w.len().min(31);
    h[88..88 + n].copy_from_slice(&w[..n]);
    put_u32(&mut h, 120, crc(tables));
    let hc = header_crc(&h);
    put_u32(&mut h, 124, hc);
    h
}

/// The trailer (§7) of an image of `image_len` bytes starting at `prefix`.
fn encode_trailer(prefix: u64, image_len: u64) -> Vec<u8> {
    let mut tr = vec![0u8; TRAILER_BYTES as usize];
    tr[..8].copy_from_slice(&TRAILER_MAGIC);
    put_u64(&mut tr, 8, prefix);
    put_u64(&mut tr, 16, image_len);
    let tc = crc(&tr[..24]);
    put_u32(&mut tr, 24, tc);
    tr
}

/// What a save wrote.
#[derive(Clone, Debug)]
pub struct WriteReport {
    /// The image's size in bytes (without any executable in front).
    pub image_bytes: u64,
    /// The whole file's size.
    pub file_bytes: u64,
    /// Time spent in `fdatasync` (the rest of the write is copying into
    /// the page cache).
    pub sync: std::time::Duration,
}

/// A temporary file beside the destination of a save, that removes itself
/// unless committed.
///
/// While it exists it is locked (`flock`, exclusive): the lock lives as
/// long as a process holds the file open (the saver, or a forked save
/// child that inherited it), so a temporary file nobody has locked is a
/// leftover of a save whose processes died, and the next save to the same
/// destination removes it. A file is locked before it gets its `.tmp-`
/// name: it is made as `.NAME.new-PID-N`, locked, then renamed.
pub struct TempFile {
    /// Its path.
    pub path: PathBuf,
    /// The open file.
    pub file: File,
    /// Permissions it gets when committed.
    pub mode: u32,
    /// Where `commit` puts it: the save's path, or the final target of
    /// the symbolic link that path is.
    pub dest: PathBuf,
    keep: bool,
}

/// How many symbolic links a save follows before it gives up (as the
/// kernel's own limit).
const MAX_SYMLINKS: usize = 40;

/// `.new-` files older than this are leftovers of a save that died before
/// it could lock and rename its temporary file.
const STALE_NEW_SECS: u64 = 60;

/// Where a save to `path` must put its file: `path` itself when it is
/// absent or a regular file; the final target of a symbolic link (which
/// is then replaced, the link kept). Anything else (a directory, a device,
/// a FIFO, a socket) is refused, never replaced.
///
/// # Errors
/// `ImageError::NotRegularFile`, a loop of links, or the OS error.
pub fn save_destination(path: &Path) -> Result<PathBuf, ImageError> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match std::fs::symlink_metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(p),
            Err(source) => {
                return Err(ImageError::Io {
                    path: p.display().to_string(),
                    what: "cannot look at the destination",
                    source,
                })
            }
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p).map_err(|source| ImageError::Io {
                    path: p.display().to_string(),
                    what: "cannot read the symbolic link",
                    source,
                })?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(m) if m.file_type().is_file() => return Ok(p),
            Ok(m) => {
                use std::os::unix::fs::FileTypeExt;
                let t = m.file_type();
                let kind = if t.is_dir() {
                    "a directory"
                } else if t.is_char_device() || t.is_block_device() {
                    "a device"
                } else if t.is_fifo() {
                    "a FIFO"
                } else if t.is_socket() {
                    "a socket"
                } else {
                    "not a regular file"
                };
                return Err(ImageError::NotRegularFile {
                    path: p.display().to_string(),
                    kind,
                });
            }
        }
    }
    Err(ImageError::Other {
        path: path.display().to_string(),
        cause: format!("more than {MAX_SYMLINKS} symbolic links to follow"),
    })
}

/// Remove the temporary files of dead saves to `dest` (`.NAME.tmp-*` that
/// no process holds locked, and `.NAME.new-*` a minute old). Best effort:
/// a file that cannot be opened or removed is left alone.
fn sweep_leftovers(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let tmp = format!(".{name}.tmp-");
    let new = format!(".{name}.new-");
    for e in entries.flatten() {
        let f = e.file_name();
        let f = f.to_string_lossy();
        let fresh_new = f.starts_with(&new)
            && e.metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| t.elapsed().map_or(true, |a| a.as_secs() < STALE_NEW_SECS));
        if !(f.starts_with(&tmp) || f.starts_with(&new)) || fresh_new {
            continue;
        }
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(file) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags((nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NOFOLLOW).bits())
            .open(e.path())
        else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl TempFile {
    /// A new temporary file for a save to `path`, in the directory of its
    /// destination ([`save_destination`]), mode 0600, close-on-exec,
    /// locked; leftovers of dead saves to the same destination are
    /// removed first.
    ///
    /// # Errors
    /// The destination is refused, or the file cannot be made.
    pub fn beside(path: &Path) -> Result<TempFile, ImageError> {
        use std::os::unix::fs::OpenOptionsExt;
        let dest = save_destination(path)?;
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        sweep_leftovers(&dir, &name);
        let io = |what: &'static str| {
            let p = path.display().to_string();
            move |source| ImageError::Io {
                path: p,
                what,
                source,
            }
        };
        let mut n = 0u32;
        loop {
            let pid = std::process::id();
            let fresh = dir.join(format!(".{name}.new-{pid}-{n}"));
            match std::fs::OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::fcntl::OFlag::O_CLOEXEC.bits())
                .open(&fresh)
            {
                Ok(file) => {
                    let tmp = dir.join(format!(".{name}.tmp-{pid}-{n}"));
                    let locked = file
                        .lock()
                        .map_err(io("cannot lock a temporary file"))
                        .and_then(|()| {
                            std::fs::rename(&fresh, &tmp)
                                .map_err(io("cannot name a temporary file"))
                        });
                    if let Err(e) = locked {
                        let _ = std::fs::remove_file(&fresh);
                        return Err(e);
                    }
                    return Ok(TempFile {
                        path: tmp,
                        file,
                        mode: 0o644,
                        dest,
                        keep: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(source) => {
                    return Err(ImageError::Io {
                        path: path.display().to_string(),
                        what: "cannot create a temporary file beside it",
                        source,
                    })
                }
            }
        }
    }

    /// Make it the destination (sync, rename, sync the directory).
    ///
    /// # Errors
    /// The OS error of the step that failed; the temporary file is then
    /// removed and the destination left as it was.
    pub fn commit(mut self) -> Result<(), ImageError> {
        let path = self.dest.clone();
        let p = path.display().to_string();
        let io = |what: &'static str| {
            let p = p.clone();
            move |source| ImageError::Io {
                path: p,
                what,
                source,
            }
        };
        // Readable by all, like any file the user makes (it was 0600 while
        // incomplete).
        use std::os::unix::fs::PermissionsExt;
        self.file
            .set_permissions(std::fs::Permissions::from_mode(self.mode))
            .map_err(io("cannot set the image's permissions"))?;
        self.file.sync_all().map_err(io("cannot sync the image"))?;
        std::fs::rename(&self.path, &path).map_err(io("cannot rename the image into place"))?;
        self.keep = true;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(d) = File::open(dir) {
            d.sync_all().map_err(io("cannot sync the directory"))?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Write an image to `out` (a fresh temporary file): `prefix` is the
/// length of an executable already written at its start (0 for none).
/// The header magic is written last (§2).
pub fn write_into(
    out: &mut TempFile,
    meta: &ImageMeta,
    sections: &[SectionOut],
    prefix: u64,
    dest: &Path,
) -> Result<WriteReport, ImageError> {
    let plans: Vec<SectionPlan> = sections
        .iter()
        .map(|s| SectionPlan {
            kind: s.kind,
            region_offset: s.region_offset,
            len: s.bytes.len() as u64,
        })
        .collect();
    let mut w = ImageStream::begin(&*out, meta, &plans, prefix, dest);
    for s in sections {
        w.write(s.bytes)?;
    }
    w.finish(meta)
}

/// What a section will be, before its bytes exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionPlan {
    /// Its kind.
    pub kind: SectionKind,
    /// Where it must be mapped in the heap region.
    pub region_offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// An image written as a stream: the sections' lengths are given first,
/// which fixes the layout (§1); their bytes then go straight to the file
/// in order, in pieces of any size, checksummed on the way (§5); `finish`
/// writes the tables, header and trailer, syncs, and writes the magic
/// (§2). So a saver never needs the whole image in memory.
pub struct ImageStream<'a> {
    file: &'a File,
    dest: String,
    prefix: u64,
    plans: Vec<SectionPlan>,
    offsets: Vec<u64>,
    /// The image's length up to the trailer.
    end: u64,
    /// The section being written, and bytes of it written so far.
    section: usize,
    filled: u64,
    /// Checksum of the chunk being written, and its bytes so far.
    hasher: crc32fast::Hasher,
    chunk_fill: u64,
    sums: Vec<u32>,
}

impl<'a> ImageStream<'a> {
    /// Lay out an image of `meta` (whose root values may change before
    /// `finish`, not their names) and sections of these sizes.
    pub fn begin(
        out: &'a TempFile,
        meta: &ImageMeta,
        plans: &[SectionPlan],
        prefix: u64,
        dest: &Path,
    ) -> ImageStream<'a> {
        let nsums: u64 = plans.iter().map(|p| p.len.div_ceil(CHUNK)).sum();
        let tables_len = encode_tables(meta, plans, &vec![0; plans.len()], &vec![0; nsums as usize])
            .len() as u64;
        let mut at = align_up(HEADER_BYTES + tables_len);
        let mut offsets = Vec::with_capacity(plans.len());
        for p in plans {
            offsets.push(at);
            at = align_up(at + p.len);
        }
        let mut w = ImageStream {
            file: &out.file,
            dest: dest.display().to_string(),
            prefix,
            plans: plans.to_vec(),
            offsets,
            end: at,
            section: 0,
            filled: 0,
            hasher: crc32fast::Hasher::new(),
            chunk_fill: 0,
            sums: Vec::with_capacity(nsums as usize),
        };
        w.skip_full_sections();
        w
    }

    fn io(&self, what: &'static str) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = self.dest.clone();
        move |source| ImageError::Io { path, what, source }
    }

    fn skip_full_sections(&mut self) {
        while self.section < self.plans.len() && self.filled == self.plans[self.section].len {
            if self.chunk_fill > 0 {
                let h = std::mem::take(&mut self.hasher);
                self.sums.push(h.finalize());
                self.chunk_fill = 0;
            }
            self.section += 1;
            self.filled = 0;
        }
    }

    /// Append `bytes` to the sections, in order. Whole 4 KiB blocks at
    /// aligned places go to the disk directly (see [`write_section`]).
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), ImageError> {
        while !bytes.is_empty() {
            let Some(plan) = self.plans.get(self.section).copied() else {
                return Err(ImageError::Other {
                    path: self.dest.clone(),
                    cause: "internal error: more bytes than the image's sections hold".into(),
                });
            };
            let n = bytes.len().min((plan.len - self.filled) as usize);
            let (piece, rest) = bytes.split_at(n);
            let at = self.prefix + self.offsets[self.section] + self.filled;
            write_section(self.file, piece, at).map_err(self.io("cannot write the image"))?;
            let mut p = piece;
            while !p.is_empty() {
                let k = p.len().min((CHUNK - self.chunk_fill) as usize);
                self.hasher.update(&p[..k]);
                self.chunk_fill += k as u64;
                if self.chunk_fill == CHUNK {
                    let h = std::mem::take(&mut self.hasher);
                    self.sums.push(h.finalize());
                    self.chunk_fill = 0;
                }
                p = &p[k..];
            }
            self.filled += n as u64;
            self.skip_full_sections();
            bytes = rest;
        }
        Ok(())
    }

    /// Complete the image: every section must have all its bytes. `meta`
    /// is the one given to `begin`, with the final root values.
    pub fn finish(self, meta: &ImageMeta) -> Result<WriteReport, ImageError> {
        if self.section < self.plans.len() {
            return Err(ImageError::Other {
                path: self.dest.clone(),
                cause: "internal error: the image's sections are not all written".into(),
            });
        }
        let tables = encode_tables(meta, &self.plans, &self.offsets, &self.sums);
        if align_up(HEADER_BYTES + tables.len() as u64)
            > self.offsets.first().copied().unwrap_or(u64::MAX)
        {
            return Err(ImageError::Other {
                path: self.dest.clone(),
                cause: "internal error: the image's tables grew after its layout was fixed".into(),
            });
        }
        let saved_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = encode_header(meta, &tables, self.plans.len(), self.sums.len(), saved_at);
        let trailer = encode_trailer(self.prefix, self.end + TRAILER_BYTES);
        let f = self.file;
        let prefix = self.prefix;
        f.write_all_at(&header, prefix)
            .map_err(self.io("cannot write the image"))?;
        f.write_all_at(&tables, prefix + HEADER_BYTES)
            .map_err(self.io("cannot write the image"))?;
        f.write_all_at(&trailer, prefix + self.end)
            .map_err(self.io("cannot write the image"))?;
        let t_sync = std::time::Instant::now();
        f.sync_data().map_err(self.io("cannot sync the image"))?;
        let sync = t_sync.elapsed();
        // Only now is the image complete.
        f.write_all_at(&MAGIC, prefix)
            .map_err(self.io("cannot write the image"))?;
        let image_bytes = self.end + TRAILER_BYTES;
        // The sections went around the page cache; have the kernel read
        // them back in the background, so that a start right after the
        // save finds them there (§9). Advice only.
        let _ = nix::fcntl::posix_fadvise(
            f.as_raw_fd(),
            i64::try_from(prefix).unwrap_or(0),
            i64::try_from(image_bytes).unwrap_or(0),
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_WILLNEED,
        );
        Ok(WriteReport {
            image_bytes,
            file_bytes: prefix + image_bytes,
            sync,
        })
    }
}

/// Block size for direct writes: a multiple of every logical block size
/// Linux file systems use, and of the page size.
const DIRECT_BLOCK: usize = 4096;

/// Write `bytes` at `at` in `f`. A section is most of an image and is
/// written once and not read back, so its whole blocks go to the disk
/// directly (`O_DIRECT`), not through the page cache: copying into fresh
/// page-cache pages costs more than the disk write itself (measured in
/// `doc/IMAGE-FORMAT.md` §9). Where the file system refuses direct I/O, or
/// `bytes` or `at` is not block-aligned, the write is buffered. The tail
/// after the last whole block is always buffered, so the two kinds of
/// write never share a page.
fn write_section(f: &File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    let whole = bytes.len() / DIRECT_BLOCK * DIRECT_BLOCK;
    let aligned = (bytes.as_ptr() as usize).is_multiple_of(DIRECT_BLOCK)
        && at.is_multiple_of(DIRECT_BLOCK as u64);
    let mut done = 0;
    if aligned && whole > 0 && set_direct(f, true) {
        // Large writes in pieces, so a full disk is found early and no one
        // request pins a gigabyte.
        const PIECE: usize = 64 << 20;
        let r = (|| {
            while done < whole {
                let end = whole.min(done + PIECE);
                match f.write_at(&bytes[done..end], at + done as u64) {
                    Ok(0) => {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::WriteZero,
                            "the disk took no more bytes",
                        ))
                    }
                    // A short direct write ends on a block boundary; go on
                    // from there.
                    Ok(n) if n % DIRECT_BLOCK == 0 => done += n,
                    Ok(n) => {
                        done += n;
                        return Ok(());
                    }
                    Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })();
        set_direct(f, false);
        r?;
    }
    f.write_all_at(&bytes[done..], at + done as u64)
}

/// Turn `O_DIRECT` on or off for `f`; false if the file system refuses.
fn set_direct(f: &File, on: bool) -> bool {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let Ok(bits) = fcntl(f.as_raw_fd(), FcntlArg::F_GETFL) else {
        return false;
    };
    let flags = OFlag::from_bits_truncate(bits);
    let flags = if on {
        flags | OFlag::O_DIRECT
    } else {
        flags - OFlag::O_DIRECT
    };
    fcntl(f.as_raw_fd(), FcntlArg::F_SETFL(flags)).is_ok()
}

/// The length of the program in `exe` without any image appended to it
/// (§7: an executable image's trailer says where its image starts).
pub fn executable_prefix_len(exe: &Path) -> Result<u64, ImageError> {
    let p = exe.display().to_string();
    let f = File::open(exe).map_err(|source| ImageError::Io {
        path: p.clone(),
        what: "cannot read the executable",
        source,
    })?;
    let size = f
        .metadata()
        .map_err(|source| ImageError::Io {
            path: p.clone(),
            what: "cannot read the executable",
            source,
        })?
        .len();
    Ok(embedded_image_start(&f, size).unwrap_or(size))
}

/// Where an image appended to the file `f` (of `size` bytes) starts, if
/// its last bytes are a valid trailer with a non-zero start.
pub fn embedded_image_start(f: &File, size: u64) -> Option<u64> {
    if size < TRAILER_BYTES {
        return None;
    }
    let mut tr = [0u8; TRAILER_BYTES as usize];
    f.read_exact_at(&mut tr, size - TRAILER_BYTES).ok()?;
    if tr[..8] != TRAILER_MAGIC || get_u32(&tr, 24) != crc(&tr[..24]) {
        return None;
    }
    let start = get_u64(&tr, 8);
    (start > 0 && start.checked_add(get_u64(&tr, 16)) == Some(size)).then_some(start)
}

/// Where the parts of an ELF file end (for a 64-bit little-endian one).
struct ElfExtent {
    /// The end of the furthest segment's contents or of the program
    /// header table: everything the kernel and the dynamic loader read.
    loaded: u64,
    /// The end of the section header table (0 if there is none).
    sections: u64,
}

/// The extent of the ELF program in `f`; `None` if it is not a 64-bit
/// little-endian ELF file.
fn elf_extent(f: &File) -> Option<ElfExtent> {
    let mut h = [0u8; 64];
    f.read_exact_at(&mut h, 0).ok()?;
    if h[..4] != *b"\x7fELF" || h[4] != 2 || h[5] != 1 {
        return None;
    }
    let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]) as u64;
    let (phoff, shoff) = (get_u64(&h, 0x20), get_u64(&h, 0x28));
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    let (shentsize, shnum) = (u16_at(0x3A), u16_at(0x3C));
    if phentsize < 56 || phnum > 4096 {
        return None;
    }
    let mut loaded = phoff.checked_add(phentsize * phnum)?;
    let mut ph = vec![0u8; (phentsize * phnum) as usize];
    f.read_exact_at(&mut ph, phoff).ok()?;
    for e in ph.chunks_exact(phentsize as usize) {
        loaded = loaded.max(get_u64(e, 8).checked_add(get_u64(e, 32))?);
    }
    let sections = if shnum == 0 {
        0
    } else {
        shoff.checked_add(shentsize.checked_mul(shnum)?)?
    };
    Some(ElfExtent { loaded, sections })
}

/// How many bytes of the file `f` (of `size` bytes) lie past the program
/// its ELF headers describe; `None` if it is not a 64-bit little-endian
/// ELF file. A plain `imp` has none; an executable image has its image
/// and trailer there, so bytes there with no valid trailer (§7) mean the
/// file was damaged after it was built.
pub fn bytes_after_program(f: &File, size: u64) -> Option<u64> {
    let e = elf_extent(f)?;
    Some(size.saturating_sub(e.loaded.max(e.sections)))
}

/// Copy the program in the first `len` bytes of `exe` into `out` and
/// return the image's start offset (the copy's length rounded up to the
/// section alignment). Of an ELF program only what is loaded is copied:
/// the symbol table, debug information and section headers, which nothing
/// reads when it runs, are left out (and the copy's header says it has no
/// sections), so an executable image is not several times the size of
/// its program.
pub fn copy_executable(out: &mut TempFile, exe: &Path, len: u64) -> Result<u64, ImageError> {
    use std::io::Read;
    let p = exe.display().to_string();
    let f = File::open(exe).map_err(|source| ImageError::Io {
        path: p.clone(),
        what: "cannot read the executable",
        source,
    })?;
    let strip = elf_extent(&f).filter(|e| e.loaded <= len);
    let len = strip.as_ref().map_or(len, |e| e.loaded);
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    let mut r = f.take(len);
    loop {
        let n = r.read(&mut buf).map_err(|source| ImageError::Io {
            path: p.clone(),
            what: "cannot read the executable",
            source,
        })?;
        if n == 0 {
            break;
        }
        out.file
            .write_all_at(&buf[..n], done)
            .map_err(|source| ImageError::Io {
                path: out.path.display().to_string(),
                what: "cannot write the executable",
                source,
            })?;
        done += n as u64;
    }
    if strip.is_some() {
        // e_shoff, then e_shnum and e_shstrndx: no section header table.
        let write = |at: u64, bytes: &[u8]| {
            out.file
                .write_all_at(bytes, at)
                .map_err(|source| ImageError::Io {
                    path: out.path.display().to_string(),
                    what: "cannot write the executable",
                    source,
                })
        };
        write(0x28, &0u64.to_le_bytes())?;
        write(0x3C, &[0, 0, 0, 0])?;
    }
    use std::os::unix::fs::PermissionsExt;
    out.mode = 0o755;
    let _ = out
        .file
        .set_permissions(std::fs::Permissions::from_mode(0o700));
    Ok(align_up(done))
}

/// Write an image file at `path` atomically: a temporary file beside it,
/// synced, renamed over `path`, the directory synced. On any error `path`
/// is untouched and no temporary file remains.
pub fn write_image(
    path: &Path,
    meta: &ImageMeta,
    sections: &[SectionOut],
) -> Result<WriteReport, ImageError> {
    let mut tmp = TempFile::beside(path)?;
    let r = write_into(&mut tmp, meta, sections, 0, path)?;
    tmp.commit()?;
    Ok(r)
}

/// What the header (§2) says, once its magic, version, checksum and
/// geometry are found right.
struct Header {
    minor: u32,
    fingerprint: u64,
    static_region_offset: u64,
    tables_off: u64,
    tables_len: u64,
    tables_crc: u32,
    nroots: usize,
    nprims: usize,
    nsections: usize,
    nchunks: u64,
    saved_at: u64,
    writer: String,
}

/// What the tables (§4) hold.
struct Tables {
    roots: Vec<(String, u64)>,
    primitives: Vec<String>,
    sections: Vec<Section>,
    checksums: Vec<u32>,
}

/// Check a header of `HEADER_BYTES` (§8.3 but the fingerprint); `len` is
/// the image's length, for the tables' place. The error's cause.
fn parse_header(h: &[u8], len: u64) -> Result<Header, HeaderFault> {
    if h[..8] == MAGIC_UNFINISHED {
        return Err(HeaderFault::Incomplete);
    }
    if h[..8] != MAGIC {
        return Err(HeaderFault::NotAnImage);
    }
    let major = get_u32(h, 8);
    if major != FORMAT_MAJOR {
        return Err(HeaderFault::Version(major));
    }
    if get_u32(h, 124) != header_crc(h) {
        return Err(HeaderFault::Damaged(
            "the header's checksum does not match".into(),
        ));
    }
    if get_u32(h, 24) != 64 || get_u32(h, 28) as u64 != ALIGN || get_u32(h, 68) as u64 != CHUNK {
        return Err(HeaderFault::Damaged(
            "it was written for another word size or alignment".into(),
        ));
    }
    let tables_off = get_u64(h, 40);
    let tables_len = get_u64(h, 48);
    let tables_end = tables_off.checked_add(tables_len).filter(|&e| e <= len);
    if tables_off < HEADER_BYTES || tables_end.is_none() || tables_len > (1 << 30) {
        return Err(HeaderFault::Damaged("its tables lie outside it".into()));
    }
    let w = &h[88..120];
    let wl = w.iter().position(|&b| b == 0).unwrap_or(w.len());
    Ok(Header {
        minor: get_u32(h, 12),
        fingerprint: get_u64(h, 16),
        static_region_offset: get_u64(h, 32),
        tables_off,
        tables_len,
        tables_crc: get_u32(h, 120),
        nroots: get_u32(h, 56) as usize,
        nprims: get_u32(h, 60) as usize,
        nsections: get_u32(h, 64) as usize,
        nchunks: get_u64(h, 72),
        saved_at: get_u64(h, 80),
        writer: String::from_utf8_lossy(&w[..wl]).into_owned(),
    })
}

/// Why a header was refused.
enum HeaderFault {
    NotAnImage,
    Incomplete,
    Version(u32),
    Damaged(String),
}

/// Parse and check the tables `t` of an image of `len` bytes described by
/// `hd` (§8.4 but the primitives' names). Section offsets stay relative to
/// the image's start. The cause of a refusal.
fn parse_tables(t: &[u8], hd: &Header, len: u64) -> Result<Tables, String> {
    if crc(t) != hd.tables_crc {
        return Err("the tables' checksum does not match".into());
    }
    let mut c = Cursor { t, at: 0 };
    let short = || "its tables are cut short or hold a name that is not UTF-8".to_string();
    let mut roots = Vec::with_capacity(hd.nroots.min(1 << 16));
    for _ in 0..hd.nroots {
        let n = c.name().ok_or_else(short)?;
        let v = c.u64().ok_or_else(short)?;
        roots.push((n, v));
    }
    let mut primitives = Vec::with_capacity(hd.nprims.min(1 << 16));
    for _ in 0..hd.nprims {
        primitives.push(c.name().ok_or_else(short)?);
    }
    let tables_end = hd.tables_off + hd.tables_len;
    let mut sections: Vec<Section> = Vec::new();
    for _ in 0..hd.nsections {
        let b = c.take(40).ok_or_else(short)?;
        let kind = match get_u32(b, 0) {
            0 => SectionKind::Pure,
            1 => SectionKind::Static,
            k => return Err(format!("unknown section kind {k}")),
        };
        let s = Section {
            kind,
            file_offset: get_u64(b, 8),
            len: get_u64(b, 16),
            region_offset: get_u64(b, 24),
            first_chunk: get_u64(b, 32),
        };
        let end = s.file_offset.checked_add(s.len);
        if !s.file_offset.is_multiple_of(ALIGN)
            || !s.region_offset.is_multiple_of(ALIGN)
            || s.file_offset < tables_end
            || end.is_none_or(|e| e > len - TRAILER_BYTES)
            || s.first_chunk
                .checked_add(s.len.div_ceil(CHUNK))
                .is_none_or(|e| e > hd.nchunks)
        {
            return Err("a section lies outside it or is misaligned".into());
        }
        if sections
            .iter()
            .any(|o| s.file_offset < o.file_offset + o.len && o.file_offset < s.file_offset + s.len)
        {
            return Err("two sections overlap".into());
        }
        if sections.iter().any(|o| {
            s.first_chunk < o.first_chunk + o.len.div_ceil(CHUNK)
                && o.first_chunk < s.first_chunk + s.len.div_ceil(CHUNK)
        }) {
            return Err("two sections share checksum chunks".into());
        }
        sections.push(s);
    }
    let mut checksums = Vec::with_capacity(hd.nchunks.min(1 << 20) as usize);
    for _ in 0..hd.nchunks {
        checksums.push(c.u32().ok_or_else(short)?);
    }
    Ok(Tables {
        roots,
        primitives,
        sections,
        checksums,
    })
}

impl Image {
    /// Open `path` and run the checks of §8.1–8.4, and §8.5 for images up
    /// to [`VERIFY_BODY_LIMIT`] (a larger image's body is checked as it is
    /// used: [`Image::body_check`]). `fingerprint` and `primitives`
    /// describe this build.
    ///
    /// # Errors
    /// The first check that fails, as its own [`ImageError`] variant.
    pub fn open(path: &Path, fingerprint: u64, primitives: &[&str]) -> Result<Image, ImageError> {
        let img = Image::open_unchecked(path)?;
        img.check_build(fingerprint, primitives)?;
        if img.len <= VERIFY_BODY_LIMIT {
            img.verify_body()?;
        }
        Ok(img)
    }

    /// Open and check the file, trailer, header and tables (§8.1–8.4
    /// without the comparison with this build).
    ///
    /// # Errors
    /// [`ImageError::NotAnImage`], [`ImageError::Truncated`],
    /// [`ImageError::Incomplete`], [`ImageError::VersionMismatch`],
    /// [`ImageError::Damaged`] or [`ImageError::Io`].
    pub fn open_unchecked(path: &Path) -> Result<Image, ImageError> {
        let p = path.display().to_string();
        let damaged = |cause: String| ImageError::Damaged {
            path: p.clone(),
            cause,
        };
        let not_an_image = |detail: Option<String>| ImageError::NotAnImage {
            path: p.clone(),
            detail,
        };
        let file = File::open(path).map_err(|source| ImageError::Io {
            path: p.clone(),
            what: "cannot open the image",
            source,
        })?;
        let md = file.metadata().map_err(|source| ImageError::Io {
            path: p.clone(),
            what: "cannot examine the image",
            source,
        })?;
        if !md.is_file() {
            return Err(not_an_image(Some("it is not a regular file".into())));
        }
        let size = md.len();
        if size < HEADER_BYTES + TRAILER_BYTES {
            if size >= 8 && is_image_magic(&read_at(&file, &p, 0, 8)?) {
                return Err(ImageError::Truncated {
                    path: p.clone(),
                    expected: None,
                    found: size,
                });
            }
            return Err(not_an_image(Some(if size == 0 {
                "the file is empty".into()
            } else {
                format!("{size} bytes is too short to hold one")
            })));
        }
        // §7: the trailer.
        let tr = read_at(&file, &p, size - TRAILER_BYTES, TRAILER_BYTES as usize)?;
        let (start, len) = if tr[..8] == TRAILER_MAGIC {
            if get_u32(&tr, 24) != crc(&tr[..24]) {
                return Err(damaged("the trailer's checksum does not match".into()));
            }
            if get_u32(&tr, 28) != 0 {
                return Err(damaged("the trailer's last four bytes are not zero".into()));
            }
            let start = get_u64(&tr, 8);
            let len = get_u64(&tr, 16);
            if start.checked_add(len) != Some(size) || len < HEADER_BYTES + TRAILER_BYTES {
                return Err(damaged("the trailer does not match the file's size".into()));
            }
            (start, len)
        } else {
            // No trailer: look at the header to say what this is.
            if is_image_magic(&read_at(&file, &p, 0, 8)?) {
                return Err(ImageError::Truncated {
                    path: p.clone(),
                    expected: expected_len(&file, size),
                    found: size,
                });
            }
            return Err(not_an_image(None));
        };
        // §2: the header.
        let h = read_at(&file, &p, start, HEADER_BYTES as usize)?;
        let hd = parse_header(&h, len).map_err(|f| match f {
            HeaderFault::NotAnImage => not_an_image(None),
            HeaderFault::Incomplete => ImageError::Incomplete { path: p.clone() },
            HeaderFault::Version(found) => ImageError::VersionMismatch {
                path: p.clone(),
                found,
                supported: FORMAT_MAJOR,
            },
            HeaderFault::Damaged(cause) => damaged(cause),
        })?;
        // §4: the tables.
        let t = read_at(&file, &p, start + hd.tables_off, hd.tables_len as usize)?;
        let tables = parse_tables(&t, &hd, len).map_err(damaged)?;
        Ok(Image {
            path: p.clone(),
            file,
            start,
            len,
            minor: hd.minor,
            fingerprint: hd.fingerprint,
            static_region_offset: hd.static_region_offset,
            saved_at: hd.saved_at,
            writer: hd.writer,
            roots: tables.roots,
            primitives: tables.primitives,
            sections: tables
                .sections
                .into_iter()
                .map(|s| Section {
                    file_offset: start + s.file_offset,
                    ..s
                })
                .collect(),
            checksums: tables.checksums,
        })
    }

    /// §8.3–8.4: the fingerprint and the primitive names against this build.
    ///
    /// # Errors
    /// [`ImageError::UnknownPrimitive`], [`ImageError::PrimitiveOrder`] or
    /// [`ImageError::FingerprintMismatch`].
    pub fn check_build(&self, fingerprint: u64, primitives: &[&str]) -> Result<(), ImageError> {
        for (i, name) in self.primitives.iter().enumerate() {
            match primitives.get(i) {
                Some(p) if p == name => {}
                Some(_) | None if !primitives.contains(&name.as_str()) => {
                    return Err(ImageError::UnknownPrimitive {
                        path: self.path.clone(),
                        name: name.clone(),
                    })
                }
                _ => {
                    return Err(ImageError::PrimitiveOrder {
                        path: self.path.clone(),
                        name: name.clone(),
                        index: i,
                    })
                }
            }
        }
        if self.fingerprint != fingerprint {
            return Err(ImageError::FingerprintMismatch {
                path: self.path.clone(),
                found: self.fingerprint,
                expected: fingerprint,
            });
        }
        Ok(())
    }

    /// §8.5: every chunk's checksum, section by section.
    ///
    /// # Errors
    /// [`ImageError::ChecksumMismatch`] naming the first damaged chunk, or
    /// [`ImageError::Io`] if the file cannot be mapped.
    pub fn verify_body(&self) -> Result<(), ImageError> {
        for s in &self.sections {
            let check = self.body_check(s, "")?;
            check.verify_all()?;
        }
        Ok(())
    }

    /// The checker of section `s`'s chunks: a read-only view of its bytes
    /// in the file and their checksums, to check a chunk at a time.
    /// `prefix` starts the message it writes when a process must end on
    /// damage ([`BodyCheck::damage_message`]).
    ///
    /// # Errors
    /// [`ImageError::Io`] if the file cannot be mapped.
    pub fn body_check(&self, s: &Section, prefix: &str) -> Result<BodyCheck, ImageError> {
        let first = usize::try_from(s.first_chunk).unwrap_or(usize::MAX);
        let n = usize::try_from(s.len.div_ceil(CHUNK)).unwrap_or(usize::MAX);
        let sums = first
            .checked_add(n)
            .and_then(|end| self.checksums.get(first..end))
            .ok_or_else(|| ImageError::Damaged {
                path: self.path.clone(),
                cause: "a section's checksums lie outside the table".into(),
            })?;
        BodyCheck::new(self, s, sums.to_vec(), prefix)
    }

    /// The value of root `name`.
    pub fn root(&self, name: &str) -> Option<u64> {
        self.roots.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// The bytes of section `s`, read into memory (for checks).
    ///
    /// # Errors
    /// [`ImageError::Io`] if the file cannot be mapped.
    pub fn read_section(&self, s: &Section) -> Result<Vec<u8>, ImageError> {
        let map =
            memmap2_read(&self.file, s.file_offset, s.len).map_err(|source| ImageError::Io {
                path: self.path.clone(),
                what: "cannot map the image",
                source,
            })?;
        Ok(map)
    }
}

/// Is `m` (the first 8 bytes of a file) an image's magic, finished or not?
fn is_image_magic(m: &[u8]) -> bool {
    m == MAGIC || m == MAGIC_UNFINISHED
}

/// `n` bytes of `f` at `at` (with `pread`: a file shorter than that is an
/// error, not a fault).
fn read_at(f: &File, path: &str, at: u64, n: usize) -> Result<Vec<u8>, ImageError> {
    let mut b = vec![0u8; n];
    f.read_exact_at(&mut b, at)
        .map_err(|source| ImageError::Io {
            path: path.to_string(),
            what: "cannot read the image",
            source,
        })?;
    Ok(b)
}

/// The length a plain image file whose trailer is missing should have, if
/// its header and tables are whole: the end of its last section, padded,
/// and the trailer.
fn expected_len(f: &File, size: u64) -> Option<u64> {
    if size < HEADER_BYTES {
        return None;
    }
    let mut h = vec![0u8; HEADER_BYTES as usize];
    f.read_exact_at(&mut h, 0).ok()?;
    let hd = parse_header(&h, size).ok()?;
    let mut t = vec![0u8; usize::try_from(hd.tables_len).ok()?];
    f.read_exact_at(&mut t, hd.tables_off).ok()?;
    // The sections' ends are checked against no length here.
    let tables = parse_tables(&t, &hd, u64::MAX).ok()?;
    let end = tables
        .sections
        .iter()
        .map(|s| s.file_offset + s.len)
        .max()
        .unwrap_or(hd.tables_off + hd.tables_len);
    align_up(end).checked_add(TRAILER_BYTES)
}

/// A section's bytes through a read-only mapping of the file.
fn memmap2_read(file: &File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    // Map from the page boundary below `offset`.
    let base = offset / ALIGN * ALIGN;
    let m = map_readonly(file, base, (offset - base + len) as usize)?;
    Ok(m[(offset - base) as usize..].to_vec())
}

#[allow(unsafe_code)]
fn map_readonly(file: &File, offset: u64, len: usize) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: private and read-only; only a truncation of the file while it
    // is mapped could fault, and images are replaced by rename, never
    // rewritten in place.
    unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)
    }
}

#[cfg(test)]
mod tests;
