//! Deterministic tests of the bridge state machine through its public API. Time is a
//! plain `f64` the test advances (what the adapter's `VirtualClock::now_ms()` would
//! return); the "transport" is the test itself, executing the actions by hand
//! (`common::Sim`).

mod common;

use aimdb_wasm_bridge::{
    Action, BackoffOptions, Bridge, BridgeError, BridgeOptions, ClientMessage, ConfigError, ConnId, Delivery, DropReason,
    ErrorCode, Link, OverflowPolicy, RecordLink, ServerMessage, Status, WriteError, WriteOutcome,
};
use common::*;
use serde_json::{json, Value};

// ───────────────────────────── reconnect / backoff ─────────────────────────────

/// With seed 42 the delays are exactly these; each lies within ±20% of
/// 500·2ⁿ and never above the 8000 ms cap.
#[test]
fn backoff_sequence_is_exact_for_a_seed_jittered_and_capped() {
    let mut s = Sim::new(quiet(), vec![]);
    let mut conn = s.connect();
    let mut delays = Vec::new();
    for _ in 0..8 {
        s.b.on_error(conn, s.now);
        let a = s.close(conn); // refused before open
        assert_eq!(s.b.status(), Status::Reconnecting);
        let at = s.b.next_timer_ms().expect("a reconnect timer");
        delays.push(at - s.now);
        assert!(opens(&a) == 0, "no immediate retry");
        let a = s.advance_to(at);
        conn = opened_conn(&a).expect("retry at the deadline");
    }
    let want = [
        548.3129757543646,
        863.9641571507681,
        1822.880904204111,
        3750.70514643782,
        6521.696539328788,
        8000.0,
        7098.896619878989,
        8000.0,
    ];
    for (n, (got, want)) in delays.iter().zip(want).enumerate() {
        assert!((got - want).abs() < 1e-6, "delay {n}: {got} != {want}");
        let base = (500.0 * 2f64.powi(n as i32)).min(8000.0);
        assert!(*got >= base * 0.8 && *got <= (base * 1.2).min(8000.0), "delay {n}: {got}");
    }
    assert_eq!(s.b.stats().reconnects, 8);
    assert_eq!(s.b.stats().connects, 9);
}

#[test]
fn backoff_with_another_seed_differs_and_without_jitter_is_plain() {
    let mut o = quiet();
    o.auto_reconnect = Some(BackoffOptions { jitter: 0.0, ..BackoffOptions::default() });
    let mut s = Sim::new(o, vec![]);
    let mut conn = s.connect();
    let mut delays = Vec::new();
    for _ in 0..6 {
        s.close(conn);
        let at = s.b.next_timer_ms().unwrap();
        delays.push(at - s.now);
        conn = opened_conn(&s.advance_to(at)).unwrap();
    }
    assert_eq!(delays, [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 8000.0]);
}

#[test]
fn backoff_resets_after_a_successful_open() {
    let mut s = Sim::new(quiet(), vec![]);
    let mut conn = s.connect();
    for _ in 0..4 {
        s.close(conn);
        let at = s.b.next_timer_ms().unwrap();
        conn = opened_conn(&s.advance_to(at)).unwrap();
    }
    // The 5th delay would be ~8000; open instead, the link lives (a frame), then it
    // is lost.
    let a = s.open(conn);
    assert_eq!(statuses(&a), [Status::Connected]);
    assert_eq!(pings(&a), 1, "a ping right after open asks the link to prove itself");
    s.pong(conn);
    s.now += 60_000.0;
    let a = s.close(conn);
    assert_eq!(errors(&a), [BridgeError::ConnectionLost]);
    assert_eq!(statuses(&a), [Status::Reconnecting]);
    let d = s.b.next_timer_ms().unwrap() - s.now;
    assert!((400.0..=600.0).contains(&d), "first delay after a good open: {d}");
}

#[test]
fn status_goes_connecting_connected_reconnecting_connected() {
    let mut s = Sim::new(quiet(), vec![]);
    assert_eq!(s.b.status(), Status::Disconnected);
    s.b.connect(0.0);
    let a = s.take();
    assert_eq!(statuses(&a), [Status::Connecting]);
    let conn = opened_conn(&a).unwrap();
    assert_eq!(s.b.current_conn(), Some(conn));
    let mut all = s.open(conn);
    all.extend(s.close(conn));
    let at = s.b.next_timer_ms().unwrap();
    let a = s.advance_to(at);
    let c2 = opened_conn(&a).unwrap();
    assert_ne!(c2, conn);
    all.extend(a);
    all.extend(s.open(c2));
    assert_eq!(statuses(&all), [Status::Connected, Status::Reconnecting, Status::Connected]);
    // connect() while connected does nothing.
    s.b.connect(s.now);
    assert!(s.take().is_empty());
}

#[test]
fn no_reconnect_after_disconnect_even_when_the_close_arrives_later() {
    let mut s = Sim::new(BridgeOptions { seed: Some(1), ..BridgeOptions::default() }, vec![]);
    let (conn, _) = s.connected();
    s.now = 1000.0;
    s.b.disconnect(s.now);
    let a = s.take();
    assert!(a.contains(&Action::Close { conn }));
    assert_eq!(statuses(&a), [Status::Disconnected]);
    assert!(s.b.is_disconnected_on_purpose());
    // The server sends no close frame: the close (1006) shows up like any other.
    s.now = 1005.0;
    let a = s.close(conn);
    assert!(a.is_empty(), "{a:?}");
    assert_eq!(s.b.stats().stale_events, 1);
    // 10 s of time, timers, and online events: nothing opens.
    let mut a = Vec::new();
    for t in (1100..=11_000).step_by(100) {
        a.extend(s.advance_to(t as f64));
        s.b.on_timer(s.now);
        s.b.on_online(s.now);
        a.extend(s.take());
    }
    assert_eq!(opens(&a), 0, "{a:?}");
    assert_eq!(s.b.next_timer_ms(), None);
    assert_eq!(s.b.status(), Status::Disconnected);
    // An explicit connect() is the way back.
    s.b.connect(s.now);
    assert_eq!(opens(&s.take()), 1);
    assert!(!s.b.is_disconnected_on_purpose());
}

