// In-page tests of Worker mode (WasmDb.inWorker): the real engine in a dedicated Worker
// started by the package from pkg/ as served, the page's object with the WasmDb API, and
// WsBridge in the worker against the REAL AimDB server (tests/server; the runner passes
// ?port= and exposes window.__srv as for bridge.mjs). Results: window.__results /
// window.__finished. Waits are on events (db.sync(), callbacks, statuses); `until` polls a
// condition only where the thing awaited is the server's.
import init, { WasmDb, WsBridge, AimDbError } from '@aimdb/wasm';
import { test, assert, AssertionError, sleep, until, runAll } from './page-harness.mjs';

const params = new URLSearchParams(location.search);
const URL_MAIN = `ws://127.0.0.1:${params.get('port')}/ws`;
function throws(f, code, what) {
  try {
    f();
  } catch (e) {
    assert(e instanceof AimDbError && e.code === code, `${what}: expected ${code}, got ${e?.code} ${e}`);
    return e;
  }
  throw new AssertionError(`${what}: expected ${code}, nothing thrown`);
}
const srv = (cmd, which = 'main') => window.__srv(cmd, which);
const frame = () => new Promise((r) => requestAnimationFrame(r));

// ---------------------------------------------------------------- the db

test('seed snippet on a Worker-mode db: configure, set, get at once, subscribe, unsubscribe, free', async () => {
  const db = await WasmDb.inWorker({ tick: 'animationFrame', budgetMs: 4 });
  assert(db.inWorker === true, 'inWorker');
  db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature', buffer: 'SingleLatest' });
  db.configureRecord('sensors.temperature.berlin', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
  db.configureRecord('sensors.humidity.vienna', { schemaType: 'humidity', buffer: 'SingleLatest' });
  assert(db.get('sensors.temperature.vienna') === null, 'null before the first value');
  db.set('sensors.temperature.vienna', { celsius: 22.5, timestamp: Date.now() });
  const temp = db.get('sensors.temperature.vienna'); // synchronous: the page's own write
  assert(temp?.celsius === 22.5 && temp.schema_version === 2 && Object.isFrozen(temp), `get: ${JSON.stringify(temp)}`);
  const seen = [];
  const unsub = db.subscribe('sensors.temperature.vienna', (v) => seen.push(v));
  assert(seen.length === 1 && seen[0] === temp, 'the current value at once, the object get() returns');
  await db.sync();
  assert(db.get('sensors.temperature.vienna') === temp, 'the worker echo keeps the object');
  assert(seen.length === 1, `no second delivery of the same value: ${seen.length}`);
  unsub();
  db.configureRecord('commands.setpoint.room1', { schemaType: 'setpoint', buffer: 'SingleLatest' });
  db.set('commands.setpoint.room1', { target_celsius: 21.0, timestamp: Date.now() });
  await db.sync();
  const st = db.stats();
  await db.sync();
  const st2 = db.stats();
  assert(st2.records['sensors.temperature.vienna'].produced === 1 && st2.records['commands.setpoint.room1'].produced === 1, `stats from the worker: ${JSON.stringify(st2.records)}`);
  assert(st !== st2, 'a new object each call');
  db.free();
  db.free();
  throws(() => db.get('sensors.temperature.vienna'), 'USE_AFTER_FREE', 'get after free');
  throws(() => db.set('sensors.temperature.vienna', { celsius: 1, timestamp: 1 }), 'USE_AFTER_FREE', 'set after free');
  let err;
  await db.sync().catch((e) => (err = e));
  assert(err?.code === 'USE_AFTER_FREE', `sync after free: ${err}`);
});

test('subscribe: ring items in order (batch and single), SingleLatest coalesced to the latest, frozen, get() identity', async () => {
  const db = await WasmDb.inWorker();
  try {
    db.configureRecord('ring', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 256 } });
    db.configureRecord('one', { schemaType: 'temperature' });
    const batches = [];
    const singles = [];
    const latest = [];
    db.subscribe('ring', (vs) => batches.push(vs), { batch: true });
    db.subscribe('ring', (v) => singles.push(v.celsius));
    db.subscribe('one', (v) => latest.push(v));
    for (let i = 0; i < 100; i++) db.set('ring', { celsius: i, timestamp: i });
    for (let i = 0; i < 5; i++) db.set('one', { celsius: i, timestamp: i });
    await db.sync();
    const all = batches.flat().map((v) => v.celsius);
    assert(all.length === 100 && all.every((c, i) => c === i), `ring batch: ${all.length} ${all.slice(0, 5)}`);
    assert(batches.every((b) => Array.isArray(b) && Object.isFrozen(b) && b.every((v) => Object.isFrozen(v))), 'frozen batches and values');
    assert(singles.length === 100 && singles.every((c, i) => c === i), `ring single: ${singles.length}`);
    assert(latest.length === 1 && latest[0].celsius === 4, `SingleLatest: ${latest.map((v) => v.celsius)}`);
    assert(latest[0] === db.get('one'), 'the delivered object is the one get() returns');
    const st = db.stats();
    await db.sync();
    const r = db.stats().records;
    assert(r.ring.produced === 100 && r.ring.lagged === 0 && r.one.produced === 5, `stats ${JSON.stringify(r)}`);
    assert(st.records !== undefined, 'stats');
  } finally {
    db.free();
  }
});

