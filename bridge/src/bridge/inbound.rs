//! Inbound frames: size limits, parsing, routing to records, late-join bookkeeping,
//! pongs, and what the caller reports back about a delivery.

use super::{Bridge, Phase, FRAME_EXCERPT_CHARS};
use crate::error::{excerpt, BridgeError};
use crate::frame::Frame;
use crate::types::{Action, ConnId, Delivery};

impl Bridge {
    /// A text frame arrived on `conn`. Any frame proves the link alive (clears the pong
    /// deadline: the server may drop a `pong` when its send queue is full); the first
    /// one on a socket resets the reconnect backoff. A frame longer than
    /// `maxFrameBytes` is dropped unparsed (`Error(FrameTooLarge)`). Then:
    /// `data`/`snapshot` -> `Deliver` (records linked `in`/`both`; unknown topics and
    /// `out` records are only counted), `pong` -> confirms the writes sent before the
    /// matching ping, `error` -> `Error(Server)`, `query_result`/`topic_list` ->
    /// `Response`, `subscribed` -> nothing. A frame that does not parse is counted and
    /// reported as `Error(MalformedFrame)`.
    pub fn on_frame(&mut self, conn: ConnId, text: &str, now_ms: f64) {
        if !self.frame_arrived(conn) {
            return;
        }
        if text.len() > self.opts.max_frame_bytes {
            self.frame_too_large(text.len());
            return;
        }
        let frame = match crate::frame::parse(text) {
            Ok(f) => f,
            Err(e) => {
                self.stats.malformed += 1;
                let cut: String = text.chars().take(FRAME_EXCERPT_CHARS).collect();
                self.error(BridgeError::MalformedFrame { reason: excerpt(&e), excerpt: cut });
                return;
            }
        };
        match frame {
            Frame::Data { topic, payload, ts } => {
                self.route(conn, &topic, payload, Some(ts));
                self.got_value_for(&topic);
            }
            Frame::Snapshot { topic, payload } => {
                self.stats.snapshots += 1;
                self.route(conn, &topic, payload, None);
                self.got_value_for(&topic);
            }
            Frame::Error { code, topic, message } => {
                self.stats.server_errors += 1;
                let topic: Option<String> = topic.map(Into::into);
                let forbidden_awaited = matches!(code, aimdb_ws_protocol::ErrorCode::Forbidden)
                    && topic.as_ref().is_some_and(|t| self.sync.is_awaited(t));
                let t = topic.clone();
                self.error(BridgeError::Server { code, topic, message: excerpt(&message) });
                if forbidden_awaited {
                    // A denied subscription will never send a snapshot: stop waiting
                    // (the topic is still listed as missing when `Synced` goes out).
                    if let Some(t) = t {
                        self.sync.deny(&t);
                        self.check_synced();
                    }
                }
            }
            Frame::Pong => self.on_pong(now_ms),
            Frame::Subscribed => {}
            Frame::Response => self.actions.push_back(Action::Response(text.to_owned())),
        }
    }

    /// The record number ([`Delivery::record`]) a `data`/`snapshot` frame for `topic`
    /// is routed to, if a record has that topic. Records are only ever appended (never
    /// removed or renumbered), so a number once found stays that topic's for the
    /// bridge's life: a transport may cache it (see [`on_parsed_data`](Self::on_parsed_data)).
    pub fn record_of_topic(&self, topic: &str) -> Option<usize> {
        self.records.by_topic(topic)
    }

    /// A `data` frame arrived on `conn` for record number `record`
    /// ([`record_of_topic`](Self::record_of_topic)), and the transport parsed its
    /// payload and its `ts` itself (a fast path in front of
    /// [`on_frame`](Self::on_frame): the frame is not given, the size check was the
    /// caller's). The same bookkeeping as `on_frame` for that frame: it proves the link
    /// alive (or counts a stale event for a closed `conn`), then routes (`not_inbound`,
    /// `delivered`, the record's live-data socket; an unknown number counts as
    /// `unknown_topic`) and counts the value for a pending late-join round (which may
    /// queue `Synced`). Queues no `Deliver`: returns `true` when the caller is to
    /// deliver its parsed value itself (before it executes the queued actions, so
    /// they follow the value as they follow a `Deliver`).
    ///
    /// (A delivery's `ts` only orders values held for a backfill: a transport takes
    /// this path only for records with no backfill waiting.)
    pub fn on_parsed_data(&mut self, conn: ConnId, record: usize, _now_ms: f64) -> bool {
        if !self.frame_arrived(conn) {
            return false;
        }
        if self.records.try_get(record).is_none() {
            self.stats.unknown_topic += 1;
            return false;
        }
        let deliver = self.admit(conn, record, false);
        if self.sync.got(&self.records.get(record).topic) {
            self.check_synced();
        }
        deliver
    }

