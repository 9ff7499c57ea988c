//! The state machine. See the crate docs for the design; every method documents the
//! actions it may queue. The parts live in their own modules: the record table
//! ([`crate::records`]), outbound writes ([`crate::outbox`]), late-join rounds
//! ([`crate::sync`]); the machine's methods are grouped by concern in `writes`,
//! `inbound` and `timers`.

mod durable;
mod inbound;
mod timers;
mod writes;

use core::fmt;
use std::collections::VecDeque;

use crate::backoff::Backoff;
use crate::error::BridgeError;
use crate::map::{OrderedSet, Set};
use crate::options::{BridgeOptions, ConfigError, RecordLink, DEFAULT_SEED};
use crate::outbox::Outbox;
use crate::records::{Patterns, Records};
use crate::sync::SyncRound;
use crate::topic::translate_pattern;
use crate::types::{Action, ConnId, DropReason, Stats, Status};

/// The server drops a connection (TCP reset) on a frame above 16 MiB: no frame the
/// bridge sends is longer.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// How many characters of a malformed frame its error keeps.
const FRAME_EXCERPT_CHARS: usize = 80;

/// Confirm pings in a row without any `pong` (each waited `pongTimeoutMs`) after which
/// a link with unconfirmed writes is treated as dead, even if other frames arrive.
pub const CONFIRM_PINGS: u32 = 3;

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
    /// The record the last routed frame went to (records are never removed).
    last_route: Option<usize>,
    /// Queue [`Action::OutboxChanged`] (see `durable`).
    track_outbox: bool,
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
            last_route: None,
            track_outbox: false,
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

    /// The record number ([`Delivery::record`](crate::Delivery::record)) of a key.
    pub fn record_of(&self, key: &str) -> Option<usize> {
        self.records.by_key(key)
    }

    /// The key of record number `record` ([`Delivery::record`](crate::Delivery::record)).
    pub fn record_key(&self, record: usize) -> Option<&str> {
        self.records.try_get(record).map(|r| r.key.as_str())
    }

    /// The topic of record number `record`.
    pub fn record_topic(&self, record: usize) -> Option<&str> {
        self.records.try_get(record).map(|r| r.topic.as_str())
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

    /// The next queued action, oldest first.
    pub fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// All queued actions, oldest first.
    pub fn take_actions(&mut self) -> Vec<Action> {
        self.actions.drain(..).collect()
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
    /// reconnect, and later writes refused with [`WriteError::Disconnected`](crate::WriteError::Disconnected) until
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
        self.outbox_changed();
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
    /// `out`/`both` record can be written at once. Returns its record number
    /// ([`Delivery::record`](crate::Delivery::record)): the number of records before it.
    pub fn add_record(&mut self, record: RecordLink, _now_ms: f64) -> Result<usize, ConfigError> {
        let i = self.records.add(record)?;
        let r = self.records.get(i);
        if !(self.opts.late_join && r.link.is_inbound() && self.patterns.covers(&r.topic)) {
            return Ok(i);
        }
        let topic = r.topic.clone();
        self.sync.await_topic(&topic);
        if let Phase::Open { conn } = self.phase {
            if self.session.subscribed.insert(topic.clone()) {
                self.send_topics(conn, false, vec![topic]);
            }
        }
        Ok(i)
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
        let changed = !dropped.is_empty();
        for (w, reason) in dropped {
            self.drop_write(w, reason);
        }
        if changed {
            self.outbox_changed();
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

    /// Sends `frame`, a request of the layer above (`query`, `list_topics`: a serialized
    /// `aimdb_ws_protocol::ClientMessage`), on the current socket; its answer comes back as
    /// [`Action::Response`]. `false`, and nothing sent, when not connected (requests are
    /// never queued: the caller decides what a lost link means for them).
    pub fn send_request(&mut self, frame: String) -> bool {
        match (self.status, self.current_conn()) {
            (Status::Connected, Some(conn)) => {
                self.send_frame(conn, frame);
                true
            }
            _ => false,
        }
    }

    fn send_frame(&mut self, conn: ConnId, frame: String) {
        self.stats.frames_sent += 1;
        self.actions.push_back(Action::Send { conn, frame });
    }

    /// `subscribe` (or `unsubscribe`) `topics`, in as many frames as needed to stay
    /// under [`MAX_FRAME_BYTES`] (every topic is at most 64 KiB). Written as `serde_json`
    /// writes the protocol's `ClientMessage::Subscribe` / `Unsubscribe`.
    fn send_topics(&mut self, conn: ConnId, unsubscribe: bool, topics: Vec<String>) {
        let head = if unsubscribe { r#"{"type":"unsubscribe","topics":["# } else { r#"{"type":"subscribe","topics":["# };
        let mut frame = String::from(head);
        let mut one = String::new();
        for t in topics {
            one.clear();
            crate::json::push_str(&mut one, &t);
            // `,` + the topic + `]}`
            if frame.len() > head.len() && frame.len() + one.len() + 3 > MAX_FRAME_BYTES {
                frame.push_str("]}");
                self.send_frame(conn, core::mem::replace(&mut frame, String::from(head)));
            }
            if frame.len() > head.len() {
                frame.push(',');
            }
            frame.push_str(&one);
        }
        if frame.len() > head.len() {
            frame.push_str("]}");
            self.send_frame(conn, frame);
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
        let missing = self.sync.finish(self.records.topics());
        self.actions.push_back(Action::Synced { timed_out, missing });
    }

    fn resync_subscriptions(&mut self, _now_ms: f64) {
        let Phase::Open { conn } = self.phase else { return };
        let desired = self.desired_subscriptions();
        let removed: Vec<String> = {
            let wanted: Set<&str> = desired.iter().map(String::as_str).collect();
            self.session.subscribed.as_slice().iter().filter(|t| !wanted.contains(t.as_str())).cloned().collect()
        };
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
