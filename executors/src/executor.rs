//! The ticked executor: an `async_executor::LocalExecutor` that runs only when its host
//! ticks it, for at most a time budget and a number of polls per tick.
//!
//! # How the host learns about work
//! `LocalExecutor::try_tick` never tells anyone that work arrived. So, whenever a tick
//! drains the run queue, the executor parks one `LocalExecutor::tick()` future with its
//! own waker (the *signal*). async-executor wakes a parked ticker when a task is
//! scheduled; the signal then asks the host for exactly one callback. While a tick runs
//! no ticker is parked, so wakes during a tick cost nothing extra. Invariant outside a
//! tick: either a ticker is parked (quiet: no callback outstanding, none will be asked
//! for until a wake) or a callback is outstanding (work left, or woken).
//!
//! # Budget
//! Reading the clock every poll costs ~30% of a small poll, so the tick reads it after
//! the first poll and then every `n` polls, where
//! `n = remaining / (4 × slowest interval's mean poll time)`, clamped to
//! `1..=CHECK_EVERY`. Far from the budget the clock is read every 32 polls; close to it,
//! every poll, which is what bounds an overrun to one poll. (A burst of polls four times
//! slower than any measured before, e.g. a GC pause, can still overrun; the stats count
//! it in `overruns`.)
//!
//! A poll cannot be interrupted: a task that does a lot in one poll (a subscription
//! delivering thousands of values, or a callback that feeds its own record) would take
//! the tick with it. Such a task asks [`TickedExecutor::budget_spent`] between units of
//! work and yields when it says so; the tick then ends right after that poll. A single
//! poll longer than the whole budget is counted in `overruns` (see
//! [`TickStats::overran`]).
//!
//! # Order
//! Tasks run in the order they were scheduled (async-executor's FIFO run queue; a task
//! that wakes itself goes to the back). Under `manual` with the virtual clock the same
//! program polls in the same order every run.

use crate::clock::Clock;
use crate::config::{ConfigError, TickConfig, TickStrategy};
use crate::stats::{ExecutorStats, TickEnd, TickStats};
use alloc::rc::{Rc, Weak};
use alloc::sync::Arc;
use alloc::task::Wake;
use async_executor::LocalExecutor;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};

/// Most polls between two clock reads.
pub const CHECK_EVERY: u32 = 32;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

std::thread_local! {
    /// Executors alive on this thread, by id. Lets `Send + Sync` handles and wakers find
    /// their `!Send` executor without any `unsafe impl`: a lookup from another thread
    /// finds nothing.
    static REGISTRY: RefCell<Vec<(u64, Weak<Inner>)>> = const { RefCell::new(Vec::new()) };
}

fn lookup(id: u64) -> Option<Rc<Inner>> {
    REGISTRY.with(|r| r.borrow().iter().find(|(i, _)| *i == id).and_then(|(_, w)| w.upgrade()))
}

/// Why a task could not be spawned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnError {
    /// The executor was dropped or shut down.
    Gone,
    /// The handle was used on a thread other than the executor's.
    WrongThread,
}

impl core::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SpawnError::Gone => "the ticked executor was dropped or shut down",
            SpawnError::WrongThread => "the ticked executor lives on another thread",
        })
    }
}

impl std::error::Error for SpawnError {}

/// A host-ticked executor. Cheap to clone (an `Rc`); `!Send`. Drop the last clone, or
/// call [`TickedExecutor::shutdown`], to cancel every task and host callback.
#[derive(Clone)]
pub struct TickedExecutor {
    inner: Rc<Inner>,
}

/// A `Send + Sync` handle: spawn onto, and read the clock of, a [`TickedExecutor`] from
/// anywhere on its thread.
#[derive(Clone, Debug)]
pub struct ExecutorHandle {
    id: u64,
    thread: usize,
    clock: Clock,
}

std::thread_local! {
    static THREAD_MARK: u8 = const { 0 };
}

/// An address unique to the current thread while it lives.
fn thread_mark() -> usize {
    THREAD_MARK.with(|m| m as *const u8 as usize)
}

