//! Any bytes as an image file: the loader returns an error or a runtime,
//! never crashes; a loaded image passes or fails the structural check
//! without crashing either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("imp-fuzz-image-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = imp::image::describe(&path);
    let _ = imp::image::check(&path);
    let _ = std::fs::remove_file(&path);
});
