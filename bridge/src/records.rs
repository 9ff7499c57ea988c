//! The record table: key <-> topic lookups (hash maps, so 100k records stay linear),
//! conflict checks, late-join coverage, and the echo windows of `both` records.

use std::collections::VecDeque;

use crate::map::{Map, Set};
use crate::options::{ConfigError, Link, RecordLink};
use crate::topic::{self, is_exact, pattern_matches};

/// How many inbound values per `both` record are remembered for echo suppression.
pub const ECHO_WINDOW: usize = 32;

pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) topic: String,
    pub(crate) link: Link,
    /// Length of the topic as a JSON string (for frame size checks).
    pub(crate) topic_json_len: usize,
    /// Canonical JSON of values delivered from the server and applied by the caller
    /// ([`crate::Bridge::note_inbound`]), not yet matched by an outbound write (`both`).
    pub(crate) echo: VecDeque<String>,
}

/// The records, in the order added.
#[derive(Default)]
pub(crate) struct Records {
    list: Vec<Record>,
    by_key: Map<String, usize>,
    by_topic: Map<String, usize>,
}

impl Records {
    /// Checks `r` against the table: key not empty, topic valid, neither taken.
    /// Returns the resolved topic.
    pub(crate) fn check(&self, r: &RecordLink) -> Result<String, ConfigError> {
        if r.key.is_empty() {
            return Err(ConfigError::InvalidRecord { key: r.key.clone(), error: topic::TopicError::Empty });
        }
        let topic = r.resolved_topic();
        topic::validate_topic(&topic).map_err(|error| ConfigError::InvalidRecord { key: r.key.clone(), error })?;
        if self.by_key.contains_key(&r.key) {
            return Err(ConfigError::DuplicateKey { key: r.key.clone() });
        }
        if let Some(&first) = self.by_topic.get(&topic) {
            return Err(ConfigError::DuplicateTopic {
                topic,
                first: self.list[first].key.clone(),
                second: r.key.clone(),
            });
        }
        Ok(topic)
    }

    /// Adds `r` after [`check`](Self::check); returns its index.
    pub(crate) fn add(&mut self, r: RecordLink) -> Result<usize, ConfigError> {
        let topic = self.check(&r)?;
        let i = self.list.len();
        let topic_json_len = json_string_len(&topic);
        self.by_key.insert(r.key.clone(), i);
        self.by_topic.insert(topic.clone(), i);
        self.list.push(Record { key: r.key, topic, link: r.link, topic_json_len, echo: VecDeque::new() });
        Ok(i)
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn by_key(&self, key: &str) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn by_topic(&self, topic: &str) -> Option<usize> {
        self.by_topic.get(topic).copied()
    }

    pub(crate) fn get(&self, i: usize) -> &Record {
        &self.list[i]
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> &mut Record {
        &mut self.list[i]
    }

    /// The exact topics of the inbound records that `patterns` (server syntax) cover,
    /// in record order. Exact patterns are looked up, wildcard ones matched: O(records
    /// x wildcard patterns).
    pub(crate) fn covered_inbound<'a>(&'a self, patterns: &'a Patterns) -> impl Iterator<Item = &'a str> + 'a {
        self.list.iter().filter(|r| r.link.is_inbound() && patterns.covers(&r.topic)).map(|r| r.topic.as_str())
    }
}

/// Subscription patterns in server syntax, in the order added, with the exact ones
/// also in a set (coverage of an exact topic by an exact pattern is a lookup).
#[derive(Default)]
pub(crate) struct Patterns {
    list: Vec<String>,
    exact: Set<String>,
    wildcard: Vec<String>,
}

impl Patterns {
    pub(crate) fn as_slice(&self) -> &[String] {
        &self.list
    }

    pub(crate) fn contains(&self, p: &str) -> bool {
        if is_exact(p) {
            self.exact.contains(p)
        } else {
            self.wildcard.iter().any(|w| w == p)
        }
    }

    /// Adds `p` unless present; whether it was new.
    pub(crate) fn insert(&mut self, p: String) -> bool {
        if self.contains(&p) {
            return false;
        }
        if is_exact(&p) {
            self.exact.insert(p.clone());
        } else {
            self.wildcard.push(p.clone());
        }
        self.list.push(p);
        true
    }

    /// Removes every pattern in `gone`.
    pub(crate) fn remove_all(&mut self, gone: &[String]) {
        let gone: Set<&str> = gone.iter().map(String::as_str).collect();
        self.list.retain(|p| !gone.contains(p.as_str()));
        self.exact.retain(|p| !gone.contains(p.as_str()));
        self.wildcard.retain(|p| !gone.contains(p.as_str()));
    }

    /// Whether some pattern matches the exact `topic`.
    pub(crate) fn covers(&self, topic: &str) -> bool {
        self.exact.contains(topic) || self.wildcard.iter().any(|p| pattern_matches(p, topic))
    }
}

/// The length of `s` encoded as a JSON string by `serde_json` (quotes and escapes
/// included), without encoding it.
pub(crate) fn json_string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_string_len_matches_serde_json() {
        for s in ["", "a/b", "q\"uote\\", "\n\r\t\u{8}\u{c}\u{1}\u{1f}", "é€😀", "\u{7f}"] {
            assert_eq!(json_string_len(s), serde_json::to_string(s).unwrap().len(), "{s:?}");
        }
    }

    #[test]
    fn coverage_by_exact_and_wildcard_patterns() {
        let mut p = Patterns::default();
        assert!(p.insert("a/b".into()));
        assert!(!p.insert("a/b".into()));
        assert!(p.insert("c/*".into()));
        assert!(p.covers("a/b") && p.covers("c/x") && !p.covers("a/c") && !p.covers("c/x/y"));
        p.remove_all(&["a/b".into()]);
        assert!(!p.covers("a/b"));
        assert_eq!(p.as_slice(), ["c/*"]);
    }
}
