// In-page tests of the @aimdb/wasm facade (loaded by tests/js/pages/facade.html, driven
// by tests/js/run.mjs). Results go to `window.__results`; `window.__finished` is set when
// the suite is over. Synchronisation is by events (subscription callbacks resolving
// promises, animation frames), never by sleeping; the 10 s timeout is only a guard.
import init, { WasmDb, WsBridge, AimDbError, validate, knownSchemas } from '@aimdb/wasm';

const suite = new URLSearchParams(location.search).get('suite') ?? 'main';
const TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------- harness

const tests = [];
const results = [];
window.__results = results;
window.__finished = false;
window.__suite = suite;

// Uncaught errors (e.g. thrown from a host callback of the executor), attributed to the
// test that was running; the runner reports them (and fails on them).
let current = '(before the first test)';
window.__uncaught = [];
window.addEventListener('error', (ev) => {
  const e = ev.error;
  window.__uncaught.push({ during: current, error: e && e.stack ? e.stack : String(ev.message) });
});
window.addEventListener('unhandledrejection', (ev) => {
  const e = ev.reason;
  window.__uncaught.push({ during: current, error: `unhandled rejection: ${e && e.stack ? e.stack : String(e)}` });
});

/** Registers a test; `fn(t)` may call `t.note(text)` to add a line to the report. */
function test(name, fn) {
  tests.push({ name, fn });
}

async function runAll() {
  for (const { name, fn } of tests) {
    const notes = [];
    const t = { note: (s) => notes.push(String(s)) };
    current = name;
    const t0 = performance.now();
    let timer;
    try {
      await Promise.race([
        Promise.resolve().then(() => fn(t)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        }),
      ]);
      results.push({ name, ok: true, ms: Math.round(performance.now() - t0), notes });
    } catch (e) {
      results.push({ name, ok: false, ms: Math.round(performance.now() - t0), notes, error: describe(e) });
    } finally {
      clearTimeout(timer);
    }
  }
  current = '(after the last test)';
  // Two more frames, so host callbacks still pending after the last test show up.
  await frames(2);
  window.__finished = true;
}

function describe(e) {
  if (e instanceof AssertionError) return e.message;
  if (e instanceof AimDbError) return `unexpected AimDbError ${e.code}: ${e.message}\n${e.stack ?? ''}`;
  if (e instanceof Error) return `${e.name}: ${e.message}\n${e.stack ?? ''}`;
  return `thrown non-Error: ${show(e)}`;
}

class AssertionError extends Error {}

function show(v) {
  if (v instanceof AimDbError) return `AimDbError(${v.code}: ${v.message})`;
  if (v instanceof Error) return `${v.name}(${v.message})`;
  if (typeof v === 'bigint') return `${v}n`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}

function eq(actual, expected, msg) {
  if (!Object.is(actual, expected)) throw new AssertionError(`${msg}: expected ${show(expected)}, got ${show(actual)}`);
}

function deepEq(actual, expected, msg) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new AssertionError(`${msg}: expected ${b}, got ${a}`);
}