test('contract errors: set / setMany / configureRecord throw the same AimDbError synchronously; nothing produced', async () => {
  const db = await WasmDb.inWorker();
  const main = new WasmDb({ tick: 'manual' });
  try {
    for (const d of [db, main]) d.configureRecord('t', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } });
    const bad = { celsius: 'warm', timestamp: 1 };
    const ew = throws(() => db.set('t', bad), 'CONTRACT_VIOLATION', 'set');
    const em = throws(() => main.set('t', bad), 'CONTRACT_VIOLATION', 'main set');
    for (const f of ['message', 'key', 'schemaType', 'path', 'serdeMessage']) assert(ew[f] === em[f], `${f}: ${ew[f]} vs ${em[f]}`);
    const ms = throws(() => db.setMany('t', [{ celsius: 1, timestamp: 1 }, bad]), 'CONTRACT_VIOLATION', 'setMany');
    assert(ms.path === '[1].celsius', `setMany path ${ms.path}`);
    throws(() => db.set('nope', {}), 'UNKNOWN_KEY', 'unknown key');
    throws(() => db.get(''), 'INVALID_KEY', 'empty key');
    throws(() => db.configureRecord('x', { schemaType: 'nope' }), 'UNKNOWN_SCHEMA', 'unknown schema');
    throws(() => db.configureRecord('t', { schemaType: 'humidity' }), 'SCHEMA_CONFLICT', 'conflict');
    throws(() => db.setTicking({ tick: 'sometimes' }), 'INVALID_OPTIONS', 'setTicking');
    throws(() => db.subscribe('t', 5), 'INVALID_OPTIONS', 'callback');
    throws(() => db.transform('o', { from: 't' }, (x) => x), 'NOT_AVAILABLE', 'transform');
    throws(() => db.tick(), 'NOT_AVAILABLE', 'tick');
    throws(() => db.simulate('t', { hz: 0 }), 'INVALID_OPTIONS', 'simulate hz 0');
    db.setMany('t', [{ celsius: 1, timestamp: 1 }, { celsius: 2, timestamp: 2 }]);
    assert(db.get('t').celsius === 2, 'setMany: the last is the latest at once');
    db.stats();
    await db.sync();
    const r = db.stats().records.t;
    assert(r.produced === 2, `only the two valid values were produced: ${r.produced}`);
    let e;
    await WasmDb.inWorker({ tick: 'often' }).catch((x) => (e = x));
    assert(e instanceof AimDbError && e.code === 'INVALID_OPTIONS', `bad options reject inWorker: ${e}`);
  } finally {
    db.free();
    main.free();
  }
});

test('lag: a ring subscriber that falls behind gets onLag with the exact count; delivered + lagged = produced', async () => {
  const db = await WasmDb.inWorker();
  try {
    db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 16 } });
    const got = [];
    let lagged = 0;
    db.subscribe('r', (vs) => got.push(...vs.map((v) => v.celsius)), { batch: true, onLag: (n) => (lagged += n) });
    db.setMany('r', Array.from({ length: 100 }, (_, i) => ({ celsius: i, timestamp: i + 1 }))); // one turn: 84 past the ring
    await db.sync();
    assert(got.length + lagged === 100 && lagged > 0, `delivered ${got.length} + lagged ${lagged}`);
    assert(got.every((c, i) => i === 0 || c > got[i - 1]) && got[got.length - 1] === 99, `in order, ending with the last: ${got}`);
    const r = db.stats().records.r;
    assert(r.lagged === lagged, `stats().lagged ${r.lagged} = onLag total ${lagged}`);
  } finally {
    db.free();
  }
});

