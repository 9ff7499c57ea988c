//! [`SingleLatest`]: one slot plus a version number; readers see the latest state.
//!
//! The full contract is documented on [`SingleLatest`].

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use aimdb_core::buffer::BufferReader;
use aimdb_core::DbError;

use super::reader::{self, Drained, Next, RawReader, Shared, Waiter};
use super::BufferStats;

pub(crate) struct Slot<T> {
    value: Option<T>,
    /// Number of pushes so far; `value.is_some() == (version > 0)`.
    version: u64,
}

#[derive(Debug)]
struct Cursor {
    /// Last version this reader returned (or the one before its first).
    seen: u64,
    coalesced: u64,
}

impl Cursor {
    #[inline]
    fn take<T: Clone>(&mut self, slot: &Slot<T>) -> Option<T> {
        if slot.version == self.seen {
            return None;
        }
        let value = slot.value.clone()?;
        self.coalesced += slot.version - self.seen - 1;
        self.seen = slot.version;
        Some(value)
    }

    fn drain<T: Clone>(&mut self, slot: &Slot<T>, out: &mut Vec<T>) -> Option<Drained> {
        let value = self.take(slot)?;
        out.push(value);
        Some(Drained {
            items: 1,
            lagged: 0,
        })
    }
}

/// One slot plus a version number; readers see the latest state.
///
/// # Semantics
///
/// * [`push`](SingleLatest::push) replaces the value and bumps the version.
/// * A new reader sees the current value first (if any), then every later version
///   it gets to, never the same version twice.
/// * Readers coalesce: a receive returns the latest value if its version is newer
///   than the one the reader last saw. Versions pushed in between are skipped and
///   counted per reader in [`coalesced`](LatestReader::coalesced); this is the
///   intended behaviour of a state buffer, not a lag, so no `BufferLagged` is ever
///   returned.
///
/// # Edge cases
///
/// * Before the first push, readers have nothing (`BufferEmpty` / they park).
/// * Versions that were pushed before a reader subscribed do not count as
///   coalesced for it.
/// * The value stays in the slot (readers clone it) until overwritten or until the
///   buffer and all readers are dropped.
///
/// # Cost
///
/// * `push`: one lock round-trip, O(1); the previous value is dropped after the
///   lock is released; `Event::notify` only if a reader is parked.
/// * Receive with a newer version: one lock round-trip and one `T::clone`.
/// * Parking: one `EventListener` allocation held in the reader until woken.
pub struct SingleLatest<T> {
    shared: Arc<Shared<Slot<T>>>,
}

/// Cloning gives another handle to the same buffer (an `Arc`).
impl<T> Clone for SingleLatest<T> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<T> Default for SingleLatest<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> SingleLatest<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared::new(Slot {
                value: None,
                version: 0,
            })),
        }
    }

    /// Replaces the value (the old one is dropped after the lock is released) and
    /// wakes parked readers.
    pub fn push(&self, value: T) {
        self.shared.produce(|slot, _| {
            slot.version += 1;
            slot.value.replace(value)
        });
    }

    /// A new reader; it sees the current value first, if there is one.
    pub fn subscribe(&self) -> LatestReader<T> {
        let seen = self.shared.attach(|slot| slot.version.saturating_sub(1));
        LatestReader {
            shared: self.shared.clone(),
            cursor: Cursor { seen, coalesced: 0 },
            waiter: Waiter::default(),
        }
    }

    /// Snapshot: `kind = "single_latest"`, `capacity = 1`, `len` = 0 or 1,
    /// `produced` = current version.
    pub fn stats(&self) -> BufferStats {
        self.shared.stats("single_latest", |slot| {
            (1, usize::from(slot.value.is_some()), slot.version)
        })
    }
}

impl<T> fmt::Debug for SingleLatest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SingleLatest").field(&self.stats()).finish()
    }
}

