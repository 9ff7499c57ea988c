//! Buffer behaviour through the public API and through aimdb-core's
//! `Buffer` / `DynBuffer` / `BufferReader` traits. Native only.

#![cfg(not(target_arch = "wasm32"))]

use aimdb_core::buffer::{Buffer, BufferCfg, BufferReader, DynBuffer};
use aimdb_core::DbError;
use aimdb_wasm::buffer::{
    validate_buffer_cfg, BufferCfgError, Drained, Mailbox, SingleLatest, SpmcRing, WasmBuffer,
    WasmBufferReader, MAX_RING_CAPACITY,
};
use futures_lite::future::{block_on, poll_once};

fn ring(capacity: usize) -> WasmBuffer<u32> {
    <WasmBuffer<u32> as Buffer<u32>>::new(&BufferCfg::SpmcRing { capacity })
}

fn all_kinds() -> [WasmBuffer<u32>; 3] {
    [
        ring(4),
        WasmBuffer::try_new(&BufferCfg::SingleLatest).unwrap(),
        WasmBuffer::try_new(&BufferCfg::Mailbox).unwrap(),
    ]
}

fn lag_count<T: std::fmt::Debug>(r: Result<T, DbError>) -> u64 {
    match r {
        Err(DbError::BufferLagged { lag_count, .. }) => lag_count,
        other => panic!("expected BufferLagged, got {other:?}"),
    }
}

fn assert_empty<T: std::fmt::Debug>(r: Result<T, DbError>) {
    assert!(
        matches!(r, Err(DbError::BufferEmpty)),
        "expected BufferEmpty, got {r:?}"
    );
}

// ----- ring -----

#[test]
fn ring_overflow_reports_exact_lag_then_retained_items() {
    let buf = ring(4);
    let mut r = Buffer::subscribe(&buf);
    for i in 0..10 {
        Buffer::push(&buf, i);
    }
    // Through the trait's async recv.
    assert_eq!(lag_count(block_on(BufferReader::recv(&mut r))), 6);
    for i in 6..10 {
        assert_eq!(block_on(BufferReader::recv(&mut r)).unwrap(), i);
    }
    assert_empty(BufferReader::try_recv(&mut r));
    match &r {
        WasmBufferReader::Ring(rr) => assert_eq!(rr.lagged_total(), 6),
        _ => unreachable!(),
    }
}

#[test]
fn ring_keeps_working_after_lag() {
    let buf = SpmcRing::new(4);
    let mut r = buf.subscribe();
    for i in 0..10u32 {
        buf.push(i);
    }
    assert_eq!(lag_count(r.try_recv()), 6);
    for i in 6..10 {
        assert_eq!(r.try_recv().unwrap(), i);
    }
    assert_empty(r.try_recv());
    // Back in step: no further lag while it keeps up.
    for i in 10..12 {
        buf.push(i);
    }
    for i in 10..12 {
        assert_eq!(r.try_recv().unwrap(), i);
    }
    assert_empty(r.try_recv());
    // A second overflow is reported with its own count and accumulates.
    for i in 12..21 {
        buf.push(i);
    }
    assert_eq!(lag_count(r.try_recv()), 5);
    assert_eq!(r.try_recv().unwrap(), 17);
    assert_eq!(r.lagged_total(), 11);
}

#[test]
fn ring_readers_have_independent_cursors() {
    let buf = ring(8);
    let mut a = buf.subscribe();
    let mut b = buf.subscribe();
    buf.push(1);
    buf.push(2);
    assert_eq!(a.try_recv().unwrap(), 1);
    assert_eq!(a.try_recv().unwrap(), 2);
    assert_empty(a.try_recv());
    assert_eq!(b.try_recv().unwrap(), 1, "a's reads do not move b");
    assert_eq!(b.try_recv().unwrap(), 2);
}

#[test]
fn ring_late_join_sees_nothing_old() {
    let buf = ring(4);
    for i in 0..3 {
        buf.push(i);
    }
    let mut r = buf.subscribe();
    assert_empty(r.try_recv());
    buf.push(3);
    assert_eq!(r.try_recv().unwrap(), 3);
    assert_empty(r.try_recv());
}

// ----- single latest -----

#[test]
fn latest_late_join_sees_current_value_first() {
    let buf = WasmBuffer::<u32>::try_new(&BufferCfg::SingleLatest).unwrap();
    buf.push(1);
    buf.push(2);
    let mut r = buf.subscribe();
    assert_eq!(block_on(r.next()).unwrap(), 2);
    assert_empty(r.try_recv());
    buf.push(3);
    assert_eq!(r.try_recv().unwrap(), 3);
}

