// A failed init() can be retried: the rejected promise is not kept (issue 10).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import init, { AimDbError, WasmDb } from '../../pkg/index.js';

const WASM = new URL('../../pkg/aimdb_wasm_bindings_bg.wasm', import.meta.url);

test('a failed init() rejects; the next init() starts over and succeeds', async () => {
  // Not a wasm module: compiling it fails.
  await assert.rejects(init(new Uint8Array([0, 1, 2, 3])), WebAssembly.CompileError);
  // A file that does not exist (a file: URL is read from disk).
  await assert.rejects(init(new URL('./no-such-file.wasm', WASM)), (e) => e.code === 'ENOENT');
  assert.throws(() => new WasmDb({ tick: 'manual' }), (e) => e instanceof AimDbError && e.code === 'NOT_INITIALIZED');
  await init(readFileSync(WASM));
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('k', { schemaType: 'humidity' });
  db.set('k', { percent: 40, timestamp: 1 });
  assert.equal(db.get('k').percent, 40);
  db.free();
});
