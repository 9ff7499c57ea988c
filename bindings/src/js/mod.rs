//! The JS surface. `error` and `options` are plain Rust (tested natively); `record`
//! and `db` are the wasm32 glue.

#[cfg(feature = "bridge")]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod backfill;
pub mod error;
pub mod options;

#[cfg(target_arch = "wasm32")]
pub mod db;
#[cfg(target_arch = "wasm32")]
pub mod record;
#[cfg(target_arch = "wasm32")]
pub mod flat_out;
#[cfg(target_arch = "wasm32")]
pub mod out;
#[cfg(target_arch = "wasm32")]
pub mod tape;
#[cfg(all(target_arch = "wasm32", feature = "bridge"))]
pub mod bridge;
