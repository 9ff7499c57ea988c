//! `on_parsed_data` (a transport's fast path for `data` frames whose payload it parsed
//! itself) against `on_frame` with the frame's text: the same bookkeeping, event for
//! event. Two machines with the same records and options get the same events; one takes
//! every `data` frame for a known topic the fast way, the other every frame as text.

mod common;

use aimdb_wasm_bridge::{Action, BridgeOptions, ConnId, Delivery, Link, RecordLink, ServerMessage};
use common::*;
use serde_json::json;

/// One event for both machines.
enum Ev {
    Connect,
    Open,
    Close,
    Frame(ServerMessage),
    /// A frame on a socket that is no longer the current one.
    Stale(ServerMessage),
}

/// Which actions each machine queued, with `Deliver` as (record, snapshot): the
/// fast one delivers what it parsed itself, which is recorded where the text one
/// queues its `Deliver` (before the actions the frame queued after it).
fn run(opts: BridgeOptions, records: Vec<RecordLink>, events: &[Ev]) {
    let mut text = Sim::new(opts.clone(), records.clone());
    let mut fast = Sim::new(opts, records);
    let mut conn = ConnId(0);
    let mut old = ConnId(0);
    let mut took_fast = 0;
    for (n, ev) in events.iter().enumerate() {
        let (a, b): (Vec<Action>, Vec<Action>) = match ev {
            Ev::Connect => {
                text.b.connect(0.0);
                fast.b.connect(0.0);
                (text.take(), fast.take())
            }
            Ev::Open => {
                old = conn;
                conn = fast.b.current_conn().expect("opening");
                (text.open(conn), fast.open(conn))
            }
            Ev::Close => (text.close(conn), fast.close(conn)),
            Ev::Frame(m) | Ev::Stale(m) => {
                let c = if matches!(ev, Ev::Stale(_)) { old } else { conn };
                let a = text.frame(c, m);
                let b = match m {
                    ServerMessage::Data { topic, .. } if fast.b.record_of_topic(topic).is_some() => {
                        took_fast += 1;
                        let i = fast.b.record_of_topic(topic).unwrap();
                        let mut b = Vec::new();
                        if fast.b.on_parsed_data(c, i, 0.0) {
                            b.push(Action::Deliver(Delivery { record: i, payload: String::new(), snapshot: false, ts: None }));
                        }
                        b.extend(fast.take());
                        b
                    }
                    _ => fast.frame(c, m),
                };
                (a, b)
            }
        };
        let plain = |v: Vec<Action>| -> Vec<Action> {
            v.into_iter()
                .map(|x| match x {
                    Action::Deliver(d) => Action::Deliver(Delivery { payload: String::new(), ts: None, ..d }),
                    x => x,
                })
                .collect()
        };
        assert_eq!(plain(a), plain(b), "event {n}");
        assert_eq!(text.b.stats(), fast.b.stats(), "event {n}");
    }
    assert!(took_fast >= 4, "{took_fast}");
}

fn records() -> Vec<RecordLink> {
    vec![
        RecordLink::new("sensors.temp"),
        RecordLink::new("sensors.hum").link(Link::Both),
        out("sensors.cmd"),
        RecordLink::new("other.thing"),
    ]
}

#[test]
fn parsed_data_frames_are_counted_routed_and_delivered_as_text_ones() {
    let v = json!({"celsius": 21.5, "timestamp": 1});
    run(
        quiet(),
        records(),
        &[
            Ev::Connect,
            Ev::Open,
            Ev::Frame(data("sensors/temp", v.clone())),
            Ev::Frame(data("sensors/hum", v.clone())),
            // An out-only record: counted as not inbound, not delivered.
            Ev::Frame(data("sensors/cmd", v.clone())),
            // Unknown topic: the text way only (no record number), counted.
            Ev::Frame(data("nobody/here", v.clone())),
            // A snapshot after live data on the same socket is stale.
            Ev::Frame(snapshot("sensors/temp", v.clone())),
            Ev::Frame(snapshot("other/thing", v.clone())),
            Ev::Frame(data("other/thing", v.clone())),
            Ev::Frame(snapshot("other/thing", v.clone())),
            Ev::Frame(ServerMessage::Pong),
            Ev::Close,
            Ev::Connect,
            Ev::Open,
            // A frame of the closed socket: a stale event, nothing else.
            Ev::Stale(data("sensors/temp", v.clone())),
            Ev::Frame(data("sensors/temp", v.clone())),
        ],
    );
}

#[test]
fn a_parsed_data_frame_counts_for_late_join_and_synced_follows_its_value() {
    let opts = BridgeOptions { subscribe_topics: vec!["sensors/#".into()], late_join: true, sync_timeout_ms: 3000.0, ..quiet() };
    let v = json!({"celsius": 21.5, "timestamp": 1});
    run(
        opts,
        records(),
        &[
            Ev::Connect,
            Ev::Open,
            Ev::Frame(data("sensors/temp", v.clone())),
            Ev::Frame(data("sensors/cmd", v.clone())),
            // The last awaited topic: Synced after the delivery.
            Ev::Frame(data("sensors/hum", v.clone())),
            Ev::Frame(data("sensors/hum", v.clone())),
            Ev::Frame(data("sensors/temp", v.clone())),
        ],
    );
    // And the fast machine alone: the frame that completes the round queues Synced.
    let mut s = Sim::new(
        BridgeOptions { subscribe_topics: vec!["sensors/#".into()], late_join: true, sync_timeout_ms: 3000.0, ..quiet() },
        records(),
    );
    let (c, _) = s.connected();
    assert!(s.b.on_parsed_data(c, 0, 0.0));
    assert!(synced(&s.take()).is_empty());
    assert!(s.b.on_parsed_data(c, 1, 0.0));
    assert_eq!(synced(&s.take()), [(false, vec![])]);
    assert!(s.b.is_synced());
}

#[test]
fn record_numbers_stay_with_their_topic_as_records_are_added() {
    let mut s = Sim::new(quiet(), records());
    assert_eq!(s.b.record_of_topic("sensors/hum"), Some(1));
    assert_eq!(s.b.record_of_topic("late/one"), None);
    let i = s.b.add_record(RecordLink::new("late.one"), 0.0).unwrap();
    assert_eq!(s.b.record_of_topic("late/one"), Some(i));
    assert_eq!(s.b.record_of_topic("sensors/hum"), Some(1));
    // A number the machine does not have: counted as an unknown topic, not delivered.
    let (c, _) = s.connected();
    assert!(!s.b.on_parsed_data(c, 99, 0.0));
    assert_eq!(s.b.stats().unknown_topic, 1);
    assert_eq!(s.b.stats().frames_received, 1);
}
