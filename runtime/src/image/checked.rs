//! Marks of images (1 MiB or more) whose body has matched every checksum
//! (doc/IMAGE-FORMAT.md §8, item 5). Checking a 1 GiB body takes about
//! 100 ms, and until it is done a start holds its first effect; a file
//! that has been checked whole and not changed since need not be checked
//! again. A mark is a small file in a per-user cache directory, named by
//! a hash of the image file's identity: device, inode, size, the times of
//! its last modification and status change (to the nanosecond), where the
//! image starts in it, its length, layout fingerprint and save time. Any
//! write to the file, a copy, or a new save changes the identity, so the
//! next start checks the body again and marks it anew if it matches.
//!
//! The directory is `$IMP_CHECKED_IMAGES` (empty: no marks are read or
//! written), else `$XDG_CACHE_HOME/imp/checked-images`, else
//! `$HOME/.cache/imp/checked-images`. Marks are written best effort: a
//! directory that cannot be written only means the next start checks
//! again. An image in memory (`Runtime::from_image_bytes`, a `/proc`
//! path) is never marked.

use std::path::{Path, PathBuf};

use imp_images::Image;

/// Marks kept before those of images that are gone or changed are
/// removed.
const PRUNE_ABOVE: usize = 256;

/// How long ago a file must have last changed to be marked.
const SETTLED: std::time::Duration = std::time::Duration::from_millis(100);

/// What a mark says, and where it lives.
#[derive(Debug)]
pub(crate) struct Mark {
    /// The mark's file.
    file: PathBuf,
    /// Its contents: the image file's identity.
    text: String,
}

/// The directory of marks, if marks are in use.
fn directory() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("IMP_CHECKED_IMAGES") {
        return (!d.is_empty()).then(|| PathBuf::from(d));
    }
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".cache"),
    };
    Some(base.join("imp").join("checked-images"))
}

/// The identity of the file open as `file`, as a mark records it.
fn identity(file: &std::fs::File, path: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = file.metadata().ok()?;
    Some(format!(
        "imp checked image\npath {path}\ndev {} ino {} size {}\nmtime {}.{:09} ctime {}.{:09}\n",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

/// A stable 64-bit hash (FNV-1a) of `text`, for the mark's file name.
fn name_of(text: &str) -> String {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{h:016x}")
}

impl Mark {
    /// The mark `img` would have, if marks are in use for it.
    pub(crate) fn of(img: &Image) -> Option<Mark> {
        if img.path.starts_with("/proc/") {
            return None;
        }
        let path = std::fs::canonicalize(&img.path).ok()?;
        let mut text = identity(&img.file, path.to_str()?)?;
        text.push_str(&format!(
            "start {} len {} fingerprint {:016x} saved {}\n",
            img.start, img.len, img.fingerprint, img.saved_at
        ));
        let file = directory()?.join(name_of(&text));
        Some(Mark { file, text })
    }

    /// Did the file last change at least [`SETTLED`] ago?
    fn settled(&self) -> bool {
        let changed = self
            .text
            .lines()
            .find_map(|l| l.split_once(" ctime ").map(|(_, c)| c.to_string()));
        let Some((secs, nanos)) = changed.as_deref().and_then(|c| c.split_once('.')) else {
            return false;
        };
        let (Ok(secs), Ok(nanos)) = (secs.parse::<u64>(), nanos.parse::<u32>()) else {
            return false;
        };
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
        std::time::SystemTime::now()
            .duration_since(at)
            .is_ok_and(|age| age >= SETTLED)
    }

    /// Has this very file been checked whole?
    pub(crate) fn present(&self) -> bool {
        std::fs::read_to_string(&self.file).is_ok_and(|t| t == self.text)
    }

    /// Record that the file has been checked whole (best effort). Not
    /// done for a file changed within the last [`SETTLED`]: the kernel
    /// stamps times at the resolution of its clock tick, so a write in the
    /// same tick as the last one would leave the identity as it is.
    pub(crate) fn record(&self) {
        let Some(dir) = self.file.parent() else {
            return;
        };
        if !self.settled() {
            return;
        }
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        prune(dir);
        let tmp = self
            .file
            .with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &self.text).is_ok() && std::fs::rename(&tmp, &self.file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// With more than [`PRUNE_ABOVE`] marks in `dir`, remove those whose
/// image is gone or has changed (and leftovers of interrupted writes).
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    if entries.len() <= PRUNE_ABOVE {
        return;
    }
    for p in entries {
        let live = std::fs::read_to_string(&p).is_ok_and(|text| {
            text.lines()
                .nth(1)
                .and_then(|l| l.strip_prefix("path "))
                .and_then(|image| {
                    let f = std::fs::File::open(image).ok()?;
                    let now = identity(&f, image)?;
                    Some(text.starts_with(&now))
                })
                .unwrap_or(false)
        });
        if !live {
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::name_of;

    #[test]
    fn names_are_stable_and_differ() {
        assert_eq!(name_of(""), "cbf29ce484222325");
        assert_ne!(name_of("a"), name_of("b"));
        assert_eq!(name_of("imp").len(), 16);
    }
}