#[test]
fn disconnect_while_waiting_to_reconnect_cancels_the_retry() {
    let mut s = Sim::new(quiet(), vec![]);
    let conn = s.connect();
    s.close(conn);
    assert!(s.b.next_timer_ms().is_some());
    s.b.disconnect(s.now);
    let a = s.take();
    assert!(!a.iter().any(|a| matches!(a, Action::Close { .. })), "no socket to close");
    assert_eq!(statuses(&a), [Status::Disconnected]);
    assert_eq!(s.b.next_timer_ms(), None);
    assert_eq!(opens(&s.advance_to(20_000.0)), 0);
}

#[test]
fn writes_after_disconnect_are_rejected_with_a_typed_error() {
    let mut s = Sim::new(quiet(), vec![out("cmd.a")]);
    let _ = s.connected();
    s.b.disconnect(s.now);
    s.take();
    let e = s.b.write("cmd.a", json!(1), s.now).unwrap_err();
    assert_eq!(e, WriteError::Disconnected { key: "cmd.a".into() });
    assert!(e.to_string().contains("disconnected on purpose; call reconnect() first"), "{e}");
    assert_eq!(dropped(&s.take()), [(json!(1), DropReason::Disconnected)]);
    assert_eq!(s.b.queue_len(), 0);
    assert_eq!(s.b.stats().writes_rejected, 1);
    assert_eq!(s.b.stats().writes_dropped, 1, "reported as dropped, so counted as dropped");
    // After connect() writes queue again (still not open).
    s.b.connect(s.now);
    s.take();
    assert_eq!(s.b.write("cmd.a", json!(2), s.now), Ok(WriteOutcome::Queued));
}

#[test]
fn disconnect_drops_and_reports_queued_writes() {
    let mut s = Sim::new(quiet(), vec![out("cmd.a")]);
    s.b.write("cmd.a", json!(1), 0.0).unwrap();
    s.b.write("cmd.a", json!(2), 0.0).unwrap();
    s.b.disconnect(0.0);
    let a = s.take();
    assert_eq!(dropped(&a), [(json!(1), DropReason::Disconnected), (json!(2), DropReason::Disconnected)]);
    assert_eq!(s.b.stats().writes_dropped, 2);
    assert_eq!(s.b.stats().queue_len, 0);
    // Nothing is sent on the next open.
    let (_, a) = s.connected();
    assert!(writes(&a).is_empty());
}

#[test]
fn no_auto_reconnect_means_disconnected_but_writes_still_queue() {
    let mut o = quiet();
    o.auto_reconnect = None;
    let mut s = Sim::new(o, vec![out("cmd.a")]);
    let (conn, _) = s.connected();
    let a = s.close(conn);
    assert_eq!(statuses(&a), [Status::Disconnected]);
    assert_eq!(s.b.next_timer_ms(), None);
    assert!(!s.b.is_disconnected_on_purpose());
    assert_eq!(s.b.write("cmd.a", json!(7), s.now), Ok(WriteOutcome::Queued));
    let (_, a) = s.connected();
    assert_eq!(writes(&a), [("cmd/a".to_string(), json!(7))]);
}

#[test]
fn repeated_failures_before_open_report_refusal_once_and_back_off() {
    let mut s = Sim::new(BridgeOptions { seed: Some(3), ..BridgeOptions::default() }, vec![]);
    let mut conn = s.connect();
    let mut all = Vec::new();
    let mut attempts = 1;
    // A server that answers every upgrade with 401: error + close before open.
    while s.now < 60_000.0 {
        s.b.on_error(conn, s.now);
        all.extend(s.close(conn));
        // The next timer may be the late-join round's deadline (it runs on while
        // retrying); then the one after is the retry.
        let mut a = Vec::new();
        for _ in 0..2 {
            let at = s.b.next_timer_ms().unwrap();
            a.extend(s.advance_to(at));
            if opened_conn(&a).is_some() {
                break;
            }
        }
        match opened_conn(&a) {
            Some(c) => {
                conn = c;
                attempts += 1;
            }
            None => panic!("no retry at the deadline"),
        }
        all.extend(a);
    }
    let refused: Vec<_> = errors(&all)
        .into_iter()
        .filter(|e| matches!(e, BridgeError::ConnectionRefused { .. }))
        .collect();
    assert_eq!(refused, [BridgeError::ConnectionRefused { attempts: 3 }]);
    assert!(refused[0].to_string().contains("refused"));
    assert!(refused[0].to_string().contains("401"));
    // No tight loop: 0.5+1+2+4+8+8+... s of backoff fit at most 11 attempts into 60 s.
    assert!(attempts <= 12, "{attempts} attempts in 60 s");
    assert!(statuses(&all).iter().all(|s| *s == Status::Reconnecting));
    assert_eq!(synced(&all), [(true, vec![])], "the round of connect() ended at syncTimeoutMs");
    assert_eq!(s.b.stats().transport_errors, attempts - 1);
    assert!(matches!(s.b.stats().last_error, Some(BridgeError::ConnectionRefused { .. })));

    // A good open ends the streak; a new streak reports again.
    s.open(conn);
    let mut a = s.close(conn);
    for _ in 0..3 {
        let at = s.b.next_timer_ms().unwrap();
        let c = opened_conn(&s.advance_to(at)).unwrap();
        a.extend(s.close(c));
    }
    assert!(errors(&a).contains(&BridgeError::ConnectionRefused { attempts: 3 }));
}

