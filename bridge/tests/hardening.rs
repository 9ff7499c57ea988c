//! Hostile servers and hostile configuration (issue 8): backoff that only resets after
//! a link lived, late-join rounds that settle across lost links, inbound frame limits
//! and bounded error texts, counters for everything dropped, timer and URL validation,
//! records added later, and the wire format of the frames built on text.

mod common;

use aimdb_wasm_bridge::{
    Action, BackoffOptions, Bridge, BridgeError, BridgeOptions, ConfigError, Link, RecordLink,
    ClientMessage, ServerMessage, Status, WriteError, WriteOutcome,
};
use common::*;
use serde_json::json;

fn plain_backoff() -> BridgeOptions {
    BridgeOptions { auto_reconnect: Some(BackoffOptions { jitter: 0.0, ..BackoffOptions::default() }), ..quiet() }
}

/// The delay the machine waits after a loss at `s.now`.
fn next_delay(s: &Sim) -> f64 {
    s.b.next_timer_ms().unwrap() - s.now
}

// ───────────────────────────── backoff ─────────────────────────────

/// Before: every open reset the backoff, so a server that accepts and closes at once
/// got a reconnect every ~500 ms forever.
#[test]
fn a_server_that_accepts_and_closes_at_once_keeps_backing_off() {
    let mut s = Sim::new(plain_backoff(), vec![]);
    let mut conn = s.connect();
    let mut delays = Vec::new();
    for _ in 0..6 {
        s.open(conn);
        s.close(conn);
        delays.push(next_delay(&s));
        let at = s.b.next_timer_ms().unwrap();
        conn = opened_conn(&s.advance_to(at)).unwrap();
    }
    assert_eq!(delays, [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 8000.0]);
    // A link that lives (any frame arrives: here the pong of the ping sent at open)
    // starts the sequence over.
    s.open(conn);
    s.frame(conn, &ServerMessage::Pong);
    s.close(conn);
    assert_eq!(next_delay(&s), 500.0);
    assert_eq!(s.b.status(), Status::Reconnecting);
}

// ───────────────────────────── late join ─────────────────────────────

fn late_join() -> (BridgeOptions, Vec<RecordLink>) {
    let o = BridgeOptions { subscribe_topics: vec!["t/#".into()], late_join: true, sync_timeout_ms: 3000.0, ..quiet() };
    (o, vec![RecordLink::new("t.a"), RecordLink::new("t.b")])
}

/// Before: the first link dying before `syncTimeoutMs` dropped the round's timer, and
/// `synced` never settled while the server stayed away.
#[test]
fn synced_settles_when_the_first_link_dies_before_the_timeout() {
    let (o, r) = late_join();
    let mut s = Sim::new(o, r);
    let (c1, _) = s.connected();
    s.now = 100.0;
    s.frame(c1, &snapshot("t/a", json!(1)));
    s.now = 200.0;
    s.close(c1);
    // The server stays away: every retry fails before open.
    let mut all = Vec::new();
    while s.now < 3000.0 {
        let at = s.b.next_timer_ms().unwrap();
        let a = s.advance_to(at);
        if let Some(c) = opened_conn(&a) {
            all.extend(s.close(c));
        }
        all.extend(a);
    }
    assert_eq!(synced(&all), [(true, vec!["t/b".to_string()])], "t/a arrived on the first link");
    assert_eq!(s.now, 3000.0, "at connect() + syncTimeoutMs");
}

#[test]
fn synced_settles_even_if_no_link_ever_opens() {
    let (o, r) = late_join();
    let mut s = Sim::new(o, r);
    s.connect();
    let a = s.advance_to(3000.0);
    assert_eq!(synced(&a), [(true, vec!["t/a".to_string(), "t/b".to_string()])]);
    assert_eq!(s.b.next_timer_ms(), None, "nothing pending");
}

/// A round carries over a lost link: topics that produced a value are not awaited
/// again; the next open's values complete it (no timeout).
#[test]
fn a_pending_round_completes_on_the_next_link() {
    let (o, r) = late_join();
    let mut s = Sim::new(o, r);
    let (c1, _) = s.connected();
    s.frame(c1, &snapshot("t/a", json!(1)));
    s.close(c1);
    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    let a = s.open(c2);
    assert!(synced(&a).is_empty());
    let a = s.frame(c2, &snapshot("t/b", json!(2)));
    assert_eq!(synced(&a), [(false, vec![])]);
    assert!(s.b.is_synced());
    // The round is over: the next link starts a new one.
    s.close(c2);
    let at = s.b.next_timer_ms().unwrap();
    let c3 = opened_conn(&s.advance_to(at)).unwrap();
    s.open(c3);
    assert!(!s.b.is_synced());
}

