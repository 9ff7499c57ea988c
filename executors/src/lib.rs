//! # aimdb-wasm-executors
//!
//! A host-ticked executor for the browser: an [`async_executor::LocalExecutor`] that
//! polls only when its host ticks it (`requestAnimationFrame`, a microtask, a macrotask,
//! an idle callback, or an explicit [`TickedExecutor::tick`]), for at most a time budget
//! and a number of polls per tick. Tasks are never handed to `spawn_local`.
//!
//! - [`config`]: [`TickStrategy`] and [`TickConfig`] (serde, switchable at run time).
//! - [`executor`]: [`TickedExecutor`], the tick loop, and its `Send + Sync`
//!   [`ExecutorHandle`].
//! - [`clock`]: the budget clock and sleeps; virtual under `manual` for deterministic tests.
//! - [`stats`]: per-tick and cumulative counters.
//! - `host` (wasm32 only): the browser callbacks behind each strategy.
//!
//! Generic: no AimDB dependency. The scheduler is plain Rust and runs natively; only the
//! host glue touches JS.

extern crate alloc;

pub mod clock;
pub mod config;
pub mod executor;
pub mod pacer;
pub mod stats;

#[cfg(target_arch = "wasm32")]
mod host;

pub use clock::{Clock, Sleep, VirtualClock};
pub use config::{ConfigError, TickConfig, TickStrategy};
pub use async_executor::Task;
pub use executor::{ExecutorHandle, NextTick, SpawnError, TickedExecutor, CHECK_EVERY};
pub use pacer::{Pacer, YIELD_EVERY};
pub use stats::{ExecutorStats, TickEnd, TickStats};
