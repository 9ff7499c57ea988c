// The in-page half of the browser benchmark (make bench-browser; driver: run.mjs).
// Loads our package (/pkg/, `make wasm`) and the anchor, the published
// aimdb-wasm-adapter 0.2.0 (/target/bench-browser/anchor/, scripts/bench-browser-anchor.sh),
// into one page, and exposes window.bench.runCase(c): one measurement of one scenario on
// one package. The driver repeats cases, alternating the packages, and takes medians.
//
// Both packages get the same values ({schema_version: 2, celsius, timestamp}) on the same
// record key; where their APIs differ, the case says how (see the `PKGS` adapters).
import initOurs, * as ours from '/pkg/index.js';
import initAnchor, * as anchor from '/target/bench-browser/anchor/aimdb_wasm_anchor.js';

const KEY = 'sensors.temperature.bench';
/** Our bridge maps `a.b.c` <-> `a/b/c`; the anchor's uses the record key as the topic. */
const TOPIC = { ours: 'sensors/temperature/bench', anchor: KEY };
const T0 = 1_795_000_000_000;
const RING = { type: 'SpmcRing', capacity: 1024 };
/** How long a delivery may take before the subscriber counts as dead (ms). */
const ARRIVAL_TIMEOUT_MS = 1000;

function values(n, from = 0) {
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = { schema_version: 2, celsius: 20 + ((from + i) % 100) / 10, timestamp: T0 + from + i };
  return a;
}

const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
const macrotask = () => new Promise((r) => setTimeout(r, 0));
/** Lets both packages deliver what is pending: ours ticks on frames, the anchor in microtasks. */
async function settle() {
  await frame();
  await frame();
  await macrotask();
}

/** Uniform open/subscribe over the two APIs; set/get are called on `h.db` directly (same signature). */
const PKGS = {
  ours: {
    async open(buffer, tick = 'animationFrame') {
      const db = new ours.WasmDb({ tick });
      db.configureRecord(KEY, { schemaType: 'temperature', buffer });
      return {
        db,
        /** `batch`: one array per tick (ring records). `onLag`: told how many were skipped. */
        subscribe: (cb, { batch = false, onLag } = {}) => db.subscribe(KEY, cb, { batch, onLag }),
        free: () => db.free(),
      };
    },
  },
  anchor: {
    async open(buffer) {
      const db = anchor.createDb();
      db.configureRecord(KEY, { schemaType: 'temperature', buffer });
      await db.build();
      const unsubs = [];
      return {
        db,
        /** Per item only: 0.2.0 has no batch or lag option (a lagging ring reader ends its loop). */
        subscribe: (cb) => {
          const u = db.subscribe(KEY, cb);
          unsubs.push(u);
          return u;
        },
        free: () => {
          for (const u of unsubs) u();
          db.free();
        },
      };
    },
  },
};

/** Tracks deliveries by timestamp; `until(ts)` resolves with the arrival time, or null on timeout. */
function tracker() {
  const t = { delivered: 0, lagged: 0, lastTs: -1, waiter: null };
  t.seen = (v) => {
    t.delivered++;
    if (v.timestamp > t.lastTs) t.lastTs = v.timestamp;
    if (t.waiter && t.lastTs >= t.waiter.ts) {
      const w = t.waiter;
      t.waiter = null;
      clearTimeout(w.timer);
      w.resolve(performance.now());
    }
  };
  t.item = (v) => t.seen(v);
  t.batch = (arr) => {
    for (const v of arr) t.seen(v);
  };
  t.onLag = (k) => {
    t.lagged += k;
  };
  t.until = (ts, timeoutMs = ARRIVAL_TIMEOUT_MS) =>
    t.lastTs >= ts
      ? Promise.resolve(performance.now())
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            t.waiter = null;
            resolve(null);
          }, timeoutMs);
          t.waiter = { ts, resolve, timer };
        });
  return t;
}

/**
 * After a run: does the subscriber still receive? One more set, then wait for it.
 * Returns `{ alive, delivered }`: `delivered` counts the run's values, not the probe.
 */
async function probeAlive(h, t, nextTs) {
  const delivered = t.delivered;
  h.db.set(KEY, { schema_version: 2, celsius: 1.5, timestamp: nextTs });
  return { alive: (await t.until(nextTs)) !== null, delivered };
}

// ------------------------------------------------------------------ scenarios

