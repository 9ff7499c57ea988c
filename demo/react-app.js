// The AimDB demo dashboard again, built with the React hooks of @aimdb/react (bundled by
// demo/build-react.mjs into target/react-demo/; loaded by demo/react.html). Same data as
// demo/app.js: a WsBridge from an AimDB server (?ws=ws://HOST:PORT/ws) or simulated sources
// (?local, or no ?ws).
//
//   records ──useRecordHistory──> render ──effect──> canvas · useDbStats ──> stats panel
//
// window.__demo exposes counters for `make demo-check`.
import { createElement as h, Fragment, StrictMode, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import init, * as aimdb from '@aimdb/wasm';
import { AimDbProvider, useBridgeStatus, useDb, useDbStats, useRecordHistory, useSetRecord } from '@aimdb/react';
import { SERIES, SETPOINT, WINDOW_MS, configureRecords, countsText, drawChart, makeDb, setpointValue, startSource } from './shared.js';

const { WasmDb, AimDbError } = aimdb;
const WsBridge = aimdb.WsBridge;

const params = new URLSearchParams(location.search);
const WS_URL = params.get('ws');
const LOCAL = params.has('local') || !WS_URL || typeof WsBridge !== 'function';

const HISTORY = 400; // > 30 s at 10 Hz

const demo = (window.__demo = { ready: false, mode: LOCAL ? 'local' : 'server', items: 0, draws: 0, frames: 0 });

// ---------------------------------------------------------------- the db and its source (outside React)

await init();
const db = await makeDb(WasmDb); // ?worker: a Worker-mode db, through the same hooks
configureRecords(db);

const bridge = startSource(db, { local: LOCAL, wsUrl: WS_URL, WsBridge });

// ---------------------------------------------------------------- chart

function draw(canvas, series) {
  drawChart(canvas, series);
  demo.draws++;
}

/** [timestamp, value] pairs of the last WINDOW_MS of a history. */
function windowed(history, field) {
  const pts = history.map((v) => [v.timestamp, v[field]]);
  const cut = pts.length ? pts[pts.length - 1][0] - WINDOW_MS : 0;
  let i = 0;
  while (i < pts.length && pts[i][0] < cut) i++;
  return i ? pts.slice(i) : pts;
}

function Chart() {
  const histories = SERIES.map((s) => useRecordHistory(s.key, HISTORY)); // fixed hook order: SERIES is constant
  const canvasRef = useRef(null);
  const lastSeen = useRef(SERIES.map(() => null));
  const [size, setSize] = useState(0);
  useEffect(() => {
    const ro = new ResizeObserver(() => setSize((n) => n + 1));
    ro.observe(canvasRef.current);
    return () => ro.disconnect();
  }, []);
  const series = SERIES.map((s, i) => ({ ...s, points: windowed(histories[i], s.field) }));
  useLayoutEffect(() => {
    // Count the values that arrived since the last render (for the check).
    histories.forEach((hist, i) => {
      const seen = lastSeen.current[i];
      const from = seen === null ? -1 : hist.lastIndexOf(seen);
      demo.items += hist.length - 1 - from;
      lastSeen.current[i] = hist.length ? hist[hist.length - 1] : null;
    });
    draw(canvasRef.current, series);
  }, [...histories, size]); // eslint-disable-line react-hooks/exhaustive-deps
  const latest = series.map((s) => (s.points.length ? s.points[s.points.length - 1][1] : null));
  return h(
    'section',
    { className: 'card chart' },
    h(
      'div',
      { className: 'card-head' },
      h('h2', null, 'Live history ', h('small', null, '(SpmcRing records via useRecordHistory, last 30 s)')),
      h(
        'div',
        { className: 'legend' },
        h('span', { style: { '--c': 'var(--vienna)' } }, 'Vienna °C'),
        h('span', { style: { '--c': 'var(--berlin)' } }, 'Berlin °C'),
        h('span', { style: { '--c': 'var(--humidity)' }, className: 'dashed' }, 'Vienna humidity %'),
      ),
    ),
    h('div', { className: 'plot' }, h('canvas', { id: 'chart', ref: canvasRef, 'aria-label': 'temperature and humidity chart' })),
    h(
      'p',
      { className: 'foot' },
      h('span', { id: 'counts' }, countsText(db, latest, demo)),
    ),
  );
}

// ---------------------------------------------------------------- status, ticking, stats, setpoint

function Status() {
  const status = useBridgeStatus() ?? 'local';
  demo.status = status;
  return h('div', { id: 'status', className: 'pill', 'data-status': status }, status);
}

function Ticking() {
  const db = useDb();
  const [strategy, setStrategy] = useState('animationFrame');
  const [budget, setBudget] = useState(4);
  useEffect(() => {
    db.setTicking({ tick: strategy, budgetMs: budget });
  }, [db, strategy, budget]);
  return h(
    'section',
    { className: 'card' },
    h('h2', null, 'Ticking'),
    h('label', null, 'Strategy ',
      h('select', { id: 'strategy', value: strategy, onChange: (e) => setStrategy(e.target.value) },
        ['animationFrame', 'microtask', 'macrotask', 'idle'].map((s) => h('option', { key: s, value: s }, s)))),
    h('label', null, 'Budget ', h('output', { id: 'budget-out' }, `${budget} ms`),
      h('input', { id: 'budget', type: 'range', min: 1, max: 16, step: 1, value: budget, onChange: (e) => setBudget(Number(e.target.value)) })),
  );
}

/** Frame times of the last second, measured by a rAF loop (also counts demo.frames). */
function useFrameTimes() {
  const times = useRef([]);
  useEffect(() => {
    let last = performance.now();
    let id;
    const frame = () => {
      const now = performance.now();
      times.current.push([now, now - last]);
      last = now;
      while (times.current.length && times.current[0][0] < now - 1000) times.current.shift();
      demo.frames++;
      id = requestAnimationFrame(frame);
    };
    id = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(id);
  }, []);
  return times;
}

function Stats() {
  const st = useDbStats(250);
  const frameTimes = useFrameTimes();
  const prev = useRef(null);
  const ex = st.executor;
  const recs = Object.values(st.records);
  const p = prev.current;
  const dTicks = p ? ex.ticks - p.ticks : 0;
  const perTick = (v, pv) => (dTicks > 0 ? (v - pv) / dTicks : 0);
  const dts = frameTimes.current.map(([, d]) => d);
  const rows = [
    ['strategy', `${ex.strategy} · ${ex.lastTick.budgetMs} ms`],
    ['ticks', ex.ticks.toLocaleString('en')],
    ['polls / tick', p ? perTick(ex.polls, p.polls).toFixed(1) : ex.lastTick.polls],
    ['ms / tick', `${(p ? perTick(ex.busyMs, p.busyMs) : ex.lastTick.elapsedMs).toFixed(2)} (max ${ex.maxTickMs.toFixed(1)})`],
    ['ticks over budget', `${ex.budgetHits.toLocaleString('en')} (overruns ${ex.overruns})`, ex.overruns > 0],
    ['items delivered', recs.reduce((a, r) => a + r.delivered, 0).toLocaleString('en')],
    ['dropped / lagged', recs.reduce((a, r) => a + r.lagged, 0).toLocaleString('en')],
    ['frame time', dts.length ? `${(dts.reduce((a, b) => a + b, 0) / dts.length).toFixed(1)} ms (worst ${Math.max(...dts).toFixed(0)})` : '–', Math.max(0, ...dts) > 50],
  ];
  if (bridge) {
    const b = bridge.stats();
    rows.push(['bridge in / out', `${b.received.toLocaleString('en')} / ${b.sent}`]);
    rows.push(['writes queued', `${b.queued} (reconnects ${b.reconnects})`, b.queued > 0]);
    demo.bridgeStats = b;
  }
  useEffect(() => {
    prev.current = { ticks: ex.ticks, polls: ex.polls, busyMs: ex.busyMs };
    demo.stats = st;
  }, [st]); // eslint-disable-line react-hooks/exhaustive-deps
  return h(
    'section',
    { className: 'card' },
    h('h2', null, 'Engine stats ', h('small', null, 'useDbStats(250)')),
    h('dl', { id: 'stats' }, rows.map(([k, v, warn]) =>
      h(Fragment, { key: k }, h('dt', null, k), h('dd', warn ? { className: 'warn' } : null, v)))),
  );
}

function Setpoint() {
  const set = useSetRecord(SETPOINT);
  const status = useBridgeStatus();
  const [text, setText] = useState('21.5');
  const [msg, setMsg] = useState({ cls: 'msg', text: '' });
  const submit = (ev) => {
    ev.preventDefault();
    const raw = text.trim();
    const n = Number(raw);
    const value = setpointValue(raw);
    let next;
    try {
      if (bridge) bridge.write(SETPOINT, value);
      else set(value);
      next = {
        cls: 'msg ok',
        text: bridge
          ? status !== 'connected' ? `${n} °C queued (offline); sent when the server is back` : `${n} °C sent to commands/setpoint/room1`
          : `${n} °C set locally via useSetRecord (no server in local mode)`,
      };
    } catch (e) {
      if (!(e instanceof AimDbError)) throw e;
      next = { cls: 'msg error', text: `${e.code}: ${e.message}` };
    }
    demo.setpointMsg = next.text;
    setMsg(next);
  };
  return h(
    'section',
    { className: 'card' },
    h('h2', null, 'Setpoint ', h('small', null, 'room1')),
    h('form', { id: 'setpoint', autoComplete: 'off', onSubmit: submit },
      h('input', { id: 'setpoint-value', name: 'target_celsius', value: text, onChange: (e) => setText(e.target.value), 'aria-label': 'setpoint in °C' }),
      h('span', { className: 'unit' }, '°C'),
      h('button', { type: 'submit' }, 'Write')),
    h('p', { id: 'setpoint-msg', className: msg.cls }, msg.text),
  );
}

function BridgeError() {
  const [err, setErr] = useState('');
  useEffect(() => (bridge ? bridge.onError((e) => setErr(` · last bridge error: ${e.code}: ${e.message}`)) : undefined), []);
  return h('span', { id: 'bridge-error' }, err);
}

function App() {
  useEffect(() => {
    demo.ready = true;
  }, []);
  const source = LOCAL ? 'by the contracts\' simulated sources on the engine (db.simulate, 10 Hz).' : 'from an AimDB server over WebSocket (WsBridge).';
  const wsLabel = LOCAL ? (WS_URL ? `${WS_URL} (no WsBridge in this build: simulating)` : 'local simulation') : WS_URL;
  return h(
    Fragment,
    null,
    h('header', null,
      h('div', null,
        h('h1', null, 'AimDB ', h('span', null, 'in the browser, with React')),
        h('p', { className: 'sub' }, 'The real AimDB engine compiled to wasm, rendered with @aimdb/react hooks; fed ', h('span', { id: 'source' }, source))),
      h(Status)),
    h('main', null, h(Chart), h('aside', null, h(Ticking), h(Stats), h(Setpoint))),
    h('footer', null, 'Data: ', h('code', { id: 'ws-url' }, wsLabel), h(BridgeError)),
  );
}

createRoot(document.getElementById('root')).render(
  h(StrictMode, null, h(AimDbProvider, { db, bridge }, h(App))),
);
