//! The durable write queue's side of `RawBridge` (the IndexedDB code is the npm
//! wrapper's `persist.js`): the writes not yet confirmed, and stored writes put back
//! ahead of new ones, each checked against its record's contract again. Plain string
//! arrays both ways (no JSON parser linked for this).

use super::RawBridge;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl RawBridge {
    /// The writes not confirmed yet, oldest first, flat: `[key0, payloadJson0, key1, ...]`.
    #[wasm_bindgen(js_name = pendingWrites)]
    pub fn pending_writes(&self) -> Vec<String> {
        self.inner.web.read(|b| b.pending_writes().into_iter().flat_map(|(k, p)| [k.to_owned(), p.to_owned()]).collect())
    }

    /// Puts stored writes (`keys[i]` with `payloads[i]`, JSON; oldest first) back at the
    /// front of the queue. Each goes through its record's contract again (migrations
    /// included, the canonical form is sent); one that fails, or whose record is no
    /// longer linked `out`/`both`, is dropped and reported (`WRITE_DROPPED`, reason
    /// `invalid`). The overflow policy holds (drops reported).
    #[wasm_bindgen(js_name = restoreWrites)]
    pub fn restore_writes(&self, keys: Vec<String>, payloads: Vec<String>) {
        let writes: Vec<(String, String)> = keys.into_iter().zip(payloads).collect();
        let inner = &self.inner;
        let records = inner.records.borrow();
        let check = |i: usize, payload: &str| -> Result<String, String> {
            let record = records.get(i).ok_or("no such record")?;
            let schema = crate::schema::lookup(record.record.schema()).ok_or("unknown schema")?;
            schema.validate_json(payload).map_err(|e| e.to_string())
        };
        inner.web.with(|b, now| b.restore_writes(writes, check, now));
    }
}
