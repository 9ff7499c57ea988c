//! `RawBridge`: the `#[wasm_bindgen]` class behind the npm `WsBridge`. The state
//! machine is `aimdb_wasm_bridge::Bridge`, driven by its browser transport
//! (`aimdb_wasm_bridge::web`); this file links it to a `RawDb`'s records:
//!
//! - inbound (`in`/`both`): a delivered payload goes through the record's contract
//!   (`set_json`: validated, migrated, produced). A violation is handed back to the
//!   machine (`reject_inbound`) and reported as a `CONTRACT_VIOLATION` error carrying
//!   the topic; the record is not touched;
//! - outbound (`out`/`both`): a tap (a subscription task on the record) hands every
//!   locally produced value to `Bridge::write`; the machine's echo suppression drops
//!   the values it delivered itself. `RawBridge::write` validates, produces, and sends
//!   directly (so several writes in one tick are all sent, in order, even through a
//!   coalescing buffer); the tap then skips them.

use super::db::{LinkedRecord, RawDb};
use super::error::FacadeError;
use super::options::Link as DbLink;
use super::record::{DynRecord, SubscribeArgs};
use aimdb_wasm_bridge::error::error_code_str;
use aimdb_wasm_bridge::web::{self, WebBridge};
use aimdb_wasm_bridge::{Action, Bridge, BridgeError, BridgeOptions, DropReason, Link, RecordLink, WriteError};
use core::cell::{Cell, RefCell};
use js_sys::Function;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// An `Error` named `AimDbError` with `code` and extra string fields.
fn js_error(code: &str, message: &str, fields: &[(&str, &str)]) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("AimDbError");
    let obj: &JsValue = err.as_ref();
    let _ = js_sys::Reflect::set(obj, &"code".into(), &code.into());
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(obj, &(*k).into(), &(*v).into());
    }
    err.into()
}

fn bridge_error_js(e: &BridgeError) -> Option<JsValue> {
    let msg = e.to_string();
    Some(match e {
        BridgeError::MalformedFrame { .. } => js_error("MALFORMED_FRAME", &msg, &[]),
        BridgeError::Server { code, topic, .. } => {
            let c = error_code_str(code);
            match topic {
                Some(t) => js_error("SERVER_ERROR", &msg, &[("serverCode", c), ("topic", t)]),
                None => js_error("SERVER_ERROR", &msg, &[("serverCode", c)]),
            }
        }
        BridgeError::ConnectionRefused { .. } => js_error("CONNECTION_REFUSED", &msg, &[]),
        BridgeError::ConnectTimeout { .. } => js_error("CONNECT_TIMEOUT", &msg, &[]),
        BridgeError::PongTimeout { .. } => js_error("PONG_TIMEOUT", &msg, &[]),
        BridgeError::ConnectionLost => js_error("CONNECTION_LOST", &msg, &[]),
        // Reported by the delivery itself, with the contract's details.
        BridgeError::PayloadRejected { .. } => return None,
    })
}

fn write_error_js(e: &WriteError) -> JsValue {
    let code = match e {
        WriteError::UnknownRecord { .. } => "UNKNOWN_KEY",
        WriteError::NotOutbound { .. } => "NOT_OUTBOUND",
        WriteError::Disconnected { .. } => "BRIDGE_DISCONNECTED",
        WriteError::QueueFull { .. } => "QUEUE_FULL",
        WriteError::TooLarge { .. } => "FRAME_TOO_LARGE",
        WriteError::InvalidPayload { .. } => "INVALID_PAYLOAD",
    };
    js_error(code, &e.to_string(), &[("key", e.key())])
}

/// Parses `text` into `T` through [`crate::json`] (its own error type: serde_json's typed
/// deserialization errors would bring `core`'s float formatting into the wasm module).
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, JsValue> {
    let j = crate::json::parse(text).map_err(|e| invalid_options(e.to_string()))?;
    crate::json::deserialize_with_path(&j).map_err(|(path, e)| {
        invalid_options(if path.is_empty() { e.to_string() } else { format!("{path}: {e}") })
    })
}

fn invalid_options(message: String) -> JsValue {
    FacadeError::InvalidOptions { what: "WsBridge options", message }.into()
}

struct Linked {
    key: String,
    record: Rc<dyn DynRecord>,
    link: Link,
}

struct Tap {
    cancelled: Rc<Cell<bool>>,
    _task: aimdb_wasm::executors::Task<()>,
    _cb: Closure<dyn FnMut(JsValue)>,
}

