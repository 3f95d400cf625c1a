//! Why an image could not be written or loaded. Every variant names the
//! file; the kinds a caller may act on (not an image at all, cut short,
//! written by another imp, damaged) are variants of their own.

use crate::SectionKind;

/// Why an image could not be written or loaded. Every message names the
/// file and the cause.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An OS error on the file.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A save's destination exists and is not a regular file (nor a link
    /// to one): it is never replaced.
    #[error("{path}: is {kind}, not a regular file: refusing to replace it with an image")]
    NotRegularFile {
        /// The file.
        path: String,
        /// What it is ("a device", "a FIFO", …).
        kind: &'static str,
    },
    /// The file is not an imp image at all (§8.1–8.3): too short, no
    /// trailer and no image header, or another magic.
    #[error("{path}: not an imp image{}", detail_suffix(.detail))]
    NotAnImage {
        /// The file.
        path: String,
        /// What was found instead, if it says more ("the file is empty").
        detail: Option<String>,
    },
    /// An image whose end is missing: it starts as one, but its trailer
    /// is not there (§7).
    #[error("{path}: truncated image: its end is missing ({found} bytes{})", expected_suffix(*.expected))]
    Truncated {
        /// The file.
        path: String,
        /// Its length as the header and tables describe it, if they could
        /// be read.
        expected: Option<u64>,
        /// Its length on disk.
        found: u64,
    },
    /// The writer stopped before it wrote the real magic (§2).
    #[error("{path}: incomplete image: its writing did not finish")]
    Incomplete {
        /// The file.
        path: String,
    },
    /// Another major format version (§2).
    #[error("{path}: image format version {found} (this imp reads version {supported}): save it again with this imp")]
    VersionMismatch {
        /// The file.
        path: String,
        /// The image's major version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// Written by an imp with another object layout (§3).
    #[error("{path}: the image was written by an imp with another object layout (fingerprint {found:016x}, this imp {expected:016x}): save it again with this imp")]
    FingerprintMismatch {
        /// The file.
        path: String,
        /// The image's fingerprint.
        found: u64,
        /// This build's.
        expected: u64,
    },
    /// The image needs a native procedure this build does not have (§4.2).
    #[error("{path}: the image needs the native procedure `{name}`, which this imp does not have: save it again with this imp")]
    UnknownPrimitive {
        /// The file.
        path: String,
        /// The procedure's name.
        name: String,
    },
    /// The image numbers native procedures differently (§4.2).
    #[error("{path}: the image numbers native procedures differently from this imp (`{name}` is not number {index} here): save it again with this imp")]
    PrimitiveOrder {
        /// The file.
        path: String,
        /// The procedure's name.
        name: String,
        /// Its number in the image.
        index: usize,
    },
    /// A chunk of a section's bytes does not match its checksum (§4.4,
    /// §8.5).
    #[error("{path}: damaged image: chunk {chunk} of its {} section (bytes {start}..{end}) does not match its checksum", section_name(*.section))]
    ChecksumMismatch {
        /// The file.
        path: String,
        /// The section's kind.
        section: SectionKind,
        /// The chunk's index in the section.
        chunk: u64,
        /// Its first byte, from the section's start.
        start: u64,
        /// One past its last byte.
        end: u64,
    },
    /// The header, tables or trailer are damaged, or the heap inside
    /// breaks the format's rules (§8.2–8.7); `cause` says how.
    #[error("{path}: damaged image: {cause}")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong, in words.
        cause: String,
    },
    /// Anything else that stops a save or a load (an internal limit, a
    /// loop of links); `cause` says what.
    #[error("{path}: {cause}")]
    Other {
        /// The file.
        path: String,
        /// The cause, in words.
        cause: String,
    },
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

fn expected_suffix(e: Option<u64>) -> String {
    e.map(|e| format!(" of {e}")).unwrap_or_default()
}

pub(crate) fn section_name(k: SectionKind) -> &'static str {
    match k {
        SectionKind::Static => "static",
        SectionKind::Pure => "pure",
    }
}

impl ImageError {
    /// The file the error is about.
    pub fn path(&self) -> &str {
        match self {
            ImageError::Io { path, .. }
            | ImageError::NotRegularFile { path, .. }
            | ImageError::NotAnImage { path, .. }
            | ImageError::Truncated { path, .. }
            | ImageError::Incomplete { path }
            | ImageError::VersionMismatch { path, .. }
            | ImageError::FingerprintMismatch { path, .. }
            | ImageError::UnknownPrimitive { path, .. }
            | ImageError::PrimitiveOrder { path, .. }
            | ImageError::ChecksumMismatch { path, .. }
            | ImageError::Damaged { path, .. }
            | ImageError::Other { path, .. } => path,
        }
    }
}
