//! The bench's anchor: the published `aimdb-wasm-adapter` 0.2.0 as a JS app would ship it.
//!
//! 0.2.0's `new WasmDb()` knows no schema, and `WasmDb::register::<T: Streamable>()` is
//! Rust-only, so every app needs a wrapper like this one: a contract type and a factory
//! that returns a `WasmDb` with it registered. Everything else (`configureRecord`,
//! `build`, `get`, `set`, `subscribe`, `connectBridge`) is the adapter's own export.
#![forbid(unsafe_code)]

use aimdb_data_contracts::{SchemaType, Streamable};
use aimdb_wasm_adapter::bindings::WasmDb;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;

/// The temperature contract the bench writes: `{schema_version, celsius, timestamp}`
/// (Unix milliseconds). `schema_version` may be left out, as in our package.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Temperature {
    #[serde(default = "current_version")]
    pub schema_version: u32,
    pub celsius: f64,
    pub timestamp: u64,
}

fn current_version() -> u32 {
    2
}

impl SchemaType for Temperature {
    const NAME: &'static str = "temperature";
    const VERSION: u32 = 2;
}

impl Streamable for Temperature {}

/// A fresh (unbuilt) `WasmDb` that knows the `temperature` schema.
#[wasm_bindgen(js_name = createDb)]
pub fn create_db() -> WasmDb {
    let mut db = WasmDb::new();
    db.register::<Temperature>();
    db
}
