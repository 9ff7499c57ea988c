//! The executor's clock and timers.
//!
//! [`Clock`] is what budgets are measured with and what `sleep` waits on:
//! - [`Clock::Virtual`]: time stands still until the test calls
//!   [`VirtualClock::advance`], which fires due timers in deadline order. Backoff and
//!   timeouts become deterministic.
//! - `Clock::System` (native only): a monotonic clock; due timers fire when the executor
//!   ticks (see [`Clock::fire_due`]). For benchmarks and native hosts.
//! - `Clock::Host` (wasm32 only): `performance.now()` and `setTimeout` through
//!   `globalThis`, so it works in a Window and in a dedicated Worker.
//!
//! A [`Clock`] is `Send + Sync` (no `unsafe`): host timers are kept in a thread-local
//! table and the [`Sleep`] future holds only their key.

use alloc::vec::Vec;
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use spin::Mutex;

/// A clock: read it with [`Clock::now_ms`], wait on it with [`Clock::sleep`].
#[derive(Clone)]
pub enum Clock {
    /// Virtual time, advanced explicitly.
    Virtual(Arc<VirtualClock>),
    /// Monotonic system time (native).
    #[cfg(not(target_arch = "wasm32"))]
    System(Arc<SystemClock>),
    /// `performance.now()` + `setTimeout` (wasm32).
    #[cfg(target_arch = "wasm32")]
    Host,
}

impl core::fmt::Debug for Clock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Clock::Virtual(_) => "Clock::Virtual",
            #[cfg(not(target_arch = "wasm32"))]
            Clock::System(_) => "Clock::System",
            #[cfg(target_arch = "wasm32")]
            Clock::Host => "Clock::Host",
        })
    }
}

impl Clock {
    /// A new virtual clock starting at 0 ms.
    pub fn new_virtual() -> Self {
        Clock::Virtual(Arc::new(VirtualClock::default()))
    }

    /// The real clock of this platform: `performance.now()` on wasm32, a monotonic
    /// system clock elsewhere.
    pub fn real() -> Self {
        #[cfg(target_arch = "wasm32")]
        {
            Clock::Host
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            Clock::System(Arc::new(SystemClock::new()))
        }
    }

    /// Milliseconds since this clock's origin.
    #[inline]
    pub fn now_ms(&self) -> f64 {
        match self {
            Clock::Virtual(v) => v.now_ms(),
            #[cfg(not(target_arch = "wasm32"))]
            Clock::System(s) => s.now_ms(),
            #[cfg(target_arch = "wasm32")]
            Clock::Host => crate::host::performance_now(),
        }
    }

    /// A future that completes once `duration` has passed on this clock. Dropping it
    /// cancels the timer (a host timer is cleared at once).
    pub fn sleep(&self, duration: Duration) -> Sleep {
        let ms = duration.as_secs_f64() * 1000.0;
        match self {
            Clock::Virtual(v) => Sleep::timer(v.timers.clone(), v.now_us() + micros(duration)),
            #[cfg(not(target_arch = "wasm32"))]
            Clock::System(s) => Sleep::timer(s.timers.clone(), s.now_us() + micros(duration)),
            #[cfg(target_arch = "wasm32")]
            Clock::Host => Sleep { inner: SleepInner::Host(crate::host::HostSleep::new(ms)), ms: 0.0 },
        }
        .with_ms(ms)
    }

    /// Fires timers that are due. The executor calls this at the start of every tick;
    /// it matters for `System` (virtual timers fire in [`VirtualClock::advance`], host
    /// timers fire from the host).
    pub fn fire_due(&self) {
        match self {
            Clock::Virtual(v) => v.timers.fire_due(v.now_us()),
            #[cfg(not(target_arch = "wasm32"))]
            Clock::System(s) => s.timers.fire_due(s.now_us()),
            #[cfg(target_arch = "wasm32")]
            Clock::Host => {}
        }
    }