/** `fn()` must throw an AimDbError with `code`; returns it. */
function throwsCode(fn, code, msg) {
  let threw = false;
  let err;
  try {
    fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  if (!threw) throw new AssertionError(`${msg}: expected AimDbError ${code}, nothing was thrown`);
  if (!(err instanceof AimDbError)) throw new AssertionError(`${msg}: expected AimDbError ${code}, got ${show(err)}`);
  eq(err.code, code, `${msg}: code (message: ${err.message})`);
  eq(err.name, 'AimDbError', `${msg}: name`);
  return err;
}

function doesNotThrow(fn, msg) {
  try {
    return fn();
  } catch (e) {
    throw new AssertionError(`${msg}: threw ${show(e)}`);
  }
}

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
async function frames(n) {
  for (let i = 0; i < n; i++) await frame();
}

/** Waits (frame by frame) until `cond()`; fails after `maxFrames` frames. Returns frames waited. */
async function waitFrames(cond, what, maxFrames = 300) {
  for (let i = 0; i <= maxFrames; i++) {
    if (cond()) return i;
    await frame();
  }
  throw new AssertionError(`gave up waiting (${maxFrames} frames) for ${what}`);
}

/** A subscription callback that records what it gets; `until(n)` resolves at n calls. */
function collector(map = (v) => v) {
  const values = [];
  let waiters = [];
  const cb = (v) => {
    values.push(map(v));
    waiters = waiters.filter((w) => !w());
  };
  cb.values = values;
  cb.until = (n) =>
    new Promise((resolve) => {
      const w = () => (values.length >= n ? (resolve(), true) : false);
      if (!w()) waiters.push(w);
    });
  return cb;
}

/** A promise plus its resolve function. */
function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

const T = (celsius, timestamp = 1) => ({ schema_version: 2, celsius, timestamp });
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

/** Runs `fn(db)` with a fresh WasmDb, freed afterwards. */
async function withDb(options, fn) {
  const db = new WasmDb(options);
  try {
    return await fn(db);
  } finally {
    db.free();
  }
}

// ---------------------------------------------------------------- main suite

function mainSuite() {
  // validate() and knownSchemas() first: before any WasmDb exists.
  test('validate(): {ok:true, value} for a valid object and for JSON text, without a WasmDb', () => {
    const r = validate('temperature', T(21.5, 1700000000123));
    eq(r.ok, true, 'ok');
    deepEq(r.value, T(21.5, 1700000000123), 'value (exact integer timestamp)');
    assert(Object.isFrozen(r.value), 'the value is frozen');
    assert(!('error' in r), 'no error on success');
    const s = validate('temperature', JSON.stringify(T(-3.25, 9)));
    eq(s.ok, true, 'JSON text ok');
    deepEq(s.value, T(-3.25, 9), 'JSON text value');
    const m = validate('temperature', { schema_version: 1, temp: 212, unit: 'F', timestamp: 1 });
    eq(m.ok, true, 'v1 ok');
    deepEq(m.value, { schema_version: 2, celsius: 100, timestamp: 1 }, 'v1 migrated');
    const h = validate('humidity', { percent: 40, timestamp: 2 });
    eq(h.ok, true, 'humidity ok');
    deepEq(h.value, { percent: 40, timestamp: 2 }, 'humidity value');
    const g = validate('gps_location', { latitude: 48.2, longitude: 16.37, timestamp: 3 });
    eq(g.ok, true, 'gps ok');
    eq(g.value.latitude, 48.2, 'gps latitude');
  });

  test('validate(): {ok:false, error} with path for invalid values', () => {
    const r = validate('temperature', { schema_version: 2, celsius: 'hot', timestamp: 1 });
    eq(r.ok, false, 'ok');
    assert(r.error instanceof AimDbError, `error is an AimDbError: ${show(r.error)}`);
    eq(r.error.code, 'CONTRACT_VIOLATION', 'code');
    eq(r.error.path, 'celsius', 'path');
    eq(r.error.schemaType, 'temperature', 'schemaType');
    assert(typeof r.error.serdeMessage === 'string' && r.error.serdeMessage.length > 0, 'serdeMessage');
    assert(!('value' in r), 'no value on failure');
    const h = validate('humidity', { percent: 101, timestamp: 0 });
    eq(h.ok, false, 'humidity 101 ok');
    eq(h.error.path, 'percent', 'humidity path');
    const j = validate('temperature', '{"schema_version": 2, "celsius": ');
    eq(j.ok, false, 'truncated JSON text ok');
    eq(j.error.code, 'CONTRACT_VIOLATION', 'truncated JSON text code');
    const b = validate('temperature', { schema_version: 2, celsius: 1n, timestamp: 1 });
    eq(b.ok, false, 'BigInt ok');
    eq(b.error.code, 'CONTRACT_VIOLATION', 'BigInt code');
  });

  test('validate(): unknown schema → ok false, UNKNOWN_SCHEMA', () => {
    const r = validate('pressure', { hpa: 1013 });
    eq(r.ok, false, 'ok');
    assert(r.error instanceof AimDbError, 'AimDbError');
    eq(r.error.code, 'UNKNOWN_SCHEMA', 'code');
    eq(r.error.schemaType, 'pressure', 'schemaType');
    assert(r.error.message.includes('pressure'), `message names it: ${r.error.message}`);
  });

  test('knownSchemas(): temperature (version 2), humidity, gps_location, setpoint', () => {
    const list = knownSchemas();
    assert(Array.isArray(list), 'an array');
    assert(Object.isFrozen(list), 'frozen');
    const by = Object.fromEntries(list.map((s) => [s.name, s.version]));
    eq(by.temperature, 2, 'temperature version');
    eq(typeof by.humidity, 'number', 'humidity listed');
    eq(typeof by.gps_location, 'number', 'gps_location listed');
    eq(by.setpoint, 1, 'setpoint version');
  });

  // ---- configureRecord

  test('configureRecord: usable at once', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      eq(db.get('t'), null, 'get before the first value');
      db.set('t', T(1));
      eq(db.get('t').celsius, 1, 'get after set');
      const c = collector();
      const u = db.subscribe('t', c);
      eq(c.values.length, 1, 'subscriber got the current value');
      u();
      const s = db.stats().records.t;
      eq(s.schemaType, 'temperature', 'stats schemaType');
      eq(s.buffer, 'SingleLatest', 'default buffer');
      eq(s.produced, 1, 'produced');
    }));

  test('configureRecord: the same schema and buffer again is a no-op', () =>
    withDb(undefined, async (db) => {
      db.configureRecord('t', { schemaType: 'temperature', buffer: 'SingleLatest' });
      const c = collector();
      db.subscribe('t', c);
      db.set('t', T(5));
      const before = db.get('t');
      doesNotThrow(() => db.configureRecord('t', { schemaType: 'temperature', buffer: 'SingleLatest' }), 'again');
      doesNotThrow(() => db.configureRecord('t', { schemaType: 'temperature', buffer: { type: 'SingleLatest' } }), 'object form');
      doesNotThrow(() => db.configureRecord('t', { schemaType: 'temperature' }), 'default buffer');
      eq(db.get('t'), before, 'the value is kept (same object)');
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
      doesNotThrow(() => db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } }), 'ring again');
      db.configureRecord('d', { schemaType: 'humidity', buffer: 'SpmcRing' });
      doesNotThrow(() => db.configureRecord('d', { schemaType: 'humidity', buffer: { type: 'SpmcRing', capacity: 1024 } }), "'SpmcRing' is capacity 1024");
      await c.until(1);
      db.set('t', T(6));
      await c.until(2);
      eq(c.values[1].celsius, 6, 'a subscriber from before the no-op keeps receiving');
      eq(db.stats().records.t.subscribers, 1, 'subscribers');
    }));

  test('configureRecord: a different schema or buffer → SCHEMA_CONFLICT with key', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature', buffer: 'SingleLatest' });
      db.set('t', T(7));
      let e = throwsCode(() => db.configureRecord('t', { schemaType: 'humidity' }), 'SCHEMA_CONFLICT', 'other schema');
      eq(e.key, 't', 'key');
      assert(typeof e.existing === 'string' && e.existing.includes('temperature'), `existing: ${e.existing}`);
      assert(typeof e.requested === 'string' && e.requested.includes('humidity'), `requested: ${e.requested}`);
      e = throwsCode(
        () => db.configureRecord('t', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } }),
        'SCHEMA_CONFLICT',
        'other buffer',
      );
      eq(e.key, 't', 'key (buffer)');
      throwsCode(() => db.configureRecord('t', { schemaType: 'temperature', buffer: 'Mailbox' }), 'SCHEMA_CONFLICT', 'mailbox');
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } });
      e = throwsCode(
        () => db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } }),
        'SCHEMA_CONFLICT',
        'other capacity',
      );
      eq(e.key, 'r', 'key (capacity)');
      const s = db.stats().records;
      eq(s.t.schemaType, 'temperature', 'record unchanged: schema');
      eq(s.t.buffer, 'SingleLatest', 'record unchanged: buffer');
      eq(s.r.buffer, 'SpmcRing(capacity=8)', 'ring unchanged');
      eq(db.get('t').celsius, 7, 'value kept');
      db.set('t', T(8));
      eq(db.get('t').celsius, 8, 'still usable');
    }));

  test('configureRecord: unknown schemaType → UNKNOWN_SCHEMA naming it', () =>
    withDb(undefined, (db) => {
      const e = throwsCode(() => db.configureRecord('p', { schemaType: 'pressure' }), 'UNKNOWN_SCHEMA', 'pressure');
      eq(e.schemaType, 'pressure', 'schemaType');
      eq(e.key, 'p', 'key');
      assert(e.message.includes('pressure'), `message names it: ${e.message}`);
      throwsCode(() => db.set('p', {}), 'UNKNOWN_KEY', 'the key was not configured');
    }));

  test('configureRecord: capacity 0 and 2000000 → INVALID_BUFFER; the module still works', async () => {
    await withDb(undefined, async (db) => {
      for (const capacity of [0, 2000000, -1, 1.5, '8']) {
        const e = throwsCode(
          () => db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity } }),
          'INVALID_BUFFER',
          `capacity ${show(capacity)}`,
        );
        eq(e.key, 'r', `key (capacity ${show(capacity)})`);
      }
      for (const buffer of ['Ring', { type: 'Ring' }, { type: 'SingleLatest', capacity: 2 }, 42]) {
        throwsCode(() => db.configureRecord('r', { schemaType: 'temperature', buffer }), 'INVALID_BUFFER', `buffer ${show(buffer)}`);
      }
      throwsCode(() => db.get('r'), 'UNKNOWN_KEY', 'nothing was configured');
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 4 } });
      const c = collector();
      db.subscribe('r', c);
      db.set('r', T(1));
      db.set('r', T(2));
      await c.until(2);
      deepEq(c.values.map((v) => v.celsius), [1, 2], 'values after the refused configurations');
    });
    await withDb(undefined, (db) => {
      db.configureRecord('x', { schemaType: 'humidity' });
      db.set('x', { percent: 1, timestamp: 1 });
      eq(db.get('x').percent, 1, 'a new WasmDb works');
    });
  });

  test('configureRecord: unknown option (or malformed options) → INVALID_OPTIONS', () =>
    withDb(undefined, (db) => {
      const e = throwsCode(() => db.configureRecord('t', { schemaType: 'temperature', colour: 'red' }), 'INVALID_OPTIONS', 'colour');
      assert(e.message.includes('colour'), `message names the option: ${e.message}`);
      throwsCode(() => db.configureRecord('t', {}), 'INVALID_OPTIONS', 'no schemaType');
      throwsCode(() => db.configureRecord('t', 'temperature'), 'INVALID_OPTIONS', 'options not an object');
      throwsCode(() => db.configureRecord('t', { schemaType: 7 }), 'INVALID_OPTIONS', 'schemaType not a string');
      throwsCode(() => db.configureRecord('t', { schemaType: 'temperature', link: 'sideways' }), 'INVALID_OPTIONS', 'link');
      throwsCode(() => db.configureRecord(7, { schemaType: 'temperature' }), 'INVALID_KEY', 'key not a string');
      throwsCode(() => db.configureRecord('', { schemaType: 'temperature' }), 'INVALID_KEY', 'empty key');
      throwsCode(() => db.get('t'), 'UNKNOWN_KEY', 'nothing was configured');
    }));

  // ---- set

  test('set: contract violation → CONTRACT_VIOLATION with key, schemaType, path, serdeMessage', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      const e = throwsCode(() => db.set('t', { schema_version: 2, celsius: 'hot', timestamp: 1 }), 'CONTRACT_VIOLATION', 'hot');
      eq(e.key, 't', 'key');
      eq(e.schemaType, 'temperature', 'schemaType');
      eq(e.path, 'celsius', 'path');
      assert(typeof e.serdeMessage === 'string' && e.serdeMessage.length > 0, `serdeMessage: ${show(e.serdeMessage)}`);
      assert(e.message.includes('t') && e.message.includes('celsius'), `message: ${e.message}`);
      const m = throwsCode(() => db.set('t', { schema_version: 2, timestamp: 1 }), 'CONTRACT_VIOLATION', 'missing field');
      eq(m.path, 'celsius', 'missing field path');
      eq(db.get('t'), null, 'nothing was produced');
      eq(db.stats().records.t.produced, 0, 'produced');
    }));

  test('set: unknown key → UNKNOWN_KEY', () =>
    withDb(undefined, (db) => {
      const e = throwsCode(() => db.set('nope', T(1)), 'UNKNOWN_KEY', 'set');
      eq(e.key, 'nope', 'key');
      throwsCode(() => db.subscribe('nope', () => {}), 'UNKNOWN_KEY', 'subscribe');
    }));

  test('set: a BigInt (or cyclic) value → CONTRACT_VIOLATION, not a crash', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      const e = throwsCode(() => db.set('t', { schema_version: 2, celsius: 1n, timestamp: 1 }), 'CONTRACT_VIOLATION', 'BigInt');
      eq(e.key, 't', 'key');
      const cyclic = T(1);
      cyclic.self = cyclic;
      throwsCode(() => db.set('t', cyclic), 'CONTRACT_VIOLATION', 'cyclic');
      throwsCode(() => db.set('t', undefined), 'CONTRACT_VIOLATION', 'undefined');
      eq(db.get('t'), null, 'nothing was produced');
      db.set('t', T(2));
      eq(db.get('t').celsius, 2, 'still works');
    }));

  test('set: schema_version 1 temperature is migrated (212 F → 100 °C, version 2)', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
      const c = collector();
      db.subscribe('r', c);
      const v1 = { schema_version: 1, temp: 212, unit: 'F', timestamp: 1 };
      db.set('t', v1);
      db.set('r', v1);
      deepEq(db.get('t'), { schema_version: 2, celsius: 100, timestamp: 1 }, 'get()');
      await c.until(1);
      deepEq(c.values[0], { schema_version: 2, celsius: 100, timestamp: 1 }, 'subscriber');
      db.set('t', { schema_version: 1, temp: 300, unit: 'K', timestamp: 2 });
      const k = db.get('t');
      assert(Math.abs(k.celsius - 26.85) < 1e-9, `300 K: ${k.celsius}`);
    }));

  // ---- get

  test('get: null first; the same frozen object until the value changes', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      eq(db.get('t'), null, 'null before the first value');
      eq(db.get('t'), null, 'still null');
      db.set('t', T(1));
      const a = db.get('t');
      eq(db.get('t'), a, 'same object on a repeated call');
      eq(db.get('t'), a, 'and again');
      assert(Object.isFrozen(a), 'frozen');
      let threw = null;
      try {
        a.celsius = 99; // modules are strict: assigning to a frozen property throws
      } catch (e) {
        threw = e;
      }
      assert(threw instanceof TypeError, `strict assignment throws a TypeError: ${show(threw)}`);
      eq(a.celsius, 1, 'unchanged');
      db.set('t', T(2));
      const b = db.get('t');
      assert(b !== a, 'a new object after the value changed');
      eq(b.celsius, 2, 'the new value');
      eq(db.get('t'), b, 'then the same again');
      db.set('t', T(2));
      assert(db.get('t') !== b, 'a new object after a set of an equal value (a new version)');
      throwsCode(() => db.get('nope'), 'UNKNOWN_KEY', 'unknown key');
    }));

  test('one object per version: every SingleLatest subscriber and get() share it', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      const got = [[], [], []];
      const unsubs = got.map((list) => db.subscribe('t', (v) => list.push(v)));
      db.set('t', T(1));
      db.set('t', T(2));
      await waitFrames(() => got.every((l) => l.length === 1), 'one delivery each');
      const v = db.get('t');
      eq(v.celsius, 2, 'the latest');
      for (const [i, l] of got.entries()) eq(l[0], v, `subscriber ${i} got the object get() returns`);
      assert(Object.isFrozen(v), 'frozen');
      // A later subscriber's synchronous first value is that object too.
      let late = null;
      unsubs.push(db.subscribe('t', (x) => (late = x)));
      eq(late, v, 'a late subscriber gets the same object');
      // An f32 is handed out as its shortest decimal (not 20.100000381469727).
      db.set('t', T(20.1));
      eq(db.get('t').celsius, 20.1, 'f32 20.1');
      for (const u of unsubs) u();
    }));

  test('setMany: all values in order in one call; all or nothing, the error names [index].path', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
      const got = [];
      const unsub = db.subscribe('r', (v) => got.push(v.timestamp));
      db.setMany('r', range(0, 10).map((i) => T(i, i)));
      eq(db.stats().records.r.produced, 10, 'ten produced');
      eq(db.get('r').timestamp, 9, 'the last is the latest');
      await waitFrames(() => got.length === 10, 'ten delivered');
      deepEq(got, range(0, 10), 'in order');
      // One bad value: nothing of the batch is produced.
      const bad = [T(1, 100), T(2, 101), T(3, 102), { schema_version: 2, celsius: 'hot', timestamp: 103 }];
      const e = throwsCode(() => db.setMany('r', bad), 'CONTRACT_VIOLATION', 'a bad item');
      eq(e.path, '[3].celsius', 'path names the index and the field');
      eq(e.key, 'r', 'key');
      eq(e.schemaType, 'temperature', 'schemaType');
      const m = throwsCode(() => db.setMany('r', [T(1, 1), { schema_version: 2, timestamp: 1 }]), 'CONTRACT_VIOLATION', 'missing field');
      eq(m.path, '[1].celsius', 'missing field path');
      const n = throwsCode(() => db.setMany('r', [T(1, 1), T(NaN, 2)]), 'CONTRACT_VIOLATION', 'NaN');
      eq(n.path, '[1].celsius', 'NaN path');
      assert(n.message.includes('not a finite number (NaN)'), n.message);
      const v1 = [{ schema_version: 1, temp: 212, unit: 'F', timestamp: 200 }];
      db.setMany('r', v1);
      eq(db.get('r').celsius, 100, 'v1 items are migrated');
      eq(db.stats().records.r.produced, 11, 'nothing of the refused batches was produced');
      throwsCode(() => db.setMany('r', T(1)), 'CONTRACT_VIOLATION', 'not an array');
      db.setMany('r', []);
      eq(db.stats().records.r.produced, 11, 'an empty batch produces nothing');
      throwsCode(() => db.setMany('nope', [T(1)]), 'UNKNOWN_KEY', 'unknown key');
      throwsCode(() => db.setMany(42, [T(1)]), 'INVALID_KEY', 'invalid key');
      unsub();
    }));

  test('set: a getter that calls db.set while the value is read; strings, nested values and many keys', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      db.configureRecord('u', { schemaType: 'temperature' });
      // The inner set runs while the outer value is being encoded: both land, neither is mixed up.
      db.set('t', { schema_version: 2, get celsius() { db.set('u', T(7, 7)); return 3; }, timestamp: 3 });
      eq(db.get('t').celsius, 3, 'outer value');
      eq(db.get('u').celsius, 7, 'inner value');
      // A v1 value carries a string; a refused string is quoted.
      db.set('t', { schema_version: 1, temp: 32, unit: 'F', timestamp: 4 });
      eq(db.get('t').celsius, 0, 'v1 with a string field');
      const e = throwsCode(() => db.set('t', { schema_version: 1, temp: 32, unit: 'Q', timestamp: 4 }), 'CONTRACT_VIOLATION', 'bad unit');
      eq(e.path, 'unit', 'unit path');
      assert(e.serdeMessage.includes('"Q"'), e.serdeMessage);
      // Thousands of distinct unknown keys (past the interned-key table) are still named.
      for (let i = 0; i < 5000; i++) {
        const k = `extra_${i}`;
        const x = throwsCode(() => db.set('t', { ...T(1), [k]: 1 }), 'CONTRACT_VIOLATION', k);
        if (!x.serdeMessage.includes(`unknown field \`${k}\``)) throw new Error(`${k}: ${x.serdeMessage}`);
      }
      db.set('t', T(9, 9));
      eq(db.get('t').celsius, 9, 'still fine');
    }));

  test('set: the flat fast path (objects of numbers) gives exactly what the general path (validate) gives', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      db.configureRecord('g', { schemaType: 'gps_location' });
      db.configureRecord('u', { schemaType: 'temperature' });
      const proto = { celsius: 5 };
      const own = Object.create(proto);
      own.timestamp = 1;
      class Reading {
        constructor() {
          this.celsius = 4;
          this.timestamp = 4;
        }
      }
      let getterCalls = 0;
      const cases = [
        ['t', { celsius: 21.5, timestamp: 1 }],
        ['t', { timestamp: 2, celsius: 20.1 }],
        ['t', { schema_version: 2, celsius: -0, timestamp: 3 }],
        ['t', { celsius: 1, timestamp: 1, extra: undefined }],
        ['t', Object.assign(Object.create(null), { celsius: 2, timestamp: 2 })],
        ['t', new Reading()],
        ['t', own], // an inherited field is not the value's own: missing `celsius`
        ['t', Object.defineProperty({ timestamp: 7 }, 'celsius', { value: 7, enumerable: false })], // not enumerable: missing
        ['t', Object.defineProperty({ celsius: 8, timestamp: 8 }, 'extra', { value: 8, enumerable: false })], // not enumerable: not seen
        ['t', { celsius: 1, timestamp: 1, hasOwnProperty: 1 }],
        ['t', Object.assign(Object.create(new Reading()), { celsius: 9 })], // own celsius, inherited timestamp
        ['t', { celsius: NaN, timestamp: 1 }],
        ['t', { celsius: 1e39, timestamp: 1 }],
        ['t', { celsius: 1, timestamp: 1.5 }],
        ['t', { celsius: 1, timestamp: -1 }],
        ['t', { celsius: 1, timestamp: 2 ** 53 }],
        ['t', { celsius: 1 }],
        ['t', { celsius: 1, timestamp: 1, extra: 1 }],
        ['t', { schema_version: 1, celsius: 1, timestamp: 1 }],
        ['t', { schema_version: 3, celsius: 1, timestamp: 1 }],
        ['t', { celsius: '1', timestamp: 1 }],
        ['t', { celsius: 1, timestamp: 1, f() {} }],
        ['t', { get celsius() { getterCalls++; return 6; }, timestamp: 6 }],
        ['t', [1, 2]],
        ['g', { latitude: 48.2, longitude: 16.37, timestamp: 1 }],
        ['g', { latitude: 48.2, longitude: 16.37, altitude: 200, accuracy: 3.5, timestamp: 1 }],
        ['g', { latitude: 91, longitude: 0, timestamp: 1 }],
        // null: an Option field is None (flat path), any other field refuses it (general path).
        ['g', { latitude: 48.2, longitude: 16.37, altitude: null, timestamp: 1 }],
        ['g', { latitude: 1, longitude: 2, altitude: null, accuracy: null, timestamp: 1 }],
        ['g', { latitude: null, longitude: 16.37, timestamp: 1 }],
        ['t', { celsius: null, timestamp: 1 }],
        ['t', { schema_version: null, celsius: 1, timestamp: 1 }],
      ];
      const schema = { t: 'temperature', g: 'gps_location' };
      const outcome = (f) => {
        try {
          return { value: f() };
        } catch (e) {
          return { error: [e.code, e.path, e.serdeMessage] };
        }
      };
      for (const [i, [key, v]] of cases.entries()) {
        const viaSet = outcome(() => {
          db.set(key, v);
          return db.get(key);
        });
        const r = validate(schema[key], v);
        const viaValidate = r.ok ? { value: r.value } : { error: [r.error.code, r.error.path, r.error.serdeMessage] };
        deepEq(viaSet, viaValidate, `case ${i} (${key})`);
        if ('value' in viaSet) assert(Object.is(viaSet.value.celsius, viaValidate.value.celsius), `case ${i}: the same number (-0)`);
      }
      // The getter was read once by set (flat path) and once by validate.
      eq(getterCalls, 2, 'getter reads');
      // setMany takes the flat path too: all or nothing, a violation reported as the general path does.
      db.configureRecord('m', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      db.setMany('m', [{ celsius: 1, timestamp: 1 }, { timestamp: 2, celsius: 20.1 }]);
      // (a null declines setMany's flat path: the general path reports it at its index)
      eq(throwsCode(() => db.setMany('m', [{ celsius: 1, timestamp: 1 }, { celsius: null, timestamp: 2 }]), 'CONTRACT_VIOLATION', 'setMany null').path, '[1].celsius', 'setMany null path');
      deepEq(db.get('m'), validate('temperature', { celsius: 20.1, timestamp: 2 }).value, 'setMany last value');
      const bad = throwsCode(() => db.setMany('m', [{ celsius: 1, timestamp: 3 }, { celsius: 1, timestamp: 4 }, { celsius: 1, timestamp: -1 }]), 'CONTRACT_VIOLATION', 'setMany violation');
      eq(bad.path, '[2].timestamp', 'setMany path');
      eq(db.stats().records.m.produced, 2, 'nothing of the refused batch produced');
      // A getter that writes the same record while the flat path reads the value: both land, in order.
      const seen = [];
      db.subscribe('u', (x) => seen.push(x.timestamp));
      db.set('u', { get celsius() { db.set('u', { celsius: 1, timestamp: 10 }); return 2; }, timestamp: 11 });
      eq(db.get('u').timestamp, 11, 'outer value last');
      eq(db.stats().records.u.produced, 2, 'both produced');
    }));

  test('values out (built from numbers in JS): the object serde_json text gives, frozen, every delivery path', async () =>
    withDb({ tick: 'microtask' }, async (db) => {
      const cases = [
        ['temperature', { celsius: 20.1, timestamp: 1 }],
        ['temperature', { celsius: 1e-7, timestamp: 2 }],
        ['temperature', { celsius: -0, timestamp: 3 }],
        ['temperature', { celsius: 3.4e38, timestamp: 2 ** 53 - 1 }],
        ['temperature', { celsius: -3.7, timestamp: 4 }],
        ['temperature', { celsius: 16777215, timestamp: 5 }],
        ['temperature', { celsius: 123456.789, timestamp: 6 }],
        ['temperature', { celsius: 0.000123, timestamp: 7 }],
        ['gps_location', { latitude: 48.2, longitude: 16.37, timestamp: 1 }],
        ['gps_location', { latitude: -0.1, longitude: 1e-300, altitude: 1e300, accuracy: 0.1, timestamp: 2 }],
        ['gps_location', { latitude: 1, longitude: 2, accuracy: 3, timestamp: 3 }],
        ['humidity', { percent: 0.3, timestamp: 1 }],
        ['setpoint', { target_celsius: 21, timestamp: 1 }],
      ];
      const same = (got, ref, what) => {
        deepEq(got, ref, what); // key order included
        for (const k of Object.keys(ref)) assert(Object.is(got[k], ref[k]), `${what}: ${k} is ${got[k]}, not ${ref[k]}`);
        assert(Object.isFrozen(got), `${what}: frozen`);
      };
      const rings = {};
      for (const [i, [schemaType, v]] of cases.entries()) {
        const ref = validate(schemaType, JSON.stringify(v)); // JSON.parse of serde_json's text
        assert(ref.ok, `case ${i}: valid`);
        db.configureRecord(`s${i}`, { schemaType });
        db.set(`s${i}`, v);
        same(db.get(`s${i}`), ref.value, `case ${i} get()`);
        if (!rings[schemaType]) {
          rings[schemaType] = { refs: [], items: collector() };
          db.configureRecord(`ring.${schemaType}`, { schemaType, buffer: { type: 'SpmcRing', capacity: 64 } });
          db.subscribe(`ring.${schemaType}`, rings[schemaType].items, { batch: true });
        }
        rings[schemaType].refs.push(ref.value);
        db.set(`ring.${schemaType}`, v);
      }
      for (const [schemaType, { refs, items }] of Object.entries(rings)) {
        await waitFrames(() => items.values.flat().length >= refs.length, `${schemaType} ring items`);
        const got = items.values.flat();
        refs.forEach((ref, j) => same(got[j], ref, `${schemaType} ring item ${j}`));
        for (const batch of items.values) assert(Object.isFrozen(batch), `${schemaType}: a batch array is frozen`);
      }
    }));

  test('records by handle: configureRecord / record(key) return one handle with get/set/setMany/subscribe', async () =>
    withDb(undefined, async (db) => {
      const h = db.configureRecord('t', { schemaType: 'temperature' });
      eq(db.record('t'), h, 'record(key) is the handle configureRecord returned');
      eq(db.configureRecord('t', { schemaType: 'temperature' }), h, 'configuring again: the same handle');
      eq(h.key, 't', 'key');
      assert(Object.isFrozen(h), 'the handle is frozen');
      eq(h.get(), null, 'null first');
      const got = [];
      const unsub = h.subscribe((v) => got.push(v));
      h.set(T(5));
      eq(h.get(), db.get('t'), 'the same object as db.get');
      eq(h.get().celsius, 5, 'set through the handle');
      h.setMany([T(6), T(7)]);
      eq(db.get('t').celsius, 7, 'setMany through the handle');
      await waitFrames(() => got.length === 1, 'a delivery');
      eq(got[0], h.get(), 'the subscriber got the latest object');
      const e = throwsCode(() => h.set({ celsius: 'x', timestamp: 1 }), 'CONTRACT_VIOLATION', 'a violation through the handle');
      eq(e.key, 't', 'the error names the key');
      eq(e.path, 'celsius', 'and the path');
      throwsCode(() => db.record('nope'), 'UNKNOWN_KEY', 'record() of an unknown key');
      throwsCode(() => db.record(''), 'INVALID_KEY', 'record() of an invalid key');
      unsub();
      db.free();
      throwsCode(() => h.get(), 'USE_AFTER_FREE', 'get after free');
      throwsCode(() => h.set(T(1)), 'USE_AFTER_FREE', 'set after free');
      throwsCode(() => h.setMany([T(1)]), 'USE_AFTER_FREE', 'setMany after free');
      throwsCode(() => h.subscribe(() => {}), 'USE_AFTER_FREE', 'subscribe after free');
    }));

  // ---- subscribe

  test('subscribe: a new subscriber gets the current value first, synchronously, exactly once', async () =>
    withDb(undefined, async (db) => {
      for (const buffer of ['SingleLatest', 'Mailbox', { type: 'SpmcRing', capacity: 8 }]) {
        const key = `k.${typeof buffer === 'string' ? buffer : buffer.type}`;
        db.configureRecord(key, { schemaType: 'temperature', buffer });
        db.set(key, T(1));
        await frames(1);
        const c = collector();
        const u = db.subscribe(key, c);
        eq(c.values.length, 1, `${key}: called before subscribe returned`);
        eq(c.values[0], db.get(key), `${key}: the same object get() returns`);
        await frames(2);
        eq(c.values.length, 1, `${key}: the current value is not delivered again`);
        db.set(key, T(2));
        await c.until(2);
        eq(c.values[1].celsius, 2, `${key}: the next value`);
        await frames(2);
        eq(c.values.length, 2, `${key}: nothing more`);
        u();
      }
      db.configureRecord('b', { schemaType: 'temperature', buffer: 'SpmcRing' });
      db.set('b', T(3));
      const batches = collector();
      db.subscribe('b', batches, { batch: true });
      eq(batches.values.length, 1, 'batch: called synchronously');
      assert(Array.isArray(batches.values[0]), 'batch: an array');
      deepEq(batches.values[0], [T(3)], 'batch: [current]');
      db.configureRecord('empty', { schemaType: 'temperature' });
      const e = collector();
      db.subscribe('empty', e);
      eq(e.values.length, 0, 'no call on a record without a value');
    }));

  test('subscribe: SingleLatest coalesces (100 sets → at most one value per frame, the last one last)', async (t) =>
    withDb(undefined, async (db) => {
      db.configureRecord('t', { schemaType: 'temperature', buffer: 'SingleLatest' });
      const seen = [];
      db.subscribe('t', (v) => seen.push({ celsius: v.celsius, frame: document.timeline.currentTime }));
      for (let i = 0; i < 100; i++) db.set('t', T(i));
      await frame();
      await frame();
      t.note(`callbacks: ${seen.length} (${seen.map((s) => s.celsius).join(', ')})`);
      assert(seen.length >= 1, 'the callback was called');
      assert(seen.length <= 2, `at most one call per frame in two frames, got ${seen.length}`);
      const framesSeen = seen.map((s) => s.frame);
      eq(new Set(framesSeen).size, framesSeen.length, `one value per frame (frame times ${framesSeen.join(', ')})`);
      eq(seen[seen.length - 1].celsius, 99, 'the last value seen is the last set');
      eq(db.stats().records.t.delivered, seen.length, 'stats delivered');
    }));

  test('subscribe: SpmcRing delivers every item in order (20 sets → 20 callbacks)', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
      const c = collector((v) => v.celsius);
      db.subscribe('r', c);
      for (let i = 0; i < 20; i++) db.set('r', T(i));
      await c.until(20);
      await frames(2);
      deepEq(c.values, range(0, 20), 'values');
      eq(db.stats().records.r.delivered, 20, 'stats delivered');
    }));

  test('subscribe: SpmcRing {batch:true} delivers arrays; concatenated, all values in order', async (t) =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
      const batches = [];
      let total = 0;
      const all = deferred();
      db.subscribe(
        'r',
        (vs) => {
          batches.push(vs);
          total += Array.isArray(vs) ? vs.length : 1;
          if (total >= 30) all.resolve();
        },
        { batch: true },
      );
      for (let i = 0; i < 20; i++) db.set('r', T(i));
      await frame();
      for (let i = 20; i < 30; i++) db.set('r', T(i));
      await all.promise;
      await frames(2);
      t.note(`batch sizes: ${batches.map((b) => b.length).join(', ')}`);
      assert(batches.every((b) => Array.isArray(b)), 'every call gets an array');
      assert(batches.every((b) => Object.isFrozen(b) && b.every((v) => Object.isFrozen(v))), 'frozen');
      assert(batches.every((b) => b.length > 0), 'no empty batch');
      deepEq(batches.flat().map((v) => v.celsius), range(0, 30), 'concatenation');
      assert(batches.length >= 2, 'values set in different frames come in different batches');
      eq(db.stats().records.r.delivered, 30, 'stats delivered counts items');
    }));

  test('subscribe {batch:true} on SingleLatest and Mailbox: always an array (of the latest value)', async () =>
    withDb(undefined, async (db) => {
      for (const buffer of ['SingleLatest', 'Mailbox']) {
        db.configureRecord(buffer, { schemaType: 'temperature', buffer });
        const c = collector();
        db.subscribe(buffer, c, { batch: true });
        for (let i = 0; i < 5; i++) db.set(buffer, T(i));
        await c.until(1);
        await frames(2);
        assert(c.values.every((b) => Array.isArray(b) && b.length === 1), `${buffer}: arrays of one: ${show(c.values)}`);
        eq(c.values[c.values.length - 1][0].celsius, 4, `${buffer}: the latest value last`);
      }
    }));

  test('subscribe: a lagging ring subscriber gets onLag, stats().lagged matches, and keeps going', async (t) =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 4 } });
      const lags = [];
      const c = collector((v) => v.celsius);
      const last = deferred();
      db.subscribe(
        'r',
        (v) => {
          c(v);
          if (v.celsius === 49) last.resolve();
        },
        { onLag: (n) => lags.push(n) },
      );
      for (let i = 0; i < 50; i++) db.set('r', T(i));
      await last.promise;
      await frames(1);
      const sum = lags.reduce((a, b) => a + b, 0);
      t.note(`onLag: [${lags.join(', ')}], received: [${c.values.join(', ')}]`);
      assert(lags.length >= 1, 'onLag was called');
      assert(lags.every((n) => Number.isInteger(n) && n > 0), `positive counts: ${show(lags)}`);
      eq(db.stats().records.r.lagged, sum, 'stats().records[key].lagged equals the sum');
      eq(sum + c.values.length, 50, 'every value was either delivered or reported lagged');
      deepEq(c.values, range(50 - c.values.length, 50), 'the received values are the newest, in order');
      db.set('r', T(50));
      await c.until(c.values.length + 1);
      eq(c.values[c.values.length - 1], 50, 'a later value arrives');
      eq(db.stats().records.r.lagged, sum, 'no further lag');
    }));

  test('subscribe: a throwing callback → onError gets the error; the subscription goes on', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      const errors = [];
      const boom = new Error('boom');
      const c = collector((v) => v.celsius);
      db.subscribe(
        't',
        (v) => {
          c(v);
          if (v.celsius === 1) throw boom;
        },
        { onError: (e) => errors.push(e) },
      );
      db.set('t', T(1));
      await c.until(1);
      eq(errors.length, 1, 'onError called once');
      eq(errors[0], boom, 'with the thrown error');
      db.set('t', T(2));
      await c.until(2);
      eq(c.values[1], 2, 'the next value');
      eq(errors.length, 1, 'no more errors');

      // The synchronous first delivery, and ring items after a throwing one.
      db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
      db.set('r', T(0));
      const ringErrors = [];
      const r = collector((v) => v.celsius);
      doesNotThrow(
        () =>
          db.subscribe(
            'r',
            (v) => {
              r(v);
              if (v.celsius % 2 === 0) throw new RangeError(`even ${v.celsius}`);
            },
            { onError: (e) => ringErrors.push(e) },
          ),
        'subscribe with a callback throwing on the current value',
      );
      eq(ringErrors.length, 1, 'the first (synchronous) delivery threw into onError');
      for (let i = 1; i <= 5; i++) db.set('r', T(i));
      await r.until(6);
      deepEq(r.values, [0, 1, 2, 3, 4, 5], 'every item still delivered');
      deepEq(ringErrors.map((e) => e.message), ['even 0', 'even 2', 'even 4'], 'onError per throw');
    }));

  test('subscribe: without onError, console.error once per error kind', async () => {
    const original = console.error;
    const logged = [];
    console.error = (...args) => logged.push(args);
    try {
      await withDb(undefined, async (db) => {
        db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
        const c = collector((v) => v.celsius);
        db.subscribe('r', (v) => {
          c(v);
          if (v.celsius < 3) throw new TypeError(`t${v.celsius}`);
          throw new RangeError(`r${v.celsius}`);
        });
        for (let i = 0; i < 6; i++) db.set('r', T(i));
        await c.until(6);
        deepEq(c.values, range(0, 6), 'every value delivered despite the throws');
        eq(logged.length, 2, `console.error calls (TypeError ×3, RangeError ×3): ${show(logged.map((a) => String(a[0])))}`);
        assert(logged.every((a) => String(a[0]).includes("'r'")), 'the message names the key');
        eq(logged[0][1] instanceof TypeError && logged[0][1].message, 't0', 'the first TypeError is passed along');
        eq(logged[1][1] instanceof RangeError && logged[1][1].message, 'r3', 'the first RangeError is passed along');

        // An onError that throws falls back to console.error as well.
        db.configureRecord('s', { schemaType: 'temperature' });
        const done = deferred();
        db.subscribe(
          's',
          () => {
            throw new Error('callback');
          },
          {
            onError: () => {
              done.resolve();
              throw new SyntaxError('onError itself');
            },
          },
        );
        db.set('s', T(1));
        await done.promise;
        eq(logged.length, 3, 'the error thrown by onError is logged');
        eq(logged[2][1] instanceof SyntaxError, true, 'the onError error');
      });
    } finally {
      console.error = original;
    }
  });

  test('subscribe: unsub() stops delivery; twice is harmless', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      const c = collector();
      const u = db.subscribe('t', c);
      eq(db.stats().records.t.subscribers, 1, 'subscribers');
      db.set('t', T(1));
      await c.until(1);
      u();
      eq(db.stats().records.t.subscribers, 0, 'subscribers after unsub');
      db.set('t', T(2));
      await frames(3);
      eq(c.values.length, 1, 'no call after unsub');
      doesNotThrow(u, 'unsub twice');
      eq(db.stats().records.t.subscribers, 0, 'subscribers after the second unsub');
      // Unsubscribed with values already queued.
      db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
      const r = collector();
      const ur = db.subscribe('r', r);
      for (let i = 0; i < 5; i++) db.set('r', T(i));
      ur();
      await frames(3);
      eq(r.values.length, 0, 'queued ring items are not delivered after unsub');
    }));

  test('subscribe: unsub inside the callback → never called again, even with more queued items', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      let calls = 0;
      const first = deferred();
      const u = db.subscribe('r', () => {
        calls++;
        u();
        first.resolve();
      });
      for (let i = 0; i < 6; i++) db.set('r', T(i));
      await first.promise;
      await frames(3);
      eq(calls, 1, 'per-item ring');
      eq(db.stats().records.r.subscribers, 0, 'subscribers');

      // A batch subscriber on a ring without a value yet (a subscriber's synchronous first
      // call happens before `subscribe` returns its unsubscribe function).
      db.configureRecord('rb', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      let batchCalls = 0;
      const firstBatch = deferred();
      const ub = db.subscribe(
        'rb',
        () => {
          batchCalls++;
          ub();
          firstBatch.resolve();
        },
        { batch: true },
      );
      for (let i = 0; i < 6; i++) db.set('rb', T(i));
      await firstBatch.promise;
      for (let i = 6; i < 12; i++) db.set('rb', T(i));
      await frames(3);
      eq(batchCalls, 1, 'batch ring');

      db.configureRecord('t', { schemaType: 'temperature' });
      let latestCalls = 0;
      const firstLatest = deferred();
      const ul = db.subscribe('t', () => {
        latestCalls++;
        ul();
        firstLatest.resolve();
      });
      db.set('t', T(1));
      await firstLatest.promise;
      db.set('t', T(2));
      await frames(3);
      eq(latestCalls, 1, 'SingleLatest');
    }));

  test('subscribe: a callback may call db.set/get/subscribe on the same and another record', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('a', { schemaType: 'temperature' });
      db.configureRecord('b', { schemaType: 'temperature', buffer: 'SpmcRing' });
      const errors = [];
      const bSeen = collector((v) => v.celsius);
      const aSeen = collector((v) => v.celsius);
      let innerA = null;
      db.subscribe(
        'a',
        (v) => {
          aSeen(v);
          if (v.celsius !== 1) return;
          try {
            eq(db.get('a').celsius, 1, 'get(same) inside the callback');
            eq(db.get('b'), null, 'get(other) inside the callback');
            db.set('b', T(10));
            db.subscribe('b', bSeen); // b has a value: delivered synchronously, here
            eq(bSeen.values.length, 1, 'nested subscribe got the current value');
            innerA = collector((x) => x.celsius);
            db.subscribe('a', innerA); // the same record, from inside its own callback
            db.set('a', T(2)); // the same record again
            db.stats();
          } catch (e) {
            errors.push(e);
          }
        },
        { onError: (e) => errors.push(e) },
      );
      db.set('a', T(1));
      await aSeen.until(2);
      await innerA.until(2);
      db.set('b', T(11));
      await bSeen.until(2);
      eq(errors.length, 0, `no errors: ${errors.map(describe).join(' | ')}`);
      deepEq(aSeen.values, [1, 2], 'outer subscriber');
      deepEq(innerA.values, [1, 2], 'inner subscriber on the same record');
      deepEq(bSeen.values, [10, 11], 'subscriber on the other record');
    }));

  test('subscribe/unsubscribe ×10,000 on a quiet record: no leaked subscribers, readers or tasks', async (t) =>
    withDb(undefined, async (db) => {
      db.configureRecord('q', { schemaType: 'temperature' });
      db.set('q', T(1));
      await frames(1);
      const before = db.stats();
      const readers0 = before.records.q.readers;
      const live0 = before.executor.liveTasks;
      let calls = 0;
      const t0 = performance.now();
      for (let i = 0; i < 10_000; i++) {
        const u = db.subscribe('q', () => calls++);
        u();
      }
      const loopMs = performance.now() - t0;
      eq(calls, 10_000, 'each subscriber got the current value');
      await frame();
      const after1 = db.stats();
      const extra = await waitFrames(
        () => {
          const s = db.stats();
          return s.executor.liveTasks === live0 && s.records.q.readers === readers0;
        },
        `liveTasks back to ${live0} and readers back to ${readers0}`,
        120,
      );
      const after = db.stats();
      t.note(
        `loop ${loopMs.toFixed(0)} ms; after 1 frame: liveTasks ${after1.executor.liveTasks} (baseline ${live0}), ` +
          `readers ${after1.records.q.readers} (baseline ${readers0}); settled after ${1 + extra} frame(s)`,
      );
      eq(after.records.q.subscribers, 0, 'subscribers');
      eq(after.records.q.readers, readers0, 'readers');
      eq(after.executor.liveTasks, live0, 'liveTasks');
      eq(after1.records.q.subscribers, 0, 'subscribers after one frame');
      // Still works.
      const c = collector();
      db.subscribe('q', c);
      db.set('q', T(2));
      await c.until(2);
    }));

  // ---- stats

  test('stats(): executor fields and per-record produced/delivered/lagged/subscribers', async () =>
    withDb(undefined, async (db) => {
      const s0 = db.stats();
      const e = s0.executor;
      eq(e.strategy, 'animationFrame', 'default strategy');
      for (const f of ['ticks', 'polls', 'busyMs', 'budgetHits', 'maxPollsHits', 'overruns', 'maxTickMs', 'hostRequests', 'spawned', 'liveTasks']) {
        assert(typeof e[f] === 'number' && e[f] >= 0, `executor.${f} is a number: ${show(e[f])}`);
      }
      eq(typeof e.tickPending, 'boolean', 'executor.tickPending');
      const lt = e.lastTick;
      assert(lt && typeof lt === 'object', 'executor.lastTick');
      for (const f of ['polls', 'elapsedMs', 'budgetMs', 'finalIntervalPolls', 'finalIntervalMs', 'clockReads']) {
        assert(typeof lt[f] === 'number', `lastTick.${f} is a number: ${show(lt[f])}`);
      }
      assert(['drained', 'budget', 'maxPolls'].includes(lt.ended), `lastTick.ended: ${show(lt.ended)}`);
      deepEq(s0.records, {}, 'no records yet');

      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } });
      let r = db.stats().records.r;
      deepEq(
        [r.schemaType, r.buffer, r.capacity, r.produced, r.delivered, r.lagged, r.subscribers, r.serializeErrors],
        ['temperature', 'SpmcRing(capacity=8)', 8, 0, 0, 0, 0, 0],
        'a new record',
      );
      assert(typeof r.readers === 'number' && typeof r.parked === 'number', 'readers, parked');
      const c = collector();
      const u = db.subscribe('r', c);
      const s1 = db.stats();
      eq(s1.records.r.subscribers, 1, 'subscribers');
      eq(s1.records.r.readers, r.readers + 1, 'readers: one more');
      eq(s1.executor.spawned, s0.executor.spawned + 1, 'spawned: one more');
      eq(s1.executor.liveTasks, s0.executor.liveTasks + 1, 'liveTasks: one more');
      for (let i = 0; i < 3; i++) db.set('r', T(i));
      eq(db.stats().records.r.produced, 3, 'produced at once');
      await c.until(3);
      const s2 = db.stats();
      eq(s2.records.r.delivered, 3, 'delivered');
      eq(s2.records.r.lagged, 0, 'lagged');
      assert(s2.executor.ticks > s0.executor.ticks, `ticks grew: ${s0.executor.ticks} → ${s2.executor.ticks}`);
      assert(s2.executor.polls > s0.executor.polls, `polls grew: ${s0.executor.polls} → ${s2.executor.polls}`);
      u();
      eq(db.stats().records.r.subscribers, 0, 'subscribers after unsub');
      db.configureRecord('h', { schemaType: 'humidity', buffer: 'Mailbox' });
      r = db.stats().records.h;
      eq(r.schemaType, 'humidity', 'second record schemaType');
      eq(r.buffer, 'Mailbox', 'second record buffer');
      eq(r.capacity, 0, 'a Mailbox has no ring capacity');
      assert(db.stats() !== db.stats(), 'a fresh snapshot per call');
    }));

  // ---- setTicking

  test('setTicking: microtask, macrotask, idle, animationFrame at run time; nothing lost on a ring', async (t) =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
      const c = collector((v) => v.celsius);
      db.subscribe('r', c);
      let n = 0;
      const send = (k) => {
        for (let i = 0; i < k; i++) db.set('r', T(n++));
      };
      const timings = [];
      for (const tick of ['microtask', 'macrotask', 'idle', 'animationFrame', 'microtask']) {
        const ticks0 = db.stats().executor.ticks;
        send(5); // in flight under the previous strategy
        db.setTicking({ tick });
        eq(db.stats().executor.strategy, tick, `strategy ${tick}`);
        send(5);
        const t0 = performance.now();
        await c.until(n);
        timings.push(`${tick} ${(performance.now() - t0).toFixed(1)} ms`);
        assert(db.stats().executor.ticks > ticks0, `${tick}: ticks ran`);
      }
      t.note(timings.join(', '));
      deepEq(c.values, range(0, n), 'every value, in order');
      eq(db.stats().records.r.lagged, 0, 'no lag');
      // Unspecified fields keep their value.
      db.setTicking({ budgetMs: 3 });
      eq(db.stats().executor.strategy, 'microtask', 'budgetMs alone keeps the strategy');
      throwsCode(() => db.setTicking({ tick: 'sometimes' }), 'INVALID_OPTIONS', "tick 'sometimes'");
      throwsCode(() => db.setTicking({ budgetMs: 0 }), 'INVALID_OPTIONS', 'budgetMs 0');
      throwsCode(() => db.setTicking({ budgetMs: 5000 }), 'INVALID_OPTIONS', 'budgetMs 5000');
      throwsCode(() => db.setTicking({ frobnicate: 1 }), 'INVALID_OPTIONS', 'unknown option');
      throwsCode(() => db.setTicking('microtask'), 'INVALID_OPTIONS', 'a string');
      eq(db.stats().executor.strategy, 'microtask', 'strategy unchanged by refused calls');
      send(3);
      await c.until(n);
      deepEq(c.values, range(0, n), 'still flowing');
      // Back to the default before free(): free() with a microtask tick pending is its
      // own test below.
      db.setTicking({ tick: 'animationFrame' });
      send(2);
      await c.until(n);
    }));

  test("new WasmDb({ tick: 'macrotask', budgetMs: 2 }) is reflected in stats()", async () => {
    await withDb({ tick: 'macrotask', budgetMs: 2 }, async (db) => {
      eq(db.stats().executor.strategy, 'macrotask', 'strategy');
      db.configureRecord('t', { schemaType: 'temperature' });
      const c = collector();
      db.subscribe('t', c);
      db.set('t', T(1));
      await c.until(1);
      eq(db.stats().executor.lastTick.budgetMs, 2, 'lastTick.budgetMs');
    });
    for (const tick of ['microtask', 'idle', 'animationFrame']) {
      await withDb({ tick }, (db) => eq(db.stats().executor.strategy, tick, `new WasmDb({tick:'${tick}'})`));
    }
    throwsCode(() => new WasmDb({ tick: 'nope' }), 'INVALID_OPTIONS', "new WasmDb({tick:'nope'})");
    throwsCode(() => new WasmDb({ budgetMs: -1 }), 'INVALID_OPTIONS', 'new WasmDb({budgetMs:-1})');
    throwsCode(() => new WasmDb({ logLevel: 'loud' }), 'INVALID_OPTIONS', "new WasmDb({logLevel:'loud'})");
    throwsCode(() => new WasmDb(5), 'INVALID_OPTIONS', 'new WasmDb(5)');
  });

  // ---- hostile input (issue 8, "The facade")

  /** Values that are not strings, as keys: each must be INVALID_KEY before any wasm call. */
  const NOT_STRINGS = [
    [42, 'the number 42'],
    [undefined, 'undefined'],
    [null, 'null'],
    [{}, 'an object'],
    [{ length: 2 ** 31 - 1 }, 'an object'], // once copied into wasm by its length
    [new String('t'), 'an object'],
    [['t'], 'an array'],
    [1n, 'the bigint 1'],
    [Symbol('t'), 'a symbol'],
    [() => 't', 'a function'],
  ];

  test('keys that are not strings → INVALID_KEY naming what was given (get, set, subscribe, configureRecord)', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      db.set('t', T(1));
      for (const [key, shown] of NOT_STRINGS) {
        const calls = {
          get: () => db.get(key),
          set: () => db.set(key, T(2)),
          subscribe: () => db.subscribe(key, () => {}),
          configureRecord: () => db.configureRecord(key, { schemaType: 'temperature' }),
        };
        for (const [name, f] of Object.entries(calls)) {
          const e = throwsCode(f, 'INVALID_KEY', `${name}(${shown})`);
          assert(e.message.includes(`must be a string, got ${shown}`), `${name}(${shown}): message names it: ${e.message}`);
        }
      }
      eq(db.get('t').celsius, 1, 'the module still works, the value unchanged');
      deepEq(Object.keys(db.stats().records), ['t'], 'no record was configured');
    }));

  test('validate(): a schemaType that is not a string → ok false, INVALID_KEY (not a raw TypeError)', () => {
    for (const [name, shown] of NOT_STRINGS) {
      const r = validate(name, '{}');
      eq(r.ok, false, `validate(${shown}) ok`);
      assert(r.error instanceof AimDbError, `validate(${shown}): an AimDbError: ${show(r.error)}`);
      eq(r.error.code, 'INVALID_KEY', `validate(${shown}) code`);
      assert(r.error.message.includes(shown), `validate(${shown}): message names it: ${r.error.message}`);
    }
    eq(validate('temperature', T(1)).ok, true, 'still usable');
  });

  test("keys with a lone surrogate → INVALID_KEY ('x\\uD800' and 'x\\uDC00' are not one record)", () =>
    withDb(undefined, (db) => {
      for (const key of ['x\uD800', 'x\uDC00', '\uDC00\uD800', 'a\uD83Db']) {
        throwsCode(() => db.configureRecord(key, { schemaType: 'temperature' }), 'INVALID_KEY', `configureRecord(${show(key)})`);
        throwsCode(() => db.get(key), 'INVALID_KEY', `get(${show(key)})`);
        throwsCode(() => db.set(key, T(1)), 'INVALID_KEY', `set(${show(key)})`);
      }
      deepEq(Object.keys(db.stats().records), [], 'nothing configured');
      throwsCode(() => db.get('x\uFFFD'), 'UNKNOWN_KEY', "what UTF-8 would have made of them: 'x\\uFFFD'");
      // Well-formed pairs are fine.
      const emoji = 'sensors.\uD83C\uDF21.vienna';
      db.configureRecord(emoji, { schemaType: 'temperature' });
      db.set(emoji, T(3));
      eq(db.get(emoji).celsius, 3, 'a key with a surrogate pair');
      deepEq(Object.keys(db.stats().records), [emoji], 'stats key');
      const r = validate('temper\uD800ature', {});
      eq(r.ok, false, 'a schemaType with a lone surrogate');
      eq(r.error.code, 'INVALID_KEY', 'its code');
    }));

  test('keys longer than 1024 bytes of UTF-8 → INVALID_KEY; the message quotes an excerpt', () =>
    withDb(undefined, (db) => {
      db.configureRecord('k'.repeat(1024), { schemaType: 'temperature' });
      db.configureRecord('é'.repeat(512), { schemaType: 'temperature' }); // 1024 bytes
      db.set('é'.repeat(512), T(1));
      eq(db.get('é'.repeat(512)).celsius, 1, '1024 bytes work');
      for (const key of ['k'.repeat(1025), 'é'.repeat(513), '€'.repeat(342), 'x'.repeat(1 << 20), 'x'.repeat(42 << 20)]) {
        const what = `${key.length} chars`;
        const e = throwsCode(() => db.configureRecord(key, { schemaType: 'temperature' }), 'INVALID_KEY', `configureRecord(${what})`);
        assert(e.message.includes('longer than 1024 bytes of UTF-8'), `${what}: ${e.message.slice(0, 300)}`);
        assert(e.message.length < 300, `${what}: message is short: ${e.message.length} chars`);
        assert(e.message.includes('…'), `${what}: the key is cut: ${e.message}`);
        assert(e.key.length <= 201 && key.startsWith(e.key.slice(0, -1)), `${what}: e.key is an excerpt (${e.key.length} chars)`);
        throwsCode(() => db.get(key), 'INVALID_KEY', `get(${what})`);
        throwsCode(() => db.set(key, T(1)), 'INVALID_KEY', `set(${what})`);
      }
      eq(Object.keys(db.stats().records).length, 2, 'only the two keys within the limit were configured');
      const r = validate('s'.repeat(2000), {});
      eq(r.error.code, 'INVALID_KEY', 'a schemaType over the limit');
    }));

  test('options JSON cannot carry → INVALID_OPTIONS (configureRecord, new WasmDb, setTicking, WsBridge.connect), not a raw TypeError', () =>
    withDb(undefined, (db) => {
      const cyclic = { schemaType: 'temperature' };
      cyclic.self = cyclic;
      const bad = {
        cyclic: [cyclic, 'not JSON-serializable'],
        bigint: [{ schemaType: 'temperature', budgetMs: 4n }, 'BigInt'],
        'a getter that throws an Error': [{ get schemaType() { throw new Error('getter 9b1'); } }, 'getter 9b1'],
        'a getter that throws null': [{ get schemaType() { throw null; } }, 'null was thrown'],
        'a toJSON that throws undefined': [{ toJSON() { throw undefined; } }, 'undefined was thrown'],
        'a thrown error whose message getter throws': [
          { get tick() { const e = new Error('x'); Object.defineProperty(e, 'message', { get() { throw null; } }); throw e; } },
          'was thrown',
        ],
        'NaN': [{ schemaType: 'temperature', budgetMs: NaN }, '`budgetMs` is not a finite number (NaN)'],
        'Infinity, nested': [{ schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: Infinity } }, '`buffer.capacity` is not a finite number (Infinity)'],
      };
      for (const [what, [options, says]] of Object.entries(bad)) {
        for (const [name, f] of Object.entries({
          configureRecord: () => db.configureRecord('r', options),
          'new WasmDb': () => new WasmDb(options),
          setTicking: () => db.setTicking(options),
          'WsBridge.connect': () => WsBridge.connect(db, 'ws://127.0.0.1:9/ws', options).free(),
        })) {
          const e = throwsCode(f, 'INVALID_OPTIONS', `${name}: ${what}`);
          assert(e.message.includes(says), `${name}: ${what}: message says ${show(says)}: ${e.message}`);
        }
      }
      db.configureRecord('r', { schemaType: 'temperature' });
      db.setTicking({ budgetMs: 4 });
      eq(db.stats().executor.lastTick.budgetMs >= 0, true, 'still usable');
    }));

  test('set / validate: what JSON cannot carry → CONTRACT_VIOLATION naming the field (NaN, Infinity, throwing getters)', () =>
    withDb(undefined, (db) => {
      db.configureRecord('t', { schemaType: 'temperature' });
      db.configureRecord('g', { schemaType: 'gps_location' });
      const cases = [
        ['t', { schema_version: 2, celsius: NaN, timestamp: 1 }, 'celsius', 'not a finite number (NaN)'],
        ['t', { schema_version: 2, celsius: -Infinity, timestamp: 1 }, 'celsius', 'not a finite number (-Infinity)'],
        // An optional field: NaN must not turn into "no altitude".
        ['g', { latitude: 1, longitude: 2, altitude: Infinity, timestamp: 1 }, 'altitude', 'not a finite number (Infinity)'],
        ['t', { schema_version: 2, celsius: 1, timestamp: 1, extra: [1, { deep: NaN }] }, 'extra[1].deep', 'not a finite number (NaN)'],
        ['t', NaN, '', 'not a finite number (NaN)'],
        ['t', { schema_version: 2, get celsius() { throw null; }, timestamp: 1 }, '', 'null was thrown'],
        ['t', { schema_version: 2, get celsius() { throw { get name() { throw null; } }; }, timestamp: 1 }, '', 'an object was thrown'],
      ];
      for (const [key, value, path, says] of cases) {
        const e = throwsCode(() => db.set(key, value), 'CONTRACT_VIOLATION', `set ${path || says}`);
        eq(e.key, key, `${path}: key`);
        eq(e.path, path, `${says}: path`);
        assert(e.message.includes(says), `${path}: message says ${show(says)}: ${e.message}`);
        const r = validate(key === 't' ? 'temperature' : 'gps_location', value);
        eq(r.ok, false, `validate ${path || says}: ok`);
        eq(r.error.code, 'CONTRACT_VIOLATION', `validate ${path || says}: code`);
        eq(r.error.path, path, `validate ${says}: path`);
      }
      eq(db.get('t'), null, 'nothing was produced');
      eq(db.get('g'), null, 'nothing was produced (gps)');
      // A value with "null" in its text but nothing non-finite is fine.
      db.set('g', { latitude: 1, longitude: 2, altitude: null, timestamp: 1 });
      eq(db.get('g').latitude, 1, 'explicit null altitude');
    }));

  test('error texts quote input in excerpts (≤ 200 chars + …), also for megabytes of input', () =>
    withDb(undefined, (db) => {
      const huge = 'z'.repeat(4 << 20);
      const short = (e, what) => {
        assert(e.message.length < 1000, `${what}: message is ${e.message.length} chars: ${e.message.slice(0, 300)}`);
        assert(e.message.includes('z…') || e.message.includes('z"…') || e.message.includes('z…"'), `${what}: cut with an ellipsis: ${e.message.slice(0, 300)}`);
        for (const f of ['path', 'serdeMessage', 'schemaType', 'key', 'existing', 'requested']) {
          if (typeof e[f] === 'string') assert(e[f].length < 1000, `${what}: e.${f} is ${e[f].length} chars`);
        }
        return e;
      };
      db.configureRecord('t', { schemaType: 'temperature' });
      short(throwsCode(() => db.set('t', { schema_version: 2, celsius: huge, timestamp: 1 }), 'CONTRACT_VIOLATION', 'a long string value'), 'string value');
      const f = short(throwsCode(() => db.set('t', { ...T(1), [huge]: 1 }), 'CONTRACT_VIOLATION', 'a long field name'), 'field name');
      assert(f.path.length <= 201, `path is an excerpt: ${f.path.length}`);
      short(throwsCode(() => db.set('t', `"${huge}"`), 'CONTRACT_VIOLATION', 'a long JSON string'), 'JSON string');
      const u = short(throwsCode(() => db.configureRecord('p', { schemaType: huge }), 'UNKNOWN_SCHEMA', 'a long schemaType'), 'schemaType');
      assert(u.schemaType.length <= 201, `e.schemaType is an excerpt: ${u.schemaType.length}`);
      short(throwsCode(() => db.configureRecord('p', { schemaType: 'temperature', link: huge }), 'INVALID_OPTIONS', 'a long link'), 'link');
      short(throwsCode(() => db.configureRecord('p', { schemaType: 'temperature', buffer: huge }), 'INVALID_BUFFER', 'a long buffer'), 'buffer');
      short(throwsCode(() => db.configureRecord('p', { schemaType: 'temperature', [huge]: 1 }), 'INVALID_OPTIONS', 'a long option name'), 'option name');
      short(throwsCode(() => db.setTicking({ tick: huge }), 'INVALID_OPTIONS', 'a long tick'), 'tick');
      short(throwsCode(() => new WasmDb({ logLevel: huge }), 'INVALID_OPTIONS', 'a long logLevel'), 'logLevel');
      const conflict = short(
        throwsCode(() => db.configureRecord('t', { schemaType: 'temperature', topic: huge }), 'SCHEMA_CONFLICT', 'a long topic'),
        'topic',
      );
      eq(conflict.key, 't', 'conflict key');
      const k = 'z'.repeat(1000);
      const e = throwsCode(() => db.get(k), 'UNKNOWN_KEY', 'a 1000-char unknown key');
      assert(e.message.length < 300 && e.message.includes('z…'), `the key is cut in the message: ${e.message}`);
      eq(e.key, k, 'e.key is the whole key (within the limit)');
      // The buffer type says what was given.
      const b = throwsCode(() => db.configureRecord('p', { schemaType: 'temperature', buffer: { type: 5 } }), 'INVALID_BUFFER', '{type: 5}');
      assert(b.message.includes('got 5'), `says what was given: ${b.message}`);
    }));

  test('subscribe: a callback throwing a value whose getters throw → reported, never rethrown; the handle works', async () =>
    withDb(undefined, async (db) => {
      db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } });
      db.set('r', T(1)); // a current value: delivered inside subscribe()
      const hostile = {
        get name() {
          throw null;
        },
        get message() {
          throw null;
        },
      };
      const logged = [];
      const consoleError = console.error;
      console.error = (...args) => logged.push(args);
      try {
        let calls = 0;
        const throwing = () => {
          calls++;
          throw hostile;
        };
        const u1 = doesNotThrow(() => db.subscribe('r', throwing), 'subscribe, no onError');
        eq(typeof u1, 'function', 'a handle');
        eq(calls, 1, 'the current value was delivered');
        eq(logged.length, 1, 'reported once on the console');
        // onError itself throwing a hostile value.
        let seen = 0;
        const u2 = doesNotThrow(
          () =>
            db.subscribe('r', throwing, {
              onError: (e) => {
                seen++;
                eq(e, hostile, 'onError gets what was thrown');
                throw hostile;
              },
            }),
          'subscribe, onError throws',
        );
        eq(seen, 1, 'onError called');
        db.set('r', T(2));
        await waitFrames(() => calls >= 4, 'both subscribers got the next value');
        eq(seen, 2, 'onError called again');
        eq(db.stats().records.r.subscribers, 2, 'both subscriptions live');
        u1();
        u2();
        eq(db.stats().records.r.subscribers, 0, 'both handles unsubscribe');
        db.set('r', T(3));
        await frames(2);
        eq(calls, 4, 'no calls after unsubscribe');
        assert(logged.length >= 1 && logged.length <= 2, `logged once per kind: ${logged.length}`);
      } finally {
        console.error = consoleError;
      }
      // subscribe options whose getters throw.
      const e = throwsCode(
        () => db.subscribe('r', () => {}, { get batch() { throw null; } }),
        'INVALID_OPTIONS',
        'subscribe options with a throwing getter',
      );
      assert(e.message.includes('null was thrown'), e.message);
      eq(db.stats().records.r.subscribers, 0, 'no subscription was left behind');
    }));

  test('configureRecord ×20,000 (a keyed index): every key found, stats in configuration order', (t) =>
    withDb(undefined, (db) => {
      const n = 20_000;
      const keys = range(0, n).map((i) => `sensors.s${(i * 7919) % n}.t`);
      const t0 = performance.now();
      for (const k of keys) db.configureRecord(k, { schemaType: 'temperature' });
      const t1 = performance.now();
      for (const k of keys) db.configureRecord(k, { schemaType: 'temperature' }); // no-ops: looked up
      const t2 = performance.now();
      for (let i = 0; i < n; i += 97) db.set(keys[i], T(i));
      for (let i = 0; i < n; i += 97) eq(db.get(keys[i]).celsius, i, `get ${keys[i]}`);
      const t3 = performance.now();
      deepEq(Object.keys(db.stats().records), keys, 'stats list the records in configuration order');
      t.note(`configure ${(t1 - t0).toFixed(0)} ms, again ${(t2 - t1).toFixed(0)} ms, set+get ${(t3 - t2).toFixed(0)} ms`);
    }));

  // ---- several databases

  test('two WasmDb instances are independent', () =>
    withDb(undefined, (a) =>
      withDb(undefined, (b) => {
        a.configureRecord('t', { schemaType: 'temperature' });
        b.configureRecord('t', { schemaType: 'humidity' });
        a.set('t', T(1));
        eq(b.get('t'), null, 'b unaffected');
        b.set('t', { percent: 2, timestamp: 1 });
        eq(a.get('t').celsius, 1, 'a unaffected');
      })));

  // ---- free

  test('free(): every method throws USE_AFTER_FREE; twice is harmless; subscriptions stop', async () => {
    const db = new WasmDb();
    db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
    db.configureRecord('t', { schemaType: 'temperature' });
    const c = collector();
    const ct = collector();
    const u = db.subscribe('r', c);
    db.subscribe('t', ct);
    for (let i = 0; i < 3; i++) db.set('r', T(i)); // queued, not yet delivered
    db.set('t', T(1));
    db.free();
    await frames(3);
    eq(c.values.length, 0, 'ring callback not called after free');
    eq(ct.values.length, 0, 'SingleLatest callback not called after free');
    const calls = {
      configureRecord: () => db.configureRecord('x', { schemaType: 'temperature' }),
      set: () => db.set('r', T(1)),
      get: () => db.get('r'),
      subscribe: () => db.subscribe('r', () => {}),
      setTicking: () => db.setTicking({ tick: 'microtask' }),
      stats: () => db.stats(),
    };
    for (const [name, f] of Object.entries(calls)) throwsCode(f, 'USE_AFTER_FREE', name);
    doesNotThrow(() => db.free(), 'free twice');
    doesNotThrow(u, 'an unsubscribe from before free');
    throwsCode(() => db.get('t'), 'USE_AFTER_FREE', 'get after the second free');
  });

  for (const tick of ['animationFrame', 'microtask', 'macrotask', 'idle']) {
    // subscribe() spawns a task, which asks the host for a tick; set() wakes a reader,
    // which does too. free() in the same turn leaves that host callback pending.
    const name = `free() with a host tick pending (tick '${tick}'): no callback and no uncaught error afterwards`;
    test(name, async () => {
      const uncaughtHere = () => window.__uncaught.filter((u) => u.during === name);
      const problems = [];
      for (const variant of ['subscribe + set + free', 'subscribe + free', 'set (no subscriber) + free']) {
        const seen = uncaughtHere().length;
        const db = new WasmDb({ tick });
        db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
        let calls = 0;
        if (variant.startsWith('subscribe')) db.subscribe('r', () => calls++);
        if (variant.includes('set')) db.set('r', T(1));
        db.free();
        // The host callbacks: a microtask, a MessageChannel message, a frame, an idle
        // callback (its timeout is 100 ms, so wait for a timer-driven macrotask too).
        await Promise.resolve();
        await frames(2);
        await new Promise((r) => setTimeout(r, 0));
        const errs = uncaughtHere().slice(seen);
        if (calls !== 0) problems.push(`${variant}: ${calls} callback(s) after free`);
        if (errs.length) problems.push(`${variant}: ${errs.length} uncaught error(s) after free(): ${errs.map((u) => u.error.split('\n')[0]).join(' | ')}`);
      }
      assert(problems.length === 0, problems.join('; '));
    });
  }

  test('free() from inside a subscription callback', async () => {
    const db = new WasmDb();
    db.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
    const errors = [];
    let calls = 0;
    const first = deferred();
    db.subscribe(
      'r',
      () => {
        calls++;
        try {
          db.free();
        } catch (e) {
          errors.push(e);
        }
        first.resolve();
      },
      { onError: (e) => errors.push(e) },
    );
    for (let i = 0; i < 5; i++) db.set('r', T(i));
    await first.promise;
    await frames(3);
    eq(errors.length, 0, `no errors: ${errors.map(describe).join(' | ')}`);
    eq(calls, 1, 'no calls after free');
    throwsCode(() => db.stats(), 'USE_AFTER_FREE', 'stats after free');
    await withDb(undefined, (d) => {
      d.configureRecord('t', { schemaType: 'temperature' });
      d.set('t', T(1));
      eq(d.get('t').celsius, 1, 'the module still works');
    });
  });
}

