//! The state machine. See the crate docs for the design; every method documents the
//! actions it may queue. The parts live in their own modules: the record table
//! ([`crate::records`]), outbound writes ([`crate::outbox`]), late-join rounds
//! ([`crate::sync`]).

use core::fmt;
use std::collections::VecDeque;

use aimdb_ws_protocol::{ClientMessage, ServerMessage};
use serde_json::Value;

use crate::backoff::Backoff;
use crate::error::{excerpt, BridgeError, WriteError};
use crate::map::{OrderedSet, Set};
use crate::options::{BridgeOptions, ConfigError, OverflowPolicy, RecordLink, DEFAULT_SEED};
use crate::outbox::{Outbox, Pending, Push};
use crate::records::{Patterns, Records, ECHO_WINDOW};
use crate::sync::SyncRound;
use crate::topic::translate_pattern;
use crate::types::{Action, ConnId, Delivery, DropReason, DroppedWrite, Stats, Status, WriteOutcome};

/// The server drops a connection (TCP reset) on a frame above 16 MiB: no frame the
/// bridge sends is longer.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// How many characters of a malformed frame its error keeps.
const FRAME_EXCERPT_CHARS: usize = 80;

/// Confirm pings in a row without any `pong` (each waited `pongTimeoutMs`) after which
/// a link with unconfirmed writes is treated as dead, even if other frames arrive.
pub const CONFIRM_PINGS: u32 = 3;

/// `{"type":"write","topic":` + `,"payload":` + `}`: a write frame is this plus the
/// topic as a JSON string plus the payload's JSON.
const WRITE_FRAME_OVERHEAD: usize = 36;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No socket.
    Idle,
    /// `Open` issued, waiting for `on_open`.
    Opening { conn: ConnId, started: f64 },
    /// Connected.
    Open { conn: ConnId },
    /// Waiting to retry at `at`.
    Waiting { at: f64 },
}

/// State of one open connection.
#[derive(Default)]
struct Session {
    /// Patterns and exact topics subscribed on this connection (sent; acks are not
    /// relied on because the server may drop them).
    subscribed: OrderedSet,
    ping_at: Option<f64>,
    /// `(deadline, sent_at)`: set when a ping goes out; cleared by any inbound frame.
    pong_deadline: Option<(f64, f64)>,
    /// Topics that got live data on this connection (a later snapshot is stale).
    data_seen: Set<String>,
    /// A frame arrived on this socket: the link has lived (the backoff was reset).
    alive: bool,
    /// A ping is due to confirm the writes sent since the last one (at the next timer,
    /// so a burst of writes in one turn shares one ping).
    confirm_at: Option<f64>,
    /// When the ping that should confirm the unconfirmed writes went out (no pong since).
    confirm_sent: Option<f64>,
    /// Confirm pings in a row that got no pong within `pongTimeoutMs`, and when the
    /// first of them went out.
    confirm_misses: u32,
    confirm_since: f64,
    last_ping_at: f64,
}

