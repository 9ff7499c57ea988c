//! The state machine. See the crate docs for the design; every method documents the
//! actions it may queue.

use std::collections::VecDeque;
use core::fmt;

use aimdb_ws_protocol::{ClientMessage, ServerMessage};
use serde_json::Value;

use crate::backoff::Backoff;
use crate::error::{BridgeError, WriteError};
use crate::options::{BridgeOptions, ConfigError, Link, OverflowPolicy, RecordLink};
use crate::topic::{self, pattern_matches, translate_pattern};

/// The server drops a connection (TCP reset) on a frame above 16 MiB.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// How many inbound values per `both` record are remembered for echo suppression.
pub const ECHO_WINDOW: usize = 32;

/// How many characters of a malformed frame its error keeps.
const EXCERPT_CHARS: usize = 80;

/// Identifies one socket. Every [`Action::Open`] carries a fresh id; the transport
/// passes it back with every event of that socket, and the machine ignores events of
/// any socket but the current one (a closed socket's late `close` can arrive after the
/// next one opened: a browser may take many seconds to finish closing a dead link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Connection status as the JS API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// First attempt after [`Bridge::connect`] is in progress.
    Connecting,
    /// Open.
    Connected,
    /// Not connected and not trying: never connected, [`Bridge::disconnect`] was called,
    /// or the link closed with `autoReconnect: false`.
    Disconnected,
    /// The link was lost or an attempt failed: waiting for the backoff timer, or a
    /// further attempt is in progress.
    Reconnecting,
}

impl Status {
    /// `"connecting"`, `"connected"`, `"disconnected"` or `"reconnecting"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Disconnected => "disconnected",
            Status::Reconnecting => "reconnecting",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value from the server for a local record.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The local record key.
    pub key: String,
    /// The topic it came on.
    pub topic: String,
    /// The payload (`null` if the frame had none). Not validated: the caller checks
    /// it against the record's contract and calls [`Bridge::reject_inbound`] if it fails.
    pub payload: Value,
    /// From a late-join `snapshot` frame rather than live `data`.
    pub snapshot: bool,
}

/// Why a write was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// It was the oldest in a full queue (`overflow: 'dropOldest'`).
    DroppedOldest,
    /// It arrived at a full queue (`overflow: 'dropNewest'`, or a capacity of 0).
    DroppedNewest,
    /// It arrived at a full queue with `overflow: 'reject'` ([`WriteError::QueueFull`]).
    QueueFull,
    /// It was written after [`Bridge::disconnect`] ([`WriteError::Disconnected`]), or it
    /// was still queued when `disconnect()` was called.
    Disconnected,
}

/// A write that will never be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedWrite {
    /// The record key.
    pub key: String,
    /// Its topic.
    pub topic: String,
    /// The payload.
    pub payload: Value,
    /// Why.
    pub reason: DropReason,
}

/// What the transport (or the JS layer) must do. Drain them in order after every call
/// with [`Bridge::take_actions`] / [`Bridge::next_action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a WebSocket to `url` (no subprotocol) and report its events with `conn`.
    /// Any previous socket has already been told to close.
    Open {
        /// The id of the new socket.
        conn: ConnId,
        /// The URL, token included.
        url: String,
    },
    /// Send this text frame on socket `conn`.
    Send {
        /// The socket.
        conn: ConnId,
        /// A serialized `aimdb_ws_protocol::ClientMessage`.
        frame: String,
    },
    /// Close socket `conn` (the machine already treats it as gone and ignores its
    /// further events).
    Close {
        /// The socket.
        conn: ConnId,
    },
    /// Push a server value into a local record.
    Deliver(Delivery),
    /// The status changed (emitted only on change).
    Status(Status),
    /// Something went wrong; also kept as `Stats::last_error`.
    Error(BridgeError),
    /// A write was dropped or refused and will never be sent.
    WriteDropped(DroppedWrite),
    /// The late-join phase of this connection is over: every awaited topic produced a
    /// value or was refused by the server (`timed_out: false`), or `syncTimeoutMs`
    /// passed (`timed_out: true`). `missing` lists the awaited topics that sent nothing
    /// (refused or timed out), sorted. Once per connection.
    Synced {
        /// Whether the timeout ended it.
        timed_out: bool,
        /// Exact topics still without a value.
        missing: Vec<String>,
    },
    /// A `query_result` or `topic_list` frame, for the request/response layer above.
    Response(ServerMessage),
}