// ---------------------------------------------------------------- panic suite
// First what must run before init(), last what may poison the module instance.

function panicSuite() {
  test('before init(): NOT_INITIALIZED', () => {
    throwsCode(() => new WasmDb(), 'NOT_INITIALIZED', 'new WasmDb()');
    throwsCode(() => validate('temperature', T(1)), 'NOT_INITIALIZED', 'validate()');
    throwsCode(() => knownSchemas(), 'NOT_INITIALIZED', 'knownSchemas()');
  });

  test('init() twice is harmless', async () => {
    await Promise.all([init(), init()]);
    await init();
    eq(validate('temperature', T(1)).ok, true, 'usable');
  });

  // A db in use when the panic happens (used again after it).
  let before = null;
  let beforeCalls = 0;
  test('before the panic: a WasmDb with a record and a subscriber', async () => {
    await init();
    before = new WasmDb();
    before.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } });
    const first = deferred();
    before.subscribe('r', () => {
      beforeCalls++;
      first.resolve();
    });
    before.set('r', T(1));
    await first.promise;
    eq(beforeCalls, 1, 'delivered');
  });

  test('a Rust panic surfaces readably: RuntimeError, then takePanic() returns the message', async (t) => {
    await init();
    const raw = await import('/pkg/aimdb_wasm_bindings.js');
    eq(typeof raw.__panicForTest, 'function', '__panicForTest is exported');
    eq(typeof raw.takePanic, 'function', 'takePanic is exported');
    eq(raw.takePanic() ?? null, null, 'no panic recorded before');
    const message = 'deliberate test panic 7f3a';
    before.set('r', T(2)); // delivered at the next tick: after the panic, so never
    let err = null;
    try {
      raw.__panicForTest(message);
    } catch (e) {
      err = e;
    }
    assert(err !== null, '__panicForTest threw');
    assert(err instanceof WebAssembly.RuntimeError, `a WebAssembly.RuntimeError: ${show(err)}`);
    const panic = raw.takePanic();
    t.note(`RuntimeError: ${err.message}; takePanic(): ${show(panic)}`);
    assert(typeof panic === 'string' && panic.includes(message), `takePanic() contains the message: ${show(panic)}`);
    eq(raw.takePanic() ?? null, null, 'taken: the next takePanic() is empty');
  });

  test('after a panic the module is poisoned: every call throws PANIC with the original message', async () => {
    const message = 'deliberate test panic 7f3a';
    const calls = {
      'new WasmDb': () => new WasmDb(),
      validate: () => validate('temperature', T(1)),
      'validate (a bad value)': () => validate('temperature', { celsius: 'hot' }),
      knownSchemas: () => knownSchemas(),
      get: () => before.get('r'),
      set: () => before.set('r', T(2)),
      configureRecord: () => before.configureRecord('s', { schemaType: 'temperature' }),
      subscribe: () => before.subscribe('r', () => {}),
      setTicking: () => before.setTicking({ tick: 'microtask' }),
      stats: () => before.stats(),
    };
    for (const [name, f] of Object.entries(calls)) {
      for (const round of [1, 2]) {
        const e = throwsCode(f, 'PANIC', `${name} (round ${round})`);
        assert(e.message.includes(message), `${name}: the original message: ${e.message}`);
      }
    }
    await frames(2);
    eq(beforeCalls, 1, 'no subscription callback after the panic');
    doesNotThrow(() => before.free(), 'free() after the panic only detaches');
    doesNotThrow(() => before.free(), 'and again');
    throwsCode(() => before.get('r'), 'PANIC', 'get after free');
  });
}