/// The pure WebSocket bridge state machine. See the crate docs.
pub struct Bridge {
    url: String,
    opts: BridgeOptions,
    records: Records,
    /// Subscription patterns, server syntax, in the order added.
    patterns: Patterns,
    backoff: Option<Backoff>,
    phase: Phase,
    status: Status,
    /// `disconnect()` was called and `connect()` was not called since.
    deliberate: bool,
    next_conn: u64,
    /// Consecutive attempts that ended before `open`.
    failures: u32,
    session: Session,
    outbox: Outbox,
    sync: SyncRound,
    actions: VecDeque<Action>,
    stats: Stats,
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("status", &self.status)
            .field("phase", &self.phase)
            .field("patterns", &self.patterns.as_slice())
            .field("records", &self.records.len())
            .field("queue", &self.outbox.queue_len())
            .field("unconfirmed", &self.outbox.unconfirmed_len())
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// A bridge to `url` (`ws://` or `wss://`; `token` is appended as `?token=`), for
    /// these records. Starts [`Status::Disconnected`]; call [`connect`](Self::connect).
    ///
    /// Fails on invalid options, URL ([`ConfigError::InvalidUrl`], code
    /// `INVALID_URL`), patterns, an empty key, a record topic with a wildcard level, or
    /// two records sharing a key or a topic.
    pub fn new(url: &str, opts: BridgeOptions, records: Vec<RecordLink>) -> Result<Self, ConfigError> {
        opts.validate()?;
        let url = crate::url::build_url(url, opts.token.as_deref())?;
        let mut patterns = Patterns::default();
        for t in translate_all(&opts.subscribe_topics)? {
            patterns.insert(t);
        }
        let mut recs = Records::default();
        for r in records {
            recs.add(r)?;
        }
        let backoff = opts.auto_reconnect.map(|b| Backoff::new(b, opts.seed.unwrap_or(DEFAULT_SEED)));
        Ok(Self {
            url,
            opts,
            records: recs,
            patterns,
            backoff,
            phase: Phase::Idle,
            status: Status::Disconnected,
            deliberate: false,
            next_conn: 1,
            failures: 0,
            session: Session::default(),
            outbox: Outbox::default(),
            sync: SyncRound::default(),
            actions: VecDeque::new(),
            stats: Stats::default(),
        })
    }

    // ───────────────────────────── queries ─────────────────────────────

    /// Current status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The URL the transport opens (token included).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `maxFrameBytes` option: a transport may drop a longer inbound frame without
    /// copying it and report it with [`on_frame_too_large`](Self::on_frame_too_large).
    pub fn max_frame_bytes(&self) -> usize {
        self.opts.max_frame_bytes
    }

