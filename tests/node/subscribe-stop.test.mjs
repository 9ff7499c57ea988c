// subscribe's callback gets the unsubscribe function as its second argument (issue 10), so a
// callback can stop itself even on the synchronous first delivery (before subscribe returns,
// where `const u = db.subscribe(k, () => u())` is a ReferenceError).
import test from 'node:test';
import assert from 'node:assert/strict';
import init, { WasmDb } from '../../pkg/index.js';

await init();

test('a callback stops itself on the synchronous first delivery; it is never called again', () => {
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('t', { schemaType: 'temperature' });
  db.set('t', { celsius: 1, timestamp: 1 });
  const seen = [];
  const errors = [];
  const u = db.subscribe('t', (v, stop) => {
    seen.push(v.celsius);
    stop();
  }, { onError: (e) => errors.push(e) });
  assert.deepEqual(seen, [1]);
  db.set('t', { celsius: 2, timestamp: 2 });
  db.tick();
  assert.deepEqual(seen, [1]);
  assert.deepEqual(errors, []);
  assert.equal(db.stats().records.t.subscribers, 0);
  u(); // still harmless
  db.free();
});

test('the second argument is the function subscribe returns; batch and record handles too', () => {
  const db = new WasmDb({ tick: 'manual' });
  const ring = db.configureRecord('r', { schemaType: 'humidity', buffer: { type: 'SpmcRing', capacity: 8 } });
  let stopArg;
  const u = db.subscribe('r', (vs, stop) => {
    stopArg = stop;
    stop();
  }, { batch: true });
  db.set('r', { percent: 1, timestamp: 1 });
  db.tick();
  assert.equal(stopArg, u);
  const seen = [];
  ring.subscribe((v, stop) => {
    seen.push(v.percent);
    if (v.percent === 3) stop();
  });
  for (const percent of [2, 3, 4]) ring.set({ percent, timestamp: percent });
  db.tick();
  ring.set({ percent: 5, timestamp: 5 });
  db.tick();
  assert.deepEqual(seen, [1, 2, 3]); // the current value first, then the tick's; 4 and 5 never
  db.free();
});
