//! # aimdb-wasm
//!
//! The AimDB dataflow engine (`aimdb-core` 1.1) in the browser.
//!
//! - [`WasmAdapter`] ([`runtime`], [`time`], [`logger`], [`join`]): aimdb-core's
//!   runtime traits on a host-ticked executor (`aimdb-wasm-executors`): tasks run when
//!   the host ticks (`requestAnimationFrame`, microtask, macrotask, idle, or manual),
//!   within a time budget per tick.
//! - [`buffer`]: `SpmcRing`, `SingleLatest` and `Mailbox`, notifying readers through
//!   `event-listener`, with a batch drain path.
//! - [`WasmRecordRegistrarExt`]: `buffer` / `source` / `tap` / `transform` read exactly
//!   as on Tokio; `transform_join` works because the adapter is `JoinFanInRuntime`.
//!
//! No `unsafe impl Send/Sync` anywhere: the adapter reaches its `!Send` executor through
//! a thread-local registry, and buffers use a spin lock that is uncontended (and, on
//! wasm32 without atomics, made of plain loads and stores).

#![forbid(unsafe_code)]

extern crate alloc;

pub mod buffer;
pub mod join;
pub mod logger;
pub mod runtime;
mod sync;
pub mod time;

pub use aimdb_wasm_executors as executors;
pub use aimdb_wasm_executors::{Clock, TickConfig, TickStrategy, TickedExecutor, VirtualClock};
pub use buffer::{validate_buffer_cfg, BufferCfgError, WasmBuffer, WasmBufferReader};
pub use logger::{LogLevel, LogSink};
pub use runtime::WasmAdapter;
pub use time::WasmInstant;

aimdb_core::impl_record_registrar_ext! {
    WasmRecordRegistrarExt,
    WasmAdapter,
    WasmBuffer,
    "runtime",
    |cfg| WasmBuffer::<T>::new(cfg)
}

/// `buffer` with validation: an invalid [`BufferCfg`](aimdb_core::buffer::BufferCfg)
/// (capacity 0, or above [`buffer::MAX_RING_CAPACITY`]) is an error instead of a panic.
pub trait WasmRecordRegistrarTryExt<'a, T>
where
    T: Send + Sync + Clone + core::fmt::Debug + 'static,
{
    /// Validates `cfg`, then configures the buffer.
    fn try_buffer(
        &'a mut self,
        cfg: aimdb_core::buffer::BufferCfg,
    ) -> Result<&'a mut aimdb_core::RecordRegistrar<'a, T, WasmAdapter>, BufferCfgError>;
}

impl<'a, T> WasmRecordRegistrarTryExt<'a, T> for aimdb_core::RecordRegistrar<'a, T, WasmAdapter>
where
    T: Send + Sync + Clone + core::fmt::Debug + 'static,
{
    fn try_buffer(
        &'a mut self,
        cfg: aimdb_core::buffer::BufferCfg,
    ) -> Result<&'a mut aimdb_core::RecordRegistrar<'a, T, WasmAdapter>, BufferCfgError> {
        let buffer = WasmBuffer::<T>::try_new(&cfg)?;
        Ok(self.buffer_raw(alloc::boxed::Box::new(buffer)))
    }
}
