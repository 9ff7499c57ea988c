//! Write delivery: writes handed to a socket stay unconfirmed until a `pong` proves the
//! server read them, and are re-sent after a reconnect when the link dies first
//! (at-least-once); the pre-apply check (`check_write`); frames under the server's limit.
//! The test plays the server: it decides which sent frames the server "read".

mod common;

use aimdb_wasm_bridge::{
    Action, BridgeError, BridgeOptions, ClientMessage, DropReason, OverflowPolicy, RecordLink, ServerMessage,
    Status, WriteError, WriteOutcome, CONFIRM_PINGS, MAX_FRAME_BYTES,
};
use common::*;
use serde_json::{json, Value};

fn payloads(actions: &[Action]) -> Vec<Value> {
    writes(actions).into_iter().map(|(_, p)| p).collect()
}

/// A link that detects silence: pong timeout 10 s, no keepalive pings.
fn watched() -> BridgeOptions {
    BridgeOptions { pong_timeout_ms: 10_000.0, ..quiet() }
}

/// Issue scenario (a): 200 offline writes, the socket dies after the server read 10.
/// Before: `sent` said 200 and 190 were lost. Now all 200 arrive (the 10 the server
/// read may arrive twice: the at-least-once window).
#[test]
fn offline_writes_survive_a_socket_that_dies_mid_flush() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    for i in 0..200 {
        assert_eq!(s.b.write("cmd", json!(i), s.now), Ok(WriteOutcome::Queued));
    }
    let (c1, a) = s.connected();
    let first = payloads(&a);
    assert_eq!(first.len(), 200);
    let mut server_got: Vec<Value> = first[..10].to_vec(); // then the link dies
    assert_eq!(s.b.unconfirmed_len(), 200);
    let a = s.close(c1);
    assert_eq!(errors(&a), [BridgeError::ConnectionLost]);
    assert!(dropped(&a).is_empty());
    assert_eq!(s.b.queue_len(), 200, "all unconfirmed writes are back in the queue");

    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    let a = s.open(c2);
    let again = payloads(&a);
    assert_eq!(again, (0..200).map(|i| json!(i)).collect::<Vec<_>>(), "re-sent in FIFO order");
    assert_eq!(sent(&a).last(), Some(&ClientMessage::Ping), "a ping after the flush confirms it");
    server_got.extend(again);
    s.pong(c2);
    let st = s.b.stats();
    assert_eq!((st.writes_sent, st.writes_resent, st.writes_confirmed, st.unconfirmed), (400, 200, 200, 0));
    assert_eq!(st.writes_dropped, 0);
    for i in 0..200 {
        assert!(server_got.contains(&json!(i)), "write {i} never reached the server");
    }
}

/// Issue scenario (b): the server stops reading; 50 writes while still connected, then
/// the pong timeout. Before: none re-sent. Now all 50 are re-sent after reconnect.
#[test]
fn writes_to_a_server_that_stopped_reading_are_resent_after_the_pong_timeout() {
    let mut s = Sim::new(watched(), vec![out("cmd")]);
    let (c1, _) = s.connected();
    s.pong(c1); // the link lived
    s.now = 1000.0;
    for i in 0..50 {
        assert_eq!(s.b.write("cmd", json!(i), s.now), Ok(WriteOutcome::Sent));
    }
    assert_eq!(s.b.status(), Status::Connected);
    // One confirm ping for the whole burst, at the next timer ("after this turn").
    assert_eq!(s.b.next_timer_ms(), Some(1000.0));
    let a = s.advance_to(1000.0);
    assert_eq!(pings(&a), 1);
    // The server answers nothing.
    let a = s.advance_to(11_000.0);
    assert!(a.contains(&Action::Close { conn: c1 }));
    assert_eq!(errors(&a), [BridgeError::PongTimeout { waited_ms: 10_000.0 }]);
    assert_eq!(s.b.queue_len(), 50);
    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    let a = s.open(c2);
    assert_eq!(payloads(&a), (0..50).map(|i| json!(i)).collect::<Vec<_>>());
    s.pong(c2);
    assert_eq!(s.b.stats().writes_confirmed, 50);
    assert_eq!(s.b.stats().writes_resent, 50);
}

/// Issue scenario (c): a server that accepts each socket and destroys it at once.
/// Before: everything counted as sent, nothing received. Now the writes wait in the
/// queue across every such socket and arrive once a socket lives.
#[test]
fn accept_then_destroy_loses_no_write() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    for i in 0..20 {
        s.b.write("cmd", json!(i), s.now).unwrap();
    }
    let mut conn = s.connect();
    for _ in 0..5 {
        let a = s.open(conn);
        assert_eq!(payloads(&a).len(), 20);
        s.close(conn);
        assert_eq!(s.b.queue_len(), 20);
        let at = s.b.next_timer_ms().unwrap();
        conn = opened_conn(&s.advance_to(at)).unwrap();
    }
    let a = s.open(conn);
    assert_eq!(payloads(&a), (0..20).map(|i| json!(i)).collect::<Vec<_>>());
    s.pong(conn);
    let st = s.b.stats();
    assert_eq!((st.writes_confirmed, st.writes_resent, st.writes_dropped), (20, 100, 0));
}

