//! Outbound writes: the offline queue, and the writes handed to the current socket
//! that no `pong` has confirmed yet.
//!
//! The server sends no write acks, but it answers `ping`s in order on the same socket,
//! after reading everything sent before them. So a write is confirmed by the `pong` of
//! any ping sent after it. Pongs carry no id and the server may drop one (its send
//! queue drops frames when full), so they are counted: the k-th pong received answers
//! some ping >= k, which proves the server read at least up to the k-th ping. A dropped
//! pong therefore delays confirmation (until a later ping's pong), never confirms too
//! much.

use std::collections::VecDeque;

use crate::options::OverflowPolicy;
use crate::types::DropReason;

/// A `write` frame for one record, not yet confirmed.
pub(crate) struct Pending {
    pub(crate) record: usize,
    pub(crate) frame: String,
    /// Where the payload starts in `frame` (it ends before the final `}`).
    pub(crate) payload_at: usize,
    /// An earlier socket took it (it is a re-send now).
    pub(crate) resend: bool,
}

impl Pending {
    /// The payload's JSON text.
    pub(crate) fn payload(&self) -> &str {
        self.frame.get(self.payload_at..self.frame.len().saturating_sub(1)).unwrap_or("")
    }
}

struct InFlight {
    w: Pending,
    /// Pings sent on this socket before the write.
    after_ping: u64,
}

/// What [`Outbox::push`] did.
pub(crate) enum Push {
    Queued,
    QueuedDroppedOldest(Pending),
    /// `w` was dropped (not stored).
    DroppedNewest,
    /// `w` was refused (not stored).
    Rejected,
}

#[derive(Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Pending>,
    unconfirmed: VecDeque<InFlight>,
    /// Pings sent on the current socket.
    pings: u64,
    /// Pongs received on the current socket (never more than `pings`).
    pongs: u64,
}

impl Outbox {
    pub(crate) fn queue_len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn unconfirmed_len(&self) -> usize {
        self.unconfirmed.len()
    }

    /// Whether one more write would fit in a queue of capacity `cap`.
    pub(crate) fn has_room(&self, cap: usize) -> bool {
        self.queue.len() < cap
    }

    /// Queues `w` (not connected), following `policy` when the queue is full.
    pub(crate) fn push(&mut self, w: Pending, cap: usize, policy: OverflowPolicy) -> Push {
        if self.has_room(cap) {
            self.queue.push_back(w);
            return Push::Queued;
        }
        match policy {
            OverflowPolicy::DropOldest if cap > 0 => match self.queue.pop_front() {
                Some(old) => {
                    self.queue.push_back(w);
                    Push::QueuedDroppedOldest(old)
                }
                None => Push::DroppedNewest,
            },
            OverflowPolicy::DropOldest | OverflowPolicy::DropNewest => Push::DroppedNewest,
            OverflowPolicy::Reject => Push::Rejected,
        }
    }

    /// The oldest queued write.
    pub(crate) fn pop_queued(&mut self) -> Option<Pending> {
        self.queue.pop_front()
    }

    /// `w` was handed to the current socket.
    pub(crate) fn sent(&mut self, w: Pending) {
        self.unconfirmed.push_back(InFlight { w, after_ping: self.pings });
    }

    /// A ping was sent on the current socket.
    pub(crate) fn on_ping(&mut self) {
        self.pings += 1;
    }

    /// A pong arrived: returns how many writes it confirmed.
    pub(crate) fn on_pong(&mut self) -> u64 {
        self.pongs = (self.pongs + 1).min(self.pings);
        let mut n = 0;
        while self.unconfirmed.front().is_some_and(|f| f.after_ping < self.pongs) {
            self.unconfirmed.pop_front();
            n += 1;
        }
        n
    }

    /// Whether an unconfirmed write went out after the last ping (no ping covers it).
    pub(crate) fn uncovered(&self) -> bool {
        self.unconfirmed.back().is_some_and(|b| b.after_ping == self.pings)
    }

    /// Every write not confirmed yet, oldest first: the unconfirmed ones, then the queue.
    pub(crate) fn pending(&self) -> impl Iterator<Item = &Pending> {
        self.unconfirmed.iter().map(|f| &f.w).chain(self.queue.iter())
    }

    /// Writes restored from storage go to the front of the queue, in order, ahead of
    /// everything queued; then the queue is trimmed to `cap` as in
    /// [`link_down`](Self::link_down). Returns the dropped writes.
    pub(crate) fn restore_front(
        &mut self,
        writes: Vec<Pending>,
        cap: usize,
        policy: OverflowPolicy,
    ) -> Vec<(Pending, DropReason)> {
        for w in writes.into_iter().rev() {
            self.queue.push_front(w);
        }
        self.trim(cap, policy)
    }

    /// The socket is gone: its unconfirmed writes go back to the front of the queue,
    /// in order, marked as re-sends. If they and the queue exceed `cap`, `policy`
    /// decides which go: `dropOldest` drops from the front, `dropNewest` and `reject`
    /// (no caller to refuse now) from the back. Returns the dropped writes.
    pub(crate) fn link_down(&mut self, cap: usize, policy: OverflowPolicy) -> Vec<(Pending, DropReason)> {
        self.pings = 0;
        self.pongs = 0;
        while let Some(f) = self.unconfirmed.pop_back() {
            self.queue.push_front(Pending { resend: true, ..f.w });
        }
        self.trim(cap, policy)
    }

