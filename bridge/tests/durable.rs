//! The hooks a durable store of writes uses (`track_outbox`, `pending_writes`,
//! `restore_writes`): the set of writes not yet confirmed, announced on every change,
//! and stored writes put back ahead of new ones, checked, under the overflow policy.

mod common;

use aimdb_wasm_bridge::{Action, BridgeOptions, DropReason, OverflowPolicy, Status};
use common::*;
use serde_json::{json, Value};

fn changes(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::OutboxChanged)).count()
}

fn pending(s: &Sim) -> Vec<(String, String)> {
    s.b.pending_writes().into_iter().map(|(k, p)| (k.to_owned(), p.to_owned())).collect()
}

fn stored(items: &[i64]) -> Vec<(String, String)> {
    items.iter().map(|i| ("cmd".to_owned(), i.to_string())).collect()
}

fn accept(_: usize, p: &str) -> Result<String, String> {
    Ok(p.to_owned())
}

#[test]
fn no_outbox_changed_unless_tracked() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    s.b.write("cmd", json!(1), s.now).unwrap();
    assert_eq!(changes(&s.take()), 0);
    assert_eq!(pending(&s), stored(&[1]), "listed all the same");
}

#[test]
fn pending_writes_stay_listed_until_a_pong_confirms_them() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    s.b.track_outbox(true);
    s.b.write("cmd", json!(1), s.now).unwrap();
    s.b.write("cmd", json!(2), s.now).unwrap();
    assert_eq!(changes(&s.take()), 2, "one per queued write");
    assert_eq!(pending(&s), stored(&[1, 2]));
    let (conn, a) = s.connected();
    assert!(changes(&a) > 0);
    assert_eq!(pending(&s), stored(&[1, 2]), "sent but unconfirmed: still listed");
    s.b.write("cmd", json!(3), s.now).unwrap();
    assert_eq!(changes(&s.take()), 1, "a write sent at once is in the set too");
    assert_eq!(pending(&s), stored(&[1, 2, 3]));
    let a = s.pong(conn);
    assert_eq!(changes(&a), 1);
    assert_eq!(pending(&s), stored(&[3]), "the pong of the ping after the flush confirmed 1 and 2");
    // The link dies: 3 goes back to the queue, still listed, no change of the set.
    s.close(conn);
    assert_eq!(pending(&s), stored(&[3]));
}

#[test]
fn restored_writes_go_first_fifo_as_resends() {
    let mut s = Sim::new(quiet(), vec![out("cmd")]);
    s.b.track_outbox(true);
    s.b.write("cmd", json!(10), s.now).unwrap(); // written while the restore was under way
    s.b.restore_writes(stored(&[1, 2, 3]), accept, s.now);
    assert_eq!(changes(&s.take()), 2);
    assert_eq!(pending(&s), stored(&[1, 2, 3, 10]));
    let (_, a) = s.connected();
    let sent: Vec<Value> = writes(&a).into_iter().map(|(_, p)| p).collect();
    assert_eq!(sent, [json!(1), json!(2), json!(3), json!(10)]);
    let st = s.b.stats();
    assert_eq!((st.writes_resent, st.writes_queued), (3, 4));
}

#[test]
fn restored_writes_are_checked_and_the_refused_reported_as_invalid() {
    let mut s = Sim::new(quiet(), vec![out("cmd"), aimdb_wasm_bridge::RecordLink::new("inbound")]);
    let writes = vec![
        ("cmd".to_owned(), "1".to_owned()),
        ("gone".to_owned(), "2".to_owned()),    // no such record any more
        ("inbound".to_owned(), "3".to_owned()), // not outbound
        ("cmd".to_owned(), "4".to_owned()),     // refused by the check (the contract)
        ("cmd".to_owned(), "{".to_owned()),     // not JSON
        ("cmd".to_owned(), "6".to_owned()),     // migrated by the check
    ];
    s.b.restore_writes(
        writes,
        |_, p| match p {
            "4" => Err("contract".into()),
            "6" => Ok("60".into()),
            p => Ok(p.to_owned()),
        },
        s.now,
    );
    let a = s.take();
    let drops: Vec<(String, DropReason)> = a
        .iter()
        .filter_map(|a| match a {
            Action::WriteDropped(d) => Some((d.payload.clone(), d.reason)),
            _ => None,
        })
        .collect();
    let invalid = |p: &str| (p.to_owned(), DropReason::Invalid);
    assert_eq!(drops, [invalid("2"), invalid("3"), invalid("4"), invalid("{")]);
    assert_eq!(pending(&s), stored(&[1, 60]));
    assert_eq!(s.b.stats().writes_dropped, 4);
}

#[test]
fn the_overflow_policy_holds_for_restored_writes() {
    for (policy, kept, reason) in [
        (OverflowPolicy::DropOldest, [3, 4, 10], DropReason::DroppedOldest),
        (OverflowPolicy::DropNewest, [1, 2, 3], DropReason::DroppedNewest),
        (OverflowPolicy::Reject, [1, 2, 3], DropReason::DroppedNewest),
    ] {
        let o = BridgeOptions { max_offline_queue: 3, overflow: policy, ..quiet() };
        let mut s = Sim::new(o, vec![out("cmd")]);
        s.b.write("cmd", json!(10), s.now).unwrap();
        s.b.restore_writes(stored(&[1, 2, 3, 4]), accept, s.now);
        let d = dropped(&s.take());
        assert_eq!(d.len(), 2, "{policy:?}");
        assert!(d.iter().all(|(_, r)| *r == reason), "{policy:?}: {d:?}");
        assert_eq!(pending(&s), stored(&kept), "{policy:?}");
        assert_eq!(s.b.stats().writes_dropped, 2);
        assert_eq!(s.b.status(), Status::Disconnected);
    }
}
