//! `RawBridge`: the `#[wasm_bindgen]` class behind the npm `WsBridge`. The state
//! machine is `aimdb_wasm_bridge::Bridge`, driven by its browser transport
//! (`aimdb_wasm_bridge::web`); this file links it to a `RawDb`'s records:
//!
//! - inbound (`in`/`both`): a delivered payload is the frame's own JSON text (the
//!   machine parsed only the envelope); the record, found by its number (the machine's
//!   and this file's tables are in the same order), parses it once through its contract
//!   (`set_json`: validated, migrated, produced). A violation is handed back to the
//!   machine (`reject_inbound`) and reported as a `CONTRACT_VIOLATION` error carrying
//!   the topic; the record is not touched;
//! - outbound (`out`/`both`): the db tells its linked bridges about every local write
//!   (`db.set`, `WsBridge.write`; see `DbObserver`), synchronously and one by one, so
//!   every accepted value goes to the machine, whatever the record's buffer coalesces.
//!   Values the bridge delivered are not local writes: they never go back;
//! - `WsBridge.write` validates against the contract, asks the machine whether it can
//!   take the write, and only then sets the value locally (which sends it);
//! - records configured after `connect` are added to the machine (`add_record`);
//! - `backfill: n` records: on every open link a `query` for the topic's last n values;
//!   deliveries are held until its answer (see `backfill.rs`);
//! - the bridge ends with its db (`db_freed`);
//! - `data` frames the wrapper can parse itself take a fast path in front of the
//!   transport (`bridge/ingest.rs`), with the same outcome;
//! - `persist` (a durable write queue): the wrapper is told when the writes not yet
//!   confirmed change, reads them and restores stored ones (`bridge/persist.rs`).

mod ingest;
mod persist;

use super::backfill::Hold;
use super::db::{DbHandle, DbObserver, LinkedRecord, RawDb};
use super::error::{js_error, FacadeError};
use super::options::Link as DbLink;
use super::record::DynRecord;
use aimdb_wasm_bridge::error::{error_code_str, Quoted};
use aimdb_wasm_bridge::web::{self, WebBridge};
use aimdb_wasm_bridge::{
    Action, Bridge, BridgeError, Status, BridgeOptions, ConfigError, Delivery, DropReason, Link, RecordLink, WriteError,
};
use core::cell::{Cell, RefCell};
use js_sys::Function;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;

/// A link error as an `AimDbError` (`None` for a refused inbound payload: the delivery
/// reports that itself, with the contract's details).
fn bridge_error_js(e: &BridgeError) -> Option<JsValue> {
    let msg = e.to_string();
    Some(match e {
        BridgeError::Server { code, topic, .. } => {
            let c = error_code_str(code);
            match topic {
                Some(t) => js_error(e.code(), &msg, &[("serverCode", c), ("topic", t)]),
                None => js_error(e.code(), &msg, &[("serverCode", c)]),
            }
        }
        BridgeError::PayloadRejected { .. } => return None,
        _ => js_error(e.code(), &msg, &[]),
    })
}

fn write_error_js(e: &WriteError) -> JsValue {
    js_error(e.code(), &e.to_string(), &[("key", e.key())])
}

/// `INVALID_URL` or `INVALID_OPTIONS`, with the record key where one is involved.
fn config_error_js(e: &ConfigError) -> JsValue {
    let msg = e.to_string();
    match e {
        ConfigError::InvalidRecord { key, .. } | ConfigError::DuplicateKey { key } => js_error(e.code(), &msg, &[("key", key)]),
        ConfigError::DuplicateTopic { topic, second, .. } => js_error(e.code(), &msg, &[("key", second), ("topic", topic)]),
        _ => js_error(e.code(), &msg, &[]),
    }
}

/// Whether the machine also reported this refusal as a `WriteDropped` action (then
/// that action is the one report).
fn reported_as_dropped(e: &WriteError) -> bool {
    matches!(e, WriteError::Disconnected { .. } | WriteError::QueueFull { .. })
}

