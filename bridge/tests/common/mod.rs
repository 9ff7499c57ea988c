//! The test harness shared by the bridge's integration tests: a [`Sim`] that plays
//! the transport (executing actions by hand) on a plain `f64` clock, and helpers that
//! pick actions apart. Not every test file uses every helper.
#![allow(dead_code)]

use aimdb_wasm_bridge::{
    Action, Bridge, BridgeError, BridgeOptions, ClientMessage, ConnId, Delivery, DropReason, Link, RecordLink,
    ServerMessage, Status,
};
use serde_json::Value;

pub const URL: &str = "ws://srv:8080/ws";

// ───────────────────────────── harness ─────────────────────────────

pub struct Sim {
    pub b: Bridge,
    pub now: f64,
}

impl Sim {
    pub fn new(opts: BridgeOptions, records: Vec<RecordLink>) -> Self {
        Sim { b: Bridge::new(URL, opts, records).expect("valid test config"), now: 0.0 }
    }

    pub fn take(&mut self) -> Vec<Action> {
        self.b.take_actions()
    }

    /// Acts as the transport's single timer: fires every deadline up to `t`, in order,
    /// and returns the actions produced. Time ends at `t`.
    pub fn advance_to(&mut self, t: f64) -> Vec<Action> {
        let mut out = Vec::new();
        let mut guard = 0;
        while let Some(d) = self.b.next_timer_ms() {
            if d > t {
                break;
            }
            self.now = d.max(self.now);
            self.b.on_timer(self.now);
            out.extend(self.take());
            guard += 1;
            assert!(guard < 10_000, "timer loop does not advance");
        }
        self.now = t;
        out
    }

    /// `connect()` and report the new socket's id.
    pub fn connect(&mut self) -> ConnId {
        self.b.connect(self.now);
        opened_conn(&self.take()).expect("connect() opens a socket")
    }

    /// Opens socket `conn` and returns what that produced.
    pub fn open(&mut self, conn: ConnId) -> Vec<Action> {
        self.b.on_open(conn, self.now);
        self.take()
    }

    /// `connect()` + `on_open`; returns the socket and the actions of the open.
    pub fn connected(&mut self) -> (ConnId, Vec<Action>) {
        let c = self.connect();
        let a = self.open(c);
        (c, a)
    }

    pub fn frame(&mut self, conn: ConnId, msg: &ServerMessage) -> Vec<Action> {
        let text = serde_json::to_string(msg).expect("test frame");
        self.b.on_frame(conn, &text, self.now);
        self.take()
    }

    /// The server answers the pings so far (a `pong`).
    pub fn pong(&mut self, conn: ConnId) -> Vec<Action> {
        self.frame(conn, &ServerMessage::Pong)
    }

    pub fn raw(&mut self, conn: ConnId, text: &str) -> Vec<Action> {
        self.b.on_frame(conn, text, self.now);
        self.take()
    }

    pub fn close(&mut self, conn: ConnId) -> Vec<Action> {
        self.b.on_close(conn, self.now);
        self.take()
    }
}

pub fn opened_conn(actions: &[Action]) -> Option<ConnId> {
    actions.iter().find_map(|a| match a {
        Action::Open { conn, .. } => Some(*conn),
        _ => None,
    })
}

pub fn opens(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::Open { .. })).count()
}

/// Every frame sent, parsed back with the protocol crate's own type.
pub fn sent(actions: &[Action]) -> Vec<ClientMessage> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { frame, .. } => Some(serde_json::from_str(frame).expect("sent frame parses")),
            _ => None,
        })
        .collect()
}

pub fn writes(actions: &[Action]) -> Vec<(String, Value)> {
    sent(actions)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Write { topic, payload } => Some((topic, payload)),
            _ => None,
        })
        .collect()
}

pub fn pings(actions: &[Action]) -> usize {
    sent(actions).iter().filter(|m| matches!(m, ClientMessage::Ping)).count()
}

pub fn subscribes(actions: &[Action]) -> Vec<Vec<String>> {
    sent(actions)
        .into_iter()
        .filter_map(|m| match m {
            ClientMessage::Subscribe { topics } => Some(topics),
            _ => None,
        })
        .collect()
}

pub fn deliveries(actions: &[Action]) -> Vec<Delivery> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Deliver(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// `(record key, payload parsed, snapshot)` of each delivery.
pub fn delivered(b: &Bridge, actions: &[Action]) -> Vec<(String, Value, bool)> {
    deliveries(actions)
        .into_iter()
        .map(|d| {
            let key = b.record_key(d.record).expect("a delivery names a record").to_owned();
            (key, serde_json::from_str(&d.payload).expect("a delivered payload is JSON"), d.snapshot)
        })
        .collect()
}

pub fn errors(actions: &[Action]) -> Vec<BridgeError> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Error(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

pub fn statuses(actions: &[Action]) -> Vec<Status> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Status(s) => Some(*s),
            _ => None,
        })
        .collect()
}

pub fn synced(actions: &[Action]) -> Vec<(bool, Vec<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Synced { timed_out, missing } => Some((*timed_out, missing.clone())),
            _ => None,
        })
        .collect()
}

pub fn dropped(actions: &[Action]) -> Vec<(Value, DropReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::WriteDropped(d) => Some((serde_json::from_str(&d.payload).expect("a dropped payload is JSON"), d.reason)),
            _ => None,
        })
        .collect()
}

pub fn data(topic: &str, payload: Value) -> ServerMessage {
    ServerMessage::Data { topic: topic.into(), payload: Some(payload), ts: 1_700_000_000_000 }
}

pub fn snapshot(topic: &str, payload: Value) -> ServerMessage {
    ServerMessage::Snapshot { topic: topic.into(), payload: Some(payload) }
}

pub fn quiet() -> BridgeOptions {
    // No keepalive / timeouts unless a test wants them, no late join: isolates a feature.
    BridgeOptions {
        keepalive_ms: 0.0,
        pong_timeout_ms: 0.0,
        connect_timeout_ms: 0.0,
        sync_timeout_ms: 0.0,
        late_join: false,
        seed: Some(42),
        ..BridgeOptions::default()
    }
}

pub fn out(key: &str) -> RecordLink {
    RecordLink::new(key).link(Link::Out)
}

