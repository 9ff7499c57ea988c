//! Buffers for the browser runtime: aimdb-core's three buffer kinds on one lock
//! (`crate::sync::Lock`, a spin mutex) and one [`event_listener::Event`] each.
//!
//! | cfg                       | type             | reader            | delivery                                   |
//! |---------------------------|------------------|-------------------|--------------------------------------------|
//! | `SpmcRing { capacity }`   | [`SpmcRing`]     | [`RingReader`]    | every item, in order; lag reported once    |
//! | `SingleLatest`            | [`SingleLatest`] | [`LatestReader`]  | latest version, current value first        |
//! | `Mailbox`                 | [`Mailbox`]      | [`MailboxReader`] | newest value after subscribe, at most once |
//!
//! [`WasmBuffer`] / [`WasmBufferReader`] select one of them from a [`BufferCfg`] and
//! implement aimdb-core's [`Buffer`], [`DynBuffer`] and [`BufferReader`].
//!
//! Every reader offers the same inherent API:
//!
//! * `try_recv()`: non-blocking, `Err(DbError::BufferEmpty)` when nothing is new;
//! * `next()`: a [`Next`] future (not boxed) that completes immediately when
//!   something is available and otherwise parks on the buffer's event;
//! * `drain_into(&mut Vec<T>) -> Drained`: everything available, one lock
//!   acquisition;
//! * `recv_batch(&mut Vec<T>).await`: waits for at least one item, then drains.
//!
//! Wake-ups cost nothing when nobody waits: a push calls `Event::notify` only if a
//! reader is parked (see the parking protocol in `reader.rs`). A reader holds at
//! most one listener; dropping the reader (or its pending future) frees it at once.
//!
//! No `unsafe` code: the shared state is `Arc<(Lock<State>, Event)>`, which is
//! `Send + Sync` whenever `T: Send`.

#![forbid(unsafe_code)]

mod cfg;
mod latest;
mod mailbox;
mod reader;
mod ring;

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aimdb_core::buffer::{Buffer, BufferCfg, BufferReader, DynBuffer};
use aimdb_core::DbError;

pub use cfg::{validate_buffer_cfg, BufferCfgError, MAX_RING_CAPACITY};
pub use latest::{LatestReader, SingleLatest};
pub use mailbox::{Mailbox, MailboxReader};
use reader::RawReader;
pub use reader::{Drained, Next};
pub use ring::{RingReader, SpmcRing};

/// A snapshot of a buffer's state, for diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferStats {
    /// `"spmc_ring"`, `"single_latest"` or `"mailbox"` (as `BufferCfg::name`).
    pub kind: &'static str,
    /// Ring capacity; 1 for `SingleLatest` and `Mailbox`.
    pub capacity: usize,
    /// Items currently held (ring: retained items; others: 0 or 1).
    pub len: usize,
    /// Items pushed since creation.
    pub produced: u64,
    /// Live readers.
    pub readers: usize,
    /// Readers registered as waiting and not yet woken.
    pub parked: usize,
    /// Listeners registered on the buffer's `Event` (`Event::total_listeners`).
    pub listeners: usize,
    /// `Event::notify` calls made so far (pushes that found a parked reader).
    pub notifies: u64,
}

/// One of the three buffers, chosen by a [`BufferCfg`]. Cloning gives another handle
/// to the same buffer.
pub enum WasmBuffer<T> {
    /// `BufferCfg::SpmcRing`.
    Ring(SpmcRing<T>),
    /// `BufferCfg::SingleLatest`.
    Latest(SingleLatest<T>),
    /// `BufferCfg::Mailbox`.
    Mailbox(Mailbox<T>),
}

impl<T> Clone for WasmBuffer<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Ring(b) => Self::Ring(b.clone()),
            Self::Latest(b) => Self::Latest(b.clone()),
            Self::Mailbox(b) => Self::Mailbox(b.clone()),
        }
    }
}

impl<T> WasmBuffer<T> {
    /// Builds the buffer `cfg` describes, or says why `cfg` is invalid (see
    /// [`validate_buffer_cfg`]). Never allocates ring storage up front.
    pub fn try_new(cfg: &BufferCfg) -> Result<Self, BufferCfgError> {
        validate_buffer_cfg(cfg)?;
        Ok(match *cfg {
            BufferCfg::SpmcRing { capacity } => Self::Ring(SpmcRing::try_new(capacity)?),
            BufferCfg::SingleLatest => Self::Latest(SingleLatest::new()),
            BufferCfg::Mailbox => Self::Mailbox(Mailbox::new()),
        })
    }

    /// Pushes `value` (never blocks; overwrites per the buffer kind).
    #[inline(always)]
    pub fn push(&self, value: T) {
        match self {
            Self::Ring(b) => b.push(value),
            Self::Latest(b) => b.push(value),
            Self::Mailbox(b) => b.push(value),
        }
    }

