//! Simulated sources: `db.simulate(key, { hz })`. A task on the ticked executor produces the
//! contract's next simulated value ([`Contract::simulate`], aimdb-data-contracts'
//! `Simulatable` with this crate's deterministic [`SimRng`]) at `hz`, on the executor's clock:
//! value `n` (1, 2, ...) is due `n / hz` seconds after the start, its `timestamp` is
//! `start_timestamp + n * 1000 / hz` ms (rounded). Deadlines are absolute, so under `manual`
//! ticking with the virtual clock the count is exact: 10 Hz gives exactly 10 values per
//! virtual second, however the time is advanced (values due together are produced in one go,
//! yielding as the dataflow tasks do).

use crate::contracts::Contract;
use aimdb_wasm::executors::Pacer;
use aimdb_wasm::TickedExecutor;
use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::time::Duration;
use std::rc::Rc;

/// The highest rate `simulate` takes.
pub const MAX_HZ: f64 = 1000.0;

/// A small deterministic generator (splitmix64): the same seed, the same values.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[-amplitude, amplitude)`: one step of a random walk.
    pub fn step(&mut self, amplitude: f64) -> f64 {
        (self.unit() * 2.0 - 1.0) * amplitude
    }
}

/// A random walk from `previous` (or `start`), kept in `[lo, hi]`, rounded to 0.1.
pub fn walk(previous: Option<f64>, start: f64, amplitude: f64, lo: f64, hi: f64, rng: &mut SimRng) -> f64 {
    // Not `f64::clamp`: with bounds known only at run time its `min <= max` assert stays in
    // the module and links core's float formatting (its message prints both with `{:?}`),
    // ~13 KB gzipped of wasm.
    let v = previous.unwrap_or(start) + rng.step(amplitude);
    let v = if v < lo { lo } else if v > hi { hi } else { v };
    (v * 10.0).round() / 10.0
}

/// What a simulated source needs.
#[derive(Clone, Copy, Debug)]
pub struct SimOptions {
    /// Values per second, `(0, MAX_HZ]`.
    pub hz: f64,
    /// The generator's seed.
    pub seed: u64,
    /// The timestamp (Unix ms) of the start; value `n` has `start_timestamp + n * 1000 / hz`.
    pub start_timestamp: u64,
}

/// Checks `hz`; the error text names what was wrong.
pub fn check_hz(hz: f64) -> Result<(), String> {
    if hz.is_finite() && hz > 0.0 && hz <= MAX_HZ {
        Ok(())
    } else {
        Err(format!("hz must be a number > 0 and <= 1000, got {}", crate::contracts::num(hz)))
    }
}

/// Whether contract `T` has a simulation.
pub fn simulatable<T: Contract>() -> bool {
    T::simulate(None, &mut SimRng::new(0), 0).is_some()
}