#[test]
fn a_burst_shares_one_ping_and_a_ping_in_flight_is_not_repeated() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    let (c, _) = s.connected();
    s.pong(c);
    for i in 0..100 {
        s.b.write("cmd", json!(i), s.now).unwrap();
    }
    assert_eq!(pings(&s.advance_to(s.now)), 1);
    // More writes while that ping is out: no second ping yet.
    s.now = 5.0;
    for i in 100..110 {
        s.b.write("cmd", json!(i), s.now).unwrap();
    }
    assert_eq!(pings(&s.advance_to(6.0)), 0);
    assert_eq!(s.b.unconfirmed_len(), 110);
    // Its pong confirms the first 100; the other 10 get their own ping.
    s.now = 20.0;
    s.pong(c);
    assert_eq!(s.b.unconfirmed_len(), 10);
    assert_eq!(s.b.next_timer_ms(), Some(20.0));
    assert_eq!(pings(&s.advance_to(20.0)), 1);
    s.pong(c);
    assert_eq!(s.b.unconfirmed_len(), 0);
    assert_eq!(s.b.stats().writes_confirmed, 110);
    // Quiet again: no timer at all (no keepalive in these options).
    assert_eq!(s.b.next_timer_ms(), None);
}

/// The server's full send queue may drop the pong while data keeps flowing: the
/// bridge asks again; only `CONFIRM_PINGS` unanswered confirm pings in a row end the
/// link (the writes are then re-sent).
#[test]
fn a_dropped_confirm_pong_is_asked_again_and_a_link_that_never_answers_is_replaced() {
    let mut s = Sim::new(watched(), vec![out("cmd"), RecordLink::new("x")]);
    let (c1, _) = s.connected();
    s.pong(c1);
    s.b.write("cmd", json!(1), s.now).unwrap();
    assert_eq!(pings(&s.advance_to(0.0)), 1);
    let mut t = 0.0;
    let mut pinged = 0;
    let mut closed = false;
    while t < 100_000.0 && !closed {
        t += 1000.0;
        // Data keeps arriving (the pong deadline of keepalive never fires)...
        s.now = t;
        s.frame(c1, &data("x", json!(t)));
        let a = s.advance_to(t);
        pinged += pings(&a);
        closed = a.contains(&Action::Close { conn: c1 });
        if closed {
            assert!(matches!(errors(&a)[..], [BridgeError::PongTimeout { .. }]), "{a:?}");
        }
    }
    assert!(closed, "a link that never confirms is replaced");
    assert_eq!(pinged as u32, CONFIRM_PINGS - 1, "asked again before giving up");
    assert_eq!(t, 30_000.0);
    assert_eq!(s.b.queue_len(), 1);

    // A pong that comes after one re-ask confirms and resets the count.
    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    s.open(c2);
    s.now += 10_000.0;
    s.frame(c2, &data("x", json!(0)));
    assert_eq!(pings(&s.advance_to(s.now)), 1, "asked again");
    s.pong(c2);
    assert_eq!(s.b.unconfirmed_len(), 0);
    assert_eq!(s.b.status(), Status::Connected);
}

#[test]
fn disconnect_drops_and_reports_unconfirmed_writes() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    let (_c, _) = s.connected();
    s.b.write("cmd", json!("a"), s.now).unwrap();
    s.b.write("cmd", json!("b"), s.now).unwrap();
    s.take();
    s.b.disconnect(s.now);
    let a = s.take();
    assert_eq!(
        dropped(&a),
        [(json!("a"), DropReason::Disconnected), (json!("b"), DropReason::Disconnected)]
    );
    assert_eq!(s.b.stats().writes_dropped, 2);
    assert_eq!(s.b.unconfirmed_len(), 0);
}

#[test]
fn requeued_writes_that_do_not_fit_follow_the_overflow_policy() {
    for (policy, kept, gone, reason) in [
        (OverflowPolicy::DropOldest, [2, 3, 4], [0, 1], DropReason::DroppedOldest),
        (OverflowPolicy::DropNewest, [0, 1, 2], [3, 4], DropReason::DroppedNewest),
        (OverflowPolicy::Reject, [0, 1, 2], [3, 4], DropReason::DroppedNewest),
    ] {
        let o = BridgeOptions { max_offline_queue: 3, overflow: policy, ..quiet() };
        let mut s = Sim::new(o, vec![out("cmd")]);
        let (c, _) = s.connected();
        for i in 0..5 {
            assert_eq!(s.b.write("cmd", json!(i), s.now), Ok(WriteOutcome::Sent));
        }
        s.take();
        let a = s.close(c);
        assert_eq!(dropped(&a), gone.iter().map(|i| (json!(i), reason)).collect::<Vec<_>>(), "{policy:?}");
        assert_eq!(s.b.stats().writes_dropped, 2);
        let at = s.b.next_timer_ms().unwrap();
        let c2 = opened_conn(&s.advance_to(at)).unwrap();
        let a = s.open(c2);
        assert_eq!(payloads(&a), kept.iter().map(|i| json!(i)).collect::<Vec<_>>(), "{policy:?}");
    }
}