// ───────────────────────────── inbound limits ─────────────────────────────

/// Before: no limit; a 20 MB frame was parsed and its text echoed in the error.
#[test]
fn frames_over_max_frame_bytes_are_dropped_unparsed_counted_and_reported() {
    let o = BridgeOptions { max_frame_bytes: 1024, pong_timeout_ms: 10_000.0, ..quiet() };
    let mut s = Sim::new(o, vec![RecordLink::new("x")]);
    let (c, _) = s.connected();
    let big = format!(r#"{{"type":"data","topic":"x","payload":"{}","ts":1}}"#, "A".repeat(2000));
    let a = s.raw(c, &big);
    assert!(deliveries(&a).is_empty());
    let e = errors(&a);
    assert_eq!(e, [BridgeError::FrameTooLarge { bytes: big.len(), limit: 1024 }]);
    assert_eq!(e[0].code(), "FRAME_TOO_LARGE");
    assert!(!e[0].to_string().contains("AAAA"), "the payload is not echoed");
    // A transport that checked the length itself reports it without the text.
    s.b.on_frame_too_large(c, 50_000_000, s.now);
    let st = s.b.stats();
    assert_eq!(st.oversized_frames, 2);
    assert_eq!(st.frames_received, 2, "they count as frames: proof of life");
    assert_eq!(s.b.next_timer_ms(), None);
    // A frame at the limit is read.
    let pad = 1024 - r#"{"type":"data","topic":"x","payload":"","ts":1}"#.len();
    let a = s.raw(c, &format!(r#"{{"type":"data","topic":"x","payload":"{}","ts":1}}"#, "B".repeat(pad)));
    assert_eq!(deliveries(&a).len(), 1);
}

/// Every error text the machine builds stays short, whatever the input.
#[test]
fn error_texts_are_bounded() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("x")]);
    let (c, _) = s.connected();
    let huge = "Z".repeat(1_000_000);
    let texts: Vec<String> = [
        format!(r#"{{"type":"{huge}"}}"#),
        format!(r#"{{"type":"data","topic":"{huge}","ts":"{huge}"}}"#),
        format!(r#"{{"type":"error","code":"{huge}","message":"m"}}"#),
        format!(r#"{{"type":"error","code":"FORBIDDEN","message":"{huge}"}}"#),
        format!("{huge} not json"),
    ]
    .iter()
    .flat_map(|f| errors(&s.raw(c, f)))
    .map(|e| e.to_string())
    .collect();
    assert_eq!(texts.len(), 5);
    for t in &texts {
        assert!(t.len() < 700, "{} bytes: {}", t.len(), &t[..200]);
    }
    s.b.reject_inbound("x", huge.clone(), s.now);
    let e = errors(&s.take()).remove(0);
    assert!(e.to_string().len() < 700);
    let w = s.b.write_json("x", &huge, s.now).unwrap_err();
    assert!(w.to_string().len() < 700);
    let long_key = "k".repeat(100_000);
    assert!(s.b.write_json(&long_key, "1", s.now).unwrap_err().to_string().len() < 700);
    let e = Bridge::new(URL, quiet(), vec![RecordLink::new(long_key.clone()), RecordLink::new(long_key)]);
    assert!(e.unwrap_err().to_string().len() < 700);
}

// ───────────────────────────── counted drops ─────────────────────────────

#[test]
fn binary_frames_unknown_topics_and_out_records_are_counted() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("i"), out("o")]);
    let (c, _) = s.connected();
    s.b.on_binary_frame(c, 12, s.now);
    let a = s.take();
    assert_eq!(errors(&a), [BridgeError::BinaryFrame { bytes: 12 }]);
    assert_eq!(errors(&a)[0].code(), "BINARY_FRAME");
    s.frame(c, &data("nobody", json!(1)));
    s.frame(c, &snapshot("nobody", json!(1)));
    s.frame(c, &data("o", json!(1)));
    let st = s.b.stats();
    assert_eq!((st.binary_frames, st.unknown_topic, st.not_inbound, st.delivered), (1, 2, 1, 0));
    // Events of an old socket are stale, not counted as frames.
    s.b.on_binary_frame(aimdb_wasm_bridge::ConnId(99), 1, s.now);
    assert_eq!(s.b.stats().binary_frames, 1);
}

// ───────────────────────────── configuration ─────────────────────────────

/// Before: `keepaliveMs: 2**32 - 1000` was accepted; the browser turned it into a
/// 0 ms timer that spun.
#[test]
fn timers_a_browser_cannot_honour_are_refused_at_construction() {
    for (o, field) in [
        (BridgeOptions { keepalive_ms: 4_294_966_296.0, ..quiet() }, "keepaliveMs"),
        (BridgeOptions { pong_timeout_ms: -1.0, ..quiet() }, "pongTimeoutMs"),
        (BridgeOptions { sync_timeout_ms: f64::NAN, ..quiet() }, "syncTimeoutMs"),
        (BridgeOptions { connect_timeout_ms: 0.25, ..quiet() }, "connectTimeoutMs"),
        (
            BridgeOptions {
                auto_reconnect: Some(BackoffOptions { max_ms: 3e9, ..BackoffOptions::default() }),
                ..quiet()
            },
            "autoReconnect.maxMs",
        ),
    ] {
        let e = Bridge::new(URL, o, vec![]).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidOption { field: f, .. } if f == field), "{e}");
        assert_eq!(e.code(), "INVALID_OPTIONS");
    }
}