/// Spawns the source: `produce(value)` for each value as the module doc says. `cancelled`
/// set ends it before the next value; dropping the task ends it too. `None` after the
/// executor was shut down (or for a contract without simulation: nothing to run).
pub fn spawn<T: Contract>(
    executor: &TickedExecutor,
    opts: SimOptions,
    cancelled: Rc<Cell<bool>>,
    mut produce: impl FnMut(T) + 'static,
) -> Option<aimdb_wasm::executors::Task<()>> {
    if check_hz(opts.hz).is_err() || !simulatable::<T>() {
        return None;
    }
    let exec = executor.clone();
    let clock = executor.clock().clone();
    let period = 1000.0 / opts.hz;
    let t0 = clock.now_ms();
    let mut rng = SimRng::new(opts.seed);
    executor.spawn_cancellable::<Pin<Box<dyn Future<Output = ()>>>>(Box::pin(async move {
        let mut n: u64 = 1;
        let mut previous: Option<T> = None;
        let mut pacer = Pacer::new(exec);
        loop {
            let offset = n as f64 * period;
            let now = clock.now_ms();
            if t0 + offset > now + 1e-6 {
                // Rounded up to the clock's microseconds: woken at or after the deadline.
                let us = ((t0 + offset - now) * 1000.0).ceil() as u64;
                clock.sleep(Duration::from_micros(us.max(1))).await;
                continue;
            }
            if cancelled.get() {
                return;
            }
            let ts = opts.start_timestamp.saturating_add(offset.round() as u64);
            let Some(v) = T::simulate(previous.as_ref(), &mut rng, ts) else { return };
            produce(v.clone());
            previous = Some(v);
            n += 1;
            pacer.step().await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{GpsLocation, Humidity, Setpoint, Temperature};
    use aimdb_wasm::WasmAdapter;
    use std::cell::RefCell;

    fn run<T: Contract>(seed: u64, steps_ms: &[u64]) -> (Vec<T>, Vec<usize>) {
        let (_adapter, executor) = WasmAdapter::manual();
        let clock = executor.clock().as_virtual().unwrap().clone();
        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let opts = SimOptions { hz: 10.0, seed, start_timestamp: 1_000_000 };
        let task = spawn::<T>(&executor, opts, Rc::new(Cell::new(false)), move |v| g.borrow_mut().push(v)).unwrap();
        let mut counts = Vec::new();
        executor.run_until_idle(100);
        for &ms in steps_ms {
            clock.advance(Duration::from_millis(ms));
            executor.run_until_idle(1000);
            counts.push(got.borrow().len());
        }
        drop(task);
        let v = got.borrow().clone();
        (v, counts)
    }

    #[test]
    fn ten_hz_is_exactly_ten_values_per_virtual_second_with_exact_timestamps() {
        let (vals, counts) = run::<Temperature>(7, &[1000, 1000, 50, 50, 400, 3500]);
        assert_eq!(counts, [10, 20, 20, 21, 25, 60]);
        let ts: Vec<u64> = vals.iter().map(|t| t.timestamp).collect();
        assert_eq!(ts, (1..=60).map(|n| 1_000_000 + n * 100).collect::<Vec<_>>());
        // Valid by the contract, and deterministic for a seed.
        for v in &vals {
            Temperature::from_json_str(&serde_json::to_string(v).unwrap()).unwrap();
        }
        assert_eq!(run::<Temperature>(7, &[6000]).0, vals);
        assert_ne!(run::<Temperature>(8, &[6000]).0, vals);
    }

    #[test]
    fn every_builtin_simulates_valid_values() {
        fn valid<T: Contract>() {
            let (vals, _) = run::<T>(1, &[5000]);
            assert_eq!(vals.len(), 50);
            for v in &vals {
                T::from_json_str(&serde_json::to_string(v).unwrap()).unwrap();
            }
        }
        valid::<Temperature>();
        valid::<Humidity>();
        valid::<GpsLocation>();
        valid::<Setpoint>();
    }

    #[test]
    fn cancelled_stops_and_bad_hz_is_refused() {
        let (_adapter, executor) = WasmAdapter::manual();
        let clock = executor.clock().as_virtual().unwrap().clone();
        let n = Rc::new(Cell::new(0));
        let (c, stop) = (n.clone(), Rc::new(Cell::new(false)));
        let opts = SimOptions { hz: 10.0, seed: 0, start_timestamp: 0 };
        let _task = spawn::<Humidity>(&executor, opts, stop.clone(), move |_| c.set(c.get() + 1)).unwrap();
        clock.advance(Duration::from_millis(300));
        executor.run_until_idle(100);
        assert_eq!(n.get(), 3);
        stop.set(true);
        clock.advance(Duration::from_millis(300));
        executor.run_until_idle(100);
        assert_eq!(n.get(), 3);
        for hz in [0.0, -1.0, f64::NAN, f64::INFINITY, 1000.5] {
            assert!(check_hz(hz).is_err(), "{hz}");
        }
    }
}
