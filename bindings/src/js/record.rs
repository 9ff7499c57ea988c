//! A typed record behind a name: the real aimdb-core engine holds it, our buffer
//! stores it, and the JS facade sees it through [`DynRecord`].
//!
//! Each record lives in its own single-record `AimDb` (aimdb-core 1.1 fixes the record
//! set at `build()`, and the facade lets a page configure records at any time). Values
//! enter through `AimDb::produce` (validated first), so the engine's snapshot, buffer
//! and taps all see them.

use super::error::FacadeError;
use super::options::describe;
use super::tape::{item_path, Tape};
use crate::contracts::Contract;
use aimdb_core::buffer::BufferCfg;
use aimdb_core::typed_record::RecordValue;
use aimdb_core::{AimDb, AimDbBuilder, StringKey};
use aimdb_wasm::buffer::{WasmBuffer, WasmBufferReader};
use aimdb_wasm::{TickedExecutor, WasmAdapter};
use core::cell::{Cell, RefCell};
use core::future::{poll_fn, Future};
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};
use js_sys::{Array, Function};
use serde::Serialize;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::JsValue;

/// What a record needs to be created.
pub struct RecordCtx {
    pub key: String,
    pub cfg: BufferCfg,
    pub adapter: WasmAdapter,
    pub executor: TickedExecutor,
}

/// Per-record counters, shared with its subscription tasks.
#[derive(Default)]
pub struct Counters {
    pub delivered: Cell<u64>,
    pub lagged: Cell<u64>,
    pub subscribers: Cell<u32>,
    pub serialize_errors: Cell<u64>,
}

/// Per-record stats, as `db.stats().records[key]`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordStats {
    pub schema_type: &'static str,
    pub buffer: String,
    /// The ring's capacity (`SpmcRing`); 0 for `SingleLatest` and `Mailbox`.
    pub capacity: usize,
    /// Values accepted into the record.
    pub produced: u64,
    /// Values handed to subscription callbacks (a batch counts its items).
    pub delivered: u64,
    /// Values ring subscribers missed because they lagged (also reported via `onLag`).
    pub lagged: u64,
    /// Live subscriptions.
    pub subscribers: u32,
    /// Buffer readers alive (subscriptions plus engine consumers).
    pub readers: usize,
    /// Readers waiting for a value.
    pub parked: usize,
    /// Values that could not be serialized for JS (non-finite floats); never silent.
    pub serialize_errors: u64,
}

/// How a subscription delivers.
pub struct SubscribeArgs {
    pub callback: Function,
    pub batch: bool,
    pub on_lag: Option<Function>,
    pub cancelled: Rc<Cell<bool>>,
}