/// Before: `ws://[::1` passed construction, the WebSocket constructor threw at every
/// attempt, reported as CONNECTION_REFUSED and retried forever.
#[test]
fn bad_urls_are_invalid_url_at_construction() {
    for url in ["ws://[::1", "http://x", "", "/ws", "ws/x", "ws://h:70000/", "ws://h/#f", "ws://a b/"] {
        let e = Bridge::new(url, quiet(), vec![]).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidUrl { .. }), "{url:?}: {e}");
        assert_eq!(e.code(), "INVALID_URL", "{url:?}");
    }
}

#[test]
fn an_explicit_seed_is_used_and_none_means_the_default() {
    let delays = |seed: Option<u64>| {
        let mut s = Sim::new(BridgeOptions { seed, ..quiet() }, vec![]);
        let c = s.connect();
        s.close(c);
        next_delay(&s)
    };
    assert_eq!(delays(None), delays(Some(aimdb_wasm_bridge::options::DEFAULT_SEED)));
    assert_ne!(delays(Some(1)), delays(Some(2)));
}

// ───────────────────────────── records added later ─────────────────────────────

#[test]
fn records_added_after_construction_are_linked_like_the_others() {
    let o = BridgeOptions { subscribe_topics: vec!["s/#".into()], late_join: true, sync_timeout_ms: 3000.0, ..quiet() };
    let mut s = Sim::new(o, vec![RecordLink::new("s.a")]);
    let (c, a) = s.connected();
    assert_eq!(subscribes(&a), [vec!["s/#".to_string(), "s/a".to_string()]]);
    // Added while connected and the round is pending: subscribed at once, awaited.
    s.b.add_record(RecordLink::new("s.b"), s.now).unwrap();
    assert_eq!(subscribes(&s.take()), [vec!["s/b".to_string()]]);
    assert!(synced(&s.frame(c, &snapshot("s/a", json!(1)))).is_empty(), "s/b still awaited");
    let a = s.frame(c, &snapshot("s/b", json!(2)));
    assert_eq!(s.b.record_key(deliveries(&a)[0].record), Some("s.b"));
    assert_eq!(synced(&a), [(false, vec![])]);
    // Not covered by a pattern: no subscription (as at connect); out: writable at once.
    s.b.add_record(RecordLink::new("other"), s.now).unwrap();
    s.b.add_record(out("cmd"), s.now).unwrap();
    assert!(subscribes(&s.take()).is_empty());
    assert_eq!(s.b.write("cmd", json!(1), s.now), Ok(WriteOutcome::Sent));
    // Conflicts are refused and change nothing.
    let e = s.b.add_record(RecordLink::new("s.b"), s.now).unwrap_err();
    assert!(matches!(e, ConfigError::DuplicateKey { .. }));
    let e = s.b.add_record(RecordLink::new("z").topic("s/a"), s.now).unwrap_err();
    assert!(matches!(e, ConfigError::DuplicateTopic { .. }));
    assert!(s.b.add_record(RecordLink::new("bad").topic("a/#"), s.now).is_err());
    assert_eq!(s.b.key_of("s/a"), Some("s.a"));
    // Every reconnect subscribes it again.
    s.take();
    s.close(c);
    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    let a = s.open(c2);
    assert_eq!(subscribes(&a), [vec!["s/#".to_string(), "s/a".to_string(), "s/b".to_string()]]);
}