/// Values `write` sent itself, per key, that the tap has not seen yet.
type Pending = Rc<RefCell<Vec<(String, String)>>>;

/// The bridge a page drives (wrapped as `WsBridge` by the npm package).
#[wasm_bindgen]
pub struct RawBridge {
    web: WebBridge,
    records: Rc<Vec<Linked>>,
    pending: Pending,
    taps: RefCell<Vec<Tap>>,
}

#[wasm_bindgen]
impl RawBridge {
    /// Links the records configured in `db` so far and starts connecting.
    /// `on_status(status)`, `on_error(AimDbError-like)`, `on_synced(json)`.
    pub fn connect(
        db: &RawDb,
        url: &str,
        options_json: &str,
        on_status: Function,
        on_error: Function,
        on_synced: Function,
    ) -> Result<RawBridge, JsValue> {
        let mut opts: BridgeOptions = from_json(options_json)?;
        if opts.seed == BridgeOptions::default().seed {
            opts.seed = web::random_seed();
        }
        let linked: Vec<Linked> = db
            .linked_records()?
            .into_iter()
            .map(|LinkedRecord { key, record, topic: _, link }| Linked {
                key,
                record,
                link: match link {
                    DbLink::In => Link::In,
                    DbLink::Out => Link::Out,
                    DbLink::Both => Link::Both,
                },
            })
            .collect();
        let links: Vec<RecordLink> = db
            .linked_records()?
            .into_iter()
            .zip(&linked)
            .map(|(r, l)| RecordLink { key: r.key, topic: r.topic, link: l.link })
            .collect();
        let bridge = Bridge::new(url, opts, links).map_err(|e| invalid_options(e.to_string()))?;
        let records = Rc::new(linked);
        let recs = records.clone();
        let handler = move |wb: &WebBridge, action: Action| match action {
            Action::Deliver(d) => {
                let Some(l) = recs.iter().find(|l| l.key == d.key) else { return };
                if let Err(e) = l.record.set_json(&d.payload.to_string()) {
                    let reason = e.message();
                    wb.with(|b, now| b.reject_inbound(&d.key, &d.payload, reason.as_str(), now));
                    let err = e.to_js();
                    let _ = js_sys::Reflect::set(&err, &"topic".into(), &d.topic.as_str().into());
                    let _ = on_error.call1(&JsValue::UNDEFINED, &err);
                }
            }
            Action::Status(s) => {
                let _ = on_status.call1(&JsValue::UNDEFINED, &s.as_str().into());
            }
            Action::Error(e) => {
                if let Some(err) = bridge_error_js(&e) {
                    let _ = on_error.call1(&JsValue::UNDEFINED, &err);
                }
            }
            Action::WriteDropped(w) => {
                let reason = match w.reason {
                    DropReason::DroppedOldest => "droppedOldest",
                    DropReason::DroppedNewest => "droppedNewest",
                    DropReason::QueueFull => "queueFull",
                    DropReason::Disconnected => "disconnected",
                };
                let msg = format!("write to {:?} (topic {}) dropped: {reason}", w.key, w.topic);
                let err = js_error("WRITE_DROPPED", &msg, &[("key", &w.key), ("topic", &w.topic), ("reason", reason)]);
                let _ = on_error.call1(&JsValue::UNDEFINED, &err);
            }
            Action::Synced { timed_out, missing } => {
                #[derive(serde::Serialize)]
                #[serde(rename_all = "camelCase")]
                struct Synced {
                    missing: Vec<String>,
                    timed_out: bool,
                }
                let json = serde_json::to_string(&Synced { missing, timed_out }).unwrap_or_default();
                let _ = on_synced.call1(&JsValue::UNDEFINED, &json.into());
            }
            _ => {}
        };
        let web = WebBridge::new(bridge, handler);
        let pending: Pending = Rc::default();
        let mut taps = Vec::new();
        for l in records.iter().filter(|l| l.link.is_outbound()) {
            let cancelled = Rc::new(Cell::new(false));
            let (w, p, key, c) = (web.clone(), pending.clone(), l.key.clone(), cancelled.clone());
            let cb = Closure::<dyn FnMut(JsValue)>::new(move |json: JsValue| {
                let Some(json) = json.as_string() else { return };
                if c.get() {
                    return;
                }
                {
                    let mut p = p.borrow_mut();
                    if let Some(at) = p.iter().rposition(|(k, v)| *k == key && *v == json) {
                        // Sent by `write` already; older ones were coalesced away.
                        let mut i = 0;
                        p.retain(|(k, _)| {
                            i += 1;
                            !(i <= at + 1 && *k == key)
                        });
                        return;
                    }
                }
                let _ = w.with(|b, now| b.write_json(&key, &json, now));
            });
            let task = l.record.subscribe(SubscribeArgs {
                callback: cb.as_ref().unchecked_ref::<Function>().clone(),
                batch: false,
                on_lag: None,
                cancelled: cancelled.clone(),
            })?;
            taps.push(Tap { cancelled, _task: task, _cb: cb });
        }
        web.with(|b, now| b.connect(now));
        Ok(RawBridge { web, records, pending, taps: RefCell::new(taps) })
    }