/// A record seen through its name.
pub trait DynRecord {
    fn schema(&self) -> &'static str;
    fn cfg(&self) -> &BufferCfg;
    /// Validates JSON text against the contract and produces it.
    fn set_json(&self, text: &str) -> Result<(), FacadeError>;
    /// Validates every JSON text of `texts`, then produces the values in order: all or
    /// nothing (a violation is reported at `[index]` + the field path, and nothing is
    /// produced). `each` runs after each value is produced. Returns how many were.
    fn set_many_json(&self, texts: &[String], each: Each<'_>) -> Result<u32, FacadeError>;
    /// Reads the value on the tape (the wrapper's encoding of a JS value) into the
    /// contract type and produces it.
    fn set_tape(&self, tape: &Tape<'_>) -> Result<(), FacadeError>;
    /// [`set_many_json`](DynRecord::set_many_json) for an array on the tape.
    fn set_many_tape(&self, tape: &Tape<'_>, each: Each<'_>) -> Result<u32, FacadeError>;
    /// The contract's struct fields, when its values can take the flat fast path
    /// ([`crate::flat`]).
    fn flat_fields(&self) -> Option<&'static [&'static str]>;
    /// Produces the value in the flat slots `vals` (one per [`flat_fields`](DynRecord::flat_fields);
    /// bit `i` of `nulls`: field `i` is `null`, [`Marks`](crate::flat::Marks)):
    /// `Ok(false)`, with nothing produced, when the fast path declines it (the caller
    /// takes the general path, which reports any violation).
    fn set_flat(&self, vals: &[f64], nulls: u32) -> Result<bool, FacadeError>;
    /// The flat fast path of a value from the server (`bridge/ingest.rs`): reads the
    /// slots `vals` with their [`Marks`](crate::flat::Marks) (fractions, nulls); declined
    /// (`Ok(false)`): nothing else happens. Taken: `admit` runs (the bridge's bookkeeping
    /// of the frame) and the value is produced if it says so.
    fn take_flat(&self, vals: &[f64], marks: crate::flat::Marks, admit: &mut dyn FnMut() -> bool) -> Result<bool, FacadeError>;
    /// [`set_flat`](DynRecord::set_flat) of consecutive values (one slot per field
    /// each), all or nothing: `Ok(None)`, nothing produced, when the fast path declines
    /// any of them. `each` runs after each value is produced.
    fn set_many_flat(&self, vals: &[f64], each: Each<'_>) -> Result<Option<u32>, FacadeError>;
    /// Values produced so far (changes exactly when the value does).
    fn version(&self) -> u64;
    /// The latest value as JSON text.
    fn latest_json(&self) -> Option<String>;
    /// The latest value as the JS object every consumer of this version gets: made once
    /// per version (then the same object), `None` before the first value.
    fn latest_js(&self) -> Option<JsValue>;
    /// Starts a subscription task.
    fn subscribe(&self, args: SubscribeArgs) -> Result<aimdb_wasm::executors::Task<()>, FacadeError>;
    fn counters(&self) -> &Rc<Counters>;
    fn stats(&self) -> RecordStats;
    /// A reader of the values produced from now on, as JS objects: an input of a
    /// transform or tap ([`crate::dataflow`]).
    fn js_input(&self) -> Box<dyn crate::dataflow::Input<JsValue>>;
    /// Starts a simulated source of this record ([`crate::simulate`]); `after` runs after
    /// each value is produced. `INVALID_OPTIONS` for a bad `hz` or a contract without
    /// simulation.
    fn simulate(
        &self,
        opts: crate::simulate::SimOptions,
        cancelled: Rc<Cell<bool>>,
        after: Box<dyn Fn()>,
    ) -> Result<aimdb_wasm::executors::Task<()>, FacadeError>;
}

/// [`DynRecord::js_input`]: a typed buffer reader whose values cross as JS objects.
struct JsInput<T> {
    reader: WasmBufferReader<T>,
    items: Vec<T>,
    counters: Rc<Counters>,
}

impl<T: Contract> crate::dataflow::Input<JsValue> for JsInput<T> {
    fn poll_values(&mut self, cx: &mut Context<'_>, out: &mut Vec<JsValue>) -> Poll<()> {
        self.items.clear();
        let ready = crate::dataflow::Input::poll_values(&mut self.reader, cx, &mut self.items);
        out.extend(self.items.iter().filter_map(|v| to_js(v, &self.counters)));
        ready
    }
    fn cancel_wait(&mut self) {
        self.reader.cancel_wait();
    }
}

/// Polls a future that is expected to complete at once (aimdb-core's `build` and
/// `produce` do no I/O).
pub fn poll_now<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// The JS object of the latest value and the version it is of (shared by the record's
/// `get()` and its SingleLatest / Mailbox subscriptions: one serialization per version).
type LatestJs = Rc<RefCell<Option<(u64, JsValue)>>>;

/// The ring capacity of a buffer (0 for the others).
pub fn ring_capacity(cfg: &BufferCfg) -> usize {
    match cfg {
        BufferCfg::SpmcRing { capacity } => *capacity,
        _ => 0,
    }
}

/// What runs after each value of a `setMany` is produced (`None`: nothing; the values
/// may then be produced as one batch, [`TypedRecord::produce_all`]).
pub type Each<'a> = Option<&'a mut dyn FnMut()>;

/// The typed record.
pub struct TypedRecord<T: Contract> {
    key: String,
    cfg: BufferCfg,
    db: AimDb<WasmAdapter>,
    buffer: WasmBuffer<T>,
    executor: TickedExecutor,
    counters: Rc<Counters>,
    latest_js: LatestJs,
    /// `T`'s struct fields, for the flat fast path (`None`: not a flat struct).
    flat: Option<&'static [&'static str]>,
    /// The record in `db`, resolved once (a produce then costs no key lookup).
    id: Option<aimdb_core::RecordId>,
}

impl<T: Contract> TypedRecord<T> {
    pub fn create(ctx: &RecordCtx) -> Result<Rc<dyn DynRecord>, FacadeError> {
        let buffer = WasmBuffer::<T>::try_new(&ctx.cfg)
            .map_err(|e| FacadeError::InvalidBuffer { key: ctx.key.clone(), message: e.to_string() })?;
        let mut builder = AimDbBuilder::new().runtime(Arc::new(ctx.adapter.clone()));
        let engine_buffer = buffer.clone();
        builder.configure::<T>(StringKey::intern(&ctx.key), move |reg| {
            reg.buffer_raw(Box::new(engine_buffer));
        });
        let engine_err = |message: String| FacadeError::Engine { key: ctx.key.clone(), message };
        let db = match poll_now(builder.build()) {
            Some(Ok(db)) => db,
            Some(Err(e)) => return Err(engine_err(e.to_string())),
            None => return Err(engine_err("build() did not complete".into())),
        };
        let id = db.inner().resolve_str(&ctx.key);
        Ok(Rc::new(TypedRecord {
            key: ctx.key.clone(),
            cfg: ctx.cfg.clone(),
            db,
            buffer,
            executor: ctx.executor.clone(),
            counters: Rc::default(),
            latest_js: Rc::default(),
            flat: crate::flat::struct_fields::<T>(),
            id,
        }))
    }

