//! Dataflow tasks on the ticked executor: the machinery behind `db.transform` and `db.tap`.
//!
//! aimdb-core's `transform` / `transform_join` / `tap` are declared on a record before its
//! `AimDb` is built, and read other records of that same `AimDb`. The facade gives every
//! record its own single-record `AimDb` (records can be configured at any time), so a
//! transform is what aimdb-core runs for one, as a task of its own: a reader of each input
//! record's buffer (what aimdb-core's forwarders subscribe to), the step, and the output
//! produced into the output record through its `AimDb::produce` (the JS wrapper validates it
//! against the output's contract first: the facade's `set`). Semantics, as aimdb-core's:
//! - a transform sees the values produced after it starts (its readers subscribe then);
//!   a ring input gives every value in order, a `SingleLatest` input its latest per wake-up;
//! - one input: the step runs once per value;
//! - several inputs (a join): the step gets the latest value of every input, once each has
//!   one, on every value of any input (aimdb-core's join example keeps `last_a`/`last_b` the
//!   same way). A join is seeded with each input's current value, so it fires on the next
//!   value of any input when all have one already. Values that arrive in the same wake-up
//!   are taken input by input, in the order the inputs were given.
//!
//! A tap is a transform without output. The task keeps to the tick's budget: after
//! [`YIELD_EVERY`] steps in a row, or once the budget is spent, it yields.

use aimdb_wasm::buffer::WasmBufferReader;
use aimdb_wasm::TickedExecutor;
use core::cell::Cell;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::rc::Rc;

pub use aimdb_wasm::executors::YIELD_EVERY;
use aimdb_wasm::executors::Pacer;

/// One input of a dataflow task: a reader of one record's buffer, seen as values `V`.
pub trait Input<V> {
    /// `Ready` once at least one value was appended to `out` (in order); `Pending`
    /// registers `cx`'s waker.
    fn poll_values(&mut self, cx: &mut Context<'_>, out: &mut Vec<V>) -> Poll<()>;
    /// Withdraws a registration left by a `Pending` poll.
    fn cancel_wait(&mut self);
}

impl<T: Clone> Input<T> for WasmBufferReader<T> {
    fn poll_values(&mut self, cx: &mut Context<'_>, out: &mut Vec<T>) -> Poll<()> {
        self.poll_drain_max(cx, out, YIELD_EVERY as usize).map(|_| ())
    }
    fn cancel_wait(&mut self) {
        WasmBufferReader::cancel_wait(self);
    }
}

/// The latest value of each input of a join.
pub struct Latest<V> {
    slots: Vec<Option<V>>,
}

impl<V: Clone> Latest<V> {
    /// `seed`: each input's current value, if any.
    pub fn new(seed: Vec<Option<V>>) -> Self {
        Latest { slots: seed }
    }

    /// Input `i` has `v`; returns the latest of every input once each has one.
    pub fn put(&mut self, i: usize, v: V) -> Option<Vec<V>> {
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some(v);
        }
        self.slots.iter().cloned().collect()
    }
}

/// The inputs of a running task; withdraws their wait registrations when dropped.
struct Inputs<V>(Vec<Box<dyn Input<V>>>);

impl<V> Drop for Inputs<V> {
    fn drop(&mut self) {
        for i in &mut self.0 {
            i.cancel_wait();
        }
    }
}

