//! Any damage to an image, as `imp::image::fuzz::LoadFuzz::run` makes it
//! from the input (raw bytes, flipped bits with or without checksums made
//! right again, a root replaced): describing, checking and starting from
//! it end in a value or an error, never a crash.
#![no_main]

use std::sync::OnceLock;

use imp::image::fuzz::LoadFuzz;
use libfuzzer_sys::fuzz_target;

fn fuzz() -> &'static LoadFuzz {
    static BASE: OnceLock<LoadFuzz> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("imp-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        LoadFuzz::new(&dir).expect("base image")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = fuzz().run(data);
});