    /// Drops from the queue until it holds at most `cap`: `dropOldest` from the front,
    /// `dropNewest` and `reject` (no caller to refuse now) from the back. Reported
    /// oldest first.
    fn trim(&mut self, cap: usize, policy: OverflowPolicy) -> Vec<(Pending, DropReason)> {
        let mut dropped = Vec::new();
        while self.queue.len() > cap {
            let (w, reason) = match policy {
                OverflowPolicy::DropOldest => (self.queue.pop_front(), DropReason::DroppedOldest),
                OverflowPolicy::DropNewest | OverflowPolicy::Reject => {
                    (self.queue.pop_back(), DropReason::DroppedNewest)
                }
            };
            match w {
                Some(w) => dropped.push((w, reason)),
                None => break,
            }
        }
        if policy != OverflowPolicy::DropOldest {
            dropped.reverse(); // reported oldest first
        }
        dropped
    }

    /// Empties both lists (unconfirmed first: they are older), oldest first.
    pub(crate) fn drain_all(&mut self) -> Vec<Pending> {
        self.pings = 0;
        self.pongs = 0;
        // `pop_front` loops, not `drain(..)`: VecDeque's `Drain` links ~1 KB of wasm for
        // this one call.
        let mut out: Vec<Pending> = Vec::with_capacity(self.unconfirmed.len() + self.queue.len());
        while let Some(f) = self.unconfirmed.pop_front() {
            out.push(f.w);
        }
        while let Some(w) = self.queue.pop_front() {
            out.push(w);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(n: usize) -> Pending {
        Pending { record: n, frame: n.to_string(), payload_at: 0, resend: false }
    }

    fn queued(o: &mut Outbox) -> Vec<(usize, bool)> {
        let mut v = Vec::new();
        while let Some(p) = o.pop_queued() {
            v.push((p.record, p.resend));
        }
        v
    }

    #[test]
    fn a_pong_confirms_what_went_out_before_its_ping() {
        let mut o = Outbox::default();
        o.sent(w(1));
        o.sent(w(2));
        assert!(o.uncovered());
        o.on_ping();
        assert!(!o.uncovered());
        o.sent(w(3));
        assert!(o.uncovered());
        assert_eq!(o.on_pong(), 2);
        assert_eq!(o.unconfirmed_len(), 1);
        // A pong for which no ping is outstanding confirms nothing more.
        assert_eq!(o.on_pong(), 0);
        o.on_ping();
        assert_eq!(o.on_pong(), 1);
        assert_eq!(o.unconfirmed_len(), 0);
    }

    #[test]
    fn a_dropped_pong_delays_confirmation_but_never_over_confirms() {
        let mut o = Outbox::default();
        o.on_ping(); // its pong is dropped by the server
        o.sent(w(1));
        o.on_ping();
        // The pong of the second ping is counted as the first: it cannot confirm w1.
        assert_eq!(o.on_pong(), 0);
        o.on_ping();
        assert_eq!(o.on_pong(), 1);
    }

    #[test]
    fn link_down_requeues_in_order_at_the_front() {
        let mut o = Outbox::default();
        o.sent(w(1));
        o.sent(w(2));
        assert!(matches!(o.push(w(3), 10, OverflowPolicy::DropOldest), Push::Queued));
        assert!(o.link_down(10, OverflowPolicy::DropOldest).is_empty());
        assert_eq!(queued(&mut o), [(1, true), (2, true), (3, false)]);
    }

    #[test]
    fn restored_writes_go_ahead_of_the_queue_and_are_trimmed_by_the_policy() {
        let mut o = Outbox::default();
        assert!(matches!(o.push(w(9), 10, OverflowPolicy::DropOldest), Push::Queued));
        assert!(o.restore_front(vec![w(1), w(2)], 10, OverflowPolicy::DropOldest).is_empty());
        assert_eq!(o.pending().map(|p| p.record).collect::<Vec<_>>(), [1, 2, 9]);
        let dropped = o.restore_front(vec![w(0)], 3, OverflowPolicy::DropOldest);
        assert_eq!(dropped.iter().map(|(p, r)| (p.record, *r)).collect::<Vec<_>>(), [(0, DropReason::DroppedOldest)]);
        let dropped = o.restore_front(vec![w(0)], 3, OverflowPolicy::DropNewest);
        assert_eq!(dropped.iter().map(|(p, r)| (p.record, *r)).collect::<Vec<_>>(), [(9, DropReason::DroppedNewest)]);
        assert_eq!(queued(&mut o), [(0, false), (1, false), (2, false)]);
    }

    #[test]
    fn link_down_over_capacity_follows_the_policy() {
        for (policy, kept, reason) in [
            (OverflowPolicy::DropOldest, vec![2, 3], DropReason::DroppedOldest),
            (OverflowPolicy::DropNewest, vec![0, 1], DropReason::DroppedNewest),
            (OverflowPolicy::Reject, vec![0, 1], DropReason::DroppedNewest),
        ] {
            let mut o = Outbox::default();
            for n in 0..4 {
                o.sent(w(n));
            }
            let dropped = o.link_down(2, policy);
            assert_eq!(dropped.len(), 2);
            assert!(dropped.iter().all(|(_, r)| *r == reason));
            assert_eq!(queued(&mut o).into_iter().map(|x| x.0).collect::<Vec<_>>(), kept, "{policy:?}");
        }
    }
}
