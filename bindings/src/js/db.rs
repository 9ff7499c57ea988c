//! `RawDb`: the `#[wasm_bindgen]` class the npm wrapper (`WasmDb`) drives. Values cross
//! as JSON text (exact u64 timestamps, one parser for `set`, `validate` and the bridge);
//! errors cross as `AimDbError` objects.

use super::error::FacadeError;
use super::options::{self, describe, Link};
use super::record::{DynRecord, RecordCtx, SubscribeArgs};
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
}

struct Subscription {
    key: String,
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

    fn push(&mut self, key: String, entry: Entry) {
        self.index.insert(key.clone(), self.list.len());
        self.list.push((key, entry));
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
    next_sub: Cell<u32>,
    /// The bridges linked to this db.
    #[cfg(feature = "bridge")]
    observers: RefCell<Vec<std::rc::Weak<dyn DbObserver>>>,
}

impl Core {
    /// Validates `json` against `key`'s contract and produces it: a local write, which
    /// linked bridges are told about.
    fn set_local(&self, key: &str, json: &str) -> Result<(), FacadeError> {
        let record =
            self.records.borrow().get(key).map(|e| e.record.clone()).ok_or_else(|| FacadeError::UnknownKey { key: key.into() })?;
        record.set_json(json)?;
        #[cfg(feature = "bridge")]
        self.notify(|o| o.local_write(key, &*record));
        Ok(())
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
}

/// A bridge linked to a db (`RawBridge`), told what happens to it.
#[cfg(feature = "bridge")]
pub(super) trait DbObserver {
    /// `key` was set locally (`db.set` or `WsBridge.write`); `record` holds the value.
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
            .map(|(k, e)| LinkedRecord { key: k.clone(), record: e.record.clone(), topic: e.topic.clone(), link: e.link })
            .collect())
    }

    fn core(&self) -> Result<Rc<Core>, FacadeError> {
        self.core.borrow().clone().ok_or(FacadeError::UseAfterFree)
    }

    fn record(&self, key: &str) -> Result<Rc<dyn DynRecord>, FacadeError> {
        let core = self.core()?;
        let records = core.records.borrow();
        records.get(key).map(|e| e.record.clone()).ok_or_else(|| FacadeError::UnknownKey { key: key.into() })
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
                next_sub: Cell::new(1),
                #[cfg(feature = "bridge")]
                observers: RefCell::default(),
            }))),
        })
    }

    /// Configures `key`. The same schema and buffer again is a no-op; another is a
    /// `SCHEMA_CONFLICT`.
    #[wasm_bindgen(js_name = configureRecord)]
    pub fn configure_record(&self, key: &str, options_json: &str) -> Result<(), JsValue> {
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
            let existing = show(e.record.schema(), e.record.cfg(), &e.topic, e.link);
            let requested = show(schema.name(), &opts.buffer, &opts.topic, opts.link);
            if existing == requested {
                return Ok(());
            }
            return Err(FacadeError::SchemaConflict { key: key.into(), existing, requested }.into());
        }
        let record = schema.create_record(&RecordCtx {
            key: key.into(),
            cfg: opts.buffer,
            adapter: core.adapter.clone(),
            executor: core.executor.clone(),
        })?;
        #[cfg(feature = "bridge")]
        let linked = LinkedRecord { key: key.into(), record: record.clone(), topic: opts.topic.clone(), link: opts.link };
        core.records.borrow_mut().push(key.into(), Entry { record, topic: opts.topic, link: opts.link });
        #[cfg(feature = "bridge")]
        core.notify(|o| o.configured(linked.clone()));
        Ok(())
    }

    /// Validates `json` against the record's contract and produces it.
    pub fn set(&self, key: &str, json: &str) -> Result<(), JsValue> {
        Ok(self.core()?.set_local(key, json)?)
    }

    /// Values produced into `key` so far: the snapshot version.
    pub fn version(&self, key: &str) -> Result<f64, JsValue> {
        Ok(self.record(key)?.version() as f64)
    }

    /// The latest value of `key` as JSON, or `undefined` before the first.
    pub fn latest(&self, key: &str) -> Result<Option<String>, JsValue> {
        Ok(self.record(key)?.latest_json())
    }

    /// Starts a subscription to values produced from now on; `callback(json)` gets one
    /// value (or, with `batch`, a JSON array). The current value is the caller's to hand
    /// over (`latest`). Returns the id to `unsubscribe` with.
    pub fn subscribe(&self, key: &str, callback: Function, batch: bool, on_lag: Option<Function>) -> Result<u32, JsValue> {
        let core = self.core()?;
        let record = self.record(key)?;
        let cancelled = Rc::new(Cell::new(false));
        let task = record.subscribe(SubscribeArgs { callback, batch, on_lag, cancelled: cancelled.clone() })?;
        let id = core.next_sub.get();
        core.next_sub.set(id.wrapping_add(1).max(1));
        let c = record.counters();
        c.subscribers.set(c.subscribers.get() + 1);
        core.subs.borrow_mut().insert(id, Subscription { key: key.into(), cancelled, _task: task });
        Ok(id)
    }

    /// Ends a subscription: its callback is never called again, also when called from
    /// inside that callback. Unknown or repeated ids are ignored.
    pub fn unsubscribe(&self, id: u32) {
        let Ok(core) = self.core() else { return };
        let removed = core.subs.borrow_mut().remove(&id);
        if let Some(sub) = removed {
            sub.cancelled.set(true);
            if let Some(e) = core.records.borrow().get(&sub.key) {
                let c = e.record.counters();
                c.subscribers.set(c.subscribers.get().saturating_sub(1));
            }
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

/// Validates `json` against `schemaType` without a database. Returns the value,
/// migrated to the current version, as JSON.
#[wasm_bindgen]
pub fn validate(schema_type: &str, json: &str) -> Result<String, JsValue> {
    let schema =
        schema::lookup(schema_type).ok_or_else(|| FacadeError::UnknownSchema { key: None, schema: schema_type.into() })?;
    Ok(schema.validate_json(json).map_err(|error| FacadeError::Contract { key: None, error })?)
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
