//! [`SpmcRing`]: a bounded broadcast ring with a cursor per reader.
//!
//! The full contract is documented on [`SpmcRing`].

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use aimdb_core::buffer::{BufferCfg, BufferReader};
use aimdb_core::DbError;

use super::reader::{self, Drained, Next, RawReader, Shared, Waiter};
use super::{validate_buffer_cfg, BufferCfgError, BufferStats};

/// Smallest first allocation, in slots.
const MIN_GROW: usize = 4;

/// Ring storage. `buf` grows up to `capacity`; slot of sequence `s` is
/// `s % capacity`, which `write_slot` tracks incrementally for `tail`.
pub(crate) struct Ring<T> {
    buf: Vec<T>,
    capacity: usize,
    /// Sequence number of the next push (= items ever pushed).
    tail: u64,
    /// `tail % capacity`.
    write_slot: usize,
}

impl<T> Ring<T> {
    /// Writes `value`, returning the overwritten item (if the ring was full).
    #[inline]
    fn write(&mut self, value: T) -> Option<T> {
        let evicted = if self.buf.len() < self.capacity {
            self.fill(value);
            None
        } else {
            Some(std::mem::replace(&mut self.buf[self.write_slot], value))
        };
        self.write_slot += 1;
        if self.write_slot == self.capacity {
            self.write_slot = 0;
        }
        self.tail += 1;
        evicted
    }

    /// `write` while the ring is still growing (`write_slot == buf.len()`): appends,
    /// growing the storage (doubling, clamped to `capacity`). Out of line: a ring is
    /// full for all but its first `capacity` pushes.
    #[cold]
    #[inline(never)]
    fn fill(&mut self, value: T) {
        if self.buf.len() == self.buf.capacity() {
            let len = self.buf.len();
            let target = len.saturating_mul(2).max(MIN_GROW).min(self.capacity);
            self.buf.reserve_exact(target.saturating_sub(len).max(1));
        }
        self.buf.push(value);
    }

    /// Sequence number of the oldest retained item.
    #[inline]
    fn oldest(&self) -> u64 {
        self.tail - self.buf.len() as u64
    }

    /// Slot of the oldest retained item.
    #[inline]
    fn oldest_slot(&self) -> usize {
        if self.buf.len() == self.capacity {
            self.write_slot
        } else {
            0
        }
    }
}

/// A reader's position: sequence number plus the matching slot index.
#[derive(Debug)]
struct Cursor {
    next: u64,
    slot: usize,
    lagged_total: u64,
}

impl Cursor {
    /// If the items at the cursor were overwritten, jumps to the oldest retained one
    /// and returns how many were missed.
    #[inline]
    fn catch_up<T>(&mut self, ring: &Ring<T>) -> u64 {
        let oldest = ring.oldest();
        if self.next >= oldest {
            return 0;
        }
        let lag = oldest - self.next;
        self.next = oldest;
        self.slot = ring.oldest_slot();
        self.lagged_total += lag;
        lag
    }

    #[inline]
    fn take<T: Clone>(&mut self, ring: &Ring<T>) -> Option<Result<T, DbError>> {
        if self.next == ring.tail {
            return None;
        }
        let lag = self.catch_up(ring);
        if lag > 0 {
            return Some(Err(DbError::BufferLagged {
                lag_count: lag,
                _buffer_name: (),
            }));
        }
        let value = ring.buf[self.slot].clone();
        self.next += 1;
        self.slot += 1;
        if self.slot == ring.capacity {
            self.slot = 0;
        }
        Some(Ok(value))
    }

    /// Appends the oldest `max` (at least one) of the items available to this reader.
    fn drain<T: Clone>(&mut self, ring: &Ring<T>, out: &mut Vec<T>, max: usize) -> Option<Drained> {
        if self.next == ring.tail {
            return None;
        }
        let lagged = self.catch_up(ring);
        // After catch_up the pending items are all retained, so n <= capacity.
        let n = ((ring.tail - self.next) as usize).min(max.max(1));
        let first = n.min(ring.buf.len() - self.slot);
        out.reserve(n);
        out.extend_from_slice(&ring.buf[self.slot..self.slot + first]);
        out.extend_from_slice(&ring.buf[..n - first]);
        self.next += n as u64;
        // Wraps only when the ring is full (buf.len() == capacity); n <= capacity.
        let slot = self.slot + n;
        self.slot = if slot >= ring.capacity { slot - ring.capacity } else { slot };
        Some(Drained { items: n, lagged })
    }
}