/// What [`Bridge::write`] did with an accepted write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A `write` frame was sent.
    Sent,
    /// Not connected: queued; it is sent when the link opens.
    Queued,
    /// Queued; the queue was full, so its oldest write was dropped (reported as
    /// [`Action::WriteDropped`]).
    QueuedDroppedOldest,
    /// The queue was full and the policy is `dropNewest`: this write was dropped
    /// (reported as [`Action::WriteDropped`]).
    DroppedNewest,
    /// The value is one the bridge just delivered into this `both` record from the
    /// server: not sent back (echo suppression).
    Suppressed,
}

/// Counters. `queue_len` is the current length of the offline queue; everything else
/// counts since [`Bridge::new`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// `Open` actions issued.
    pub connects: u64,
    /// Of those, attempts after a lost link or a failed attempt.
    pub reconnects: u64,
    /// Frames handed to the transport.
    pub frames_sent: u64,
    /// Frames received on the current socket(s).
    pub frames_received: u64,
    /// `write` frames sent (directly or flushed from the queue).
    pub writes_sent: u64,
    /// Writes that entered the offline queue.
    pub writes_queued: u64,
    /// Writes dropped by the overflow policy, or discarded from the queue by
    /// `disconnect()`.
    pub writes_dropped: u64,
    /// Writes refused with an error.
    pub writes_rejected: u64,
    /// Writes not sent because they echo an inbound value.
    pub echo_suppressed: u64,
    /// Current offline queue length.
    pub queue_len: usize,
    /// `Deliver` actions (data + snapshots).
    pub delivered: u64,
    /// `snapshot` frames received.
    pub snapshots: u64,
    /// Snapshots not delivered because live data for the topic came first.
    pub stale_snapshots: u64,
    /// Inbound payloads the caller rejected ([`Bridge::reject_inbound`]).
    pub rejected: u64,
    /// Data/snapshot frames for a topic no record maps to.
    pub unknown_topic: u64,
    /// Data/snapshot frames for a record linked `out` only.
    pub not_inbound: u64,
    /// Frames that did not parse as a server message.
    pub malformed: u64,
    /// `error` frames from the server.
    pub server_errors: u64,
    /// Transport `error` events.
    pub transport_errors: u64,
    /// Events of a socket that is no longer current (ignored).
    pub stale_events: u64,
    /// The last error reported.
    pub last_error: Option<BridgeError>,
}

struct Record {
    key: String,
    topic: String,
    link: Link,
    /// Values delivered from the server not yet matched by an outbound write (`both`).
    echo: VecDeque<Value>,
}

struct Queued {
    record: usize,
    payload: Value,
    frame: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No socket, no timer.
    Idle,
    /// `Open` issued, waiting for `on_open`.
    Opening { conn: ConnId, started: f64 },
    /// Connected.
    Open { conn: ConnId },
    /// Waiting to retry at `at`.
    Waiting { at: f64 },
}

/// A small set of strings (a `Vec`: the sets here hold a few topics, and a `BTreeSet`
/// costs ~30 KB of wasm). Order is insertion order; nothing depends on it.
#[derive(Default)]
struct Set(Vec<String>);

