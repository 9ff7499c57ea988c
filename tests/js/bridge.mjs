// In-page tests of WsBridge against the REAL AimDB server (tests/server, started by
// tests/js/run.mjs through tests/js/server.mjs). The page gets the ports in its URL
// (?port=P&tokenPort=Q&token=T&hostilePort=H&deadPort=D) and drives the servers through
// `window.__srv(cmd, which)` ('stop' | 'restart' | 'readWrites'; which = 'main' |
// 'token'), a function the runner exposes. Where a test needs a server that misbehaves
// it uses tests/js/hostile.mjs (port H; behaviour in the URL, its log over HTTP); D is a
// loopback port nothing listens on. Results go to `window.__results`, `window.__finished`
// ends the run.
import init, { WasmDb, WsBridge, AimDbError } from '@aimdb/wasm';
import { test, assert, AssertionError, sleep, until, runAll } from './page-harness.mjs';

const params = new URLSearchParams(location.search);
const PORT = params.get('port');
const TOKEN_PORT = params.get('tokenPort');
const TOKEN = params.get('token');
const URL_MAIN = `ws://127.0.0.1:${PORT}/ws`;
const URL_TOKEN = `ws://127.0.0.1:${TOKEN_PORT}/ws`;
const HOSTILE_PORT = params.get('hostilePort');
const URL_DEAD = `ws://127.0.0.1:${params.get('deadPort')}/ws`;
/** A hostile-server URL: `id` names the test's log, `q` its misbehaviour (see hostile.mjs). */
const hostileUrl = (id, q = {}) => `ws://127.0.0.1:${HOSTILE_PORT}/${id}?${new URLSearchParams(q)}`;
/** The text frames the hostile server read for `id`, per connection. */
const hostileLog = async (id) => (await (await fetch(`http://127.0.0.1:${HOSTILE_PORT}/log/${id}`)).json()).connections;
const writesIn = (frames) => frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'write');
/** A long backoff: after a failed attempt the bridge waits (for a minute) unless told otherwise. */
const SLOW_RETRY = { autoReconnect: { initialMs: 60_000, maxMs: 60_000 } };
/** Captures console.error while `f` runs. */
async function consoleErrorsDuring(f) {
  const errs = [];
  const orig = console.error;
  console.error = (...a) => errs.push(a.map(String).join(' '));
  try {
    await f();
  } finally {
    console.error = orig;
  }
  return errs;
}
const srv = (cmd, which = 'main') => window.__srv(cmd, which);

/** A fresh db (macrotask ticking: works in a background tab too) + cleanup list. */
function setup(records) {
  const db = new WasmDb({ tick: 'macrotask' });
  for (const [key, opts] of Object.entries(records)) db.configureRecord(key, opts);
  const bridges = [];
  const cleanup = () => {
    for (const b of bridges) b.free();
    db.free();
  };
  return { db, bridges, cleanup };
}
function track(b) {
  const statuses = [b.status];
  const errors = [];
  b.onStatusChange((s) => statuses.push(s));
  b.onError((e) => errors.push(e));
  return { statuses, errors };
}

// ---------------------------------------------------------------- tests

test('(1) live data and late-join snapshots land in local records, validated, and fire subscriptions', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.temperature.vienna': { schemaType: 'temperature' },
    'sensors.temperature.berlin': { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } },
    'sensors.humidity.vienna': { schemaType: 'humidity' },
  });
  try {
    const seen = { vienna: [], berlin: [], humidity: [] };
    db.subscribe('sensors.temperature.vienna', (v) => seen.vienna.push(v));
    db.subscribe('sensors.temperature.berlin', (v) => seen.berlin.push(v));
    db.subscribe('sensors.humidity.vienna', (v) => seen.humidity.push(v));
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/#', 'sensors/humidity/+'] });
    bridges.push(b);
    const tr = track(b);
    assert(b.status === 'connecting', `status right after connect: ${b.status}`);
    const sync = await b.synced;
    assert(sync.timedOut === false && sync.missing.length === 0, `synced: ${JSON.stringify(sync)}`);
    await until(() => seen.vienna.length >= 2 && seen.berlin.length >= 2 && seen.humidity.length >= 2, 'values in all three records');
    for (const v of [...seen.vienna, ...seen.berlin]) {
      assert(v.schema_version === 2 && typeof v.celsius === 'number' && typeof v.timestamp === 'number', `temperature ${JSON.stringify(v)}`);
      assert(Object.isFrozen(v), 'delivered value is frozen');
    }
    for (const v of seen.humidity) assert(typeof v.percent === 'number', `humidity ${JSON.stringify(v)}`);
    assert(db.get('sensors.temperature.vienna') !== null, 'get() after delivery');
    const s = b.stats();
    // Exactly the counters BridgeStats declares, each a number (lastError: string | null).
    const names = 'binaryFrames confirmed connects dropped framesReceived framesSent lastError malformed notInbound oversizedFrames queued received reconnects rejected resent sent serverErrors snapshots staleSnapshots unconfirmed unknownTopic writesRejected';
    assert(Object.keys(s).sort().join(' ') === names, `stats keys ${Object.keys(s).sort()}`);
    assert(Object.entries(s).every(([k, v]) => (k === 'lastError' ? v === null : Number.isInteger(v) && v >= 0)), `stats ${JSON.stringify(s)}`);
    assert(s.framesSent >= 2 && s.framesReceived >= s.received && s.connects === 1, `stats in their places: ${JSON.stringify(s)}`);
    assert(s.snapshots >= 1, `late-join snapshots received: ${JSON.stringify(s)}`);
    assert(s.received >= 6 && s.rejected === 0, `stats ${JSON.stringify(s)}`);
    assert(b.status === 'connected' && tr.statuses.join() === 'connecting,connected', `statuses ${tr.statuses}`);
    assert(tr.errors.length === 0, `errors: ${tr.errors.map((e) => e.message)}`);
    t.note(`snapshots=${s.snapshots} received=${s.received} framesReceived=${s.framesReceived}`);
  } finally {
    cleanup();
  }
});

