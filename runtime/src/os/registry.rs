//! The fork registry: every lock a helper thread can hold, taken in a
//! fixed order around `fork` (see the invariant in `crate::os`).

use std::sync::{Arc, Mutex, MutexGuard};

/// A lock taken by `ForkRegistry::prepare`: some mutex, type erased.
trait ForkLockable: Send + Sync {
    fn hold(&self) -> Box<dyn Held + '_>;
}

/// A held guard (dropping it releases the lock).
trait Held {}
impl<T> Held for MutexGuard<'_, T> {}

impl<T: Send> ForkLockable for Mutex<T> {
    fn hold(&self) -> Box<dyn Held + '_> {
        Box::new(self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Every lock a helper thread can hold, in the order `prepare` takes them.
#[derive(Default)]
pub struct ForkRegistry {
    locks: Vec<(&'static str, Arc<dyn ForkLockable>)>,
}

/// The registry's locks, all held (for the duration of a `fork`).
pub struct ForkGuards<'a> {
    _guards: Vec<Box<dyn Held + 'a>>,
}

impl ForkRegistry {
    /// Create a mutex protecting `value`, registered under `name`.
    pub fn register<T: Send + 'static>(&mut self, name: &'static str, value: T) -> Arc<Mutex<T>> {
        let m = Arc::new(Mutex::new(value));
        self.locks.push((name, m.clone()));
        m
    }

    /// Take every registered lock, in registration order.
    pub fn prepare(&self) -> ForkGuards<'_> {
        ForkGuards {
            _guards: self.locks.iter().map(|(_, l)| l.hold()).collect(),
        }
    }

    /// The registered locks' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.locks.iter().map(|(n, _)| *n).collect()
    }

    /// Take and release each lock in turn (what a forked child checks).
    pub fn check_all(&self) {
        for (_, l) in &self.locks {
            drop(l.hold());
        }
    }
}
