// What the two demo pages (app.js: plain DOM; react-app.js: @aimdb/react) share: the
// records, their data source, and the canvas chart.

export const SERIES = [
  { key: 'sensors.temperature.vienna', schemaType: 'temperature', field: 'celsius', color: '--vienna', axis: 'temp' },
  { key: 'sensors.temperature.berlin', schemaType: 'temperature', field: 'celsius', color: '--berlin', axis: 'temp' },
  { key: 'sensors.humidity.vienna', schemaType: 'humidity', field: 'percent', color: '--humidity', axis: 'hum', dashed: true },
];
export const SETPOINT = 'commands.setpoint.room1'; // topic commands/setpoint/room1
/** A derived record: the mean of Vienna and Berlin, a transform (join) on the engine. */
export const MEAN = 'derived.temperature.mean';
export const WINDOW_MS = 30_000;

/** `?worker`: the db runs in a dedicated Worker (WasmDb.inWorker), else on the page's thread. */
export const IN_WORKER = new URLSearchParams(location.search).has('worker');

/** The demo's db: a main-thread one ticked per animation frame, or a Worker-mode one (`?worker`). */
export function makeDb(WasmDb) {
  return IN_WORKER ? WasmDb.inWorker() : new WasmDb({ tick: 'animationFrame', budgetMs: 4 });
}

export const fmt = (v, unit) => (v == null ? '–' : `${v.toFixed(1)} ${unit}`);

/** Configures the chart records and the setpoint record on `db` (and the derived mean: a
 * transform takes a JS function, so not on a Worker-mode db). */
export function configureRecords(db) {
  for (const s of SERIES) db.configureRecord(s.key, { schemaType: s.schemaType, buffer: { type: 'SpmcRing', capacity: 256 } });
  db.configureRecord(SETPOINT, { schemaType: 'setpoint', link: 'out' });
  if (db.inWorker) return;
  db.transform(MEAN, { from: [SERIES[0].key, SERIES[1].key], schemaType: 'temperature' }, ([v, b]) => ({
    celsius: Math.round(((v.celsius + b.celsius) / 2) * 10) / 10,
    timestamp: Math.max(v.timestamp, b.timestamp),
  }));
}

/** The footer line: latest values (`latest`: per SERIES), the derived mean, counters. */
export function countsText(db, latest, demo) {
  return `Vienna ${fmt(latest[0], '°C')} · Berlin ${fmt(latest[1], '°C')} · humidity ${fmt(latest[2], '%')} · ` +
    (db.inWorker ? '' : `mean ${fmt(db.get(MEAN)?.celsius, '°C')} (derived) · `) +
    `${demo.items.toLocaleString('en')} items received · ${demo.draws.toLocaleString('en')} redraws`;
}

/**
 * The setpoint form's value, `{ target_celsius, timestamp }` (the `setpoint` contract).
 * What was typed is passed as is when it is not a number: the contract decides, and its
 * error names the field.
 */
export function setpointValue(raw) {
  const n = Number(raw);
  return { target_celsius: raw !== '' && Number.isFinite(n) ? n : raw, timestamp: Date.now() };
}

/**
 * Feeds the chart records: the contracts' simulated sources (db.simulate, 10 Hz) when `local`, else a
 * WsBridge to `wsUrl`. Returns the bridge, or null.
 */
export function startSource(db, { local, wsUrl, WsBridge }) {
  if (!local) {
    return WsBridge.connect(db, wsUrl, {
      subscribeTopics: ['sensors/temperature/+', 'sensors/humidity/+'],
      lateJoin: true,
      autoReconnect: { initialMs: 250, maxMs: 2000 },
    });
  }
  // The contracts' simulated sources, on the engine's clock (no page timers).
  SERIES.forEach((s, i) => db.simulate(s.key, { hz: 10, seed: i + 1 }));
  return null;
}

const css = getComputedStyle(document.documentElement);
const color = (name) => css.getPropertyValue(name).trim();

function range(series, pad, min) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) for (const [, v] of s.points) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < min) (lo -= (min - (hi - lo)) / 2), (hi = lo + min);
  return [lo - pad, hi + pad];
}

/** Draws `series` (each `{ points: [[timestamp, value], ...], color, axis, dashed }`, oldest first). */
export function drawChart(canvas, series) {
  const ctx = canvas.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const L = 44, R = 44, T = 10, B = 24;
  const pw = w - L - R, ph = h - T - B;
  const now = Math.max(0, ...series.map((s) => (s.points.length ? s.points[s.points.length - 1][0] : 0)));
  const x = (t) => L + pw * (1 - (now - t) / WINDOW_MS);
  const temp = range(series.filter((s) => s.axis === 'temp'), 0.5, 2);
  const hum = range(series.filter((s) => s.axis === 'hum'), 2, 10);
  const y = (s, v) => {
    const [lo, hi] = s.axis === 'temp' ? temp : hum;
    return T + ph * (1 - (v - lo) / (hi - lo));
  };

  // grid + axes
  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = color('--line');
  ctx.fillStyle = color('--muted');
  for (let i = 0; i <= 4; i++) {
    const gy = T + (ph * i) / 4;
    ctx.beginPath();
    ctx.moveTo(L, gy);
    ctx.lineTo(L + pw, gy);
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillText((temp[1] - ((temp[1] - temp[0]) * i) / 4).toFixed(1), L - 6, gy + 4);
    ctx.textAlign = 'left';
    ctx.fillText(`${(hum[1] - ((hum[1] - hum[0]) * i) / 4).toFixed(0)}%`, L + pw + 6, gy + 4);
  }
  ctx.textAlign = 'center';
  for (let s = 0; s <= 30; s += 5) ctx.fillText(s ? `-${s}s` : 'now', x(now - s * 1000), h - 6);

  // series
  for (const s of series) {
    if (s.points.length < 2) continue;
    ctx.strokeStyle = color(s.color);
    ctx.lineWidth = 2;
    ctx.setLineDash(s.dashed ? [6, 4] : []);
    ctx.beginPath();
    s.points.forEach(([t, v], i) => (i ? ctx.lineTo(x(t), y(s, v)) : ctx.moveTo(x(t), y(s, v))));
    ctx.stroke();
    ctx.fillStyle = color(s.color);
    ctx.beginPath();
    ctx.arc(x(now), y(s, s.points[s.points.length - 1][1]), 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.setLineDash([]);
}
