//! [`Pacer`]: how a task that makes many steps in one poll keeps the tick budget.
//!
//! The executor checks its budget only between polls. A task that loops over a backlog
//! (a subscription delivering every ring item, a transform, a simulated source) must
//! hand the tick back itself: [`Pacer::step`] after each step yields once
//! [`YIELD_EVERY`] steps ran in a row or the tick's budget is spent
//! ([`TickedExecutor::budget_spent`]).

use crate::executor::TickedExecutor;

/// Steps in a row before a paced task hands the tick back, even with budget left (other
/// tasks get their turn). Also a good bound for how much such a task drains at a time.
pub const YIELD_EVERY: u32 = 64;

/// Counts a task's steps and yields when it is time (see the module docs).
///
/// Cost: one counter increment per step, and one clock read per step while
/// [`TickedExecutor::budget_spent`] reads the clock (inside a tick).
pub struct Pacer {
    executor: TickedExecutor,
    since_yield: u32,
}

impl Pacer {
    /// A pacer for a task on `executor`.
    pub fn new(executor: TickedExecutor) -> Self {
        Self { executor, since_yield: 0 }
    }

    /// Call after every step: yields (the task goes to the back of the run queue, and
    /// the executor's budget check runs before it is polled again) after
    /// [`YIELD_EVERY`] steps in a row or once the tick's budget is spent.
    pub async fn step(&mut self) {
        self.since_yield += 1;
        if self.since_yield >= YIELD_EVERY || self.executor.budget_spent() {
            self.since_yield = 0;
            futures_lite::future::yield_now().await;
        }
    }
}