#[test]
fn connect_timeout_abandons_a_hanging_attempt() {
    let mut o = quiet();
    o.connect_timeout_ms = 5000.0;
    let mut s = Sim::new(o, vec![]);
    let conn = s.connect();
    assert_eq!(s.b.next_timer_ms(), Some(5000.0));
    assert!(s.advance_to(4999.0).is_empty());
    let a = s.advance_to(5000.0);
    assert!(a.contains(&Action::Close { conn }));
    assert_eq!(errors(&a), [BridgeError::ConnectTimeout { waited_ms: 5000.0 }]);
    assert_eq!(s.b.status(), Status::Reconnecting);
    // The late open of the abandoned socket is ignored.
    s.b.on_open(conn, s.now);
    assert!(s.take().is_empty());
    assert_eq!(s.b.status(), Status::Reconnecting);
}

#[test]
fn online_event_retries_at_once_while_waiting() {
    let mut s = Sim::new(quiet(), vec![]);
    let conn = s.connect();
    s.close(conn);
    let at = s.b.next_timer_ms().unwrap();
    s.now = 10.0;
    assert!(at > s.now);
    s.b.on_online(s.now);
    let a = s.take();
    let c2 = opened_conn(&a).expect("retry now");
    assert_ne!(c2, conn);
    assert_eq!(s.b.stats().reconnects, 1);
    // And only once: a second online event while the attempt runs does nothing.
    s.b.on_online(s.now);
    assert!(s.take().is_empty());
}

#[test]
fn online_event_probes_an_open_link() {
    let mut o = quiet();
    o.keepalive_ms = 30_000.0;
    o.pong_timeout_ms = 10_000.0;
    let mut s = Sim::new(o, vec![]);
    let (conn, _) = s.connected();
    s.pong(conn);
    s.now = 1000.0;
    s.b.on_online(s.now);
    assert_eq!(pings(&s.take()), 1);
    assert_eq!(s.b.next_timer_ms(), Some(11_000.0), "pong deadline of the probe");
    let a = s.advance_to(11_000.0);
    assert!(a.contains(&Action::Close { conn }));
}

// ───────────────────────────── keepalive ─────────────────────────────

fn keepalive() -> BridgeOptions {
    BridgeOptions { keepalive_ms: 30_000.0, pong_timeout_ms: 10_000.0, ..quiet() }
}