    /// `'connecting' | 'connected' | 'disconnected' | 'reconnecting'`.
    pub fn status(&self) -> String {
        self.web.read(|b| b.status().as_str().to_owned())
    }

    /// Counters, as JSON.
    pub fn stats(&self) -> String {
        let s = self.web.read(|b| b.stats());
        // Keys in the order `json!`'s (sorted) map wrote them.
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out {
            connects: u64,
            dropped: u64,
            echo_suppressed: u64,
            frames_received: u64,
            frames_sent: u64,
            last_error: Option<String>,
            malformed: u64,
            queued: usize,
            received: u64,
            reconnects: u64,
            rejected: u64,
            sent: u64,
            server_errors: u64,
            snapshots: u64,
            writes_rejected: u64,
        }
        serde_json::to_string(&Out {
            connects: s.connects,
            dropped: s.writes_dropped,
            echo_suppressed: s.echo_suppressed,
            frames_received: s.frames_received,
            frames_sent: s.frames_sent,
            last_error: s.last_error.map(|e| e.to_string()),
            malformed: s.malformed,
            queued: s.queue_len,
            received: s.delivered,
            reconnects: s.reconnects,
            rejected: s.rejected,
            sent: s.writes_sent,
            server_errors: s.server_errors,
            snapshots: s.snapshots,
            writes_rejected: s.writes_rejected,
        })
        .unwrap_or_default()
    }

    /// Adds subscription patterns (`topics_json`: a JSON array of strings).
    pub fn subscribe(&self, topics_json: &str) -> Result<(), JsValue> {
        let topics: Vec<String> = from_json(topics_json)?;
        self.web.with(|b, now| b.subscribe(&topics, now)).map_err(|e| invalid_options(e.to_string()))
    }

    /// Removes subscription patterns.
    pub fn unsubscribe(&self, topics_json: &str) -> Result<(), JsValue> {
        let topics: Vec<String> = from_json(topics_json)?;
        self.web.with(|b, now| b.unsubscribe(&topics, now)).map_err(|e| invalid_options(e.to_string()))
    }

    /// Validates `json` against the record's contract, produces it locally and sends it
    /// (or queues it while offline).
    pub fn write(&self, key: &str, json: &str) -> Result<(), JsValue> {
        if self.web.read(|b| b.is_disconnected_on_purpose()) {
            return Err(write_error_js(&WriteError::Disconnected { key: key.into() }));
        }
        let l = self.records.iter().find(|l| l.key == key).ok_or_else(|| FacadeError::UnknownKey { key: key.into() })?;
        if !l.link.is_outbound() {
            return Err(write_error_js(&WriteError::NotOutbound { key: key.into(), link: l.link }));
        }
        l.record.set_json(json)?;
        let norm = l.record.latest_json().unwrap_or_else(|| json.to_owned());
        self.pending.borrow_mut().push((key.to_owned(), norm.clone()));
        self.web.with(|b, now| b.write_json(key, &norm, now)).map(|_| ()).map_err(|e| write_error_js(&e))
    }

    /// Reconnects after `disconnect()` (or retries at once while waiting).
    pub fn reconnect(&self) {
        self.web.with(|b, now| b.connect(now));
    }

    /// Closes on purpose: no reconnect; queued writes are dropped; `write` throws.
    pub fn disconnect(&self) {
        self.web.with(|b, now| b.disconnect(now));
    }

    /// Disconnects and releases the transport and the taps.
    pub fn dispose(&self) {
        for t in self.taps.borrow().iter() {
            t.cancelled.set(true);
        }
        self.web.with(|b, now| b.disconnect(now));
        self.web.shutdown();
        self.taps.borrow_mut().clear();
    }
}

impl Drop for RawBridge {
    fn drop(&mut self) {
        self.dispose();
    }
}