// ───────────────────────────── check before apply ─────────────────────────────

/// `check_write` refuses what `write_json` would refuse, before anything is applied,
/// and changes nothing.
#[test]
fn check_write_refuses_exactly_what_write_would_and_changes_nothing() {
    let o = BridgeOptions { max_offline_queue: 1, overflow: OverflowPolicy::Reject, ..quiet() };
    let mut s = Sim::new(o, vec![out("cmd").topic("c"), RecordLink::new("in")]);
    let code = |r: Result<(), WriteError>| r.err().map(|e| e.code());
    assert_eq!(code(s.b.check_write("nope", "1", 0.0)), Some("UNKNOWN_KEY"));
    assert_eq!(code(s.b.check_write("in", "1", 0.0)), Some("NOT_OUTBOUND"));
    assert_eq!(code(s.b.check_write("cmd", "1", 0.0)), None);

    // The size rule: `{"type":"write","topic":"c","payload":P}` at most 16 MiB.
    let fits = MAX_FRAME_BYTES - r#"{"type":"write","topic":"c","payload":}"#.len();
    let big = |n: usize| format!("\"{}\"", "x".repeat(n - 2));
    assert_eq!(code(s.b.check_write("cmd", &big(fits), 0.0)), None);
    let too = big(fits + 1);
    assert_eq!(code(s.b.check_write("cmd", &too, 0.0)), Some("FRAME_TOO_LARGE"));
    let before = s.b.stats();
    assert!(matches!(s.b.write_json("cmd", &too, 0.0), Err(WriteError::TooLarge { .. })));
    assert_eq!(s.b.queue_len(), 0);
    assert_eq!(s.b.stats().writes_rejected, before.writes_rejected + 1);
    // The largest accepted frame really is at the limit.
    let (c, _) = s.connected();
    s.b.write_json("cmd", &big(fits), 0.0).unwrap();
    let a = s.take();
    let frame_len = a.iter().find_map(|a| match a {
        Action::Send { frame, .. } if frame.contains("write") => Some(frame.len()),
        _ => None,
    });
    assert_eq!(frame_len, Some(MAX_FRAME_BYTES));
    s.close(c);

    // Queue full under 'reject' (offline): refused by the check, nothing queued twice.
    s.b.disconnect(0.0);
    s.take();
    assert_eq!(code(s.b.check_write("cmd", "1", 0.0)), Some("BRIDGE_DISCONNECTED"));
    s.connect();
    s.b.write_json("cmd", "1", 0.0).unwrap();
    assert_eq!(s.b.queue_len(), 1);
    s.take();
    let before = s.b.stats();
    assert_eq!(code(s.b.check_write("cmd", "2", 0.0)), Some("QUEUE_FULL"));
    assert_eq!(s.b.stats(), before, "a check changes no counter");
    assert!(s.take().is_empty(), "a check queues no action");
    assert_eq!(s.b.write_json("cmd", "2", 0.0).unwrap_err().code(), "QUEUE_FULL");
}

/// Subscriptions that do not fit in one frame under the server's 16 MiB limit are
/// split (before: one oversized frame, which the server answers with a TCP reset).
/// Also: 100k records map, subscribe and route without quadratic lookups.
#[test]
fn a_subscription_set_over_the_frame_limit_is_split() {
    let pad = "p".repeat(160);
    let n = 100_000;
    let records: Vec<RecordLink> = (0..n).map(|i| RecordLink::new(format!("s.{pad}.{i}"))).collect();
    let o = BridgeOptions { subscribe_topics: vec!["s/#".into()], late_join: true, ..quiet() };
    let mut s = Sim::new(o, records);
    let desired = s.b.desired_subscriptions();
    assert_eq!(desired.len(), n + 1);
    let (c, a) = s.connected();
    let frames: Vec<&String> = a
        .iter()
        .filter_map(|a| match a {
            Action::Send { frame, .. } if frame.starts_with(r#"{"type":"subscribe""#) => Some(frame),
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 2, "{} frames", frames.len());
    assert!(frames.iter().all(|f| f.len() <= MAX_FRAME_BYTES));
    let topics: Vec<String> = subscribes(&a).concat();
    assert_eq!(topics, desired, "every topic once, in order");
    // Routing to the last record is a lookup.
    let a = s.frame(c, &data(&format!("s/{pad}/{}", n - 1), json!(1)));
    assert_eq!(s.b.record_key(deliveries(&a)[0].record), Some(format!("s.{pad}.{}", n - 1).as_str()));
    let a = s.frame(c, &ServerMessage::Snapshot { topic: "s/unknown".into(), payload: None });
    assert!(deliveries(&a).is_empty());
}