#[test]
fn pings_every_keepalive_interval_while_connected() {
    let mut s = Sim::new(keepalive(), vec![]);
    let (conn, a) = s.connected();
    assert_eq!(pings(&a), 1, "the ping right after open");
    s.pong(conn);
    let mut ping_times = Vec::new();
    while s.now < 100_000.0 {
        let Some(t) = s.b.next_timer_ms() else { panic!("keepalive timer") };
        if t > 100_000.0 {
            break;
        }
        let a = s.advance_to(t);
        if pings(&a) > 0 {
            ping_times.push(s.now);
            s.now += 20.0;
            let a = s.frame(conn, &ServerMessage::Pong);
            assert!(a.is_empty());
        }
    }
    assert_eq!(ping_times, [30_000.0, 60_000.0, 90_000.0]);
    assert_eq!(s.b.status(), Status::Connected);
    let frame = serde_json::to_string(&ClientMessage::Ping).unwrap();
    assert_eq!(frame, r#"{"type":"ping"}"#);
}

#[test]
fn pong_timeout_closes_the_link_and_reconnects_with_backoff() {
    let mut s = Sim::new(keepalive(), vec![]);
    let (conn, _) = s.connected();
    s.pong(conn);
    assert_eq!(pings(&s.advance_to(30_000.0)), 1);
    assert_eq!(s.b.next_timer_ms(), Some(40_000.0));
    assert!(s.advance_to(39_999.0).is_empty());
    let a = s.advance_to(40_000.0);
    assert!(a.contains(&Action::Close { conn }));
    assert_eq!(errors(&a), [BridgeError::PongTimeout { waited_ms: 10_000.0 }]);
    assert_eq!(statuses(&a), [Status::Reconnecting]);
    let at = s.b.next_timer_ms().unwrap();
    assert!((40_400.0..=40_600.0).contains(&at), "{at}");
    let a = s.advance_to(at);
    let c2 = opened_conn(&a).expect("reconnect");
    // The dead socket's close arrives late, after the new one opened: ignored.
    s.open(c2);
    s.now += 30_000.0;
    assert!(s.close(conn).is_empty());
    assert_eq!(s.b.status(), Status::Connected);
    // So do its frames.
    assert!(s.frame(conn, &data("x", json!(1))).is_empty());
    assert_eq!(s.b.stats().stale_events, 2);
}

#[test]
fn any_frame_after_a_ping_proves_the_link_alive() {
    // The server may drop a pong when its send queue is full; data still flows.
    let mut s = Sim::new(keepalive(), vec![RecordLink::new("x")]);
    let (conn, _) = s.connected();
    s.pong(conn);
    s.advance_to(30_000.0);
    s.now = 35_000.0;
    s.frame(conn, &data("x", json!(1)));
    let a = s.advance_to(50_000.0);
    assert!(!a.iter().any(|a| matches!(a, Action::Close { .. })), "{a:?}");
    assert_eq!(s.b.status(), Status::Connected);
    assert_eq!(s.b.next_timer_ms(), Some(60_000.0));
}

#[test]
fn a_late_timer_sends_one_ping_not_a_burst() {
    let mut s = Sim::new(keepalive(), vec![]);
    let (conn, _) = s.connected();
    s.pong(conn);
    s.now = 95_000.0; // a throttled background tab
    s.b.on_timer(s.now);
    assert_eq!(pings(&s.take()), 1);
    assert_eq!(s.b.next_timer_ms(), Some(105_000.0)); // the pong deadline comes first
}

// ───────────────────────────── offline queue ─────────────────────────────

fn queue_opts(policy: OverflowPolicy) -> BridgeOptions {
    BridgeOptions { max_offline_queue: 3, overflow: policy, ..quiet() }
}

fn write_five(s: &mut Sim) -> Vec<Result<WriteOutcome, WriteError>> {
    (0..5).map(|i| s.b.write("cmd.a", json!(i), s.now)).collect()
}

#[test]
fn overflow_drop_oldest() {
    let mut s = Sim::new(queue_opts(OverflowPolicy::DropOldest), vec![out("cmd.a")]);
    let r = write_five(&mut s);
    use WriteOutcome::*;
    assert_eq!(r, [Ok(Queued), Ok(Queued), Ok(Queued), Ok(QueuedDroppedOldest), Ok(QueuedDroppedOldest)]);
    assert_eq!(dropped(&s.take()), [(json!(0), DropReason::DroppedOldest), (json!(1), DropReason::DroppedOldest)]);
    let st = s.b.stats();
    assert_eq!((st.queue_len, st.writes_queued, st.writes_dropped, st.writes_rejected), (3, 5, 2, 0));
    let (_, a) = s.connected();
    assert_eq!(writes(&a).iter().map(|w| w.1.clone()).collect::<Vec<_>>(), [json!(2), json!(3), json!(4)]);
}

#[test]
fn overflow_drop_newest() {
    let mut s = Sim::new(queue_opts(OverflowPolicy::DropNewest), vec![out("cmd.a")]);
    let r = write_five(&mut s);
    use WriteOutcome::*;
    assert_eq!(r, [Ok(Queued), Ok(Queued), Ok(Queued), Ok(DroppedNewest), Ok(DroppedNewest)]);
    assert_eq!(dropped(&s.take()), [(json!(3), DropReason::DroppedNewest), (json!(4), DropReason::DroppedNewest)]);
    let st = s.b.stats();
    assert_eq!((st.queue_len, st.writes_queued, st.writes_dropped, st.writes_rejected), (3, 3, 2, 0));
    let (_, a) = s.connected();
    assert_eq!(writes(&a).iter().map(|w| w.1.clone()).collect::<Vec<_>>(), [json!(0), json!(1), json!(2)]);
}

#[test]
fn overflow_reject() {
    let mut s = Sim::new(queue_opts(OverflowPolicy::Reject), vec![out("cmd.a")]);
    let r = write_five(&mut s);
    let full = WriteError::QueueFull { key: "cmd.a".into(), capacity: 3 };
    use WriteOutcome::*;
    assert_eq!(r, [Ok(Queued), Ok(Queued), Ok(Queued), Err(full.clone()), Err(full.clone())]);
    assert!(full.to_string().contains("offline queue full (3 writes)"), "{full}");
    assert_eq!(dropped(&s.take()), [(json!(3), DropReason::QueueFull), (json!(4), DropReason::QueueFull)]);
    let st = s.b.stats();
    assert_eq!((st.queue_len, st.writes_queued, st.writes_dropped, st.writes_rejected), (3, 3, 2, 2));
    let (_, a) = s.connected();
    assert_eq!(writes(&a).iter().map(|w| w.1.clone()).collect::<Vec<_>>(), [json!(0), json!(1), json!(2)]);
}

#[test]
fn zero_capacity_queue_drops_every_offline_write() {
    let mut o = queue_opts(OverflowPolicy::DropOldest);
    o.max_offline_queue = 0;
    let mut s = Sim::new(o, vec![out("cmd.a")]);
    assert_eq!(s.b.write("cmd.a", json!(1), 0.0), Ok(WriteOutcome::DroppedNewest));
    assert_eq!(dropped(&s.take()), [(json!(1), DropReason::DroppedNewest)]);
}

#[test]
fn queue_flushes_fifo_after_the_subscribe_on_reconnect() {
    let o = BridgeOptions { subscribe_topics: vec!["cmd/#".into()], ..quiet() };
    let mut s = Sim::new(o, vec![out("cmd.a"), out("cmd.b").topic("commands/b")]);
    let (conn, _) = s.connected();
    assert_eq!(s.b.write("cmd.a", json!("live"), s.now), Ok(WriteOutcome::Sent));
    s.take();
    // No pong confirmed "live": it goes back to the front of the queue.
    s.close(conn);
    assert_eq!(s.b.queue_len(), 1);
    for (k, v) in [("cmd.a", 1), ("cmd.b", 2), ("cmd.a", 3), ("cmd.b", 4)] {
        assert_eq!(s.b.write(k, json!(v), s.now), Ok(WriteOutcome::Queued));
    }
    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    // Still connecting: writes keep queueing.
    assert_eq!(s.b.write("cmd.a", json!(5), s.now), Ok(WriteOutcome::Queued));
    let a = s.open(c2);
    let msgs = sent(&a);
    assert_eq!(msgs[0], ClientMessage::Subscribe { topics: vec!["cmd/#".into()] });
    assert_eq!(
        writes(&a),
        [
            ("cmd/a".to_string(), json!("live")),
            ("cmd/a".to_string(), json!(1)),
            ("commands/b".to_string(), json!(2)),
            ("cmd/a".to_string(), json!(3)),
            ("commands/b".to_string(), json!(4)),
            ("cmd/a".to_string(), json!(5)),
        ]
    );
    assert_eq!(msgs.len(), 8, "subscribe, 6 writes, ping");
    assert_eq!(msgs[7], ClientMessage::Ping);
    assert_eq!(s.b.queue_len(), 0);
    assert_eq!(s.b.stats().writes_sent, 7);
    assert_eq!(s.b.stats().writes_resent, 1);
    assert_eq!(s.b.unconfirmed_len(), 6);
    s.pong(c2);
    assert_eq!(s.b.unconfirmed_len(), 0);
    assert_eq!(s.b.stats().writes_confirmed, 6);
}

#[test]
fn write_errors_name_the_problem() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("temp.a"), out("cmd.a")]);
    let e = s.b.write("nope", json!(1), 0.0).unwrap_err();
    assert_eq!(e, WriteError::UnknownRecord { key: "nope".into() });
    let e = s.b.write("temp.a", json!(1), 0.0).unwrap_err();
    assert_eq!(e, WriteError::NotOutbound { key: "temp.a".into(), link: Link::In });
    assert!(e.to_string().contains("linked 'in'"), "{e}");
    let e = s.b.write_json("cmd.a", "{not json", 0.0).unwrap_err();
    assert!(matches!(e, WriteError::InvalidPayload { .. }), "{e}");
    let big = Value::String("x".repeat(16 * 1024 * 1024));
    let e = s.b.write("cmd.a", big, 0.0).unwrap_err();
    assert!(matches!(e, WriteError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("exceeds"), "{e}");
    assert_eq!(s.b.stats().writes_rejected, 4);
    assert_eq!(s.b.queue_len(), 0);
    assert_eq!(s.b.write_json("cmd.a", r#"{"celsius":21.5}"#, 0.0), Ok(WriteOutcome::Queued));
}

#[test]
fn write_frame_is_the_protocol_crates_format() {
    let mut s = Sim::new(quiet(), vec![out("commands.setpoint.room1")]);
    let (conn, _) = s.connected();
    s.b.write("commands.setpoint.room1", json!({"celsius": 21.5, "timestamp": 1_700_000_000_000u64}), 0.0)
        .unwrap();
    let a = s.take();
    assert_eq!(
        a,
        [Action::Send {
            conn,
            frame: r#"{"type":"write","topic":"commands/setpoint/room1","payload":{"celsius":21.5,"timestamp":1700000000000}}"#
                .into()
        }]
    );
}

// ───────────────────────────── topics and subscriptions ─────────────────────────────

#[test]
fn topic_mapping_default_and_override_in_both_directions() {
    let records = vec![
        RecordLink::new("temp.berlin"),
        RecordLink::new("temp.vienna").topic("sensors/temperature/vienna"),
        out("setpoint.room1").topic("commands/setpoint/room1"),
    ];
    let mut s = Sim::new(quiet(), records);
    assert_eq!(s.b.topic_of("temp.berlin"), Some("temp/berlin"));
    assert_eq!(s.b.key_of("temp/berlin"), Some("temp.berlin"));
    assert_eq!(s.b.topic_of("temp.vienna"), Some("sensors/temperature/vienna"));
    assert_eq!(s.b.key_of("sensors/temperature/vienna"), Some("temp.vienna"));
    assert_eq!(s.b.key_of("temp/vienna"), None, "the override replaces the default");

    let (conn, _) = s.connected();
    let a = s.frame(conn, &data("sensors/temperature/vienna", json!({"celsius": 24.7})));
    let d = deliveries(&a);
    assert_eq!(d, [Delivery { record: 1, payload: r#"{"celsius":24.7}"#.into(), snapshot: false, ts: Some(1_700_000_000_000) }]);
    assert_eq!(s.b.record_key(1), Some("temp.vienna"));
    assert_eq!(s.b.record_topic(1), Some("sensors/temperature/vienna"));
    assert_eq!((s.b.record_key(99), s.b.record_topic(99)), (None, None));
    let a = s.frame(conn, &data("temp/vienna", json!(1)));
    assert!(deliveries(&a).is_empty());
    s.b.write("setpoint.room1", json!(21.5), s.now).unwrap();
    assert_eq!(writes(&s.take()), [("commands/setpoint/room1".to_string(), json!(21.5))]);
}

#[test]
fn subscribe_frame_translates_plus_and_passes_hash() {
    let o = BridgeOptions {
        subscribe_topics: vec!["sensors/+/vienna".into(), "a/#".into(), "a+b".into(), "a/#".into()],
        ..quiet()
    };
    let mut s = Sim::new(o, vec![]);
    assert_eq!(s.b.patterns(), ["sensors/*/vienna", "a/#", "a+b"]);
    let (conn, a) = s.connected();
    assert_eq!(
        a.iter().find(|a| matches!(a, Action::Send { .. })),
        Some(&Action::Send { conn, frame: r#"{"type":"subscribe","topics":["sensors/*/vienna","a/#","a+b"]}"#.into() })
    );
}

#[test]
fn bad_configuration_is_refused_with_a_named_reason() {
    let e = Bridge::new(URL, BridgeOptions { subscribe_topics: vec!["a/#/b".into()], ..quiet() }, vec![]).unwrap_err();
    assert!(matches!(e, ConfigError::InvalidPattern { .. }), "{e}");
    let e = Bridge::new(URL, quiet(), vec![RecordLink::new("a.b"), RecordLink::new("x").topic("a/b")]).unwrap_err();
    assert_eq!(e, ConfigError::DuplicateTopic { topic: "a/b".into(), first: "a.b".into(), second: "x".into() });
    let e = Bridge::new(URL, quiet(), vec![RecordLink::new("a"), RecordLink::new("a").link(Link::Out)]).unwrap_err();
    assert_eq!(e, ConfigError::DuplicateKey { key: "a".into() });
    let e = Bridge::new(URL, quiet(), vec![RecordLink::new("a").topic("a/+")]).unwrap_err();
    assert!(e.to_string().contains("must be exact"), "{e}");
    let e = Bridge::new("http://x", quiet(), vec![]).unwrap_err();
    assert!(e.to_string().contains("ws://"), "{e}");
    let mut s = Sim::new(quiet(), vec![]);
    assert!(s.b.subscribe(&["ok/#", "bad/#/x"], 0.0).is_err());
    assert!(s.b.patterns().is_empty(), "all-or-nothing");
}

#[test]
fn token_is_percent_encoded_into_the_url() {
    let o = BridgeOptions { token: Some("a b&c=é".into()), ..quiet() };
    let mut s = Sim::new(o, vec![]);
    s.b.connect(0.0);
    let a = s.take();
    assert!(a.contains(&Action::Open { conn: ConnId(1), url: "ws://srv:8080/ws?token=a%20b%26c%3D%C3%A9".into() }));
}

fn late_join_records() -> Vec<RecordLink> {
    vec![
        RecordLink::new("sensors.temperature.vienna"),
        RecordLink::new("sensors.x").link(Link::Both),
        out("sensors.cmd"),                              // out: no snapshot wanted
        RecordLink::new("temp.berlin"),
        RecordLink::new("temp.a.b"),                     // two levels: '*' does not cover it
        RecordLink::new("other.thing"),                  // no pattern covers it
        RecordLink::new("a"),                            // 'a/#' covers 'a' (zero levels)
        RecordLink::new("room").topic("rooms/1/temp"),   // override, covered by 'rooms/+/temp'
    ]
}

fn late_join_opts() -> BridgeOptions {
    BridgeOptions {
        subscribe_topics: vec!["sensors/#".into(), "temp/*".into(), "a/#".into(), "rooms/+/temp".into()],
        late_join: true,
        sync_timeout_ms: 3000.0,
        ..quiet()
    }
}

#[test]
fn late_join_subscribes_exact_topics_of_covered_inbound_records() {
    let mut s = Sim::new(late_join_opts(), late_join_records());
    let (_, a) = s.connected();
    assert_eq!(
        subscribes(&a),
        [vec![
            "sensors/#".to_string(),
            "temp/*".into(),
            "a/#".into(),
            "rooms/*/temp".into(),
            "sensors/temperature/vienna".into(),
            "sensors/x".into(),
            "temp/berlin".into(),
            "a".into(),
            "rooms/1/temp".into(),
        ]]
    );
    assert!(synced(&a).is_empty(), "waiting for 5 snapshots");

    // Without lateJoin: only the patterns, and synced at once.
    let mut s = Sim::new(BridgeOptions { late_join: false, ..late_join_opts() }, late_join_records());
    let (_, a) = s.connected();
    assert_eq!(subscribes(&a), [vec!["sensors/#".to_string(), "temp/*".into(), "a/#".into(), "rooms/*/temp".into()]]);
    assert_eq!(synced(&a), [(false, vec![])]);
}

#[test]
fn late_join_resubscribes_and_resyncs_on_every_reconnect() {
    let mut s = Sim::new(late_join_opts(), late_join_records());
    let (c1, a1) = s.connected();
    s.close(c1);
    assert!(!s.b.is_synced());
    let at = s.b.next_timer_ms().unwrap();
    let c2 = opened_conn(&s.advance_to(at)).unwrap();
    let a2 = s.open(c2);
    assert_eq!(subscribes(&a1), subscribes(&a2));
    assert!(synced(&a2).is_empty());
}

#[test]
fn synced_after_all_snapshots_arrive() {
    let mut s = Sim::new(late_join_opts(), late_join_records());
    let (conn, _) = s.connected();
    let topics = ["sensors/temperature/vienna", "sensors/x", "temp/berlin", "a", "rooms/1/temp"];
    let mut all = Vec::new();
    for (i, t) in topics.iter().enumerate() {
        s.now += 10.0;
        let a = s.frame(conn, &snapshot(t, json!(i)));
        let d = deliveries(&a);
        assert_eq!(d.len(), 1);
        assert!(d[0].snapshot);
        if i < topics.len() - 1 {
            assert!(synced(&a).is_empty(), "synced too early after {t}");
            assert!(!s.b.is_synced());
        } else {
            // The delivery comes before the Synced event.
            assert!(matches!(a.last(), Some(Action::Synced { .. })));
        }
        all.extend(a);
    }
    assert_eq!(synced(&all), [(false, vec![])]);
    assert!(s.b.is_synced());
    // No second Synced at the timeout.
    assert!(synced(&s.advance_to(10_000.0)).is_empty());
    assert_eq!(s.b.stats().snapshots, 5);
}

#[test]
fn synced_after_the_timeout_lists_what_is_missing() {
    let mut s = Sim::new(late_join_opts(), late_join_records());
    let (conn, _) = s.connected();
    for t in ["sensors/temperature/vienna", "sensors/x", "a"] {
        s.frame(conn, &snapshot(t, json!(1)));
    }
    assert_eq!(s.b.next_timer_ms(), Some(3000.0));
    assert!(synced(&s.advance_to(2999.0)).is_empty());
    let a = s.advance_to(3000.0);
    // In the order of the records (not sorted).
    assert_eq!(synced(&a), [(true, vec!["temp/berlin".to_string(), "rooms/1/temp".into()])]);
    assert!(s.b.is_synced());
    assert_eq!(s.b.next_timer_ms(), None);
}

#[test]
fn live_data_counts_for_sync_and_a_later_snapshot_is_stale() {
    let o = BridgeOptions { subscribe_topics: vec!["temp/#".into()], late_join: true, ..quiet() };
    let mut s = Sim::new(o, vec![RecordLink::new("temp.berlin")]);
    let (conn, _) = s.connected();
    // Data before subscribed and before the snapshot (the server allows that order).
    let a = s.frame(conn, &data("temp/berlin", json!(19.0)));
    assert_eq!(deliveries(&a).len(), 1);
    assert_eq!(synced(&a), [(false, vec![])]);
    let a = s.frame(conn, &ServerMessage::Subscribed { topics: vec!["temp/#".into(), "temp/berlin".into()] });
    assert!(a.is_empty());
    let a = s.frame(conn, &snapshot("temp/berlin", json!(18.5)));
    assert!(deliveries(&a).is_empty(), "older snapshot must not overwrite live data");
    assert_eq!(s.b.stats().stale_snapshots, 1);
    assert_eq!(s.b.stats().delivered, 1);
}

#[test]
fn forbidden_late_join_topic_stops_the_wait() {
    let o = BridgeOptions { subscribe_topics: vec!["t/#".into()], late_join: true, sync_timeout_ms: 3000.0, ..quiet() };
    let mut s = Sim::new(o, vec![RecordLink::new("t.a"), RecordLink::new("t.b")]);
    let (conn, _) = s.connected();
    s.frame(conn, &snapshot("t/a", json!(1)));
    let a = s.frame(
        conn,
        &ServerMessage::Error { code: ErrorCode::Forbidden, topic: Some("t/b".into()), message: "denied".into() },
    );
    assert_eq!(errors(&a).len(), 1);
    assert_eq!(synced(&a), [(false, vec!["t/b".to_string()])]);
}

#[test]
fn runtime_subscribe_and_unsubscribe_send_the_difference() {
    let o = BridgeOptions { late_join: true, sync_timeout_ms: 3000.0, ..quiet() };
    let mut s = Sim::new(o, vec![RecordLink::new("a.x"), RecordLink::new("b.y")]);
    // Before connecting: only remembered.
    s.b.subscribe(&["a/+"], 0.0).unwrap();
    assert!(s.take().is_empty());
    let (conn, a) = s.connected();
    assert_eq!(subscribes(&a), [vec!["a/*".to_string(), "a/x".into()]]);
    assert!(synced(&a).is_empty());
    s.b.subscribe(&["b/#", "a/+"], s.now).unwrap();
    let a = s.take();
    assert_eq!(subscribes(&a), [vec!["b/#".to_string(), "b/y".into()]]);
    s.frame(conn, &snapshot("a/x", json!(1)));
    let a = s.frame(conn, &snapshot("b/y", json!(2)));
    assert_eq!(synced(&a), [(false, vec![])], "the runtime late-join topic was awaited too");

    s.b.unsubscribe(&["a/+"], s.now).unwrap();
    let msgs = sent(&s.take());
    assert_eq!(msgs, [ClientMessage::Unsubscribe { topics: vec!["a/*".into(), "a/x".into()] }]);
    assert_eq!(s.b.patterns(), ["b/#"]);
    s.b.unsubscribe(&["never/subscribed"], s.now).unwrap();
    assert!(s.take().is_empty());
}

// ───────────────────────────── inbound ─────────────────────────────

#[test]
fn inbound_for_unknown_or_out_only_topics_is_counted_not_delivered() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("a"), out("cmd")]);
    let (conn, _) = s.connected();
    for i in 0..3 {
        let a = s.frame(conn, &data("nobody/here", json!(i)));
        assert!(a.is_empty(), "no action per frame: {a:?}");
    }
    let a = s.frame(conn, &snapshot("cmd", json!(1)));
    assert!(a.is_empty());
    let st = s.b.stats();
    assert_eq!((st.unknown_topic, st.not_inbound, st.delivered, st.frames_received), (3, 1, 0, 4));
}

#[test]
fn data_before_subscribed_is_delivered_and_null_payload_is_kept() {
    let o = BridgeOptions { subscribe_topics: vec!["s/#".into()], ..quiet() };
    let mut s = Sim::new(o, vec![RecordLink::new("s.a")]);
    let (conn, _) = s.connected();
    let a = s.raw(conn, r#"{"type":"data","topic":"s/a","payload":{"v":1},"ts":5}"#);
    assert_eq!(deliveries(&a)[0].payload, r#"{"v":1}"#);
    let a = s.raw(conn, r#"{"type":"subscribed","topics":["s/#"]}"#);
    assert!(a.is_empty());
    let a = s.raw(conn, r#"{"type":"data","topic":"s/a","ts":6}"#);
    assert_eq!(deliveries(&a)[0].payload, "null");
    // Unknown envelope fields are ignored, as the server does.
    let a = s.raw(conn, r#"{"type":"data","topic":"s/a","payload":2,"ts":7,"extra":true}"#);
    assert_eq!(deliveries(&a)[0].payload, "2");
}

#[test]
fn malformed_frames_are_counted_and_reported_and_the_link_stays() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("a")]);
    let (conn, _) = s.connected();
    let long = format!("{{\"type\":\"data\",\"topic\":\"{}\"", "é".repeat(200));
    let bad = [
        "not json",
        r#"{"type":"bogus"}"#,
        r#"{"type":"data","topic":"a"}"#,  // no ts
        r#"{"type":"Data","topic":"a","ts":1}"#, // tags are case-sensitive
        r#"["type","data"]"#,
        "",
        long.as_str(),
    ];
    for text in bad {
        let a = s.raw(conn, text);
        let e = errors(&a);
        assert_eq!(e.len(), 1, "{text}: {a:?}");
        let BridgeError::MalformedFrame { excerpt, .. } = &e[0] else { panic!("{e:?}") };
        assert!(excerpt.chars().count() <= 80);
        assert!(e[0].to_string().starts_with("malformed frame from server"));
        assert!(deliveries(&a).is_empty());
    }
    let st = s.b.stats();
    assert_eq!(st.malformed, bad.len() as u64);
    assert!(matches!(st.last_error, Some(BridgeError::MalformedFrame { .. })));
    assert_eq!(s.b.status(), Status::Connected);
    assert_eq!(deliveries(&s.frame(conn, &data("a", json!(1)))).len(), 1);
}

#[test]
fn server_error_frames_become_error_events() {
    let mut s = Sim::new(quiet(), vec![]);
    let (conn, _) = s.connected();
    let a = s.raw(
        conn,
        r#"{"type":"error","code":"FORBIDDEN","topic":"sensors/temperature/vienna","message":"Write permission denied"}"#,
    );
    let e = BridgeError::Server {
        code: ErrorCode::Forbidden,
        topic: Some("sensors/temperature/vienna".into()),
        message: "Write permission denied".into(),
    };
    assert_eq!(errors(&a), std::slice::from_ref(&e));
    assert_eq!(
        e.to_string(),
        r#"server error FORBIDDEN on topic "sensors/temperature/vienna": Write permission denied"#
    );
    let a = s.raw(conn, r#"{"type":"error","code":"SERIALIZATION_ERROR","message":"Invalid JSON message"}"#);
    assert_eq!(errors(&a)[0].to_string(), "server error SERIALIZATION_ERROR: Invalid JSON message");
    assert_eq!(s.b.stats().server_errors, 2);
    assert_eq!(s.b.status(), Status::Connected);
}

#[test]
fn query_results_are_passed_through() {
    let mut s = Sim::new(quiet(), vec![]);
    let (conn, _) = s.connected();
    let a = s.raw(conn, r#"{"type":"topic_list","id":"q1","topics":[{"name":"a/b"}]}"#);
    let [Action::Response(text)] = &a[..] else { panic!("{a:?}") };
    let m: ServerMessage = serde_json::from_str(text).unwrap();
    assert!(matches!(m, ServerMessage::TopicList { id, .. } if id == "q1"));
}

#[test]
fn rejected_inbound_payloads_are_counted() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("a")]);
    let (conn, _) = s.connected();
    let a = s.frame(conn, &data("a", json!("wrong shape")));
    let d = deliveries(&a).remove(0);
    assert_eq!(d.payload, r#""wrong shape""#);
    s.b.reject_inbound(s.b.record_key(d.record).unwrap().to_owned().as_str(), "missing field `celsius`", s.now);
    let a = s.take();
    assert_eq!(
        errors(&a),
        [BridgeError::PayloadRejected { key: "a".into(), reason: "missing field `celsius`".into() }]
    );
    assert_eq!(s.b.stats().rejected, 1);
}

// ───────────────────────────── both records ─────────────────────────────

/// The machine keeps no memory of delivered values: the caller sends only local writes
/// (the glue is told about `db.set` / `WsBridge.write`, never about deliveries), so a
/// local write of the value just delivered is a genuine write and goes out.
#[test]
fn a_both_record_receives_and_sends_independently() {
    let mut s = Sim::new(quiet(), vec![RecordLink::new("sp").link(Link::Both)]);
    let (conn, _) = s.connected();
    let v1 = json!({"celsius": 21.5, "timestamp": 1});
    let a = s.frame(conn, &data("sp", v1.clone()));
    assert_eq!(delivered(&s.b, &a), [("sp".to_string(), v1.clone(), false)]);
    assert_eq!(s.b.write("sp", v1.clone(), s.now), Ok(WriteOutcome::Sent));
    assert_eq!(writes(&s.take()), [("sp".to_string(), v1)]);
}

// ───────────────────────────── requests (issue 13: query) ─────────────────────────────

/// A request goes out only on an open socket (never queued); its answer comes back as
/// `Action::Response` with the frame's text.
#[test]
fn requests_are_sent_only_when_connected_and_answered_by_response() {
    let mut sim = Sim::new(BridgeOptions::default(), vec![]);
    let q = r#"{"type":"query","id":"q1","pattern":"*"}"#;
    assert!(!sim.b.send_request(q.into()), "not connected: refused");
    assert!(sim.take().is_empty(), "nothing sent or queued");
    let (conn, _) = sim.connected();
    assert!(sim.b.send_request(q.into()));
    let sent: Vec<Action> = sim.take();
    assert!(sent.iter().any(|a| matches!(a, Action::Send { conn: c, frame } if *c == conn && frame == q)), "{sent:?}");
    let reply = r#"{"type":"query_result","id":"q1","records":[{"topic":"t","payload":{"a":1},"ts":5}],"total":1}"#;
    let got = sim.raw(conn, reply);
    assert!(got.iter().any(|a| matches!(a, Action::Response(t) if t == reply)), "{got:?}");
    sim.close(conn);
    assert!(!sim.b.send_request(q.into()), "link lost: refused again");
}
