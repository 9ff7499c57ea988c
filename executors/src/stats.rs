//! Counters the executor keeps per tick and since creation.

use crate::TickStrategy;
use serde::Serialize;

/// Why a tick stopped polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum TickEnd {
    /// The run queue was empty: the executor is quiet until a task is woken.
    #[default]
    Drained,
    /// The time budget was spent; work continues on the next host tick.
    Budget,
    /// `max_polls_per_tick` was reached; work continues on the next host tick.
    MaxPolls,
}

/// One tick, as measured by the executor's clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TickStats {
    /// Task polls in this tick.
    pub polls: u32,
    /// Time from the start of the tick to its end, in ms.
    pub elapsed_ms: f64,
    /// The budget this tick ran under (the idle deadline may shorten it).
    pub budget_ms: f64,
    /// Why the tick stopped.
    pub ended: TickEnd,
    /// Polls after the last clock read that found the budget not spent: the executor's
    /// own (every few polls; the interval shrinks to one poll as the budget nears), or a
    /// task's `budget_spent()` during a poll (that poll then counts as one). A tick that
    /// ended past its budget as planned has a final interval of one poll.
    pub final_interval_polls: u32,
    /// Time from that clock read to the end of the tick, in ms.
    pub final_interval_ms: f64,
    /// Clock reads during the tick, start and end included.
    pub clock_reads: u32,
}

impl TickStats {
    /// True when the tick ran past its budget and either
    /// - more than one poll ran after the clock last said the budget was not spent (the
    ///   executor's own guarantee, one poll at most, was broken: polls much slower than
    ///   measured so far, or the thread was descheduled), or
    /// - its final poll alone took longer than the whole budget: a task that did not
    ///   yield in time (a long callback, a loop that never returns `Pending`). The
    ///   executor cannot interrupt a poll; this is what makes such a tick visible.
    ///
    /// A final poll that merely straddles the end of the budget is the one-poll overshoot
    /// the executor allows and is not counted.
    pub fn overran(&self) -> bool {
        self.elapsed_ms > self.budget_ms
            && (self.final_interval_polls > 1 || self.final_interval_ms > self.budget_ms)
    }
}

/// Cumulative counters, plus the last tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorStats {
    /// The strategy now in force.
    pub strategy: TickStrategy,
    /// Ticks run.
    pub ticks: u64,
    /// Task polls, all ticks.
    pub polls: u64,
    /// Time spent inside ticks, in ms.
    pub busy_ms: f64,
    /// Ticks that ended because the budget was spent.
    pub budget_hits: u64,
    /// Ticks that ended at `max_polls_per_tick`.
    pub max_polls_hits: u64,
    /// Ticks that ran past the budget by more than one poll, or whose last poll alone
    /// was longer than the budget (see [`TickStats::overran`]).
    pub overruns: u64,
    /// Longest tick, in ms.
    pub max_tick_ms: f64,
    /// Host callbacks requested (each wake of a quiet executor, or work left after a tick).
    pub host_requests: u64,
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks spawned and not yet finished or dropped.
    pub live_tasks: usize,
    /// Whether a host callback is outstanding (work is queued or a tick is due).
    pub tick_pending: bool,
    /// The last tick.
    pub last_tick: TickStats,
}
