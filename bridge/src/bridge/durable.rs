//! Hooks for a layer that keeps the writes not yet confirmed in durable storage
//! (the browser glue's IndexedDB queue). The machine does no I/O: it tells when the
//! set changed ([`Action::OutboxChanged`]), lists it ([`Bridge::pending_writes`]) and
//! takes stored writes back ([`Bridge::restore_writes`]).

use super::Bridge;
use crate::outbox::Pending;
use crate::types::{Action, DropReason};

impl Bridge {
    /// Turns [`Action::OutboxChanged`] on or off (off by default): when on, every change
    /// of the writes not yet confirmed (a write queued, sent, confirmed by a `pong`,
    /// dropped, re-queued, restored) queues one.
    pub fn track_outbox(&mut self, on: bool) {
        self.track_outbox = on;
    }

    /// The writes not confirmed yet, oldest first, as `(record key, payload JSON)`:
    /// those handed to the current socket that no `pong` confirmed, then the queue.
    /// Exactly what a later page must send again if this one dies now.
    pub fn pending_writes(&self) -> Vec<(&str, &str)> {
        self.outbox.pending().map(|w| (self.records.get(w.record).key.as_str(), w.payload())).collect()
    }

    /// Puts writes kept by an earlier page back at the front of the queue, in the given
    /// order (oldest first), ahead of every write queued now; they go out FIFO on the
    /// next open, counted as re-sends (an earlier page may have sent them already).
    /// Each `(key, payload)` is checked like a new write; `check(record, payload)`
    /// returns the payload to send (e.g. the contract's canonical form after a
    /// migration) or why it can no longer be sent. A write whose key is no outbound
    /// record, whose payload is not one JSON value or whose frame would be too large,
    /// or that `check` refuses, is dropped: counted and reported as
    /// [`Action::WriteDropped`] with [`DropReason::Invalid`]. Then the queue is held
    /// to `maxOfflineQueue` by the overflow policy, as when a lost link's writes come
    /// back (drops reported).
    pub fn restore_writes(
        &mut self,
        writes: Vec<(String, String)>,
        mut check: impl FnMut(usize, &str) -> Result<String, String>,
        _now_ms: f64,
    ) {
        let mut ok = Vec::with_capacity(writes.len());
        for (key, payload) in writes {
            let i = match self.outbound_record(&key) {
                Ok(i) => i,
                Err(_) => {
                    self.stats.writes_dropped += 1;
                    let topic = self.topic_of(&key).unwrap_or_default().to_owned();
                    let d = crate::types::DroppedWrite { key, topic, payload, reason: DropReason::Invalid };
                    self.actions.push_back(Action::WriteDropped(d));
                    continue;
                }
            };
            let checked = check(i, &payload).and_then(|p| {
                self.check_size(&key, i, p.len()).map_err(|e| e.to_string())?;
                crate::json::validate(&p).map_err(|e| e.to_string())?;
                Ok(p)
            });
            match checked {
                Ok(p) => ok.push(self.pending_for(i, p.trim_matches([' ', '\t', '\n', '\r']), true)),
                Err(_) => {
                    self.stats.writes_dropped += 1;
                    self.report_drop(i, payload, DropReason::Invalid);
                }
            }
        }
        self.stats.writes_queued += ok.len() as u64;
        let dropped = self.outbox.restore_front(ok, self.opts.max_offline_queue, self.opts.overflow);
        for (w, reason) in dropped {
            self.drop_write(w, reason);
        }
        self.outbox_changed();
    }

    /// Queues [`Action::OutboxChanged`] when tracking.
    pub(super) fn outbox_changed(&mut self) {
        if self.track_outbox {
            self.actions.push_back(Action::OutboxChanged);
        }
    }

    /// The `write` frame of `payload` (trimmed JSON text) for record `i`.
    pub(super) fn pending_for(&self, i: usize, payload: &str, resend: bool) -> Pending {
        let prefix = &self.records.get(i).write_prefix;
        let mut frame = String::with_capacity(prefix.len() + payload.len() + 1);
        frame.push_str(prefix);
        frame.push_str(payload);
        frame.push('}');
        Pending { record: i, frame, payload_at: prefix.len(), resend }
    }
}
