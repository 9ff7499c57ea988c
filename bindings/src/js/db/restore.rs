//! Values restored from storage (the wrapper's `persist.js`): produced like any value,
//! through the contract, but not local writes: linked bridges are not told, so a
//! restored value of an `out` / `both` record is not sent to the server again.

use super::RawDb;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl RawDb {
    /// Produces `texts` (JSON, one value each) on the record in order, all or nothing
    /// (a violation is a `CONTRACT_VIOLATION` with the item's index in its path), without
    /// telling linked bridges. Returns how many were produced.
    #[wasm_bindgen(js_name = restoreTexts)]
    pub fn restore_texts(&self, handle: u32, texts: Vec<String>) -> Result<u32, JsValue> {
        let (record, _) = self.core()?.record_at(handle)?;
        Ok(record.set_many_json(&texts, None)?)
    }
}
