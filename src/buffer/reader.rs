//! The machinery every buffer shares: the state lock, the parking protocol, and the
//! reader futures ([`Next`], `recv_batch`).
//!
//! # Parking protocol
//!
//! Each buffer is an `Arc<Shared<S>>`: the buffer-specific state `S` behind a
//! [`Lock`], next to a [`Parking`] record, plus one [`Event`] to wake readers.
//!
//! * A reader that finds nothing new creates its [`EventListener`] **while still
//!   holding the lock**, increments `parked` and remembers `epoch`, releases the
//!   lock and awaits the listener. Because the listener exists before the lock is
//!   released, a push that happens after the check cannot be missed.
//! * A producer writes under the lock, then `wake = mem::take(&mut parked) > 0`; if
//!   `wake` it bumps `epoch`. After releasing the lock it calls
//!   `Event::notify(usize::MAX)` only if `wake`. A push nobody waits for therefore
//!   costs one lock round-trip and no `notify` (which takes a fence and the event's
//!   own lock even with no listeners).
//! * A reader that lets go of its listener without having been woken by the push
//!   that counted it (reader dropped, future dropped, or a stray notification meant
//!   for an earlier epoch) decrements `parked` only if `epoch` is unchanged: if it
//!   changed, a producer already took the whole count with `mem::take`.
//!
//! A reader holds at most one listener (`Option<EventListener>` inside the reader),
//! so dropping the reader frees it together with the cursor.
//!
//! Fast path: a reader that holds no listener and finds something takes it under one
//! lock round-trip in the inlined part of [`Waiter::poll`]; creating a listener,
//! waiting on it and withdrawing it are out of line.
//!
//! Lock discipline (see [`crate::sync`]): under the lock only `T::clone`, `Vec`
//! growth and `Event::listen` run. Evicted values are moved out and dropped, and
//! `notify` is called, after the guard is released.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use aimdb_core::DbError;
use event_listener::{Event, EventListener};

use super::latest::LatestReader;
use super::mailbox::MailboxReader;
use super::ring::RingReader;
use super::BufferStats;
use crate::sync::Lock;

/// Result of a batch receive ([`drain_into`](super::RingReader::drain_into),
/// `recv_batch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drained {
    /// Items appended to the output vector.
    pub items: usize,
    /// Items this reader missed because the ring overwrote them before they were
    /// read (always 0 for `SingleLatest` and `Mailbox`, which count skips
    /// separately).
    pub lagged: u64,
}

/// Bookkeeping shared by every buffer kind, kept under the same lock as the data.
#[derive(Debug, Default)]
pub(crate) struct Parking {
    /// Readers that registered a listener and have not been woken or withdrawn.
    parked: usize,
    /// Bumped by every push that found `parked > 0` (= number of `notify` calls).
    epoch: u64,
    /// Live readers (subscribe increments, reader drop decrements).
    readers: usize,
}

impl Parking {
    /// Reader side: registers one parked reader and returns the epoch to remember.
    #[inline]
    fn register(&mut self) -> u64 {
        self.parked += 1;
        self.epoch
    }

    /// Reader side: withdraws a registration made in `epoch`, unless a producer
    /// already consumed it (epoch moved on).
    #[inline]
    fn release(&mut self, epoch: u64) {
        if self.epoch == epoch {
            debug_assert!(self.parked > 0, "parked count underflow");
            self.parked -= 1;
        }
    }

    /// Producer side: takes the parked count; `true` means "notify after unlocking".
    #[inline]
    fn take_wake(&mut self) -> bool {
        let wake = core::mem::take(&mut self.parked) > 0;
        if wake {
            self.epoch = self.epoch.wrapping_add(1);
        }
        wake
    }
}

pub(crate) struct Guarded<S> {
    pub(crate) data: S,
    pub(crate) park: Parking,
}

/// What a buffer and all of its readers point to.
pub(crate) struct Shared<S> {
    state: Lock<Guarded<S>>,
    event: Event,
}

impl<S> Shared<S> {
    pub(crate) fn new(data: S) -> Self {
        Self {
            state: Lock::new(Guarded {
                data,
                park: Parking::default(),
            }),
            event: Event::new(),
        }
    }

    /// Producer path: runs `write` under the lock (it gets the number of live
    /// readers), then notifies parked readers, then drops whatever `write` evicted —
    /// both after the lock is released.
    #[inline]
    pub(crate) fn produce<E>(&self, write: impl FnOnce(&mut S, usize) -> E) {
        let (evicted, wake) = {
            let mut g = self.state.lock();
            let g = &mut *g;
            let evicted = write(&mut g.data, g.park.readers);
            (evicted, g.park.take_wake())
        };
        if wake {
            self.event.notify(usize::MAX);
        }
        drop(evicted);
    }

