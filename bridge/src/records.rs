//! The record table: key <-> topic lookups (hash maps, so 100k records stay linear),
//! conflict checks, late-join coverage, and each record's `write` frame prefix.

use crate::map::{Map, Set};
use crate::options::{ConfigError, Link, RecordLink};
use crate::topic::{self, is_exact, pattern_matches};

pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) topic: String,
    pub(crate) link: Link,
    /// `{"type":"write","topic":"<topic>","payload":`: a write frame is this, the
    /// payload's JSON and `}` (what `serde_json` writes for the protocol's
    /// `ClientMessage::Write`).
    pub(crate) write_prefix: String,
    /// The socket on which live `data` for this record arrived last: a later
    /// `snapshot` on the same socket is stale. 0: none (socket ids start at 1).
    pub(crate) data_conn: u64,
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
        let mut write_prefix = String::from(r#"{"type":"write","topic":"#);
        crate::json::push_str(&mut write_prefix, &topic);
        write_prefix.push_str(r#","payload":"#);
        self.by_key.insert(r.key.clone(), i);
        self.by_topic.insert(topic.clone(), i);
        self.list.push(Record { key: r.key, topic, link: r.link, write_prefix, data_conn: 0 });
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

    /// The records' topics, in the order added.
    pub(crate) fn topics(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|r| r.topic.as_str())
    }

    pub(crate) fn try_get(&self, i: usize) -> Option<&Record> {
        self.list.get(i)
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

#[cfg(test)]
mod tests {
    use super::*;

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
