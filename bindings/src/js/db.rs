//! `RawDb`: the `#[wasm_bindgen]` class the npm wrapper (`WasmDb`) drives. Values cross
//! as JSON text (exact u64 timestamps, one parser for `set`, `validate` and the bridge);
//! errors cross as `AimDbError` objects.

mod restore;

use super::error::FacadeError;
use super::options::{self, describe, Link};
#[cfg(feature = "bridge")]
use super::record::ring_capacity;
use super::record::{DynRecord, RecordCtx, SubscribeArgs};
use super::tape;
use crate::schema;
use aimdb_wasm::{LogSink, TickedExecutor, WasmAdapter};
use core::cell::{Cell, RefCell};
use js_sys::Function;
use serde::Serialize;
use hashbrown::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

struct Entry {
    record: Rc<dyn DynRecord>,
    topic: Option<String>,
    link: Link,
    /// `backfill` (0 = off).
    backfill: usize,
}

struct Subscription {
    record: Rc<dyn DynRecord>,
    cancelled: Rc<Cell<bool>>,
    /// Dropping the task cancels it.
    _task: aimdb_wasm::executors::Task<()>,
}

/// A running transform or tap ([`crate::dataflow`]).
struct Flow {
    cancelled: Rc<Cell<bool>>,
    /// Dropping the task cancels it.
    _task: aimdb_wasm::executors::Task<()>,
}

/// The configured records in configuration order (`stats()` lists them so), with an
/// index by key: `configureRecord`, `set` and `get` cost the same with 100,000 records
/// as with one.
#[derive(Default)]
struct Records {
    list: Vec<(String, Entry)>,
    index: HashMap<String, usize>,
}

impl Records {
    fn get(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).and_then(|&at| self.list.get(at)).map(|(_, e)| e)
    }

    /// The record's handle: its place in configuration order (records are never removed).
    fn handle(&self, key: &str) -> Option<u32> {
        self.index.get(key).map(|&at| at as u32)
    }

    /// Adds a record; returns its handle.
    fn push(&mut self, key: String, entry: Entry) -> u32 {
        let at = self.list.len();
        self.index.insert(key.clone(), at);
        self.list.push((key, entry));
        at as u32
    }

    fn clear(&mut self) {
        self.list.clear();
        self.index.clear();
    }
}

struct Core {
    executor: TickedExecutor,
    adapter: WasmAdapter,
    records: RefCell<Records>,
    /// By id (unsubscribing is O(1) whatever the number of live subscriptions).
    subs: RefCell<HashMap<u32, Subscription>>,
    /// Transforms and taps, by id (the same id space as `subs`).
    flows: RefCell<HashMap<u32, Flow>>,
    next_sub: Cell<u32>,
    /// The bridges linked to this db.
    #[cfg(feature = "bridge")]
    observers: RefCell<Vec<std::rc::Weak<dyn DbObserver>>>,
}

impl Core {
    /// Validates `json` against `key`'s contract and produces it: a local write, which
    /// linked bridges are told about.
    #[cfg(feature = "bridge")]
    fn set_local(&self, key: &str, json: &str) -> Result<(), FacadeError> {
        let record =
            self.records.borrow().get(key).map(|e| e.record.clone()).ok_or_else(|| FacadeError::UnknownKey { key: key.into() })?;
        record.set_json(json)?;
        self.written(key, &record);
        Ok(())
    }

    /// The record behind a handle `configureRecord` returned, and its key when a linked
    /// bridge may need it ([`observed_key`](Self::observed_key)).
    fn record_at(&self, handle: u32) -> Result<(Rc<dyn DynRecord>, Option<String>), FacadeError> {
        let record = self.record(handle).ok_or_else(|| FacadeError::Engine {
            key: String::new(),
            message: format!("no record has handle {handle} in this WasmDb"),
        })?;
        Ok((record, self.observed_key(handle)))
    }

    /// The record behind a handle, `None` if there is none (no error value built: the
    /// hot path `setFlat` answers any miss with a plain `false`).
    fn record(&self, handle: u32) -> Option<Rc<dyn DynRecord>> {
        self.records.borrow().list.get(handle as usize).map(|(_, e)| e.record.clone())
    }

