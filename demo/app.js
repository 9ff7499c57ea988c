// The AimDB demo page: a WasmDb in the page (or in a Worker: ?worker), fed by WsBridge from
// an AimDB server (?ws=ws://HOST:PORT/ws) or by simulated sources (?local, or no ?ws).
//
//   records ──subscribe({batch:true})──> history arrays ──requestAnimationFrame──> canvas
//
// window.__demo exposes counters for `make demo-check`.
import init, * as aimdb from '@aimdb/wasm';
import { IN_WORKER, SERIES, SETPOINT, WINDOW_MS, configureRecords, countsText, drawChart, makeDb, setpointValue, startSource } from './shared.js';
import { startFlood, floodText } from './flood.js';

const { WasmDb, AimDbError } = aimdb;
const WsBridge = aimdb.WsBridge; // undefined with an older package: then the page simulates
const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);
const WS_URL = params.get('ws');
const LOCAL = params.has('local') || !WS_URL || typeof WsBridge !== 'function';

const BURST = 'local.burst';
const BURST_TOTAL = 100_000;
const BURST_CHUNK = 1_000;

const demo = (window.__demo = { ready: false, mode: LOCAL ? 'local' : 'server', inWorker: IN_WORKER, items: 0, draws: 0, frames: 0, burst: null, flood: null });

await init();
const db = await makeDb(WasmDb); // ?worker: the engine and the bridge in a dedicated Worker
configureRecords(db);
db.configureRecord(BURST, { schemaType: 'humidity', buffer: { type: 'SpmcRing', capacity: 4096 } });

// ---------------------------------------------------------------- data in

let dirty = true;
for (const s of SERIES) {
  s.points = []; // [timestamp, value], oldest first
  db.subscribe(
    s.key,
    (batch) => {
      for (const v of batch) s.points.push([v.timestamp, v[s.field]]);
      const cut = s.points.length ? s.points[s.points.length - 1][0] - WINDOW_MS : 0;
      let drop = 0;
      while (drop < s.points.length && s.points[drop][0] < cut) drop++;
      if (drop) s.points.splice(0, drop);
      demo.items += batch.length;
      dirty = true;
    },
    { batch: true },
  );
}

const bridge = startSource(db, { local: LOCAL, wsUrl: WS_URL, WsBridge });
if (LOCAL) {
  // Simulated sources: 10 Hz, like the server's.
  $('source').textContent = 'by the contracts\' simulated sources on the engine (db.simulate, 10 Hz).';
  $('ws-url').textContent = WS_URL && typeof WsBridge !== 'function' ? `${WS_URL} (no WsBridge in this build: simulating)` : 'local simulation';
  setStatus('local', 'local');
} else {
  $('source').textContent = 'from an AimDB server over WebSocket (WsBridge).';
  $('ws-url').textContent = WS_URL;
  setStatus(bridge.status);
  bridge.onStatusChange((s) => setStatus(s));
  bridge.onError((e) => {
    $('bridge-error').textContent = ` · last bridge error: ${e.code}: ${e.message}`;
  });
}

function setStatus(status, label = status) {
  const el = $('status');
  el.dataset.status = status;
  el.textContent = label;
  demo.status = status;
}

// ---------------------------------------------------------------- chart

const canvas = $('chart');
function draw() {
  drawChart(canvas, SERIES);
  const latest = SERIES.map((s) => (s.points.length ? s.points[s.points.length - 1][1] : null));
  $('counts').textContent = countsText(db, latest, demo);
  demo.draws++;
}

