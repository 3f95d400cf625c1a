//! Run untrusted code: no access to files, programs or the environment,
//! a call budget, a heap limit and an interrupt from another thread; the
//! engine stays usable after each refusal.
//!
//! cargo run --release -p imp --example sandbox

use std::time::Duration;

use imp::{Error, Runtime};

fn main() -> Result<(), Error> {
    // Nothing granted: the script can compute and nothing else.
    let mut rt = Runtime::builder().build()?;
    match rt.eval_str("(call-with-output-file \"owned.txt\" (lambda (p) (write 'x p)))") {
        Err(e) => println!("refused: {e}"),
        Ok(_) => println!("wrote a file?"),
    }

    rt.set_fuel(Some(1_000_000));
    match rt.eval_str("(let loop () (loop))") {
        Err(e) => println!("stopped: {e}"),
        Ok(_) => println!("finished?"),
    }
    rt.set_fuel(None);

    rt.set_heap_limit(Some(64 << 20));
    match rt.eval_str("(make-vector 100000000 0)") {
        Err(e) => println!("refused: {e}"),
        Ok(_) => println!("allocated?"),
    }
    rt.set_heap_limit(None);

    let handle = rt.interrupt_handle();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        handle.interrupt();
    });
    match rt.eval_str("(let loop ((i 0)) (loop (+ i 1)))") {
        Err(e) => println!("interrupted: {e}"),
        Ok(_) => println!("finished?"),
    }

    // Still a working engine.
    let n: i64 = rt.call_global("+", (40, 2))?;
    println!("and still usable: {n}");
    Ok(())
}
