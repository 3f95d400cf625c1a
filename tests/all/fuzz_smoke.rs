//! Short, seeded runs of the fuzzing generators (`imp::fuzzing`): random
//! bytes and token soup through the reader, the compiler and the VM, and
//! every built-in called with awkward arguments. A panic anywhere fails
//! the test with the input that caused it. The long runs are
//! `runtime/examples/fuzz.rs` (see bench/README.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imp::fuzzing::{self, Outcome, Rng};

/// Interrupts `rt` every half second while `busy` is set past a grace
/// period, so an input that waits (a long `thread-sleep!`) cannot stall
/// the run; dropping the guard stops it.
struct Watchdog(Arc<AtomicBool>);

impl Watchdog {
    fn start(rt: &imp::Runtime) -> Watchdog {
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (rt.interrupt_handle(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                h.interrupt();
            }
        });
        Watchdog(stop)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn check(rt: &mut imp::Runtime, src: &str) -> Result<(), String> {
    match fuzzing::run(rt, src) {
        Outcome::Fine => Ok(()),
        Outcome::Panic(m) => Err(format!("panic on {src:?}: {m}")),
    }
}

#[test]
fn random_bytes_and_token_soup_are_values_or_errors() {
    let mut rng = Rng::new(20);
    let mut rt = fuzzing::sandbox().expect("runtime");
    let _dog = Watchdog::start(&rt);
    for _ in 0..1500 {
        let bytes = fuzzing::random_bytes(&mut rng, 120);
        // Source that is not UTF-8 is an error before it is read.
        if let Ok(src) = imp::source_text(bytes, "<fuzz>") {
            check(&mut rt, &src).unwrap_or_else(|e| panic!("{e}"));
        }
        let n = 1 + rng.below(40);
        let soup = fuzzing::token_soup(&mut rng, n);
        check(&mut rt, &soup).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_built_in_with_random_arguments_is_a_value_or_an_error() {
    let mut rng = Rng::new(21);
    let mut rt = fuzzing::sandbox().expect("runtime");
    let names = fuzzing::procedure_names(&mut rt);
    assert!(names.len() > 300, "{} procedures", names.len());
    assert!(
        !names.iter().any(|n| n.starts_with('%')),
        "internal names are visible"
    );
    let _dog = Watchdog::start(&rt);
    // Each built-in a few times over.
    for i in 0..4 * names.len() {
        let src = fuzzing::builtin_call(&mut rng, &names[i % names.len()]);
        check(&mut rt, &src).unwrap_or_else(|e| panic!("{e}"));
    }
}