#[test]
fn latest_coalesces_and_counts_skipped_versions() {
    let buf = SingleLatest::new();
    let mut r = buf.subscribe();
    for i in 1..=5u32 {
        buf.push(i);
    }
    assert_eq!(r.try_recv().unwrap(), 5);
    assert_empty(r.try_recv());
    assert_eq!(r.coalesced(), 4);
}

// ----- mailbox -----

#[test]
fn mailbox_value_before_subscribe_is_not_delivered() {
    let buf = WasmBuffer::<u32>::try_new(&BufferCfg::Mailbox).unwrap();
    let _other = buf.subscribe();
    buf.push(1);
    let mut r = buf.subscribe();
    assert_empty(r.try_recv());
    buf.push(2);
    assert_eq!(r.try_recv().unwrap(), 2);
    assert_empty(r.try_recv());
}

#[test]
fn mailbox_every_reader_gets_the_value() {
    let buf = WasmBuffer::<u32>::try_new(&BufferCfg::Mailbox).unwrap();
    let mut a = buf.subscribe_boxed();
    let mut b = buf.subscribe_boxed();
    DynBuffer::push(&buf, 7);
    assert_eq!(block_on(a.recv()).unwrap(), 7);
    assert_eq!(block_on(b.recv()).unwrap(), 7);
    assert_empty(a.try_recv());
    assert_empty(b.try_recv());
}

#[test]
fn mailbox_counts_overwritten_values() {
    let buf = Mailbox::new();
    let mut r = buf.subscribe();
    buf.push(1u32);
    buf.push(2);
    buf.push(3);
    assert_eq!(r.try_recv().unwrap(), 3);
    assert_eq!(r.overwritten(), 2);
    assert_empty(r.try_recv());
}

// ----- batch paths -----

#[test]
fn drain_into_without_lag() {
    let buf = ring(8);
    let mut r = buf.subscribe();
    for i in 0..5 {
        buf.push(i);
    }
    let mut out = Vec::new();
    assert_eq!(r.drain_into(&mut out), Drained { items: 5, lagged: 0 });
    assert_eq!(out, [0, 1, 2, 3, 4]);
    assert_eq!(r.drain_into(&mut out), Drained::default());
}

#[test]
fn drain_into_with_lag_folds_it_in() {
    let buf = ring(4);
    let mut r = buf.subscribe();
    for i in 0..10 {
        buf.push(i);
    }
    let mut out = Vec::new();
    assert_eq!(r.drain_into(&mut out), Drained { items: 4, lagged: 6 });
    assert_eq!(out, [6, 7, 8, 9]);
    assert_empty(r.try_recv());
}

#[test]
fn drain_into_yields_at_most_one_for_latest_and_mailbox() {
    for cfg in [BufferCfg::SingleLatest, BufferCfg::Mailbox] {
        let buf = WasmBuffer::<u32>::try_new(&cfg).unwrap();
        let mut r = buf.subscribe();
        buf.push(1);
        buf.push(2);
        let mut out = Vec::new();
        assert_eq!(r.drain_into(&mut out), Drained { items: 1, lagged: 0 }, "{cfg}");
        assert_eq!(out, [2], "{cfg}");
    }
}

#[test]
fn recv_batch_waits_then_drains() {
    for buf in all_kinds() {
        let kind = buf.stats().kind;
        let mut r = buf.subscribe();
        let mut out = Vec::new();
        {
            let mut fut = Box::pin(r.recv_batch(&mut out));
            assert!(block_on(poll_once(&mut fut)).is_none(), "{kind}");
            assert_eq!(buf.stats().parked, 1, "{kind}");
            buf.push(1);
            buf.push(2);
            let drained = block_on(poll_once(&mut fut)).expect("woken and ready");
            let expected = if kind == "spmc_ring" { 2 } else { 1 };
            assert_eq!(drained, Drained { items: expected, lagged: 0 }, "{kind}");
        }
        let want: &[u32] = if kind == "spmc_ring" { &[1, 2] } else { &[2] };
        assert_eq!(out, want, "{kind}");
        let s = buf.stats();
        assert_eq!((s.parked, s.listeners), (0, 0), "{kind}");
    }
}

// ----- notification -----

#[test]
fn parked_reader_is_woken_by_push() {
    for buf in all_kinds() {
        let kind = buf.stats().kind;
        let mut r = buf.subscribe();
        let mut fut = r.next();
        assert!(block_on(poll_once(&mut fut)).is_none(), "{kind}: first poll parks");
        let s = buf.stats();
        assert_eq!((s.parked, s.listeners), (1, 1), "{kind}");
        buf.push(42);
        assert_eq!(buf.stats().notifies, 1, "{kind}");
        assert_eq!(
            block_on(poll_once(&mut fut)).expect("ready after push").unwrap(),
            42,
            "{kind}"
        );
        drop(fut);
        let s = buf.stats();
        assert_eq!((s.parked, s.listeners), (0, 0), "{kind}");
    }
}