    /// A text frame of `bytes` UTF-8 bytes (over [`max_frame_bytes`](Self::max_frame_bytes))
    /// arrived on `conn` and the transport dropped it without copying it: counted in
    /// `oversized_frames` and reported as `Error(FrameTooLarge)`; it still proves the
    /// link alive. (A transport may always call [`on_frame`](Self::on_frame) instead,
    /// which checks the length itself.)
    pub fn on_frame_too_large(&mut self, conn: ConnId, bytes: usize, _now_ms: f64) {
        if self.frame_arrived(conn) {
            self.frame_too_large(bytes);
        }
    }

    /// A binary frame of `bytes` bytes arrived on `conn`: the server sends text frames
    /// only, so it is dropped, counted in `binary_frames` and reported as
    /// `Error(BinaryFrame)`. It still proves the link alive.
    pub fn on_binary_frame(&mut self, conn: ConnId, bytes: usize, _now_ms: f64) {
        if self.frame_arrived(conn) {
            self.stats.binary_frames += 1;
            self.error(BridgeError::BinaryFrame { bytes });
        }
    }

    /// The caller's contract validation refused a delivered payload: counted in
    /// `Stats::rejected` and reported as `Error(PayloadRejected)` (the reason cut to
    /// [`MAX_EXCERPT_CHARS`](crate::error::MAX_EXCERPT_CHARS) characters).
    pub fn reject_inbound(&mut self, key: &str, reason: impl Into<String>, _now_ms: f64) {
        self.stats.rejected += 1;
        let reason = excerpt(&reason.into());
        self.error(BridgeError::PayloadRejected { key: key.to_owned(), reason });
    }

    /// Common handling of every inbound frame: false if `conn` is not the open socket.
    pub(super) fn frame_arrived(&mut self, conn: ConnId) -> bool {
        if self.phase != (Phase::Open { conn }) {
            self.stats.stale_events += 1;
            return false;
        }
        self.stats.frames_received += 1;
        self.session.pong_deadline = None;
        if !self.session.alive {
            // The link has lived: the next loss starts the backoff over.
            self.session.alive = true;
            if let Some(b) = &mut self.backoff {
                b.reset();
            }
        }
        true
    }

    pub(super) fn frame_too_large(&mut self, bytes: usize) {
        self.stats.oversized_frames += 1;
        self.error(BridgeError::FrameTooLarge { bytes, limit: self.opts.max_frame_bytes });
    }

    pub(super) fn on_pong(&mut self, now_ms: f64) {
        self.stats.pongs += 1;
        let confirmed = self.outbox.on_pong();
        self.stats.writes_confirmed += confirmed;
        if confirmed > 0 {
            self.outbox_changed();
        }
        let s = &mut self.session;
        s.confirm_misses = 0;
        s.confirm_sent = None;
        if self.outbox.unconfirmed_len() > 0 {
            if self.outbox.uncovered() {
                s.confirm_at.get_or_insert(now_ms);
            } else {
                // A ping after them is out; its pong confirms them.
                s.confirm_sent = Some(s.last_ping_at);
            }
        }
    }

    /// Routes a `data`/`snapshot` payload to its record. A snapshot after live data
    /// of the same record on the same socket is stale: at best the same value, at
    /// worst an older one, so it is not delivered (the record is not moved back).
    /// `ts`: the `data` frame's timestamp; `None` for a `snapshot`.
    pub(super) fn route(&mut self, conn: ConnId, topic: &str, payload: &str, ts: Option<u64>) {
        let snapshot = ts.is_none();
        // A stream mostly repeats its topic: compare with the last one before hashing.
        let i = match self.last_route {
            Some(i) if self.records.get(i).topic == topic => i,
            _ => match self.records.by_topic(topic) {
                Some(i) => {
                    self.last_route = Some(i);
                    i
                }
                None => {
                    self.stats.unknown_topic += 1;
                    return;
                }
            },
        };
        if self.admit(conn, i, snapshot) {
            let d = Delivery { record: i, payload: payload.to_owned(), snapshot, ts };
            self.actions.push_back(Action::Deliver(d));
        }
    }

    /// Whether a value routed to record `i` on `conn` is delivered (counted in
    /// `delivered`; a live one marks the record's data socket), else counted as a
    /// stale snapshot or `not_inbound`.
    fn admit(&mut self, conn: ConnId, i: usize, snapshot: bool) -> bool {
        let r = self.records.get_mut(i);
        if snapshot && r.data_conn == conn.0 {
            self.stats.stale_snapshots += 1;
            return false;
        }
        if !r.link.is_inbound() {
            self.stats.not_inbound += 1;
            return false;
        }
        if !snapshot {
            r.data_conn = conn.0;
        }
        self.stats.delivered += 1;
        true
    }

    pub(super) fn got_value_for(&mut self, topic: &str) {
        if self.sync.got(topic) {
            self.check_synced();
        }
    }
}
