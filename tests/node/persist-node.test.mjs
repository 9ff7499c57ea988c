// Persistence in Node 20: there is no IndexedDB, so `persist` (WsBridge.connect's and
// configureRecord's) reports NOT_AVAILABLE once and everything works in memory, against
// the real AimDB server.
import test from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import init, { AimDbError, WasmDb, WsBridge } from '../../pkg/index.js';
import { startServer } from '../js/server.mjs';

await init();

test('no IndexedDB in Node: persist reports NOT_AVAILABLE once and the bridge and db work in memory', async (t) => {
  assert.equal(typeof globalThis.indexedDB, 'undefined', 'this test is about a runtime without IndexedDB');
  const srv = await startServer();
  t.after(() => srv.stop());
  const db = new WasmDb({ tick: 'macrotask' });
  t.after(() => db.free());
  const recordErrors = [];
  const onError = (e) => recordErrors.push(e);
  db.configureRecord('local.a', { schemaType: 'temperature', persist: { onError } });
  db.configureRecord('local.b', { schemaType: 'temperature', buffer: 'SpmcRing', persist: { onError } });
  db.configureRecord('commands.setpoint.room1', { schemaType: 'setpoint', link: 'out' });
  assert.equal(recordErrors.length, 1, 'once per db, however many records');
  assert.ok(recordErrors[0] instanceof AimDbError && recordErrors[0].code === 'NOT_AVAILABLE' && /IndexedDB/.test(recordErrors[0].message));
  db.set('local.a', { celsius: 1, timestamp: 1 });
  assert.equal(db.get('local.a').celsius, 1);

  const bridge = WsBridge.connect(db, srv.url, { WebSocket, persist: { name: 'node' } });
  t.after(() => bridge.free());
  const errors = [];
  bridge.onError((e) => errors.push(e));
  // Nothing to restore: it connects at once, as without persist.
  assert.equal(bridge.status, 'connecting');
  await new Promise((resolve) => bridge.onStatusChange((s) => s === 'connected' && resolve()));
  bridge.write('commands.setpoint.room1', { target_celsius: 18, timestamp: 99 });
  await bridge.persisted(); // nothing to wait for without IndexedDB
  for (let i = 0; i < 500 && srv.readWrites().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(srv.readWrites().map((w) => w.payload.target_celsius), [18]);
  assert.deepEqual(errors.map((e) => e.code), ['NOT_AVAILABLE']);
  assert.match(errors[0].message, /persist 'node'/);
});

test('persist options are checked: INVALID_OPTIONS', () => {
  const db = new WasmDb();
  for (const bad of [{}, { name: '' }, 'x', null]) {
    assert.throws(() => WsBridge.connect(db, 'ws://127.0.0.1:9/ws', { WebSocket, persist: bad }), (e) => e.code === 'INVALID_OPTIONS' && /persist/.test(e.message));
  }
  for (const bad of ['yes', 1, { onError: 3 }]) {
    assert.throws(() => db.configureRecord('k', { schemaType: 'temperature', persist: bad }), (e) => e.code === 'INVALID_OPTIONS' && /persist/.test(e.message));
  }
  db.free();
});
