//! The real aimdb-core engine on the `manual` executor with the virtual clock.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use aimdb_wasm::WasmAdapter;
use common::*;
use futures_lite::future::block_on;
use std::time::Duration;

/// Builds the pipeline, then advances virtual time in 5 ms steps, ticking until idle.
fn run() -> (Seen, Vec<f64>) {
    let (adapter, executor) = WasmAdapter::manual();
    let clock = executor.clock().as_virtual().expect("manual uses the virtual clock").clone();
    let seen = Seen::default();
    let db = block_on(build(adapter, &seen));
    let mut times = Vec::new();
    for _ in 0..20 {
        executor.run_until_idle(1000);
        times.push(clock.now_ms());
        clock.advance(Duration::from_millis(5));
    }
    executor.run_until_idle(1000);
    drop(db);
    (seen, times)
}

#[test]
fn source_transform_tap_yields_the_mapped_values() {
    let (seen, _) = run();
    assert_eq!(seen.fahrenheit(), EXPECTED_F);
}

#[test]
fn transform_join_pairs_the_latest_inputs_deterministically() {
    let (seen, _) = run();
    let comfort = seen.comfort();
    assert_join_shape(&comfort);
    // Virtual time makes the interleaving exact: c every 10 ms, h every 15 ms; at
    // t = 30 ms the humidity timer (registered first) fires first.
    assert_eq!(comfort, [(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (3.0, 2.0), (4.0, 2.0), (4.0, 3.0), (5.0, 3.0)]);
    // And the same program gives the same result every run.
    for _ in 0..5 {
        assert_eq!(run().0.comfort(), comfort);
    }
}

#[test]
fn nothing_happens_without_time_passing() {
    let (adapter, executor) = WasmAdapter::manual();
    let seen = Seen::default();
    let _db = block_on(build(adapter, &seen));
    executor.run_until_idle(1000);
    assert!(!executor.needs_tick());
    assert!(seen.fahrenheit().is_empty() && seen.comfort().is_empty());
}