test('(q) query: the server\'s history, validated by the records\' contracts; bad payloads and unmapped topics reported', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.temperature.vienna': { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } },
    'sensors.bad.vienna': { schemaType: 'temperature' },
  });
  try {
    const seen = [];
    db.subscribe('sensors.temperature.vienna', (v) => seen.push(v));
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/vienna'] });
    bridges.push(b);
    let early;
    try {
      await b.query('#');
    } catch (e) {
      early = e;
    }
    assert(early instanceof AimDbError && early.code === 'BRIDGE_DISCONNECTED', `before the link is open: ${early}`);
    await b.synced;
    await until(() => seen.length >= 3, 'three live values');
    const last = seen[seen.length - 1];
    const r = await b.query('sensors/temperature/vienna', { to: last.timestamp });
    assert(Object.isFrozen(r) && r.records.length >= 3 && r.total === r.records.length, `records ${r.records.length} total ${r.total}`);
    for (const x of r.records) {
      assert(x.topic === 'sensors/temperature/vienna' && x.key === 'sensors.temperature.vienna', `mapped: ${JSON.stringify(x)}`);
      assert(x.value.schema_version === 2 && typeof x.value.celsius === 'number' && x.ts === x.value.timestamp && Object.isFrozen(x.value), `validated: ${JSON.stringify(x)}`);
    }
    const newest = r.records[r.records.length - 1].value;
    assert(newest.timestamp === last.timestamp && newest.celsius === last.celsius, `the newest is the last live value: ${JSON.stringify(newest)} vs ${JSON.stringify(last)}`);
    const w = await b.query('sensors/*/vienna', { to: last.timestamp, limit: 1 });
    assert(w.records.length === 1 && w.records[0].key === 'sensors.temperature.vienna', `one valid value: ${JSON.stringify(w.records)}`);
    assert(w.rejected.length === 1 && w.rejected[0].topic === 'sensors/bad/vienna', `one rejected: ${JSON.stringify(w.rejected)}`);
    const e = w.rejected[0].error;
    assert(e instanceof AimDbError && e.code === 'CONTRACT_VIOLATION' && e.path === 'celsius', `the violation: ${e}`);
    assert(w.unknownTopics.join() === 'sensors/humidity/vienna', `unmapped topics: ${w.unknownTopics}`);
    let bad;
    try {
      b.query('x', { limit: -1 });
    } catch (err) {
      bad = err;
    }
    assert(bad instanceof AimDbError && bad.code === 'INVALID_OPTIONS', `limit -1: ${bad}`);
    t.note(`history of vienna: ${r.records.length} values`);
  } finally {
    cleanup();
  }
});

test('(bf) backfill: a ring with backfill: 20 gets the server\'s last 20 values, ts increasing, before any live value', async (t) => {
  // A second bridge waits until the server has a history to give.
  const feed = setup({});
  const KEY = 'sensors.temperature.vienna';
  const { db, bridges, cleanup } = setup({ [KEY]: { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 }, backfill: 20 } });
  try {
    const fb = WsBridge.connect(feed.db, URL_MAIN, { subscribeTopics: [] });
    feed.bridges.push(fb);
    await fb.synced;
    await until(async () => (await fb.query('sensors/temperature/vienna')).total >= 25, 'a history of 25 values');
    const seen = [];
    db.subscribe(KEY, (v) => seen.push(v));
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/vienna'] });
    bridges.push(b);
    const tr = track(b);
    try {
      await until(() => seen.length >= 24, 'history and live values');
    } catch (e) {
      throw new AssertionError(`${e.message}: seen ${seen.length}, stats ${JSON.stringify(b.stats())}, errors ${tr.errors.map((x) => x.message)}`);
    }
    const ts = seen.map((v) => v.timestamp);
    for (let i = 1; i < ts.length; i++) assert(ts[i] > ts[i - 1], `timestamps increase: ${ts}`);
    // The first 20 are the server's newest 20 before the first live value, nothing between.
    const h = await b.query('sensors/temperature/vienna', { to: ts[19], limit: 20 });
    assert(h.records.map((r) => r.value.timestamp).join() === ts.slice(0, 20).join(), `the history first: ${ts.slice(0, 20)} vs ${h.records.map((r) => r.ts)}`);
    const gap = await b.query('sensors/temperature/vienna', { from: ts[19] + 1, to: ts[20] - 1 });
    assert(gap.records.length === 0, `nothing between the history and the first live value: ${gap.records.map((r) => r.ts)}`);
    assert(b.stats().received >= seen.length - 20, `the others came live: ${JSON.stringify(b.stats())}`);
    assert(tr.errors.length === 0, `no errors: ${tr.errors.map((e) => e.message)}`);
    let bad;
    try {
      db.configureRecord('x.latest', { schemaType: 'temperature', backfill: 5 });
    } catch (e) {
      bad = e;
    }
    assert(bad instanceof AimDbError && bad.code === 'INVALID_OPTIONS' && /SpmcRing/.test(bad.message), `backfill without a ring: ${bad}`);
    t.note(`first live ${ts[20]}, history ${ts[0]}..${ts[19]}`);
  } finally {
    cleanup();
    feed.cleanup();
  }
});

