//! [`Mailbox`]: a single overwrite slot delivered to every reader at most once.
//!
//! The full contract is documented on [`Mailbox`].

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use aimdb_core::buffer::BufferReader;
use aimdb_core::DbError;

use super::reader::{self, Drained, Next, RawReader, Shared, Waiter};
use super::BufferStats;

pub(crate) struct Slot<T> {
    /// `Some` iff `unread > 0`.
    value: Option<T>,
    /// Number of pushes so far.
    version: u64,
    /// Readers that existed at the last push and have neither taken it nor dropped.
    unread: usize,
}

impl<T> Slot<T> {
    /// Returns the values to drop after unlocking: the overwritten one, and the
    /// new one itself if there is no reader to deliver it to.
    #[inline]
    fn write(&mut self, value: T, readers: usize) -> (Option<T>, Option<T>) {
        self.version += 1;
        self.unread = readers;
        if readers == 0 {
            (self.value.take(), Some(value))
        } else {
            (self.value.replace(value), None)
        }
    }

    /// A reader whose last seen version is `seen` gives up its claim on the value.
    /// Returns the value if that reader was the last one owed it.
    #[inline]
    fn release(&mut self, seen: u64) -> Option<T> {
        if seen == self.version {
            return None;
        }
        self.unread -= 1;
        if self.unread == 0 {
            self.value.take()
        } else {
            None
        }
    }
}

#[derive(Debug)]
struct Cursor {
    /// Version at subscription, then the last version taken.
    seen: u64,
    overwritten: u64,
}

impl Cursor {
    #[inline]
    fn take<T: Clone>(&mut self, slot: &mut Slot<T>) -> Option<T> {
        if slot.version == self.seen {
            return None;
        }
        // This reader existed at the last push and has not taken it: it is one of
        // `unread`, so the value is present.
        let value = if slot.unread == 1 {
            slot.value.take()
        } else {
            slot.value.clone()
        };
        debug_assert!(value.is_some(), "mailbox value missing for an owed reader");
        slot.unread -= 1;
        self.overwritten += slot.version - self.seen - 1;
        self.seen = slot.version;
        value
    }

    fn drain<T: Clone>(&mut self, slot: &mut Slot<T>, out: &mut Vec<T>) -> Option<Drained> {
        let value = self.take(slot)?;
        out.push(value);
        Some(Drained {
            items: 1,
            lagged: 0,
        })
    }
}

/// A single overwrite slot delivered to every reader at most once.
///
/// # Semantics
///
/// * One slot, overwritten by each [`push`](Mailbox::push).
/// * Every reader receives the newest value written **after it subscribed**, at most
///   once. A value written before the reader existed is not "unread" to it.
/// * Values overwritten before a reader looked are skipped and counted per reader in
///   [`overwritten`](MailboxReader::overwritten) (latest command wins).
/// * Readers do not compete: every reader gets the value (a broadcast mailbox).
///   This differs from the published adapters' mailbox, where readers steal the
///   value from each other and exactly one of them gets it.
///
/// # Edge cases
///
/// * The slot is emptied once every reader that existed at the push has taken the
///   value (the last one gets it moved out instead of cloned) or has been dropped. A
///   push with no reader at all is therefore dropped at once (nobody could ever
///   receive it); it still counts in `produced`.
/// * A reader that subscribes between a push and its consumption by others does not
///   receive that value; it waits for the next push.
///
/// # Cost
///
/// * `push`: one lock round-trip, O(1); the overwritten value is dropped after the
///   lock is released; `Event::notify` only if a reader is parked.
/// * Receive: one lock round-trip and one `T::clone`, except for the last reader of
///   a value, which takes it without cloning.
/// * Parking: one `EventListener` allocation held in the reader until woken.
pub struct Mailbox<T> {
    shared: Arc<Shared<Slot<T>>>,
}

/// Cloning gives another handle to the same buffer (an `Arc`).
impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Mailbox<T> {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared::new(Slot {
                value: None,
                version: 0,
                unread: 0,
            })),
        }
    }

    /// Overwrites the slot (the old value is dropped after the lock is released)
    /// and wakes parked readers.
    pub fn push(&self, value: T) {
        self.shared.produce(|slot, readers| slot.write(value, readers));
    }

    /// A new reader; it receives only values pushed from now on.
    pub fn subscribe(&self) -> MailboxReader<T> {
        let seen = self.shared.attach(|slot| slot.version);
        MailboxReader {
            shared: self.shared.clone(),
            cursor: Cursor {
                seen,
                overwritten: 0,
            },
            waiter: Waiter::default(),
        }
    }

    /// Snapshot: `kind = "mailbox"`, `capacity = 1`, `len` = 1 while some reader is
    /// still owed the value, `produced` = pushes so far.
    pub fn stats(&self) -> BufferStats {
        self.shared.stats("mailbox", |slot| {
            (1, usize::from(slot.value.is_some()), slot.version)
        })
    }
}

