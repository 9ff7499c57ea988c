//! The machine's public vocabulary: socket ids, status, the actions it queues, write
//! outcomes and the counters.

use core::fmt;

use crate::error::BridgeError;

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
    /// First attempt after [`Bridge::connect`](crate::Bridge::connect) is in progress.
    Connecting,
    /// Open.
    Connected,
    /// Not connected and not trying: never connected, [`Bridge::disconnect`](crate::Bridge::disconnect) was called,
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
    /// The record's index in the machine's table: records are numbered from 0 in the
    /// order given to [`Bridge::new`](crate::Bridge::new), then
    /// [`Bridge::add_record`](crate::Bridge::add_record) (which returns it); a caller that
    /// keeps its records in a `Vec` in that order finds the record without a lookup.
    /// [`Bridge::record_key`](crate::Bridge::record_key) / [`Bridge::record_topic`](crate::Bridge::record_topic)
    /// name it.
    pub record: usize,
    /// The payload's JSON text exactly as it stood in the frame (`null` if the frame
    /// had none): parse it once, straight into the record's type. Only its JSON syntax
    /// was checked: the caller checks it against the record's contract and calls
    /// [`Bridge::reject_inbound`](crate::Bridge::reject_inbound) if it fails.
    pub payload: String,
    /// From a late-join `snapshot` frame rather than live `data`.
    pub snapshot: bool,
    /// The `data` frame's `ts` (`None` for a snapshot, which has none).
    pub ts: Option<u64>,
}

/// Why a write was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// It was the oldest in a full queue (`overflow: 'dropOldest'`), including when
    /// the unconfirmed writes of a lost link went back to the front of the queue and
    /// did not all fit.
    DroppedOldest,
    /// It arrived at a full queue (`overflow: 'dropNewest'`, or a capacity of 0), or
    /// it was among the newest when the unconfirmed writes of a lost link went back
    /// into the queue and did not all fit (`dropNewest` and `reject`).
    DroppedNewest,
    /// It arrived at a full queue with `overflow: 'reject'`
    /// ([`WriteError::QueueFull`](crate::WriteError::QueueFull)).
    QueueFull,
    /// It was written after [`Bridge::disconnect`](crate::Bridge::disconnect)
    /// ([`WriteError::Disconnected`](crate::WriteError::Disconnected)), or it was still
    /// queued or unconfirmed when `disconnect()` was called (an unconfirmed write may or
    /// may not have reached the server).
    Disconnected,
    /// A write restored from storage ([`Bridge::restore_writes`](crate::Bridge::restore_writes))
    /// that cannot be sent any more: its record is no longer linked outbound, or its
    /// payload no longer passes the record's contract (the topic is empty when no
    /// record has the key).
    Invalid,
}

/// A write that will never be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedWrite {
    /// The record key.
    pub key: String,
    /// Its topic.
    pub topic: String,
    /// The payload's JSON text, as it was written.
    pub payload: String,
    /// Why.
    pub reason: DropReason,
}

/// What the transport (or the JS layer) must do. Drain them in order after every call
/// with [`Bridge::take_actions`](crate::Bridge::take_actions) / [`Bridge::next_action`](crate::Bridge::next_action).
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
    /// Something went wrong; also kept as `Stats::last_error`. Never carries a
    /// frame's or value's whole text (see [`crate::error`]).
    Error(BridgeError),
    /// A write was dropped or refused and will never be sent.
    WriteDropped(DroppedWrite),
    /// A late-join round is over: every awaited topic produced a value or was refused
    /// by the server (`timed_out: false`), or `syncTimeoutMs` passed (`timed_out:
    /// true`). `missing` lists the awaited topics that sent nothing (refused or timed
    /// out), in the order the records were added. Once per round: a round starts at [`Bridge::connect`](crate::Bridge::connect)
    /// and at each open after the previous round ended; its timeout runs across lost
    /// links and failed attempts, so the first round ends within `syncTimeoutMs` of
    /// `connect()` even if no link ever opens.
    Synced {
        /// Whether the timeout ended it.
        timed_out: bool,
        /// Exact topics still without a value.
        missing: Vec<String>,
    },
    /// The text of a `query_result` or `topic_list` frame (checked against the
    /// protocol's types), for a request/response layer above: parse it with
    /// `serde_json::from_str::<aimdb_ws_protocol::ServerMessage>`.
    Response(String),
    /// The set of writes not yet confirmed (queued and unconfirmed,
    /// [`Bridge::pending_writes`](crate::Bridge::pending_writes)) changed. Only after
    /// [`Bridge::track_outbox`](crate::Bridge::track_outbox)`(true)`: a layer that keeps
    /// them in durable storage rewrites its copy (once per burst: coalesce these).
    OutboxChanged,
}

