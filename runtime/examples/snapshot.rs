//! Build up state in an engine, save it as an image, and start a new
//! engine from the image: every definition is there, and the host's
//! native functions are checked by name.
//!
//! cargo run --release -p imp --example snapshot

use imp::{Error, Runtime};

fn main() -> Result<(), Error> {
    let path = std::env::temp_dir().join(format!("imp-snapshot-{}.img", std::process::id()));

    let mut rt = Runtime::new()?;
    rt.register("host-name", |_, ()| Ok("first engine"))?;
    rt.eval_str(
        "(define counter 0)
         (define (tick!) (set! counter (+ counter 1)) (list (host-name) counter))",
    )?;
    rt.call_global::<()>("tick!", ())?;
    let report = rt.save_image(&path, None)?;
    println!("saved {} bytes", report.image_bytes);

    // A new engine from the image; the host registers its functions first.
    let (mut again, _) = Runtime::from_image_with(&path, |rt| {
        rt.register("host-name", |_, ()| Ok("second engine"))
    })?;
    let (who, n): (String, i64) = again.call_global("tick!", ())?;
    println!("{who}: counter = {n}");
    let _ = std::fs::remove_file(&path);
    Ok(())
}