    /// Registers a new reader; `cursor` computes its starting position.
    pub(crate) fn attach<C>(&self, cursor: impl FnOnce(&S) -> C) -> C {
        let mut g = self.state.lock();
        g.park.readers += 1;
        cursor(&g.data)
    }

    /// Runs `f` under the lock without touching the parking state.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.state.lock().data)
    }

    /// A snapshot; `shape` returns `(capacity, len, produced)`.
    pub(crate) fn stats(
        &self,
        kind: &'static str,
        shape: impl FnOnce(&S) -> (usize, usize, u64),
    ) -> BufferStats {
        let (capacity, len, produced, readers, parked, notifies) = {
            let g = self.state.lock();
            let (capacity, len, produced) = shape(&g.data);
            (capacity, len, produced, g.park.readers, g.park.parked, g.park.epoch)
        };
        BufferStats {
            kind,
            capacity,
            len,
            produced,
            readers,
            parked,
            listeners: self.event.total_listeners(),
            notifies,
        }
    }

    #[cfg(test)]
    pub(crate) fn epoch(&self) -> u64 {
        self.state.lock().park.epoch
    }
}

/// A reader's parking slot: at most one listener, plus the epoch it registered in.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    listener: Option<EventListener>,
    epoch: u64,
}

impl Waiter {
    /// The one poll of every reader future.
    ///
    /// `attempt` runs under the lock and returns `Some` when something is available
    /// to this reader. Returns `Ready` only with the listener cleared.
    ///
    /// Fast path (inlined into each reader's poll): not parked, and `attempt` finds
    /// something: one lock round-trip, no call. Otherwise the listener is created
    /// (still under the lock) and [`poll_parked`](Self::poll_parked), out of line,
    /// takes over.
    #[inline(always)]
    pub(crate) fn poll<S, R>(
        &mut self,
        shared: &Shared<S>,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&mut S) -> Option<R>,
    ) -> Poll<R> {
        if self.listener.is_none() {
            let mut g = shared.state.lock();
            let g = &mut *g;
            if let Some(r) = attempt(&mut g.data) {
                return Poll::Ready(r);
            }
            self.park(shared, &mut g.park);
        }
        self.poll_parked(shared, cx, attempt)
    }

    /// Registers this reader as parked: creates its listener and remembers the epoch.
    /// Called with the lock held (`park` is the guarded record).
    #[cold]
    #[inline(never)]
    fn park<S>(&mut self, shared: &Shared<S>, park: &mut Parking) {
        self.listener = Some(shared.event.listen());
        self.epoch = park.register();
    }

    /// The poll loop once a listener exists: waits for it, then retries `attempt`
    /// under the lock, parking again if there is still nothing.
    #[inline(never)]
    fn poll_parked<S, R>(
        &mut self,
        shared: &Shared<S>,
        cx: &mut Context<'_>,
        mut attempt: impl FnMut(&mut S) -> Option<R>,
    ) -> Poll<R> {
        loop {
            let woken = match self.listener.as_mut() {
                None => false,
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // Notified: the listener already left the event's list.
                    self.listener = None;
                    true
                }
            };
            let mut g = shared.state.lock();
            let g = &mut *g;
            if woken {
                // Normally the waking push took our registration (epoch moved). If
                // the notification belonged to an earlier epoch, withdraw it here.
                g.park.release(self.epoch);
            }
            if let Some(r) = attempt(&mut g.data) {
                return Poll::Ready(r);
            }
            self.park(shared, &mut g.park);
        }
    }

    /// Whether this reader holds a listener (registered as parked).
    #[inline(always)]
    pub(crate) fn is_parked(&self) -> bool {
        self.listener.is_some()
    }

    /// Withdraws a pending registration and frees the listener (future dropped).
    /// No-op, and no lock, when not parked (checked inline; the withdrawal is out of
    /// line).
    #[inline(always)]
    pub(crate) fn cancel<S>(&mut self, shared: &Shared<S>) {
        if self.listener.is_some() {
            self.withdraw(shared);
        }
    }

    #[cold]
    #[inline(never)]
    fn withdraw<S>(&mut self, shared: &Shared<S>) {
        if let Some(listener) = self.listener.take() {
            shared.state.lock().park.release(self.epoch);
            drop(listener);
        }
    }

    /// Reader drop: withdraws the registration, unregisters the reader and runs
    /// `f` (which may move a value out) under one lock; drops everything after.
    pub(crate) fn detach<S, E>(&mut self, shared: &Shared<S>, f: impl FnOnce(&mut S) -> E) {
        let listener = self.listener.take();
        let evicted = {
            let mut g = shared.state.lock();
            let g = &mut *g;
            if listener.is_some() {
                g.park.release(self.epoch);
            }
            g.park.readers -= 1;
            f(&mut g.data)
        };
        drop(listener);
        drop(evicted);
    }
}

