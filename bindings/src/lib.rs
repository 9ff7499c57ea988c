//! # aimdb-wasm-bindings
//!
//! The JS/TS facade (`@aimdb/wasm`): `WasmDb` with data contracts enforced by serde at
//! the boundary. Pure Rust (contracts, schema registry, option parsing, errors) is in
//! [`contracts`], [`schema`] and [`js`] and is tested natively; the `#[wasm_bindgen]`
//! surface (`js::db`, `js::record`) is a thin layer over it (wasm32 only).
//!
//! An app crate adds contracts with [`register`] before creating a `WasmDb`.

pub mod contracts;
pub mod dataflow;
pub mod flat;
pub mod js;
pub mod json;
pub mod schema;
pub mod simulate;
pub mod tape;

pub use schema::{known_schemas, register, SchemaConflict};
