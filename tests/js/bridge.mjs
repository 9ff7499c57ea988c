// In-page tests of WsBridge against the REAL AimDB server (tests/server, started by
// tests/js/run.mjs through tests/js/server.mjs). The page gets the ports in its URL
// (?port=P&tokenPort=Q&token=T) and drives the servers through `window.__srv(cmd,
// which)` ('stop' | 'restart' | 'readWrites'; which = 'main' | 'token'), a function the
// runner exposes. Results go to `window.__results`, `window.__finished` ends the run.
import init, { WasmDb, WsBridge, AimDbError } from '@aimdb/wasm';

const params = new URLSearchParams(location.search);
const PORT = params.get('port');
const TOKEN_PORT = params.get('tokenPort');
const TOKEN = params.get('token');
const URL_MAIN = `ws://127.0.0.1:${PORT}/ws`;
const URL_TOKEN = `ws://127.0.0.1:${TOKEN_PORT}/ws`;
const TIMEOUT_MS = 30_000;

const tests = [];
const results = [];
window.__results = results;
window.__finished = false;
window.__uncaught = [];
let current = '(before the first test)';
window.addEventListener('error', (ev) => window.__uncaught.push({ during: current, error: String(ev.error?.stack ?? ev.message) }));
window.addEventListener('unhandledrejection', (ev) =>
  window.__uncaught.push({ during: current, error: `unhandled rejection: ${ev.reason?.stack ?? ev.reason}` }),
);

const test = (name, fn) => tests.push({ name, fn });
class AssertionError extends Error {}
function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `pred` every 20 ms until truthy (returns its value) or `ms` pass (throws `what`). */
async function until(pred, what, ms = 15_000) {
  const end = performance.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (performance.now() > end) throw new AssertionError(`timed out waiting for ${what}`);
    await sleep(20);
  }
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
    assert(s.snapshots >= 1, `late-join snapshots received: ${JSON.stringify(s)}`);
    assert(s.received >= 6 && s.rejected === 0, `stats ${JSON.stringify(s)}`);
    assert(b.status === 'connected' && tr.statuses.join() === 'connecting,connected', `statuses ${tr.statuses}`);
    assert(tr.errors.length === 0, `errors: ${tr.errors.map((e) => e.message)}`);
    t.note(`snapshots=${s.snapshots} received=${s.received} framesReceived=${s.framesReceived}`);
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

// ---------------------------------------------------------------- run

async function runAll() {
  await init();
  for (const { name, fn } of tests) {
    const notes = [];
    current = name;
    const t0 = performance.now();
    let timer;
    try {
      await Promise.race([
        fn({ note: (s) => notes.push(String(s)) }),
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        }),
      ]);
      results.push({ name, ok: true, ms: Math.round(performance.now() - t0), notes });
    } catch (e) {
      results.push({ name, ok: false, ms: Math.round(performance.now() - t0), notes, error: e instanceof AssertionError ? e.message : String(e?.stack ?? e) });
    } finally {
      clearTimeout(timer);
    }
  }
  current = '(after the last test)';
  await sleep(100);
  window.__finished = true;
}
runAll().catch((e) => {
  results.push({ name: 'runner', ok: false, notes: [], error: String(e?.stack ?? e) });
  window.__finished = true;
});