fn db_freed_error() -> JsValue {
    js_error("USE_AFTER_FREE", "the WasmDb of this WsBridge was freed", &[])
}

fn link_of(l: DbLink) -> Link {
    match l {
        DbLink::In => Link::In,
        DbLink::Out => Link::Out,
        DbLink::Both => Link::Both,
    }
}

struct Linked {
    record: Rc<dyn DynRecord>,
    link: Link,
    /// `backfill` (0 = off) and the ring's capacity.
    backfill: usize,
    capacity: usize,
}

impl Linked {
    fn of(r: LinkedRecord) -> Linked {
        Linked { record: r.record, link: link_of(r.link), backfill: r.backfill, capacity: r.capacity }
    }
}

/// The bridge's state, shared by `RawBridge`, the transport's action handler and the
/// db (which holds it weakly as a `DbObserver`).
struct Inner {
    web: WebBridge,
    db: DbHandle,
    /// Linked records by the machine's record number (same order as its table).
    records: RefCell<Vec<Linked>>,
    on_error: Function,
    /// The db was freed or the bridge disposed: no more traffic.
    ended: Cell<bool>,
    /// Ended because the db was freed.
    db_gone: Cell<bool>,
    /// Backfills waiting for their history (at most one per record).
    holds: RefCell<Vec<Hold>>,
    next_backfill: Cell<u64>,
    /// The ingest fast path's entries into Rust (`bridge/ingest.rs`), kept while the
    /// bridge lives: `ingest(conn, record, len, floats, nulls)`, `route(topic)`.
    #[allow(clippy::type_complexity)]
    fast: RefCell<Option<(Closure<dyn FnMut(f64, u32, u32, u32, u32) -> bool>, Closure<dyn FnMut(String) -> JsValue>)>>,
}

impl Inner {
    fn report(&self, err: &JsValue) {
        let _ = self.on_error.call1(&JsValue::UNDEFINED, err);
    }

    fn end(&self) {
        if self.ended.replace(true) {
            return;
        }
        self.web.with(|b, now| b.disconnect(now));
        self.web.shutdown();
        self.records.borrow_mut().clear();
    }

    /// The linked record `key` (its number and link), asking the machine's key map.
    fn linked(&self, key: &str) -> Option<(Rc<dyn DynRecord>, Link)> {
        let i = self.web.read(|b| b.record_of(key))?;
        self.records.borrow().get(i).map(|l| (l.record.clone(), l.link))
    }

    /// A value from the server for an `in`/`both` record (held while its backfill waits).
    fn deliver(&self, wb: &WebBridge, d: Delivery) {
        if let Some(h) = self.holds.borrow_mut().iter_mut().find(|h| h.record == d.record) {
            h.push(d.payload, d.ts);
            return;
        }
        self.apply(wb, d.record, &d.payload);
    }

    /// Sends the backfill query of record `i` (if it has one) on the open link.
    fn start_backfill(&self, wb: &WebBridge, i: usize) {
        let Some((n, capacity)) = self
            .records
            .borrow()
            .get(i)
            .filter(|l| l.backfill > 0 && l.link.is_inbound())
            .map(|l| (l.backfill, l.capacity))
        else {
            return;
        };
        let Some(topic) = wb.read(|b| b.record_topic(i).map(str::to_owned)) else { return };
        if self.holds.borrow().iter().any(|h| h.record == i) {
            return;
        }
        let id = format!("backfill{}", self.next_backfill.get());
        self.next_backfill.set(self.next_backfill.get() + 1);
        let frame = aimdb_wasm_bridge::query(&id, &topic, n);
        if wb.with(|b, _| b.send_request(frame)) {
            self.holds.borrow_mut().push(Hold::new(i, id, capacity));
        }
    }

    /// Ends every hold without history (a lost link, a refused query).
    fn release_all(&self, wb: &WebBridge) {
        let holds = core::mem::take(&mut *self.holds.borrow_mut());
        for h in holds {
            self.release(wb, h, Vec::new());
        }
    }