impl Set {
    fn contains(&self, t: &str) -> bool {
        self.0.iter().any(|x| x == t)
    }
    fn insert(&mut self, t: String) {
        if !self.contains(&t) {
            self.0.push(t);
        }
    }
    fn remove(&mut self, t: &str) -> bool {
        match self.0.iter().position(|x| x == t) {
            Some(i) => {
                self.0.swap_remove(i);
                true
            }
            None => false,
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// State of one open connection.
#[derive(Default)]
struct Session {
    /// Patterns and exact topics subscribed on this connection (sent; acks are not
    /// relied on because the server may drop them).
    subscribed: Vec<String>,
    ping_at: Option<f64>,
    /// Set when a ping goes out; cleared by any inbound frame.
    pong_deadline: Option<(f64, f64)>,
    /// Late-join topics with no value yet.
    awaited: Set,
    sync_deadline: Option<f64>,
    synced: bool,
    /// Topics that got live data on this connection (a later snapshot is stale).
    data_seen: Set,
    /// Awaited topics whose subscription the server refused (`FORBIDDEN`).
    denied: Vec<String>,
}

/// The pure WebSocket bridge state machine. See the crate docs.
pub struct Bridge {
    url: String,
    opts: BridgeOptions,
    records: Vec<Record>,
    /// Subscription patterns, server syntax, in the order added.
    patterns: Vec<String>,
    backoff: Option<Backoff>,
    phase: Phase,
    status: Status,
    /// `disconnect()` was called and `connect()` was not called since.
    deliberate: bool,
    next_conn: u64,
    /// Consecutive attempts that ended before `open`.
    failures: u32,
    session: Session,
    queue: VecDeque<Queued>,
    actions: VecDeque<Action>,
    stats: Stats,
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("status", &self.status)
            .field("phase", &self.phase)
            .field("patterns", &self.patterns)
            .field("records", &self.records.len())
            .field("queue", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// A bridge to `url` (`ws://` or `wss://`; `token` is appended as `?token=`), for
    /// these records. Starts [`Status::Disconnected`]; call [`connect`](Self::connect).
    ///
    /// Fails on invalid options, URL, patterns, an empty key, a record topic with a
    /// wildcard level, or two records sharing a key or a topic.
    pub fn new(url: &str, opts: BridgeOptions, records: Vec<RecordLink>) -> Result<Self, ConfigError> {
        opts.validate()?;
        let url = crate::url::build_url(url, opts.token.as_deref())?;
        let mut patterns = Vec::new();
        for p in &opts.subscribe_topics {
            let t = translate_pattern(p)
                .map_err(|error| ConfigError::InvalidPattern { pattern: p.clone(), error })?;
            if !patterns.contains(&t) {
                patterns.push(t);
            }
        }
        let mut recs: Vec<Record> = Vec::with_capacity(records.len());
        for r in records {
            if r.key.is_empty() {
                return Err(ConfigError::InvalidRecord { key: r.key, error: topic::TopicError::Empty });
            }
            let topic = r.resolved_topic();
            topic::validate_topic(&topic)
                .map_err(|error| ConfigError::InvalidRecord { key: r.key.clone(), error })?;
            if recs.iter().any(|x| x.key == r.key) {
                return Err(ConfigError::DuplicateKey { key: r.key });
            }
            if let Some(first) = recs.iter().find(|x| x.topic == topic) {
                return Err(ConfigError::DuplicateTopic { topic, first: first.key.clone(), second: r.key });
            }
            recs.push(Record { key: r.key, topic, link: r.link, echo: VecDeque::new() });
        }
        let backoff = opts.auto_reconnect.map(|b| Backoff::new(b, opts.seed));
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
            queue: VecDeque::new(),
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

    /// The current socket, if one is opening or open.
    pub fn current_conn(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Opening { conn, .. } | Phase::Open { conn } => Some(conn),
            _ => None,
        }
    }

    /// Whether this connection's late-join phase is over (false while not connected).
    pub fn is_synced(&self) -> bool {
        matches!(self.phase, Phase::Open { .. }) && self.session.synced
    }

    /// Whether `disconnect()` was called (and `connect()` not since).
    pub fn is_disconnected_on_purpose(&self) -> bool {
        self.deliberate
    }

    /// Subscription patterns in server syntax (`+` already turned into `*`).
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// What is sent in `subscribe` on (re)connect: the patterns, then (with `lateJoin`)
    /// the exact topics of the `in`/`both` records they cover, without duplicates.
    pub fn desired_subscriptions(&self) -> Vec<String> {
        let mut out = self.patterns.clone();
        for t in self.late_join_topics() {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_owned());
            }
        }
        out
    }

    /// The topic of a record key.
    pub fn topic_of(&self, key: &str) -> Option<&str> {
        self.by_key(key).map(|i| self.records[i].topic.as_str())
    }

    /// The record key a topic maps to.
    pub fn key_of(&self, topic: &str) -> Option<&str> {
        self.by_topic(topic).map(|i| self.records[i].key.as_str())
    }

    /// Writes waiting for a connection.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        Stats { queue_len: self.queue.len(), ..self.stats.clone() }
    }

    /// The one deadline the transport should wake the machine at (same clock as
    /// `now_ms`, absolute): call [`on_timer`](Self::on_timer) then. `None` = no timer.
    /// Re-read it after every call; an early or late wake-up is harmless.
    pub fn next_timer_ms(&self) -> Option<f64> {
        match self.phase {
            Phase::Idle => None,
            Phase::Waiting { at } => Some(at),
            Phase::Opening { started, .. } => {
                (self.opts.connect_timeout_ms > 0.0).then_some(started + self.opts.connect_timeout_ms)
            }
            Phase::Open { .. } => {
                let s = &self.session;
                [s.ping_at, s.pong_deadline.map(|(d, _)| d), s.sync_deadline.filter(|_| !s.synced)]
                    .into_iter()
                    .flatten()
                    .reduce(f64::min)
            }
        }
    }

    /// The next queued action, oldest first.
    pub fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// All queued actions, oldest first.
    pub fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
    }

