// initSync(bytes): the module loaded synchronously from bytes at hand.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, WasmDb } from '../../pkg/index.js';

test('initSync(bytes) loads the module at once', () => {
  initSync(readFileSync(new URL('../../pkg/aimdb_wasm_bindings_bg.wasm', import.meta.url)));
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('k', { schemaType: 'temperature' });
  db.set('k', { celsius: 1, timestamp: 2 });
  assert.equal(db.get('k').timestamp, 2);
  db.free();
});