// ---------------------------------------------------------------- dataflow (issue 13)

// db.transform / db.tap on a `manual` db: every tick by hand, so the values are exact.
function dataflowTests() {
  const H = (percent, timestamp = 1) => ({ percent, timestamp });
  const tickN = (db, n = 3) => { for (let i = 0; i < n; i++) db.tick(); };

  test('transform: celsius -> fahrenheit, every value of a ring, exact; undefined skips', () =>
    withDb({ tick: 'manual' }, (db) => {
      db.configureRecord('in.c', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      const calls = [];
      const stop = db.transform('out.f', { from: 'in.c', schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } }, (t) => {
        calls.push(t.celsius);
        assert(Object.isFrozen(t), 'the input value is frozen');
        return t.celsius === 0 ? undefined : { celsius: (t.celsius * 9) / 5 + 32, timestamp: t.timestamp };
      });
      const got = collector((v) => [v.celsius, v.timestamp]);
      db.subscribe('out.f', got);
      for (const [c, ts] of [[20, 1], [0, 2], [37.5, 3], [-40, 4], [100, 5]]) db.set('in.c', T(c, ts));
      tickN(db);
      deepEq(calls, [20, 0, 37.5, -40, 100], 'fn got every input value in order');
      deepEq(got.values, [[68, 1], [99.5, 3], [-40, 4], [212, 5]], 'fahrenheit values, the skipped one missing');
      eq(db.get('out.f').celsius, 212, 'get() of the derived record');
      eq(typeof stop, 'function', 'returns its stop function');
    }));

  test('transform (join): temperature x humidity, the latest of each input on every value', () =>
    withDb({ tick: 'manual' }, (db) => {
      db.configureRecord('j.t', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      db.configureRecord('j.h', { schemaType: 'humidity', buffer: { type: 'SpmcRing', capacity: 16 } });
      const got = collector((v) => v.target_celsius);
      db.transform('j.out', { from: ['j.t', 'j.h'], schemaType: 'setpoint', buffer: { type: 'SpmcRing', capacity: 16 } },
        ([t, h]) => ({ target_celsius: t.celsius + h.percent / 10, timestamp: Math.max(t.timestamp, h.timestamp) }));
      db.subscribe('j.out', got);
      db.set('j.t', T(20, 1));
      tickN(db);
      deepEq(got.values, [], 'no humidity yet: nothing joined');
      db.set('j.h', H(50, 2));
      tickN(db);
      db.set('j.t', T(21, 3));
      tickN(db);
      db.set('j.h', H(40, 4));
      tickN(db);
      deepEq(got.values, [25, 26, 25], 'latest temperature + latest humidity / 10, per input value');
      eq(db.get('j.out').timestamp, 4, 'timestamp of the last join');
    }));

  test('transform (join): seeded with the inputs\' current values', () =>
    withDb({ tick: 'manual' }, (db) => {
      db.configureRecord('s.t', { schemaType: 'temperature' });
      db.configureRecord('s.h', { schemaType: 'humidity' });
      db.set('s.t', T(10, 1));
      db.set('s.h', H(20, 1));
      db.transform('s.out', { from: ['s.t', 's.h'], schemaType: 'setpoint' }, ([t, h]) => ({ target_celsius: t.celsius + h.percent, timestamp: 2 }));
      db.set('s.h', H(30, 2));
      tickN(db);
      eq(db.get('s.out')?.target_celsius, 40, 'the current temperature joined with the new humidity');
    }));

  test('transform: a contract-violating output is reported with its path and skipped; a throwing fn continues', () =>
    withDb({ tick: 'manual' }, (db) => {
      db.configureRecord('v.in', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      const errors = [];
      db.transform('v.out', { from: 'v.in', schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 }, onError: (e) => errors.push(e) }, (t) => {
        if (t.celsius === 1) return { celsius: 'hot', timestamp: 1 };
        if (t.celsius === 2) throw new Error('boom 2');
        return { celsius: t.celsius * 2, timestamp: t.timestamp };
      });
      const got = collector((v) => v.celsius);
      db.subscribe('v.out', got);
      for (const c of [5, 1, 2, 6]) db.set('v.in', T(c));
      tickN(db);
      deepEq(got.values, [10, 12], 'the values before and after the bad ones');
      eq(errors.length, 2, 'two errors reported');
      assert(errors[0] instanceof AimDbError, `a violation is an AimDbError: ${show(errors[0])}`);
      eq(errors[0].code, 'CONTRACT_VIOLATION', 'code');
      eq(errors[0].key, 'v.out', 'key: the output record');
      eq(errors[0].path, 'celsius', 'the field path');
      eq(errors[1].message, 'boom 2', 'what fn threw');
      eq(db.stats().records['v.out'].produced, 2, 'nothing bad was produced');
    }));

  test('transform: the stop function (or .dispose) ends it, also from inside fn; bad arguments are INVALID_OPTIONS / UNKNOWN_KEY', () =>
    withDb({ tick: 'manual' }, (db) => {
      db.configureRecord('d.in', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      let calls = 0;
      const stop = db.transform('d.out', { from: 'd.in', schemaType: 'temperature' }, (t) => {
        calls++;
        if (t.celsius === 3) stop.dispose();
        return t;
      });
      db.setMany('d.in', [T(1), T(2), T(3), T(4), T(5)]);
      tickN(db);
      eq(calls, 3, 'nothing after dispose() from inside fn');
      eq(db.get('d.out').celsius, 3, 'the last value before it stopped');
      stop();
      db.set('d.in', T(9));
      tickN(db);
      eq(calls, 3, 'stopping twice is harmless; still stopped');
      throwsCode(() => db.transform('d.x', { from: 'nope', schemaType: 'temperature' }, (t) => t), 'UNKNOWN_KEY', 'unknown input');
      throwsCode(() => db.transform('d.x', { from: [], schemaType: 'temperature' }, (t) => t), 'INVALID_OPTIONS', 'no inputs');
      throwsCode(() => db.transform('d.x', { from: 'd.in' }, 'nope'), 'INVALID_OPTIONS', 'fn not a function');
      throwsCode(() => db.transform('d.x', { from: 'd.in' }, (t) => t), 'UNKNOWN_KEY', 'no schemaType and no such record');
    }));

  test('simulate: 10 Hz under manual -> exactly 10 values per virtual second, valid, deterministic; stop ends it', () =>
    withDb({ tick: 'manual' }, (db) => {
      const run = (seed) => {
        const key = `sim.${seed}.${Math.random()}`;
        db.configureRecord(key, { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
        const got = collector((v) => [v.celsius, v.timestamp]);
        db.subscribe(key, got);
        const stop = db.simulate(key, { hz: 10, seed, startTimestamp: 5000 });
        const counts = [];
        for (const ms of [1000, 1000, 50, 50, 400]) {
          db.advanceTime(ms);
          db.tick();
          counts.push(got.values.length);
        }
        stop();
        db.advanceTime(1000);
        db.tick();
        counts.push(got.values.length);
        return { counts, values: got.values };
      };
      const a = run(42);
      deepEq(a.counts, [10, 20, 20, 21, 25, 25], 'values after each advance (none after stop)');
      deepEq(a.values.map((v) => v[1]), Array.from({ length: 25 }, (_, i) => 5000 + (i + 1) * 100), 'timestamps');
      for (const [c] of a.values) assert(typeof c === 'number' && c >= -20 && c <= 45, `a plausible celsius: ${c}`);
      deepEq(run(42).values, a.values, 'the same seed, the same values');
      db.configureRecord('sim.h', { schemaType: 'humidity' });
      throwsCode(() => db.simulate('sim.h', { hz: 0 }), 'INVALID_OPTIONS', 'hz 0');
      throwsCode(() => db.simulate('sim.h', { hz: '10' }), 'INVALID_OPTIONS', 'hz a string');
      throwsCode(() => db.simulate('sim.h', { hz: 10, seed: -1 }), 'INVALID_OPTIONS', 'a negative seed');
      throwsCode(() => db.simulate('nope', { hz: 10 }), 'UNKNOWN_KEY', 'unknown key');
    }));

  test('tap: every value on the engine (not a subscription), throws reported, stop ends it', () =>
    withDb({ tick: 'manual' }, (db) => {
      db.configureRecord('t.in', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
      db.set('t.in', T(0));
      const seen = [];
      const errors = [];
      const stop = db.tap('t.in', (t) => { seen.push(t.celsius); if (t.celsius === 2) throw new Error('tap 2'); }, { onError: (e) => errors.push(e.message) });
      db.setMany('t.in', [T(1), T(2), T(3)]);
      tickN(db);
      deepEq(seen, [1, 2, 3], 'the values set after it started, in order (not the current one)');
      deepEq(errors, ['tap 2'], 'the throw reported');
      eq(db.stats().records['t.in'].subscribers, 0, 'not a subscription');
      stop();
      db.set('t.in', T(4));
      tickN(db);
      deepEq(seen, [1, 2, 3], 'nothing after stop');
    }));
}

// ---------------------------------------------------------------- run

if (suite === 'panic') {
  panicSuite();
  await runAll();
} else {
  await init();
  mainSuite();
  dataflowTests();
  await runAll();
}
