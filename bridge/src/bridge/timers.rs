//! The one timer: reconnect, connect timeout, keepalive and confirm pings, pong
//! deadlines, and the late-join round's deadline.

use super::{Bridge, Phase, CONFIRM_PINGS};
use crate::error::BridgeError;
use crate::types::{Action, ConnId};

impl Bridge {
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

    /// Timer work of an open link (see [`on_timer`](Self::on_timer)).
    pub(super) fn open_timer(&mut self, conn: ConnId, now_ms: f64) {
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

    pub(super) fn dead_link(&mut self, conn: ConnId, waited_ms: f64, now_ms: f64) {
        self.actions.push_back(Action::Close { conn });
        self.error(BridgeError::PongTimeout { waited_ms });
        self.link_down(now_ms);
    }

    pub(super) fn ping(&mut self, conn: ConnId, now_ms: f64) {
        // What `serde_json` writes for the protocol's `ClientMessage::Ping`.
        self.send_frame(conn, r#"{"type":"ping"}"#.to_owned());
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
}