    /// A `query_result` for one of the holds: `true` if it was one (and is consumed).
    fn answer(&self, wb: &WebBridge, text: &str) -> bool {
        // A byte window, not `str::contains`: that links core's two-way searcher and its
        // panic path (str slicing errors, char `Debug`, the printable tables: ~1.5 KB gz).
        if !text.as_bytes().windows(9).any(|w| w == b"\"backfill") {
            return false;
        }
        let Some((id, records)) = aimdb_wasm_bridge::query_result(text) else { return false };
        let hold = {
            let mut holds = self.holds.borrow_mut();
            let Some(at) = holds.iter().position(|h| h.id == *id) else { return false };
            holds.remove(at)
        };
        let topic = wb.read(|b| b.record_topic(hold.record).map(str::to_owned)).unwrap_or_default();
        let history = records.into_iter().filter(|r| r.topic == topic).map(|r| (r.payload.to_owned(), r.ts)).collect();
        self.release(wb, hold, history);
        true
    }

    fn release(&self, wb: &WebBridge, hold: Hold, history: Vec<(String, u64)>) {
        let i = hold.record;
        let r = hold.release(history);
        if r.dropped > 0 {
            let (key, topic) = wb.read(|b| {
                let name = |s: Option<&str>| s.unwrap_or_default().to_owned();
                (name(b.record_key(i)), name(b.record_topic(i)))
            });
            let msg = format!(
                "backfill of {} (topic {}): {} live value(s) dropped while waiting for the history (more than the ring's capacity)",
                Quoted(&key),
                Quoted(&topic),
                r.dropped
            );
            self.report(&js_error("BACKFILL_DROPPED", &msg, &[("key", &key), ("topic", &topic)]));
        }
        for p in r.history.iter().chain(r.held.iter()) {
            if self.ended.get() {
                return;
            }
            self.apply(wb, i, p);
        }
    }

    /// Sets a payload from the server on record `i`: parsed once, into the record's
    /// contract type; a violation is handed back to the machine and reported.
    fn apply(&self, wb: &WebBridge, i: usize, payload: &str) {
        let Some(record) = self.records.borrow().get(i).map(|l| l.record.clone()) else { return };
        if let Err(e) = record.set_json(payload) {
            self.refused(wb, i, e);
        }
    }

    /// Record `i` did not take a value from the server: handed back to the machine
    /// (`reject_inbound`) and reported with the topic.
    fn refused(&self, wb: &WebBridge, i: usize, e: FacadeError) {
        let (key, topic) = wb.read(|b| {
            let name = |s: Option<&str>| s.unwrap_or_default().to_owned();
            (name(b.record_key(i)), name(b.record_topic(i)))
        });
        let reason = e.message();
        wb.with(|b, now| b.reject_inbound(&key, reason.as_str(), now));
        let err = e.to_js();
        let _ = js_sys::Reflect::set(&err, &"topic".into(), &topic.as_str().into());
        self.report(&err);
    }
}

impl DbObserver for Inner {
    fn local_write(&self, key: &str, record: &dyn DynRecord) {
        if self.ended.get() {
            return;
        }
        if !self.linked(key).is_some_and(|(_, link)| link.is_outbound()) {
            return;
        }
        // `None` only if the value cannot be serialized; the record counts that.
        let Some(json) = record.latest_json() else { return };
        if let Err(e) = self.web.with(|b, now| b.write_json(key, &json, now)) {
            if !reported_as_dropped(&e) {
                self.report(&write_error_js(&e));
            }
        }
    }

    fn configured(&self, r: LinkedRecord) {
        if self.ended.get() {
            return;
        }
        let link = link_of(r.link);
        let rl = RecordLink { key: r.key.clone(), topic: r.topic.clone(), link };
        match self.web.with(|b, now| b.add_record(rl, now)) {
            Ok(i) => {
                {
                    let mut records = self.records.borrow_mut();
                    debug_assert_eq!(i, records.len(), "the machine numbers records in the order added");
                    records.push(Linked::of(r));
                }
                self.start_backfill(&self.web, i);
            }
            Err(e) => self.report(&config_error_js(&e)),
        }
    }