#[test]
fn parked_reader_is_woken_from_another_thread() {
    let buf = std::sync::Arc::new(ring(16));
    let mut r = buf.subscribe();
    let producer = {
        let buf = buf.clone();
        std::thread::spawn(move || {
            while buf.stats().parked == 0 {
                std::thread::yield_now();
            }
            buf.push(5);
        })
    };
    assert_eq!(block_on(r.next()).unwrap(), 5);
    producer.join().unwrap();
}

#[test]
fn push_with_no_parked_reader_does_not_notify() {
    for buf in all_kinds() {
        let kind = buf.stats().kind;
        let mut r = buf.subscribe();
        buf.push(1);
        // The reader never parks: the item is there when it asks.
        assert_eq!(block_on(r.next()).unwrap(), 1, "{kind}");
        buf.push(2);
        let s = buf.stats();
        assert_eq!(
            (s.readers, s.parked, s.listeners, s.notifies),
            (1, 0, 0, 0),
            "{kind}"
        );
    }
}

#[test]
fn reader_drop_frees_its_listener_at_once() {
    for buf in all_kinds() {
        let kind = buf.stats().kind;
        for i in 0..10_000 {
            let mut r = buf.subscribe();
            if i % 2 == 0 {
                // Inherent, unboxed future.
                let mut fut = r.next();
                assert!(block_on(poll_once(&mut fut)).is_none());
                drop(fut);
            } else {
                // Through the trait's boxed future.
                let mut fut = BufferReader::recv(&mut r);
                assert!(block_on(poll_once(&mut fut)).is_none());
                drop(fut);
            }
            drop(r);
        }
        let s = buf.stats();
        assert_eq!((s.readers, s.parked, s.listeners), (0, 0, 0), "{kind}");
        assert_eq!(s.notifies, 0, "{kind}: nobody left parked to notify");
        buf.push(1);
        assert_eq!(buf.stats().notifies, 0, "{kind}");
    }
}

#[test]
fn reader_dropped_after_wake_but_before_poll_leaves_no_trace() {
    for buf in all_kinds() {
        let kind = buf.stats().kind;
        let mut r = buf.subscribe();
        let mut fut = r.next();
        assert!(block_on(poll_once(&mut fut)).is_none());
        buf.push(1);
        drop(fut);
        drop(r);
        let s = buf.stats();
        assert_eq!((s.readers, s.parked, s.listeners), (0, 0, 0), "{kind}");
    }
}

// ----- configuration -----

#[test]
fn invalid_capacity_is_an_error_not_a_panic() {
    for (capacity, expected) in [
        (0, BufferCfgError::ZeroCapacity),
        (
            MAX_RING_CAPACITY + 1,
            BufferCfgError::CapacityTooLarge {
                capacity: MAX_RING_CAPACITY + 1,
                max: MAX_RING_CAPACITY,
            },
        ),
    ] {
        let cfg = BufferCfg::SpmcRing { capacity };
        assert_eq!(validate_buffer_cfg(&cfg), Err(expected.clone()));
        assert_eq!(WasmBuffer::<u32>::try_new(&cfg).unwrap_err(), expected);
        assert!(expected.to_string().contains(&capacity.to_string()));
    }
    // Would be an impossible allocation if anything were reserved up front.
    assert!(WasmBuffer::<u32>::try_new(&BufferCfg::SpmcRing {
        capacity: usize::MAX
    })
    .is_err());
}

#[test]
fn invalid_capacity_panics_only_through_trait_new() {
    let result = std::panic::catch_unwind(|| {
        <WasmBuffer<u32> as Buffer<u32>>::new(&BufferCfg::SpmcRing { capacity: 0 })
    });
    let payload = result.expect_err("Buffer::new must panic on capacity 0");
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(msg.contains("capacity=0"), "{msg}");
}

#[test]
#[cfg(target_pointer_width = "64")]
fn max_capacity_does_not_allocate_up_front() {
    // 2^20 slots of 2^44 bytes: reserving them would overflow the address space
    // ("capacity overflow" panic), so this only passes if nothing is reserved.
    type Huge = [u8; 1 << 44];
    let buf = SpmcRing::<Huge>::try_new(MAX_RING_CAPACITY).expect("MAX is valid");
    let r = buf.subscribe();
    let s = buf.stats();
    assert_eq!((s.capacity, s.len, s.readers), (MAX_RING_CAPACITY, 0, 1));
    drop(r);

    // And through the cfg path: a MAX ring of small items works normally.
    let buf = ring(MAX_RING_CAPACITY);
    let mut r = buf.subscribe();
    buf.push(1);
    assert_eq!(r.try_recv().unwrap(), 1);
    assert_eq!(buf.stats().len, 1);
}
