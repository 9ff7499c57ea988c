//! Outbound writes: the pre-apply check, `write`/`write_json`, echo suppression, the
//! hand-off to the socket (unconfirmed until a pong, see [`crate::outbox`]) and the
//! offline queue's overflow policy.

use aimdb_ws_protocol::ClientMessage;
use serde_json::Value;

use super::{Bridge, Phase, MAX_FRAME_BYTES, WRITE_FRAME_OVERHEAD};
use crate::error::{excerpt, WriteError};
use crate::options::{OverflowPolicy};
use crate::outbox::{Pending, Push};
use crate::records::ECHO_WINDOW;
use crate::types::{Action, ConnId, DropReason, DroppedWrite, WriteOutcome};

impl Bridge {
    /// [`should_send_json`](Self::should_send_json) with the payload as a value
    /// (compared as its compact JSON text, `serde_json`'s key order).
    pub fn should_send(&self, key: &str, payload: &Value) -> bool {
        self.should_send_json(key, &payload.to_string())
    }

    /// Whether a write of `canonical_json` to `key` would go out: the record exists, is
    /// linked `out`/`both`, and the text is not one of the values just delivered into
    /// it (as given to [`note_inbound`](Self::note_inbound)). Does not change anything
    /// ([`write_json`](Self::write_json) applies the same check itself).
    pub fn should_send_json(&self, key: &str, canonical_json: &str) -> bool {
        match self.records.by_key(key) {
            Some(i) => {
                let r = self.records.get(i);
                r.link.is_outbound() && !r.echo.iter().any(|v| v == canonical_json)
            }
            None => false,
        }
    }

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

    /// A local value for record `key` to go to the server (compared for echo
    /// suppression as its compact JSON text; prefer [`write_json`](Self::write_json)
    /// with the contract's canonical JSON).
    ///
    /// - an echo of a value just delivered into this `both` record: `Ok(Suppressed)`,
    ///   nothing sent (see the crate docs, *Echo suppression*);
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
    pub fn write(&mut self, key: &str, payload: Value, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let text = payload.to_string();
        self.write_counted(key, &text, payload, now_ms)
    }

    /// [`write`](Self::write) with the payload as JSON text: the contract's canonical
    /// JSON of the value, compared as is with the values given to
    /// [`note_inbound`](Self::note_inbound) for echo suppression. Refused with
    /// [`WriteError::InvalidPayload`] if it does not parse.
    pub fn write_json(&mut self, key: &str, payload_json: &str, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        match serde_json::from_str(payload_json) {
            Ok(v) => self.write_counted(key, payload_json, v, now_ms),
            Err(e) => {
                self.stats.writes_rejected += 1;
                Err(WriteError::InvalidPayload { key: key.to_owned(), reason: excerpt(&e.to_string()) })
            }
        }
    }

    /// The caller applied a delivered value to the `both` record `key`: remember its
    /// canonical JSON (the text the caller's outbound side will pass to
    /// [`write_json`](Self::write_json) for that same value), so that writing it back
    /// is suppressed. At most [`ECHO_WINDOW`] values per record are remembered (the
    /// oldest go first). Ignored for other records and unknown keys.
    pub fn note_inbound(&mut self, key: &str, canonical_json: &str) {
        let Some(i) = self.records.by_key(key) else { return };
        let r = self.records.get_mut(i);
        if r.link != crate::options::Link::Both {
            return;
        }
        if r.echo.len() == ECHO_WINDOW {
            r.echo.pop_front();
        }
        r.echo.push_back(canonical_json.to_owned());
    }

    /// The size rule of [`check_write`](Self::check_write): the frame of a payload of
    /// `payload_len` bytes of JSON for record `i`.
    pub(super) fn check_size(&self, key: &str, i: usize, payload_len: usize) -> Result<(), WriteError> {
        let bytes = WRITE_FRAME_OVERHEAD.saturating_add(self.records.get(i).topic_json_len).saturating_add(payload_len);
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
        if self.session.confirm_sent.is_none() {
            self.session.confirm_at.get_or_insert(now_ms);
        }
    }

    pub(super) fn write_counted(&mut self, key: &str, text: &str, payload: Value, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let result = self.write_inner(key, text, payload, now_ms);
        if result.is_err() {
            self.stats.writes_rejected += 1;
        }
        result
    }

    pub(super) fn write_inner(&mut self, key: &str, text: &str, payload: Value, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let i = self.outbound_record(key)?;
        let r = self.records.get_mut(i);
        if let Some(pos) = r.echo.iter().position(|v| v == text) {
            // Values delivered before the echoed one were skipped by the record's
            // reader (a latest-value buffer coalesces): forget them too.
            r.echo.drain(..=pos);
            self.stats.echo_suppressed += 1;
            return Ok(WriteOutcome::Suppressed);
        }
        let topic = r.topic.clone();
        if self.deliberate {
            self.report_drop(i, payload, DropReason::Disconnected);
            return Err(WriteError::Disconnected { key: key.to_owned() });
        }
        // The rule `check_write` applies, then (below) the real frame's length.
        self.check_size(key, i, text.len())?;
        let msg = ClientMessage::Write { topic, payload };
        let frame = serde_json::to_string(&msg)
            .map_err(|e| WriteError::InvalidPayload { key: key.to_owned(), reason: excerpt(&e.to_string()) })?;
        if frame.len() > MAX_FRAME_BYTES {
            return Err(WriteError::TooLarge { key: key.to_owned(), bytes: frame.len(), limit: MAX_FRAME_BYTES });
        }
        let ClientMessage::Write { payload, .. } = msg else {
            // Constructed as `Write` just above; kept fallible rather than panicking.
            return Err(WriteError::InvalidPayload { key: key.to_owned(), reason: "internal".into() });
        };
        let w = Pending { record: i, frame, resend: false };
        if let Phase::Open { conn } = self.phase {
            self.send_write(conn, w, now_ms);
            return Ok(WriteOutcome::Sent);
        }
        let (cap, policy) = (self.opts.max_offline_queue, self.opts.overflow);
        match self.outbox.push(w, cap, policy) {
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
                self.report_drop(i, payload, DropReason::DroppedNewest);
                Ok(WriteOutcome::DroppedNewest)
            }
            Push::Rejected => {
                self.report_drop(i, payload, DropReason::QueueFull);
                Err(WriteError::QueueFull { key: key.to_owned(), capacity: cap })
            }
        }
    }

    /// Drops a write that will never be sent (counted, reported); its payload is read
    /// back from its frame.
    pub(super) fn drop_write(&mut self, w: Pending, reason: DropReason) {
        self.stats.writes_dropped += 1;
        let payload = payload_of(&w.frame);
        self.report_drop(w.record, payload, reason);
    }

    pub(super) fn report_drop(&mut self, record: usize, payload: Value, reason: DropReason) {
        let r = self.records.get(record);
        let d = DroppedWrite { key: r.key.clone(), topic: r.topic.clone(), payload, reason };
        self.actions.push_back(Action::WriteDropped(d));
    }
}

/// The payload of a `write` frame this machine serialized (`null` if it cannot be read
/// back, which does not happen).
fn payload_of(frame: &str) -> Value {
    match serde_json::from_str::<Value>(frame) {
        Ok(Value::Object(mut m)) => m.remove("payload").unwrap_or(Value::Null),
        _ => Value::Null,
    }
}