pub(crate) struct Inner {
    id: u64,
    /// `None` after shutdown. Ticks and parked futures hold their own `Rc`, so tasks are
    /// dropped once the running tick (if any) returns.
    exec: RefCell<Option<Rc<LocalExecutor<'static>>>>,
    config: Cell<TickConfig>,
    clock: Clock,
    /// A host callback is outstanding: asked for and not yet run (or, under `manual`, a
    /// tick is due).
    requested: Cell<bool>,
    /// Set while a tick polls, so a nested `tick()` from inside a task is refused.
    in_tick: Cell<bool>,
    shut_down: Cell<bool>,
    /// Ticks started so far; [`NextTick`] compares against it.
    tick_seq: Cell<u64>,
    /// Start and budget of the running tick, for [`TickedExecutor::budget_spent`].
    tick_start_ms: Cell<f64>,
    tick_budget_ms: Cell<f64>,
    /// A task was told the budget is spent: end the tick after the current poll.
    budget_seen: Cell<bool>,
    /// The last clock read of the running tick that found the budget not spent (the
    /// executor's own, or a task's [`TickedExecutor::budget_spent`]), and the polls
    /// completed by then: what the tick did after it is its final interval.
    unspent_ms: Cell<f64>,
    unspent_polls: Cell<u32>,
    /// Polls completed in the running tick.
    tick_polls: Cell<u32>,
    /// Tasks waiting for the next tick to start.
    tick_waiters: RefCell<Vec<Waker>>,
    /// The parked `LocalExecutor::tick()` future (see the module docs).
    parked: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    signal: Arc<Signal>,
    live: Rc<Cell<usize>>,
    stats: RefCell<Counters>,
    #[cfg(target_arch = "wasm32")]
    pub(crate) host: crate::host::HostDriver,
}

#[derive(Default)]
struct Counters {
    ticks: u64,
    polls: u64,
    busy_ms: f64,
    budget_hits: u64,
    max_polls_hits: u64,
    overruns: u64,
    max_tick_ms: f64,
    host_requests: u64,
    spawned: u64,
    last_tick: TickStats,
}

/// The waker of the parked ticker. `Send + Sync` as a `Waker` must be; it reaches its
/// executor through the thread-local registry.
struct Signal {
    id: u64,
    /// Woken from a thread that could not reach the executor (native only).
    foreign: AtomicBool,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        match lookup(self.id) {
            Some(inner) => inner.request(false),
            None => self.foreign.store(true, Ordering::Release),
        }
    }
}

