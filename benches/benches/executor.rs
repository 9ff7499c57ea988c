//! Executor benchmarks: `TickedExecutor` (manual strategy, real clock, a budget and a
//! poll limit that never bind) against a bare `async_executor::LocalExecutor` driven by
//! a `try_tick` loop. The difference is the ticked executor's bookkeeping: its spawn
//! wrapper (live-task count, stats), the budget clock reads, per-tick stats, and
//! parking a ticker / requesting a host callback around each tick.
//!
//! - `executor/spawn_complete`: spawn `TASKS` trivial tasks, run until all completed.
//!   Throughput: tasks.
//! - `executor/wake_poll`: spawn `YIELDERS` tasks that each `yield_now()` `YIELDS` times,
//!   run until all completed. Throughput: wake + poll pairs (`YIELDERS * YIELDS`; the
//!   spawns are amortised over `YIELDS` polls each).

#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)] // `ready` is for the buffer benches.
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::Cell;
    use std::future::Future;
    use std::rc::Rc;

    use aimdb_wasm_executors::{Clock, TickConfig, TickEnd, TickedExecutor};
    use async_executor::LocalExecutor;
    use criterion::{criterion_group, Criterion, Throughput};
    use futures_lite::future::yield_now;

    use crate::common::config;

    const TASKS: u64 = 1024;
    const YIELDERS: u64 = 64;
    const YIELDS: u64 = 64;

    /// The two contenders behind one interface: spawn a detached task, run to idle.
    trait Exec {
        fn spawn_task(&self, fut: impl Future<Output = ()> + 'static);
        fn run(&self);
    }

    struct Ours(TickedExecutor);

    impl Ours {
        fn new() -> Self {
            // 1000 ms (the largest valid budget) and u32::MAX polls: neither binds, so
            // one tick runs every task to completion.
            let cfg = TickConfig::manual(1000.0, u32::MAX);
            Ours(TickedExecutor::with_clock(cfg, Clock::real()).expect("valid config"))
        }
    }

    impl Exec for Ours {
        #[inline]
        fn spawn_task(&self, fut: impl Future<Output = ()> + 'static) {
            self.0.spawn(fut);
        }
        #[inline]
        fn run(&self) {
            while self.0.tick().ended != TickEnd::Drained {}
        }
    }

    struct Bare(LocalExecutor<'static>);

    impl Exec for Bare {
        #[inline]
        fn spawn_task(&self, fut: impl Future<Output = ()> + 'static) {
            self.0.spawn(fut).detach();
        }
        #[inline]
        fn run(&self) {
            while self.0.try_tick() {}
        }
    }

    /// Spawns `tasks` tasks made by `task` and runs them to completion; checks (once,
    /// before measuring) that every task ran to its end.
    fn bench_exec<E: Exec, F: Future<Output = ()> + 'static>(
        c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        exec: E,
        tasks: u64,
        task: impl Fn() -> F,
    ) {
        let finished = Rc::new(Cell::new(0u64));
        for _ in 0..tasks {
            let fut = task();
            let finished = finished.clone();
            exec.spawn_task(async move {
                fut.await;
                finished.set(finished.get() + 1);
            });
        }
        exec.run();
        assert_eq!(finished.get(), tasks, "{name}: not every task completed");

        c.bench_function(name, |b| {
            b.iter(|| {
                for _ in 0..tasks {
                    exec.spawn_task(task());
                }
                exec.run();
            })
        });
    }

    async fn trivial() {}

    async fn yielder() {
        for _ in 0..YIELDS {
            yield_now().await;
        }
    }

    fn spawn_complete(c: &mut Criterion) {
        let mut g = c.benchmark_group("executor/spawn_complete");
        g.throughput(Throughput::Elements(TASKS));
        bench_exec(&mut g, "ours", Ours::new(), TASKS, trivial);
        bench_exec(&mut g, "bare", Bare(LocalExecutor::new()), TASKS, trivial);
        g.finish();
    }

    fn wake_poll(c: &mut Criterion) {
        let mut g = c.benchmark_group("executor/wake_poll");
        g.throughput(Throughput::Elements(YIELDERS * YIELDS));
        bench_exec(&mut g, "ours", Ours::new(), YIELDERS, yielder);
        bench_exec(&mut g, "bare", Bare(LocalExecutor::new()), YIELDERS, yielder);
        g.finish();
    }

    criterion_group! {
        name = benches;
        config = config();
        targets = spawn_complete, wake_poll
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(imp::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