    /// Whether a write of `payload` to `key` would go out: the record exists, is linked
    /// `out`/`both`, and the value is not an echo of one just delivered from the server.
    /// Does not change anything ([`write`](Self::write) applies the same check itself).
    pub fn should_send(&self, key: &str, payload: &Value) -> bool {
        match self.by_key(key) {
            Some(i) => {
                let r = &self.records[i];
                r.link.is_outbound() && !r.echo.iter().any(|v| v == payload)
            }
            None => false,
        }
    }

    // ───────────────────────────── commands ─────────────────────────────

    /// Starts connecting (clears a previous `disconnect()`). From `Disconnected`: an
    /// `Open` and `Status(Connecting)`. While waiting to reconnect: retries at once.
    /// Otherwise nothing.
    pub fn connect(&mut self, now_ms: f64) {
        match self.phase {
            Phase::Idle => {
                self.deliberate = false;
                self.failures = 0;
                if let Some(b) = &mut self.backoff {
                    b.reset();
                }
                self.start_attempt(now_ms, Status::Connecting);
            }
            Phase::Waiting { .. } => self.retry_now(now_ms),
            Phase::Opening { .. } | Phase::Open { .. } => {}
        }
    }

    /// Closes on purpose: `Close` for the current socket, `Status(Disconnected)`, every
    /// queued write dropped (`WriteDropped` with [`DropReason::Disconnected`]), no
    /// reconnect, and later writes refused with [`WriteError::Disconnected`] until
    /// [`connect`](Self::connect).
    pub fn disconnect(&mut self, _now_ms: f64) {
        self.deliberate = true;
        if let Some(conn) = self.current_conn() {
            self.actions.push_back(Action::Close { conn });
        }
        self.phase = Phase::Idle;
        self.session = Session::default();
        self.set_status(Status::Disconnected);
        while let Some(q) = self.queue.pop_front() {
            self.stats.writes_dropped += 1;
            self.report_drop(q.record, q.payload, DropReason::Disconnected);
        }
    }

    /// Adds subscription patterns (MQTT style, see [`crate::topic`]). All are checked
    /// first; on error nothing changes. When connected, sends `subscribe` for what is new
    /// (with `lateJoin`, also the newly covered exact record topics, whose snapshots join
    /// the awaited set if this connection is not synced yet).
    pub fn subscribe<S: AsRef<str>>(&mut self, patterns: &[S], now_ms: f64) -> Result<(), ConfigError> {
        let translated = translate_all(patterns)?;
        for t in translated {
            if !self.patterns.contains(&t) {
                self.patterns.push(t);
            }
        }
        self.resync_subscriptions(now_ms);
        Ok(())
    }

    /// Removes subscription patterns (given as they were added, or in server syntax).
    /// When connected, sends `unsubscribe` with the exact strings no longer wanted
    /// (including late-join topics no remaining pattern covers). Unknown patterns are
    /// ignored.
    pub fn unsubscribe<S: AsRef<str>>(&mut self, patterns: &[S], now_ms: f64) -> Result<(), ConfigError> {
        let translated = translate_all(patterns)?;
        self.patterns.retain(|p| !translated.contains(p));
        self.resync_subscriptions(now_ms);
        Ok(())
    }

    /// A local value for record `key` to go to the server.
    ///
    /// - an echo of a value just delivered into this `both` record: `Ok(Suppressed)`,
    ///   nothing sent (see the crate docs, *Echo suppression*);
    /// - after `disconnect()`: `Err(Disconnected)` + `WriteDropped`;
    /// - connected: a `write` frame, `Ok(Sent)`;
    /// - otherwise queued FIFO (sent in order on the next open); a full queue follows
    ///   `overflow`: `Ok(QueuedDroppedOldest)` / `Ok(DroppedNewest)` / `Err(QueueFull)`,
    ///   each with a `WriteDropped` action.
    ///
    /// Unknown keys, `in` records and frames over 16 MiB are refused with an error.
    pub fn write(&mut self, key: &str, payload: Value, _now_ms: f64) -> Result<WriteOutcome, WriteError> {
        let result = self.write_inner(key, payload);
        if result.is_err() {
            self.stats.writes_rejected += 1;
        }
        result
    }

