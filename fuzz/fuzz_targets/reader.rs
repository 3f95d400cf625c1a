//! Any text through the reader: data or a read error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut r = imp::reader::Reader::new(text);
        while let Ok(Some(_)) = r.read() {}
    }
});