/// A bounded broadcast ring with a cursor per reader.
///
/// # Semantics
///
/// * Holds at most `capacity` items. [`push`](SpmcRing::push) never blocks and never
///   fails: when the ring is full it overwrites the oldest item.
/// * Every [`RingReader`] has its own cursor (a sequence number). Readers never take
///   items away from each other; each sees every item that is still retained when it
///   gets there, in push order.
/// * A new reader starts at the write position: it sees only items pushed after
///   [`subscribe`](SpmcRing::subscribe), never the backlog.
/// * A reader that fell behind by more than `capacity` gets
///   `Err(DbError::BufferLagged { lag_count: n, .. })` **once**, where `n` is exactly
///   the number of items it missed; its cursor jumps to the oldest retained item and
///   the next receive continues from there. Missed items accumulate in
///   [`lagged_total`](RingReader::lagged_total). [`drain_into`](RingReader::drain_into)
///   folds the lag into [`Drained::lagged`] instead of returning an error.
///
/// # Edge cases
///
/// * `capacity` must be in `1..=MAX_RING_CAPACITY`; [`SpmcRing::try_new`] returns
///   [`BufferCfgError`] otherwise, [`SpmcRing::new`] panics.
/// * Storage grows lazily (doubling, clamped to `capacity`): a ring created with a
///   large capacity allocates nothing until items are pushed, and never more than
///   `capacity` slots.
/// * Items stay in the ring after every reader has read them (it is a broadcast
///   ring; they are dropped when overwritten or when the ring and all readers are
///   gone).
///
/// # Cost
///
/// * `push`: one lock round-trip, amortised O(1) (a `Vec` reserve while the ring is
///   still growing, out of line: a ring is full after its first `capacity` pushes).
///   The overwritten item is dropped after the lock is released. `Event::notify` is
///   called only if some reader is parked.
/// * `try_recv` / `next` with an item available: one lock round-trip and one
///   `T::clone`; no allocation and, for `next`, no call: the not-parked fast path of
///   the poll is inlined, and dropping a `Next` that completed touches nothing. The
///   slot index is kept beside the sequence number, so there is no `u64 %` per item.
///   Measured on wasm32 (`benches/browser/wasm32.mjs`, Node 20, `u64` items, ring of
///   4096, one run): one push plus a `next()` per reader costs ~4.5 ns per item with
///   1 reader, ~12 ns with 4, ~42 ns with 16 (~2.4 ns per delivery); the published
///   aimdb-wasm-adapter 0.2.0 (a boxed future per receive) ~21 / ~62 / ~225 ns.
/// * `drain_into`: one lock round-trip for the whole batch, `k` clones (at most two
///   `extend_from_slice` calls).
/// * Parking (nothing available): one `EventListener` allocation, held in the reader
///   until woken or withdrawn.
pub struct SpmcRing<T> {
    shared: Arc<Shared<Ring<T>>>,
}

/// Cloning gives another handle to the same buffer (an `Arc`).
impl<T> Clone for SpmcRing<T> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<T> SpmcRing<T> {
    /// Creates a ring holding at most `capacity` items, allocating nothing yet.
    ///
    /// # Panics
    /// If `capacity` is 0 or above [`MAX_RING_CAPACITY`](super::MAX_RING_CAPACITY); use [`try_new`](Self::try_new)
    /// to get an error instead.
    pub fn new(capacity: usize) -> Self {
        match Self::try_new(capacity) {
            Ok(ring) => ring,
            Err(e) => panic!("aimdb-wasm: {e}"),
        }
    }