    fn db_freed(&self) {
        self.db_gone.set(true);
        self.end();
    }
}

/// The bridge a page drives (wrapped as `WsBridge` by the npm package).
#[wasm_bindgen]
pub struct RawBridge {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl RawBridge {
    /// Links the records configured in `db` (now and later) and starts connecting.
    /// `on_status(status)`, `on_error(AimDbError-like)`, `on_synced(json)`; sockets are
    /// made with `new web_socket(url)`. With `on_outbox` (a durable write queue, see
    /// `bridge/persist.rs`) it is called whenever the writes not yet confirmed change.
    /// Without `start` it does not connect until `reconnect()`. With `ingest` (the
    /// wrapper's `makeIngest`, see `bridge/ingest.rs`), sockets get its message handler.
    // The wrapper's callbacks, one argument each (a JS entry point: no struct to group them in).
    #[allow(clippy::too_many_arguments)]
    pub fn connect(
        db: &RawDb,
        url: &str,
        options_json: &str,
        on_status: Function,
        on_error: Function,
        on_synced: Function,
        on_response: Function,
        web_socket: Function,
        on_outbox: Option<Function>,
        start: bool,
        ingest: Option<Function>,
    ) -> Result<RawBridge, JsValue> {
        let mut opts = BridgeOptions::from_json(options_json).map_err(|e| config_error_js(&e))?;
        if opts.seed.is_none() {
            opts.seed = Some(web::random_seed());
        }
        let linked = db.linked_records()?;
        let links: Vec<RecordLink> = linked
            .iter()
            .map(|r| RecordLink { key: r.key.clone(), topic: r.topic.clone(), link: link_of(r.link) })
            .collect();
        let mut bridge = Bridge::new(url, opts, links).map_err(|e| config_error_js(&e))?;
        bridge.track_outbox(on_outbox.is_some());
        // Same order as `links`: the machine numbers its records in this order.
        let records: Vec<Linked> = linked.into_iter().map(Linked::of).collect();
        let handle = db.handle()?;
        let mut observed: Result<(), FacadeError> = Ok(());
        let inner = Rc::new_cyclic(|me: &Weak<Inner>| {
            let me2 = me.clone();
            let on_err = on_error.clone();
            let handler = move |wb: &WebBridge, action: Action| match action {
                Action::Deliver(d) => {
                    if let Some(inner) = me2.upgrade() {
                        inner.deliver(wb, d);
                    }
                }
                Action::Status(s) => {
                    if let Some(inner) = me2.upgrade() {
                        if s == Status::Connected {
                            let n = inner.records.borrow().len();
                            (0..n).for_each(|i| inner.start_backfill(wb, i));
                        } else {
                            // The answer comes on the socket the query went out on.
                            inner.release_all(wb);
                        }
                    }
                    let _ = on_status.call1(&JsValue::UNDEFINED, &s.as_str().into());
                }
                Action::Error(e) => {
                    // A refused query is answered with an error that carries no id.
                    if let BridgeError::Server { code, topic: None, .. } = &e {
                        if error_code_str(code) == "SERVER_ERROR" {
                            if let Some(inner) = me2.upgrade() {
                                inner.release_all(wb);
                            }
                        }
                    }
                    if let Some(err) = bridge_error_js(&e) {
                        let _ = on_err.call1(&JsValue::UNDEFINED, &err);
                    }
                }
                Action::WriteDropped(w) => {
                    let reason = match w.reason {
                        DropReason::DroppedOldest => "droppedOldest",
                        DropReason::DroppedNewest => "droppedNewest",
                        DropReason::QueueFull => "queueFull",
                        DropReason::Disconnected => "disconnected",
                        DropReason::Invalid => "invalid",
                    };
                    let msg = format!("write to {} (topic {}) dropped: {reason}", Quoted(&w.key), Quoted(&w.topic));
                    let err =
                        js_error("WRITE_DROPPED", &msg, &[("key", &w.key), ("topic", &w.topic), ("reason", reason)]);
                    let _ = on_err.call1(&JsValue::UNDEFINED, &err);
                }
                Action::Synced { timed_out, missing } => {
                    let json = aimdb_wasm_bridge::synced_json(timed_out, &missing);
                    let _ = on_synced.call1(&JsValue::UNDEFINED, &json.into());
                }
                Action::Response(text) => {
                    if me2.upgrade().is_some_and(|inner| inner.answer(wb, &text)) {
                        return;
                    }
                    let _ = on_response.call1(&JsValue::UNDEFINED, &text.into());
                }
                Action::OutboxChanged => {
                    if let Some(f) = &on_outbox {
                        let _ = f.call0(&JsValue::UNDEFINED);
                    }
                }
                _ => {}
            };
            let web = WebBridge::new(bridge, web_socket, handler);
            observed = db.observe(me.clone() as Weak<dyn DbObserver>);
            Inner {
                web,
                db: handle,
                records: RefCell::new(records),
                on_error,
                ended: Cell::new(false),
                db_gone: Cell::new(false),
                holds: RefCell::new(Vec::new()),
                next_backfill: Cell::new(1),
                fast: RefCell::new(None),
            }
        });
        observed?;
        if let Some(make) = ingest {
            let me = Rc::downgrade(&inner);
            let fast = Closure::<dyn FnMut(f64, u32, u32, u32, u32) -> bool>::new(move |conn: f64, i: u32, len: u32, floats: u32, nulls: u32| {
                let marks = crate::flat::Marks { floats, nulls };
                me.upgrade().is_some_and(|inner| inner.ingest(&inner.web, conn as u64, i as usize, len as usize, marks))
            });
            let me = Rc::downgrade(&inner);
            let route = Closure::<dyn FnMut(String) -> JsValue>::new(move |topic: String| {
                me.upgrade().map_or(JsValue::UNDEFINED, |inner| inner.ingest_route(&topic))
            });
            let max_units = JsValue::from_f64((inner.web.read(|b| b.max_frame_bytes()) / 3) as f64);
            if let Ok(wrap) = make.call3(&JsValue::UNDEFINED, fast.as_ref(), route.as_ref(), &max_units) {
                if let Ok(wrap) = wrap.dyn_into::<Function>() {
                    inner.web.wrap_messages(wrap);
                    *inner.fast.borrow_mut() = Some((fast, route));
                }
            }
        }
        // Without `start` the wrapper restores what was stored first, then calls `reconnect()`.
        if start {
            inner.web.with(|b, now| b.connect(now));
        }
        Ok(RawBridge { inner })
    }

