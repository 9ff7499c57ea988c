//! Options of the bridge and of its records.
//!
//! Every type here deserializes from the camelCase JS shape (`serde`), with the
//! defaults of the issue for every missing field:
//!
//! ```text
//! { subscribeTopics: [], autoReconnect: true | false | { initialMs: 500, maxMs: 8000, factor: 2, jitter: 0.2 },
//!   seed: 0x5EED, lateJoin: true, syncTimeoutMs: 3000, maxOfflineQueue: 256,
//!   overflow: 'dropOldest' | 'dropNewest' | 'reject', keepaliveMs: 30000, pongTimeoutMs: 10000,
//!   connectTimeoutMs: 10000, refusedAfter: 3, token?: string }
//! ```
//!
//! All durations are milliseconds on the adapter's clock (`now_ms`). A duration of 0
//! disables keepalive, pong timeout, connect timeout and sync timeout respectively.

use core::fmt;
use serde::{Deserialize, Deserializer};

use crate::topic::TopicError;

/// Reconnect backoff: `initialMs * factor^n`, capped at `maxMs`, jittered by
/// `±jitter` (a fraction). See [`crate::backoff`].
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BackoffOptions {
    /// First delay, ms (> 0).
    pub initial_ms: f64,
    /// Cap, ms (>= initial_ms).
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
        if !(self.initial_ms.is_finite() && self.initial_ms > 0.0) {
            return bad("autoReconnect.initialMs", self.initial_ms, "a finite number > 0");
        }
        if !(self.max_ms.is_finite() && self.max_ms >= self.initial_ms) {
            return bad("autoReconnect.maxMs", self.max_ms, "a finite number >= initialMs");
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BridgeOptions {
    /// Patterns to subscribe to on every (re)connect, MQTT style: a `+` level is sent as
    /// the server's `*`, `#` passes through (see [`crate::topic`]).
    pub subscribe_topics: Vec<String>,
    /// Reconnect with this backoff after an unexpected close; `None` = stay
    /// disconnected. JS: `true` (defaults), `false`, or a backoff object.
    #[serde(deserialize_with = "auto_reconnect")]
    pub auto_reconnect: Option<BackoffOptions>,
    /// Seed of the jitter PRNG.
    pub seed: u64,
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
    /// Sent as `?token=` (percent-encoded) in the URL: a browser cannot set headers.
    pub token: Option<String>,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            subscribe_topics: Vec::new(),
            auto_reconnect: Some(BackoffOptions::default()),
            seed: 0x5EED,
            late_join: true,
            sync_timeout_ms: 3000.0,
            max_offline_queue: 256,
            overflow: OverflowPolicy::DropOldest,
            keepalive_ms: 30_000.0,
            pong_timeout_ms: 10_000.0,
            connect_timeout_ms: 10_000.0,
            refused_after: 3,
            token: None,
        }
    }
}

impl BridgeOptions {
    /// Checks every numeric option and the backoff.
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
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::InvalidOption {
                    field,
                    value: crate::error::fmt_f64(value),
                    want: "a finite number >= 0",
                });
            }
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

fn auto_reconnect<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BackoffOptions>, D::Error> {
    // What `#[serde(untagged)] enum { Flag(bool), Backoff(BackoffOptions) }` accepts,
    // with its error, without serde's `Content` buffering (~6 KB of wasm).
    use serde::de::{value::MapAccessDeserializer, value::SeqAccessDeserializer, Error, MapAccess, SeqAccess, Visitor};
    struct V;
    const NO_MATCH: &str = "data did not match any variant of untagged enum Either";
    impl<'de> Visitor<'de> for V {
        type Value = Option<BackoffOptions>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("untagged enum Either")
        }
        fn visit_bool<E: Error>(self, b: bool) -> Result<Self::Value, E> {
            Ok(b.then(BackoffOptions::default))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            BackoffOptions::deserialize(MapAccessDeserializer::new(map)).map(Some).map_err(|_| A::Error::custom(NO_MATCH))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            BackoffOptions::deserialize(SeqAccessDeserializer::new(seq)).map(Some).map_err(|_| A::Error::custom(NO_MATCH))
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<Self::Value, E> { Err(E::custom(NO_MATCH)) }
        fn visit_u64<E: Error>(self, _: u64) -> Result<Self::Value, E> { Err(E::custom(NO_MATCH)) }
        fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> { Err(E::custom(NO_MATCH)) }
        fn visit_str<E: Error>(self, _: &str) -> Result<Self::Value, E> { Err(E::custom(NO_MATCH)) }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> { Err(E::custom(NO_MATCH)) }
        fn visit_none<E: Error>(self) -> Result<Self::Value, E> { Err(E::custom(NO_MATCH)) }
    }
    d.deserialize_any(V)
}

