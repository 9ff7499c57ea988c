//! Outbound writes: the pre-apply check, `write_json`, the `write` frame built on the
//! payload's text, the hand-off to the socket (unconfirmed until a pong, see
//! [`crate::outbox`]) and the offline queue's overflow policy.

use serde_json::Value;

use super::{Bridge, Phase, MAX_FRAME_BYTES};
use crate::error::{excerpt, WriteError};
use crate::options::OverflowPolicy;
use crate::outbox::{Pending, Push};
use crate::types::{Action, ConnId, DropReason, DroppedWrite, WriteOutcome};

impl Bridge {
    /// Whether [`write_json`](Self::write_json) would accept `payload_json` (compact
    /// JSON, the contract's canonical form) for `key`, without changing anything: the
    /// checks to make *before* the caller applies the value locally, so that a refused
    /// write never half-happens. Errors, exactly as `write_json` returns them:
    /// [`WriteError::UnknownRecord`], [`WriteError::NotOutbound`],
    /// [`WriteError::Disconnected`] (after `disconnect()`), [`WriteError::TooLarge`]
    /// (the frame would exceed [`MAX_FRAME_BYTES`]), and [`WriteError::QueueFull`] (not
    /// connected, queue full, `overflow: 'reject'`). Under `dropOldest`/`dropNewest` a
    /// full queue is not an error: `write_json` accepts and reports the drop. The text
    /// is not parsed here (`write_json` refuses text that is not JSON with
    /// [`WriteError::InvalidPayload`]; the caller validated it already).
    pub fn check_write(&self, key: &str, payload_json: &str, _now_ms: f64) -> Result<(), WriteError> {
        let i = self.outbound_record(key)?;
        if self.deliberate {
            return Err(WriteError::Disconnected { key: key.to_owned() });
        }
        self.check_size(key, i, payload_json.len())?;
        if !matches!(self.phase, Phase::Open { .. })
            && self.opts.overflow == OverflowPolicy::Reject
            && !self.outbox.has_room(self.opts.max_offline_queue)
        {
            return Err(WriteError::QueueFull { key: key.to_owned(), capacity: self.opts.max_offline_queue });
        }
        Ok(())
    }

    /// [`write_json`](Self::write_json) with the payload as a `serde_json::Value` (a
    /// convenience for native callers; the browser glue hands over text).
    pub fn write(&mut self, key: &str, payload: Value, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        self.write_json(key, &payload.to_string(), now_ms)
    }

    /// A local value for record `key` (its JSON text, e.g. the contract's canonical
    /// JSON) to go to the server. The `write` frame is built around the text as is
    /// (byte for byte what `serde_json` writes for the protocol's
    /// `ClientMessage::Write` with that payload); the text is only checked to be one
    /// JSON value ([`WriteError::InvalidPayload`] otherwise).
    ///
    /// - after `disconnect()`: `Err(Disconnected)` + `WriteDropped`;
    /// - connected: a `write` frame, `Ok(Sent)`; it stays unconfirmed until a `pong`
    ///   (a confirm `ping` goes out at the next timer) and is re-sent after a reconnect
    ///   if the link dies first;
    /// - otherwise queued FIFO (sent in order on the next open); a full queue follows
    ///   `overflow`: `Ok(QueuedDroppedOldest)` / `Ok(DroppedNewest)` / `Err(QueueFull)`,
    ///   each with a `WriteDropped` action.
    ///
    /// Unknown keys, `in` records and frames over 16 MiB are refused with an error
    /// ([`check_write`](Self::check_write) asks the same without writing). An error
    /// changes nothing but the counters.
    pub fn write_json(&mut self, key: &str, payload_json: &str, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let result = self.write_inner(key, payload_json, now_ms);
        if result.is_err() {
            self.stats.writes_rejected += 1;
        }
        result
    }

