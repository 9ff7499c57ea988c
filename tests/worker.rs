//! The adapter in a dedicated Worker: no `window`, everything through `globalThis`.
#![cfg(target_arch = "wasm32")]

mod common;

use aimdb_wasm::TickStrategy;
use common::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

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