/// What [`Bridge::write`](crate::Bridge::write) did with an accepted write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A `write` frame was sent. It stays unconfirmed until a `pong` proves the
    /// socket read it, and is re-sent after a reconnect if the link dies before.
    Sent,
    /// Not connected: queued; it is sent when the link opens.
    Queued,
    /// Queued; the queue was full, so its oldest write was dropped (reported as
    /// [`Action::WriteDropped`]).
    QueuedDroppedOldest,
    /// The queue was full and the policy is `dropNewest`: this write was dropped
    /// (reported as [`Action::WriteDropped`]).
    DroppedNewest,
}

/// Counters. `queue_len` and `unconfirmed` are current lengths; everything else counts
/// since [`Bridge::new`](crate::Bridge::new).
///
/// Writes: a write is counted in `writes_sent` each time a socket takes it
/// (`writes_resent` counts the repeats, after a socket died before confirming it). Every
/// accepted write ends confirmed (`writes_confirmed`) or dropped (`writes_dropped`,
/// each reported as [`Action::WriteDropped`]), or is still pending: `unconfirmed` on the
/// current socket, or `queue_len` waiting for one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// `Open` actions issued.
    pub connects: u64,
    /// Of those, attempts after a lost link or a failed attempt.
    pub reconnects: u64,
    /// Frames handed to the transport.
    pub frames_sent: u64,
    /// Frames received on the current socket(s) (text, binary and oversized).
    pub frames_received: u64,
    /// `write` frames handed to a socket (directly, flushed from the queue, or re-sent).
    pub writes_sent: u64,
    /// Of those, re-sends of a write an earlier socket took but never confirmed.
    pub writes_resent: u64,
    /// Writes proven delivered: a `pong` came back for a `ping` sent after them on the
    /// same socket.
    pub writes_confirmed: u64,
    /// Writes handed to the current socket and not confirmed yet.
    pub unconfirmed: usize,
    /// Writes that entered the offline queue (not counting re-queued unconfirmed ones).
    pub writes_queued: u64,
    /// Writes dropped by the overflow policy, discarded (queued or unconfirmed) by
    /// `disconnect()`, or refused after `disconnect()` or by a full queue under `reject`
    /// (those also count in `writes_rejected`: in JS a `db.set` has set them locally
    /// already). Each was reported as [`Action::WriteDropped`].
    pub writes_dropped: u64,
    /// Writes refused with an error.
    pub writes_rejected: u64,
    /// Current offline queue length.
    pub queue_len: usize,
    /// `Deliver` actions (data + snapshots).
    pub delivered: u64,
    /// `snapshot` frames received.
    pub snapshots: u64,
    /// Snapshots not delivered because live data for the topic came first.
    pub stale_snapshots: u64,
    /// Inbound payloads the caller rejected ([`Bridge::reject_inbound`](crate::Bridge::reject_inbound)).
    pub rejected: u64,
    /// Data/snapshot frames for a topic no record maps to (dropped).
    pub unknown_topic: u64,
    /// Data/snapshot frames for a record linked `out` only (dropped).
    pub not_inbound: u64,
    /// Frames that did not parse as a server message.
    pub malformed: u64,
    /// Text frames over `maxFrameBytes`, dropped unparsed.
    pub oversized_frames: u64,
    /// Binary frames, dropped (the server sends text frames).
    pub binary_frames: u64,
    /// `pong` frames received.
    pub pongs: u64,
    /// `error` frames from the server.
    pub server_errors: u64,
    /// Transport `error` events.
    pub transport_errors: u64,
    /// Events of a socket that is no longer current (ignored).
    pub stale_events: u64,
    /// The last error reported.
    pub last_error: Option<BridgeError>,
}
