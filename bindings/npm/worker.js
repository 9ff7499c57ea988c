// The dedicated Worker of a Worker-mode db (WasmDb.inWorker): the real WasmDb and its
// WsBridges run here, on the module the page compiled; the page gets one batch per animation
// frame (worker-protocol.js describes the messages). Started by worker-db.js; no app code.
import { initSync, poisoned, raw } from './runtime.js';
import { WasmDb } from './db.js';
import { WsBridge } from './bridge.js';
import { errorInit } from './worker-protocol.js';

let db = null;
/** key -> { cap (ring capacity, 0: not a ring), sent (the value last sent), w (page writes run) } */
const recs = new Map();
/** page subscription id -> { items, lag, initial, cap, stop } */
const subs = new Map();
/** simulate id -> its stop function */
const sims = new Map();
/** bridge id -> { b, stats (JSON of the last sent) } */
const bridges = new Map();
let credit = true;
let scheduled = false;
let wantStats = false;
let dead = false;
let newRecs = [];
let errors = [];
let syncs = [];
let events = [];

const post = (m) => self.postMessage(m);
const report = (e) => errors.push(errorInit(e));

/** The ring's capacity of record `key` (0: not a ring). */
const capOf = (key) => db.stats().records[key]?.capacity ?? 0;

function start({ module, options }) {
  try {
    initSync({ module });
    db = new WasmDb(JSON.parse(options));
  } catch (e) {
    post({ t: 'fail', e: errorInit(e) });
    self.close();
    return;
  }
  // Every record configured here (the page's and autoConfigure's) is mirrored to the page.
  const configure = db.configureRecord.bind(db);
  db.configureRecord = (key, opts) => {
    const handle = configure(key, opts);
    if (!recs.has(key)) {
      const cap = capOf(key);
      recs.set(key, { cap, sent: null, w: 0 });
      newRecs.push([key, JSON.stringify(opts ?? {}), cap]);
    }
    return handle;
  };
  post({ t: 'ready', stats: db.stats() });
  setInterval(schedule, 16); // values a bridge or the engine produced with no page call
}

function schedule() {
  if (scheduled || dead) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    flush(false);
  });
}

function subscribe(id, key) {
  const r = recs.get(key);
  const s = { items: [], lag: 0, initial: undefined, cap: r ? r.cap : 0, stop: null };
  let first = true;
  s.stop = db.subscribe(
    key,
    (batch) => {
      if (first) {
        s.initial = batch[batch.length - 1];
        return;
      }
      if (s.cap === 0) s.items = [batch[batch.length - 1]];
      else {
        for (const v of batch) s.items.push(v);
        const over = s.items.length - s.cap; // what the page's ring could not have held
        if (over > 0) {
          s.items.splice(0, over);
          s.lag += over;
        }
      }
      schedule();
    },
    { batch: true, onLag: (n) => (s.lag += n), onError: report },
  );
  first = false;
  subs.set(id, s);
}

function bridgeConnect(id, url, o) {
  let b;
  try {
    b = WsBridge.connect(db, url, JSON.parse(o));
  } catch (e) {
    events.push([id, 'e', errorInit(e)], [id, 's', 'disconnected']);
    return;
  }
  bridges.set(id, { b, stats: '' });
  const ev = (kind, arg) => {
    events.push([id, kind, arg]);
    schedule();
  };
  ev('s', b.status);
  b.onStatusChange((s) => ev('s', s));
  b.onError((e) => ev('e', errorInit(e)));
  b.synced.then((r) => ev('y', r));
  b.configured.then((r) => ev('c', r));
}

function bridgeCall(c) {
  const x = bridges.get(c.id);
  if (!x) return;
  const b = x.b;
  try {
    if (c.t === 'bw') {
      const r = recs.get(c.k);
      if (r) r.w++;
      b.write(c.k, c.v);
    } else if (c.t === 'bs') b.subscribe(c.topics);
    else if (c.t === 'bu') b.unsubscribe(c.topics);
    else if (c.t === 'br') b.reconnect();
    else if (c.t === 'bd') b.disconnect();
    else if (c.t === 'bf') {
      bridges.delete(c.id);
      b.free();
    } else if (c.t === 'bp') {
      b.persisted().then(() => {
        events.push([c.id, 'p', c.q]);
        schedule();
      });
    } else if (c.t === 'bq') {
      b.query(c.p, c.o).then(
        (r) => events.push([c.id, 'q', [c.q, { ...r, rejected: r.rejected.map((x) => ({ ...x, error: errorInit(x.error) })) }]]),
        (e) => events.push([c.id, 'x', [c.q, errorInit(e)]]),
      ).finally(schedule);
    }
  } catch (e) {
    events.push([c.id, 'e', errorInit(e)]);
  }
}