    /// A new independent reader.
    pub fn subscribe(&self) -> WasmBufferReader<T> {
        match self {
            Self::Ring(b) => WasmBufferReader::Ring(b.subscribe()),
            Self::Latest(b) => WasmBufferReader::Latest(b.subscribe()),
            Self::Mailbox(b) => WasmBufferReader::Mailbox(b.subscribe()),
        }
    }

    /// A snapshot of the buffer's state.
    pub fn stats(&self) -> BufferStats {
        match self {
            Self::Ring(b) => b.stats(),
            Self::Latest(b) => b.stats(),
            Self::Mailbox(b) => b.stats(),
        }
    }
}

impl<T> std::fmt::Debug for WasmBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ring(b) => b.fmt(f),
            Self::Latest(b) => b.fmt(f),
            Self::Mailbox(b) => b.fmt(f),
        }
    }
}

impl<T: Clone + Send + 'static> Buffer<T> for WasmBuffer<T> {
    type Reader = WasmBufferReader<T>;

    /// Builds the buffer `cfg` describes.
    ///
    /// # Panics
    /// On an invalid `cfg` (ring capacity 0 or above [`MAX_RING_CAPACITY`]), with the
    /// [`BufferCfgError`] message, as the trait allows. Validate first with
    /// [`validate_buffer_cfg`], or use [`WasmBuffer::try_new`] to get the error.
    fn new(cfg: &BufferCfg) -> Self {
        match Self::try_new(cfg) {
            Ok(buffer) => buffer,
            Err(e) => panic!("aimdb-wasm: invalid buffer configuration {cfg}: {e}"),
        }
    }

    fn push(&self, value: T) {
        WasmBuffer::push(self, value);
    }

    fn subscribe(&self) -> Self::Reader {
        WasmBuffer::subscribe(self)
    }
}

impl<T: Clone + Send + 'static> DynBuffer<T> for WasmBuffer<T> {
    fn push(&self, value: T) {
        WasmBuffer::push(self, value);
    }

    fn subscribe_boxed(&self) -> Box<dyn BufferReader<T> + Send> {
        Box::new(WasmBuffer::subscribe(self))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A reader of a [`WasmBuffer`]; delegates to the reader of the chosen kind.
pub enum WasmBufferReader<T> {
    /// Reader of a [`SpmcRing`].
    Ring(RingReader<T>),
    /// Reader of a [`SingleLatest`].
    Latest(LatestReader<T>),
    /// Reader of a [`Mailbox`].
    Mailbox(MailboxReader<T>),
}

impl<T: Clone> WasmBufferReader<T> {
    /// Non-blocking receive; `Err(BufferEmpty)` when nothing is new, and for a
    /// ring `Err(BufferLagged)` once after falling behind.
    pub fn try_recv(&mut self) -> Result<T, DbError> {
        match self {
            Self::Ring(r) => r.try_recv(),
            Self::Latest(r) => r.try_recv(),
            Self::Mailbox(r) => r.try_recv(),
        }
    }

    /// Waits for the next item. Not boxed; see [`Next`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T> {
        match self {
            Self::Ring(r) => r.next(),
            Self::Latest(r) => r.next(),
            Self::Mailbox(r) => r.next(),
        }
    }

    /// Everything available to this reader, under one lock acquisition.
    pub fn drain_into(&mut self, out: &mut Vec<T>) -> Drained {
        match self {
            Self::Ring(r) => r.drain_into(out),
            Self::Latest(r) => r.drain_into(out),
            Self::Mailbox(r) => r.drain_into(out),
        }
    }

    /// The poll behind [`recv_batch`](Self::recv_batch): `Ready` once at least one
    /// item was drained into `out`; `Pending` parks this reader (registered with `cx`'s
    /// waker). A caller that stops polling while parked withdraws with
    /// [`cancel_wait`](Self::cancel_wait) (dropping the reader does too).
    pub fn poll_drain(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Drained> {
        match self {
            Self::Ring(r) => r.poll_drain(cx, out),
            Self::Latest(r) => r.poll_drain(cx, out),
            Self::Mailbox(r) => r.poll_drain(cx, out),
        }
    }

    /// Like [`poll_drain`](Self::poll_drain), but a ring reader appends at most `max`
    /// items (at least one) and keeps the rest for the next call. `SingleLatest` and
    /// `Mailbox` readers drain at most one item anyway.
    pub fn poll_drain_max(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>, max: usize) -> Poll<Drained> {
        match self {
            Self::Ring(r) => r.poll_drain_max(cx, out, max),
            Self::Latest(r) => r.poll_drain(cx, out),
            Self::Mailbox(r) => r.poll_drain(cx, out),
        }
    }

    /// Withdraws a registration made by a `Pending` [`poll_drain`](Self::poll_drain).
    /// No-op when not parked.
    pub fn cancel_wait(&mut self) {
        match self {
            Self::Ring(r) => RawReader::cancel_wait(r),
            Self::Latest(r) => RawReader::cancel_wait(r),
            Self::Mailbox(r) => RawReader::cancel_wait(r),
        }
    }

    /// Waits until at least one item is available, then drains.
    pub async fn recv_batch(&mut self, out: &mut Vec<T>) -> Drained {
        match self {
            Self::Ring(r) => r.recv_batch(out).await,
            Self::Latest(r) => r.recv_batch(out).await,
            Self::Mailbox(r) => r.recv_batch(out).await,
        }
    }
}

impl<T> std::fmt::Debug for WasmBufferReader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ring(r) => r.fmt(f),
            Self::Latest(r) => r.fmt(f),
            Self::Mailbox(r) => r.fmt(f),
        }
    }
}

