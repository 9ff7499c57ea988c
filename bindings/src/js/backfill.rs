//! `configureRecord(key, { buffer: 'SpmcRing', backfill: n })`: on every open link the
//! bridge asks the server's query handler for the topic's last n values; until the
//! answer comes (or the link is lost, or the server answers with an error), the record's
//! deliveries are held here, in order, at most the ring's capacity (the oldest held value
//! goes first; counted). The answer's values older than the first held live value (all
//! of them if none is held) go first, in `ts` order, then the held values. Plain Rust:
//! `RawBridge` (bridge.rs) drives it.

use std::collections::VecDeque;

/// One record waiting for its history.
#[derive(Debug)]
pub(super) struct Hold {
    /// The bridge's record number.
    pub record: usize,
    /// The `query` frame's id.
    pub id: String,
    capacity: usize,
    /// Held deliveries: payload text and the `data` frame's `ts` (`None`: a snapshot).
    held: VecDeque<(String, Option<u64>)>,
    /// Held values given up because `capacity` were held.
    pub dropped: u64,
}

/// What a hold releases, in the order to apply it.
#[derive(Debug, PartialEq)]
pub(super) struct Release {
    /// History payloads, oldest first.
    pub history: Vec<String>,
    /// Then the held live payloads, in arrival order.
    pub held: Vec<String>,
    /// Held values dropped (the ring's capacity was held).
    pub dropped: u64,
}

impl Hold {
    pub fn new(record: usize, id: String, capacity: usize) -> Hold {
        Hold { record, id, capacity: capacity.max(1), held: VecDeque::new(), dropped: 0 }
    }

    /// Holds a delivery; the oldest held one is dropped (and counted) when full.
    pub fn push(&mut self, payload: String, ts: Option<u64>) {
        if self.held.len() >= self.capacity {
            self.held.pop_front();
            self.dropped += 1;
        }
        self.held.push_back((payload, ts));
    }

    /// Ends the hold with the answer's values of this record's topic (`(payload, ts)`;
    /// empty when the link was lost or the server refused the query). History values
    /// not older than the first held live value are left out (the live ones carry them),
    /// and so is a history value equal (as JSON) to that first live value: the same
    /// value, which a server may stamp in its history before it stamps the `data` frame.
    /// A held late-join snapshot (the server's latest value, which its history holds
    /// too) is left out when the history brought values.
    pub fn release(self, mut history: Vec<(String, u64)>) -> Release {
        let first_live = self.held.iter().find_map(|(p, ts)| ts.map(|t| (p, t)));
        if let Some((payload, cut)) = first_live {
            // The crate's one JSON model (objects sorted by key: key order does not matter).
            let same = crate::json::parse(payload).ok();
            history.retain(|(p, ts)| *ts < cut && !(same.is_some() && crate::json::parse(p).ok() == same));
        }
        let history = crate::json::merge_sort_by(history, &|a: &(String, u64), b: &(String, u64)| a.1 < b.1);
        let had_history = !history.is_empty();
        let held = self.held.into_iter().filter(|(_, ts)| !(had_history && ts.is_none())).map(|(p, _)| p).collect();
        Release { history: history.into_iter().map(|(p, _)| p).collect(), held, dropped: self.dropped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_owned()
    }

    #[test]
    fn history_older_than_the_first_live_value_goes_first_in_ts_order() {
        let mut h = Hold::new(0, s("b1"), 8);
        h.push(s("snap"), None);
        h.push(s("L5"), Some(5));
        h.push(s("L6"), Some(6));
        let r = h.release(vec![(s("H4"), 4), (s("H2"), 2), (s("H5"), 5), (s("H3"), 3)]);
        assert_eq!(r, Release { history: vec![s("H2"), s("H3"), s("H4")], held: vec![s("L5"), s("L6")], dropped: 0 });
        // The first live value, stamped earlier in the history: not pushed twice.
        let mut h = Hold::new(0, s("b1"), 8);
        h.push(s(r#"{"t":5,"c":1}"#), Some(6));
        let r = h.release(vec![(s(r#"{"c":0,"t":4}"#), 4), (s(r#"{"c":1,"t":5}"#), 5)]);
        assert_eq!(r.history, vec![s(r#"{"c":0,"t":4}"#)]);
    }

    #[test]
    fn without_history_the_held_values_are_kept_and_overflow_is_counted() {
        let mut h = Hold::new(0, s("b1"), 2);
        h.push(s("snap"), None);
        h.push(s("L1"), Some(1));
        h.push(s("L2"), Some(2));
        let r = h.release(Vec::new());
        assert_eq!(r, Release { history: vec![], held: vec![s("L1"), s("L2")], dropped: 1 });
        let mut h = Hold::new(0, s("b1"), 4);
        h.push(s("snap"), None);
        assert_eq!(h.release(Vec::new()).held, vec![s("snap")]);
        // No live value held: all history, in ts order.
        let r = Hold::new(0, s("b1"), 4).release(vec![(s("H9"), 9), (s("H1"), 1)]);
        assert_eq!(r.history, vec![s("H1"), s("H9")]);
    }

    #[test]
    fn history_of_equal_ts_keeps_the_server_order() {
        let h = |v: &[(&str, u64)]| v.iter().map(|(p, t)| (s(p), *t)).collect::<Vec<_>>();
        let r = Hold::new(0, s("b1"), 4).release(h(&[("a3", 3), ("b1", 1), ("c3", 3), ("d1", 1), ("e2", 2)]));
        assert_eq!(r.history, vec![s("b1"), s("d1"), s("e2"), s("a3"), s("c3")]);
    }
}
