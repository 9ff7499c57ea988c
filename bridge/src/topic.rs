//! Topics, patterns and the record key <-> topic mapping.
//!
//! # What the server does (PROTOCOL.md)
//! - Levels are separated by `/` only; `.` is an ordinary character.
//! - `#` is a multi-level wildcard: any number of levels, **including zero** (`a/#`
//!   matches `a`).
//! - `*` is a single-level wildcard: exactly one level.
//! - `+` is a **literal** on this server: a pattern with `+` is acknowledged and matches
//!   nothing. Clients used to MQTT write `+`, so [`translate_pattern`] turns every level
//!   that is exactly `+` into `*` before it goes on the wire. A `+` inside a level
//!   (`a+b`) stays a literal character, as does a `*` or `#` inside a level.
//!
//! [`pattern_matches`] reproduces the server's matcher for patterns that
//! [`translate_pattern`] accepts (a differential test checks it against
//! `aimdb_ws_protocol::topic_matches`, which the server uses). The bridge needs it to know
//! which record topics a pattern covers (late join).
//!
//! # Record keys and topics
//! By default a record key `a.b.c` maps to the topic `a/b/c` ([`default_topic`]) and
//! back ([`default_key`]). A record may override its topic; inbound frames are routed
//! by the bridge's topic table, so an override works in both directions.

use core::fmt;

use crate::error::Quoted;

/// The longest pattern or record topic accepted, in UTF-8 bytes (64 KiB): every
/// topic then fits in a frame under the server's 16 MiB limit, and `subscribe` frames
/// can be split between topics.
pub const MAX_TOPIC_BYTES: usize = 64 * 1024;

/// Why a subscription pattern or a record topic was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicError {
    /// The pattern or topic is the empty string.
    Empty,
    /// A `#` level that is not the last level (`a/#/b`): the server would treat
    /// everything after it as matched, which is almost certainly not what was meant.
    HashNotLast {
        /// The pattern as given.
        pattern: String,
    },
    /// A record topic containing a wildcard level (`#`, `*` or `+`): a record maps to
    /// one exact topic.
    WildcardInTopic {
        /// The topic as given.
        topic: String,
    },
    /// Longer than [`MAX_TOPIC_BYTES`].
    TooLong {
        /// Its length in bytes.
        bytes: usize,
    },
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicError::Empty => f.write_str("empty topic or pattern"),
            TopicError::HashNotLast { pattern } => write!(
                f,
                "pattern {}: '#' must be the last level (it matches all remaining levels)",
                Quoted(pattern)
            ),
            TopicError::WildcardInTopic { topic } => write!(
                f,
                "topic {}: a record topic must be exact (no '#', '*' or '+' level)",
                Quoted(topic)
            ),
            TopicError::TooLong { bytes } => {
                write!(f, "{bytes} bytes long; at most {MAX_TOPIC_BYTES} bytes are accepted")
            }
        }
    }
}

impl std::error::Error for TopicError {}

/// Turns an MQTT-style pattern into the server's syntax: every level that is exactly
/// `+` becomes `*`; `#` and `*` pass through. Refuses the empty pattern, one longer
/// than [`MAX_TOPIC_BYTES`] and a `#` that is not the last level.
///
/// ```
/// use aimdb_wasm_bridge::topic::translate_pattern;
/// assert_eq!(translate_pattern("sensors/+/vienna").unwrap(), "sensors/*/vienna");
/// assert_eq!(translate_pattern("sensors/#").unwrap(), "sensors/#");
/// assert_eq!(translate_pattern("a+b/c").unwrap(), "a+b/c"); // literal inside a level
/// assert!(translate_pattern("a/#/b").is_err());
/// ```
pub fn translate_pattern(pattern: &str) -> Result<String, TopicError> {
    if pattern.is_empty() {
        return Err(TopicError::Empty);
    }
    if pattern.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong { bytes: pattern.len() });
    }
    let levels: Vec<&str> = pattern.split('/').collect();
    let last = levels.len() - 1;
    let mut out = String::with_capacity(pattern.len());
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        match *level {
            "#" if i != last => {
                return Err(TopicError::HashNotLast { pattern: pattern.to_owned() })
            }
            "+" => out.push('*'),
            other => out.push_str(other),
        }
    }
    Ok(out)
}

