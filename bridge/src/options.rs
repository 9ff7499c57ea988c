//! Options of the bridge and of its records.
//!
//! [`BridgeOptions::from_json`] reads the camelCase JS shape, with the defaults of the
//! issue for every missing field:
//!
//! ```text
//! { subscribeTopics: [], autoReconnect: true | false | { initialMs: 500, maxMs: 8000, factor: 2, jitter: 0.2 },
//!   seed?: integer, lateJoin: true, syncTimeoutMs: 3000, maxOfflineQueue: 256,
//!   overflow: 'dropOldest' | 'dropNewest' | 'reject', keepaliveMs: 30000, pongTimeoutMs: 10000,
//!   connectTimeoutMs: 10000, refusedAfter: 3, maxFrameBytes: 4194304, token?: string }
//! ```
//!
//! All durations are milliseconds on the adapter's clock (`now_ms`), at most
//! [`MAX_TIMER_MS`] (2^31 - 1: a browser's `setTimeout` turns a longer delay into 0 ms,
//! a timer that spins). A duration of 0 disables keepalive, pong timeout, connect
//! timeout and sync timeout respectively; any other value below 1 ms is refused.

use core::fmt;

use crate::error::Quoted;
use crate::topic::TopicError;

/// The longest timer the options accept, ms: 2^31 - 1, the longest delay a browser's
/// `setTimeout` honours (a longer one fires at once).
pub const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// The default `maxFrameBytes`: 4 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// The largest `maxFrameBytes` accepted: 1 GiB.
pub const MAX_MAX_FRAME_BYTES: usize = 1 << 30;

/// The smallest `maxFrameBytes` accepted: 64 bytes (a smaller limit would refuse the
/// server's `subscribed` and `error` frames).
pub const MIN_MAX_FRAME_BYTES: usize = 64;

/// The jitter seed used when [`BridgeOptions::seed`] is not given (the browser
/// transport gives a random one instead).
pub const DEFAULT_SEED: u64 = 0x5EED;

fn check_timer(field: &'static str, value: f64, zero_disables: bool) -> Result<(), ConfigError> {
    let ok = (zero_disables && value == 0.0) || (1.0..=MAX_TIMER_MS).contains(&value);
    if ok {
        return Ok(());
    }
    Err(ConfigError::InvalidOption {
        field,
        value: crate::error::fmt_f64(value),
        want: if zero_disables {
            "0 (off) or a number of ms in [1, 2147483647]"
        } else {
            "a number of ms in [1, 2147483647]"
        },
    })
}

/// Reconnect backoff: `initialMs * factor^n`, capped at `maxMs`, jittered by
/// `±jitter` (a fraction). See [`crate::backoff`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffOptions {
    /// First delay, ms, in `[1, 2^31 - 1]`.
    pub initial_ms: f64,
    /// Cap, ms, in `[initial_ms, 2^31 - 1]`.
    pub max_ms: f64,
    /// Growth factor (>= 1).
    pub factor: f64,
    /// Jitter fraction in `[0, 1)`.
    pub jitter: f64,
}

impl Default for BackoffOptions {
    fn default() -> Self {
        Self { initial_ms: 500.0, max_ms: 8000.0, factor: 2.0, jitter: 0.2 }
    }
}

impl BackoffOptions {
    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, value: f64, want: &'static str| {
            Err(ConfigError::InvalidOption { field, value: crate::error::fmt_f64(value), want })
        };
        check_timer("autoReconnect.initialMs", self.initial_ms, false)?;
        check_timer("autoReconnect.maxMs", self.max_ms, false)?;
        if self.max_ms < self.initial_ms {
            return bad("autoReconnect.maxMs", self.max_ms, "a number >= initialMs");
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return bad("autoReconnect.factor", self.factor, "a finite number >= 1");
        }
        if !(self.jitter >= 0.0 && self.jitter < 1.0) {
            return bad("autoReconnect.jitter", self.jitter, "a number in [0, 1)");
        }
        Ok(())
    }
}

