//! `TimeOps` for [`WasmAdapter`]: the executor's clock.
//!
//! - Under a host strategy on wasm32: `performance.now()` and `setTimeout` through
//!   `globalThis` (works in a Worker); a sleep's timer is cleared when it is dropped.
//! - Under `manual`: the virtual clock. Time moves only when the test calls
//!   `VirtualClock::advance`, so backoff and timeouts are deterministic.

use crate::runtime::WasmAdapter;
use aimdb_executor::TimeOps;
use core::future::Future;
use core::time::Duration;

/// A point on the executor's clock, in milliseconds since its origin.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct WasmInstant(pub f64);

impl WasmInstant {
    /// Milliseconds since the clock's origin.
    pub fn as_millis_f64(self) -> f64 {
        self.0
    }
}

impl TimeOps for WasmAdapter {
    type Instant = WasmInstant;
    type Duration = Duration;

    fn now(&self) -> WasmInstant {
        WasmInstant(self.handle().clock().now_ms())
    }

    fn duration_since(&self, later: WasmInstant, earlier: WasmInstant) -> Option<Duration> {
        let ms = later.0 - earlier.0;
        (ms >= 0.0 && ms.is_finite()).then(|| Duration::from_secs_f64(ms / 1000.0))
    }

    fn millis(&self, ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn secs(&self, secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn micros(&self, micros: u64) -> Duration {
        Duration::from_micros(micros)
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.handle().clock().sleep(duration)
    }

    fn duration_as_nanos(&self, duration: Duration) -> u64 {
        u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
    }
}