/// Checks a record's exact topic: not empty, at most [`MAX_TOPIC_BYTES`], and no level
/// that is a wildcard (`#`, `*`) or the MQTT wildcard `+`.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong { bytes: topic.len() });
    }
    if topic.split('/').any(|l| matches!(l, "#" | "*" | "+")) {
        return Err(TopicError::WildcardInTopic { topic: topic.to_owned() });
    }
    Ok(())
}

/// Whether the server-syntax `pattern` matches the exact `topic`.
///
/// `#` matches the remaining levels, zero or more (`a/#` matches `a`, `a/b`, `a/b/c`;
/// `#` matches everything); `*` matches exactly one level; every other level matches
/// itself literally (including `+`, which the server does not treat as a wildcard).
pub fn pattern_matches(pattern: &str, topic: &str) -> bool {
    let mut p = pattern.split('/');
    let mut t = topic.split('/');
    loop {
        match (p.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("*"), Some(_)) => {}
            (Some(pl), Some(tl)) if pl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether a server-syntax pattern contains a wildcard level (`#` or `*`). The server
/// sends late-join snapshots only for subscriptions without one.
pub fn is_exact(pattern: &str) -> bool {
    !pattern.split('/').any(|l| l == "#" || l == "*")
}

/// The default topic of a record key: `a.b.c` -> `a/b/c`.
pub fn default_topic(key: &str) -> String {
    key.replace('.', "/")
}

/// The default record key of a topic: `a/b/c` -> `a.b.c` (inverse of [`default_topic`]
/// for keys without `/`).
pub fn default_key(topic: &str) -> String {
    topic.replace('/', ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_levels_become_star_and_others_pass_through() {
        assert_eq!(translate_pattern("+").unwrap(), "*");
        assert_eq!(translate_pattern("+/+/x").unwrap(), "*/*/x");
        assert_eq!(translate_pattern("sensors/+/vienna").unwrap(), "sensors/*/vienna");
        assert_eq!(translate_pattern("sensors/#").unwrap(), "sensors/#");
        assert_eq!(translate_pattern("#").unwrap(), "#");
        assert_eq!(translate_pattern("a/*/c").unwrap(), "a/*/c");
        // `+` inside a level is a literal character, on the wire and in matching.
        assert_eq!(translate_pattern("a+b/c+").unwrap(), "a+b/c+");
        assert!(pattern_matches("a+b/c+", "a+b/c+"));
        assert!(!pattern_matches("a+b/c+", "axb/c"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(translate_pattern(""), Err(TopicError::Empty));
        assert_eq!(
            translate_pattern("a/#/b"),
            Err(TopicError::HashNotLast { pattern: "a/#/b".into() })
        );
        assert!(translate_pattern("#/a").is_err());
        let msg = translate_pattern("a/#/b").unwrap_err().to_string();
        assert!(msg.contains("a/#/b") && msg.contains("last level"), "{msg}");
    }

    #[test]
    fn hash_matches_zero_or_more_levels() {
        assert!(pattern_matches("a/#", "a"));
        assert!(pattern_matches("a/#", "a/b"));
        assert!(pattern_matches("a/#", "a/b/c"));
        assert!(!pattern_matches("a/#", "ab"));
        assert!(!pattern_matches("a/#", "b/a"));
        assert!(pattern_matches("#", "x"));
        assert!(pattern_matches("#", "x/y/z"));
        assert!(pattern_matches("a/*/#", "a/b"));
        assert!(!pattern_matches("a/*/#", "a"));
    }

    #[test]
    fn star_matches_exactly_one_level() {
        assert!(pattern_matches("a/*/c", "a/b/c"));
        assert!(!pattern_matches("a/*/c", "a/c"));
        assert!(!pattern_matches("a/*/c", "a/b/x/c"));
        assert!(pattern_matches("*", "a"));
        assert!(!pattern_matches("*", "a/b"));
        assert!(pattern_matches("a/*", "a/")); // an empty level is a level
    }

    #[test]
    fn untranslated_plus_and_dots_are_literals() {
        // The raw MQTT `+` is not a wildcard on this server.
        assert!(!pattern_matches("a/+/c", "a/b/c"));
        assert!(pattern_matches("a/+/c", "a/+/c"));
        // `.` is not a separator.
        assert!(!pattern_matches("temp/*", "temp.berlin"));
        assert!(pattern_matches("*", "temp.berlin"));
    }

    /// Our matcher must agree with the one the server runs, for every pattern that
    /// `translate_pattern` lets through.
    #[test]
    fn matcher_agrees_with_the_server_crate() {
        let levels = ["a", "b", "c", "*", "#", "+", "", "a.b"];
        let mut patterns = Vec::new();
        for x in levels {
            patterns.push(x.to_string());
            for y in levels {
                patterns.push(format!("{x}/{y}"));
                for z in levels {
                    patterns.push(format!("{x}/{y}/{z}"));
                }
            }
        }
        let topic_levels = ["a", "b", "c", "+", "", "a.b"];
        let mut topics = Vec::new();
        for x in topic_levels {
            topics.push(x.to_string());
            for y in topic_levels {
                topics.push(format!("{x}/{y}"));
                for z in topic_levels {
                    topics.push(format!("{x}/{y}/{z}"));
                }
            }
        }
        let mut checked = 0;
        for p in &patterns {
            let Ok(p) = translate_pattern(p) else { continue };
            for t in &topics {
                assert_eq!(
                    pattern_matches(&p, t),
                    aimdb_ws_protocol::topic_matches(&p, t),
                    "pattern {p:?} topic {t:?}"
                );
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn exactness() {
        assert!(is_exact("a/b/c"));
        assert!(is_exact("a+b/c"));
        assert!(is_exact("a/+/c")); // literal on this server
        assert!(!is_exact("a/*/c"));
        assert!(!is_exact("a/#"));
    }

    #[test]
    fn default_mapping_round_trips() {
        assert_eq!(default_topic("a.b.c"), "a/b/c");
        assert_eq!(default_key("a/b/c"), "a.b.c");
        assert_eq!(default_key(&default_topic("temp.berlin")), "temp.berlin");
        assert_eq!(default_topic("plain"), "plain");
    }

    #[test]
    fn overlong_topics_and_patterns_are_refused_with_a_short_text() {
        let long = "a".repeat(MAX_TOPIC_BYTES + 1);
        assert_eq!(validate_topic(&long), Err(TopicError::TooLong { bytes: MAX_TOPIC_BYTES + 1 }));
        assert_eq!(translate_pattern(&long), Err(TopicError::TooLong { bytes: MAX_TOPIC_BYTES + 1 }));
        assert!(validate_topic(&long[1..]).is_ok());
        let e = TopicError::WildcardInTopic { topic: format!("{}/#", &long[..60_000]) }.to_string();
        assert!(e.len() < 400, "{e}");
    }

    #[test]
    fn record_topics_must_be_exact() {
        assert!(validate_topic("a/b").is_ok());
        assert!(validate_topic("a+b").is_ok());
        assert_eq!(validate_topic(""), Err(TopicError::Empty));
        for t in ["a/#", "*/b", "a/+/c", "#"] {
            assert!(matches!(validate_topic(t), Err(TopicError::WildcardInTopic { .. })), "{t}");
        }
    }
}