test('(ac) autoConfigure: a record for every topic of a known schema, data arrives without configureRecord; the app\'s records win; unknown reported once', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.temperature.vienna': { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 8 } },
  });
  try {
    const b = WsBridge.connect(db, URL_MAIN, { autoConfigure: { buffer: { type: 'SpmcRing', capacity: 16 } } });
    bridges.push(b);
    const tr = track(b);
    const r = await b.configured;
    assert(Object.isFrozen(r), 'frozen');
    assert([...r.configured].sort().join() === 'echo.setpoint.room1,sensors.humidity.vienna,sensors.temperature.berlin', `configured: ${r.configured}`);
    assert(r.existing.join() === 'sensors.temperature.vienna', `existing: ${r.existing}`);
    assert(JSON.stringify(r.unknown) === JSON.stringify([{ topic: 'sensors/bad/vienna', schemaType: null }]), `unknown: ${JSON.stringify(r.unknown)}`);
    await until(() => db.get('sensors.humidity.vienna') !== null && db.get('sensors.temperature.berlin') !== null, 'data in the configured records');
    assert(typeof db.get('sensors.humidity.vienna').percent === 'number', 'a validated humidity');
    const st = db.stats().records;
    assert(st['sensors.temperature.berlin'].schemaType === 'temperature' && /16/.test(st['sensors.temperature.berlin'].buffer), `berlin: ${JSON.stringify(st['sensors.temperature.berlin'])}`);
    assert(/8/.test(st['sensors.temperature.vienna'].buffer), `the app's vienna kept its buffer: ${st['sensors.temperature.vienna'].buffer}`);
    const unknownErrs = tr.errors.filter((e) => e.code === 'UNKNOWN_SCHEMA');
    assert(unknownErrs.length === 1 && /sensors\/bad\/vienna/.test(unknownErrs[0].message), `one UNKNOWN_SCHEMA error naming the topic: ${unknownErrs.map((e) => e.message)}`);
    const plain = WsBridge.connect(db, URL_MAIN);
    bridges.push(plain);
    assert((await plain.configured) === null, 'without autoConfigure: null');
    t.note(`configured ${r.configured.join(', ')}`);
  } finally {
    cleanup();
  }
});

test('(2) a contract-violating payload is rejected, reported via onError, never pushed', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.bad.vienna': { schemaType: 'temperature' },
  });
  try {
    let fired = 0;
    db.subscribe('sensors.bad.vienna', () => fired++);
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/bad/vienna'] });
    bridges.push(b);
    const tr = track(b);
    const e = await until(() => tr.errors.find((x) => x.code === 'CONTRACT_VIOLATION'), 'a CONTRACT_VIOLATION error');
    assert(e instanceof AimDbError, 'error is an AimDbError');
    assert(e.topic === 'sensors/bad/vienna', `topic ${e.topic}`);
    assert(e.key === 'sensors.bad.vienna', `key ${e.key}`);
    assert(e.schemaType === 'temperature', `schemaType ${e.schemaType}`);
    assert(e.path === 'celsius', `path ${e.path}`);
    assert(/invalid type/.test(e.serdeMessage) && /hot/.test(e.serdeMessage), `serdeMessage ${e.serdeMessage}`);
    await until(() => b.stats().rejected >= 2, 'a second rejection');
    await sleep(300);
    assert(db.get('sensors.bad.vienna') === null, `get() is ${JSON.stringify(db.get('sensors.bad.vienna'))}`);
    assert(fired === 0, `subscription fired ${fired} times`);
    assert(db.stats().records['sensors.bad.vienna'].produced === 0, 'nothing produced');
    assert(b.status === 'connected', `status ${b.status}`);
    t.note(`rejected=${b.stats().rejected}: ${e.message}`);
  } finally {
    cleanup();
  }
});

test('(3) write round-trip: an out record reaches the server, the echo comes back on echo/setpoint/room1', async (t) => {
  const { db, bridges, cleanup } = setup({
    cmd: { schemaType: 'setpoint', topic: 'commands/setpoint/room1', link: 'out' },
    echo: { schemaType: 'setpoint', topic: 'echo/setpoint/room1' },
  });
  try {
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['echo/setpoint/room1'] });
    bridges.push(b);
    const tr = track(b);
    await until(() => b.status === 'connected', 'connected');
    const ts = Date.now();
    b.write('cmd', { target_celsius: 21.5, timestamp: ts });
    // Also a plain db.set: the tap sends every locally produced value of an out record.
    await sleep(50);
    db.set('cmd', { target_celsius: 22.5, timestamp: ts + 1 });
    let bad = null;
    try {
      b.write('cmd', { target_celsius: 'warm', timestamp: ts });
    } catch (e) {
      bad = e;
    }
    assert(bad instanceof AimDbError && bad.code === 'CONTRACT_VIOLATION', `invalid write: ${bad}`);
    const mine = () => srv('readWrites').then((w) => w.filter((x) => x.payload.timestamp >= ts));
    const writes = await until(async () => ((await mine()).length >= 2 ? mine() : null), 'both writes in the server log');
    assert(writes.length === 2, `server writes ${JSON.stringify(writes)}`);
    assert(writes[0].topic === 'commands/setpoint/room1' && writes[0].payload.target_celsius === 21.5, JSON.stringify(writes[0]));
    assert(writes[1].payload.target_celsius === 22.5, JSON.stringify(writes[1]));
    // The server records the setpoint and echoes it in the setpoint contract's shape.
    const echo = await until(() => (db.get('echo')?.target_celsius === 22.5 ? db.get('echo') : null), 'the echo of the last write');
    assert(echo.timestamp === ts + 1, `echo ${JSON.stringify(echo)}`);
    assert(!tr.errors.some((e) => e.topic === 'echo/setpoint/room1'), `echo errors ${tr.errors.map((e) => e.message)}`);
    assert(b.stats().sent === 2, `sent ${b.stats().sent}`);
  } finally {
    cleanup();
  }
});

test('(4) server killed mid-stream: reconnecting, writes queued, FIFO flush after restart, snapshots re-seed', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.temperature.vienna': { schemaType: 'temperature' },
    cmd: { schemaType: 'temperature', topic: 'commands/setpoint/room1', link: 'out' },
  });
  try {
    const b = WsBridge.connect(db, URL_MAIN, {
      subscribeTopics: ['sensors/temperature/vienna'],
      autoReconnect: { initialMs: 100, maxMs: 400 },
    });
    bridges.push(b);
    const tr = track(b);
    await until(() => b.status === 'connected' && db.get('sensors.temperature.vienna'), 'connected with a value');
    await srv('stop');
    await until(() => b.status === 'reconnecting', "status 'reconnecting'");
    const ts = Date.now();
    for (let i = 0; i < 5; i++) b.write('cmd', { schema_version: 2, celsius: 10 + i, timestamp: ts + i });
    assert(b.stats().queued === 5, `queued ${b.stats().queued}`);
    await sleep(600); // a few failed attempts against the dead port
    const v0 = db.stats().records['sensors.temperature.vienna'].produced;
    await srv('restart');
    await until(() => b.status === 'connected', "'connected' again", 20_000);
    await until(() => db.stats().records['sensors.temperature.vienna'].produced > v0, 'a fresh value after the restart');
    const mine = async () => (await srv('readWrites')).filter((x) => x.payload.timestamp >= ts);
    const writes = await until(async () => ((await mine()).length >= 5 ? mine() : null), 'all queued writes at the server');
    assert(
      JSON.stringify(writes.map((w) => w.payload.celsius)) === JSON.stringify([10, 11, 12, 13, 14]),
      `server order ${JSON.stringify(writes.map((w) => w.payload.celsius))}`,
    );
    const s = b.stats();
    assert(s.queued === 0 && s.dropped === 0 && s.reconnects >= 1, `stats ${JSON.stringify(s)}`);
    assert(tr.statuses.includes('reconnecting'), `statuses ${tr.statuses}`);
    assert(tr.errors.some((e) => e.code === 'CONNECTION_LOST'), `errors ${tr.errors.map((e) => e.code)}`);
    t.note(`statuses ${tr.statuses.join(' > ')}; reconnects=${s.reconnects}`);
  } finally {
    cleanup();
  }
});

