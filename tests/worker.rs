//! The adapter in a dedicated Worker: no `window`, everything through `globalThis`.
#![cfg(target_arch = "wasm32")]

mod common;

use aimdb_wasm::{TickConfig, TickStrategy, WasmAdapter};
use common::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

async fn pipeline_under(strategy: TickStrategy) {
    let (adapter, executor) =
        WasmAdapter::with_config(TickConfig { strategy, budget_ms: 4.0, max_polls_per_tick: 4096 }).unwrap();
    let seen = Seen::default();
    let _db = build(adapter, &seen).await;
    seen.until_complete().await;
    assert_eq!(seen.fahrenheit(), EXPECTED_F);
    assert_join_shape(&seen.comfort());
    executor.shutdown();
}

#[wasm_bindgen_test]
async fn pipeline_in_a_worker_under_macrotask() {
    pipeline_under(TickStrategy::Macrotask).await;
}

#[wasm_bindgen_test]
async fn pipeline_in_a_worker_under_animation_frame() {
    pipeline_under(TickStrategy::AnimationFrame).await;
}

#[wasm_bindgen_test]
async fn pipeline_in_a_worker_under_idle_falls_back_or_runs() {
    pipeline_under(TickStrategy::Idle).await;
}
