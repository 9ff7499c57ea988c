//! Late-join rounds: which exact topics still owe a first value, and when to give up.
//!
//! A round starts at `connect()` and at each open after the previous round ended; it
//! ends when every awaited topic produced a value (or was refused), or at its deadline.
//! The deadline is not tied to a socket: it keeps running across lost links and failed
//! attempts, so the first round (the JS `synced` promise) always settles within
//! `syncTimeoutMs` of `connect()`.

use crate::map::Set;

#[derive(Default)]
pub(crate) struct SyncRound {
    pending: bool,
    awaited: Set<String>,
    /// Awaited topics whose subscription the server refused (`FORBIDDEN`).
    denied: Set<String>,
    deadline: Option<f64>,
}

impl SyncRound {
    /// Starts a new round awaiting `topics`; `timeout_ms` 0 = no deadline.
    pub(crate) fn start(&mut self, topics: impl Iterator<Item = String>, now_ms: f64, timeout_ms: f64) {
        self.pending = true;
        self.awaited = topics.collect();
        self.denied.clear();
        self.deadline = (timeout_ms > 0.0).then_some(now_ms + timeout_ms);
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.pending
    }

    /// The deadline of the pending round, if any.
    pub(crate) fn deadline(&self) -> Option<f64> {
        self.deadline.filter(|_| self.pending)
    }

    pub(crate) fn is_awaited(&self, topic: &str) -> bool {
        self.pending && self.awaited.contains(topic)
    }

    /// A topic joins the pending round (a pattern or record added meanwhile).
    pub(crate) fn await_topic(&mut self, topic: &str) {
        if self.pending && !self.awaited.contains(topic) {
            self.awaited.insert(topic.to_owned());
        }
    }

    /// A topic is no longer wanted (its pattern was removed).
    pub(crate) fn unawait(&mut self, topic: &str) {
        self.awaited.remove(topic);
    }

    /// A value arrived for `topic`: whether it was awaited.
    pub(crate) fn got(&mut self, topic: &str) -> bool {
        self.pending && self.awaited.remove(topic)
    }

    /// The server refused `topic`: no value will come; it stays listed as missing.
    pub(crate) fn deny(&mut self, topic: &str) -> bool {
        if self.got(topic) {
            self.denied.insert(topic.to_owned());
            return true;
        }
        false
    }

    /// Pending with nothing left to wait for.
    pub(crate) fn is_complete(&self) -> bool {
        self.pending && self.awaited.is_empty()
    }

    /// Ends the round: the topics that sent nothing (refused or still awaited), in the
    /// order of `record_topics` (every awaited topic is a record's topic).
    pub(crate) fn finish<'a>(&mut self, record_topics: impl Iterator<Item = &'a str>) -> Vec<String> {
        self.pending = false;
        self.deadline = None;
        let denied = core::mem::take(&mut self.denied);
        let awaited = core::mem::take(&mut self.awaited);
        record_topics.filter(|t| awaited.contains(*t) || denied.contains(*t)).map(str::to_owned).collect()
    }
}