/// The polling interface the shared futures drive.
pub(crate) trait RawReader<T> {
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, DbError>>;
    fn poll_drain(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<Drained>;
    fn cancel_wait(&mut self);
}

enum Target<'a, T> {
    Ring(&'a mut RingReader<T>),
    Latest(&'a mut LatestReader<T>),
    Mailbox(&'a mut MailboxReader<T>),
}

/// Future returned by every reader's `next()`: resolves to the next item for that
/// reader (`Err(BufferLagged)` possible for the ring).
///
/// Not boxed. Completes without parking when an item is already available (that
/// poll is inlined: one lock round-trip, no call). Dropping it while parked
/// withdraws the reader's listener immediately; dropping it unpolled, or after it
/// completed, takes nothing from the reader (the item stays for the next receive).
#[must_use = "futures do nothing unless polled"]
pub struct Next<'a, T> {
    target: Target<'a, T>,
    /// Whether the reader holds a listener (`Waiter::is_parked`), tracked here so that
    /// dropping a future that completed (or never parked) needs no dispatch to the
    /// reader: `Ready` always leaves the listener cleared, `Pending` always leaves one.
    parked: bool,
}

impl<'a, T> Next<'a, T> {
    #[inline]
    pub(crate) fn ring(r: &'a mut RingReader<T>) -> Self {
        Self {
            parked: r.is_parked(),
            target: Target::Ring(r),
        }
    }
    #[inline]
    pub(crate) fn latest(r: &'a mut LatestReader<T>) -> Self {
        Self {
            parked: r.is_parked(),
            target: Target::Latest(r),
        }
    }
    #[inline]
    pub(crate) fn mailbox(r: &'a mut MailboxReader<T>) -> Self {
        Self {
            parked: r.is_parked(),
            target: Target::Mailbox(r),
        }
    }
}

impl<T: Clone> Future for Next<'_, T> {
    type Output = Result<T, DbError>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let poll = match &mut this.target {
            Target::Ring(r) => r.poll_recv(cx),
            Target::Latest(r) => r.poll_recv(cx),
            Target::Mailbox(r) => r.poll_recv(cx),
        };
        this.parked = poll.is_pending();
        poll
    }
}

impl<T> Drop for Next<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if !self.parked {
            return;
        }
        match &mut self.target {
            Target::Ring(r) => r.cancel_wait(),
            Target::Latest(r) => r.cancel_wait(),
            Target::Mailbox(r) => r.cancel_wait(),
        }
    }
}

impl<T> core::fmt::Debug for Next<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

/// Withdraws the reader's registration if the `recv_batch` future is dropped while
/// parked.
struct CancelOnDrop<'a, R: RawReader<T>, T>(&'a mut R, core::marker::PhantomData<fn() -> T>);

impl<R: RawReader<T>, T> Drop for CancelOnDrop<'_, R, T> {
    fn drop(&mut self) {
        self.0.cancel_wait();
    }
}

/// Shared body of every `recv_batch`.
pub(crate) async fn recv_batch<R: RawReader<T>, T>(reader: &mut R, out: &mut Vec<T>) -> Drained {
    let guard = CancelOnDrop(reader, core::marker::PhantomData);
    futures_lite::future::poll_fn(|cx| guard.0.poll_drain(cx, out)).await
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Manual polling with a waker that counts wake-ups.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use core::future::Future;
    use core::pin::Pin;

    #[derive(Default)]
    pub(crate) struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) struct Poller {
        counter: Arc<CountingWaker>,
        waker: Waker,
    }

    impl Poller {
        pub(crate) fn new() -> Self {
            let counter = Arc::new(CountingWaker::default());
            let waker = Waker::from(counter.clone());
            Self { counter, waker }
        }

        pub(crate) fn poll<F: Future + Unpin>(&self, f: &mut F) -> Poll<F::Output> {
            Pin::new(f).poll(&mut Context::from_waker(&self.waker))
        }

        pub(crate) fn wakes(&self) -> usize {
            self.counter.0.load(Ordering::SeqCst)
        }
    }
}