    /// The size rule of [`check_write`](Self::check_write): the frame of a payload of
    /// `payload_len` bytes of JSON for record `i`.
    pub(super) fn check_size(&self, key: &str, i: usize, payload_len: usize) -> Result<(), WriteError> {
        let bytes = self.records.get(i).write_prefix.len().saturating_add(payload_len).saturating_add(1);
        if bytes > MAX_FRAME_BYTES {
            return Err(WriteError::TooLarge { key: key.to_owned(), bytes, limit: MAX_FRAME_BYTES });
        }
        Ok(())
    }

    pub(super) fn outbound_record(&self, key: &str) -> Result<usize, WriteError> {
        let Some(i) = self.records.by_key(key) else {
            return Err(WriteError::UnknownRecord { key: key.to_owned() });
        };
        let r = self.records.get(i);
        if !r.link.is_outbound() {
            return Err(WriteError::NotOutbound { key: key.to_owned(), link: r.link });
        }
        Ok(i)
    }

    /// Hands `w` to socket `conn`; it is unconfirmed until a pong, and a confirm ping
    /// is scheduled for the next timer unless one is out already.
    pub(super) fn send_write(&mut self, conn: ConnId, w: Pending, now_ms: f64) {
        if w.resend {
            self.stats.writes_resent += 1;
        }
        self.stats.writes_sent += 1;
        self.send_frame(conn, w.frame.clone());
        self.outbox.sent(w);
        self.outbox_changed();
        if self.session.confirm_sent.is_none() {
            self.session.confirm_at.get_or_insert(now_ms);
        }
    }

    fn write_inner(&mut self, key: &str, payload: &str, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let i = self.outbound_record(key)?;
        if self.deliberate {
            // Reported as dropped, so counted as dropped (and as rejected, by write_json).
            self.stats.writes_dropped += 1;
            self.report_drop(i, payload.to_owned(), DropReason::Disconnected);
            return Err(WriteError::Disconnected { key: key.to_owned() });
        }
        self.check_size(key, i, payload.len())?;
        crate::json::validate(payload)
            .map_err(|e| WriteError::InvalidPayload { key: key.to_owned(), reason: excerpt(&e) })?;
        let payload = payload.trim_matches([' ', '\t', '\n', '\r']);
        let w = self.pending_for(i, payload, false);
        if let Phase::Open { conn } = self.phase {
            self.send_write(conn, w, now_ms);
            return Ok(WriteOutcome::Sent);
        }
        let (cap, policy) = (self.opts.max_offline_queue, self.opts.overflow);
        let pushed = self.outbox.push(w, cap, policy);
        if matches!(pushed, Push::Queued | Push::QueuedDroppedOldest(_)) {
            self.outbox_changed();
        }
        match pushed {
            Push::Queued => {
                self.stats.writes_queued += 1;
                Ok(WriteOutcome::Queued)
            }
            Push::QueuedDroppedOldest(old) => {
                self.stats.writes_queued += 1;
                self.drop_write(old, DropReason::DroppedOldest);
                Ok(WriteOutcome::QueuedDroppedOldest)
            }
            Push::DroppedNewest => {
                self.stats.writes_dropped += 1;
                self.report_drop(i, payload.to_owned(), DropReason::DroppedNewest);
                Ok(WriteOutcome::DroppedNewest)
            }
            Push::Rejected => {
                self.stats.writes_dropped += 1;
                self.report_drop(i, payload.to_owned(), DropReason::QueueFull);
                Err(WriteError::QueueFull { key: key.to_owned(), capacity: cap })
            }
        }
    }

    /// Drops a write that will never be sent (counted, reported).
    pub(super) fn drop_write(&mut self, w: Pending, reason: DropReason) {
        self.stats.writes_dropped += 1;
        let payload = w.payload().to_owned();
        self.report_drop(w.record, payload, reason);
    }

    pub(super) fn report_drop(&mut self, record: usize, payload: String, reason: DropReason) {
        let r = self.records.get(record);
        let d = DroppedWrite { key: r.key.clone(), topic: r.topic.clone(), payload, reason };
        self.actions.push_back(Action::WriteDropped(d));
    }
}
