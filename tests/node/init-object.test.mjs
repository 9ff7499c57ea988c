// The object form init({ module_or_path }) (wasm-bindgen's own), with a file: URL in Node.
import test from 'node:test';
import assert from 'node:assert/strict';
import init, { WasmDb } from '../../pkg/index.js';

test('init({ module_or_path: fileUrl }) loads the module', async () => {
  await init({ module_or_path: new URL('../../pkg/aimdb_wasm_bindings_bg.wasm', import.meta.url) });
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('k', { schemaType: 'setpoint' });
  db.set('k', { target_celsius: 21, timestamp: 1 });
  assert.equal(db.get('k').target_celsius, 21);
  db.free();
});