/** 1. set() cost: `n` sets in one loop; `subs` per-item subscribers (0 or 1). */
async function caseSet(pkg, { buffer, subs, n }) {
  const h = await PKGS[pkg].open(buffer === 'ring' ? RING : 'SingleLatest');
  const warm = values(Math.min(n, 1000), -1000);
  for (const v of warm) h.db.set(KEY, v);
  await settle();
  const t = tracker();
  for (let s = 0; s < subs; s++) h.subscribe(t.item, { onLag: t.onLag });
  t.delivered = 0; // ours hands a new subscriber the current value at once: not one of the n
  const vs = values(n);
  const db = h.db;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) db.set(KEY, vs[i]);
  const ms = performance.now() - t0;
  await settle();
  const { alive, delivered } = subs ? await probeAlive(h, t, T0 + n) : { alive: null, delivered: 0 };
  h.free();
  return { us: (ms * 1000) / n, ms, delivered, lagged: t.lagged, alive };
}

/**
 * 2. set -> delivery through a ring (capacity 1024) to one subscriber (ours: batch, ticked
 * in microtasks like the anchor's tasks; anchor: per item). `burst`: all `n` in one loop,
 * then wait for the last; `paced`: chunks of `chunk` (< capacity), each awaited.
 * `ms`: from the first set until the last item arrived (null: it never did).
 */
async function caseDelivery(pkg, { mode, n, chunk }) {
  const h = await PKGS[pkg].open(RING, 'microtask');
  const t = tracker();
  if (pkg === 'ours') h.subscribe(t.batch, { batch: true, onLag: t.onLag });
  else h.subscribe(t.item);
  const vs = values(n);
  const db = h.db;
  let arrived = null;
  let loopMs = 0;
  const t0 = performance.now();
  if (mode === 'burst') {
    for (let i = 0; i < n; i++) db.set(KEY, vs[i]);
    loopMs = performance.now() - t0;
    arrived = await t.until(T0 + n - 1);
  } else {
    for (let i = 0; i < n; ) {
      const c0 = performance.now();
      const end = Math.min(n, i + chunk);
      for (; i < end; i++) db.set(KEY, vs[i]);
      loopMs += performance.now() - c0;
      arrived = await t.until(T0 + end - 1);
      if (arrived === null) break;
    }
  }
  const ms = arrived === null ? null : arrived - t0;
  await settle();
  const { alive, delivered } = await probeAlive(h, t, T0 + n);
  h.free();
  return { ms, loopMs, usPerItem: ms === null ? null : (ms * 1000) / n, delivered, lagged: t.lagged, alive };
}

/**
 * 3. Fan-out: one SingleLatest record, `subs` subscribers, `n` sets, `perFrame` per
 * animation frame (ours ticks on frames, its default). The driver adds the page's script
 * time over the case (CDP), which counts the deliveries too.
 */