    /// The virtual clock, if this is one.
    pub fn as_virtual(&self) -> Option<&Arc<VirtualClock>> {
        match self {
            Clock::Virtual(v) => Some(v),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Virtual time in whole microseconds, plus its timers.
#[derive(Default)]
pub struct VirtualClock {
    now_us: Mutex<u64>,
    timers: Arc<TimerQueue>,
}

impl VirtualClock {
    /// Milliseconds of virtual time.
    pub fn now_ms(&self) -> f64 {
        self.now_us() as f64 / 1000.0
    }

    fn now_us(&self) -> u64 {
        *self.now_us.lock()
    }

    /// Moves time forward and wakes every timer now due, earliest deadline first (ties
    /// in creation order). Woken tasks run on the executor's next tick.
    pub fn advance(&self, by: Duration) {
        let now = {
            let mut now = self.now_us.lock();
            *now = now.saturating_add(micros(by));
            *now
        };
        self.timers.fire_due(now);
    }

    /// Timers registered and not yet fired or cancelled.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// The earliest pending deadline, in ms, if any.
    pub fn next_deadline_ms(&self) -> Option<f64> {
        self.timers.next_deadline_us().map(|us| us as f64 / 1000.0)
    }
}

/// Monotonic time since creation (native).
#[cfg(not(target_arch = "wasm32"))]
pub struct SystemClock {
    origin: std::time::Instant,
    timers: Arc<TimerQueue>,
}

#[cfg(not(target_arch = "wasm32"))]
impl SystemClock {
    fn new() -> Self {
        Self { origin: std::time::Instant::now(), timers: Arc::default() }
    }
    fn now_us(&self) -> u64 {
        micros(self.origin.elapsed())
    }
    fn now_ms(&self) -> f64 {
        self.origin.elapsed().as_secs_f64() * 1000.0
    }
}

/// Deadline-ordered timers. Keyed by `(deadline, id)` so firing order is total and
/// deterministic. A sorted `Vec` (binary-search insert and removal): timer counts are
/// small, and a `BTreeMap` would cost ~10 KB of wasm for this one use.
#[derive(Default)]
pub(crate) struct TimerQueue {
    state: Mutex<TimerState>,
}

#[derive(Default)]
struct TimerState {
    next_id: u64,
    timers: Vec<((u64, u64), Option<Waker>)>,
}

impl TimerQueue {
    fn register(&self, deadline_us: u64, waker: &Waker) -> u64 {
        let mut s = self.state.lock();
        let id = s.next_id;
        s.next_id += 1;
        let key = (deadline_us, id);
        let at = s.timers.partition_point(|(k, _)| *k < key);
        s.timers.insert(at, (key, Some(waker.clone())));
        id
    }

    /// Replaces the waker; returns false if the timer already fired.
    fn update(&self, key: (u64, u64), waker: &Waker) -> bool {
        let mut s = self.state.lock();
        match s.timers.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => {
                let slot = &mut s.timers[i].1;
                if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    *slot = Some(waker.clone());
                }
                true
            }
            Err(_) => false,
        }
    }

    fn cancel(&self, key: (u64, u64)) {
        let removed = {
            let mut s = self.state.lock();
            match s.timers.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => Some(s.timers.remove(i)),
                Err(_) => None,
            }
        };
        drop(removed); // the waker is dropped outside the lock
    }