    /// The default record key of a server topic (`a/b/c` -> `a.b.c`), as the bridge maps them.
    #[wasm_bindgen(js_name = defaultKey)]
    pub fn default_key(topic: &str) -> String {
        aimdb_wasm_bridge::topic::default_key(topic)
    }

    /// Sends a request frame (`query`, `list_topics`) now; `false` when not connected.
    /// The answer arrives through `connect`'s `on_response`.
    pub fn request(&self, frame: String) -> bool {
        self.inner.web.with(|b, _| b.send_request(frame))
    }

    /// The key of the record `topic` maps to, if any (the bridge's topic mapping).
    #[wasm_bindgen(js_name = keyOfTopic)]
    pub fn key_of_topic(&self, topic: &str) -> Option<String> {
        self.inner.web.read(|b| b.key_of(topic).map(str::to_owned))
    }

    /// `'connecting' | 'connected' | 'disconnected' | 'reconnecting'`.
    pub fn status(&self) -> String {
        self.inner.web.read(|b| b.status().as_str().to_owned())
    }

    /// Counters, as numbers in the order of `STATS` in bridge.js (which names them);
    /// the last error is [`last_error`](Self::last_error).
    pub fn stats(&self) -> Vec<f64> {
        let s = self.inner.web.read(|b| b.stats());
        [
            s.binary_frames,
            s.writes_confirmed,
            s.connects,
            s.writes_dropped,
            s.frames_received,
            s.frames_sent,
            s.malformed,
            s.not_inbound,
            s.oversized_frames,
            s.queue_len as u64,
            s.delivered,
            s.reconnects,
            s.rejected,
            s.writes_resent,
            s.writes_sent,
            s.server_errors,
            s.snapshots,
            s.stale_snapshots,
            s.unconfirmed as u64,
            s.unknown_topic,
            s.writes_rejected,
        ]
        .map(|n| n as f64)
        .to_vec()
    }