test('unsubscribe is final: nothing after it, even for values already on their way; also from inside the callback', async () => {
  const db = await WasmDb.inWorker();
  try {
    db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
    const a = [];
    const b = [];
    const ua = db.subscribe('r', (v) => a.push(v.celsius));
    db.subscribe('r', (v, stop) => {
      b.push(v.celsius);
      stop();
    });
    for (let i = 0; i < 5; i++) db.set('r', { celsius: i, timestamp: i });
    await db.sync();
    assert(a.length === 5 && b.join() === '0', `before: a=${a} b=${b}`);
    db.set('r', { celsius: 9, timestamp: 9 });
    await db.sync(); // the value is in the worker's batch ...
    ua(); // ... and this one goes in the same turn as the next
    db.set('r', { celsius: 10, timestamp: 10 });
    await db.sync();
    assert(a.join() === '0,1,2,3,4,9' && b.join() === '0', `after: a=${a} b=${b}`);
    ua();
    await db.sync();
    const s = db.stats().records.r;
    assert(s.subscribers === 0, `no subscriber left in the worker: ${s.subscribers}`);
  } finally {
    db.free();
  }
});

test('one batch per animation frame: 4000 sets over ~40 frames reach the page in at most one message per frame', async (t) => {
  let messages = 0;
  const Orig = window.Worker;
  window.Worker = class extends Orig {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', () => messages++);
    }
  };
  let db;
  try {
    db = await WasmDb.inWorker({ tick: 'animationFrame' });
  } finally {
    window.Worker = Orig;
  }
  try {
    db.configureRecord('r', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 1024 } });
    let got = 0;
    let frames = 0;
    db.subscribe('r', (vs) => (got += vs.length), { batch: true });
    messages = 0;
    for (let f = 0; f < 40; f++) {
      for (let i = 0; i < 100; i++) db.set('r', { celsius: i, timestamp: f * 100 + i });
      await frame();
      frames++;
    }
    while (got < 4000 && frames < 400) {
      await frame();
      frames++;
    }
    assert(got === 4000, `delivered ${got}`);
    assert(messages <= frames + 1, `${messages} messages in ${frames} frames`);
    t.note(`${messages} batches in ${frames} frames`);
  } finally {
    db.free();
  }
});

test('a panic in the worker is PANIC: onError gets it, calls throw it, free() still works', async () => {
  const errs = [];
  const db = await WasmDb.inWorker({ onError: (e) => errs.push(e) });
  db.configureRecord('t', { schemaType: 'temperature' });
  const p = db.sync();
  db.__crashForTest('panic', 'boom in the worker');
  let e;
  await p.catch((x) => (e = x));
  assert(e instanceof AimDbError && e.code === 'PANIC' && /boom in the worker/.test(e.message), `sync: ${e}`);
  assert(errs.length === 1 && errs[0] === e, `onError: ${errs}`);
  throws(() => db.get('t'), 'PANIC', 'get after the panic');
  db.free();
  throws(() => db.get('t'), 'USE_AFTER_FREE', 'get after free');
});

test('a Worker that dies (an uncaught error in it) is WORKER_DIED: onError, the bridge status and errors, calls throw', async () => {
  const errs = [];
  const db = await WasmDb.inWorker({ onError: (e) => errs.push(e) });
  db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
  const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/vienna'] });
  const bErrs = [];
  b.onError((x) => bErrs.push(x));
  await new Promise((r) => b.onStatusChange((s) => s === 'connected' && r()));
  const died = new Promise((r) => b.onStatusChange((s) => s === 'disconnected' && r()));
  db.__crashForTest('throw', 'uncaught in the worker');
  await died;
  assert(errs.length === 1 && errs[0].code === 'WORKER_DIED' && /uncaught in the worker/.test(errs[0].message), `onError: ${errs.map(String)}`);
  assert(bErrs.some((x) => x.code === 'WORKER_DIED'), `bridge onError: ${bErrs.map(String)}`);
  throws(() => db.set('sensors.temperature.vienna', { celsius: 1, timestamp: 1 }), 'WORKER_DIED', 'set');
  throws(() => b.write('sensors.temperature.vienna', { celsius: 1, timestamp: 1 }), 'WORKER_DIED', 'write');
  db.free();
});