    fn fire_due(&self, now_us: u64) {
        let due = {
            let mut s = self.state.lock();
            let due = s.timers.partition_point(|((deadline, _), _)| *deadline <= now_us);
            s.timers.drain(..due).collect::<Vec<_>>()
        };
        for (_, waker) in due {
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    fn len(&self) -> usize {
        self.state.lock().timers.len()
    }

    fn next_deadline_us(&self) -> Option<u64> {
        self.state.lock().timers.first().map(|((deadline, _), _)| *deadline)
    }
}

/// Future returned by [`Clock::sleep`]. `Send`; cancels its timer on drop.
pub struct Sleep {
    inner: SleepInner,
    ms: f64,
}

enum SleepInner {
    Timer { queue: Arc<TimerQueue>, deadline_us: u64, key: Option<(u64, u64)>, done: bool },
    #[cfg(target_arch = "wasm32")]
    Host(crate::host::HostSleep),
}

impl Sleep {
    fn timer(queue: Arc<TimerQueue>, deadline_us: u64) -> Self {
        Sleep { inner: SleepInner::Timer { queue, deadline_us, key: None, done: false }, ms: 0.0 }
    }
    fn with_ms(mut self, ms: f64) -> Self {
        self.ms = ms;
        self
    }
    /// The requested duration in ms.
    pub fn duration_ms(&self) -> f64 {
        self.ms
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &mut this.inner {
            SleepInner::Timer { queue, deadline_us, key, done } => {
                if *done {
                    return Poll::Ready(());
                }
                match *key {
                    None => {
                        *key = Some((*deadline_us, queue.register(*deadline_us, cx.waker())));
                        // The deadline may already have passed (zero sleep, or time moved).
                        // The next tick's `fire_due` (or `advance`) wakes us; checking here
                        // would need the clock, which the queue does not know.
                        Poll::Pending
                    }
                    Some(k) => {
                        if queue.update(k, cx.waker()) {
                            Poll::Pending
                        } else {
                            *done = true;
                            *key = None;
                            Poll::Ready(())
                        }
                    }
                }
            }
            #[cfg(target_arch = "wasm32")]
            SleepInner::Host(h) => Pin::new(h).poll(cx),
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let SleepInner::Timer { queue, key: Some(k), .. } = &self.inner {
            queue.cancel(*k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    #[test]
    fn virtual_sleep_fires_on_advance_only() {
        let clock = Clock::new_virtual();
        let v = clock.as_virtual().unwrap().clone();
        let mut s = Box::pin(clock.sleep(Duration::from_millis(50)));
        assert!(block_on(poll_once(s.as_mut())).is_none());
        v.advance(Duration::from_millis(49));
        assert!(block_on(poll_once(s.as_mut())).is_none());
        assert_eq!(v.pending_timers(), 1);
        v.advance(Duration::from_millis(1));
        assert_eq!(v.pending_timers(), 0);
        assert!(block_on(poll_once(s.as_mut())).is_some());
        assert_eq!(v.now_ms(), 50.0);
    }

    #[test]
    fn dropping_a_sleep_cancels_its_timer() {
        let clock = Clock::new_virtual();
        let v = clock.as_virtual().unwrap().clone();
        let mut s = Box::pin(clock.sleep(Duration::from_secs(1)));
        assert!(block_on(poll_once(s.as_mut())).is_none());
        assert_eq!(v.pending_timers(), 1);
        drop(s);
        assert_eq!(v.pending_timers(), 0);
    }

    #[test]
    fn timers_fire_in_deadline_order() {
        use std::sync::{Arc as StdArc, Mutex as StdMutex};
        let clock = Clock::new_virtual();
        let v = clock.as_virtual().unwrap().clone();
        let order = StdArc::new(StdMutex::new(Vec::new()));
        struct Rec(usize, StdArc<StdMutex<Vec<usize>>>);
        impl alloc::task::Wake for Rec {
            fn wake(self: Arc<Self>) {
                self.1.lock().unwrap().push(self.0);
            }
        }
        let mut sleeps = Vec::new();
        for (i, ms) in [30u64, 10, 20, 10].into_iter().enumerate() {
            let mut s = Box::pin(clock.sleep(Duration::from_millis(ms)));
            let w = Waker::from(Arc::new(Rec(i, order.clone())));
            assert!(s.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
            sleeps.push(s);
        }
        v.advance(Duration::from_millis(100));
        assert_eq!(*order.lock().unwrap(), vec![1, 3, 2, 0]);
    }
}