/// What a full offline queue does with one more write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Drop the oldest queued write, queue the new one (default).
    #[default]
    DropOldest,
    /// Drop the new write; the queue is unchanged.
    DropNewest,
    /// Refuse the new write with [`WriteError::QueueFull`](crate::WriteError::QueueFull).
    Reject,
}

/// Options of a [`Bridge`](crate::Bridge).
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeOptions {
    /// Patterns to subscribe to on every (re)connect, MQTT style: a `+` level is sent as
    /// the server's `*`, `#` passes through (see [`crate::topic`]).
    pub subscribe_topics: Vec<String>,
    /// Reconnect with this backoff after an unexpected close; `None` = stay
    /// disconnected. JS: `true` (defaults), `false`, or a backoff object.
    pub auto_reconnect: Option<BackoffOptions>,
    /// Seed of the jitter PRNG; `None` (not given) = [`DEFAULT_SEED`] in the machine,
    /// a random seed in the browser transport. An explicit value is always kept.
    pub seed: Option<u64>,
    /// On every (re)connect, also subscribe the exact topics of the in/both records that
    /// the patterns cover, so the server sends their snapshots.
    pub late_join: bool,
    /// How long to wait for late-join snapshots before declaring the bridge synced
    /// anyway (0 = wait forever).
    pub sync_timeout_ms: f64,
    /// Capacity of the offline write queue.
    pub max_offline_queue: usize,
    /// What a full offline queue does.
    pub overflow: OverflowPolicy,
    /// Ping interval while connected (0 = no keepalive).
    pub keepalive_ms: f64,
    /// A link is dead when nothing at all arrives within this time after a ping.
    pub pong_timeout_ms: f64,
    /// An attempt that has not opened within this time is abandoned (0 = wait for the
    /// browser, which may take minutes on a black-holed network).
    pub connect_timeout_ms: f64,
    /// After this many consecutive attempts that closed before `open`, report
    /// [`BridgeError::ConnectionRefused`](crate::BridgeError::ConnectionRefused) (once per
    /// streak; backoff goes on as usual).
    pub refused_after: u32,
    /// Inbound text frames longer than this many UTF-8 bytes are dropped before
    /// parsing, counted and reported ([`BridgeError::FrameTooLarge`](crate::BridgeError::FrameTooLarge)).
    /// In `[64, 2^30]`; default 4 MiB ([`DEFAULT_MAX_FRAME_BYTES`]).
    pub max_frame_bytes: usize,
    /// Sent as `?token=` (percent-encoded) in the URL: a browser cannot set headers.
    pub token: Option<String>,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            subscribe_topics: Vec::new(),
            auto_reconnect: Some(BackoffOptions::default()),
            seed: None,
            late_join: true,
            sync_timeout_ms: 3000.0,
            max_offline_queue: 256,
            overflow: OverflowPolicy::DropOldest,
            keepalive_ms: 30_000.0,
            pong_timeout_ms: 10_000.0,
            connect_timeout_ms: 10_000.0,
            refused_after: 3,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            token: None,
        }
    }
}

impl BridgeOptions {
    /// Checks every numeric option and the backoff: timers 0 (off) or in
    /// `[1, 2^31 - 1]` ms, `refusedAfter >= 1`, `maxFrameBytes` in `[64, 2^30]`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(b) = &self.auto_reconnect {
            b.validate()?;
        }
        for (field, value) in [
            ("syncTimeoutMs", self.sync_timeout_ms),
            ("keepaliveMs", self.keepalive_ms),
            ("pongTimeoutMs", self.pong_timeout_ms),
            ("connectTimeoutMs", self.connect_timeout_ms),
        ] {
            check_timer(field, value, true)?;
        }
        if !(MIN_MAX_FRAME_BYTES..=MAX_MAX_FRAME_BYTES).contains(&self.max_frame_bytes) {
            return Err(ConfigError::InvalidOption {
                field: "maxFrameBytes",
                value: self.max_frame_bytes.to_string(),
                want: "an integer in [64, 1073741824]",
            });
        }
        if self.refused_after == 0 {
            return Err(ConfigError::InvalidOption {
                field: "refusedAfter",
                value: "0".into(),
                want: "an integer >= 1",
            });
        }
        Ok(())
    }
}