impl<T: Clone + Send> BufferReader<T> for WasmBufferReader<T> {
    fn recv(&mut self) -> Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + '_>> {
        Box::pin(self.next())
    }

    fn try_recv(&mut self) -> Result<T, DbError> {
        WasmBufferReader::try_recv(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<X: Send + Sync>() {}
    fn assert_send<X: Send>() {}

    #[test]
    fn thread_safety_bounds_hold_without_unsafe() {
        assert_send_sync::<WasmBuffer<String>>();
        assert_send_sync::<SpmcRing<String>>();
        assert_send_sync::<SingleLatest<String>>();
        assert_send_sync::<Mailbox<String>>();
        assert_send::<WasmBufferReader<String>>();
        assert_send::<Next<'static, String>>();
    }

    #[test]
    fn try_new_picks_the_configured_kind() {
        let kinds = [
            (BufferCfg::SpmcRing { capacity: 8 }, "spmc_ring", 8),
            (BufferCfg::SingleLatest, "single_latest", 1),
            (BufferCfg::Mailbox, "mailbox", 1),
        ];
        for (cfg, kind, capacity) in kinds {
            let b = WasmBuffer::<u8>::try_new(&cfg).unwrap();
            let s = b.stats();
            assert_eq!((s.kind, s.capacity), (kind, capacity));
            assert_eq!(s.kind, cfg.name());
        }
    }

    #[test]
    fn try_new_rejects_bad_capacity() {
        assert_eq!(
            WasmBuffer::<u8>::try_new(&BufferCfg::SpmcRing { capacity: 0 }).unwrap_err(),
            BufferCfgError::ZeroCapacity
        );
        assert!(matches!(
            WasmBuffer::<u8>::try_new(&BufferCfg::SpmcRing {
                capacity: usize::MAX
            }),
            Err(BufferCfgError::CapacityTooLarge { .. })
        ));
    }

    #[test]
    #[should_panic(expected = "exceeds the maximum")]
    fn trait_new_panics_with_the_validation_message() {
        let _ = <WasmBuffer<u8> as Buffer<u8>>::new(&BufferCfg::SpmcRing {
            capacity: MAX_RING_CAPACITY + 1,
        });
    }

    #[test]
    fn dropping_an_unpolled_next_withdraws_a_batch_registration_for_every_kind() {
        let cfgs = [
            BufferCfg::SpmcRing { capacity: 8 },
            BufferCfg::SingleLatest,
            BufferCfg::Mailbox,
        ];
        for cfg in cfgs {
            let b = WasmBuffer::<u8>::try_new(&cfg).unwrap();
            let mut r = b.subscribe();
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(r.poll_drain(&mut cx, &mut Vec::new()).is_pending(), "{cfg}");
            assert_eq!(b.stats().parked, 1, "{cfg}");
            drop(r.next());
            let s = b.stats();
            assert_eq!((s.parked, s.listeners), (0, 0), "{cfg}");
            b.push(7);
            assert_eq!(b.stats().notifies, 0, "{cfg}: no notify for a withdrawn reader");
            assert_eq!(r.try_recv().unwrap(), 7, "{cfg}");
        }
    }

    #[test]
    fn dyn_buffer_round_trip_and_downcast() {
        let b: Box<dyn DynBuffer<u32>> =
            Box::new(<WasmBuffer<u32> as Buffer<u32>>::new(&BufferCfg::SingleLatest));
        let mut r = b.subscribe_boxed();
        b.push(3);
        assert_eq!(r.try_recv().unwrap(), 3);
        let concrete = b.as_any().downcast_ref::<WasmBuffer<u32>>().unwrap();
        assert_eq!(concrete.stats().readers, 1);
        drop(r);
        assert_eq!(concrete.stats().readers, 0);
    }
}
