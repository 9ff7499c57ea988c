//! [`WasmAdapter`]: aimdb-core's runtime traits on the host-ticked executor.

use crate::logger::LogSink;
use aimdb_executor::{ExecutorError, ExecutorResult, RuntimeAdapter, Spawn};
use aimdb_wasm_executors::{ConfigError, ExecutorHandle, SpawnError, TickConfig, TickedExecutor};
use core::future::Future;

/// The AimDB runtime adapter for the browser (and for native tests under `manual`).
///
/// Implements `RuntimeAdapter` (`"wasm"`), `Spawn` (onto a [`TickedExecutor`], never
/// `spawn_local`), `TimeOps` (the executor's clock: `performance.now()` and
/// `setTimeout`, or the virtual clock under `manual`), `Logger` (console on wasm32, a
/// [`LogSink`] natively) and `JoinFanInRuntime` (so `transform_join` works).
///
/// `Send + Sync` without any `unsafe impl`: it holds an [`ExecutorHandle`] (an id and a
/// clock) and reaches the `!Send` executor through a thread-local registry. Spawning
/// from another thread, or after the executor is gone, is an `ExecutorError`.
#[derive(Clone, Debug)]
pub struct WasmAdapter {
    handle: ExecutorHandle,
    log: LogSink,
}

impl WasmAdapter {
    /// An adapter spawning onto `executor`. Keep the executor alive as long as the
    /// database: it owns the tasks.
    pub fn new(executor: &TickedExecutor) -> Self {
        Self { handle: executor.handle(), log: LogSink::default() }
    }

    /// An adapter with its own executor, built from `config`.
    pub fn with_config(config: TickConfig) -> Result<(Self, TickedExecutor), ConfigError> {
        let executor = TickedExecutor::new(config)?;
        Ok((Self::new(&executor), executor))
    }

    /// An adapter on a `manual` executor with a virtual clock: what native code and
    /// deterministic tests use.
    pub fn manual() -> (Self, TickedExecutor) {
        let executor = TickedExecutor::new(TickConfig::manual(4.0, 4096))
            .unwrap_or_else(|_| unreachable!("the manual default config is valid"));
        (Self::new(&executor), executor)
    }

    /// Replaces the log sink (level filter, native capture).
    pub fn with_log(mut self, log: LogSink) -> Self {
        self.log = log;
        self
    }

    /// The executor handle.
    pub fn handle(&self) -> &ExecutorHandle {
        &self.handle
    }

    /// The log sink.
    pub fn log(&self) -> &LogSink {
        &self.log
    }
}

impl RuntimeAdapter for WasmAdapter {
    fn runtime_name() -> &'static str {
        "wasm"
    }
}

impl Spawn for WasmAdapter {
    /// Tasks are detached; there is nothing to join.
    type SpawnToken = ();

    fn spawn<F>(&self, future: F) -> ExecutorResult<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Boxed: one task type for every engine future (and for the facade's tasks,
        // which spawn the same `Pin<Box<dyn Future>>`), so the executor's task
        // machinery is compiled once instead of once per future type.
        let future: core::pin::Pin<Box<dyn Future<Output = ()>>> = Box::pin(future);
        self.handle.spawn(future).map_err(|e| ExecutorError::SpawnFailed {
            message: match e {
                SpawnError::Gone => "aimdb-wasm: the ticked executor was dropped or shut down",
                SpawnError::WrongThread => "aimdb-wasm: spawn from a thread other than the executor's",
            },
        })
    }
}