    /// [`write`](Self::write) with the payload as JSON text (refused with
    /// [`WriteError::InvalidPayload`] if it does not parse).
    pub fn write_json(&mut self, key: &str, payload_json: &str, now_ms: f64) -> Result<WriteOutcome, WriteError> {
        match serde_json::from_str(payload_json) {
            Ok(v) => self.write(key, v, now_ms),
            Err(e) => {
                self.stats.writes_rejected += 1;
                Err(WriteError::InvalidPayload { key: key.to_owned(), reason: e.to_string() })
            }
        }
    }

    /// The caller's contract validation refused a delivered payload: counted in
    /// `Stats::rejected`, reported as `Error(PayloadRejected)`, and (for a `both`
    /// record) the value is no longer treated as a pending echo, since it never reached
    /// the record.
    pub fn reject_inbound(&mut self, key: &str, payload: &Value, reason: impl Into<String>, _now_ms: f64) {
        self.stats.rejected += 1;
        if let Some(i) = self.by_key(key) {
            let echo = &mut self.records[i].echo;
            if let Some(pos) = echo.iter().rposition(|v| v == payload) {
                echo.remove(pos);
            }
        }
        self.error(BridgeError::PayloadRejected { key: key.to_owned(), reason: reason.into() });
    }

    // ───────────────────────────── events ─────────────────────────────

    /// Socket `conn` opened: `Status(Connected)`, backoff reset, `subscribe` with
    /// [`desired_subscriptions`](Self::desired_subscriptions), the offline queue flushed
    /// in FIFO order, keepalive started, and `Synced` at once if there is nothing to
    /// await.
    pub fn on_open(&mut self, conn: ConnId, now_ms: f64) {
        if !matches!(self.phase, Phase::Opening { conn: c, .. } if c == conn) {
            self.stats.stale_events += 1;
            return;
        }
        self.phase = Phase::Open { conn };
        self.failures = 0;
        if let Some(b) = &mut self.backoff {
            b.reset();
        }
        self.session = Session::default();
        self.set_status(Status::Connected);

        let desired = self.desired_subscriptions();
        if !desired.is_empty() {
            self.send(conn, &ClientMessage::Subscribe { topics: desired.clone() });
        }
        self.session.subscribed = desired;
        if self.opts.late_join {
            self.session.awaited = Set(self.late_join_topics().map(str::to_owned).collect());
        }
        if self.opts.sync_timeout_ms > 0.0 {
            self.session.sync_deadline = Some(now_ms + self.opts.sync_timeout_ms);
        }

        while let Some(q) = self.queue.pop_front() {
            self.send_frame(conn, q.frame);
            self.stats.writes_sent += 1;
        }
        if self.opts.keepalive_ms > 0.0 {
            self.session.ping_at = Some(now_ms + self.opts.keepalive_ms);
        }
        self.check_synced();
    }

