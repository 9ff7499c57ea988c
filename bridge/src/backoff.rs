//! Exponential reconnect backoff with seeded jitter.
//!
//! The n-th delay (n = 0 after a successful open) is
//!
//! ```text
//! base_n  = min(initial_ms * factor^n, max_ms)
//! delay_n = min(base_n * (1 + jitter * r_n), max_ms)      r_n uniform in [-1, 1)
//! ```
//!
//! so every delay lies in `[base_n * (1 - jitter), min(base_n * (1 + jitter), max_ms)]`:
//! the cap is a hard cap. `r_n` comes from [`SplitMix64`] seeded with
//! [`BridgeOptions::seed`](crate::BridgeOptions::seed): the same seed gives the same
//! delays, which is what makes the tests exact. In a browser the adapter should seed
//! from `Math.random()` so that many clients do not reconnect in lock-step.

use crate::options::BackoffOptions;

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-distributed 64-bit PRNG. Not
/// cryptographic; used only to spread reconnects.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The backoff sequence: [`next_delay`](Backoff::next_delay) advances it,
/// [`reset`](Backoff::reset) starts it over (after a successful open).
#[derive(Debug, Clone)]
pub struct Backoff {
    opts: BackoffOptions,
    attempt: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// A fresh sequence. `opts` should have passed [`BackoffOptions::validate`].
    pub fn new(opts: BackoffOptions, seed: u64) -> Self {
        Self { opts, attempt: 0, rng: SplitMix64::new(seed) }
    }

    /// How many delays were taken since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The un-jittered delay of the next attempt.
    pub fn base_delay(&self) -> f64 {
        // `powi` of a large exponent saturates to inf; `min` brings it back to the cap.
        let exp = i32::try_from(self.attempt).unwrap_or(i32::MAX);
        (self.opts.initial_ms * self.opts.factor.powi(exp)).min(self.opts.max_ms)
    }

    /// The next delay in ms (jittered, capped), and advances the sequence.
    pub fn next_delay(&mut self) -> f64 {
        let base = self.base_delay();
        let r = self.rng.next_f64() * 2.0 - 1.0;
        self.attempt = self.attempt.saturating_add(1);
        (base * (1.0 + self.opts.jitter * r)).min(self.opts.max_ms)
    }

    /// Starts the sequence over at `initial_ms` (the PRNG keeps going).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference outputs of SplitMix64 for seed 0 (as published with the algorithm
    /// and used by e.g. the xoshiro reference seeding code).
    #[test]
    fn splitmix_matches_reference_vectors() {
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn unit_floats_are_in_range() {
        let mut r = SplitMix64::new(42);
        for _ in 0..10_000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x), "{x}");
        }
    }

    fn opts() -> BackoffOptions {
        BackoffOptions { initial_ms: 500.0, max_ms: 8000.0, factor: 2.0, jitter: 0.2 }
    }

    /// The exact delays for seed 0, computed from the reference PRNG outputs by the
    /// formula in the module docs.
    #[test]
    fn exact_delays_for_seed_zero() {
        let reference = [0xE220_A839_7B1D_CDAFu64, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F];
        let mut b = Backoff::new(opts(), 0);
        for (n, bits) in reference.iter().enumerate() {
            let r = (bits >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            let base = 500.0 * 2f64.powi(n as i32);
            let want = (base * (1.0 + 0.2 * r)).min(8000.0);
            assert_eq!(b.next_delay(), want, "attempt {n}");
        }
    }

    #[test]
    fn sequence_doubles_jitters_within_bounds_and_caps() {
        for seed in 0..200u64 {
            let mut b = Backoff::new(opts(), seed);
            for n in 0..12 {
                let base = (500.0 * 2f64.powi(n)).min(8000.0);
                assert_eq!(b.base_delay(), base);
                let d = b.next_delay();
                assert!(d >= base * 0.8 && d <= (base * 1.2).min(8000.0), "seed {seed} n {n}: {d}");
                assert!(d <= 8000.0);
            }
        }
    }

    #[test]
    fn no_jitter_gives_the_plain_sequence_and_reset_restarts_it() {
        let mut b = Backoff::new(BackoffOptions { jitter: 0.0, ..opts() }, 7);
        let seq: Vec<f64> = (0..7).map(|_| b.next_delay()).collect();
        assert_eq!(seq, [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 8000.0, 8000.0]);
        assert_eq!(b.attempt(), 7);
        b.reset();
        assert_eq!(b.next_delay(), 500.0);
    }

    #[test]
    fn huge_attempt_counts_stay_at_the_cap() {
        let mut b = Backoff::new(opts(), 1);
        b.attempt = u32::MAX - 1;
        assert!(b.next_delay() <= 8000.0);
        assert!(b.next_delay() <= 8000.0);
        assert_eq!(b.attempt(), u32::MAX);
    }

    #[test]
    fn same_seed_same_delays_other_seed_other_delays() {
        let a: Vec<f64> = { let mut b = Backoff::new(opts(), 9); (0..5).map(|_| b.next_delay()).collect() };
        let b2: Vec<f64> = { let mut b = Backoff::new(opts(), 9); (0..5).map(|_| b.next_delay()).collect() };
        let c: Vec<f64> = { let mut b = Backoff::new(opts(), 10); (0..5).map(|_| b.next_delay()).collect() };
        assert_eq!(a, b2);
        assert_ne!(a, c);
    }
}
