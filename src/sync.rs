//! The one lock the buffers use.
//!
//! aimdb-core requires buffers to be `Send + Sync`. In the browser (wasm32 without the
//! `atomics` target feature) there is exactly one thread, so the lock can never be
//! contended; on native targets it can, and must be real. [`Lock`] is a
//! `spin::Mutex` on both: it is `Sync` by construction (no `unsafe impl`), costs one
//! compare-and-swap to take and a plain release store to give back, and on wasm32
//! without atomics both compile to ordinary loads and stores.
//!
//! Contract: no user code other than `T::clone` runs while a guard is held (wakers are
//! woken, old values dropped and listeners notified after the guard is released). On the
//! single-threaded target a failed `try_lock` can therefore only mean re-entrance, which
//! would spin forever; it panics with a message instead.

use spin::mutex::{SpinMutex, SpinMutexGuard};

/// A `spin` mutex that reports re-entrance instead of hanging on a single thread.
pub(crate) struct Lock<T>(SpinMutex<T>);

impl<T> Lock<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(SpinMutex::new(value))
    }

    /// Takes the lock. Native: spins while another thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> SpinMutexGuard<'_, T> {
        #[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
        {
            match self.0.try_lock() {
                Some(guard) => guard,
                None => panic!("aimdb-wasm: re-entrant buffer access (a Clone impl touched its own buffer)"),
            }
        }
        #[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
        {
            self.0.lock()
        }
    }
}