struct LiveGuard(Rc<Cell<usize>>);
impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl TickedExecutor {
    /// An executor driven by `config.strategy`, measuring budgets with the platform's
    /// real clock, or with a fresh virtual clock when the strategy is `manual`.
    pub fn new(config: TickConfig) -> Result<Self, ConfigError> {
        let clock = if config.strategy == TickStrategy::Manual { Clock::new_virtual() } else { Clock::real() };
        Self::with_clock(config, clock)
    }

    /// An executor with an explicit clock. The clock stays when the strategy changes.
    pub fn with_clock(config: TickConfig, clock: Clock) -> Result<Self, ConfigError> {
        config.validate()?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let _ = weak;
            Inner {
                id,
                exec: RefCell::new(Some(Rc::new(LocalExecutor::new()))),
                config: Cell::new(config),
                clock,
                requested: Cell::new(false),
                in_tick: Cell::new(false),
                shut_down: Cell::new(false),
                tick_seq: Cell::new(0),
                tick_start_ms: Cell::new(0.0),
                tick_budget_ms: Cell::new(0.0),
                budget_seen: Cell::new(false),
                unspent_ms: Cell::new(0.0),
                unspent_polls: Cell::new(0),
                tick_polls: Cell::new(0),
                tick_waiters: RefCell::new(Vec::new()),
                parked: RefCell::new(None),
                signal: Arc::new(Signal { id, foreign: AtomicBool::new(false) }),
                live: Rc::new(Cell::new(0)),
                stats: RefCell::new(Counters::default()),
                #[cfg(target_arch = "wasm32")]
                host: crate::host::HostDriver::new(weak.clone()),
            }
        });
        REGISTRY.with(|r| {
            let mut r = r.borrow_mut();
            r.retain(|(_, w)| w.strong_count() > 0);
            r.push((id, Rc::downgrade(&inner)));
        });
        inner.park();
        Ok(TickedExecutor { inner })
    }

    /// A `Send + Sync` handle for spawning from code that needs one (the AimDB adapter).
    pub fn handle(&self) -> ExecutorHandle {
        ExecutorHandle { id: self.inner.id, thread: thread_mark(), clock: self.inner.clock.clone() }
    }

    /// Spawns a task. It first runs on the next tick; the host is asked for one.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        self.inner.spawn(future);
    }

    /// Spawns a task and returns its handle: dropping the handle cancels the task. It is
    /// never polled again; its future is dropped at once if it is waiting, or when the
    /// executor next reaches it if it is queued or running. `None` after shutdown.
    pub fn spawn_cancellable<F>(&self, future: F) -> Option<async_executor::Task<()>>
    where
        F: Future<Output = ()> + 'static,
    {
        self.inner.spawn_task(future)
    }

    /// A future that completes at the start of the next tick (and asks the host for
    /// one). Lets a task do something at most once per tick, e.g. deliver a coalesced
    /// value to a UI callback once per frame.
    pub fn next_tick(&self) -> NextTick {
        NextTick { inner: Rc::downgrade(&self.inner), after: self.inner.tick_seq.get() }
    }

    /// Whether the running tick has spent its time budget (one clock read; `false`
    /// outside a tick). The executor checks its budget only between polls, so a task that
    /// does much work in one poll asks this between units of it and, when it says so,
    /// yields (wakes itself and returns `Pending`, e.g. `futures_lite::future::yield_now`)
    /// with the rest of its work kept for a later poll. Once it has returned `true`, the
    /// tick ends after the current poll and the host is asked for another.
    pub fn budget_spent(&self) -> bool {
        let inner = &self.inner;
        if !inner.in_tick.get() {
            return false;
        }
        if inner.budget_seen.get() {
            return true;
        }
        let now = inner.clock.now_ms();
        let spent = now - inner.tick_start_ms.get() >= inner.tick_budget_ms.get();
        if spent {
            inner.budget_seen.set(true);
        } else {
            // The work after this point is what may overrun: a poll that yields as
            // soon as it is told is the one-step overshoot, not an overrun.
            inner.unspent_ms.set(now);
            inner.unspent_polls.set(inner.tick_polls.get());
        }
        spent
    }

    /// Runs one tick now: polls ready tasks until the queue is empty, the budget is
    /// spent, or `max_polls_per_tick` is reached. What the `manual` host calls; the other
    /// strategies call it from their callbacks. A call from inside a task is a no-op.
    pub fn tick(&self) -> TickStats {
        let budget = self.inner.config.get().budget_ms;
        self.inner.run_tick(budget)
    }

    /// Whether a tick is due: a task was woken or work was left after the last tick.
    /// Under `manual` this is the "host callback" the executor asked for.
    pub fn needs_tick(&self) -> bool {
        if self.inner.signal.foreign.swap(false, Ordering::AcqRel) {
            self.inner.request(false);
        }
        self.inner.requested.get()
    }

    /// Ticks while a tick is due, at most `max_ticks` times. Returns the ticks run.
    pub fn run_until_idle(&self, max_ticks: u32) -> u32 {
        let mut n = 0;
        while n < max_ticks && self.needs_tick() {
            self.tick();
            n += 1;
        }
        n
    }

    /// The configuration in force.
    pub fn config(&self) -> TickConfig {
        self.inner.config.get()
    }

    /// Switches strategy, budget or poll limit at run time. An outstanding host callback
    /// of the old strategy is cancelled (or disarmed, where the host cannot cancel) and
    /// asked for again from the new one; a quiet executor stays quiet. No task is lost or
    /// polled twice: the run queue is untouched.
    pub fn set_config(&self, config: TickConfig) -> Result<(), ConfigError> {
        config.validate()?;
        let old = self.inner.config.replace(config);
        if old.strategy != config.strategy && self.inner.requested.get() {
            #[cfg(target_arch = "wasm32")]
            self.inner.host.cancel_all();
            self.inner.requested.set(false);
            self.inner.request(false);
        }
        Ok(())
    }

    /// The clock budgets are measured with.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Counters since creation, and the last tick.
    pub fn stats(&self) -> ExecutorStats {
        let c = self.inner.stats.borrow();
        ExecutorStats {
            strategy: self.inner.config.get().strategy,
            ticks: c.ticks,
            polls: c.polls,
            busy_ms: c.busy_ms,
            budget_hits: c.budget_hits,
            max_polls_hits: c.max_polls_hits,
            overruns: c.overruns,
            max_tick_ms: c.max_tick_ms,
            host_requests: c.host_requests,
            spawned: c.spawned,
            live_tasks: self.inner.live.get(),
            tick_pending: self.inner.requested.get(),
            last_tick: c.last_tick,
        }
    }

    /// Cancels every task and host callback. Later spawns fail with
    /// [`SpawnError::Gone`]; later ticks do nothing.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shut_down.get()
    }
}