test('simulate runs in the worker: values reach a page subscriber; the stop function ends it', async () => {
  const db = await WasmDb.inWorker();
  try {
    db.configureRecord('t', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
    const got = [];
    let stop;
    await new Promise((resolve) => {
      db.subscribe('t', (v) => {
        got.push(v);
        if (got.length === 3) resolve();
      });
      stop = db.simulate('t', { hz: 100, seed: 7 });
    });
    stop();
    await db.sync();
    const n = db.stats().records.t.produced;
    assert(got.every((v) => typeof v.celsius === 'number' && Object.isFrozen(v)) && n >= 3, `values ${got.length}, produced ${n}`);
    await new Promise((r) => setTimeout(r, 100)); // 10 periods at 100 Hz
    await db.sync();
    assert(db.stats().records.t.produced === n, 'nothing after stop');
  } finally {
    db.free();
  }
});

// ---------------------------------------------------------------- WsBridge in the worker

test('WsBridge in the worker: live data and late-join snapshots, validated, subscriptions fire; stats; late records', async (t) => {
  const db = await WasmDb.inWorker({ tick: 'animationFrame' });
  try {
    db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
    db.configureRecord('sensors.temperature.berlin', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
    const seen = { vienna: [], berlin: [], humidity: [] };
    db.subscribe('sensors.temperature.vienna', (v) => seen.vienna.push(v));
    db.subscribe('sensors.temperature.berlin', (v) => seen.berlin.push(v));
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/#', 'sensors/humidity/+'] });
    const statuses = [b.status];
    const errors = [];
    b.onStatusChange((s) => statuses.push(s));
    b.onError((e) => errors.push(e));
    throws(() => WsBridge.connect(db, 'http://nope', {}), 'INVALID_URL', 'a bad URL throws at connect');
    throws(() => WsBridge.connect(db, URL_MAIN, { autoReconnect: 5 }), 'INVALID_OPTIONS', 'bad options throw at connect');
    const sync = await b.synced;
    assert(sync.timedOut === false && sync.missing.length === 0, `synced: ${JSON.stringify(sync)}`);
    // A record configured after connect: subscribed with late join.
    db.configureRecord('sensors.humidity.vienna', { schemaType: 'humidity' });
    db.subscribe('sensors.humidity.vienna', (v) => seen.humidity.push(v));
    await until(() => seen.vienna.length >= 2 && seen.berlin.length >= 2 && seen.humidity.length >= 1, 'values in all three records');
    for (const v of [...seen.vienna, ...seen.berlin]) {
      assert(v.schema_version === 2 && typeof v.celsius === 'number' && Object.isFrozen(v), `temperature ${JSON.stringify(v)}`);
    }
    assert(db.get('sensors.temperature.vienna') !== null, 'get() mirrors the worker');
    const s = b.stats();
    assert(s.snapshots >= 1 && s.received >= 4 && s.rejected === 0 && s.connects === 1, `stats ${JSON.stringify(s)}`);
    assert(statuses.join() === 'connecting,connected' && b.status === 'connected', `statuses ${statuses}`);
    assert(errors.length === 0, `errors ${errors.map(String)}`);
    t.note(`snapshots=${s.snapshots} received=${s.received}`);
    b.free();
    throws(() => b.stats(), 'USE_AFTER_FREE', 'stats after free');
  } finally {
    db.free();
  }
});

test('WsBridge in the worker: server killed, writes queued, FIFO after restart; contract errors thrown at write', async (t) => {
  const db = await WasmDb.inWorker({ tick: 'animationFrame' });
  try {
    db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
    db.configureRecord('cmd', { schemaType: 'temperature', topic: 'commands/setpoint/room1', link: 'out' });
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/vienna'], autoReconnect: { initialMs: 100, maxMs: 400 } });
    const statuses = [];
    const errors = [];
    const waitStatus = (want) => new Promise((r) => {
      const off = b.onStatusChange((s) => s === want && (off(), r()));
    });
    b.onStatusChange((s) => statuses.push(s));
    b.onError((e) => errors.push(e));
    await waitStatus('connected');
    const lost = waitStatus('reconnecting');
    await srv('stop');
    await lost;
    const ts = Date.now();
    for (let i = 0; i < 5; i++) b.write('cmd', { schema_version: 2, celsius: 10 + i, timestamp: ts + i });
    assert(db.get('cmd').celsius === 14, 'the written value is local at once');
    throws(() => b.write('cmd', { celsius: 'x', timestamp: 1 }), 'CONTRACT_VIOLATION', 'write of a bad value');
    throws(() => b.write('sensors.temperature.vienna', { celsius: 1, timestamp: 1 }), 'NOT_OUTBOUND', 'write to an in record');
    await db.sync();
    await until(() => b.stats().queued === 5, 'five writes queued in the worker');
    const back = waitStatus('connected');
    await srv('restart');
    await back;
    const mine = async () => (await srv('readWrites')).filter((x) => x.payload.timestamp >= ts);
    const writes = await until(async () => ((await mine()).length >= 5 ? mine() : null), 'all queued writes at the server');
    assert(JSON.stringify(writes.map((w) => w.payload.celsius)) === '[10,11,12,13,14]', `server order ${JSON.stringify(writes.map((w) => w.payload.celsius))}`);
    await until(() => b.stats().queued === 0, 'the queue empty');
    assert(errors.some((e) => e.code === 'CONNECTION_LOST'), `errors ${errors.map((e) => e.code)}`);
    b.disconnect();
    throws(() => b.write('cmd', { celsius: 1, timestamp: 1 }), 'BRIDGE_DISCONNECTED', 'write after disconnect');
    t.note(`statuses ${statuses.join(' > ')}`);
  } finally {
    db.free();
  }
});

// ---------------------------------------------------------------- run

runAll(init);