    /// Creates a ring holding at most `capacity` items, allocating nothing yet.
    pub fn try_new(capacity: usize) -> Result<Self, BufferCfgError> {
        validate_buffer_cfg(&BufferCfg::SpmcRing { capacity })?;
        Ok(Self {
            shared: Arc::new(Shared::new(Ring {
                buf: Vec::new(),
                capacity,
                tail: 0,
                write_slot: 0,
            })),
        })
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.shared.with(|r| r.capacity)
    }

    /// Appends `value`, overwriting the oldest item if the ring is full. Wakes
    /// parked readers (and only then calls `notify`).
    #[inline]
    pub fn push(&self, value: T) {
        self.shared.produce(|ring, _| ring.write(value));
    }

    /// A new reader positioned at the write position (sees only later pushes).
    pub fn subscribe(&self) -> RingReader<T> {
        let (next, slot) = self.shared.attach(|r| (r.tail, r.write_slot));
        RingReader {
            shared: self.shared.clone(),
            cursor: Cursor {
                next,
                slot,
                lagged_total: 0,
            },
            waiter: Waiter::default(),
        }
    }

    /// Snapshot: `kind = "spmc_ring"`, `len` = retained items.
    pub fn stats(&self) -> BufferStats {
        self.shared
            .stats("spmc_ring", |r| (r.capacity, r.buf.len(), r.tail))
    }

    #[cfg(test)]
    fn allocated_slots(&self) -> usize {
        self.shared.with(|r| r.buf.capacity())
    }
}

impl<T> fmt::Debug for SpmcRing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SpmcRing").field(&self.stats()).finish()
    }
}

/// A reader of an [`SpmcRing`], with its own cursor.
pub struct RingReader<T> {
    shared: Arc<Shared<Ring<T>>>,
    cursor: Cursor,
    waiter: Waiter,
}

impl<T> RingReader<T> {
    /// Total items this reader missed because they were overwritten first.
    pub fn lagged_total(&self) -> u64 {
        self.cursor.lagged_total
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

impl<T: Clone> RingReader<T> {
    /// The next item without waiting: `Err(BufferEmpty)` when caught up,
    /// `Err(BufferLagged)` once after falling behind (see module docs).
    pub fn try_recv(&mut self) -> Result<T, DbError> {
        let Self { shared, cursor, .. } = self;
        shared
            .with(|ring| cursor.take(ring))
            .unwrap_or(Err(DbError::BufferEmpty))
    }

    /// Waits for the next item (or a lag report). Not boxed; see [`Next`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T> {
        Next::ring(self)
    }

    /// Appends every item available to this reader under one lock acquisition.
    /// A lag is folded in (`lagged`), not returned as an error.
    pub fn drain_into(&mut self, out: &mut Vec<T>) -> Drained {
        let Self { shared, cursor, .. } = self;
        shared
            .with(|ring| cursor.drain(ring, out, usize::MAX))
            .unwrap_or_default()
    }

    /// Like [`poll_drain`](RawReader::poll_drain), but appends at most `max` items (at
    /// least one); the rest stay for the next call. Lets a consumer that hands items
    /// out one by one hold a bounded batch instead of the whole backlog (up to the
    /// capacity, `2^20` items).
    pub fn poll_drain_max(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>, max: usize) -> Poll<Drained> {
        let Self {
            shared,
            cursor,
            waiter,
        } = self;
        waiter.poll(shared, cx, |ring| cursor.drain(ring, out, max))
    }

    /// Waits until at least one item is available, then drains like
    /// [`drain_into`](Self::drain_into).
    pub async fn recv_batch(&mut self, out: &mut Vec<T>) -> Drained {
        reader::recv_batch(self, out).await
    }
}

impl<T: Clone> RawReader<T> for RingReader<T> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, DbError>> {
        let Self {
            shared,
            cursor,
            waiter,
        } = self;
        waiter.poll(shared, cx, |ring| cursor.take(ring))
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Drained> {
        let Self {
            shared,
            cursor,
            waiter,
        } = self;
        waiter.poll(shared, cx, |ring| cursor.drain(ring, out, usize::MAX))
    }

