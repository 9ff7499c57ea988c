// The demo's flood button (?flood=ws://... : the flood server demo/serve.mjs starts, the one
// of benches/browser/flood.mjs): 100,000 data frames as fast as the server can send them into
// a ring record of a db of its own (on the page's thread, or in a Worker with ?worker), a
// batch subscriber that counts them, and the page's frame times meanwhile.
export const FLOOD_N = 100_000;
const TOPIC = 'bench/flood';

const pct = (xs, p) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] : 0;
};

/**
 * Starts a flood; returns its state: `frame(dt)` takes the page's frame intervals (the demo's
 * rAF loop calls it), `onDone(state)` runs once every item was delivered or reported lost.
 */
export async function startFlood({ WasmDb, WsBridge, url, inWorker, onDone }) {
  const db = inWorker ? await WasmDb.inWorker() : new WasmDb({ tick: 'animationFrame', budgetMs: 4 });
  const f = { mode: inWorker ? 'Worker' : 'main thread', t0: performance.now(), received: 0, lagged: 0, intervals: [], longTasks: 0, done: false, ms: 0 };
  const obs = new PerformanceObserver((l) => (f.longTasks += l.getEntries().length));
  obs.observe({ type: 'longtask' });
  let bridge = null;
  const finish = () => {
    if (f.done || f.received + f.lagged < FLOOD_N) return;
    f.done = true;
    f.ms = performance.now() - f.t0;
    // One more frame: a freeze right at the end counts too.
    requestAnimationFrame(() => {
      obs.disconnect();
      bridge?.free();
      db.free();
      f.p50 = pct(f.intervals, 50);
      f.p99 = pct(f.intervals, 99);
      f.worst = Math.max(0, ...f.intervals);
      onDone(f);
    });
  };
  f.frame = (dt) => {
    if (!f.done) f.intervals.push(dt);
  };
  db.configureRecord('flood', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 4096 }, topic: TOPIC });
  db.subscribe('flood', (batch) => ((f.received += batch.length), finish()), { batch: true, onLag: (n) => ((f.lagged += n), finish()) });
  bridge = WsBridge.connect(db, url, { subscribeTopics: [TOPIC], lateJoin: false, autoReconnect: false });
  return f;
}

/** The line the demo shows for a finished flood. */
export const floodText = (f) =>
  `<b>${f.received.toLocaleString('en')}</b> frames in ${f.ms.toFixed(0)} ms, db on the <b>${f.mode}</b>: ` +
  `page frames p50 ${f.p50.toFixed(1)} ms, p99 <b>${f.p99.toFixed(1)} ms</b>, worst ${f.worst.toFixed(0)} ms; ` +
  `${f.longTasks} long task${f.longTasks === 1 ? '' : 's'}` + (f.lagged ? `, ${f.lagged.toLocaleString('en')} lost to lag` : ', none lost') + '.';