    /// The key of a handle's record, only when a bridge may need it (`written`).
    fn observed_key(&self, handle: u32) -> Option<String> {
        #[cfg(feature = "bridge")]
        if !self.observers.borrow().is_empty() {
            return self.records.borrow().list.get(handle as usize).map(|(k, _)| k.clone());
        }
        let _ = handle;
        None
    }

    /// A local write of `key` happened (`record` holds the value): linked bridges are
    /// told.
    #[cfg(feature = "bridge")]
    fn written(&self, key: &str, record: &Rc<dyn DynRecord>) {
        self.notify(|o| o.local_write(key, &**record));
    }

    /// Calls `f` on every live observer (none borrowed while it runs: `f` may re-enter).
    #[cfg(feature = "bridge")]
    fn notify(&self, f: impl Fn(&dyn DbObserver)) {
        let live: Vec<Rc<dyn DbObserver>> = {
            let mut obs = self.observers.borrow_mut();
            obs.retain(|w| w.strong_count() > 0);
            obs.iter().filter_map(std::rc::Weak::upgrade).collect()
        };
        for o in live {
            f(&*o);
        }
    }
}

/// The database a page talks to (wrapped as `WasmDb` by the npm package).
#[wasm_bindgen]
pub struct RawDb {
    core: RefCell<Option<Rc<Core>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DbStats<'a> {
    executor: aimdb_wasm::executors::ExecutorStats,
    records: RecordsStats<'a>,
}

/// Serializes as a JSON object keyed by record key.
struct RecordsStats<'a>(&'a [(String, Entry)]);

impl Serialize for RecordsStats<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, e)| (k.as_str(), e.record.stats())))
    }
}

/// What the bridge needs of one configured record.
#[cfg(feature = "bridge")]
#[derive(Clone)]
pub(super) struct LinkedRecord {
    pub key: String,
    pub record: Rc<dyn DynRecord>,
    pub topic: Option<String>,
    pub link: Link,
    /// `backfill`: how many history values to ask for on every open link (0 = off).
    pub backfill: usize,
    /// The ring's capacity (how many live values a backfill may hold); 0 for other buffers.
    pub capacity: usize,
}

/// A bridge linked to a db (`RawBridge`), told what happens to it.
#[cfg(feature = "bridge")]
pub(super) trait DbObserver {
    /// `key` was set locally (`db.set`, each value of `db.setMany`, `WsBridge.write`);
    /// `record` holds the value.
    fn local_write(&self, key: &str, record: &dyn DynRecord);
    /// A record was configured after the bridge connected.
    fn configured(&self, record: LinkedRecord);
    /// The db is being freed: the bridge ends with it.
    fn db_freed(&self);
}

/// A bridge's handle on its db (does not keep it alive).
#[cfg(feature = "bridge")]
pub(super) struct DbHandle(std::rc::Weak<Core>);

#[cfg(feature = "bridge")]
impl DbHandle {
    /// `db.set(key, json)`; `USE_AFTER_FREE` once the db is freed.
    pub fn set(&self, key: &str, json: &str) -> Result<(), FacadeError> {
        self.0.upgrade().ok_or(FacadeError::UseAfterFree)?.set_local(key, json)
    }
}

impl RawDb {
    /// Links a bridge: it is told about local writes, records configured from now on,
    /// and the end of the db.
    #[cfg(feature = "bridge")]
    pub(super) fn observe(&self, observer: std::rc::Weak<dyn DbObserver>) -> Result<(), FacadeError> {
        self.core()?.observers.borrow_mut().push(observer);
        Ok(())
    }

    /// A handle for a linked bridge's local writes.
    #[cfg(feature = "bridge")]
    pub(super) fn handle(&self) -> Result<DbHandle, FacadeError> {
        Ok(DbHandle(Rc::downgrade(&self.core()?)))
    }

    /// The records configured so far, for `RawBridge::connect`.
    #[cfg(feature = "bridge")]
    pub(super) fn linked_records(&self) -> Result<Vec<LinkedRecord>, FacadeError> {
        let core = self.core()?;
        let records = core.records.borrow();
        Ok(records
            .list
            .iter()
            .map(|(k, e)| LinkedRecord {
                key: k.clone(),
                record: e.record.clone(),
                topic: e.topic.clone(),
                link: e.link,
                backfill: e.backfill,
                capacity: ring_capacity(e.record.cfg()),
            })
            .collect())
    }