impl ExecutorHandle {
    /// Spawns onto the executor, if it is alive and on this thread.
    pub fn spawn<F>(&self, future: F) -> Result<(), SpawnError>
    where
        F: Future<Output = ()> + 'static,
    {
        match lookup(self.id) {
            Some(inner) if !inner.shut_down.get() => {
                inner.spawn(future);
                Ok(())
            }
            Some(_) => Err(SpawnError::Gone),
            None if self.thread != thread_mark() => Err(SpawnError::WrongThread),
            None => Err(SpawnError::Gone),
        }
    }

    /// The executor's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The executor, if it is alive and on this thread.
    pub fn executor(&self) -> Option<TickedExecutor> {
        lookup(self.id).map(|inner| TickedExecutor { inner })
    }
}

impl Inner {
    fn spawn<F: Future<Output = ()> + 'static>(&self, future: F) {
        if let Some(task) = self.spawn_task(future) {
            task.detach();
        }
    }

    fn spawn_task<F: Future<Output = ()> + 'static>(&self, future: F) -> Option<async_executor::Task<()>> {
        if self.shut_down.get() {
            return None;
        }
        let exec = self.exec.borrow().clone()?;
        self.stats.borrow_mut().spawned += 1;
        self.live.set(self.live.get() + 1);
        let guard = LiveGuard(self.live.clone());
        Some(exec.spawn(async move {
            let _guard = guard;
            future.await
        }))
    }

    /// Asks the host for one callback, unless one is outstanding. `after_budget`: the
    /// last tick left work behind (a microtask host then continues in a macrotask).
    pub(crate) fn request(&self, after_budget: bool) {
        if self.requested.replace(true) || self.shut_down.get() {
            return;
        }
        self.stats.borrow_mut().host_requests += 1;
        #[cfg(target_arch = "wasm32")]
        self.host.schedule(self.config.get().strategy, after_budget);
        #[cfg(not(target_arch = "wasm32"))]
        let _ = after_budget;
    }

    /// Parks a `LocalExecutor::tick()` future with the signal waker. Called when the run
    /// queue is empty; if a task slipped in (a wake from another thread), it runs it and
    /// asks for another tick instead.
    fn park(&self) {
        let Some(exec) = self.exec.borrow().clone() else { return };
        let mut fut: Pin<Box<dyn Future<Output = ()>>> = Box::pin(async move { exec.tick().await });
        let waker = Waker::from(self.signal.clone());
        match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Pending => *self.parked.borrow_mut() = Some(fut),
            Poll::Ready(()) => self.request(true),
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn budget_ms(&self) -> f64 {
        self.config.get().budget_ms
    }

    pub(crate) fn run_tick(&self, budget_ms: f64) -> TickStats {
        if self.in_tick.get() || self.shut_down.get() {
            return TickStats::default();
        }
        self.in_tick.set(true);
        self.requested.set(false);
        self.budget_seen.set(false);
        self.tick_seq.set(self.tick_seq.get() + 1);
        // Unpark first: while the tick runs, wakes must not reach the host. (Waking the
        // `next_tick` waiters with the ticker still parked asked for one more, empty,
        // host callback after every tick that had a waiter.)
        drop(self.parked.borrow_mut().take());
        let waiters = core::mem::take(&mut *self.tick_waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
        self.clock.fire_due();
        let Some(exec) = self.exec.borrow().clone() else {
            self.in_tick.set(false);
            return TickStats::default();
        };

        let max_polls = self.config.get().max_polls_per_tick;
        let clock = &self.clock;
        let start = clock.now_ms();
        self.tick_start_ms.set(start);
        self.tick_budget_ms.set(budget_ms);
        self.unspent_ms.set(start);
        self.unspent_polls.set(0);
        self.tick_polls.set(0);
        let mut polls: u32 = 0;
        let mut next_check: u32 = 1;
        let mut last_check_ms = start;
        let mut last_check_polls: u32 = 0;
        let mut clock_reads: u32 = 2;
        let mut worst_mean: f64 = 0.0;
        let ended = loop {
            if polls >= max_polls {
                break TickEnd::MaxPolls;
            }
            if polls == next_check {
                let now = clock.now_ms();
                clock_reads += 1;
                let elapsed = now - start;
                if elapsed >= budget_ms {
                    break TickEnd::Budget;
                }
                // Cost estimate: the slowest interval's mean poll so far (polls vary:
                // a reader draining a batch costs more than a producer's push).
                let interval_mean = (now - last_check_ms) / f64::from(polls - last_check_polls);
                worst_mean = worst_mean.max(interval_mean);
                // Plan for polls four times that slow, so the interval shrinks to one
                // poll well before the budget runs out.
                let n = if worst_mean > 0.0 {
                    ((budget_ms - elapsed) / (4.0 * worst_mean)).clamp(1.0, f64::from(CHECK_EVERY)) as u32
                } else {
                    CHECK_EVERY
                };
                last_check_ms = now;
                last_check_polls = polls;
                self.unspent_ms.set(now);
                self.unspent_polls.set(polls);
                next_check = polls + n;
            }
            if !exec.try_tick() {
                break TickEnd::Drained;
            }
            polls += 1;
            self.tick_polls.set(polls);
            if self.budget_seen.get() {
                // A task saw the budget spent and yielded: check the clock now.
                next_check = polls;
            }
        };
        let end = clock.now_ms();
        let tick = TickStats {
            polls,
            elapsed_ms: end - start,
            budget_ms,
            ended,
            final_interval_polls: polls - self.unspent_polls.get(),
            final_interval_ms: end - self.unspent_ms.get(),
            clock_reads,
        };
        {
            let mut c = self.stats.borrow_mut();
            c.ticks += 1;
            c.polls += u64::from(polls);
            c.busy_ms += tick.elapsed_ms;
            c.max_tick_ms = c.max_tick_ms.max(tick.elapsed_ms);
            match ended {
                TickEnd::Budget => c.budget_hits += 1,
                TickEnd::MaxPolls => c.max_polls_hits += 1,
                TickEnd::Drained => {}
            }
            if tick.overran() {
                c.overruns += 1;
            }
            c.last_tick = tick;
        }
        self.in_tick.set(false);
        drop(exec);
        if self.shut_down.get() {
            return tick;
        }
        match ended {
            TickEnd::Drained => self.park(),
            TickEnd::Budget | TickEnd::MaxPolls => self.request(true),
        }
        tick
    }

    fn shutdown(&self) {
        if self.shut_down.replace(true) {
            return;
        }
        #[cfg(target_arch = "wasm32")]
        self.host.cancel_all();
        self.requested.set(false);
        drop(self.parked.borrow_mut().take());
        drop(core::mem::take(&mut *self.tick_waiters.borrow_mut()));
        // Dropping the LocalExecutor cancels (drops) every task. If a tick is running,
        // it holds the last Rc and the drop happens when that tick returns.
        let exec = self.exec.borrow_mut().take();
        drop(exec);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        #[cfg(target_arch = "wasm32")]
        self.host.cancel_all();
        let id = self.id;
        // The registry may already be gone during thread teardown.
        let _ = REGISTRY.try_with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                r.retain(|(i, _)| *i != id);
            }
        });
    }
}

/// Future returned by [`TickedExecutor::next_tick`].
pub struct NextTick {
    inner: Weak<Inner>,
    after: u64,
}

impl Future for NextTick {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = self.inner.upgrade() else { return Poll::Ready(()) };
        if inner.tick_seq.get() > self.after || inner.shut_down.get() {
            return Poll::Ready(());
        }
        inner.tick_waiters.borrow_mut().push(cx.waker().clone());
        inner.request(true);
        Poll::Pending
    }
}