test('(5) token accepted; wrong token: CONNECTION_REFUSED, reconnecting with backoff, no tight loop', async (t) => {
  const { db, bridges, cleanup } = setup({ 'sensors.temperature.vienna': { schemaType: 'temperature' } });
  try {
    const good = WsBridge.connect(db, URL_TOKEN, { subscribeTopics: ['sensors/temperature/vienna'], token: TOKEN });
    bridges.push(good);
    await until(() => good.status === 'connected' && db.get('sensors.temperature.vienna'), 'the good token connects and gets data');
    good.free();
    bridges.length = 0;
    const bad = WsBridge.connect(db, URL_TOKEN, {
      subscribeTopics: ['sensors/temperature/vienna'],
      token: 'wrong',
      autoReconnect: { initialMs: 200, maxMs: 1000 },
    });
    bridges.push(bad);
    const tr = track(bad);
    const e = await until(() => tr.errors.find((x) => x.code === 'CONNECTION_REFUSED'), 'CONNECTION_REFUSED');
    assert(bad.status === 'reconnecting', `status ${bad.status}`);
    assert(!tr.statuses.includes('connected'), `statuses ${tr.statuses}`);
    const c0 = bad.stats().connects;
    await sleep(3000);
    const c1 = bad.stats().connects;
    assert(c1 - c0 >= 1 && c1 - c0 <= 6, `attempts in 3 s: ${c1 - c0}`);
    assert(tr.errors.filter((x) => x.code === 'CONNECTION_REFUSED').length === 1, 'reported once per streak');
    assert(bad.stats().lastError !== null, 'lastError set');
    t.note(`${e.message}; ${c1 - c0} attempts in 3 s`);
  } finally {
    cleanup();
  }
});

test('(6) disconnect(): disconnected, write throws BRIDGE_DISCONNECTED, no further connection attempts', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.temperature.vienna': { schemaType: 'temperature' },
    cmd: { schemaType: 'temperature', topic: 'commands/setpoint/room1', link: 'out' },
  });
  try {
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/vienna'], autoReconnect: { initialMs: 100, maxMs: 200 } });
    bridges.push(b);
    const tr = track(b);
    await until(() => b.status === 'connected', 'connected');
    b.disconnect();
    assert(b.status === 'disconnected', `status ${b.status}`);
    let err = null;
    try {
      b.write('cmd', { schema_version: 2, celsius: 1, timestamp: 1 });
    } catch (e) {
      err = e;
    }
    assert(err instanceof AimDbError && err.code === 'BRIDGE_DISCONNECTED', `write after disconnect: ${err}`);
    const c0 = b.stats().connects;
    const p0 = db.stats().records['sensors.temperature.vienna'].produced;
    await sleep(3000);
    assert(b.stats().connects === c0, `connects ${c0} -> ${b.stats().connects}`);
    assert(b.status === 'disconnected' && tr.statuses.at(-1) === 'disconnected', `statuses ${tr.statuses}`);
    const p1 = db.stats().records['sensors.temperature.vienna'].produced;
    assert(p1 === p0, `values kept arriving after disconnect: ${p0} -> ${p1}`);
    t.note(`statuses ${tr.statuses.join(' > ')}`);
  } finally {
    cleanup();
  }
});

test('(7) showing the tab retries a waiting reconnect at once (visibilitychange); hiding it does not', async () => {
  const { db, bridges, cleanup } = setup({});
  let state = 'hidden';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  const uncaught0 = window.__uncaught.length;
  try {
    const b = WsBridge.connect(db, URL_DEAD, SLOW_RETRY);
    bridges.push(b);
    await until(() => b.status === 'reconnecting', "'reconnecting' after the refused attempt");
    const c0 = b.stats().connects;
    document.dispatchEvent(new Event('visibilitychange'));
    assert(b.stats().connects === c0, `hidden: connects ${c0} -> ${b.stats().connects}`);
    state = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    assert(b.stats().connects === c0 + 1, `visible: connects ${c0} -> ${b.stats().connects} (expected a retry at once)`);
    await sleep(0);
    assert(window.__uncaught.length === uncaught0, `listener threw: ${JSON.stringify(window.__uncaught.slice(uncaught0))}`);
  } finally {
    delete document.visibilityState;
    cleanup();
  }
});

test("(8) a closed socket's closures are released right after its close event, not at the next timer", async () => {
  const { db, bridges, cleanup } = setup({});
  try {
    const b = WsBridge.connect(db, URL_DEAD, SLOW_RETRY);
    bridges.push(b);
    assert(b.__heldSockets() === 1, `held while opening: ${b.__heldSockets()}`);
    await until(() => b.status === 'reconnecting', "'reconnecting' after the refused attempt");
    await sleep(0); // the release is a microtask queued by the close event
    assert(b.__heldSockets() === 0, `held after close: ${b.__heldSockets()}`);
    b.reconnect();
    assert(b.__heldSockets() === 1, `held while retrying: ${b.__heldSockets()}`);
    b.free();
    await sleep(0);
    assert(b.status === 'disconnected', `status after free: ${b.status}`);
  } finally {
    cleanup();
  }
});