impl<T> fmt::Debug for Mailbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mailbox").field(&self.stats()).finish()
    }
}

/// A reader of a [`Mailbox`].
pub struct MailboxReader<T> {
    shared: Arc<Shared<Slot<T>>>,
    cursor: Cursor,
    waiter: Waiter,
}

impl<T> MailboxReader<T> {
    /// Values pushed after this reader subscribed that it never received because a
    /// newer push overwrote them first.
    pub fn overwritten(&self) -> u64 {
        self.cursor.overwritten
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

impl<T: Clone> MailboxReader<T> {
    /// The newest value pushed since this reader last received (or subscribed), else
    /// `Err(BufferEmpty)`.
    pub fn try_recv(&mut self) -> Result<T, DbError> {
        let Self { shared, cursor, .. } = self;
        shared
            .with(|slot| cursor.take(slot))
            .ok_or(DbError::BufferEmpty)
    }

    /// Waits for the next value. Not boxed; see [`Next`].
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Next<'_, T> {
        Next::mailbox(self)
    }

    /// Appends the pending value, if any (at most one item), one lock acquisition.
    pub fn drain_into(&mut self, out: &mut Vec<T>) -> Drained {
        let Self { shared, cursor, .. } = self;
        shared
            .with(|slot| cursor.drain(slot, out))
            .unwrap_or_default()
    }

    /// Waits for a value, then appends it (one item).
    pub async fn recv_batch(&mut self, out: &mut Vec<T>) -> Drained {
        reader::recv_batch(self, out).await
    }
}

impl<T: Clone> RawReader<T> for MailboxReader<T> {
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
        MailboxReader::cancel_wait(self);
    }
}

impl<T> Drop for MailboxReader<T> {
    fn drop(&mut self) {
        let seen = self.cursor.seen;
        self.waiter.detach(&self.shared, |slot| slot.release(seen));
    }
}

impl<T> fmt::Debug for MailboxReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailboxReader")
            .field("seen", &self.cursor.seen)
            .field("overwritten", &self.cursor.overwritten)
            .field("parked", &self.waiter)
            .finish()
    }
}

impl<T: Clone + Send> BufferReader<T> for MailboxReader<T> {
    fn recv(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, DbError>> + Send + '_>> {
        Box::pin(self.next())
    }

