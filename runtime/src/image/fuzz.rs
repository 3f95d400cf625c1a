//! The image loader's fuzzing property as ordinary code: whatever bytes a
//! file holds, describing it, checking it (`imp --check-image`) and
//! starting from it (`imp --image`) each end in a value or an error that
//! names the file, never a panic, an abort or a hang. The `image_loader`
//! target in `fuzz/` runs [`LoadFuzz::run`] on libFuzzer's inputs; the
//! test suite runs it on a few hundred seeded ones ([`LoadFuzz::input`]).

use std::path::{Path, PathBuf};

use imp_images::{Image, ImageMeta, SectionKind, SectionOut};

/// A valid image to damage, and where the damaged copies go.
pub struct LoadFuzz {
    /// The file each input is written to.
    path: PathBuf,
    /// The valid image's bytes.
    image: Vec<u8>,
    /// Its header and tables' contents.
    meta: ImageMeta,
    /// Its static section.
    body: Vec<u8>,
}

/// What became of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `imp --check-image` accepted it.
    pub checked: bool,
    /// What starting from it did.
    pub start: Start,
}

/// What starting from an image did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// It started (and its restore hooks ran).
    Started,
    /// The image was refused (the error names the file).
    Refused,
    /// It loaded, but its own code failed as it restored (bytes made
    /// right again can still make no sense).
    Failed,
}

/// How an input's first byte says to make the file.
const MODES: u8 = 4;

impl LoadFuzz {
    /// Save a runtime holding data of most kinds (so that damage falls on
    /// every kind of object) as the image to damage; inputs are written to
    /// a file in `dir`.
    ///
    /// # Errors
    /// Why the image could not be made or read back.
    pub fn new(dir: &Path) -> Result<LoadFuzz, String> {
        let base = dir.join("fuzz-base.img");
        let mut rt = crate::Runtime::new().map_err(|e| e.to_string())?;
        rt.eval_str(
            "(define-record-type point (make-point x y) point? (x point-x) (y point-y))
             (define data (list 1 \"two\" \"wide λ\" #(3 4) (expt 2 80) 1/3 2.5 #u8(1 2)
                                (make-hash-table) (lambda (x) x) (make-point 1 2)
                                (make-parameter 5) (delay 1) 'sym #\\x))
             (define (main) (length data))",
        )
        .map_err(|e| e.to_string())?;
        let main = rt.eval_str("main").map_err(|e| e.to_string())?;
        rt.save_image(&base, Some(&main))
            .map_err(|e| e.to_string())?;
        let img = Image::open_unchecked(&base).map_err(|e| e.to_string())?;
        let body = img
            .sections
            .first()
            .map(|s| img.read_section(s))
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let meta = ImageMeta {
            fingerprint: img.fingerprint,
            static_region_offset: img.static_region_offset,
            roots: img.roots.clone(),
            primitives: img.primitives.clone(),
            writer: img.writer.clone(),
        };
        let image = std::fs::read(&base).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&base);
        Ok(LoadFuzz {
            path: dir.join("fuzz-input.img"),
            image,
            meta,
            body,
        })
    }

    /// Write the file `data` describes, then describe, check and start
    /// from it. The first byte picks how the rest damages the valid image:
    /// `0` the rest is the file; `1` each 5 bytes flip bits of the static
    /// section (a 4-byte place, a mask), checksums made right again; `2`
    /// the same on the whole file, checksums left as they are; `3` a root
    /// (byte 1) set to the next 8 bytes, checksums made right again.
    ///
    /// # Errors
    /// Only if the file cannot be written.
    pub fn run(&self, data: &[u8]) -> Result<Outcome, String> {
        let (mode, rest) = match data.split_first() {
            Some((m, rest)) => (m % MODES, rest),
            None => (0, data),
        };
        let written = match mode {
            0 => std::fs::write(&self.path, rest).map_err(|e| e.to_string()),
            1 => {
                let mut body = self.body.clone();
                flip(&mut body, rest);
                self.reseal(&self.meta, &body)
            }
            2 => {
                let mut image = self.image.clone();
                flip(&mut image, rest);
                std::fs::write(&self.path, &image).map_err(|e| e.to_string())
            }
            _ => {
                let mut meta = self.meta.clone();
                if let (Some(&i), Some(v)) = (rest.first(), rest.get(1..9)) {
                    let n = meta.roots.len().max(1);
                    if let Some(r) = meta.roots.get_mut(usize::from(i) % n) {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(v);
                        r.1 = u64::from_le_bytes(w);
                    }
                }
                self.reseal(&meta, &self.body)
            }
        };
        written?;
        let named = |e: &str| e.contains(&self.path.display().to_string());
        let _ = super::describe(&self.path);
        let checked = match super::check(&self.path) {
            Ok(_) => true,
            Err(e) => {
                assert!(named(&e), "--check-image's error names no file: {e}");
                false
            }
        };
        let start = match crate::Runtime::from_image(&self.path) {
            // Its toplevel is not run: made-up bytecode is outside what
            // the checks cover (doc/IMAGE-FORMAT.md §8).
            Ok(_) => Start::Started,
            Err(crate::Error::Image(e)) => {
                assert!(named(&e), "a refused start names no file: {e}");
                Start::Refused
            }
            Err(_) => Start::Failed,
        };
        Ok(Outcome { checked, start })
    }

    /// Write `body` as the static section of an image with `meta`, every
    /// checksum right.
    fn reseal(&self, meta: &ImageMeta, body: &[u8]) -> Result<(), String> {
        let s = [SectionOut {
            kind: SectionKind::Static,
            region_offset: meta.static_region_offset,
            bytes: body,
        }];
        imp_images::write_image(&self.path, meta, &s)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// A seeded input of `len` bytes of mode `mode` (for the test suite).
    pub fn input(seed: u64, mode: u8, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut v = vec![mode];
        v.extend((0..len).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        }));
        v
    }
}

impl Drop for LoadFuzz {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Flip bits of `bytes`: each 5 bytes of `how` are a place (4 bytes,
/// wrapped to the length) and a mask.
fn flip(bytes: &mut [u8], how: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    for p in how.chunks_exact(5) {
        let at = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize % bytes.len();
        bytes[at] ^= p[4];
    }
}
