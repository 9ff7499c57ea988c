//! Typed errors: [`WriteError`] (returned by [`Bridge::write`](crate::Bridge::write)) and
//! [`BridgeError`] (reported through [`Action::Error`](crate::Action::Error) and kept as
//! `Stats::last_error`). Display texts name what went wrong; none contains the URL
//! (it may carry a token).
//!
//! **Bounded texts.** No error text grows with its input: keys, topics and patterns are
//! shown as a quoted excerpt of at most [`MAX_EXCERPT_CHARS`] characters (with the full
//! byte length when cut), and texts that come from the network or a parser (a
//! malformed frame's excerpt and reason, a server `error` message, a validator's
//! reason) are cut to that length when the error is built. The fields that identify a
//! record (`key`, `topic`) keep their full value for programs.

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

/// How many characters of an input an error text shows.
pub const MAX_EXCERPT_CHARS: usize = 200;

/// `s` cut to at most [`MAX_EXCERPT_CHARS`] characters; a cut text ends in `…` and says
/// how many bytes the whole had. O(excerpt), whatever the length of `s`.
pub fn excerpt(s: &str) -> String {
    match s.char_indices().nth(MAX_EXCERPT_CHARS) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes)", s.get(..cut).unwrap_or(""), s.len()),
    }
}

/// Displays a key, topic or pattern quoted (JSON string escapes) and cut like
/// [`excerpt`]: `"temp.berlin"`, `"aaaa…" (5000000 bytes)`.
pub struct Quoted<'a>(pub &'a str);

/// `s` in double quotes, escaped as a JSON string (`"`, `\`, control characters): the
/// bridge's one string escaper ([`crate::json`]) rather than `str`'s `Debug`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::json::push_str(&mut out, s);
    out
}

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_EXCERPT_CHARS) {
            None => f.write_str(&quote(self.0)),
            Some((cut, _)) => write!(f, "{}… ({} bytes)", quote(self.0.get(..cut).unwrap_or("")), self.0.len()),
        }
    }
}

/// `x` for a message: an integer as such (`3`, `-0` as `0`), any other number as JSON
/// writes it (`2500.25`, `1.5e-7`; serde_json's shortest round-trip digits, the float
/// formatter the module has anyway), `NaN`, `inf`, `-inf`.
pub(crate) fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        return (x as i64).to_string();
    }
    serde_json::Number::from_f64(x).map(|n| n.to_string()).unwrap_or_default()
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
        /// The encoder's / parser's message (at most [`MAX_EXCERPT_CHARS`] characters).
        reason: String,
    },
}