/// Spawns the task: `step(latest)` for every value of `inputs` as the module doc says
/// (`seed`: the inputs' current values, one per input). `cancelled` set (also by `step`
/// itself) ends it before the next step; dropping the returned task ends it too. `None`
/// after the executor was shut down.
pub fn spawn<V: Clone + 'static>(
    executor: &TickedExecutor,
    inputs: Vec<Box<dyn Input<V>>>,
    seed: Vec<Option<V>>,
    cancelled: Rc<Cell<bool>>,
    mut step: impl FnMut(Vec<V>) + 'static,
) -> Option<aimdb_wasm::executors::Task<()>> {
    let exec = executor.clone();
    let mut latest = Latest::new(seed);
    // Boxed like the engine's tasks (see `WasmAdapter::spawn`): one task type.
    executor.spawn_cancellable::<Pin<Box<dyn Future<Output = ()>>>>(Box::pin(async move {
        let mut inputs = Inputs(inputs);
        let mut drained: Vec<Vec<V>> = inputs.0.iter().map(|_| Vec::new()).collect();
        let mut pacer = Pacer::new(exec);
        loop {
            poll_fn(|cx| {
                let mut any = false;
                for (input, out) in inputs.0.iter_mut().zip(drained.iter_mut()) {
                    any |= input.poll_values(cx, out).is_ready();
                }
                if any {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            for (i, slot) in drained.iter_mut().enumerate() {
                for v in core::mem::take(slot) {
                    if cancelled.get() {
                        return;
                    }
                    if let Some(all) = latest.put(i, v) {
                        step(all);
                    }
                    pacer.step().await;
                }
            }
            if cancelled.get() {
                return;
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    //! The same machinery as `db.transform` / `db.tap`, with Rust closures for the JS
    //! function, on the `manual` executor: values through real buffers, every tick by hand.
    use super::*;
    use crate::contracts::{Contract, Humidity, Setpoint, Temperature};
    use aimdb_core::buffer::BufferCfg;
    use aimdb_wasm::buffer::WasmBuffer;
    use aimdb_wasm::WasmAdapter;
    use std::cell::RefCell;

    fn ring<T: Clone + Send + 'static>() -> WasmBuffer<T> {
        WasmBuffer::try_new(&BufferCfg::SpmcRing { capacity: 16 }).unwrap()
    }

    fn temp(c: f32, ts: u64) -> Temperature {
        Temperature::from_json_str(&format!(r#"{{"celsius":{c},"timestamp":{ts}}}"#)).unwrap()
    }

    fn celsius(t: &Temperature) -> f32 {
        serde_json::to_value(t).unwrap()["celsius"].as_f64().unwrap() as f32
    }

    #[test]
    fn transform_maps_every_value_validates_the_output_and_skips_none() {
        let (_adapter, executor) = WasmAdapter::manual();
        let input = ring::<Temperature>();
        let output = ring::<Temperature>();
        let errors = Rc::new(RefCell::new(Vec::new()));
        let cancelled = Rc::new(Cell::new(false));
        let (out, errs) = (output.clone(), errors.clone());
        // The step as the JS wrapper runs it: fn, `None` skips, the output validated against
        // the output's contract (JSON in, as a JS value would be), a violation reported.
        let f = |t: &Temperature| -> Option<String> {
            let c = celsius(t);
            if c == 0.0 {
                return None; // skipped
            }
            if c == 1.0 {
                return Some(r#"{"celsius":"hot","timestamp":1}"#.into()); // violates the contract
            }
            Some(format!(r#"{{"celsius":{},"timestamp":2}}"#, c * 9.0 / 5.0 + 32.0))
        };
        let task = spawn(&executor, vec![Box::new(input.subscribe())], vec![None], cancelled.clone(), move |v| {
            if let Some(json) = f(&v[0]) {
                match Temperature::from_json_str(&json) {
                    Ok(o) => out.push(o),
                    Err(e) => errs.borrow_mut().push(e.path),
                }
            }
        })
        .unwrap();
        let mut seen = output.subscribe();
        for c in [20.0, 0.0, 37.5, 1.0, -40.0] {
            input.push(temp(c, 1));
        }
        executor.run_until_idle(100);
        let mut got = Vec::new();
        seen.drain_into(&mut got);
        assert_eq!(got.iter().map(celsius).collect::<Vec<_>>(), [68.0, 99.5, -40.0]);
        assert_eq!(*errors.borrow(), ["celsius"]);
        // Cancelled: nothing more.
        cancelled.set(true);
        input.push(temp(10.0, 3));
        executor.run_until_idle(100);
        got.clear();
        seen.drain_into(&mut got);
        assert!(got.is_empty());
        drop(task);
    }

    #[test]
    fn join_gets_the_latest_of_each_input_once_all_have_one() {
        let (_adapter, executor) = WasmAdapter::manual();
        let t = ring::<Temperature>();
        let h = ring::<Humidity>();
        // Values of both contracts as JSON, as the JS side sees them.
        let seen = Rc::new(RefCell::new(Vec::new()));
        struct AsJson<T>(WasmBufferReader<T>, Vec<T>);
        impl<T: Clone + serde::Serialize> Input<serde_json::Value> for AsJson<T> {
            fn poll_values(&mut self, cx: &mut Context<'_>, out: &mut Vec<serde_json::Value>) -> Poll<()> {
                self.1.clear();
                let p = self.0.poll_values(cx, &mut self.1);
                out.extend(self.1.iter().map(|v| serde_json::to_value(v).unwrap()));
                p
            }
            fn cancel_wait(&mut self) {
                self.0.cancel_wait();
            }
        }
        let s = seen.clone();
        let task = spawn(
            &executor,
            vec![Box::new(AsJson(t.subscribe(), Vec::new())), Box::new(AsJson(h.subscribe(), Vec::new()))],
            vec![None, None],
            Rc::new(Cell::new(false)),
            move |v| {
                let sp = Setpoint::from_json_str(&format!(
                    r#"{{"target_celsius":{},"timestamp":1}}"#,
                    v[0]["celsius"].as_f64().unwrap() + v[1]["percent"].as_f64().unwrap() / 10.0
                ))
                .unwrap();
                s.borrow_mut().push(serde_json::to_value(sp).unwrap()["target_celsius"].as_f64().unwrap());
            },
        )
        .unwrap();
        t.push(temp(20.0, 1));
        executor.run_until_idle(100);
        assert!(seen.borrow().is_empty(), "no humidity yet: nothing to join");
        h.push(Humidity::from_json_str(r#"{"percent":50,"timestamp":1}"#).unwrap());
        executor.run_until_idle(100);
        t.push(temp(21.0, 2));
        executor.run_until_idle(100);
        h.push(Humidity::from_json_str(r#"{"percent":40,"timestamp":2}"#).unwrap());
        executor.run_until_idle(100);
        assert_eq!(*seen.borrow(), [25.0, 26.0, 25.0]);
        drop(task);
        t.push(temp(30.0, 3));
        executor.run_until_idle(100);
        assert_eq!(seen.borrow().len(), 3, "dropping the task ends it");
    }

    #[test]
    fn latest_is_seeded() {
        let mut l = Latest::new(vec![Some(1), None]);
        assert_eq!(l.put(1, 2), Some(vec![1, 2]));
        assert_eq!(l.put(0, 3), Some(vec![3, 2]));
    }
}