    /// A text frame arrived on `conn`. Any frame proves the link alive (clears the pong
    /// deadline: the server may drop a `pong` when its send queue is full). Then:
    /// `data`/`snapshot` -> `Deliver` (records linked `in`/`both`; unknown topics are
    /// only counted), `error` -> `Error(Server)`, `query_result`/`topic_list` ->
    /// `Response`, `subscribed`/`pong` -> nothing. A frame that does not parse is
    /// counted and reported as `Error(MalformedFrame)`.
    pub fn on_frame(&mut self, conn: ConnId, text: &str, _now_ms: f64) {
        if self.phase != (Phase::Open { conn }) {
            self.stats.stale_events += 1;
            return;
        }
        self.stats.frames_received += 1;
        self.session.pong_deadline = None;
        let msg = match crate::frame::parse(text) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed += 1;
                let excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
                self.error(BridgeError::MalformedFrame { reason: e, excerpt });
                return;
            }
        };
        match msg {
            ServerMessage::Data { topic, payload, ts: _ } => {
                self.route(&topic, payload, false);
                if self.by_topic(&topic).is_some() {
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
                    && topic.as_ref().is_some_and(|t| self.session.awaited.contains(t));
                let t = topic.clone();
                self.error(BridgeError::Server { code, topic, message });
                if forbidden_awaited {
                    // A denied subscription will never send a snapshot: stop waiting
                    // (the topic is still listed as missing when `Synced` goes out).
                    if let Some(t) = t {
                        self.session.denied.push(t.clone());
                        self.got_value_for(&t);
                    }
                }
            }
            ServerMessage::Subscribed { .. } | ServerMessage::Pong => {}
            m @ (ServerMessage::QueryResult { .. } | ServerMessage::TopicList { .. }) => {
                self.actions.push_back(Action::Response(m));
            }
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
    /// asked for). Open link: `Error(ConnectionLost)`. Before open: counts towards
    /// `refusedAfter` (`Error(ConnectionRefused)` once per streak). Then, with
    /// `autoReconnect`, `Status(Reconnecting)` and a backoff timer; without,
    /// `Status(Disconnected)`.
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
    /// - open, nothing received within `pongTimeoutMs` after a ping: `Close`,
    ///   `Error(PongTimeout)`, `Status(Reconnecting)`, backoff;
    /// - open, ping due: `Send(ping)`, next ping `keepaliveMs` later (no catch-up burst
    ///   after a throttled timer);
    /// - open, sync timeout: `Synced { timed_out: true, missing }`.
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
            Phase::Open { conn } => {
                if let Some((deadline, sent_at)) = self.session.pong_deadline {
                    if now_ms >= deadline {
                        self.actions.push_back(Action::Close { conn });
                        self.error(BridgeError::PongTimeout { waited_ms: now_ms - sent_at });
                        self.link_down(now_ms);
                        return;
                    }
                }
                if self.session.ping_at.is_some_and(|at| now_ms >= at) {
                    self.ping(conn, now_ms);
                    self.session.ping_at = Some(now_ms + self.opts.keepalive_ms);
                }
                if !self.session.synced && self.session.sync_deadline.is_some_and(|d| now_ms >= d) {
                    self.finish_sync(true);
                }
            }
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
    fn by_key(&self, key: &str) -> Option<usize> {
        self.records.iter().position(|r| r.key == key)
    }

    fn by_topic(&self, topic: &str) -> Option<usize> {
        self.records.iter().position(|r| r.topic == topic)
    }

    fn late_join_topics(&self) -> impl Iterator<Item = &str> {
        let on = self.opts.late_join;
        self.records
            .iter()
            .filter(move |r| on && r.link.is_inbound())
            .filter(|r| self.patterns.iter().any(|p| pattern_matches(p, &r.topic)))
            .map(|r| r.topic.as_str())
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

    /// The current socket is gone (closed, timed out or declared dead).
    fn link_down(&mut self, now_ms: f64) {
        self.session = Session::default();
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

    fn ping(&mut self, conn: ConnId, now_ms: f64) {
        self.send(conn, &ClientMessage::Ping);
        if self.session.pong_deadline.is_none() && self.opts.pong_timeout_ms > 0.0 {
            self.session.pong_deadline = Some((now_ms + self.opts.pong_timeout_ms, now_ms));
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

    fn route(&mut self, topic: &str, payload: Option<Value>, snapshot: bool) {
        let Some(i) = self.by_topic(topic) else {
            self.stats.unknown_topic += 1;
            return;
        };
        let r = &mut self.records[i];
        if !r.link.is_inbound() {
            self.stats.not_inbound += 1;
            return;
        }
        let payload = payload.unwrap_or(Value::Null);
        if r.link == Link::Both {
            if r.echo.len() == ECHO_WINDOW {
                r.echo.pop_front();
            }
            r.echo.push_back(payload.clone());
        }
        self.stats.delivered += 1;
        let d = Delivery { key: r.key.clone(), topic: r.topic.clone(), payload, snapshot };
        self.actions.push_back(Action::Deliver(d));
    }

    fn got_value_for(&mut self, topic: &str) {
        if self.session.awaited.remove(topic) {
            self.check_synced();
        }
    }

    fn check_synced(&mut self) {
        if !self.session.synced && self.session.awaited.is_empty() {
            self.finish_sync(false);
        }
    }

    fn finish_sync(&mut self, timed_out: bool) {
        self.session.synced = true;
        self.session.sync_deadline = None;
        let mut missing: Vec<String> = core::mem::take(&mut self.session.denied);
        missing.extend(core::mem::take(&mut self.session.awaited.0));
        missing.sort();
        self.actions.push_back(Action::Synced { timed_out, missing });
    }

    fn resync_subscriptions(&mut self, _now_ms: f64) {
        let Phase::Open { conn } = self.phase else { return };
        let desired = self.desired_subscriptions();
        let removed: Vec<String> =
            self.session.subscribed.iter().filter(|t| !desired.contains(t)).cloned().collect();
        let added: Vec<String> =
            desired.iter().filter(|t| !self.session.subscribed.contains(t)).cloned().collect();
        if !removed.is_empty() {
            self.send(conn, &ClientMessage::Unsubscribe { topics: removed.clone() });
        }
        if !added.is_empty() {
            self.send(conn, &ClientMessage::Subscribe { topics: added.clone() });
        }
        self.session.subscribed = desired;
        if self.session.synced {
            return;
        }
        for t in &removed {
            self.session.awaited.remove(t);
        }
        if self.opts.late_join {
            let newly: Vec<String> = self
                .late_join_topics()
                .filter(|t| added.iter().any(|a| a == t))
                .map(str::to_owned)
                .collect();
            for t in newly {
                self.session.awaited.insert(t);
            }
        }
        self.check_synced();
    }

    fn write_inner(&mut self, key: &str, payload: Value) -> Result<WriteOutcome, WriteError> {
        let Some(i) = self.by_key(key) else {
            return Err(WriteError::UnknownRecord { key: key.to_owned() });
        };
        let r = &mut self.records[i];
        if !r.link.is_outbound() {
            return Err(WriteError::NotOutbound { key: key.to_owned(), link: r.link });
        }
        if let Some(pos) = r.echo.iter().position(|v| v == &payload) {
            // Values delivered before the echoed one were skipped by the record's
            // reader (a latest-value buffer coalesces): forget them too.
            r.echo.drain(..=pos);
            self.stats.echo_suppressed += 1;
            return Ok(WriteOutcome::Suppressed);
        }
        if self.deliberate {
            self.report_drop(i, payload, DropReason::Disconnected);
            return Err(WriteError::Disconnected { key: key.to_owned() });
        }
        let topic = r.topic.clone();
        let msg = ClientMessage::Write { topic, payload };
        let frame = serde_json::to_string(&msg)
            .map_err(|e| WriteError::InvalidPayload { key: key.to_owned(), reason: e.to_string() })?;
        if frame.len() > MAX_FRAME_BYTES {
            return Err(WriteError::TooLarge { key: key.to_owned(), bytes: frame.len(), limit: MAX_FRAME_BYTES });
        }
        let ClientMessage::Write { payload, .. } = msg else {
            // Constructed as `Write` just above; kept fallible rather than panicking.
            return Err(WriteError::InvalidPayload { key: key.to_owned(), reason: "internal".into() });
        };
        if let Phase::Open { conn } = self.phase {
            self.send_frame(conn, frame);
            self.stats.writes_sent += 1;
            return Ok(WriteOutcome::Sent);
        }
        let q = Queued { record: i, payload, frame };
        if self.queue.len() < self.opts.max_offline_queue {
            self.queue.push_back(q);
            self.stats.writes_queued += 1;
            return Ok(WriteOutcome::Queued);
        }
        match self.opts.overflow {
            OverflowPolicy::DropOldest if self.opts.max_offline_queue > 0 => {
                if let Some(old) = self.queue.pop_front() {
                    self.stats.writes_dropped += 1;
                    self.report_drop(old.record, old.payload, DropReason::DroppedOldest);
                }
                self.queue.push_back(q);
                self.stats.writes_queued += 1;
                Ok(WriteOutcome::QueuedDroppedOldest)
            }
            OverflowPolicy::DropOldest | OverflowPolicy::DropNewest => {
                self.stats.writes_dropped += 1;
                self.report_drop(i, q.payload, DropReason::DroppedNewest);
                Ok(WriteOutcome::DroppedNewest)
            }
            OverflowPolicy::Reject => {
                self.report_drop(i, q.payload, DropReason::QueueFull);
                Err(WriteError::QueueFull { key: key.to_owned(), capacity: self.opts.max_offline_queue })
            }
        }
    }

    fn report_drop(&mut self, record: usize, payload: Value, reason: DropReason) {
        let r = &self.records[record];
        let d = DroppedWrite { key: r.key.clone(), topic: r.topic.clone(), payload, reason };
        self.actions.push_back(Action::WriteDropped(d));
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