    fn cancel_wait(&mut self) {
        RingReader::cancel_wait(self);
    }
}

impl<T> Drop for RingReader<T> {
    fn drop(&mut self) {
        self.waiter.detach(&self.shared, |_| ());
    }
}

impl<T> fmt::Debug for RingReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingReader")
            .field("next", &self.cursor.next)
            .field("lagged_total", &self.cursor.lagged_total)
            .field("parked", &self.waiter)
            .finish()
    }
}

impl<T: Clone + Send> BufferReader<T> for RingReader<T> {
    fn recv(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, DbError>> + Send + '_>> {
        Box::pin(self.next())
    }

    fn try_recv(&mut self) -> Result<T, DbError> {
        RingReader::try_recv(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::reader::test_util::Poller;
    use crate::buffer::MAX_RING_CAPACITY;
    use std::sync::Mutex;
    use std::task::Poll;

    fn lag(r: Result<u32, DbError>) -> u64 {
        match r {
            Err(DbError::BufferLagged { lag_count, .. }) => lag_count,
            other => panic!("expected BufferLagged, got {other:?}"),
        }
    }

    fn empty<T: fmt::Debug>(r: Result<T, DbError>) {
        assert!(matches!(r, Err(DbError::BufferEmpty)), "expected BufferEmpty, got {r:?}");
    }

    #[test]
    fn overflow_reports_exact_lag_then_oldest_retained() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        for i in 0..10u32 {
            ring.push(i);
        }
        assert_eq!(lag(r.try_recv()), 6);
        for i in 6..10 {
            assert_eq!(r.try_recv().unwrap(), i);
        }
        empty(r.try_recv());
        assert_eq!(r.lagged_total(), 6);
    }

    #[test]
    fn lag_is_reported_once_and_reading_continues() {
        let ring = SpmcRing::new(3);
        let mut r = ring.subscribe();
        for i in 0..5u32 {
            ring.push(i);
        }
        assert_eq!(lag(r.try_recv()), 2);
        assert_eq!(r.try_recv().unwrap(), 2);
        // Cursor at 3; overflow again: tail = 10, retained 7..=9 -> missed 3, 4, 5, 6.
        for i in 5..10u32 {
            ring.push(i);
        }
        assert_eq!(lag(r.try_recv()), 4);
        assert_eq!(r.try_recv().unwrap(), 7);
        ring.push(10);
        assert_eq!(r.try_recv().unwrap(), 8);
        assert_eq!(r.try_recv().unwrap(), 9);
        assert_eq!(r.try_recv().unwrap(), 10);
        empty(r.try_recv());
        assert_eq!(r.lagged_total(), 6);
    }

    #[test]
    fn exactly_capacity_behind_is_not_a_lag() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        for i in 0..4u32 {
            ring.push(i);
        }
        for i in 0..4 {
            assert_eq!(r.try_recv().unwrap(), i);
        }
        assert_eq!(r.lagged_total(), 0);
    }

    #[test]
    fn readers_have_independent_cursors() {
        let ring = SpmcRing::new(8);
        let mut a = ring.subscribe();
        let mut b = ring.subscribe();
        ring.push(1u32);
        ring.push(2);
        assert_eq!(a.try_recv().unwrap(), 1);
        assert_eq!(a.try_recv().unwrap(), 2);
        empty(a.try_recv());
        assert_eq!(b.try_recv().unwrap(), 1);
        ring.push(3);
        assert_eq!(b.try_recv().unwrap(), 2);
        assert_eq!(b.try_recv().unwrap(), 3);
        assert_eq!(a.try_recv().unwrap(), 3);
    }

    #[test]
    fn late_reader_sees_only_new_items_even_after_wrap() {
        let ring = SpmcRing::new(3);
        for i in 0..7u32 {
            ring.push(i);
        }
        let mut r = ring.subscribe();
        empty(r.try_recv());
        ring.push(7);
        ring.push(8);
        assert_eq!(r.try_recv().unwrap(), 7);
        assert_eq!(r.try_recv().unwrap(), 8);
        empty(r.try_recv());
    }

