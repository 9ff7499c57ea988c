//! What the host ticks with, and how much a tick may do.

use core::fmt;
use serde::{Deserialize, Serialize};

/// Which host callback drives the executor.
///
/// Serialized in camelCase (`"animationFrame"`, `"microtask"`, `"macrotask"`, `"idle"`,
/// `"manual"`), so a JS options object deserializes straight into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TickStrategy {
    /// `requestAnimationFrame`: one tick per display frame, before paint. Best for
    /// frame-synced UIs; work left over waits for the next frame. Falls back to
    /// `macrotask` where the global has no `requestAnimationFrame`.
    AnimationFrame,
    /// `queueMicrotask`: lowest latency, runs before the browser paints. Work left after
    /// a tick's budget continues in a **macrotask**, never in another microtask, so a busy
    /// executor cannot starve rendering with an unbounded microtask chain.
    Microtask,
    /// A `MessageChannel` message (or `setTimeout(0)` where there is none): yields to
    /// rendering and input between ticks without the 4 ms clamp of nested timeouts.
    /// Where `setImmediate` exists (Node), that: it keeps the process alive only while a
    /// tick is queued, so Node exits once nothing is pending.
    Macrotask,
    /// `requestIdleCallback`: the tick's budget is the smaller of `budget_ms` and the
    /// idle deadline. Falls back to `macrotask` where missing (Safari).
    Idle,
    /// The host calls [`TickedExecutor::tick`](crate::TickedExecutor::tick) itself.
    /// Deterministic; what native code and tests use.
    Manual,
}

impl TickStrategy {
    /// The camelCase name, as in the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            TickStrategy::AnimationFrame => "animationFrame",
            TickStrategy::Microtask => "microtask",
            TickStrategy::Macrotask => "macrotask",
            TickStrategy::Idle => "idle",
            TickStrategy::Manual => "manual",
        }
    }
}

impl fmt::Display for TickStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Executor configuration; switchable at run time with
/// [`TickedExecutor::set_config`](crate::TickedExecutor::set_config).
///
/// Field names accept camelCase (`budgetMs`, `maxPollsPerTick`) and snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TickConfig {
    /// The host callback that drives ticks.
    #[serde(alias = "tick")]
    pub strategy: TickStrategy,
    /// Wall-clock budget of one tick in milliseconds. A tick stops polling once it is
    /// spent and overruns it by at most one poll.
    #[serde(alias = "budget_ms")]
    pub budget_ms: f64,
    /// Upper bound of task polls in one tick, whatever the clock says.
    #[serde(alias = "max_polls_per_tick")]
    pub max_polls_per_tick: u32,
}

impl Default for TickConfig {
    /// `animationFrame` on wasm32, `manual` elsewhere; 4 ms; 4096 polls.
    fn default() -> Self {
        Self {
            strategy: if cfg!(target_arch = "wasm32") {
                TickStrategy::AnimationFrame
            } else {
                TickStrategy::Manual
            },
            budget_ms: 4.0,
            max_polls_per_tick: 4096,
        }
    }
}

impl TickConfig {
    /// A `manual` configuration with the given budget and poll limit.
    pub fn manual(budget_ms: f64, max_polls_per_tick: u32) -> Self {
        Self { strategy: TickStrategy::Manual, budget_ms, max_polls_per_tick }
    }

    /// Same configuration with another strategy.
    pub fn with_strategy(mut self, strategy: TickStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Checks the numbers: the budget must be finite and in `(0, 1000]` ms, the poll
    /// limit at least 1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.budget_ms.is_finite() || self.budget_ms <= 0.0 || self.budget_ms > 1000.0 {
            return Err(ConfigError::Budget(self.budget_ms));
        }
        if self.max_polls_per_tick == 0 {
            return Err(ConfigError::MaxPolls);
        }
        Ok(())
    }
}

/// An invalid [`TickConfig`].
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `budget_ms` was not a finite number in `(0, 1000]`.
    Budget(f64),
    /// `max_polls_per_tick` was 0.
    MaxPolls,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The value is left out: printing an f64 pulls core's float formatting
            // (~20 KB) into the browser module. Callers that have the input show it.
            ConfigError::Budget(_) => f.write_str("invalid tick config: budgetMs must be a finite number in (0, 1000]"),
            ConfigError::MaxPolls => f.write_str("invalid tick config: maxPollsPerTick must be at least 1"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserializes_js_style_options() {
        let cfg: TickConfig =
            serde_json::from_str(r#"{"strategy":"idle","budgetMs":2.5,"maxPollsPerTick":64}"#).unwrap();
        assert_eq!(cfg, TickConfig { strategy: TickStrategy::Idle, budget_ms: 2.5, max_polls_per_tick: 64 });
        let partial: TickConfig = serde_json::from_str(r#"{"tick":"microtask"}"#).unwrap();
        assert_eq!(partial.strategy, TickStrategy::Microtask);
        assert_eq!(partial.budget_ms, TickConfig::default().budget_ms);
    }

    #[test]
    fn rejects_unknown_strategy_and_fields() {
        let err = serde_json::from_str::<TickConfig>(r#"{"strategy":"turbo"}"#).unwrap_err();
        assert!(err.to_string().contains("turbo"), "{err}");
        assert!(serde_json::from_str::<TickConfig>(r#"{"budget":3}"#).is_err());
    }

    #[test]
    fn validates_numbers() {
        assert_eq!(TickConfig::manual(0.0, 1).validate(), Err(ConfigError::Budget(0.0)));
        assert!(TickConfig::manual(f64::NAN, 1).validate().is_err());
        assert_eq!(TickConfig::manual(4.0, 0).validate(), Err(ConfigError::MaxPolls));
        assert!(TickConfig::manual(4.0, 1).validate().is_ok());
    }
}