// One rAF loop: measures frame time, redraws when new items arrived, refreshes stats.
const frameTimes = [];
let lastFrame = performance.now();
let lastStats = 0;
function frame() {
  // performance.now(), not the rAF timestamp: that one is the frame's vsync time and can
  // hide how long the main thread was blocked before the callback ran.
  const now = performance.now();
  const dt = now - lastFrame;
  lastFrame = now;
  frameTimes.push([now, dt]);
  while (frameTimes.length && frameTimes[0][0] < now - 1000) frameTimes.shift();
  demo.frames++;
  const b = demo.burst;
  if (b && !b.closed) {
    // The first frame after the burst ended still counts: it shows a freeze, if any.
    b.worstFrameMs = Math.max(b.worstFrameMs, dt);
    if (b.done) showBurst(b);
    else b.frames++;
  }
  demo.flood?.frame?.(dt);
  if (dirty) {
    dirty = false;
    draw();
  }
  if (now - lastStats > 250) {
    lastStats = now;
    renderStats();
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
new ResizeObserver(() => (dirty = true)).observe(canvas);

// ---------------------------------------------------------------- stats

let prev = null;
function renderStats() {
  const st = db.stats();
  const ex = st.executor;
  const recs = Object.values(st.records);
  const dTicks = prev ? ex.ticks - prev.ticks : 0;
  const perTick = (v, p) => (dTicks > 0 ? (v - p) / dTicks : 0);
  const dts = frameTimes.map(([, d]) => d);
  const rows = [
    ['strategy', `${ex.strategy} · ${ex.lastTick.budgetMs} ms`],
    ['ticks', ex.ticks.toLocaleString('en')],
    ['polls / tick', prev ? perTick(ex.polls, prev.polls).toFixed(1) : ex.lastTick.polls],
    ['ms / tick', `${(prev ? perTick(ex.busyMs, prev.busyMs) : ex.lastTick.elapsedMs).toFixed(2)} (max ${ex.maxTickMs.toFixed(1)})`],
    ['ticks over budget', `${ex.budgetHits.toLocaleString('en')} (overruns ${ex.overruns})`, ex.overruns > 0],
    ['items delivered', recs.reduce((a, r) => a + r.delivered, 0).toLocaleString('en')],
    ['dropped / lagged', recs.reduce((a, r) => a + r.lagged, 0).toLocaleString('en')],
    [
      'frame time',
      dts.length ? `${(dts.reduce((a, b) => a + b, 0) / dts.length).toFixed(1)} ms (worst ${Math.max(...dts).toFixed(0)})` : '–',
      Math.max(0, ...dts) > 50,
    ],
  ];
  if (bridge) {
    const b = bridge.stats();
    rows.push(['bridge in / out', `${b.received.toLocaleString('en')} / ${b.sent}`]);
    rows.push(['writes queued', `${b.queued} (reconnects ${b.reconnects})`, b.queued > 0]);
  }
  $('stats').innerHTML = rows
    .map(([k, v, warn]) => `<dt>${k}</dt><dd${warn ? ' class="warn"' : ''}>${v}</dd>`)
    .join('');
  prev = { ticks: ex.ticks, polls: ex.polls, busyMs: ex.busyMs };
  demo.stats = st;
  demo.bridgeStats = bridge ? bridge.stats() : null;
}

// ---------------------------------------------------------------- ticking controls

const strategy = $('strategy');
strategy.value = db.stats().executor.strategy; // a Worker-mode db ticks on 'macrotask' by default
const budget = $('budget');
function applyTicking() {
  $('budget-out').textContent = `${budget.value} ms`;
  db.setTicking({ tick: strategy.value, budgetMs: Number(budget.value) });
}
strategy.addEventListener('change', applyTicking);
budget.addEventListener('input', applyTicking);

// ---------------------------------------------------------------- burst
// 100,000 items through a local ring: the subscriber's batch callback (run by an engine
// tick) pushes the next 1,000, so the ticking strategy decides when that work runs.

db.subscribe(
  BURST,
  (items) => {
    const b = demo.burst;
    if (!b || b.done) return;
    b.received += items.length;
    for (const v of items) b.sum += v.percent;
    if (b.pushed < BURST_TOTAL) pushChunk(b);
    else if (b.received >= b.pushed) finishBurst(b);
  },
  { batch: true, onLag: (n) => demo.burst && (demo.burst.lagged += n) },
);

function pushChunk(b) {
  const n = Math.min(BURST_CHUNK, BURST_TOTAL - b.pushed);
  const timestamp = Date.now();
  for (let i = 0; i < n; i++) db.set(BURST, { percent: (b.pushed + i) % 101, timestamp });
  b.pushed += n;
}

function finishBurst(b) {
  b.done = true;
  b.ms = performance.now() - b.t0;
}

function showBurst(b) {
  b.closed = true;
  $('burst').disabled = false;
  $('burst-out').innerHTML =
    `<b>${b.received.toLocaleString('en')}</b> items in ${b.ms.toFixed(0)} ms under <b>${b.strategy}</b>: ` +
    `${b.frames} frame${b.frames === 1 ? '' : 's'} painted meanwhile, worst frame <b>${b.worstFrameMs.toFixed(0)} ms</b>` +
    (b.lagged ? `, ${b.lagged} lagged` : '') + '.';
}

$('burst').addEventListener('click', () => {
  const b = { t0: performance.now(), strategy: strategy.value, pushed: 0, received: 0, lagged: 0, sum: 0, frames: 0, worstFrameMs: 0, done: false, closed: false };
  demo.burst = b;
  $('burst').disabled = true;
  $('burst-out').textContent = `bursting under ${b.strategy}…`;
  pushChunk(b);
});

// ---------------------------------------------------------------- engine switch + flood
// The switch reloads the page with or without ?worker. The flood (?flood=, from make demo)
// sends 100,000 frames into a db of its own in the same mode and shows the page's frame times.

const engine = $('engine');
engine.value = IN_WORKER ? 'worker' : 'main';
engine.addEventListener('change', () => {
  const q = new URLSearchParams(location.search);
  if (engine.value === 'worker') q.set('worker', '');
  else q.delete('worker');
  location.search = q.toString().replace(/worker=(&|$)/, 'worker$1');
});
const FLOOD_URL = params.get('flood');
if (FLOOD_URL && typeof WsBridge === 'function') {
  $('flood').disabled = false;
  $('flood').addEventListener('click', async () => {
    $('flood').disabled = true;
    $('flood-out').textContent = `flooding (db on the ${IN_WORKER ? 'Worker' : 'main thread'})…`;
    demo.flood = await startFlood({
      WasmDb, WsBridge, url: FLOOD_URL, inWorker: IN_WORKER,
      onDone: (f) => {
        $('flood-out').innerHTML = floodText(f);
        $('flood').disabled = false;
        f.closed = true;
      },
    });
  });
}

// ---------------------------------------------------------------- setpoint

$('setpoint').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const raw = $('setpoint-value').value.trim();
  const n = Number(raw);
  const value = setpointValue(raw);
  const msg = $('setpoint-msg');
  try {
    if (bridge) bridge.write(SETPOINT, value);
    else db.set(SETPOINT, value);
    const queued = bridge && bridge.status !== 'connected';
    msg.className = 'msg ok';
    msg.textContent = bridge
      ? queued ? `${n} °C queued (offline); sent when the server is back` : `${n} °C sent to commands/setpoint/room1`
      : `${n} °C set locally (no server in local mode)`;
  } catch (e) {
    if (!(e instanceof AimDbError)) throw e;
    msg.className = 'msg error';
    msg.textContent = `${e.code}: ${e.message}`;
  }
  demo.setpointMsg = msg.textContent;
});

demo.ready = true;