impl WriteError {
    /// The JS error code: `UNKNOWN_KEY`, `NOT_OUTBOUND`, `BRIDGE_DISCONNECTED`,
    /// `QUEUE_FULL`, `FRAME_TOO_LARGE` or `INVALID_PAYLOAD`.
    pub fn code(&self) -> &'static str {
        match self {
            WriteError::UnknownRecord { .. } => "UNKNOWN_KEY",
            WriteError::NotOutbound { .. } => "NOT_OUTBOUND",
            WriteError::Disconnected { .. } => "BRIDGE_DISCONNECTED",
            WriteError::QueueFull { .. } => "QUEUE_FULL",
            WriteError::TooLarge { .. } => "FRAME_TOO_LARGE",
            WriteError::InvalidPayload { .. } => "INVALID_PAYLOAD",
        }
    }

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
        let key = Quoted(self.key());
        match self {
            WriteError::UnknownRecord { .. } => {
                write!(f, "write to {key}: no record with this key is linked to the bridge")
            }
            WriteError::NotOutbound { link, .. } => write!(
                f,
                "write to {key}: the record is linked '{}', only 'out' or 'both' records are sent",
                link.as_str()
            ),
            WriteError::Disconnected { .. } => write!(
                f,
                "write to {key}: the bridge was disconnected on purpose; call reconnect() first"
            ),
            WriteError::QueueFull { capacity, .. } => write!(
                f,
                "write to {key}: offline queue full ({capacity} writes) and overflow is 'reject'"
            ),
            WriteError::TooLarge { bytes, limit, .. } => write!(
                f,
                "write to {key}: frame of {bytes} bytes exceeds the server's limit of {limit}"
            ),
            WriteError::InvalidPayload { reason, .. } => {
                write!(f, "write to {key}: invalid payload: {reason}")
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
        /// The parser's message (at most [`MAX_EXCERPT_CHARS`] characters).
        reason: String,
        /// The first characters of the frame (at most 80).
        excerpt: String,
    },
    /// A text frame longer than `maxFrameBytes` (UTF-8 bytes): dropped unparsed,
    /// counted in `Stats::oversized_frames`. The payload is not echoed.
    FrameTooLarge {
        /// The frame's length in bytes.
        bytes: usize,
        /// The `maxFrameBytes` option.
        limit: usize,
    },
    /// A binary frame: the server speaks text frames only. Dropped, counted in
    /// `Stats::binary_frames`.
    BinaryFrame {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The server sent an `error` frame.
    Server {
        /// Its code.
        code: ErrorCode,
        /// The topic it concerns, if any (`FORBIDDEN` carries one).
        topic: Option<String>,
        /// The server's message (at most [`MAX_EXCERPT_CHARS`] characters).
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
        /// The validator's message (at most [`MAX_EXCERPT_CHARS`] characters).
        reason: String,
    },
}

impl BridgeError {
    /// The JS error code: `MALFORMED_FRAME`, `FRAME_TOO_LARGE`, `BINARY_FRAME`,
    /// `SERVER_ERROR`, `CONNECTION_REFUSED`, `CONNECT_TIMEOUT`, `PONG_TIMEOUT`,
    /// `CONNECTION_LOST` or `CONTRACT_VIOLATION`.
    pub fn code(&self) -> &'static str {
        match self {
            BridgeError::MalformedFrame { .. } => "MALFORMED_FRAME",
            BridgeError::FrameTooLarge { .. } => "FRAME_TOO_LARGE",
            BridgeError::BinaryFrame { .. } => "BINARY_FRAME",
            BridgeError::Server { .. } => "SERVER_ERROR",
            BridgeError::ConnectionRefused { .. } => "CONNECTION_REFUSED",
            BridgeError::ConnectTimeout { .. } => "CONNECT_TIMEOUT",
            BridgeError::PongTimeout { .. } => "PONG_TIMEOUT",
            BridgeError::ConnectionLost => "CONNECTION_LOST",
            BridgeError::PayloadRejected { .. } => "CONTRACT_VIOLATION",
        }
    }
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::MalformedFrame { reason, excerpt } => {
                write!(f, "malformed frame from server ({reason}): {}", quote(excerpt))
            }
            BridgeError::FrameTooLarge { bytes, limit } => write!(
                f,
                "frame of {bytes} bytes from server dropped: over the maxFrameBytes limit of {limit}"
            ),
            BridgeError::BinaryFrame { bytes } => {
                write!(f, "binary frame of {bytes} bytes from server dropped: only text frames are read")
            }
            BridgeError::Server { code, topic: Some(topic), message } => {
                write!(f, "server error {} on topic {}: {message}", error_code_str(code), Quoted(topic))
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
                write!(f, "connection attempt did not open within {} ms", fmt_f64(*waited_ms))
            }
            BridgeError::PongTimeout { waited_ms } => write!(
                f,
                "link dead: nothing received within {} ms after a ping; reconnecting",
                fmt_f64(*waited_ms)
            ),
            BridgeError::ConnectionLost => {
                f.write_str("connection lost: the socket closed without disconnect()")
            }
            BridgeError::PayloadRejected { key, reason } => {
                write!(f, "inbound payload for {} rejected: {reason}", Quoted(key))
            }
        }
    }
}

impl std::error::Error for BridgeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_whatever_the_input() {
        let long = "k".repeat(5_000_000);
        assert_eq!(excerpt("short"), "short");
        let e = excerpt(&long);
        assert!(e.chars().count() < MAX_EXCERPT_CHARS + 30 && e.contains("5000000 bytes"), "{e}");
        for text in [
            WriteError::UnknownRecord { key: long.clone() }.to_string(),
            WriteError::QueueFull { key: long.clone(), capacity: 3 }.to_string(),
            BridgeError::PayloadRejected { key: long.clone(), reason: "r".into() }.to_string(),
            BridgeError::Server { code: ErrorCode::Forbidden, topic: Some(long.clone()), message: "m".into() }
                .to_string(),
        ] {
            assert!(text.len() < 500, "{} bytes", text.len());
            assert!(text.contains("5000000 bytes"), "{text}");
        }
        // Multi-byte characters are cut on a character boundary.
        let e = excerpt(&"é".repeat(1000));
        assert!(e.starts_with(&"é".repeat(MAX_EXCERPT_CHARS)) && e.contains("2000 bytes"), "{e}");
        assert_eq!(Quoted("a\"b").to_string(), r#""a\"b""#);
    }

    #[test]
    fn fmt_f64_is_exact_and_short() {
        for (x, text) in [
            (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.0, "-1"), (3000.0, "3000"), (0.5, "0.5"), (-2500.25, "-2500.25"),
            (0.2, "0.2"), (1e15, "1000000000000000"), (f64::NAN, "NaN"), (f64::INFINITY, "inf"), (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(fmt_f64(x), text, "{x:?}");
        }
        // Anything else: digits that read back as the same number.
        let mut r = crate::backoff::SplitMix64::new(3);
        for _ in 0..20000 {
            let x = f64::from_bits(r.next_u64());
            if x.is_finite() {
                assert_eq!(fmt_f64(x).parse::<f64>().unwrap().to_bits(), x.to_bits(), "{x:?}");
            }
        }
    }
}