/// The direction(s) a record is linked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Server -> record only (default).
    #[default]
    In,
    /// Record -> server only.
    Out,
    /// Both directions (local writes go out, server values come in; see the crate docs).
    Both,
}

impl Link {
    /// Receives from the server.
    pub fn is_inbound(self) -> bool {
        matches!(self, Link::In | Link::Both)
    }
    /// Sends to the server.
    pub fn is_outbound(self) -> bool {
        matches!(self, Link::Out | Link::Both)
    }
    /// `"in"`, `"out"` or `"both"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Link::In => "in",
            Link::Out => "out",
            Link::Both => "both",
        }
    }
}

/// A local record the bridge connects to a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLink {
    /// The local record key, e.g. `temp.berlin`.
    pub key: String,
    /// Explicit topic; `None` = [`default_topic`](crate::topic::default_topic) of the key.
    pub topic: Option<String>,
    /// Direction (default `in`).
    pub link: Link,
}

impl RecordLink {
    /// A record linked `in` on its default topic.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into(), topic: None, link: Link::In }
    }
    /// With an explicit topic.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }
    /// With a direction.
    pub fn link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }
    /// The topic this record maps to.
    pub fn resolved_topic(&self) -> String {
        self.topic.clone().unwrap_or_else(|| crate::topic::default_topic(&self.key))
    }
}

/// Why a [`Bridge`](crate::Bridge) could not be built (or a pattern not added).
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// The URL is not an absolute `ws://` / `wss://` URL with a valid host and port, or
    /// has a fragment (the WebSocket constructor would throw, or the browser could never
    /// reach it). JS code `INVALID_URL` ([`ConfigError::code`]); reported once, by the
    /// constructor, never retried. The text does not repeat the URL (it may carry a
    /// token).
    InvalidUrl {
        /// What is wrong.
        reason: &'static str,
    },
    /// The options object does not have the documented shape: an unknown field, a
    /// value of the wrong type, an unknown `overflow` policy ([`BridgeOptions::from_json`]).
    InvalidOptions {
        /// What is wrong, naming the field.
        message: String,
    },
    /// A numeric option out of range.
    InvalidOption {
        /// The option's JS name.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        want: &'static str,
    },
    /// A subscription pattern was refused.
    InvalidPattern {
        /// The pattern as given.
        pattern: String,
        /// Why.
        error: TopicError,
    },
    /// A record's key is empty or its topic is refused.
    InvalidRecord {
        /// The record key.
        key: String,
        /// Why.
        error: TopicError,
    },
    /// Two records with the same key.
    DuplicateKey {
        /// The key.
        key: String,
    },
    /// Two records mapped to the same topic.
    DuplicateTopic {
        /// The topic.
        topic: String,
        /// The record that has it first.
        first: String,
        /// The record that has it again.
        second: String,
    },
}

impl ConfigError {
    /// The JS error code: `INVALID_URL` for [`ConfigError::InvalidUrl`],
    /// `INVALID_OPTIONS` for everything else.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::InvalidUrl { .. } => "INVALID_URL",
            _ => "INVALID_OPTIONS",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl { reason } => write!(f, "invalid bridge URL: {reason}"),
            ConfigError::InvalidOptions { message } => write!(f, "invalid WsBridge options: {message}"),
            ConfigError::InvalidOption { field, value, want } => {
                write!(f, "option {field} = {value}: expected {want}")
            }
            ConfigError::InvalidPattern { pattern, error } => {
                write!(f, "subscription pattern {} refused: {error}", Quoted(pattern))
            }
            ConfigError::InvalidRecord { key, error } => {
                write!(f, "record {} refused: {error}", Quoted(key))
            }
            ConfigError::DuplicateKey { key } => write!(f, "record {} is listed twice", Quoted(key)),
            ConfigError::DuplicateTopic { topic, first, second } => write!(
                f,
                "records {} and {} both map to topic {}; give one an explicit topic",
                Quoted(first),
                Quoted(second),
                Quoted(topic)
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;




    #[test]
    fn validation_names_the_field() {
        let mut o = BridgeOptions::default();
        assert!(o.validate().is_ok());
        o.auto_reconnect = Some(BackoffOptions { jitter: 1.0, ..BackoffOptions::default() });
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("jitter"), "{e}");
        o.auto_reconnect = Some(BackoffOptions { max_ms: 100.0, ..BackoffOptions::default() });
        assert!(o.validate().unwrap_err().to_string().contains("maxMs"));
        o.auto_reconnect = None;
        o.keepalive_ms = f64::NAN;
        assert!(o.validate().unwrap_err().to_string().contains("keepaliveMs"));
        o.keepalive_ms = 0.0;
        o.refused_after = 0;
        assert!(o.validate().unwrap_err().to_string().contains("refusedAfter"));
    }