    /// `AimDb::produce` without its key lookup (the record's id is resolved once).
    fn produce(&self, value: T) -> Result<(), FacadeError> {
        let produced = match self.id.map(|id| self.db.inner().get_typed_record_by_id::<T, WasmAdapter>(id)) {
            Some(Ok(record)) => poll_now(async move {
                record.produce(value).await;
                Ok::<(), aimdb_core::DbError>(())
            }),
            _ => poll_now(self.db.produce::<T>(&self.key, value)),
        };
        match produced {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(FacadeError::Engine { key: self.key.clone(), message: e.to_string() }),
            None => Err(FacadeError::Engine { key: self.key.clone(), message: "produce() did not complete".into() }),
        }
    }

    /// Produces `items` in order, `each` after each one.
    ///
    /// Without `each` (nobody looks at the record between two of the values: no linked
    /// bridge), all but the last go straight into the buffer the engine shares with the
    /// record, and only the last through the engine's `produce`: what `produce` adds to
    /// the push is the engine's latest-value snapshot (a clone of the value), and every
    /// snapshot but the last would be replaced before anything can read it (this runs to
    /// the end without yielding; a push only wakes tasks, which run later). Readers see
    /// the same items in the same order either way. Cost: 0.11 -> 0.07 us per item of a
    /// 1000-value `setMany` (make bench-browser, scenario 7).
    fn produce_all(&self, items: Vec<T>, each: Each<'_>) -> Result<u32, FacadeError> {
        let n = items.len() as u32;
        match each {
            Some(each) => {
                for v in items {
                    self.produce(v)?;
                    each();
                }
            }
            None => {
                let mut items = items.into_iter();
                if let Some(last) = items.next_back() {
                    items.for_each(|v| self.buffer.push(v));
                    self.produce(last)?;
                }
            }
        }
        Ok(n)
    }

    fn violation(&self, error: crate::contracts::ContractError) -> FacadeError {
        FacadeError::Contract { key: Some(self.key.clone()), error }
    }

