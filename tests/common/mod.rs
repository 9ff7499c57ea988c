//! A small aimdb-core pipeline shared by the native and the browser tests:
//! `temp.c` (source) -> `temp.f` (transform) -> tap, and
//! `temp.c` + `hum` (sources) -> `comfort` (transform_join) -> tap.
#![allow(dead_code)]

use aimdb_core::buffer::BufferCfg;
use aimdb_core::{AimDb, AimDbBuilder};
use aimdb_wasm::{TickConfig, TickStrategy, WasmAdapter, WasmRecordRegistrarExt};
use event_listener::Event;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq)]
pub struct Celsius(pub f32);
#[derive(Clone, Debug, PartialEq)]
pub struct Fahrenheit(pub f32);
#[derive(Clone, Debug, PartialEq)]
pub struct Humidity(pub f32);
#[derive(Clone, Debug, PartialEq)]
pub struct Comfort {
    pub celsius: f32,
    pub humidity: f32,
}

/// Celsius values produced, one every 10 ms.
pub const TEMPS: u32 = 5;
/// Humidity values produced, one every 15 ms.
pub const HUMS: u32 = 3;

pub const EXPECTED_F: [f32; 5] = [33.8, 35.6, 37.4, 39.2, 41.0];

/// What the taps saw, and an event fired on every change.
#[derive(Clone, Default)]
pub struct Seen {
    pub fahrenheit: Arc<Mutex<Vec<f32>>>,
    pub comfort: Arc<Mutex<Vec<(f32, f32)>>>,
    pub changed: Arc<Event>,
}

impl Seen {
    pub fn fahrenheit(&self) -> Vec<f32> {
        self.fahrenheit.lock().unwrap().clone()
    }
    pub fn comfort(&self) -> Vec<(f32, f32)> {
        self.comfort.lock().unwrap().clone()
    }
    /// Both outputs are complete: all Fahrenheit values, and the join's final value.
    pub fn complete(&self) -> bool {
        self.fahrenheit().len() == TEMPS as usize && self.comfort().last() == Some(&(TEMPS as f32, HUMS as f32))
    }
    /// Resolves once `complete()` (event-driven, no polling).
    pub async fn until_complete(&self) {
        loop {
            let listener = self.changed.listen();
            if self.complete() {
                return;
            }
            listener.await;
        }
    }
}

pub async fn build(adapter: WasmAdapter, seen: &Seen) -> AimDb<WasmAdapter> {
    let mut builder = AimDbBuilder::new().runtime(Arc::new(adapter));
    builder.configure::<Celsius>("temp.c", |reg| {
        reg.buffer(BufferCfg::SpmcRing { capacity: 64 }).source(|ctx, producer| async move {
            for i in 1..=TEMPS {
                ctx.time().sleep(ctx.time().millis(10)).await;
                let _ = producer.produce(Celsius(i as f32)).await;
            }
        });
    });
    builder.configure::<Humidity>("hum", |reg| {
        reg.buffer(BufferCfg::SingleLatest).source(|ctx, producer| async move {
            for i in 1..=HUMS {
                ctx.time().sleep(ctx.time().millis(15)).await;
                let _ = producer.produce(Humidity(i as f32)).await;
            }
        });
    });
    let (out_f, ev_f) = (seen.fahrenheit.clone(), seen.changed.clone());
    builder.configure::<Fahrenheit>("temp.f", |reg| {
        reg.buffer(BufferCfg::SpmcRing { capacity: 64 })
            .transform::<Celsius, _>("temp.c", |b| b.map(|c| Some(Fahrenheit(c.0 * 1.8 + 32.0))))
            .tap(move |_ctx, consumer| async move {
                let Ok(mut reader) = consumer.subscribe() else { return };
                while let Ok(v) = reader.recv().await {
                    out_f.lock().unwrap().push(v.0);
                    ev_f.notify(usize::MAX);
                }
            });
    });
    let (out_c, ev_c) = (seen.comfort.clone(), seen.changed.clone());
    builder.configure::<Comfort>("comfort", |reg| {
        reg.buffer(BufferCfg::SpmcRing { capacity: 64 })
            .transform_join(|j| {
                j.input::<Celsius>("temp.c").input::<Humidity>("hum").on_triggers(|mut rx, producer| async move {
                    let (mut c, mut h) = (None, None);
                    while let Ok(trigger) = rx.recv().await {
                        match trigger.index() {
                            0 => c = trigger.as_input::<Celsius>().map(|v| v.0),
                            _ => h = trigger.as_input::<Humidity>().map(|v| v.0),
                        }
                        if let (Some(celsius), Some(humidity)) = (c, h) {
                            let _ = producer.produce(Comfort { celsius, humidity }).await;
                        }
                    }
                })
            })
            .tap(move |_ctx, consumer| async move {
                let Ok(mut reader) = consumer.subscribe() else { return };
                while let Ok(v) = reader.recv().await {
                    out_c.lock().unwrap().push((v.celsius, v.humidity));
                    ev_c.notify(usize::MAX);
                }
            });
    });
    match builder.build().await {
        Ok(db) => db,
        Err(e) => panic!("pipeline failed to build: {e:?}"),
    }
}

/// Checks what a join must produce whatever the interleaving: both components never
/// decrease, stay in range, and the last value pairs the last inputs.
pub fn assert_join_shape(comfort: &[(f32, f32)]) {
    assert!(!comfort.is_empty());
    for w in comfort.windows(2) {
        assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1, "join went backwards: {comfort:?}");
    }
    for (c, h) in comfort {
        assert!((1.0..=TEMPS as f32).contains(c) && (1.0..=HUMS as f32).contains(h), "{comfort:?}");
    }
    assert_eq!(comfort.last(), Some(&(TEMPS as f32, HUMS as f32)));
}

/// Runs the pipeline on a host-ticked executor with `strategy` (4 ms budget) until both
/// outputs are complete, and checks them and the executor's stats.
pub async fn pipeline_under(strategy: TickStrategy) {
    let config = TickConfig { strategy, budget_ms: 4.0, max_polls_per_tick: 4096 };
    let (adapter, executor) = match WasmAdapter::with_config(config) {
        Ok(pair) => pair,
        Err(e) => panic!("valid config refused: {e}"),
    };
    let seen = Seen::default();
    let db = build(adapter, &seen).await;
    seen.until_complete().await;
    assert_eq!(seen.fahrenheit(), EXPECTED_F);
    assert_join_shape(&seen.comfort());
    let stats = executor.stats();
    assert_eq!(stats.strategy, strategy);
    assert!(stats.ticks > 0 && stats.polls > 0, "{stats:?}");
    drop(db);
    executor.shutdown();
}
