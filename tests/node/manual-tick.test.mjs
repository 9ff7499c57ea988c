// tick: 'manual' from JS (issue 10): db.tick() runs one tick, db.advanceTime(ms) moves the
// db's virtual clock. The Vitest example (examples/vitest) shows them in an app test.
import test from 'node:test';
import assert from 'node:assert/strict';
import init, { AimDbError, WasmDb } from '../../pkg/index.js';

await init();
const code = (c) => (e) => e instanceof AimDbError && e.code === c;

test('manual: nothing is delivered until tick(); one tick delivers everything set before it', () => {
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('r', { schemaType: 'humidity', buffer: { type: 'SpmcRing', capacity: 8 } });
  const seen = [];
  db.subscribe('r', (v) => seen.push(v.percent));
  db.set('r', { percent: 1, timestamp: 1 });
  db.set('r', { percent: 2, timestamp: 2 });
  assert.deepEqual(seen, []);
  const t = db.tick();
  assert.deepEqual(seen, [1, 2]);
  assert.equal(t.ended, 'drained');
  assert.ok(t.polls > 0);
  assert.equal(db.tick().polls, 0, 'a second tick finds nothing to do');
  assert.equal(db.stats().executor.ticks, 2);
  db.free();
  assert.throws(() => db.tick(), code('USE_AFTER_FREE'));
  assert.throws(() => db.advanceTime(1), code('USE_AFTER_FREE'));
});

test('tick() from inside a callback of a tick is a no-op', () => {
  const db = new WasmDb({ tick: 'manual' });
  db.configureRecord('r', { schemaType: 'humidity' });
  const inner = [];
  db.subscribe('r', () => inner.push(db.tick().polls));
  db.set('r', { percent: 1, timestamp: 1 });
  db.tick();
  assert.deepEqual(inner, [0]);
  db.free();
});

test('advanceTime: the virtual clock moves by exactly ms; ticks take no virtual time', () => {
  const db = new WasmDb({ tick: 'manual' });
  assert.equal(db.advanceTime(0), 0);
  assert.equal(db.advanceTime(1500), 1500);
  assert.equal(db.advanceTime(0.25), 1500.25);
  assert.equal(db.tick().elapsedMs, 0);
  for (const bad of [-1, NaN, Infinity, 1e300, '5', undefined]) {
    assert.throws(() => db.advanceTime(bad), code('INVALID_OPTIONS'), String(bad));
  }
  assert.equal(db.advanceTime(0), 1500.25, 'refused calls changed nothing');
  db.free();
});

test('advanceTime on a db on the real clock: NOT_AVAILABLE', () => {
  const db = new WasmDb({ tick: 'macrotask' });
  assert.throws(() => db.advanceTime(10), (e) => code('NOT_AVAILABLE')(e) && /manual/.test(e.message));
  db.free();
});