    fn latest(&self) -> Option<T> {
        self.db.inner().get_typed_record_by_key::<T, WasmAdapter>(&self.key).ok()?.latest().map(RecordValue::into_inner)
    }
}

fn to_json<T: Serialize>(v: &T, counters: &Counters) -> Option<String> {
    match serde_json::to_string(v) {
        Ok(s) => Some(s),
        Err(_) => {
            counters.serialize_errors.set(counters.serialize_errors.get() + 1);
            None
        }
    }
}

/// [`out::to_js`](super::out::to_js), counting a failure.
fn to_js<T: Serialize + ?Sized>(v: &T, counters: &Counters) -> Option<JsValue> {
    let js = super::out::to_js(v).ok();
    if js.is_none() {
        counters.serialize_errors.set(counters.serialize_errors.get() + 1);
    }
    js
}

/// `cache`'s object if it is of `version`, else `make()`'s, kept for `version`.
fn cached_js(cache: &LatestJs, version: u64, make: impl FnOnce() -> Option<JsValue>) -> Option<JsValue> {
    if let Some((v, js)) = &*cache.borrow() {
        if *v == version {
            return Some(js.clone());
        }
    }
    let js = make()?;
    *cache.borrow_mut() = Some((version, js.clone()));
    Some(js)
}

/// The typed half of a subscription: a buffer reader and the values it drained. Behind
/// `dyn Feed` the subscription task (delivery, lag, cancellation) is compiled once for
/// every contract.
trait Feed {
    /// Drops the values drained last time.
    fn clear(&mut self);
    /// `recv_batch`: `Ready(lagged)` once at least one (and at most `max`) value was
    /// drained.
    fn poll_drain(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<u64>;
    fn len(&self) -> usize;
    /// Value `i` as a JS object.
    fn js_at(&self, i: usize, counters: &Counters) -> Option<JsValue>;
    /// Values `from..` as a JS array.
    fn js_from(&self, from: usize, counters: &Counters) -> Option<JsValue>;
    /// The last value drained, which is the record's latest (SingleLatest / Mailbox:
    /// the slot's value, delivered in the same poll), as the record's shared object.
    fn js_latest(&self, counters: &Counters) -> Option<JsValue>;
    /// Withdraws a registration left by a `Pending` `poll_drain`.
    fn cancel_wait(&mut self);
}

struct TypedFeed<T> {
    reader: WasmBufferReader<T>,
    items: Vec<T>,
    buffer: WasmBuffer<T>,
    latest_js: LatestJs,
}

impl<T: Contract> Feed for TypedFeed<T> {
    fn clear(&mut self) {
        self.items.clear();
    }
    fn poll_drain(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<u64> {
        self.reader.poll_drain_max(cx, &mut self.items, max).map(|d| d.lagged)
    }
    fn len(&self) -> usize {
        self.items.len()
    }
    fn js_at(&self, i: usize, counters: &Counters) -> Option<JsValue> {
        to_js(self.items.get(i)?, counters)
    }
    fn js_from(&self, from: usize, counters: &Counters) -> Option<JsValue> {
        let js = super::out::many_to_js(self.items.get(from..)?).ok();
        if js.is_none() {
            counters.serialize_errors.set(counters.serialize_errors.get() + 1);
        }
        js
    }
    fn js_latest(&self, counters: &Counters) -> Option<JsValue> {
        let last = self.items.last()?;
        cached_js(&self.latest_js, self.buffer.stats().produced, || to_js(last, counters))
    }
    fn cancel_wait(&mut self) {
        self.reader.cancel_wait();
    }
}

/// Withdraws the reader's registration if the subscription task is dropped while it
/// waits (as `recv_batch`'s future does).
struct CancelOnDrop<'a>(&'a mut dyn Feed);

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        self.0.cancel_wait();
    }
}

/// A ring subscriber without `batch` hands the tick back after at most this many
/// callbacks in one poll, even with budget left ([`Pacer`]). It also drains at most this
/// many values at a time, so a backlog of up to `2^20` is never copied in one go.
pub use aimdb_wasm::executors::YIELD_EVERY;
use aimdb_wasm::executors::Pacer;

