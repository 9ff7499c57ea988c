// @aimdb/wasm: the public API over the wasm-bindgen module. Values cross the boundary
// read once, straight into the contract (values.js: one number per field, or an encoding
// of the whole value; exact integer timestamps); every value handed out is deep-frozen, and
// `get()` returns the same object until the record's value changes.
//
// runtime.js: init, panics and calls into wasm; values.js: keys, values and options on
// their way in; db.js: WasmDb, validate, knownSchemas; bridge.js: WsBridge.
export { default, initSync, AimDbError } from './runtime.js';
export { WasmDb, validate, knownSchemas } from './db.js';
export { WsBridge } from './bridge.js';