function run(c) {
  switch (c.t) {
    case 'cfg': {
      const o = JSON.parse(c.o);
      // persist's onError (a function) stayed in the page: the worker's errors go to inWorker's onError.
      if (o.persist !== undefined && o.persist !== false) o.persist = { onError: report };
      db.configureRecord(c.k, o);
      return;
    }
    case 'set':
    case 'setm': {
      const r = recs.get(c.k);
      if (r) r.w++;
      if (c.t === 'set') db.set(c.k, c.v);
      else db.setMany(c.k, c.v);
      return;
    }
    case 'sub':
      subscribe(c.id, c.k);
      return;
    case 'unsub':
      subs.get(c.id)?.stop();
      subs.delete(c.id);
      return;
    case 'sim':
      sims.set(c.id, db.simulate(c.k, JSON.parse(c.o)));
      return;
    case 'endsim':
      sims.get(c.id)?.();
      sims.delete(c.id);
      return;
    case 'tick':
      db.setTicking(JSON.parse(c.o));
      return;
    case 'stats':
      wantStats = true;
      return;
    case 'sync':
      syncs.push(c.id);
      wantStats = true; // after `await db.sync()`, stats() is current
      return;
    case 'ack':
      credit = true;
      return;
    case 'crash': // test hook: a Rust panic, or an uncaught JS error, in the worker
      if (c.kind === 'panic') raw.__panicForTest(c.msg);
      else setTimeout(() => {
        throw new Error(c.msg);
      });
      return;
    case 'bc':
      bridgeConnect(c.id, c.url, c.o);
      return;
    default:
      bridgeCall(c);
  }
}

function flush(force) {
  checkPanic();
  if (dead || !db || (!credit && !force)) return;
  const out = { t: 'b' };
  let any = false;
  if (newRecs.length) {
    out.r = newRecs;
    newRecs = [];
    any = true;
  }
  const m = [];
  for (const [key, r] of recs) {
    let v;
    try {
      v = db.get(key);
    } catch (e) {
      continue;
    }
    if (v !== r.sent) {
      r.sent = v;
      m.push(key, v, r.w);
    }
  }
  if (m.length) out.m = m;
  const s = [];
  for (const [id, x] of subs) {
    if (x.items.length === 0 && x.lag === 0 && x.initial === undefined) continue;
    s.push([id, x.items, x.lag, x.initial]);
    x.items = [];
    x.lag = 0;
    x.initial = undefined;
  }
  if (s.length) out.s = s;
  for (const [id, x] of bridges) {
    let st;
    try {
      st = x.b.stats();
    } catch {
      continue;
    }
    const j = JSON.stringify(st);
    if (j !== x.stats) {
      x.stats = j;
      events.push([id, 't', st]);
    }
  }
  if (events.length) {
    out.g = events;
    events = [];
  }
  if (wantStats) {
    out.st = db.stats();
    wantStats = false;
  }
  if (errors.length) {
    out.e = errors;
    errors = [];
  }
  if (syncs.length) {
    out.y = syncs;
    syncs = [];
  }
  any ||= !!(out.m || out.s || out.g || out.st || out.e || out.y);
  if (!any) return;
  credit = false;
  post(out);
}

function checkPanic() {
  if (poisoned === null || dead) return;
  dead = true;
  post({ t: 'dead', e: { code: 'PANIC', message: `@aimdb/wasm (worker): ${poisoned} (the worker's db cannot be used after a panic)` } });
  self.close();
}

self.onmessage = (ev) => {
  const m = ev.data;
  if (!Array.isArray(m)) {
    if (m && m.t === 'init') start(m);
    return;
  }
  if (dead || !db) return;
  let sync = false;
  for (const c of m) {
    try {
      run(c);
    } catch (e) {
      report(e);
    }
    if (c.t === 'sync') sync = true;
  }
  checkPanic();
  if (dead) return;
  if (sync) {
    try {
      db.tick(); // what was set before the sync reaches the subscriptions now
    } catch (e) {
      report(e);
    }
    checkPanic();
    flush(true);
  } else schedule();
};
