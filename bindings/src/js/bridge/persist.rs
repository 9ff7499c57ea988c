//! The durable write queue's side of `RawBridge` (the IndexedDB code is the npm
//! wrapper's `persist.js`): the writes not yet confirmed, as JSON, and stored writes
//! put back ahead of new ones, each checked against its record's contract again.

use super::{config_error_js, RawBridge};
use aimdb_wasm_bridge::ConfigError;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl RawBridge {
    /// The writes not confirmed yet, oldest first: a JSON array of `[key, payloadJson]`.
    #[wasm_bindgen(js_name = pendingWrites)]
    pub fn pending_writes(&self) -> String {
        self.inner.web.read(|b| serde_json::to_string(&b.pending_writes()).unwrap_or_else(|_| "[]".into()))
    }

    /// Puts stored writes (a JSON array of `[key, payloadJson]`, oldest first) back at the
    /// front of the queue. Each goes through its record's contract again (migrations
    /// included, the canonical form is sent); one that fails, or whose record is no
    /// longer linked `out`/`both`, is dropped and reported (`WRITE_DROPPED`, reason
    /// `invalid`). The overflow policy holds (drops reported).
    #[wasm_bindgen(js_name = restoreWrites)]
    pub fn restore_writes(&self, json: &str) -> Result<(), JsValue> {
        let writes: Vec<(String, String)> = serde_json::from_str(json).map_err(|e| {
            config_error_js(&ConfigError::InvalidOptions { message: format!("restoreWrites: {e}") })
        })?;
        let inner = &self.inner;
        let records = inner.records.borrow();
        let check = |i: usize, payload: &str| -> Result<String, String> {
            let record = records.get(i).ok_or("no such record")?;
            let schema = crate::schema::lookup(record.record.schema()).ok_or("unknown schema")?;
            schema.validate_json(payload).map_err(|e| e.to_string())
        };
        inner.web.with(|b, now| b.restore_writes(writes, check, now));
        Ok(())
    }
}