    fn try_recv(&mut self) -> Result<T, DbError> {
        MailboxReader::try_recv(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::reader::test_util::Poller;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    fn empty<T: fmt::Debug>(r: Result<T, DbError>) {
        assert!(matches!(r, Err(DbError::BufferEmpty)), "expected BufferEmpty, got {r:?}");
    }

    #[test]
    fn value_before_subscribe_is_not_delivered() {
        let mb = Mailbox::new();
        let _early = mb.subscribe();
        mb.push(1u32);
        let mut r = mb.subscribe();
        empty(r.try_recv());
        mb.push(2);
        assert_eq!(r.try_recv().unwrap(), 2);
        empty(r.try_recv());
    }

    #[test]
    fn every_reader_gets_the_value_once() {
        let mb = Mailbox::new();
        let mut a = mb.subscribe();
        let mut b = mb.subscribe();
        mb.push(7u32);
        assert_eq!(a.try_recv().unwrap(), 7);
        empty(a.try_recv());
        assert_eq!(b.try_recv().unwrap(), 7);
        empty(b.try_recv());
    }

    #[test]
    fn overwritten_values_are_skipped_and_counted_per_reader() {
        let mb = Mailbox::new();
        let mut a = mb.subscribe();
        let mut b = mb.subscribe();
        mb.push(1u32);
        assert_eq!(a.try_recv().unwrap(), 1);
        mb.push(2);
        mb.push(3);
        assert_eq!(a.try_recv().unwrap(), 3);
        assert_eq!(a.overwritten(), 1);
        assert_eq!(b.try_recv().unwrap(), 3);
        assert_eq!(b.overwritten(), 2);
    }

    #[test]
    fn slot_is_emptied_when_the_last_owed_reader_takes_or_drops() {
        let mb = Mailbox::new();
        mb.push(0u32);
        assert_eq!(mb.stats().len, 0, "no reader: nothing retained");
        let mut a = mb.subscribe();
        let b = mb.subscribe();
        mb.push(1);
        assert_eq!(mb.stats().len, 1);
        assert_eq!(a.try_recv().unwrap(), 1);
        assert_eq!(mb.stats().len, 1, "b is still owed the value");
        drop(b);
        assert_eq!(mb.stats().len, 0);
        mb.push(2);
        assert_eq!(a.try_recv().unwrap(), 2);
        assert_eq!(mb.stats().len, 0);
        assert_eq!(mb.stats().produced, 3);
    }

    #[test]
    fn last_reader_takes_without_cloning() {
        static CLONES: AtomicUsize = AtomicUsize::new(0);
        struct Counted;
        impl Clone for Counted {
            fn clone(&self) -> Self {
                CLONES.fetch_add(1, Ordering::SeqCst);
                Counted
            }
        }
        let mb = Mailbox::new();
        let mut a = mb.subscribe();
        let mut b = mb.subscribe();
        mb.push(Counted);
        a.try_recv().unwrap();
        b.try_recv().unwrap();
        assert_eq!(CLONES.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn drain_into_yields_at_most_one() {
        let mb = Mailbox::new();
        let mut r = mb.subscribe();
        let mut out = Vec::new();
        assert_eq!(r.drain_into(&mut out), Drained::default());
        mb.push(1u32);
        mb.push(2);
        assert_eq!(r.drain_into(&mut out), Drained { items: 1, lagged: 0 });
        assert_eq!(out, [2]);
        assert_eq!(r.overwritten(), 1);
        assert_eq!(r.drain_into(&mut out), Drained::default());
    }

    #[test]
    fn parked_readers_are_all_woken() {
        let mb = Mailbox::new();
        let mut a = mb.subscribe();
        let mut b = mb.subscribe();
        let (pa, pb) = (Poller::new(), Poller::new());
        let mut fa = a.next();
        let mut fb = b.next();
        assert!(pa.poll(&mut fa).is_pending());
        assert!(pb.poll(&mut fb).is_pending());
        mb.push(9u32);
        assert_eq!((pa.wakes(), pb.wakes()), (1, 1));
        assert!(matches!(pa.poll(&mut fa), Poll::Ready(Ok(9))));
        assert!(matches!(pb.poll(&mut fb), Poll::Ready(Ok(9))));
        drop((fa, fb));
        let s = mb.stats();
        assert_eq!((s.parked, s.listeners, s.notifies, s.len), (0, 0, 1, 0));
    }

    #[test]
    fn push_without_parked_reader_does_not_notify() {
        let mb = Mailbox::new();
        let mut r = mb.subscribe();
        mb.push(1u32);
        assert_eq!(r.try_recv().unwrap(), 1);
        mb.push(2);
        assert_eq!(mb.shared.epoch(), 0);
    }

    #[test]
    fn dropping_reader_while_parked_frees_everything() {
        let mb = Mailbox::<u32>::new();
        let p = Poller::new();
        for _ in 0..100 {
            let mut r = mb.subscribe();
            let mut fut = r.next();
            assert!(p.poll(&mut fut).is_pending());
            drop(fut);
            drop(r);
        }
        let s = mb.stats();
        assert_eq!((s.readers, s.parked, s.listeners), (0, 0, 0));
    }

    struct Probe(Arc<Mutex<Option<Arc<Mailbox<Probe>>>>>);
    impl Clone for Probe {
        fn clone(&self) -> Self {
            Probe(self.0.clone())
        }
    }
    impl Drop for Probe {
        fn drop(&mut self) {
            if let Some(mb) = self.0.lock().unwrap().clone() {
                let _ = mb.stats();
            }
        }
    }

    #[test]
    fn evicted_values_are_dropped_outside_the_lock() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let slot = Arc::new(Mutex::new(None));
            let mb = Arc::new(Mailbox::new());
            *slot.lock().unwrap() = Some(mb.clone());
            mb.push(Probe(slot.clone())); // no reader: dropped at once
            let r = mb.subscribe();
            mb.push(Probe(slot.clone()));
            mb.push(Probe(slot.clone())); // overwrite
            drop(r); // last owed reader gone: value dropped
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
    fn threaded_consumer_always_reaches_the_final_value() {
        const N: u32 = 20_000;
        let mb = Arc::new(Mailbox::new());
        let mut r = mb.subscribe();
        let consumer = std::thread::spawn(move || {
            futures_lite::future::block_on(async {
                let mut last = 0;
                let mut got = 0u64;
                while last != N {
                    let v = r.next().await.unwrap();
                    assert!(v > last);
                    last = v;
                    got += 1;
                }
                (got, r.overwritten())
            })
        });
        for i in 1..=N {
            mb.push(i);
        }
        let (got, overwritten) = consumer.join().unwrap();
        assert_eq!(got + overwritten, u64::from(N));
    }
}