    /// The current socket, if one is opening or open.
    pub fn current_conn(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Opening { conn, .. } | Phase::Open { conn } => Some(conn),
            _ => None,
        }
    }

    /// Whether connected and the current late-join round is over.
    pub fn is_synced(&self) -> bool {
        matches!(self.phase, Phase::Open { .. }) && !self.sync.is_pending()
    }

    /// Whether `disconnect()` was called (and `connect()` not since).
    pub fn is_disconnected_on_purpose(&self) -> bool {
        self.deliberate
    }

    /// Subscription patterns in server syntax (`+` already turned into `*`).
    pub fn patterns(&self) -> &[String] {
        self.patterns.as_slice()
    }

    /// What is sent in `subscribe` on (re)connect: the patterns, then (with `lateJoin`)
    /// the exact topics of the `in`/`both` records they cover, without duplicates.
    /// (Split over several frames if it would exceed [`MAX_FRAME_BYTES`].)
    pub fn desired_subscriptions(&self) -> Vec<String> {
        let mut out = OrderedSet::default();
        for p in self.patterns.as_slice() {
            out.insert(p.clone());
        }
        for t in self.late_join_topics() {
            if !out.contains(t) {
                out.insert(t.to_owned());
            }
        }
        out.into_vec()
    }

    /// The topic of a record key.
    pub fn topic_of(&self, key: &str) -> Option<&str> {
        self.records.by_key(key).map(|i| self.records.get(i).topic.as_str())
    }

    /// The record key a topic maps to.
    pub fn key_of(&self, topic: &str) -> Option<&str> {
        self.records.by_topic(topic).map(|i| self.records.get(i).key.as_str())
    }

    /// Writes waiting for a connection (including unconfirmed writes of a lost link,
    /// back at the front).
    pub fn queue_len(&self) -> usize {
        self.outbox.queue_len()
    }

    /// Writes handed to the current socket that no `pong` confirmed yet.
    pub fn unconfirmed_len(&self) -> usize {
        self.outbox.unconfirmed_len()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        Stats { queue_len: self.outbox.queue_len(), unconfirmed: self.outbox.unconfirmed_len(), ..self.stats.clone() }
    }

    /// The one deadline the transport should wake the machine at (same clock as
    /// `now_ms`, absolute): call [`on_timer`](Self::on_timer) then. `None` = no timer.
    /// Re-read it after every call; an early or late wake-up is harmless. May be `now`
    /// itself (a confirm ping after a burst of writes: "after this turn").
    pub fn next_timer_ms(&self) -> Option<f64> {
        let phase = match self.phase {
            Phase::Idle => None,
            Phase::Waiting { at } => Some(at),
            Phase::Opening { started, .. } => {
                (self.opts.connect_timeout_ms > 0.0).then_some(started + self.opts.connect_timeout_ms)
            }
            Phase::Open { .. } => {
                let s = &self.session;
                let confirm_deadline = s.confirm_sent.filter(|_| self.opts.pong_timeout_ms > 0.0).map(|t| t + self.opts.pong_timeout_ms);
                [s.ping_at, s.pong_deadline.map(|(d, _)| d), s.confirm_at, confirm_deadline]
                    .into_iter()
                    .flatten()
                    .reduce(f64::min)
            }
        };
        [phase, self.sync.deadline()].into_iter().flatten().reduce(f64::min)
    }

    /// The next queued action, oldest first.
    pub fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// All queued actions, oldest first.
    pub fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
    }

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

    // ───────────────────────────── commands ─────────────────────────────

    /// Starts connecting (clears a previous `disconnect()`). From `Disconnected`: an
    /// `Open`, `Status(Connecting)`, and a new late-join round whose `syncTimeoutMs`
    /// starts now. While waiting to reconnect: retries at once. Otherwise nothing.
    pub fn connect(&mut self, now_ms: f64) {
        match self.phase {
            Phase::Idle => {
                self.deliberate = false;
                self.failures = 0;
                if let Some(b) = &mut self.backoff {
                    b.reset();
                }
                self.start_sync_round(now_ms);
                self.start_attempt(now_ms, Status::Connecting);
            }
            Phase::Waiting { .. } => self.retry_now(now_ms),
            Phase::Opening { .. } | Phase::Open { .. } => {}
        }
    }

    /// Closes on purpose: `Close` for the current socket, `Status(Disconnected)`, every
    /// unconfirmed and queued write dropped (`WriteDropped` with
    /// [`DropReason::Disconnected`]; an unconfirmed one may have reached the server), no
    /// reconnect, and later writes refused with [`WriteError::Disconnected`] until
    /// [`connect`](Self::connect). A pending late-join round still ends at its deadline.
    pub fn disconnect(&mut self, _now_ms: f64) {
        self.deliberate = true;
        if let Some(conn) = self.current_conn() {
            self.actions.push_back(Action::Close { conn });
        }
        self.phase = Phase::Idle;
        self.session = Session::default();
        self.set_status(Status::Disconnected);
        for w in self.outbox.drain_all() {
            self.drop_write(w, DropReason::Disconnected);
        }
    }

    /// Adds subscription patterns (MQTT style, see [`crate::topic`]). All are checked
    /// first; on error nothing changes. When connected, sends `subscribe` for what is new
    /// (with `lateJoin`, also the newly covered exact record topics). Newly covered
    /// topics join a pending late-join round.
    pub fn subscribe<S: AsRef<str>>(&mut self, patterns: &[S], now_ms: f64) -> Result<(), ConfigError> {
        let translated = translate_all(patterns)?;
        let before = self.late_join_set();
        for t in translated {
            self.patterns.insert(t);
        }
        if self.opts.late_join {
            let newly: Vec<String> =
                self.late_join_topics().filter(|t| !before.contains(*t)).map(str::to_owned).collect();
            for t in &newly {
                self.sync.await_topic(t);
            }
        }
        self.resync_subscriptions(now_ms);
        Ok(())
    }

    /// Removes subscription patterns (given as they were added, or in server syntax).
    /// When connected, sends `unsubscribe` with the exact strings no longer wanted
    /// (including late-join topics no remaining pattern covers). Unknown patterns are
    /// ignored. Topics no longer covered leave a pending late-join round.
    pub fn unsubscribe<S: AsRef<str>>(&mut self, patterns: &[S], now_ms: f64) -> Result<(), ConfigError> {
        let translated = translate_all(patterns)?;
        let before = self.late_join_set();
        self.patterns.remove_all(&translated);
        let after = self.late_join_set();
        let gone: Vec<String> = before.into_iter().filter(|t| !after.contains(t.as_str())).collect();
        for t in &gone {
            self.sync.unawait(t);
        }
        self.resync_subscriptions(now_ms);
        Ok(())
    }

    /// Links one more record (a record configured after the bridge was built), with
    /// the checks of [`new`](Self::new) (a duplicate key or topic is refused; nothing
    /// changes then). It is treated like the records given to `new`: with `lateJoin`, an
    /// `in`/`both` record a pattern covers has its exact topic subscribed (at once when
    /// connected, and on every reconnect) and joins a pending late-join round; an
    /// `out`/`both` record can be written at once.
    pub fn add_record(&mut self, record: RecordLink, _now_ms: f64) -> Result<(), ConfigError> {
        let i = self.records.add(record)?;
        let r = self.records.get(i);
        if !(self.opts.late_join && r.link.is_inbound() && self.patterns.covers(&r.topic)) {
            return Ok(());
        }
        let topic = r.topic.clone();
        self.sync.await_topic(&topic);
        if let Phase::Open { conn } = self.phase {
            if self.session.subscribed.insert(topic.clone()) {
                self.send_topics(conn, false, vec![topic]);
            }
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

    /// The caller's contract validation refused a delivered payload: counted in
    /// `Stats::rejected` and reported as `Error(PayloadRejected)` (the reason cut to
    /// [`MAX_EXCERPT_CHARS`](crate::error::MAX_EXCERPT_CHARS) characters). Nothing is
    /// remembered for echo suppression (only [`note_inbound`](Self::note_inbound) does).
    pub fn reject_inbound(&mut self, key: &str, _payload: &Value, reason: impl Into<String>, _now_ms: f64) {
        self.stats.rejected += 1;
        let reason = excerpt(&reason.into());
        self.error(BridgeError::PayloadRejected { key: key.to_owned(), reason });
    }

    // ───────────────────────────── events ─────────────────────────────

    /// Socket `conn` opened: `Status(Connected)`, `subscribe` with
    /// [`desired_subscriptions`](Self::desired_subscriptions) (split if needed), the
    /// offline queue flushed in FIFO order, then a `ping` (its `pong` proves the link
    /// and confirms the flushed writes), keepalive started, and `Synced` at once if
    /// there is nothing to await. The backoff is *not* reset here but when the first
    /// frame arrives (a server that accepts and closes at once keeps backing off).
    pub fn on_open(&mut self, conn: ConnId, now_ms: f64) {
        if !matches!(self.phase, Phase::Opening { conn: c, .. } if c == conn) {
            self.stats.stale_events += 1;
            return;
        }
        self.phase = Phase::Open { conn };
        self.failures = 0;
        self.session = Session::default();
        self.set_status(Status::Connected);
        if !self.sync.is_pending() {
            self.start_sync_round(now_ms);
        }

        let desired = self.desired_subscriptions();
        self.send_topics(conn, false, desired.clone());
        for t in desired {
            self.session.subscribed.insert(t);
        }
        while let Some(w) = self.outbox.pop_queued() {
            self.send_write(conn, w, now_ms);
        }
        self.ping(conn, now_ms);
        if self.opts.keepalive_ms > 0.0 {
            self.session.ping_at = Some(now_ms + self.opts.keepalive_ms);
        }
        self.check_synced();
    }

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
        let msg = match crate::frame::parse(text) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                let cut: String = text.chars().take(FRAME_EXCERPT_CHARS).collect();
                self.error(BridgeError::MalformedFrame { reason: excerpt(&e), excerpt: cut });
                return;
            }
        };
        match msg {
            ServerMessage::Data { topic, payload, ts: _ } => {
                if self.route(&topic, payload, false) {
                    self.session.data_seen.insert(topic.clone());
                }
                self.got_value_for(&topic);
            }
            ServerMessage::Snapshot { topic, payload } => {
                self.stats.snapshots += 1;
                if self.session.data_seen.contains(&topic) {
                    // Live data already arrived on this connection: the snapshot is at
                    // best the same value, at worst older. Do not move the record back.
                    self.stats.stale_snapshots += 1;
                } else {
                    self.route(&topic, payload, true);
                }
                self.got_value_for(&topic);
            }
            ServerMessage::Error { code, topic, message } => {
                self.stats.server_errors += 1;
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
            ServerMessage::Pong => self.on_pong(now_ms),
            ServerMessage::Subscribed { .. } => {}
            m @ (ServerMessage::QueryResult { .. } | ServerMessage::TopicList { .. }) => {
                self.actions.push_back(Action::Response(m));
            }
        }
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

    /// The socket reported an `error` event. Only counted: the browser always follows
    /// with `close`, which decides what happens.
    pub fn on_error(&mut self, conn: ConnId, _now_ms: f64) {
        if self.current_conn() == Some(conn) {
            self.stats.transport_errors += 1;
        } else {
            self.stats.stale_events += 1;
        }
    }

    /// Socket `conn` closed (the code is always 1006 with this server, so it is not
    /// asked for). Open link: `Error(ConnectionLost)`, its unconfirmed writes go back
    /// to the front of the queue. Before open: counts towards `refusedAfter`
    /// (`Error(ConnectionRefused)` once per streak). Then, with `autoReconnect`,
    /// `Status(Reconnecting)` and a backoff timer; without, `Status(Disconnected)`.
    pub fn on_close(&mut self, conn: ConnId, now_ms: f64) {
        match self.phase {
            Phase::Opening { conn: c, .. } if c == conn => self.failed_before_open(now_ms),
            Phase::Open { conn: c } if c == conn => {
                self.error(BridgeError::ConnectionLost);
                self.link_down(now_ms);
            }
            _ => self.stats.stale_events += 1,
        }
    }

    /// The timer from [`next_timer_ms`](Self::next_timer_ms) fired (harmless at any
    /// other time). Handles whatever is due at `now_ms`:
    /// - waiting to reconnect: `Open` (a reconnect);
    /// - opening past `connectTimeoutMs`: `Close`, `Error(ConnectTimeout)`, backoff;
    /// - open, nothing received within `pongTimeoutMs` after a ping, or
    ///   [`CONFIRM_PINGS`] confirm pings in a row unanswered: `Close`,
    ///   `Error(PongTimeout)`, `Status(Reconnecting)`, backoff (unconfirmed writes go
    ///   back to the queue);
    /// - open, a confirm ping due (writes went out since the last ping) or a confirm
    ///   ping unanswered for `pongTimeoutMs` (its pong may have been dropped):
    ///   `Send(ping)`;
    /// - open, keepalive ping due: `Send(ping)`, next ping `keepaliveMs` later (no
    ///   catch-up burst after a throttled timer);
    /// - any phase, the late-join round's deadline: `Synced { timed_out: true, missing }`.
    pub fn on_timer(&mut self, now_ms: f64) {
        match self.phase {
            Phase::Idle => {}
            Phase::Waiting { at } => {
                if now_ms >= at {
                    self.retry_now(now_ms);
                }
            }
            Phase::Opening { conn, started } => {
                let timeout = self.opts.connect_timeout_ms;
                if timeout > 0.0 && now_ms >= started + timeout {
                    self.actions.push_back(Action::Close { conn });
                    self.error(BridgeError::ConnectTimeout { waited_ms: now_ms - started });
                    self.failed_before_open(now_ms);
                }
            }
            Phase::Open { conn } => self.open_timer(conn, now_ms),
        }
        if self.sync.deadline().is_some_and(|d| now_ms >= d) {
            self.finish_sync(true);
        }
    }

    /// The network came back online or the page became visible. Waiting to reconnect:
    /// retry at once (the backoff sequence is not reset). Connected: send a `ping` to
    /// probe the link (a dead one is then detected within `pongTimeoutMs`). Otherwise
    /// nothing.
    pub fn on_online(&mut self, now_ms: f64) {
        match self.phase {
            Phase::Waiting { .. } => self.retry_now(now_ms),
            Phase::Open { conn } => self.ping(conn, now_ms),
            Phase::Idle | Phase::Opening { .. } => {}
        }
    }

    // ───────────────────────────── internals ─────────────────────────────

    /// Exact topics of inbound records covered by a pattern (only with `lateJoin`).
    fn late_join_topics(&self) -> impl Iterator<Item = &str> {
        let n = if self.opts.late_join { usize::MAX } else { 0 };
        self.records.covered_inbound(&self.patterns).take(n)
    }

    fn late_join_set(&self) -> Set<String> {
        self.late_join_topics().map(str::to_owned).collect()
    }

    fn start_sync_round(&mut self, now_ms: f64) {
        let topics: Vec<String> = self.late_join_topics().map(str::to_owned).collect();
        self.sync.start(topics.into_iter(), now_ms, self.opts.sync_timeout_ms);
    }

    /// The size rule of [`check_write`](Self::check_write): the frame of a payload of
    /// `payload_len` bytes of JSON for record `i`.
    fn check_size(&self, key: &str, i: usize, payload_len: usize) -> Result<(), WriteError> {
        let bytes = WRITE_FRAME_OVERHEAD.saturating_add(self.records.get(i).topic_json_len).saturating_add(payload_len);
        if bytes > MAX_FRAME_BYTES {
            return Err(WriteError::TooLarge { key: key.to_owned(), bytes, limit: MAX_FRAME_BYTES });
        }
        Ok(())
    }

    fn outbound_record(&self, key: &str) -> Result<usize, WriteError> {
        let Some(i) = self.records.by_key(key) else {
            return Err(WriteError::UnknownRecord { key: key.to_owned() });
        };
        let r = self.records.get(i);
        if !r.link.is_outbound() {
            return Err(WriteError::NotOutbound { key: key.to_owned(), link: r.link });
        }
        Ok(i)
    }

    fn set_status(&mut self, s: Status) {
        if self.status != s {
            self.status = s;
            self.actions.push_back(Action::Status(s));
        }
    }

    fn error(&mut self, e: BridgeError) {
        self.stats.last_error = Some(e.clone());
        self.actions.push_back(Action::Error(e));
    }

    fn start_attempt(&mut self, now_ms: f64, status: Status) {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.phase = Phase::Opening { conn, started: now_ms };
        self.stats.connects += 1;
        self.set_status(status);
        self.actions.push_back(Action::Open { conn, url: self.url.clone() });
    }

    fn retry_now(&mut self, now_ms: f64) {
        self.stats.reconnects += 1;
        self.start_attempt(now_ms, Status::Reconnecting);
    }

    fn failed_before_open(&mut self, now_ms: f64) {
        self.failures = self.failures.saturating_add(1);
        if self.failures == self.opts.refused_after {
            self.error(BridgeError::ConnectionRefused { attempts: self.failures });
        }
        self.link_down(now_ms);
    }

    /// The current socket is gone (closed, timed out or declared dead): its
    /// unconfirmed writes go back to the queue (the overflow policy applies), then
    /// backoff or idle. A pending late-join round goes on.
    fn link_down(&mut self, now_ms: f64) {
        self.session = Session::default();
        let dropped = self.outbox.link_down(self.opts.max_offline_queue, self.opts.overflow);
        for (w, reason) in dropped {
            self.drop_write(w, reason);
        }
        match &mut self.backoff {
            Some(b) => {
                let at = now_ms + b.next_delay();
                self.phase = Phase::Waiting { at };
                self.set_status(Status::Reconnecting);
            }
            None => {
                self.phase = Phase::Idle;
                self.set_status(Status::Disconnected);
            }
        }
    }

    /// Timer work of an open link (see [`on_timer`](Self::on_timer)).
    fn open_timer(&mut self, conn: ConnId, now_ms: f64) {
        if let Some((deadline, sent_at)) = self.session.pong_deadline {
            if now_ms >= deadline {
                self.dead_link(conn, now_ms - sent_at, now_ms);
                return;
            }
        }
        let mut pinged = false;
        let timeout = self.opts.pong_timeout_ms;
        if let Some(sent) = self.session.confirm_sent.filter(|s| timeout > 0.0 && now_ms >= s + timeout) {
            if self.session.confirm_misses == 0 {
                self.session.confirm_since = sent;
            }
            self.session.confirm_misses += 1;
            if self.session.confirm_misses >= CONFIRM_PINGS {
                self.dead_link(conn, now_ms - self.session.confirm_since, now_ms);
                return;
            }
            // The pong may have been dropped by a full server queue: ask again.
            self.session.confirm_sent = None;
            self.ping(conn, now_ms);
            pinged = true;
        }
        if self.session.confirm_at.is_some_and(|at| now_ms >= at) && !pinged {
            self.ping(conn, now_ms);
            pinged = true;
        }
        if self.session.ping_at.is_some_and(|at| now_ms >= at) {
            if !pinged {
                self.ping(conn, now_ms);
            }
            self.session.ping_at = Some(now_ms + self.opts.keepalive_ms);
        }
    }

    fn dead_link(&mut self, conn: ConnId, waited_ms: f64, now_ms: f64) {
        self.actions.push_back(Action::Close { conn });
        self.error(BridgeError::PongTimeout { waited_ms });
        self.link_down(now_ms);
    }

    /// Common handling of every inbound frame: false if `conn` is not the open socket.
    fn frame_arrived(&mut self, conn: ConnId) -> bool {
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

    fn frame_too_large(&mut self, bytes: usize) {
        self.stats.oversized_frames += 1;
        self.error(BridgeError::FrameTooLarge { bytes, limit: self.opts.max_frame_bytes });
    }

    fn on_pong(&mut self, now_ms: f64) {
        self.stats.pongs += 1;
        self.stats.writes_confirmed += self.outbox.on_pong();
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

    fn ping(&mut self, conn: ConnId, now_ms: f64) {
        self.send(conn, &ClientMessage::Ping);
        self.outbox.on_ping();
        let s = &mut self.session;
        s.last_ping_at = now_ms;
        s.confirm_at = None;
        if self.outbox.unconfirmed_len() > 0 && s.confirm_sent.is_none() {
            s.confirm_sent = Some(now_ms);
        }
        if s.pong_deadline.is_none() && self.opts.pong_timeout_ms > 0.0 {
            s.pong_deadline = Some((now_ms + self.opts.pong_timeout_ms, now_ms));
        }
    }

    fn send(&mut self, conn: ConnId, msg: &ClientMessage) {
        // Serializing these message types cannot fail (string keys only); if it ever
        // did, the frame is skipped rather than panicking.
        if let Ok(frame) = serde_json::to_string(msg) {
            self.send_frame(conn, frame);
        }
    }

    fn send_frame(&mut self, conn: ConnId, frame: String) {
        self.stats.frames_sent += 1;
        self.actions.push_back(Action::Send { conn, frame });
    }

    /// `subscribe` (or `unsubscribe`) `topics`, in as many frames as needed to stay
    /// under [`MAX_FRAME_BYTES`] (every topic is at most 64 KiB).
    fn send_topics(&mut self, conn: ConnId, unsubscribe: bool, topics: Vec<String>) {
        // `{"type":"unsubscribe","topics":[` + `]}`
        const OVERHEAD: usize = 40;
        let mut chunk = Vec::new();
        let mut size = OVERHEAD;
        let flush = |this: &mut Self, chunk: &mut Vec<String>| {
            if chunk.is_empty() {
                return;
            }
            let topics = core::mem::take(chunk);
            let msg = if unsubscribe {
                ClientMessage::Unsubscribe { topics }
            } else {
                ClientMessage::Subscribe { topics }
            };
            this.send(conn, &msg);
        };
        for t in topics {
            let len = crate::records::json_string_len(&t) + 1;
            if size + len > MAX_FRAME_BYTES && !chunk.is_empty() {
                flush(self, &mut chunk);
                size = OVERHEAD;
            }
            size += len;
            chunk.push(t);
        }
        flush(self, &mut chunk);
    }

    /// Hands `w` to socket `conn`; it is unconfirmed until a pong, and a confirm ping
    /// is scheduled for the next timer unless one is out already.
    fn send_write(&mut self, conn: ConnId, w: Pending, now_ms: f64) {
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

    /// Routes a `data`/`snapshot` payload; whether a record took it.
    fn route(&mut self, topic: &str, payload: Option<Value>, snapshot: bool) -> bool {
        let Some(i) = self.records.by_topic(topic) else {
            self.stats.unknown_topic += 1;
            return false;
        };
        let r = self.records.get(i);
        if !r.link.is_inbound() {
            self.stats.not_inbound += 1;
            return false;
        }
        let payload = payload.unwrap_or(Value::Null);
        self.stats.delivered += 1;
        let d = Delivery { key: r.key.clone(), topic: r.topic.clone(), payload, snapshot };
        self.actions.push_back(Action::Deliver(d));
        true
    }

    fn got_value_for(&mut self, topic: &str) {
        if self.sync.got(topic) {
            self.check_synced();
        }
    }

    /// Ends the round if nothing is awaited any more (only while connected: before the
    /// first open nothing was asked yet).
    fn check_synced(&mut self) {
        if matches!(self.phase, Phase::Open { .. }) && self.sync.is_complete() {
            self.finish_sync(false);
        }
    }

    fn finish_sync(&mut self, timed_out: bool) {
        let missing = self.sync.finish();
        self.actions.push_back(Action::Synced { timed_out, missing });
    }

    fn resync_subscriptions(&mut self, _now_ms: f64) {
        let Phase::Open { conn } = self.phase else { return };
        let desired = self.desired_subscriptions();
        let wanted: Set<&str> = desired.iter().map(String::as_str).collect();
        let removed: Vec<String> =
            self.session.subscribed.as_slice().iter().filter(|t| !wanted.contains(t.as_str())).cloned().collect();
        let added: Vec<String> = desired.iter().filter(|t| !self.session.subscribed.contains(t)).cloned().collect();
        self.send_topics(conn, true, removed);
        self.send_topics(conn, false, added);
        let mut now = OrderedSet::default();
        for t in desired {
            now.insert(t);
        }
        self.session.subscribed = now;
        self.check_synced();
    }

    fn write_counted(&mut self, key: &str, text: &str, payload: Value, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let result = self.write_inner(key, text, payload, now_ms);
        if result.is_err() {
            self.stats.writes_rejected += 1;
        }
        result
    }

    fn write_inner(&mut self, key: &str, text: &str, payload: Value, now_ms: f64) -> Result<WriteOutcome, WriteError> {
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
    fn drop_write(&mut self, w: Pending, reason: DropReason) {
        self.stats.writes_dropped += 1;
        let payload = payload_of(&w.frame);
        self.report_drop(w.record, payload, reason);
    }

    fn report_drop(&mut self, record: usize, payload: Value, reason: DropReason) {
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

fn translate_all<S: AsRef<str>>(patterns: &[S]) -> Result<Vec<String>, ConfigError> {
    patterns
        .iter()
        .map(|p| {
            let p = p.as_ref();
            translate_pattern(p).map_err(|error| ConfigError::InvalidPattern { pattern: p.to_owned(), error })
        })
        .collect()
}