/// The direction(s) a record is linked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    /// Server -> record only (default).
    #[default]
    In,
    /// Record -> server only.
    Out,
    /// Both directions (with echo suppression, see [`Bridge::write`](crate::Bridge::write)).
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordLink {
    /// The local record key, e.g. `temp.berlin`.
    pub key: String,
    /// Explicit topic; `None` = [`default_topic`](crate::topic::default_topic) of the key.
    #[serde(default)]
    pub topic: Option<String>,
    /// Direction (default `in`).
    #[serde(default)]
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
    /// The URL is not `ws://` / `wss://`, or has a fragment (the WebSocket constructor
    /// throws on both).
    InvalidUrl {
        /// What is wrong.
        reason: &'static str,
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

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl { reason } => write!(f, "invalid bridge URL: {reason}"),
            ConfigError::InvalidOption { field, value, want } => {
                write!(f, "option {field} = {value}: expected {want}")
            }
            ConfigError::InvalidPattern { pattern, error } => {
                write!(f, "subscription pattern {pattern:?} refused: {error}")
            }
            ConfigError::InvalidRecord { key, error } => {
                write!(f, "record {key:?} refused: {error}")
            }
            ConfigError::DuplicateKey { key } => write!(f, "record {key:?} is listed twice"),
            ConfigError::DuplicateTopic { topic, first, second } => write!(
                f,
                "records {first:?} and {second:?} both map to topic {topic:?}; give one an explicit topic"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_shape_with_defaults() {
        let o: BridgeOptions = serde_json::from_str("{}").unwrap();
        assert_eq!(o, BridgeOptions::default());
        assert_eq!(o.auto_reconnect, Some(BackoffOptions::default()));
        assert_eq!(o.max_offline_queue, 256);
        assert_eq!(o.keepalive_ms, 30_000.0);
        assert_eq!(o.pong_timeout_ms, 10_000.0);
        assert_eq!(o.sync_timeout_ms, 3000.0);

        let o: BridgeOptions = serde_json::from_str(
            r#"{"subscribeTopics":["a/+"],"autoReconnect":{"maxMs":1000},"overflow":"reject",
                "lateJoin":false,"token":"t","maxOfflineQueue":2}"#,
        )
        .unwrap();
        assert_eq!(o.subscribe_topics, ["a/+"]);
        assert_eq!(
            o.auto_reconnect,
            Some(BackoffOptions { max_ms: 1000.0, ..BackoffOptions::default() })
        );
        assert_eq!(o.overflow, OverflowPolicy::Reject);
        assert!(!o.late_join);
        assert_eq!(o.token.as_deref(), Some("t"));

        let o: BridgeOptions = serde_json::from_str(r#"{"autoReconnect":false}"#).unwrap();
        assert_eq!(o.auto_reconnect, None);
        let o: BridgeOptions = serde_json::from_str(r#"{"overflow":"dropNewest"}"#).unwrap();
        assert_eq!(o.overflow, OverflowPolicy::DropNewest);
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        assert!(serde_json::from_str::<BridgeOptions>(r#"{"keepAlive":1}"#).is_err());
        assert!(serde_json::from_str::<BridgeOptions>(r#"{"overflow":"drop"}"#).is_err());
    }

    #[test]
    fn records_from_js() {
        let r: Vec<RecordLink> = serde_json::from_str(
            r#"[{"key":"temp.berlin"},{"key":"cmd","topic":"commands/x","link":"out"},{"key":"b","link":"both"}]"#,
        )
        .unwrap();
        assert_eq!(r[0], RecordLink::new("temp.berlin"));
        assert_eq!(r[0].resolved_topic(), "temp/berlin");
        assert_eq!(r[1].resolved_topic(), "commands/x");
        assert_eq!(r[1].link, Link::Out);
        assert_eq!(r[2].link, Link::Both);
    }

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
}