async function caseFanout(pkg, { subs, n, perFrame }) {
  const h = await PKGS[pkg].open('SingleLatest');
  let callbacks = 0;
  let last = -1;
  for (let s = 0; s < subs; s++) {
    h.subscribe((v) => {
      callbacks++;
      last = v.timestamp;
    });
  }
  const vs = values(n);
  const db = h.db;
  let setMs = 0;
  let frames = 0;
  await new Promise((resolve) => {
    let i = 0;
    const step = () => {
      frames++;
      const t0 = performance.now();
      const end = Math.min(n, i + perFrame);
      for (; i < end; i++) db.set(KEY, vs[i]);
      setMs += performance.now() - t0;
      if (i < n) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  await settle();
  h.free();
  return { setUs: (setMs * 1000) / n, callbacks, frames, lastArrived: last === T0 + n - 1 };
}

/** The same frame loop with no database: what the page spends on the harness (CDP baseline). */
async function caseFrames({ n, perFrame }) {
  const vs = values(n);
  let sink = 0;
  await new Promise((resolve) => {
    let i = 0;
    const step = () => {
      const end = Math.min(n, i + perFrame);
      for (; i < end; i++) sink += vs[i].timestamp;
      if (i < n) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  await settle();
  return { sink };
}

/** 4. get() after each set(), on a SingleLatest record without subscribers. */
async function caseGetAfterSet(pkg, { n }) {
  const h = await PKGS[pkg].open('SingleLatest');
  const vs = values(n);
  const db = h.db;
  let g = null;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    db.set(KEY, vs[i]);
    g = db.get(KEY);
  }
  const ms = performance.now() - t0;
  const ok = g !== null && g !== undefined && g.timestamp === T0 + n - 1;
  h.free();
  return { us: (ms * 1000) / n, ms, ok };
}

/**
 * 7. Batch write: `n` values into a ring (capacity 1024, no subscriber) by `db.setMany` in
 * chunks of `chunk` (ours; `mode: 'many'`) or by a `set()` loop (`mode: 'loop'`, both
 * packages: the anchor has no batch write). Chunks are sliced before the clock starts.
 */
async function caseSetMany(pkg, { mode, n, chunk }) {
  const h = await PKGS[pkg].open(RING);
  const vs = values(n);
  const chunks = [];
  for (let i = 0; i < n; i += chunk) chunks.push(vs.slice(i, i + chunk));
  const db = h.db;
  const t0 = performance.now();
  if (mode === 'many') for (const c of chunks) db.setMany(KEY, c);
  else for (let i = 0; i < n; i++) db.set(KEY, vs[i]);
  const ms = performance.now() - t0;
  const v = db.get(KEY);
  const ok = v !== null && v !== undefined && v.timestamp === T0 + n - 1;
  h.free();
  return { us: (ms * 1000) / n, ms, ok };
}

/**
 * A stand-in for the browser's WebSocket, for the ingest case only: installed on
 * globalThis while a bridge connects, so the bridge's own onmessage handler can be called
 * with MessageEvent-like objects, without network.
 */
class FakeSocket {
  static last = null;
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    this.binaryType = 'blob';
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    FakeSocket.last = this;
  }
  send(frame) {
    this.sent.push(frame);
  }
  close() {
    this.closed = true;
  }
}

function withFakeSocket(connect) {
  const real = globalThis.WebSocket;
  FakeSocket.last = null;
  globalThis.WebSocket = FakeSocket;
  try {
    const bridge = connect();
    const sock = FakeSocket.last;
    if (!sock) throw new Error('the bridge did not open a WebSocket while connecting');
    return { bridge, sock };
  } finally {
    globalThis.WebSocket = real;
  }
}

function dataFrames(topic, n) {
  const evs = new Array(n);
  for (const [i, v] of values(n).entries()) {
    evs[i] = { data: JSON.stringify({ type: 'data', topic, payload: v, ts: v.timestamp }) };
  }
  return evs;
}

/**
 * 5. Bridge ingest: `n` data frames handed to the bridge's onmessage in one loop (ours:
 * WsBridge.connect; anchor: db.connectBridge), vs `bare`, a handler that only JSON.parses.
 * `ok`: the record's value afterwards is the last frame's.
 */
async function caseIngest(handler, { n }) {
  if (handler === 'bare') {
    const evs = dataFrames(TOPIC.ours, n);
    let last = null;
    const onmessage = (e) => {
      last = JSON.parse(e.data);
    };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) onmessage(evs[i]);
    const ms = performance.now() - t0;
    return { us: (ms * 1000) / n, ms, ok: last !== null && last.payload.timestamp === T0 + n - 1 };
  }
  const evs = dataFrames(TOPIC[handler], n);
  const h = await PKGS[handler].open('SingleLatest');
  const url = 'ws://127.0.0.1:9/ws';
  const { bridge, sock } = withFakeSocket(() =>
    handler === 'ours'
      ? ours.WsBridge.connect(h.db, url, { autoReconnect: false, lateJoin: false, keepaliveMs: 0 })
      : h.db.connectBridge(url, { subscribeTopics: [KEY], autoReconnect: false, lateJoin: false, keepaliveMs: 0 }),
  );
  sock.onopen({ type: 'open' });
  const onmessage = sock.onmessage;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) onmessage(evs[i]);
  const ms = performance.now() - t0;
  const v = h.db.get(KEY);
  const ok = v !== null && v !== undefined && v.timestamp === T0 + n - 1;
  const received = handler === 'ours' ? bridge.stats().received : null;
  bridge.disconnect();
  bridge.free();
  await settle();
  h.free();
  return { us: (ms * 1000) / n, ms, ok, received };
}

const CASES = {
  set: (c) => caseSet(c.pkg, c),
  delivery: (c) => caseDelivery(c.pkg, c),
  fanout: (c) => caseFanout(c.pkg, c),
  frames: (c) => caseFrames(c),
  getAfterSet: (c) => caseGetAfterSet(c.pkg, c),
  ingest: (c) => caseIngest(c.pkg, c),
  setMany: (c) => caseSetMany(c.pkg, c),
};

async function runCase(c) {
  const f = CASES[c.scenario];
  if (!f) throw new Error(`unknown scenario ${c.scenario}`);
  return f(c);
}

try {
  await initOurs();
  await initAnchor();
  window.bench = { runCase };
} catch (e) {
  window.benchError = e && e.stack ? e.stack : String(e);
}
