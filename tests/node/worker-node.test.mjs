// Worker mode in Node: there is no Web Worker (worker_threads is another API), so
// WasmDb.inWorker rejects with NOT_AVAILABLE and says what to use instead; the main-thread
// db reports inWorker === false.
import test from 'node:test';
import assert from 'node:assert/strict';
import init, { AimDbError, WasmDb } from '../../pkg/index.js';

test('WasmDb.inWorker() in Node: NOT_AVAILABLE, naming new WasmDb()', async () => {
  await assert.rejects(WasmDb.inWorker({ tick: 'macrotask' }), (e) => e instanceof AimDbError && e.code === 'NOT_AVAILABLE' && /new WasmDb\(\)/.test(e.message));
  await init();
  const db = new WasmDb({ tick: 'manual' });
  assert.equal(db.inWorker, false);
  db.free();
});