    fn core(&self) -> Result<Rc<Core>, FacadeError> {
        self.core.borrow().clone().ok_or(FacadeError::UseAfterFree)
    }

    /// The handle of `key`'s record (as `configureRecord` returned it), for Rust callers;
    /// `UNKNOWN_KEY` if none. (The npm wrapper keeps the handles it was given.)
    pub fn handle_of(&self, key: &str) -> Result<u32, JsValue> {
        let core = self.core()?;
        let handle = core.records.borrow().handle(key);
        Ok(handle.ok_or_else(|| FacadeError::UnknownKey { key: key.into() })?)
    }

}

#[wasm_bindgen]
impl RawDb {
    /// `optionsJson`: `{ tick?, budgetMs?, maxPollsPerTick?, logLevel? }` as JSON.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str) -> Result<RawDb, JsValue> {
        let opts = options::db_options(options_json)?;
        let executor = TickedExecutor::new(opts.tick)
            .map_err(|e| FacadeError::InvalidOptions { what: "WasmDb options", message: e.to_string() })?;
        let adapter = WasmAdapter::new(&executor).with_log(LogSink::new(opts.log_level));
        Ok(RawDb {
            core: RefCell::new(Some(Rc::new(Core {
                executor,
                adapter,
                records: RefCell::default(),
                subs: RefCell::default(),
                flows: RefCell::default(),
                next_sub: Cell::new(1),
                #[cfg(feature = "bridge")]
                observers: RefCell::default(),
            }))),
        })
    }

    /// Configures `key` and returns its handle (for `setTape`, `latestAt`, ...). The same
    /// schema and buffer again is a no-op (the same handle); another is a
    /// `SCHEMA_CONFLICT`.
    #[wasm_bindgen(js_name = configureRecord)]
    pub fn configure_record(&self, key: &str, options_json: &str) -> Result<u32, JsValue> {
        let core = self.core()?;
        options::check_key(key)?;
        let opts = options::record_options(key, options_json)?;
        let schema = schema::lookup(&opts.schema_type)
            .ok_or_else(|| FacadeError::UnknownSchema { key: Some(key.into()), schema: opts.schema_type.clone() })?;
        if let Some(e) = core.records.borrow().get(key) {
            let show = |schema: &str, cfg, topic: &Option<String>, link: Link| {
                let mut s = format!("{schema} / {}", describe(cfg));
                if let Some(t) = topic {
                    s.push_str(&format!(" / topic {t}"));
                }
                s.push_str(match link {
                    Link::In => "",
                    Link::Out => " / link out",
                    Link::Both => " / link both",
                });
                s
            };
            let with_backfill = |mut s: String, n: usize| {
                if n > 0 {
                    s.push_str(&format!(" / backfill {n}"));
                }
                s
            };
            let existing = with_backfill(show(e.record.schema(), e.record.cfg(), &e.topic, e.link), e.backfill);
            let requested = with_backfill(show(schema.name(), &opts.buffer, &opts.topic, opts.link), opts.backfill);
            if existing == requested {
                return Ok(core.records.borrow().handle(key).unwrap_or_default());
            }
            return Err(FacadeError::SchemaConflict { key: key.into(), existing, requested }.into());
        }
        #[cfg(feature = "bridge")]
        let capacity = ring_capacity(&opts.buffer);
        let record = schema.create_record(&RecordCtx {
            key: key.into(),
            cfg: opts.buffer,
            adapter: core.adapter.clone(),
            executor: core.executor.clone(),
        })?;
        #[cfg(feature = "bridge")]
        let linked = LinkedRecord {
            key: key.into(),
            record: record.clone(),
            topic: opts.topic.clone(),
            link: opts.link,
            backfill: opts.backfill,
            capacity,
        };
        let handle =
            core.records.borrow_mut().push(key.into(), Entry { record, topic: opts.topic, link: opts.link, backfill: opts.backfill });
        #[cfg(feature = "bridge")]
        core.notify(|o| o.configured(linked.clone()));
        Ok(handle)
    }

    /// Validates JSON text against the record's contract and produces it (the wrapper's
    /// way for a value the tape does not take); a violation is a `CONTRACT_VIOLATION`
    /// with the field path.
    #[wasm_bindgen(js_name = setText)]
    pub fn set_text(&self, handle: u32, json: &str) -> Result<(), JsValue> {
        let core = self.core()?;
        let (record, _key) = core.record_at(handle)?;
        record.set_json(json)?;
        #[cfg(feature = "bridge")]
        if let Some(key) = _key {
            core.written(&key, &record);
        }
        Ok(())
    }

    /// Reads the value the wrapper encoded on the tape (`len` slots; `strs`: the strings
    /// it refers to) straight into the record's contract type and produces it: one call,
    /// no JSON text. A violation is a `CONTRACT_VIOLATION` with the field path.
    #[wasm_bindgen(js_name = setTape)]
    pub fn set_tape(&self, handle: u32, len: u32, strs: JsValue) -> Result<(), JsValue> {
        let core = self.core()?;
        let (record, _key) = core.record_at(handle)?;
        tape::with_tape(len, &strs, |t| record.set_tape(t))?;
        #[cfg(feature = "bridge")]
        if let Some(key) = _key {
            core.written(&key, &record);
        }
        Ok(())
    }

    /// The contract struct's field names of the record at `handle`, in the order
    /// `setFlat` takes them (`undefined`: its values always take the general path).
    #[wasm_bindgen(js_name = flatFieldsAt)]
    pub fn flat_fields_at(&self, handle: u32) -> Result<JsValue, JsValue> {
        let (record, _) = self.core()?.record_at(handle)?;
        Ok(record.flat_fields().map_or(JsValue::UNDEFINED, |f| {
            f.iter().map(|s| JsValue::from_str(s)).collect::<js_sys::Array>().into()
        }))
    }

    /// The flat fast path of `set` (`crate::flat`): the first `len` tape slots are the
    /// value's fields (`flatFieldsAt`), `NaN` where absent; bit `i` of `nulls`: field `i`
    /// is `null` ([`Marks`](crate::flat::Marks)). `false`: not produced (declined,
    /// or any error: a freed db, an unknown handle, the engine's); the wrapper then writes
    /// the value the general way (`setTape`), which reports any violation or error. No
    /// `Result`: a plain `bool` crosses without the array a multi-value return costs.
    #[wasm_bindgen(js_name = setFlat)]
    pub fn set_flat(&self, handle: u32, len: u32, nulls: u32) -> bool {
        // Not `core()` / `record_at`: every miss is a plain `false` here, so no error
        // value is built (a hot path: about a tenth of a set).
        let Some(core) = self.core.borrow().clone() else { return false };
        let Some(record) = core.record(handle) else { return false };
        let done = tape::with_slots(len, |s| record.set_flat(s, nulls)).unwrap_or(false);
        #[cfg(feature = "bridge")]
        if done {
            if let Some(key) = core.observed_key(handle) {
                core.written(&key, &record);
            }
        }
        done
    }

    /// Validates every item of the array on the tape, then produces them in order: all or
    /// nothing; a violation's path starts with the item's index (`[3].celsius`).
    #[wasm_bindgen(js_name = setManyTape)]
    pub fn set_many_tape(&self, handle: u32, len: u32, strs: JsValue) -> Result<u32, JsValue> {
        let core = self.core()?;
        let (record, _key) = core.record_at(handle)?;
        #[cfg(feature = "bridge")]
        if let Some(key) = _key {
            return Ok(tape::with_tape(len, &strs, |t| record.set_many_tape(t, Some(&mut || core.written(&key, &record))))?);
        }
        Ok(tape::with_tape(len, &strs, |t| record.set_many_tape(t, None))?)
    }

    /// The flat fast path of `setMany`: `count` values, one run of `flatFieldsAt`'s
    /// slots each, all or nothing. `undefined`: declined, nothing produced (the wrapper
    /// then takes `setManyTape`, which reports any violation at `[index].path`).
    #[wasm_bindgen(js_name = setManyFlat)]
    pub fn set_many_flat(&self, handle: u32, count: u32) -> Result<Option<u32>, JsValue> {
        let core = self.core()?;
        let (record, _key) = core.record_at(handle)?;
        let Some(m) = record.flat_fields().map(<[&str]>::len) else { return Ok(None) };
        let len = (m as u64 * u64::from(count)).min(u64::from(u32::MAX)) as u32;
        let whole = |s: &[f64]| s.len() == len as usize && !s.is_empty();
        #[cfg(feature = "bridge")]
        if let Some(key) = _key {
            let each: super::record::Each<'_> = Some(&mut || core.written(&key, &record));
            return Ok(tape::with_slots(len, |s| if whole(s) { record.set_many_flat(s, each) } else { Ok(None) })?);
        }
        Ok(tape::with_slots(len, |s| if whole(s) { record.set_many_flat(s, None) } else { Ok(None) })?)
    }

    /// `setManyTape` for values as JSON texts (the wrapper's way for values the tape does
    /// not take).
    #[wasm_bindgen(js_name = setManyText)]
    pub fn set_many_text(&self, handle: u32, texts: Vec<String>) -> Result<u32, JsValue> {
        let core = self.core()?;
        let (record, _key) = core.record_at(handle)?;
        #[cfg(feature = "bridge")]
        if let Some(key) = _key {
            return Ok(record.set_many_json(&texts, Some(&mut || core.written(&key, &record)))?);
        }
        Ok(record.set_many_json(&texts, None)?)
    }

    /// The latest value as a JS object, the same object for every call (and every
    /// SingleLatest / Mailbox subscriber) until the value changes; `undefined` before
    /// the first.
    #[wasm_bindgen(js_name = latestAt)]
    pub fn latest_at(&self, handle: u32) -> Result<JsValue, JsValue> {
        let (record, _) = self.core()?.record_at(handle)?;
        Ok(record.latest_js().unwrap_or(JsValue::UNDEFINED))
    }

    /// Starts a subscription to values produced from now on; `callback(value)` gets one
    /// value (or, with `batch`, an array). The current value is the caller's to hand
    /// over (`latestAt`). Returns the id to `unsubscribe` with.
    #[wasm_bindgen(js_name = subscribeAt)]
    pub fn subscribe_at(&self, handle: u32, callback: Function, batch: bool, on_lag: Option<Function>) -> Result<u32, JsValue> {
        let core = self.core()?;
        let (record, _) = core.record_at(handle)?;
        let cancelled = Rc::new(Cell::new(false));
        let task = record.subscribe(SubscribeArgs { callback, batch, on_lag, cancelled: cancelled.clone() })?;
        let id = core.next_sub.get();
        core.next_sub.set(id.wrapping_add(1).max(1));
        let c = record.counters();
        c.subscribers.set(c.subscribers.get() + 1);
        core.subs.borrow_mut().insert(id, Subscription { record, cancelled, _task: task });
        Ok(id)
    }

    /// Starts a transform or tap over the records `handles` (`crate::dataflow`): `step(values)`
    /// gets an array with the latest value of every input, once each has one, on every value
    /// of any input (one input: every value). `seed`: start from the inputs' current values
    /// (a join). Returns the id to `endFlow` with.
    #[wasm_bindgen(js_name = flowAt)]
    pub fn flow_at(&self, handles: Vec<u32>, step: Function, seed: bool) -> Result<u32, JsValue> {
        let core = self.core()?;
        let mut inputs = Vec::with_capacity(handles.len());
        let mut seeds = Vec::with_capacity(handles.len());
        for &h in &handles {
            let (record, _) = core.record_at(h)?;
            inputs.push(record.js_input());
            seeds.push(if seed { record.latest_js() } else { None });
        }
        let cancelled = Rc::new(Cell::new(false));
        let task = crate::dataflow::spawn(&core.executor, inputs, seeds, cancelled.clone(), move |values| {
            let arr: js_sys::Array = values.into_iter().collect();
            // A throwing step is reported by the npm wrapper around it; the flow goes on.
            let _ = step.call1(&JsValue::UNDEFINED, &arr);
        })
        .ok_or(FacadeError::UseAfterFree)?;
        let id = core.next_sub.get();
        core.next_sub.set(id.wrapping_add(1).max(1));
        core.flows.borrow_mut().insert(id, Flow { cancelled, _task: task });
        Ok(id)
    }

    /// Starts a simulated source of the record `handle` (`crate::simulate`): `hz` values per
    /// second on the db's clock, from generator `seed` (an integer), timestamps from
    /// `startTimestamp` (Unix ms). Returns the id to `endFlow` with.
    #[wasm_bindgen(js_name = simulateAt)]
    pub fn simulate_at(&self, handle: u32, hz: f64, seed: f64, start_timestamp: f64) -> Result<u32, JsValue> {
        let core = self.core()?;
        let (record, _) = core.record_at(handle)?;
        let cancelled = Rc::new(Cell::new(false));
        let opts = crate::simulate::SimOptions { hz, seed: seed as u64, start_timestamp: start_timestamp as u64 };
        // A simulated value is a local write: linked bridges are told, as for `set`.
        #[cfg(feature = "bridge")]
        let after: Box<dyn Fn()> = {
            // Also bridges linked later: the key whatever is linked now.
            let key = core.records.borrow().list.get(handle as usize).map(|(k, _)| k.clone()).unwrap_or_default();
            let (weak, rec) = (Rc::downgrade(&core), record.clone());
            Box::new(move || {
                if let Some(core) = weak.upgrade() {
                    core.written(&key, &rec);
                }
            })
        };
        #[cfg(not(feature = "bridge"))]
        let after: Box<dyn Fn()> = Box::new(|| {});
        let task = record.simulate(opts, cancelled.clone(), after)?;
        let id = core.next_sub.get();
        core.next_sub.set(id.wrapping_add(1).max(1));
        core.flows.borrow_mut().insert(id, Flow { cancelled, _task: task });
        Ok(id)
    }

    /// Ends a transform or tap: its step is never called again, also when called from
    /// inside it. Unknown or repeated ids are ignored.
    #[wasm_bindgen(js_name = endFlow)]
    pub fn end_flow(&self, id: u32) {
        let Ok(core) = self.core() else { return };
        let removed = core.flows.borrow_mut().remove(&id);
        if let Some(flow) = removed {
            flow.cancelled.set(true);
        }
    }

    /// Ends a subscription: its callback is never called again, also when called from
    /// inside that callback. Unknown or repeated ids are ignored.
    pub fn unsubscribe(&self, id: u32) {
        let Ok(core) = self.core() else { return };
        let removed = core.subs.borrow_mut().remove(&id);
        if let Some(sub) = removed {
            sub.cancelled.set(true);
            let c = sub.record.counters();
            c.subscribers.set(c.subscribers.get().saturating_sub(1));
            drop(sub); // cancels the task
        }
    }

    /// Switches the ticking strategy / budget at run time (`{ tick?, budgetMs?, maxPollsPerTick? }`).
    #[wasm_bindgen(js_name = setTicking)]
    pub fn set_ticking(&self, options_json: &str) -> Result<(), JsValue> {
        let core = self.core()?;
        let cfg = options::set_ticking(options_json, core.executor.config())?;
        core.executor
            .set_config(cfg)
            .map_err(|e| FacadeError::InvalidOptions { what: "ticking options", message: e.to_string() })?;
        Ok(())
    }

    /// Runs one tick now (what `tick: 'manual'` waits for; harmless under the others and a
    /// no-op from inside a callback of a tick) and returns its `TickStats` as JSON.
    pub fn tick(&self) -> Result<String, JsValue> {
        let stats = self.core()?.executor.tick();
        serde_json::to_string(&stats)
            .map_err(|e| FacadeError::Engine { key: String::new(), message: e.to_string() }.into())
    }

    /// Moves the virtual clock (a db made with `tick: 'manual'`) forward by `ms` and wakes
    /// the timers now due (they run on the next tick). Returns the clock's new time in ms,
    /// or `undefined` when the db runs on the real clock. `ms`: finite, >= 0.
    #[wasm_bindgen(js_name = advanceTime)]
    pub fn advance_time(&self, ms: f64) -> Result<Option<f64>, JsValue> {
        let core = self.core()?;
        let by = core::time::Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| FacadeError::InvalidOptions {
            what: "advanceTime",
            // `num`, not `{ms}`: f64's Display would bring core's float formatting (~7 KB gz).
            message: format!("ms must be a finite number >= 0, got {}", crate::contracts::num(ms)),
        })?;
        Ok(core.executor.clock().as_virtual().map(|clock| {
            clock.advance(by);
            clock.now_ms()
        }))
    }

    /// Executor and per-record counters, as JSON.
    pub fn stats(&self) -> Result<String, JsValue> {
        let core = self.core()?;
        let records = core.records.borrow();
        let stats = DbStats { executor: core.executor.stats(), records: RecordsStats(&records.list) };
        serde_json::to_string(&stats)
            .map_err(|e| FacadeError::Engine { key: String::new(), message: e.to_string() }.into())
    }

    /// Ends every subscription and task. Further calls throw `USE_AFTER_FREE`.
    pub fn dispose(&self) {
        let core = self.core.borrow_mut().take();
        if let Some(core) = core {
            // Linked bridges end first (they must not send or deliver any more).
            #[cfg(feature = "bridge")]
            core.notify(|o| o.db_freed());
            // Cancel first: a callback running right now (dispose from inside it) must
            // not get the rest of its batch; dropping the task cannot stop its poll.
            let subs = core.subs.take();
            for sub in subs.values() {
                sub.cancelled.set(true);
            }
            drop(subs);
            let flows = core.flows.take();
            for flow in flows.values() {
                flow.cancelled.set(true);
            }
            drop(flows);
            core.executor.shutdown();
            core.records.borrow_mut().clear();
        }
    }
}