#[test]
fn a_record_added_while_offline_is_awaited_and_subscribed_on_open() {
    let o = BridgeOptions { subscribe_topics: vec!["s/#".into()], late_join: true, sync_timeout_ms: 3000.0, ..quiet() };
    let mut s = Sim::new(o, vec![]);
    let c = s.connect();
    s.b.add_record(RecordLink::new("s.late").link(Link::Both), s.now).unwrap();
    assert!(s.take().is_empty());
    let a = s.open(c);
    assert_eq!(subscribes(&a), [vec!["s/#".to_string(), "s/late".to_string()]]);
    assert!(synced(&a).is_empty());
    let a = s.advance_to(3000.0);
    assert_eq!(synced(&a), [(true, vec!["s/late".to_string()])]);
}

// ───────────────────────────── wire format ─────────────────────────────

/// Every frame the machine writes by hand is byte for byte what `serde_json` writes for
/// the protocol crate's `ClientMessage` (payloads given compact, keys sorted, as
/// `serde_json::Value` writes them), topics with characters JSON must escape included.
#[test]
fn frames_built_on_text_equal_the_protocol_crates_serde() {
    let topics = ["cmd/a", "q\"uo\\te/\u{1}\n\t", "é/€/😀", "x\u{7f}/\u{1f}"];
    let records: Vec<RecordLink> = topics.iter().enumerate().map(|(i, t)| out(&format!("k{i}")).topic(*t)).collect();
    let o = BridgeOptions { subscribe_topics: topics.iter().map(|t| t.to_string()).collect(), ..quiet() };
    let mut s = Sim::new(o, records);
    let (c, a) = s.connected();
    let frames = |a: &[Action]| -> Vec<String> {
        a.iter().filter_map(|a| match a { Action::Send { frame, .. } => Some(frame.clone()), _ => None }).collect()
    };
    let topic_list: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
    let expect = [
        serde_json::to_string(&ClientMessage::Subscribe { topics: topic_list.clone() }).unwrap(),
        serde_json::to_string(&ClientMessage::Ping).unwrap(),
    ];
    assert_eq!(frames(&a), expect);
    for (i, t) in topics.iter().enumerate() {
        for payload in [json!({"a": [1, 2.5, null, "s\"x"], "b": {"c": true}}), json!(21.5), json!("t"), json!(null)] {
            s.b.write_json(&format!("k{i}"), &payload.to_string(), s.now).unwrap();
            let want = ClientMessage::Write { topic: t.to_string(), payload };
            assert_eq!(frames(&s.take()), [serde_json::to_string(&want).unwrap()]);
        }
    }
    // Whitespace around the payload is not copied; inside it is kept as given.
    s.b.write_json("k0", " \n{ \"a\" : 1 }\t", s.now).unwrap();
    assert_eq!(frames(&s.take()), [r#"{"type":"write","topic":"cmd/a","payload":{ "a" : 1 }}"#]);
    s.b.unsubscribe(&topic_list, s.now).unwrap();
    let want = serde_json::to_string(&ClientMessage::Unsubscribe { topics: topic_list }).unwrap();
    assert_eq!(frames(&s.take()), [want]);
    let _ = c;
}

/// `write_json` sends the caller's text as is, so it checks it is one JSON value.
#[test]
fn write_json_refuses_text_that_is_not_json() {
    let mut s = Sim::new(quiet(), vec![out("k")]);
    s.connected();
    for bad in ["", "{", "[1,]", "{\"a\":1} 2", "nul", "\"\\x\"", "01"] {
        let e = s.b.write_json("k", bad, s.now).unwrap_err();
        assert!(matches!(&e, WriteError::InvalidPayload { key, .. } if key == "k"), "{bad:?}: {e:?}");
    }
    assert!(s.take().is_empty(), "nothing sent");
    assert_eq!(s.b.stats().writes_rejected, 7);
}