test('(9) the bridge ends with its db: after db.free() no more traffic, write() throws USE_AFTER_FREE', async (t) => {
  const { db, bridges, cleanup } = setup({
    'sensors.temperature.vienna': { schemaType: 'temperature' },
    cmd: { schemaType: 'setpoint', topic: 'commands/setpoint/room1', link: 'out' },
  });
  try {
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/vienna'] });
    bridges.push(b);
    const tr = track(b);
    await until(() => b.status === 'connected' && db.get('sensors.temperature.vienna'), 'connected with a value');
    db.free();
    assert(b.status === 'disconnected', `status right after db.free(): ${b.status}`);
    const s0 = b.stats();
    let err = null;
    try {
      b.write('cmd', { target_celsius: 20, timestamp: Date.now() });
    } catch (e) {
      err = e;
    }
    assert(err instanceof AimDbError && err.code === 'USE_AFTER_FREE', `write after db.free(): ${err}`);
    await sleep(500); // the server sends every 100 ms: nothing may arrive any more
    const s1 = b.stats();
    assert(s1.framesReceived === s0.framesReceived && s1.received === s0.received, `traffic after db.free(): ${JSON.stringify([s0, s1])}`);
    assert(s1.connects === s0.connects, 'no reconnect');
    t.note(`statuses ${tr.statuses.join(' > ')}`);
  } finally {
    cleanup();
  }
});

test('(10) free() from an onError listener inside write(): no error, the bridge is freed when write returns', async () => {
  const { db, bridges, cleanup } = setup({ cmd: { schemaType: 'setpoint', link: 'out' } });
  try {
    const b = WsBridge.connect(db, URL_DEAD, { ...SLOW_RETRY, maxOfflineQueue: 1, overflow: 'dropNewest' });
    bridges.push(b);
    b.write('cmd', { target_celsius: 1, timestamp: 1 });
    let freedInside = false;
    b.onError((e) => {
      if (e.code === 'WRITE_DROPPED') {
        b.free();
        freedInside = true;
      }
    });
    const errs = await consoleErrorsDuring(() => b.write('cmd', { target_celsius: 2, timestamp: 2 }));
    assert(freedInside, 'the listener ran');
    assert(errs.length === 0, `console errors: ${errs}`);
    let err = null;
    try {
      b.stats();
    } catch (e) {
      err = e;
    }
    assert(err instanceof AimDbError && err.code === 'USE_AFTER_FREE', `stats() after free: ${err}`);
    b.free(); // idempotent
  } finally {
    bridges.length = 0;
    cleanup();
  }
});

test('(11) every local db.set / db.setMany value of an out record is sent: 100 sets + a setMany of 50 in one turn -> 150 writes, in order', async () => {
  const { db, bridges, cleanup } = setup({ cmd: { schemaType: 'setpoint', topic: 'commands/setpoint/room1', link: 'out' } });
  try {
    const b = WsBridge.connect(db, URL_MAIN, {});
    bridges.push(b);
    await until(() => b.status === 'connected', 'connected');
    // Timestamps of 1000 s ago: the window [ts, ts + 150) is this test's alone (other tests
    // look for their writes from Date.now() on, and would see future timestamps of this one).
    const ts = Date.now() - 1_000_000;
    for (let i = 0; i < 100; i++) db.set('cmd', { target_celsius: i, timestamp: ts + i });
    // setMany: each value is a write too (not only the batch's last).
    db.setMany('cmd', Array.from({ length: 50 }, (_, i) => ({ target_celsius: 100 + i, timestamp: ts + 100 + i })));
    const mine = async () => (await srv('readWrites')).filter((x) => x.payload.timestamp >= ts && x.payload.timestamp < ts + 150);
    const writes = await until(async () => ((await mine()).length >= 150 ? mine() : null), '150 writes at the server');
    const got = writes.map((w) => w.payload.target_celsius);
    assert(JSON.stringify(got) === JSON.stringify([...Array(150).keys()]), `server order ${JSON.stringify(got)}`);
    assert(b.stats().sent === 150, `sent ${b.stats().sent}`);
  } finally {
    cleanup();
  }
});

test('(12) a write the bridge refuses leaves the local value alone (QUEUE_FULL under reject)', async () => {
  const { db, bridges, cleanup } = setup({ cmd: { schemaType: 'setpoint', link: 'out' } });
  try {
    const b = WsBridge.connect(db, URL_DEAD, { ...SLOW_RETRY, maxOfflineQueue: 1, overflow: 'reject' });
    bridges.push(b);
    b.write('cmd', { target_celsius: 1, timestamp: 1 });
    let err = null;
    try {
      b.write('cmd', { target_celsius: 2, timestamp: 2 });
    } catch (e) {
      err = e;
    }
    assert(err instanceof AimDbError && err.code === 'QUEUE_FULL', `second write: ${err}`);
    assert(db.get('cmd').target_celsius === 1, `local value ${JSON.stringify(db.get('cmd'))}`);
    assert(db.stats().records.cmd.produced === 1, `produced ${db.stats().records.cmd.produced}`);
    assert(b.stats().queued === 1, `queued ${b.stats().queued}`);
  } finally {
    cleanup();
  }
});

test('(13) records configured after connect are synced: subscribed with late join, out records send', async (t) => {
  const { db, bridges, cleanup } = setup({});
  try {
    const b = WsBridge.connect(db, URL_MAIN, { subscribeTopics: ['sensors/temperature/#'] });
    bridges.push(b);
    const tr = track(b);
    await until(() => b.status === 'connected', 'connected');
    db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
    await until(() => db.get('sensors.temperature.vienna'), 'a value in the late record');
    await until(() => b.stats().snapshots >= 1, 'its late-join snapshot');
    db.configureRecord('cmd', { schemaType: 'setpoint', topic: 'commands/setpoint/room1', link: 'out' });
    const ts = Date.now();
    db.set('cmd', { target_celsius: 19.5, timestamp: ts });
    const mine = async () => (await srv('readWrites')).filter((x) => x.payload.timestamp >= ts);
    const writes = await until(async () => ((await mine()).length >= 1 ? mine() : null), 'the late out record at the server');
    assert(writes.length === 1 && writes[0].payload.target_celsius === 19.5, JSON.stringify(writes));
    assert(tr.errors.length === 0, `errors: ${tr.errors.map((e) => e.message)}`);
    t.note(`snapshots=${b.stats().snapshots}`);
  } finally {
    cleanup();
  }
});