    /// The message of the last error reported, if any.
    #[wasm_bindgen(js_name = lastError)]
    pub fn last_error(&self) -> Option<String> {
        self.inner.web.read(|b| b.stats().last_error.map(|e| e.to_string()))
    }

    /// Adds subscription patterns (`topics_json`: a JSON array of strings).
    pub fn subscribe(&self, topics_json: &str) -> Result<(), JsValue> {
        let topics = aimdb_wasm_bridge::strings_from_json(topics_json, "topics").map_err(|e| config_error_js(&e))?;
        self.inner.web.with(|b, now| b.subscribe(&topics, now)).map_err(|e| config_error_js(&e))
    }

    /// Removes subscription patterns.
    pub fn unsubscribe(&self, topics_json: &str) -> Result<(), JsValue> {
        let topics = aimdb_wasm_bridge::strings_from_json(topics_json, "topics").map_err(|e| config_error_js(&e))?;
        self.inner.web.with(|b, now| b.unsubscribe(&topics, now)).map_err(|e| config_error_js(&e))
    }

    /// Validates `json` against the record's contract, checks that the bridge can take
    /// the write, then sets it locally, which sends it (or queues it while offline).
    /// Nothing is set locally when any step refuses.
    pub fn write(&self, key: &str, json: &str) -> Result<(), JsValue> {
        let inner = &self.inner;
        if inner.db_gone.get() {
            return Err(db_freed_error());
        }
        if inner.web.read(|b| b.is_disconnected_on_purpose()) {
            return Err(write_error_js(&WriteError::Disconnected { key: key.into() }));
        }
        let (record, link) = inner.linked(key).ok_or_else(|| FacadeError::UnknownKey { key: key.into() })?;
        if !link.is_outbound() {
            return Err(write_error_js(&WriteError::NotOutbound { key: key.into(), link }));
        }
        let schema = crate::schema::lookup(record.schema())
            .ok_or_else(|| FacadeError::UnknownSchema { key: Some(key.into()), schema: record.schema().into() })?;
        let canonical =
            schema.validate_json(json).map_err(|error| FacadeError::Contract { key: Some(key.into()), error })?;
        inner.web.with(|b, now| b.check_write(key, &canonical, now)).map_err(|e| write_error_js(&e))?;
        Ok(inner.db.set(key, &canonical)?)
    }

    /// Reconnects after `disconnect()` (or retries at once while waiting).
    pub fn reconnect(&self) -> Result<(), JsValue> {
        if self.inner.db_gone.get() {
            return Err(db_freed_error());
        }
        self.inner.web.with(|b, now| b.connect(now));
        Ok(())
    }

    /// Closes on purpose: no reconnect; queued writes are dropped; `write` throws.
    pub fn disconnect(&self) {
        self.inner.web.with(|b, now| b.disconnect(now));
    }

    /// Disconnects and releases the transport.
    pub fn dispose(&self) {
        self.inner.end();
    }

    /// Sockets whose closures are still held (test hook: a closed socket's are released
    /// right after its `close` event).
    #[wasm_bindgen(js_name = __heldSockets)]
    pub fn held_sockets(&self) -> u32 {
        self.inner.web.held_sockets() as u32
    }
}

impl Drop for RawBridge {
    fn drop(&mut self) {
        self.inner.end();
    }
}