impl Drop for RawDb {
    fn drop(&mut self) {
        self.dispose();
    }
}

fn schema_of(schema_type: &str) -> Result<Rc<dyn schema::ErasedSchema>, FacadeError> {
    schema::lookup(schema_type).ok_or_else(|| FacadeError::UnknownSchema { key: None, schema: schema_type.into() })
}

/// Validates `json` against `schemaType` without a database. Returns the value,
/// migrated to the current version, as JSON.
#[wasm_bindgen]
pub fn validate(schema_type: &str, json: &str) -> Result<String, JsValue> {
    Ok(schema_of(schema_type)?.validate_json(json).map_err(|error| FacadeError::Contract { key: None, error })?)
}

/// Validates the value the wrapper encoded on the tape against `schemaType` without a
/// database. Returns the value, migrated to the current version, as a JS object.
#[wasm_bindgen(js_name = validateTape)]
pub fn validate_tape(schema_type: &str, len: u32, strs: JsValue) -> Result<JsValue, JsValue> {
    let schema = schema_of(schema_type)?;
    Ok(tape::with_tape(len, &strs, |t| schema.validate_tape(t)).map_err(|error| FacadeError::Contract { key: None, error })?)
}

/// The contracts this module carries, with their versions, as JSON
/// (`[{"name":"temperature","version":2}, ...]`).
#[wasm_bindgen(js_name = knownSchemas)]
pub fn known_schemas() -> String {
    #[derive(Serialize)]
    struct Known {
        name: &'static str,
        version: u32,
    }
    let list: Vec<Known> = schema::known_schemas()
        .into_iter()
        .filter_map(schema::lookup)
        .map(|s| Known { name: s.name(), version: s.version() })
        .collect();
    serde_json::to_string(&list).unwrap_or_default()
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static PANIC_LISTENER: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// `listener(message)` is called on every Rust panic, wherever it happens (also inside
/// a tick the host started): the npm wrapper marks the module unusable from then on.
#[wasm_bindgen(js_name = onPanic)]
pub fn on_panic(listener: Function) {
    PANIC_LISTENER.with(|l| *l.borrow_mut() = Some(listener));
}

/// The message of the last Rust panic, if any (the wrapper turns a trap into an
/// `AimDbError` with code `PANIC` carrying it).
#[wasm_bindgen(js_name = takePanic)]
pub fn take_panic() -> Option<String> {
    LAST_PANIC.with(|p| p.borrow_mut().take())
}

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        // `try_`: nothing here may panic again (that would abort without a message).
        if let Ok(Some(f)) = PANIC_LISTENER.try_with(|l| l.try_borrow().ok().and_then(|f| f.clone())) {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_str(&msg));
        }
        let _ = LAST_PANIC.try_with(|p| p.try_borrow_mut().map(|mut p| *p = Some(msg)));
    }));
}

/// Test hook: panics with `message` (lets the page test check that a panic surfaces as
/// a readable error).
#[wasm_bindgen(js_name = __panicForTest)]
pub fn panic_for_test(message: &str) {
    panic!("{message}");
}