    #[test]
    fn drain_without_lag_wraps_around_the_end() {
        let ring = SpmcRing::new(4);
        for i in 0..3u32 {
            ring.push(i);
        }
        let mut r = ring.subscribe(); // at seq 3, slot 3
        for i in 3..7u32 {
            ring.push(i); // slots 3,0,1,2
        }
        let mut out = vec![99];
        assert_eq!(r.drain_into(&mut out), Drained { items: 4, lagged: 0 });
        assert_eq!(out, [99, 3, 4, 5, 6]);
        assert_eq!(r.drain_into(&mut out), Drained::default());
        ring.push(7);
        assert_eq!(r.try_recv().unwrap(), 7);
    }

    #[test]
    fn capped_drain_takes_the_oldest_and_keeps_the_rest_across_the_wrap() {
        let ring = SpmcRing::new(4);
        for i in 0..3u32 {
            ring.push(i);
        }
        let mut r = ring.subscribe(); // at seq 3, slot 3
        for i in 3..7u32 {
            ring.push(i); // slots 3,0,1,2
        }
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        let drain = |r: &mut RingReader<u32>, out: &mut Vec<u32>, max, cx: &mut Context<'_>| match r.poll_drain_max(cx, out, max) {
            Poll::Ready(d) => d,
            Poll::Pending => Drained::default(),
        };
        assert_eq!(drain(&mut r, &mut out, 1, &mut cx), Drained { items: 1, lagged: 0 });
        assert_eq!(drain(&mut r, &mut out, 2, &mut cx), Drained { items: 2, lagged: 0 });
        assert_eq!(out, [3, 4, 5]);
        // max 0 still makes progress.
        assert_eq!(drain(&mut r, &mut out, 0, &mut cx), Drained { items: 1, lagged: 0 });
        assert_eq!(out, [3, 4, 5, 6]);
        assert!(r.poll_drain_max(&mut cx, &mut out, 8).is_pending());
        r.cancel_wait();
        // Lag found by a capped drain is reported once, with the exact count.
        for i in 7..17u32 {
            ring.push(i);
        }
        out.clear();
        assert_eq!(drain(&mut r, &mut out, 3, &mut cx), Drained { items: 3, lagged: 6 });
        assert_eq!(drain(&mut r, &mut out, 3, &mut cx), Drained { items: 1, lagged: 0 });
        assert_eq!(out, [13, 14, 15, 16]);
        ring.push(17);
        assert_eq!(r.try_recv().unwrap(), 17);
    }

    #[test]
    fn drain_folds_lag_in() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        for i in 0..10u32 {
            ring.push(i);
        }
        let mut out = Vec::new();
        assert_eq!(r.drain_into(&mut out), Drained { items: 4, lagged: 6 });
        assert_eq!(out, [6, 7, 8, 9]);
        assert_eq!(r.lagged_total(), 6);
        empty(r.try_recv());
    }

    #[test]
    fn storage_grows_lazily_and_never_past_capacity() {
        let big = SpmcRing::<u64>::new(MAX_RING_CAPACITY);
        assert_eq!(big.allocated_slots(), 0);
        big.push(1);
        assert!(big.allocated_slots() <= MIN_GROW);

        let ring = SpmcRing::new(5);
        for i in 0..20u32 {
            ring.push(i);
            assert!(ring.allocated_slots() <= 5);
        }
        assert_eq!(ring.stats().len, 5);
    }

    #[test]
    fn capacity_out_of_range_is_an_error() {
        assert_eq!(SpmcRing::<u8>::try_new(0).unwrap_err(), BufferCfgError::ZeroCapacity);
        assert_eq!(
            SpmcRing::<u8>::try_new(MAX_RING_CAPACITY + 1).unwrap_err(),
            BufferCfgError::CapacityTooLarge {
                capacity: MAX_RING_CAPACITY + 1,
                max: MAX_RING_CAPACITY
            }
        );
    }

    #[test]
    #[should_panic(expected = "capacity")]
    fn new_panics_on_zero_capacity() {
        let _ = SpmcRing::<u8>::new(0);
    }

    #[test]
    fn parked_reader_is_woken_by_push() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        let p = Poller::new();
        let mut fut = r.next();
        assert!(p.poll(&mut fut).is_pending());
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners), (1, 1));
        ring.push(42u32);
        assert_eq!(p.wakes(), 1);
        assert_eq!(ring.stats().parked, 0);
        assert!(matches!(p.poll(&mut fut), Poll::Ready(Ok(42))));
        drop(fut);
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners, s.notifies), (0, 0, 1));
    }

    #[test]
    fn push_without_parked_reader_does_not_notify() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        ring.push(1u32);
        let p = Poller::new();
        let mut fut = r.next(); // item available: completes without parking
        assert!(matches!(p.poll(&mut fut), Poll::Ready(Ok(1))));
        drop(fut);
        ring.push(2);
        assert_eq!(ring.shared.epoch(), 0);
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners, s.notifies), (0, 0, 0));
    }

    #[test]
    fn next_reports_exact_lag_then_oldest_retained_without_parking() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        for i in 0..10u32 {
            ring.push(i);
        }
        let p = Poller::new();
        assert_eq!(lag(match p.poll(&mut r.next()) {
            Poll::Ready(res) => res,
            Poll::Pending => panic!("a lag report is available at once"),
        }), 6);
        for i in 6..10 {
            assert!(matches!(p.poll(&mut r.next()), Poll::Ready(Ok(v)) if v == i));
        }
        assert_eq!(r.lagged_total(), 6);
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners, s.notifies), (0, 0, 0));
        assert!(p.poll(&mut r.next()).is_pending());
    }

    #[test]
    fn dropping_an_unpolled_next_keeps_the_item() {
        let ring = SpmcRing::new(4);
        let mut r = ring.subscribe();
        ring.push(1u32);
        drop(r.next());
        assert_eq!(r.try_recv().unwrap(), 1);
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners), (0, 0));
    }

    #[test]
    fn dropping_an_unpolled_next_withdraws_an_earlier_registration() {
        let ring = SpmcRing::<u32>::new(4);
        let mut r = ring.subscribe();
        let p = Poller::new();
        let mut out = Vec::new();
        // A batch poll that parked and was never withdrawn (cancel_wait not called).
        assert!(r.poll_drain_max(&mut Context::from_waker(std::task::Waker::noop()), &mut out, 8).is_pending());
        assert_eq!(ring.stats().parked, 1);
        drop(r.next());
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners), (0, 0));
        ring.push(1);
        assert_eq!(ring.shared.epoch(), 0, "no notify for a withdrawn reader");
        assert!(matches!(p.poll(&mut r.next()), Poll::Ready(Ok(1))));
    }

    #[test]
    fn next_polled_again_after_ready_parks_and_its_drop_withdraws() {
        let ring = SpmcRing::<u32>::new(4);
        let mut r = ring.subscribe();
        ring.push(1);
        let p = Poller::new();
        let mut fut = r.next();
        assert!(matches!(p.poll(&mut fut), Poll::Ready(Ok(1))));
        assert!(p.poll(&mut fut).is_pending());
        assert_eq!(ring.stats().parked, 1);
        drop(fut);
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners), (0, 0));
        ring.push(2);
        assert_eq!(ring.shared.epoch(), 0);
        assert_eq!(r.try_recv().unwrap(), 2);
    }

    #[test]
    fn dropping_parked_future_withdraws_registration() {
        let ring = SpmcRing::<u32>::new(4);
        let mut r = ring.subscribe();
        let p = Poller::new();
        {
            let mut fut = r.next();
            assert!(p.poll(&mut fut).is_pending());
        }
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners), (0, 0));
        ring.push(1);
        assert_eq!(ring.shared.epoch(), 0, "no notify for a withdrawn reader");
        assert_eq!(r.try_recv().unwrap(), 1);
    }

    #[test]
    fn dropping_future_after_wake_does_not_underflow() {
        let ring = SpmcRing::<u32>::new(4);
        let mut a = ring.subscribe();
        let mut b = ring.subscribe();
        let p = Poller::new();
        let mut fa = a.next();
        assert!(p.poll(&mut fa).is_pending());
        ring.push(1); // takes the registration, epoch 1
        drop(fa); // woken but never polled: must not decrement
        let mut fb = b.next();
        assert!(matches!(p.poll(&mut fb), Poll::Ready(Ok(1))));
        drop(fb);
        let mut fb = b.next();
        assert!(p.poll(&mut fb).is_pending());
        assert_eq!(ring.stats().parked, 1);
        drop(fb);
        let s = ring.stats();
        assert_eq!((s.parked, s.listeners), (0, 0));
        assert_eq!(a.try_recv().unwrap(), 1);
    }

    #[test]
    fn one_push_wakes_every_parked_reader() {
        let ring = SpmcRing::<u32>::new(4);
        let mut a = ring.subscribe();
        let mut b = ring.subscribe();
        let (pa, pb) = (Poller::new(), Poller::new());
        let mut fa = a.next();
        let mut fb = b.next();
        assert!(pa.poll(&mut fa).is_pending());
        assert!(pb.poll(&mut fb).is_pending());
        assert_eq!(ring.stats().parked, 2);
        ring.push(5);
        assert_eq!((pa.wakes(), pb.wakes()), (1, 1));
        assert!(matches!(pa.poll(&mut fa), Poll::Ready(Ok(5))));
        assert!(matches!(pb.poll(&mut fb), Poll::Ready(Ok(5))));
    }

    #[test]
    fn recv_batch_waits_then_drains() {
        let ring = SpmcRing::<u32>::new(8);
        let mut r = ring.subscribe();
        let p = Poller::new();
        let mut out = Vec::new();
        let mut fut = Box::pin(r.recv_batch(&mut out));
        assert!(p.poll(&mut fut).is_pending());
        assert_eq!(ring.stats().parked, 1);
        ring.push(1);
        ring.push(2);
        assert_eq!(p.wakes(), 1);
        assert_eq!(p.poll(&mut fut), Poll::Ready(Drained { items: 2, lagged: 0 }));
        drop(fut);
        assert_eq!(out, [1, 2]);
        assert_eq!(ring.stats().listeners, 0);
    }

    #[test]
    fn dropping_reader_frees_listener_and_count() {
        let ring = SpmcRing::<u32>::new(4);
        let p = Poller::new();
        for _ in 0..100 {
            let mut r = ring.subscribe();
            let mut fut = r.next();
            assert!(p.poll(&mut fut).is_pending());
            drop(fut);
            drop(r);
        }
        let s = ring.stats();
        assert_eq!((s.readers, s.parked, s.listeners), (0, 0, 0));
    }

    /// A value whose destructor takes the buffer's lock: would deadlock if dropped
    /// under it.
    struct Probe {
        ring: Arc<Mutex<Option<Arc<SpmcRing<Probe>>>>>,
    }
    impl Clone for Probe {
        fn clone(&self) -> Self {
            Probe {
                ring: self.ring.clone(),
            }
        }
    }
    impl Drop for Probe {
        fn drop(&mut self) {
            if let Some(ring) = self.ring.lock().unwrap().clone() {
                let _ = ring.stats();
            }
        }
    }

    #[test]
    fn overwritten_values_are_dropped_outside_the_lock() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let slot = Arc::new(Mutex::new(None));
            let ring = Arc::new(SpmcRing::new(2));
            *slot.lock().unwrap() = Some(ring.clone());
            for _ in 0..5 {
                ring.push(Probe { ring: slot.clone() });
            }
            slot.lock().unwrap().take();
            tx.send(()).unwrap();
        });
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("dropping an evicted value deadlocked on the buffer lock"),
            Err(e) => panic!("probe thread failed: {e}"),
        }
    }

    #[test]
    fn threaded_producer_and_parking_consumer_lose_nothing() {
        const N: u32 = 20_000;
        let ring = Arc::new(SpmcRing::new(N as usize));
        let mut r = ring.subscribe();
        let consumer = std::thread::spawn(move || {
            futures_lite::future::block_on(async {
                for i in 0..N {
                    assert_eq!(r.next().await.unwrap(), i);
                }
            });
        });
        for i in 0..N {
            ring.push(i);
            if i % 64 == 0 {
                std::thread::yield_now();
            }
        }
        consumer.join().unwrap();
        let s = ring.stats();
        assert_eq!((s.readers, s.parked, s.listeners), (0, 0, 0));
    }
}