/// A reader of a [`SingleLatest`].
pub struct LatestReader<T> {
    shared: Arc<Shared<Slot<T>>>,
    cursor: Cursor,
    waiter: Waiter,
}

impl<T> LatestReader<T> {
    /// Versions this reader skipped because a newer one was pushed before it looked.
    pub fn coalesced(&self) -> u64 {
        self.cursor.coalesced
    }

    #[inline]
    pub(crate) fn cancel_wait(&mut self) {
        self.waiter.cancel(&self.shared);
    }

    #[inline(always)]
    pub(crate) fn is_parked(&self) -> bool {
        self.waiter.is_parked()
    }
}

impl<T: Clone> LatestReader<T> {
    /// The latest value if it is newer than the last one returned, else
    /// `Err(BufferEmpty)`.
    pub fn try_recv(&mut self) -> Result<T, DbError> {
        let Self { shared, cursor, .. } = self;
        shared
            .with(|slot| cursor.take(slot))
            .ok_or(DbError::BufferEmpty)
    }

    /// Waits for a version newer than the last one returned. Not boxed; see [`Next`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T> {
        Next::latest(self)
    }

    /// Appends the latest value if it is new (at most one item), one lock acquisition.
    pub fn drain_into(&mut self, out: &mut Vec<T>) -> Drained {
        let Self { shared, cursor, .. } = self;
        shared
            .with(|slot| cursor.drain(slot, out))
            .unwrap_or_default()
    }

    /// Waits for a new version, then appends it (one item).
    pub async fn recv_batch(&mut self, out: &mut Vec<T>) -> Drained {
        reader::recv_batch(self, out).await
    }
}

impl<T: Clone> RawReader<T> for LatestReader<T> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, DbError>> {
        let Self {
            shared,
            cursor,
            waiter,
        } = self;
        waiter.poll(shared, cx, |slot| cursor.take(slot).map(Ok))
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Drained> {
        let Self {
            shared,
            cursor,
            waiter,
        } = self;
        waiter.poll(shared, cx, |slot| cursor.drain(slot, out))
    }

    fn cancel_wait(&mut self) {
        LatestReader::cancel_wait(self);
    }
}

impl<T> Drop for LatestReader<T> {
    fn drop(&mut self) {
        self.waiter.detach(&self.shared, |_| ());
    }
}

impl<T> fmt::Debug for LatestReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatestReader")
            .field("seen", &self.cursor.seen)
            .field("coalesced", &self.cursor.coalesced)
            .field("parked", &self.waiter)
            .finish()
    }
}

impl<T: Clone + Send> BufferReader<T> for LatestReader<T> {
    fn recv(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, DbError>> + Send + '_>> {
        Box::pin(self.next())
    }

