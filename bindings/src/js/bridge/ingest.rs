//! The ingest fast path: the wrapper's `onmessage` (`ingest.js`, installed in front of
//! the transport's own handler with [`WebBridge::wrap_messages`]) reads the `data`
//! frames in the server's layout whose payload is an object of plain numbers and nulls
//! for a record whose contract takes flat values (`crate::flat`): it writes the payload's
//! numbers into the flat slots itself and calls [`Inner::ingest`] with the socket, the
//! record's number, the slots and their [`Marks`] (fractions, nulls). Rust then does what the frame's way through
//! `on_frame` would do (the machine's bookkeeping: `Bridge::on_parsed_data`; the value
//! produced; a refusal counted and reported), without the frame's text crossing into
//! wasm or being parsed again.
//!
//! Anything it does not take goes the old way, as the event itself, with nothing done
//! yet: every check that could decline comes before the machine is told (so errors,
//! counters and messages stay those of the old way by construction).
//!
//! Records are only appended, never removed or renumbered (`Bridge::record_of_topic`),
//! so the wrapper caches a topic's record number for the bridge's life.

use super::Inner;
use crate::flat::{exact_as_text, Marks, MAX_FIELDS};
use crate::js::tape;
use aimdb_wasm_bridge::web::WebBridge;
use aimdb_wasm_bridge::ConnId;
use wasm_bindgen::prelude::*;

impl Inner {
    /// `[record number, flat field names]` of the `in`/`both` record whose topic is
    /// `topic` and whose contract takes the flat path; `undefined` for any other topic
    /// (its frames go the old way, which counts or reports them).
    pub(super) fn ingest_route(&self, topic: &str) -> JsValue {
        let Some(i) = self.web.read(|b| b.record_of_topic(topic)) else { return JsValue::UNDEFINED };
        let records = self.records.borrow();
        let Some(fields) = records.get(i).filter(|l| l.link.is_inbound()).and_then(|l| l.record.flat_fields()) else {
            return JsValue::UNDEFINED;
        };
        let names: js_sys::Array = fields.iter().map(|s| JsValue::from_str(s)).collect();
        js_sys::Array::of2(&JsValue::from_f64(i as f64), &names).into()
    }

    /// A `data` frame on socket `conn` for record `i` whose payload the wrapper wrote
    /// into the first `len` tape slots (its `ts` checked there: a u64 the old way
    /// reads the same); bit `j` of `floats`: slot `j`'s number had a fraction in the
    /// text (`21.0` is a float there: an integer field refuses it); of `nulls`: field
    /// `j` is `null` ([`Marks`]). `false`: declined, nothing done (the wrapper hands the event to
    /// the old way): the bridge ended, a backfill holds the record's values (they wait
    /// as text), a number the text way may read otherwise ([`exact_as_text`]: the
    /// wrapper declines those already; checked again here, where the value is made), or
    /// a value the contract's flat path does not take.
    pub(super) fn ingest(&self, wb: &WebBridge, conn: u64, i: usize, len: usize, marks: Marks) -> bool {
        if self.ended.get() || len > MAX_FIELDS || self.holds.borrow().iter().any(|h| h.record == i) {
            return false;
        }
        let Some(record) = self.records.borrow().get(i).map(|l| l.record.clone()) else { return false };
        // A copy: producing may run code that writes the tape.
        let mut vals = [0.0; MAX_FIELDS];
        let vals = &mut vals[..len];
        if !tape::with_slots(len as u32, |s| s.len() == len && { vals.copy_from_slice(s); true }) || !exact_as_text(vals) {
            return false;
        }
        // The actions the bookkeeping queues run after the value is produced, as they
        // run after a `Deliver` the old way.
        wb.hold(|now| {
            match record.take_flat(vals, marks, &mut || wb.at(now, |b, now| b.on_parsed_data(ConnId(conn), i, now))) {
                Ok(taken) => taken,
                Err(e) => {
                    self.refused(wb, i, e);
                    true
                }
            }
        })
    }
}
