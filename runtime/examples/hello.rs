//! Evaluate Scheme, call it with Rust values, and let it call Rust.
//!
//! cargo run --release -p imp --example hello

use imp::{Error, Runtime};

fn main() -> Result<(), Error> {
    let mut rt = Runtime::new()?;

    // Evaluate source; the value of the last form comes back.
    let v =
        rt.eval_str("(define (greet name) (string-append \"hello, \" name)) (greet \"world\")")?;
    println!("{}", rt.display(&v));

    // Call a Scheme procedure by name with typed arguments and result.
    let square = rt.eval_str("(lambda (x) (* x x))")?;
    let squares: Vec<i64> = rt.call_global("map", (square, vec![1, 2, 3]))?;
    println!("{squares:?}");

    // Register a Rust function; Scheme calls it like any procedure.
    rt.register("rust-gcd", |_, (a, b): (u64, u64)| {
        let (mut a, mut b) = (a, b);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        Ok(a)
    })?;
    let g: u64 = rt.call_global("rust-gcd", (84, 36))?;
    println!("gcd = {g}");

    // Misuse is a Scheme error the script can catch.
    let msg = rt.eval_str("(guard (e (#t (error-object-message e))) (rust-gcd 1 \"x\"))")?;
    println!("{}", rt.display(&msg));
    Ok(())
}
