//! Typed errors: [`WriteError`] (returned by [`Bridge::write`](crate::Bridge::write)) and
//! [`BridgeError`] (reported through [`Action::Error`](crate::Action::Error) and kept as
//! `Stats::last_error`). Display texts name what went wrong; none contains the URL
//! (it may carry a token).

use core::fmt;

pub use aimdb_ws_protocol::ErrorCode;

use crate::options::Link;

/// The wire name of a server error code (`FORBIDDEN`, ...).
pub fn error_code_str(code: &ErrorCode) -> &'static str {
    match code {
        ErrorCode::Unauthorized => "UNAUTHORIZED",
        ErrorCode::Forbidden => "FORBIDDEN",
        ErrorCode::UnknownTopic => "UNKNOWN_TOPIC",
        ErrorCode::SerializationError => "SERIALIZATION_ERROR",
        ErrorCode::WriteError => "WRITE_ERROR",
        ErrorCode::ServerError => "SERVER_ERROR",
    }
}

/// Why a local write was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// No record with this key is linked to the bridge.
    UnknownRecord {
        /// The key.
        key: String,
    },
    /// The record is linked `in` only.
    NotOutbound {
        /// The key.
        key: String,
        /// Its link.
        link: Link,
    },
    /// [`Bridge::disconnect`](crate::Bridge::disconnect) was called: writes are refused,
    /// not queued, until [`Bridge::connect`](crate::Bridge::connect).
    Disconnected {
        /// The key.
        key: String,
    },
    /// The offline queue is full and the overflow policy is `reject`.
    QueueFull {
        /// The key.
        key: String,
        /// The queue's capacity (`maxOfflineQueue`).
        capacity: usize,
    },
    /// The frame would exceed the server's 16 MiB limit (it answers with a TCP reset).
    TooLarge {
        /// The key.
        key: String,
        /// Size of the encoded frame.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The payload could not be encoded (or, for `write_json`, parsed).
    InvalidPayload {
        /// The key.
        key: String,
        /// The encoder's / parser's message.
        reason: String,
    },
}

impl WriteError {
    /// The record key the write was for.
    pub fn key(&self) -> &str {
        match self {
            WriteError::UnknownRecord { key }
            | WriteError::NotOutbound { key, .. }
            | WriteError::Disconnected { key }
            | WriteError::QueueFull { key, .. }
            | WriteError::TooLarge { key, .. }
            | WriteError::InvalidPayload { key, .. } => key,
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::UnknownRecord { key } => {
                write!(f, "write to {key:?}: no record with this key is linked to the bridge")
            }
            WriteError::NotOutbound { key, link } => write!(
                f,
                "write to {key:?}: the record is linked '{}', only 'out' or 'both' records are sent",
                link.as_str()
            ),
            WriteError::Disconnected { key } => write!(
                f,
                "write to {key:?}: the bridge was disconnected on purpose; call connect() first"
            ),
            WriteError::QueueFull { key, capacity } => write!(
                f,
                "write to {key:?}: offline queue full ({capacity} writes) and overflow is 'reject'"
            ),
            WriteError::TooLarge { key, bytes, limit } => write!(
                f,
                "write to {key:?}: frame of {bytes} bytes exceeds the server's limit of {limit}"
            ),
            WriteError::InvalidPayload { key, reason } => {
                write!(f, "write to {key:?}: invalid payload: {reason}")
            }
        }
    }
}

impl std::error::Error for WriteError {}

/// Something that went wrong on the link, reported as
/// [`Action::Error`](crate::Action::Error).
#[derive(Debug, Clone, PartialEq)]
pub enum BridgeError {
    /// A frame that is not a valid server message (not JSON, unknown `type`, missing
    /// field). Counted in `Stats::malformed`.
    MalformedFrame {
        /// The parser's message.
        reason: String,
        /// The first characters of the frame.
        excerpt: String,
    },
    /// The server sent an `error` frame.
    Server {
        /// Its code.
        code: ErrorCode,
        /// The topic it concerns, if any (`FORBIDDEN` carries one).
        topic: Option<String>,
        /// The server's message.
        message: String,
    },
    /// Several consecutive attempts closed before `open`. A browser cannot tell an
    /// HTTP 401 (rejected token) from an unreachable server: both are an `error` event
    /// and close 1006. Reported once per streak; reconnecting goes on with backoff.
    ConnectionRefused {
        /// Consecutive attempts that failed before opening.
        attempts: u32,
    },
    /// An attempt did not open within `connectTimeoutMs`; it was closed.
    ConnectTimeout {
        /// How long it waited, ms.
        waited_ms: f64,
    },
    /// Nothing arrived within `pongTimeoutMs` after a ping: the link was closed as dead.
    PongTimeout {
        /// How long it waited, ms.
        waited_ms: f64,
    },
    /// An open connection closed without [`Bridge::disconnect`](crate::Bridge::disconnect)
    /// (the server never sends a close frame, so every close looks like this).
    ConnectionLost,
    /// The caller's contract validation refused an inbound payload
    /// ([`Bridge::reject_inbound`](crate::Bridge::reject_inbound)).
    PayloadRejected {
        /// The record key.
        key: String,
        /// The validator's message.
        reason: String,
    },
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::MalformedFrame { reason, excerpt } => {
                write!(f, "malformed frame from server ({reason}): {excerpt:?}")
            }
            BridgeError::Server { code, topic: Some(topic), message } => {
                write!(f, "server error {} on topic {topic:?}: {message}", error_code_str(code))
            }
            BridgeError::Server { code, topic: None, message } => {
                write!(f, "server error {}: {message}", error_code_str(code))
            }
            BridgeError::ConnectionRefused { attempts } => write!(
                f,
                "connection refused: {attempts} consecutive attempts closed before opening \
                 (rejected token (HTTP 401) or server unreachable); still retrying with backoff"
            ),
            BridgeError::ConnectTimeout { waited_ms } => {
                write!(f, "connection attempt did not open within {waited_ms} ms")
            }
            BridgeError::PongTimeout { waited_ms } => write!(
                f,
                "link dead: nothing received within {waited_ms} ms after a ping; reconnecting"
            ),
            BridgeError::ConnectionLost => {
                f.write_str("connection lost: the socket closed without disconnect()")
            }
            BridgeError::PayloadRejected { key, reason } => {
                write!(f, "inbound payload for {key:?} rejected: {reason}")
            }
        }
    }
}

impl std::error::Error for BridgeError {}