test('(14) values from the server are never sent back, whatever their JSON spelling (21.0, v1 payloads, nulls)', async () => {
  const id = 'echo';
  const send = [
    '{"type":"data","topic":"room/setpoint","payload":{"target_celsius":21.0,"timestamp":5},"ts":1}',
    '{"type":"data","topic":"temp/x","payload":{"schema_version":1,"temp":70.0,"unit":"F","timestamp":5},"ts":1}',
    '{"type":"data","topic":"gps/x","payload":{"latitude":1.0,"longitude":2,"altitude":null,"timestamp":5},"ts":1}',
  ];
  const { db, bridges, cleanup } = setup({
    room: { schemaType: 'setpoint', topic: 'room/setpoint', link: 'both' },
    temp: { schemaType: 'temperature', topic: 'temp/x', link: 'both' },
    gps: { schemaType: 'gps_location', topic: 'gps/x', link: 'both' },
  });
  try {
    const b = WsBridge.connect(db, hostileUrl(id, { send: JSON.stringify(send) }), { subscribeTopics: ['#'] });
    bridges.push(b);
    const tr = track(b);
    await until(() => db.get('room') && db.get('temp') && db.get('gps'), 'the three values');
    assert(tr.errors.length === 0, `errors: ${tr.errors.map((e) => e.message)}`);
    db.set('room', { target_celsius: 23, timestamp: 7 });
    const conns = await until(async () => {
      const c = await hostileLog(id);
      return c.length && writesIn(c[0].frames).length >= 1 ? c : null;
    }, 'the local write at the server');
    const writes = writesIn(conns[0].frames);
    assert(writes.length === 1 && writes[0].payload.target_celsius === 23, `writes at the server: ${JSON.stringify(writes)}`);
  } finally {
    cleanup();
  }
});

test('(15) binary, oversized, unknown-topic and out-only frames are dropped and counted; the link stays up', async () => {
  const id = 'frames';
  const send = [
    { binary: 10 },
    { big: 5000, topic: 'room/setpoint' },
    '{"type":"data","topic":"nobody/here","payload":{"target_celsius":1,"timestamp":1},"ts":1}',
    '{"type":"data","topic":"cmd/x","payload":{"target_celsius":1,"timestamp":1},"ts":1}',
    '{"type":"data","topic":"room/setpoint","payload":{"target_celsius":20,"timestamp":1},"ts":1}',
  ];
  const { db, bridges, cleanup } = setup({
    room: { schemaType: 'setpoint', topic: 'room/setpoint' },
    cmd: { schemaType: 'setpoint', topic: 'cmd/x', link: 'out' },
  });
  try {
    const b = WsBridge.connect(db, hostileUrl(id, { send: JSON.stringify(send) }), { subscribeTopics: ['#'], maxFrameBytes: 1024 });
    bridges.push(b);
    const tr = track(b);
    await until(() => db.get('room'), 'the good frame after the bad ones');
    const s = b.stats();
    assert(s.binaryFrames === 1 && s.oversizedFrames === 1 && s.unknownTopic === 1 && s.notInbound === 1, `stats ${JSON.stringify(s)}`);
    const big = tr.errors.find((e) => e.code === 'FRAME_TOO_LARGE');
    assert(big && big.message.length < 300, `FRAME_TOO_LARGE error: ${big?.message}`);
    assert(tr.errors.some((e) => e.code === 'BINARY_FRAME'), `errors ${tr.errors.map((e) => e.code)}`);
    assert(b.status === 'connected', `status ${b.status}`);
  } finally {
    cleanup();
  }
});

/** Waits until the hostile server's connection #n read `count` writes; returns the log. */
async function writesAt(id, n, count, what) {
  return until(async () => {
    const c = await hostileLog(id);
    return c.length >= n && writesIn(c[n - 1].frames).length >= count ? c : null;
  }, what);
}
const FAST_RETRY = { autoReconnect: { initialMs: 50, maxMs: 200 }, keepaliveMs: 200 };
const values = (frames) => writesIn(frames).map((w) => w.payload.target_celsius);
const range = (n) => [...Array(n).keys()];

test('(16) 200 offline writes, the socket dies after the server read 10: all 200 are re-sent and confirmed', async (t) => {
  const id = 'die10';
  const { db, bridges, cleanup } = setup({ cmd: { schemaType: 'setpoint', topic: 'cmd/x', link: 'out' } });
  try {
    const b = WsBridge.connect(db, hostileUrl(id, { dieAfterWrites: 10 }), FAST_RETRY);
    bridges.push(b);
    for (let i = 0; i < 200; i++) b.write('cmd', { target_celsius: i, timestamp: i + 1 });
    assert(b.stats().queued === 200, `queued ${b.stats().queued}`);
    const log = await writesAt(id, 2, 200, 'the writes on the second connection');
    assert(values(log[0].frames).length === 10, `first connection read ${values(log[0].frames).length}`);
    assert(JSON.stringify(values(log[1].frames)) === JSON.stringify(range(200)), `second connection: ${values(log[1].frames)}`);
    await until(() => b.stats().unconfirmed === 0 && b.stats().confirmed === 200, 'all 200 confirmed');
    const s = b.stats();
    assert(s.dropped === 0 && s.queued === 0, `stats ${JSON.stringify(s)}`);
    t.note(`sent=${s.sent} resent=${s.resent} confirmed=${s.confirmed}`);
  } finally {
    cleanup();
  }
});

