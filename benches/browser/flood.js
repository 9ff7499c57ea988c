// The flood scenario's page (benches/browser/flood.mjs drives it): a db with a ring record
// linked to a local WebSocket server that sends N data frames as fast as it can, a batch
// subscriber that draws every item on a canvas, and a requestAnimationFrame loop recording
// the page's frame intervals; long tasks through PerformanceObserver. The same for a
// main-thread db (new WasmDb, tick 'animationFrame') and a Worker-mode db (WasmDb.inWorker,
// its default tick 'macrotask' in the worker, or `workerTick`).
//
// window.flood.run({ mode: 'main' | 'worker', url, n, capacity, workerTick? }) -> {
//   frames: [interval ms...], longTasks, longTaskMs, delivered, lagged, lost, deliveryMs, firstMs, inOrder }
import init, { WasmDb, WsBridge } from '@aimdb/wasm';

const KEY = 'bench.flood';
const TOPIC = 'bench/flood';
const canvas = document.querySelector('canvas');
const g = canvas.getContext('2d');

/** Draws a batch: one polyline of the items' values (the visualisation's work per frame). */
function draw(batch) {
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.beginPath();
  const step = canvas.width / Math.max(1, batch.length);
  for (let i = 0; i < batch.length; i++) {
    const y = canvas.height / 2 - batch[i].celsius;
    if (i === 0) g.moveTo(0, y);
    else g.lineTo(i * step, y);
  }
  g.stroke();
}

async function run({ mode, url, n, capacity, workerTick, timeoutMs = 120_000 }) {
  const db = mode === 'worker' ? await WasmDb.inWorker(workerTick ? { tick: workerTick } : {}) : new WasmDb({ tick: 'animationFrame' });
  db.configureRecord(KEY, { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity }, topic: TOPIC });
  let delivered = 0;
  let lagged = 0;
  let inOrder = true;
  let next = 0;
  let first = null;
  let last = null;
  const t0 = performance.now();
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  const check = () => {
    if (delivered + lagged >= n) resolveDone();
  };
  db.subscribe(
    KEY,
    (batch) => {
      const now = performance.now();
      first ??= now;
      last = now;
      for (const v of batch) {
        // timestamps are 0..n-1: in order, gaps only where lag was reported
        if (v.timestamp < next) inOrder = false;
        next = v.timestamp + 1;
      }
      delivered += batch.length;
      draw(batch);
      check();
    },
    { batch: true, onLag: (k) => ((lagged += k), check()) },
  );
  // Frame intervals and long tasks from the connect on.
  const frames = [];
  let prev = null;
  let running = true;
  const loop = (ts) => {
    if (!running) return;
    if (prev !== null) frames.push(ts - prev);
    prev = ts;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  const longs = [];
  const obs = new PerformanceObserver((l) => {
    for (const e of l.getEntries()) longs.push(e.duration);
  });
  obs.observe({ type: 'longtask' });
  const bridge = WsBridge.connect(db, url, { subscribeTopics: [TOPIC], lateJoin: false, autoReconnect: false });
  const timer = setTimeout(resolveDone, timeoutMs);
  await done;
  clearTimeout(timer);
  // A few more frames: what the page does right after the flood counts too.
  await new Promise((r) => setTimeout(r, 200));
  running = false;
  obs.disconnect();
  const received = bridge.stats().received;
  bridge.free();
  db.free();
  return {
    frames,
    longTasks: longs.length,
    longTaskMs: longs.reduce((a, b) => a + b, 0),
    delivered,
    lagged,
    lost: n - delivered,
    received,
    firstMs: first === null ? null : first - t0,
    deliveryMs: first === null ? null : last - first,
    inOrder,
  };
}

try {
  await init();
  window.flood = { run };
} catch (e) {
  window.floodError = String(e?.stack ?? e);
}
