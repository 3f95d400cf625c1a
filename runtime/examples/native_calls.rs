//! Profile target: a Scheme loop calling a two-argument native function
//! that does nothing (`cargo run --release -p imp --example native_calls`).
fn main() -> Result<(), imp::Error> {
    let mut rt = imp::Runtime::new()?;
    rt.register("nop2", |_, (a, _b): (imp::Value, imp::Value)| Ok(a))?;
    let n = 5_000_000;
    if std::env::var("ONLY_INT").is_ok() {
        rt.register("nop2i", |_, (a, _b): (i64, i64)| Ok(a))?;
        rt.eval_str(&format!(
            "(let loop ((i 0)) (if (< i {n}) (begin (nop2i i i) (loop (+ i 1)))))"
        ))?;
        return Ok(());
    }
    let t = std::time::Instant::now();
    rt.eval_str(&format!(
        "(let loop ((i 0)) (if (< i {n}) (begin (nop2 i i) (loop (+ i 1)))))"
    ))?;
    println!(
        "{:.1} ns per call (Value arguments)",
        t.elapsed().as_nanos() as f64 / n as f64
    );
    rt.register("nop2i", |_, (a, _b): (i64, i64)| Ok(a))?;
    let t = std::time::Instant::now();
    rt.eval_str(&format!(
        "(let loop ((i 0)) (if (< i {n}) (begin (nop2i i i) (loop (+ i 1)))))"
    ))?;
    println!(
        "{:.1} ns per call (integer arguments)",
        t.elapsed().as_nanos() as f64 / n as f64
    );
    let t = std::time::Instant::now();
    rt.eval_str(&format!(
        "(define (f a b) a) (let loop ((i 0)) (if (< i {n}) (begin (f i i) (loop (+ i 1)))))"
    ))?;
    println!(
        "{:.1} ns per call (a Scheme procedure)",
        t.elapsed().as_nanos() as f64 / n as f64
    );
    Ok(())
}
