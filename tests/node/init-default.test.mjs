// init() with no argument in Node 20: the package reads its own wasm file from disk (Node's
// fetch cannot read file: URLs). Each test file runs in its own process (node --test), so
// every file starts with an unloaded module.
import test from 'node:test';
import assert from 'node:assert/strict';
import init, { initSync, AimDbError, WasmDb } from '../../pkg/index.js';

test('before init(): NOT_INITIALIZED', () => {
  assert.throws(() => new WasmDb({ tick: 'manual' }), (e) => e instanceof AimDbError && e.code === 'NOT_INITIALIZED');
});

test('init() without argument loads the bundled wasm from disk; the db works', async () => {
  await init();
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
  db.set('sensors.temperature.vienna', { celsius: 22.5, timestamp: 1 });
  assert.equal(db.get('sensors.temperature.vienna').celsius, 22.5);
  db.free();
});

test('init() and initSync() again are no-ops once loaded', async () => {
  await init();
  await init(new Uint8Array([1, 2, 3])); // would fail to compile: never looked at
  initSync(new Uint8Array([1, 2, 3]));
  const db = new WasmDb({ tick: 'manual' });
  db.free();
});