    fn try_recv(&mut self) -> Result<T, DbError> {
        LatestReader::try_recv(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::reader::test_util::Poller;
    use std::sync::Mutex;

    fn empty<T: fmt::Debug>(r: Result<T, DbError>) {
        assert!(matches!(r, Err(DbError::BufferEmpty)), "expected BufferEmpty, got {r:?}");
    }

    #[test]
    fn nothing_before_first_push() {
        let buf = SingleLatest::<u32>::new();
        let mut r = buf.subscribe();
        empty(r.try_recv());
        buf.push(1);
        assert_eq!(r.try_recv().unwrap(), 1);
        assert_eq!(r.coalesced(), 0);
    }

    #[test]
    fn late_reader_sees_current_value_first_once() {
        let buf = SingleLatest::new();
        buf.push(1u32);
        buf.push(2);
        buf.push(3);
        let mut r = buf.subscribe();
        assert_eq!(r.try_recv().unwrap(), 3);
        empty(r.try_recv());
        assert_eq!(r.coalesced(), 0, "versions before subscribe are not coalesced");
        buf.push(4);
        assert_eq!(r.try_recv().unwrap(), 4);
    }

    #[test]
    fn readers_coalesce_and_count_skipped_versions() {
        let buf = SingleLatest::new();
        let mut a = buf.subscribe();
        let mut b = buf.subscribe();
        for i in 1..=5u32 {
            buf.push(i);
        }
        assert_eq!(a.try_recv().unwrap(), 5);
        assert_eq!(a.coalesced(), 4);
        buf.push(6);
        buf.push(7);
        assert_eq!(a.try_recv().unwrap(), 7);
        assert_eq!(a.coalesced(), 5);
        assert_eq!(b.try_recv().unwrap(), 7);
        assert_eq!(b.coalesced(), 6);
    }

    #[test]
    fn drain_into_yields_at_most_one() {
        let buf = SingleLatest::new();
        let mut r = buf.subscribe();
        let mut out = Vec::new();
        assert_eq!(r.drain_into(&mut out), Drained::default());
        buf.push(1u32);
        buf.push(2);
        assert_eq!(r.drain_into(&mut out), Drained { items: 1, lagged: 0 });
        assert_eq!(out, [2]);
        assert_eq!(r.drain_into(&mut out), Drained::default());
    }

    #[test]
    fn parked_reader_is_woken_and_no_notify_without_parked() {
        let buf = SingleLatest::new();
        let mut r = buf.subscribe();
        buf.push(1u32); // no reader parked
        assert_eq!(buf.shared.epoch(), 0);
        assert_eq!(r.try_recv().unwrap(), 1);

        let p = Poller::new();
        let mut fut = r.next();
        assert!(p.poll(&mut fut).is_pending());
        assert_eq!(buf.stats().parked, 1);
        buf.push(2);
        assert_eq!(p.wakes(), 1);
        assert!(matches!(p.poll(&mut fut), Poll::Ready(Ok(2))));
        drop(fut);
        let s = buf.stats();
        assert_eq!((s.parked, s.listeners, s.notifies), (0, 0, 1));
    }

    #[test]
    fn dropping_reader_while_parked_frees_everything() {
        let buf = SingleLatest::<u32>::new();
        let p = Poller::new();
        for _ in 0..100 {
            let mut r = buf.subscribe();
            let mut fut = r.next();
            assert!(p.poll(&mut fut).is_pending());
            drop(fut);
            drop(r);
        }
        let s = buf.stats();
        assert_eq!((s.readers, s.parked, s.listeners), (0, 0, 0));
    }

    struct Probe(Arc<Mutex<Option<Arc<SingleLatest<Probe>>>>>);
    impl Clone for Probe {
        fn clone(&self) -> Self {
            Probe(self.0.clone())
        }
    }
    impl Drop for Probe {
        fn drop(&mut self) {
            if let Some(buf) = self.0.lock().unwrap().clone() {
                let _ = buf.stats();
            }
        }
    }

    #[test]
    fn replaced_values_are_dropped_outside_the_lock() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let slot = Arc::new(Mutex::new(None));
            let buf = Arc::new(SingleLatest::new());
            *slot.lock().unwrap() = Some(buf.clone());
            for _ in 0..3 {
                buf.push(Probe(slot.clone()));
            }
            slot.lock().unwrap().take();
            tx.send(()).unwrap();
        });
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("dropping a replaced value deadlocked on the buffer lock"),
            Err(e) => panic!("probe thread failed: {e}"),
        }
    }

    #[test]
    fn threaded_consumer_always_reaches_the_final_value() {
        const N: u32 = 20_000;
        let buf = Arc::new(SingleLatest::new());
        let mut r = buf.subscribe();
        let consumer = std::thread::spawn(move || {
            futures_lite::future::block_on(async {
                let mut last = 0;
                while last != N {
                    let v = r.next().await.unwrap();
                    assert!(v > last, "versions go forward");
                    last = v;
                }
                r.coalesced()
            })
        });
        for i in 1..=N {
            buf.push(i);
        }
        let coalesced = consumer.join().unwrap();
        assert!(coalesced < u64::from(N));
    }
}