/// Starts the task that delivers `feed`'s values to `args.callback`.
///
/// One poll of the task must stay short whatever the callback does: a callback may take
/// long, or set the record it listens to (then every delivery drains a new value and
/// the loop never waits). So a ring subscriber without `batch` yields after every
/// callback once the tick's budget is spent ([`TickedExecutor::budget_spent`]) and
/// after every [`YIELD_EVERY`] callbacks; the items drained and not yet delivered wait
/// in the feed. The other modes make one callback per tick (`next_tick`). A single
/// callback longer than the budget still overruns it; the executor counts that in
/// `overruns`.
fn spawn_subscription(
    executor: &TickedExecutor,
    cfg: &BufferCfg,
    counters: &Rc<Counters>,
    args: SubscribeArgs,
    mut feed: Box<dyn Feed>,
) -> Result<aimdb_wasm::executors::Task<()>, FacadeError> {
    let ring = matches!(cfg, BufferCfg::SpmcRing { .. });
    let SubscribeArgs { callback, batch, on_lag, cancelled } = args;
    let drain_max = if ring && !batch { YIELD_EVERY as usize } else { usize::MAX };
    let deliver = {
        let counters = counters.clone();
        move |value: JsValue, items: u64| {
            if cancelled.get() {
                return false;
            }
            counters.delivered.set(counters.delivered.get() + items);
            // A throwing callback is reported by the npm wrapper around it; the
            // subscription goes on either way.
            let _ = callback.call1(&JsValue::UNDEFINED, &value);
            !cancelled.get()
        }
    };
    let counters = counters.clone();
    let executor = executor.clone();
    // Boxed like the engine's tasks (see `WasmAdapter::spawn`): one task type.
    let task = executor.clone().spawn_cancellable::<Pin<Box<dyn Future<Output = ()>>>>(Box::pin(async move {
        let mut pacer = Pacer::new(executor.clone());
        loop {
            feed.clear();
            let lagged = {
                let guard = CancelOnDrop(&mut *feed);
                poll_fn(|cx| guard.0.poll_drain(cx, drain_max)).await
            };
            if lagged > 0 {
                counters.lagged.set(counters.lagged.get() + lagged);
                if let Some(f) = &on_lag {
                    let _ = f.call1(&JsValue::UNDEFINED, &JsValue::from_f64(lagged as f64));
                }
            }
            let len = feed.len();
            if ring && !batch {
                // Every item, in order; stop at once if a callback unsubscribes.
                for i in 0..len {
                    if let Some(js) = feed.js_at(i, &counters) {
                        if !deliver(js, 1) {
                            return;
                        }
                    }
                    pacer.step().await;
                }
                continue;
            }
            // A ring in batch mode: everything drained, as one array. SingleLatest /
            // Mailbox: the latest value only (coalesced), the record's object of that
            // version (every subscriber and `get()` share it), as an array of one in
            // batch mode so a batch callback always gets an array.
            let payload = if ring {
                if batch && len > 0 {
                    feed.js_from(0, &counters).map(|js| (js, len as u64))
                } else {
                    None
                }
            } else {
                feed.js_latest(&counters).map(|js| if batch { (Array::of1(&js).into(), 1) } else { (js, 1) })
            };
            if let Some((json, n)) = payload {
                if !deliver(json, n) {
                    return;
                }
            }
            // At most one callback per tick: the next one waits for the next tick.
            executor.next_tick().await;
        }
    }));
    task.ok_or(FacadeError::UseAfterFree)
}

