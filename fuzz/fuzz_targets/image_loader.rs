//! Images the loader must refuse or accept without crashing: raw bytes
//! (first byte even), and a valid image whose static section the input
//! mutates, resealed with correct checksums so the structural check and
//! the loader see the damage (first byte odd).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use imp_images::{Image, ImageMeta, SectionKind, SectionOut};
use libfuzzer_sys::fuzz_target;

struct Base {
    meta: ImageMeta,
    body: Vec<u8>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let p = scratch("base");
        let mut rt = imp::Runtime::new().expect("runtime");
        rt.eval_str("(define data (list 1 \"two\" #(3 4) (expt 2 80) (make-hash-table) (lambda (x) x)))")
            .expect("data");
        rt.save_image(&p, None).expect("save");
        let img = Image::open_unchecked(&p).expect("open");
        let body = img.read_section(&img.sections[0]).expect("body");
        Base {
            meta: ImageMeta {
                fingerprint: img.fingerprint,
                static_region_offset: img.static_region_offset,
                roots: img.roots.clone(),
                primitives: img.primitives.clone(),
                writer: img.writer.clone(),
            },
            body,
        }
    })
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("imp-fuzz-{name}-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let p = scratch("input");
    match data.first() {
        Some(b) if b % 2 == 1 => {
            let base = base();
            let mut body = base.body.clone();
            for pair in data[1..].chunks(5) {
                if pair.len() == 5 {
                    let at = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]) as usize % body.len();
                    body[at] ^= pair[4];
                }
            }
            let s = [SectionOut {
                kind: SectionKind::Static,
                region_offset: base.meta.static_region_offset,
                bytes: &body,
            }];
            if imp_images::write_image(&p, &base.meta, &s).is_err() {
                return;
            }
        }
        _ => {
            if std::fs::write(&p, data).is_err() {
                return;
            }
        }
    }
    let _ = imp::image::describe(&p);
    let _ = imp::image::check(&p);
    let _ = std::fs::remove_file(&p);
});