test('(17) the server stops reading: writes sent while connected are re-sent after PONG_TIMEOUT', async (t) => {
  const id = 'stopread';
  const { db, bridges, cleanup } = setup({ cmd: { schemaType: 'setpoint', topic: 'cmd/x', link: 'out' } });
  try {
    const b = WsBridge.connect(db, hostileUrl(id, { stopReading: 1 }), { ...FAST_RETRY, pongTimeoutMs: 500 });
    bridges.push(b);
    const tr = track(b);
    // 50 writes as soon as the link is up: sent on a socket the server never reads.
    const written = new Promise((resolve) => {
      const off = b.onStatusChange((s) => {
        if (s !== 'connected') return;
        off();
        for (let i = 0; i < 50; i++) b.write('cmd', { target_celsius: i, timestamp: i + 1 });
        resolve(b.stats());
      });
    });
    const s0 = await written;
    assert(s0.sent === 50 && s0.unconfirmed === 50, `stats ${JSON.stringify(s0)}`);
    await until(() => tr.errors.find((e) => e.code === 'PONG_TIMEOUT'), 'PONG_TIMEOUT');
    const log = await writesAt(id, 2, 50, 'the writes on the second connection');
    assert(log[0].frames.length === 0, 'the first connection read nothing');
    assert(JSON.stringify(values(log[1].frames)) === JSON.stringify(range(50)), `second connection: ${values(log[1].frames)}`);
    await until(() => b.stats().confirmed === 50, 'all 50 confirmed');
    t.note(`resent=${b.stats().resent}`);
  } finally {
    cleanup();
  }
});

test('(18) accept-then-destroy: writes survive every destroyed connection and arrive on the first that lives', async (t) => {
  const id = 'acceptdestroy';
  const { db, bridges, cleanup } = setup({ cmd: { schemaType: 'setpoint', topic: 'cmd/x', link: 'out' } });
  try {
    const b = WsBridge.connect(db, hostileUrl(id, { destroyFirst: 3 }), FAST_RETRY);
    bridges.push(b);
    for (let i = 0; i < 20; i++) b.write('cmd', { target_celsius: i, timestamp: i + 1 });
    const log = await writesAt(id, 4, 20, 'the writes on the fourth connection');
    assert(JSON.stringify(values(log[3].frames)) === JSON.stringify(range(20)), `fourth connection: ${values(log[3].frames)}`);
    await until(() => b.stats().confirmed === 20, 'all 20 confirmed');
    assert(b.stats().dropped === 0, `dropped ${b.stats().dropped}`);
    t.note(`connects=${b.stats().connects}`);
  } finally {
    cleanup();
  }
});

test('(19) a URL that can never work throws INVALID_URL at connect (no retries)', async () => {
  const { db, cleanup } = setup({});
  try {
    for (const url of ['ws://[::1', 'http://127.0.0.1/ws', 'not a url']) {
      let err = null;
      try {
        WsBridge.connect(db, url, {});
      } catch (e) {
        err = e;
      }
      assert(err instanceof AimDbError && err.code === 'INVALID_URL', `${url}: ${err}`);
    }
  } finally {
    cleanup();
  }
});

