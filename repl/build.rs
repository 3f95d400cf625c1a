//! Boot a runtime (compiling the Scheme part of the standard library) and
//! save it as an image the `imp` binary embeds: a fresh `imp` then starts
//! by mapping that image instead of compiling `boot.scm` again.

use std::path::PathBuf;

fn main() {
    let out = match std::env::var("OUT_DIR") {
        Ok(d) => PathBuf::from(d).join("boot.img"),
        Err(e) => panic!("OUT_DIR is not set: {e}"),
    };
    if let Err(e) = imp::write_boot_image(&out, |_| Ok(())) {
        panic!("cannot write the boot image {}: {e}", out.display());
    }
}
