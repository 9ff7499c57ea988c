// WsBridge in Node 20 (no global WebSocket), against the real AimDB server (tests/js/server.mjs):
//  - without a WebSocket, connect() throws AimDbError NOT_AVAILABLE and leaves the db as it was
//    (usable, and free() works);
//  - with the `ws` package's constructor as the `WebSocket` option (graphql-ws's webSocketImpl
//    convention), live data arrives in the db and a local write reaches the server.
import test from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import init, { AimDbError, WasmDb, WsBridge } from '../../pkg/index.js';
import { freePort, startServer } from '../js/server.mjs';

await init();
const newDb = () => {
  const db = new WasmDb({ tick: 'macrotask' });
  db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
  db.configureRecord('commands.setpoint.room1', { schemaType: 'setpoint', link: 'out' });
  db.configureRecord('echo.setpoint.room1', { schemaType: 'setpoint' });
  return db;
};

test('no WebSocket in Node 20: connect() throws NOT_AVAILABLE, the db is untouched', () => {
  // (Before: a ReferenceError from inside wasm that left the db borrowed, so free() failed.)
  assert.equal(typeof globalThis.WebSocket, 'undefined', 'this test is about a Node without a global WebSocket');
  const db = newDb();
  assert.throws(
    () => WsBridge.connect(db, 'ws://127.0.0.1:9/ws'),
    (e) => e instanceof AimDbError && e.code === 'NOT_AVAILABLE' && /WebSocket/.test(e.message),
  );
  db.set('commands.setpoint.room1', { target_celsius: 20, timestamp: 1 }); // still usable
  assert.equal(db.get('commands.setpoint.room1').target_celsius, 20);
  db.free(); // not left borrowed
  assert.throws(() => db.get('commands.setpoint.room1'), (e) => e.code === 'USE_AFTER_FREE');
});

test('a WebSocket option that is not a constructor: INVALID_OPTIONS', () => {
  const db = newDb();
  for (const bad of ['ws', 42, {}]) {
    assert.throws(() => WsBridge.connect(db, 'ws://127.0.0.1:9/ws', { WebSocket: bad }), (e) => e instanceof AimDbError && e.code === 'INVALID_OPTIONS' && /WebSocket/.test(e.message));
  }
  db.free();
});

test("the WebSocket option ('ws' package): live data in, a write out, against the real server", async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const db = newDb();
  t.after(() => db.free());
  const bridge = WsBridge.connect(db, srv.url, { subscribeTopics: ['sensors/temperature/#', 'echo/#'], WebSocket });
  t.after(() => bridge.free());
  // The status is readable at once: 'connecting' before the first transition is reported.
  assert.equal(bridge.status, 'connecting');
  const errors = [];
  bridge.onError((e) => errors.push(e));
  const firstValue = new Promise((resolve) => {
    const unsub = db.subscribe('sensors.temperature.vienna', (v) => {
      unsub();
      resolve(v);
    });
  });
  const t1 = await firstValue;
  assert.equal(typeof t1.celsius, 'number');
  assert.equal(bridge.status, 'connected');
  // The server echoes setpoint writes on echo/setpoint/room1.
  const echoed = new Promise((resolve) => {
    const unsub = db.subscribe('echo.setpoint.room1', (v) => {
      if (v.timestamp === 4242) {
        unsub();
        resolve(v);
      }
    });
  });
  db.set('commands.setpoint.room1', { target_celsius: 21.5, timestamp: 4242 });
  assert.equal((await echoed).target_celsius, 21.5);
  assert.deepEqual(
    srv.readWrites().map((w) => [w.topic, w.payload.target_celsius]),
    [['commands/setpoint/room1', 21.5]],
  );
  assert.deepEqual(errors, []);
});

test('ws: disconnect() while connecting does not crash Node; later writes are counted and reported', async () => {
  // (Before: ws emitted an 'error' nobody listened to, which threw out of the process.)
  const db = newDb();
  const port = await freePort(); // nothing listens there
  let socket;
  class TrackedWebSocket extends WebSocket {
    constructor(url) {
      super(url);
      socket = this;
    }
  }
  const bridge = WsBridge.connect(db, `ws://127.0.0.1:${port}/ws`, { WebSocket: TrackedWebSocket, autoReconnect: false });
  const errors = [];
  bridge.onError((e) => errors.push(e));
  bridge.disconnect();
  assert.equal(bridge.status, 'disconnected');
  // A db.set of an out record: set locally, not sent; reported and counted as dropped.
  db.set('commands.setpoint.room1', { target_celsius: 19, timestamp: 7 });
  assert.equal(db.get('commands.setpoint.room1').target_celsius, 19);
  assert.deepEqual(errors.map((e) => [e.code, e.reason]), [['WRITE_DROPPED', 'disconnected']]);
  assert.equal(bridge.stats().dropped, 1);
  // bridge.write refuses, sets nothing, and names the method that helps.
  assert.throws(
    () => bridge.write('commands.setpoint.room1', { target_celsius: 20, timestamp: 8 }),
    (e) => e instanceof AimDbError && e.code === 'BRIDGE_DISCONNECTED' && /reconnect\(\)/.test(e.message),
  );
  assert.equal(db.get('commands.setpoint.room1').target_celsius, 19);
  // ws ends the half-open socket on a later turn: 'error', then 'close'.
  await new Promise((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', resolve)));
  bridge.free();
  db.free();
});