test('(20) ingest fast path: data frames it takes and frames it leaves to the old way give the same values, counters and errors', async (t) => {
  // Bridge A gets these frames as they are (the fast path takes what it can:
  // bindings/npm/ingest.js); bridge B gets each with a space after the payload's `{`,
  // which the fast path never takes: the old way, the whole frame parsed in Rust (and
  // there the same way: a frame in the server's layout).
  const P = (topic, payload, ts = 5) => `{"type":"data","topic":"${topic}","payload":${payload},"ts":${ts}}`;
  const frames = [
    P('temp/x', '{"schema_version":2,"celsius":21.5,"timestamp":1795000000000}'),
    P('temp/x', '{"celsius":-3.25,"timestamp":1}'),
    P('temp/x', '{"celsius": 20.1 ,"timestamp":2}'),
    P('temp/x', '{"celsius":20.123456789012345,"timestamp":3}'), // 17 digits
    P('temp/x', '{"celsius":0.1000000000000000055511151231257827,"timestamp":3}'),
    P('temp/x', '{"celsius":21.0,"timestamp":4}'), // an all-zero fraction: a float (taken)
    P('sp/x', '{"target_celsius":20.0,"timestamp":41}'),
    P('temp/x', '{"celsius":1.5,"timestamp":42.0,"timestamp":42}'), // the last of duplicates: an integer
    P('temp/x', '{"celsius":1.5,"timestamp":43,"timestamp":43.0}'), // the last: a float, refused
    P('temp/x', '{"schema_version":2.0,"celsius":1.5,"timestamp":44}'), // a float version, refused
    P('temp/x', '{"celsius":2.15e1,"timestamp":5}'),
    P('temp/x', '{"celsius":0.5,"timestamp":30}'),
    P('temp/x', '{"celsius":-0.001,"timestamp":31}', '0'),
    P('temp/x', '{"celsius":123456789012345,"timestamp":32}'), // 15 digits
    P('temp/x', '{"celsius":1234567890123456,"timestamp":33}'), // 16
    P('temp/x', '{"celsius":12345678.9012345,"timestamp":34}'),
    P('temp/x', '{"celsius":00.5,"timestamp":35}'), // not JSON
    P('temp/x', '{"celsius":1.,"timestamp":36}'),
    P('temp/x', '{"cel\\u0073ius":37.5,"timestamp":37}'), // an escaped key
    P('temp/x', '{"celsius":{"a":1},"timestamp":38}'),
    P('temp/x', '{}'),
    P('temp/x', '{"celsius":-0,"timestamp":6}'),
    P('temp/x', '{"celsius":-0.0,"timestamp":6}'),
    P('temp/x', '{"celsius":1,"celsius":2,"timestamp":7}'), // the last of duplicates
    P('temp/x', '{"celsius":21,"timestamp":9007199254740993}'), // 2^53 + 1: named exactly in the violation
    P('temp/x', '{"celsius":21,"timestamp":-0}'),
    P('temp/x', '{"celsius":21,"timestamp":8.0}'), // an integer field refuses a float
    P('temp/x', '{"celsius":21,"timestamp":8e0}'),
    P('temp/x', '{"schema_version":1,"temp":70,"unit":"F","timestamp":9}'), // v1, migrated
    P('temp/x', '{"celsius":"hot","timestamp":10}'),
    P('temp/x', '{"celsius":1e39,"timestamp":10}'),
    P('temp/x', '{"celsius":21,"timestamp":11,"extra":1}'),
    P('temp/x', '{"celsius":21,"timestamp":11}', '18446744073709551615'),
    P('temp/x', '{"celsius":22,"timestamp":12}', '9007199254740993'),
    P('temp/x', '{"celsius":22,"timestamp":12}', '18446744073709551616'), // beyond u64: malformed
    P('temp/x', '{"celsius":22,"timestamp":12}', '01'),
    P('temp/x', '{"celsius":22,"timestamp":12}', '-1'),
    '{"type":"data","topic":"temp\\/x","payload":{"celsius":23,"timestamp":13},"ts":1}',
    '{"type":"data","topic":"temp/x","payload":{"celsius":24,"timestamp":14},"extra":[1],"ts":1}',
    '{"type":"data","topic":"temp/x","payload":{"celsius":24,"timestamp":14},"ts":1,"payload":{"celsius":25,"timestamp":14}}',
    '{"type":"data","topic":"temp/x","payload":{"celsius":25,"timestamp":21}',
    '{"type":"data","topic":"temp/x","payload":{"celsius":25,"timestamp":21},"ts":5}}',
    '{"type":"data","topic":"temp/x","payload":null,"ts":5}',
    P('sp/x', '{"target_celsius":21.5,"timestamp":15}'),
    P('sp/x', '{"target_celsius":1000,"timestamp":16}'), // no range: taken
    P('gps/x', '{"latitude":48.2082,"longitude":16.3738,"altitude":null,"timestamp":17}'),
    P('gps/x', '{"latitude":48.2082,"longitude":16.3738,"accuracy":3.5,"timestamp":18}'),
    P('gps/x', '{"latitude":91,"longitude":16.3738,"timestamp":18}'),
    P('gps/x', '{"latitude":48.2082,"longitude":16.3738,"altitude":12.5,"altitude":null,"timestamp":19}'), // the last: null
    P('gps/x', '{"latitude":48.2082,"longitude":16.3738,"altitude":nul,"timestamp":19}'), // not JSON
    P('temp/x', '{"celsius":null,"timestamp":45}'), // not an Option: refused
    P('cmd/x', '{"target_celsius":1,"timestamp":19}'), // out-only
    P('nobody/here', '{"celsius":1,"timestamp":20}'), // unknown topic
    P('temp/x', '{"celsius":26.5,"timestamp":999999}'), // the last one
  ];
  const ring = { type: 'SpmcRing', capacity: 64 };
  const records = {
    temp: { schemaType: 'temperature', topic: 'temp/x', buffer: ring },
    sp: { schemaType: 'setpoint', topic: 'sp/x', buffer: ring },
    gps: { schemaType: 'gps_location', topic: 'gps/x', buffer: ring },
    cmd: { schemaType: 'setpoint', topic: 'cmd/x', link: 'out' },
  };
  const runs = [];
  for (const [id, sent] of [['ingestA', frames], ['ingestB', frames.map((f) => f.replace('"payload":{', '"payload":{ '))]]) {
    const { db, bridges, cleanup } = setup(records);
    try {
      const seen = { temp: [], sp: [], gps: [] };
      const show = (v) => JSON.stringify(v, (k, x) => (Object.is(x, -0) ? '-0' : x));
      for (const key of Object.keys(seen)) db.subscribe(key, (v) => seen[key].push(show(v)));
      const b = WsBridge.connect(db, hostileUrl(id, { send: JSON.stringify(sent) }), { subscribeTopics: ['#'], lateJoin: false, keepaliveMs: 0 });
      bridges.push(b);
      const tr = track(b);
      await until(() => seen.temp.some((v) => v.includes('999999')), `the last frame (${id})`);
      // A malformed frame's error quotes its start (B's may have the space) and says at
      // which byte it broke: its reason only; a payload's syntax error, at which column.
      const same = (e) =>
        e.code === 'MALFORMED_FRAME' ? e.message.replace(/ at byte \d+/, '').replace(/\): .*$/s, ')') : e.message.replace(/column \d+/, 'column N');
      const errors = tr.errors.map((e) => `${e.code} ${e.path ?? ''} ${e.topic ?? ''} ${same(e)}`);
      runs.push({ seen, stats: b.stats(), errors, fast: b.__fastFrames() });
    } finally {
      cleanup();
    }
  }
  const [a, b] = runs;
  for (const key of Object.keys(a.seen)) {
    assert(JSON.stringify(a.seen[key]) === JSON.stringify(b.seen[key]), `${key}: fast ${a.seen[key]} vs old ${b.seen[key]}`);
  }
  assert(a.seen.temp.length >= 8 && a.seen.sp.length === 3 && a.seen.gps.length === 3, `values ${JSON.stringify(a.seen)}`);
  assert(a.seen.temp.includes('{"schema_version":2,"celsius":"-0","timestamp":6}'), `-0 kept: ${a.seen.temp}`);
  assert(JSON.stringify(a.stats) === JSON.stringify(b.stats), `stats: fast ${JSON.stringify(a.stats)} vs old ${JSON.stringify(b.stats)}`);
  assert(a.stats.unknownTopic === 1 && a.stats.notInbound === 1 && a.stats.malformed >= 3 && a.stats.rejected >= 6, `stats ${JSON.stringify(a.stats)}`);
  assert(JSON.stringify(a.errors) === JSON.stringify(b.errors), `errors: fast ${a.errors.join('\n')} vs old ${b.errors.join('\n')}`);
  assert(a.errors.some((e) => e.includes('got 9007199254740993')), `2^53 + 1 named exactly: ${a.errors.join('\n')}`);
  // The fast path took 17 frames on A (those in the server's layout with plain numbers and
  // nulls the contract takes, whole floats like 21.0 and a null altitude among them), none on B.
  assert(a.fast === 17 && b.fast === 0, `frames taken by the fast path: A ${a.fast}, B ${b.fast}`);
  t.note(`${a.seen.temp.length + a.seen.sp.length + a.seen.gps.length} values, ${a.errors.length} errors, ${a.fast} frames taken by the fast path; malformed ${a.stats.malformed}, rejected ${a.stats.rejected}`);
});

// ---------------------------------------------------------------- run

runAll(init);