impl<T: Contract> DynRecord for TypedRecord<T> {
    fn schema(&self) -> &'static str {
        T::NAME
    }

    fn cfg(&self) -> &BufferCfg {
        &self.cfg
    }

    fn set_json(&self, text: &str) -> Result<(), FacadeError> {
        self.produce(T::from_json_str(text).map_err(|e| self.violation(e))?)
    }

    fn set_many_json(&self, texts: &[String], each: Each<'_>) -> Result<u32, FacadeError> {
        let mut items = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            items.push(T::from_json_str(text).map_err(|mut e| {
                e.path = item_path(i, &e.path);
                self.violation(e)
            })?);
        }
        self.produce_all(items, each)
    }

    fn set_tape(&self, tape: &Tape<'_>) -> Result<(), FacadeError> {
        self.produce(T::from_input(&tape.input(0)).map_err(|e| self.violation(e))?)
    }

    fn flat_fields(&self) -> Option<&'static [&'static str]> {
        self.flat
    }

    fn set_flat(&self, vals: &[f64], nulls: u32) -> Result<bool, FacadeError> {
        self.take_flat(vals, crate::flat::Marks { floats: 0, nulls }, &mut || true)
    }

    fn take_flat(&self, vals: &[f64], marks: crate::flat::Marks, admit: &mut dyn FnMut() -> bool) -> Result<bool, FacadeError> {
        let Some(input) = self.flat.and_then(|f| crate::flat::FlatInput::with_marks(f, vals, marks)) else {
            return Ok(false);
        };
        let Ok(v) = T::from_input(&input) else { return Ok(false) };
        if admit() {
            self.produce(v)?;
        }
        Ok(true)
    }

    fn set_many_flat(&self, vals: &[f64], each: Each<'_>) -> Result<Option<u32>, FacadeError> {
        let Some(fields) = self.flat else { return Ok(None) };
        if !vals.len().is_multiple_of(fields.len()) {
            return Ok(None);
        }
        let mut items = Vec::with_capacity(vals.len() / fields.len());
        for chunk in vals.chunks_exact(fields.len()) {
            let Some(input) = crate::flat::FlatInput::new(fields, chunk) else { return Ok(None) };
            match T::from_input(&input) {
                Ok(v) => items.push(v),
                Err(_) => return Ok(None),
            }
        }
        self.produce_all(items, each).map(Some)
    }

    fn set_many_tape(&self, tape: &Tape<'_>, each: Each<'_>) -> Result<u32, FacadeError> {
        let Some(at) = tape.items() else {
            let e = crate::contracts::ContractError::new(T::NAME, "", "setMany takes an array of values");
            return Err(self.violation(e));
        };
        let mut items = Vec::with_capacity(at.len());
        for (i, &p) in at.iter().enumerate() {
            items.push(T::from_input(&tape.input(p)).map_err(|mut e| {
                e.path = item_path(i, &e.path);
                self.violation(e)
            })?);
        }
        self.produce_all(items, each)
    }

    fn version(&self) -> u64 {
        self.buffer.stats().produced
    }

    fn latest_json(&self) -> Option<String> {
        to_json(&self.latest()?, &self.counters)
    }

    fn latest_js(&self) -> Option<JsValue> {
        cached_js(&self.latest_js, self.version(), || to_js(&self.latest()?, &self.counters))
    }

    fn subscribe(&self, args: SubscribeArgs) -> Result<aimdb_wasm::executors::Task<()>, FacadeError> {
        let mut reader = self.buffer.subscribe();
        // The npm wrapper hands a new subscriber the current value itself, at once
        // (the same frozen object `get()` returns). Ring and mailbox readers start after
        // it; a SingleLatest reader would see it first, so it is consumed here.
        if matches!(self.cfg, BufferCfg::SingleLatest) {
            let _ = reader.try_recv();
        }
        let feed = Box::new(TypedFeed {
            reader,
            items: Vec::new(),
            buffer: self.buffer.clone(),
            latest_js: self.latest_js.clone(),
        });
        spawn_subscription(&self.executor, &self.cfg, &self.counters, args, feed)
    }

    fn counters(&self) -> &Rc<Counters> {
        &self.counters
    }

    fn js_input(&self) -> Box<dyn crate::dataflow::Input<JsValue>> {
        let mut reader = self.buffer.subscribe();
        // From now on, as a ring reader starts (a SingleLatest reader would see the
        // current value first); a join is seeded with the current values by its caller.
        if matches!(self.cfg, BufferCfg::SingleLatest) {
            let _ = reader.try_recv();
        }
        Box::new(JsInput { reader, items: Vec::new(), counters: self.counters.clone() })
    }

    fn simulate(
        &self,
        opts: crate::simulate::SimOptions,
        cancelled: Rc<Cell<bool>>,
        after: Box<dyn Fn()>,
    ) -> Result<aimdb_wasm::executors::Task<()>, FacadeError> {
        let invalid = |message: String| FacadeError::InvalidOptions { what: "simulate", message };
        crate::simulate::check_hz(opts.hz).map_err(invalid)?;
        if !crate::simulate::simulatable::<T>() {
            return Err(invalid(format!("contract `{}` of record `{}` has no simulation", T::NAME, self.key)));
        }
        let (db, key, counters) = (self.db.clone(), self.key.clone(), self.counters.clone());
        crate::simulate::spawn::<T>(&self.executor, opts, cancelled, move |v| {
            match poll_now(db.produce::<T>(&key, v)) {
                Some(Ok(())) => after(),
                // Not expected (the record's own engine, no I/O); counted, never silent.
                _ => counters.serialize_errors.set(counters.serialize_errors.get() + 1),
            }
        })
        .ok_or(FacadeError::UseAfterFree)
    }

    fn stats(&self) -> RecordStats {
        let b = self.buffer.stats();
        RecordStats {
            schema_type: T::NAME,
            buffer: describe(&self.cfg),
            capacity: ring_capacity(&self.cfg),
            produced: b.produced,
            delivered: self.counters.delivered.get(),
            lagged: self.counters.lagged.get(),
            subscribers: self.counters.subscribers.get(),
            readers: b.readers,
            parked: b.parked,
            serialize_errors: self.counters.serialize_errors.get(),
        }
    }
}