    /// `keepaliveMs: 2**32 - 1000` used to be accepted and became a 0 ms browser timer.
    #[test]
    fn timers_outside_what_set_timeout_honours_are_refused() {
        let base = BridgeOptions::default();
        let set = |field: &str, v: f64| {
            let mut o = base.clone();
            match field {
                "keepaliveMs" => o.keepalive_ms = v,
                "pongTimeoutMs" => o.pong_timeout_ms = v,
                "connectTimeoutMs" => o.connect_timeout_ms = v,
                "syncTimeoutMs" => o.sync_timeout_ms = v,
                "autoReconnect.initialMs" => {
                    o.auto_reconnect = Some(BackoffOptions { initial_ms: v, ..BackoffOptions::default() })
                }
                "autoReconnect.maxMs" => {
                    o.auto_reconnect = Some(BackoffOptions { max_ms: v, ..BackoffOptions::default() })
                }
                _ => unreachable!(),
            }
            o.validate()
        };
        for field in ["keepaliveMs", "pongTimeoutMs", "connectTimeoutMs", "syncTimeoutMs"] {
            for bad in [4_294_966_296.0, 2_147_483_648.0, f64::INFINITY, f64::NAN, -1.0, 0.5] {
                let e = set(field, bad).unwrap_err();
                assert!(e.to_string().contains(field), "{field} = {bad}: {e}");
                assert_eq!(e.code(), "INVALID_OPTIONS");
            }
            for good in [0.0, 1.0, 2_147_483_647.0] {
                assert!(set(field, good).is_ok(), "{field} = {good}");
            }
        }
        for field in ["autoReconnect.initialMs", "autoReconnect.maxMs"] {
            for bad in [0.0, 0.5, 2_147_483_648.0, f64::NAN, -5.0] {
                assert!(set(field, bad).unwrap_err().to_string().contains(field), "{field} = {bad}");
            }
        }
        assert!(set("autoReconnect.maxMs", 2_147_483_647.0).is_ok());
    }

    #[test]
    fn max_frame_bytes_default_and_range() {
        let o = BridgeOptions::from_json(r#"{"maxFrameBytes":1000}"#).unwrap();
        assert_eq!(o.max_frame_bytes, 1000);
        assert!(o.validate().is_ok());
        assert_eq!(BridgeOptions::default().max_frame_bytes, 4 * 1024 * 1024);
        for bad in [0usize, 63, (1 << 30) + 1] {
            let o = BridgeOptions { max_frame_bytes: bad, ..BridgeOptions::default() };
            assert!(o.validate().unwrap_err().to_string().contains("maxFrameBytes"), "{bad}");
        }
        assert!(BridgeOptions::from_json(r#"{"maxFrameBytes":-1}"#).is_err());
        assert!(BridgeOptions::from_json(r#"{"maxFrameBytes":1.5}"#).is_err());
    }

    /// An explicit seed equal to the default used to be indistinguishable from none
    /// (and was replaced by a random one).
    #[test]
    fn an_explicit_seed_is_told_apart_from_none() {
        let o = BridgeOptions::from_json("{}").unwrap();
        assert_eq!(o.seed, None);
        let o = BridgeOptions::from_json(&format!(r#"{{"seed":{DEFAULT_SEED}}}"#)).unwrap();
        assert_eq!(o.seed, Some(DEFAULT_SEED));
        let o = BridgeOptions::from_json(r#"{"seed":0}"#).unwrap();
        assert_eq!(o.seed, Some(0));
    }
}
