// `make demo-check`: `make demo`, headless. Starts the AimDB server and the static
// server, opens demo/ in headless Chromium (playwright-core, /usr/bin/chromium) and checks
//   server mode (?ws=): live data, a chart that moves, setpoint validation + write reaching
//     the server, a burst under animationFrame with frames still coming, a strategy switch,
//     the server stopped (writes queue) and restarted (queued writes flushed);
//   ?local: live simulated data, a chart that moves, the burst.
//   demo/react.html (the same dashboard with @aimdb/react hooks; bundled first by
//     demo/build-react.mjs into target/react-demo/ when missing or stale), ?ws= and ?local:
//     live data, a chart that moves, an inline setpoint error, a write reaching the server;
//     also on a Worker-mode db (react.html?worker);
//   ?worker (WasmDb.inWorker): connected, live data, setpoint error and write, the flood
//     (100,000 frames from benches/browser/flood-server.mjs) in both modes, frame times printed.
// Any console error or page error fails (except Chromium's own "WebSocket connection ...
// failed" lines while the server is down on purpose). Screenshot: target/demo.png.
import fs from 'node:fs/promises';
import path from 'node:path';
import { launchChromium } from '../tests/js/chromium.mjs';
import { startServer } from '../tests/js/server.mjs';
import { startStatic, ROOT } from './static.mjs';
import { startFloodServer } from '../benches/browser/flood-server.mjs';
import { buildReactDemo, OUT_DIR as REACT_OUT, SOURCES as REACT_SOURCES } from './build-react.mjs';

const SHOT = path.join(ROOT, 'target/demo.png');
let failures = 0;
const ok = (name, detail = '') => console.log(`PASS  ${name}${detail ? `  (${detail})` : ''}`);
const fail = (name, detail = '') => {
  failures++;
  console.log(`FAIL  ${name}${detail ? `\n        ${String(detail).replace(/\n/g, '\n        ')}` : ''}`);
};
async function check(name, fn) {
  try {
    const detail = await fn();
    ok(name, detail);
  } catch (e) {
    fail(name, e && e.stack ? e.stack : String(e));
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, what, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}
const demo = (page) => page.evaluate(() => {
  const d = window.__demo;
  return d && { ...d, burst: d.burst && { ...d.burst } };
});
const canvasPixels = (page) => page.evaluate(() => document.getElementById('chart').toDataURL());

/** Live data keeps arriving, and both the redraw counter and the canvas pixels change. */
async function chartMoves(page) {
  await until(async () => (await demo(page))?.ready, 'the page to start (window.__demo.ready)');
  await until(async () => (await demo(page)).items >= 60, '60 live items in the history records');
  const a = await demo(page);
  const pa = await canvasPixels(page);
  await sleep(1500);
  const b = await demo(page);
  const pb = await canvasPixels(page);
  if (b.items <= a.items) throw new Error(`no new items in 1.5 s (${a.items} -> ${b.items})`);
  if (b.draws <= a.draws) throw new Error(`no redraws in 1.5 s (${a.draws} -> ${b.draws})`);
  if (pa === pb) throw new Error('the canvas pixels did not change in 1.5 s');
  if (b.frames - a.frames < 10) throw new Error(`only ${b.frames - a.frames} animation frames in 1.5 s`);
  return `+${b.items - a.items} items, +${b.draws - a.draws} redraws, +${b.frames - a.frames} frames in 1.5 s`;
}

async function burst(page, strategy) {
  await page.selectOption('#strategy', strategy);
  await until(async () => (await demo(page)).stats?.executor.strategy === strategy, `strategy ${strategy} in the stats`, 5_000);
  const f0 = (await demo(page)).frames;
  await page.click('#burst');
  const b = await until(async () => {
    const d = await demo(page);
    return d.burst?.closed && d.burst;
  }, 'the burst to finish', 60_000);
  if (b.received !== 100_000) throw new Error(`burst received ${b.received} items, expected 100000`);
  return { ...b, framesAround: (await demo(page)).frames - f0 };
}

async function setpoint(page, text) {
  await page.fill('#setpoint-value', text);
  await page.click('#setpoint button');
  return page.textContent('#setpoint-msg');
}

function watch(page) {
  const w = { errors: [], allowWsFailures: false };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (w.allowWsFailures && /WebSocket connection to .* failed/.test(m.text())) return;
    w.errors.push(m.text());
  });
  page.on('pageerror', (e) => w.errors.push(`page error: ${e.stack ?? e}`));
  page.on('response', (r) => r.status() >= 400 && w.errors.push(`HTTP ${r.status()} ${r.url()}`));
  page.on('requestfailed', (r) => !r.url().startsWith('ws:') && w.errors.push(`request failed: ${r.url()}`));
  return w;
}

async function serverMode(browser, web, srv) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const w = watch(page);
  try {
    await page.goto(`${web.url}/demo/?ws=${srv.url}`);
    await check('server mode: connected to the AimDB server', async () => {
      await until(async () => (await demo(page))?.status === 'connected', "status 'connected'");
      return await page.textContent('#status');
    });
    await check('server mode: live data, the chart moves', () => chartMoves(page));
    await check('server mode: a bad setpoint shows the AimDbError message inline', async () => {
      const msg = await setpoint(page, 'warm');
      const cls = await page.getAttribute('#setpoint-msg', 'class');
      if (!/CONTRACT_VIOLATION/.test(msg) || !cls.includes('error')) throw new Error(`message: ${msg} (class ${cls})`);
      return msg;
    });
    await check('server mode: a setpoint write reaches the server', async () => {
      const msg = await setpoint(page, '21.5');
      await until(() => srv.readWrites().some((x) => x.payload.target_celsius === 21.5), 'the write in the server log', 10_000);
      return msg;
    });
    await check('server mode: burst under animationFrame, frames keep coming', async () => {
      const b = await burst(page, 'animationFrame');
      // 100 chunks, one per engine tick, one tick per frame: the page paints throughout.
      if (b.frames < 30) throw new Error(`only ${b.frames} frames during the burst (${b.ms.toFixed(0)} ms)`);
      if (b.worstFrameMs > 250) throw new Error(`worst frame ${b.worstFrameMs.toFixed(0)} ms during the burst`);
      return `${b.ms.toFixed(0)} ms, ${b.frames} frames, worst frame ${b.worstFrameMs.toFixed(0)} ms`;
    });
    await check('server mode: burst under microtask (for comparison; not asserted)', async () => {
      const b = await burst(page, 'microtask');
      await page.selectOption('#strategy', 'animationFrame');
      return `${b.ms.toFixed(0)} ms, ${b.frames} frames, worst frame ${b.worstFrameMs.toFixed(0)} ms`;
    });
    await check('server mode: ticking switched back to animationFrame at run time, data still live', async () => {
      await until(async () => (await demo(page)).stats?.executor.strategy === 'animationFrame', 'strategy animationFrame', 5_000);
      return chartMoves(page);
    });
    await sleep(500);
    await fs.mkdir(path.dirname(SHOT), { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: SHOT, fullPage: true });
    await check('server mode: server stopped -> writes queue; restarted -> queued writes flushed, data resumes', async () => {
      w.allowWsFailures = true;
      await srv.stop();
      await until(async () => ['reconnecting', 'connecting', 'disconnected'].includes((await demo(page)).status), 'status not connected');
      const msg = await setpoint(page, '19.25');
      if (!/queued/.test(msg)) throw new Error(`setpoint message offline: ${msg}`);
      await until(async () => (await demo(page)).bridgeStats?.queued === 1, 'one queued write in the stats');
      await srv.restart();
      await until(async () => (await demo(page)).status === 'connected', "'connected' again", 30_000);
      await until(() => srv.readWrites().some((x) => x.payload.target_celsius === 19.25), 'the queued write at the server', 10_000);
      await chartMoves(page);
      return msg;
    });
    await check('server mode: no console errors', async () => {
      if (w.errors.length) throw new Error(w.errors.join('\n'));
    });
  } finally {
    await page.close();
  }
}

async function localMode(browser, web) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const w = watch(page);
  try {
    await page.goto(`${web.url}/demo/?local`);
    await check('?local: simulated data, the chart moves', async () => {
      const r = await chartMoves(page);
      const d = await demo(page);
      if (d.mode !== 'local' || d.status !== 'local') throw new Error(`mode ${d.mode}, status ${d.status}`);
      // db.simulate feeds the records; the derived mean (a transform) shows a value.
      const counts = await page.textContent('#counts');
      if (!/mean -?\d+\.\d °C \(derived\)/.test(counts)) throw new Error(`no derived mean in: ${counts}`);
      return r;
    });
    await check('?local: a bad setpoint shows the AimDbError message inline', async () => {
      const msg = await setpoint(page, '');
      if (!/CONTRACT_VIOLATION/.test(msg)) throw new Error(`message: ${msg}`);
      return msg;
    });
    await check('?local: burst under animationFrame, frames keep coming', async () => {
      const b = await burst(page, 'animationFrame');
      if (b.frames < 30) throw new Error(`only ${b.frames} frames during the burst`);
      return `${b.ms.toFixed(0)} ms, ${b.frames} frames, worst frame ${b.worstFrameMs.toFixed(0)} ms`;
    });
    await check('?local: no console errors', async () => {
      if (w.errors.length) throw new Error(w.errors.join('\n'));
    });
  } finally {
    await page.close();
  }
}

/** Clicks the flood button and waits for its result (demo/flood.js). */
async function flood(page) {
  await until(async () => !(await page.isDisabled('#flood')), 'the flood button enabled');
  await page.click('#flood');
  const f = await until(async () => {
    const d = await page.evaluate(() => {
      const x = window.__demo.flood;
      return x && x.closed && { received: x.received, lagged: x.lagged, ms: x.ms, p50: x.p50, p99: x.p99, worst: x.worst, longTasks: x.longTasks, mode: x.mode };
    });
    return d;
  }, 'the flood to finish', 90_000);
  if (f.received + f.lagged !== 100_000) throw new Error(`flood: ${f.received} received + ${f.lagged} lagged != 100000`);
  return f;
}
const floodLine = (f) => `${f.mode}: ${f.received} frames in ${f.ms.toFixed(0)} ms, page frames p50 ${f.p50.toFixed(1)} / p99 ${f.p99.toFixed(1)} / worst ${f.worst.toFixed(0)} ms, ${f.longTasks} long tasks, ${f.lagged} lost`;

/** ?worker: the same dashboard on a Worker-mode db; the flood in both modes (frame times reported, not asserted). */
async function workerMode(browser, web, srv, floodUrl) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const w = watch(page);
  try {
    await page.goto(`${web.url}/demo/?ws=${srv.url}&flood=${floodUrl}&worker`);
    await check('?worker: connected to the AimDB server from the Worker', async () => {
      await until(async () => (await demo(page))?.status === 'connected', "status 'connected'");
      const d = await demo(page);
      if (!d.inWorker || (await page.inputValue('#engine')) !== 'worker') throw new Error(`inWorker ${d.inWorker}`);
      return await page.textContent('#status');
    });
    await check('?worker: live data, the chart moves', () => chartMoves(page));
    await check('?worker: a bad setpoint throws the same AimDbError, shown inline', async () => {
      const msg = await setpoint(page, 'warm');
      if (!/CONTRACT_VIOLATION/.test(msg)) throw new Error(`message: ${msg}`);
      return msg;
    });
    await check('?worker: a setpoint write reaches the server', async () => {
      const msg = await setpoint(page, '20.25');
      await until(() => srv.readWrites().some((x) => x.payload.target_celsius === 20.25), 'the write in the server log', 10_000);
      return msg;
    });
    await check('?worker: flood of 100,000 frames, every one delivered or reported (frame times not asserted)', async () => floodLine(await flood(page)));
    await check('?worker: no console errors', async () => {
      if (w.errors.length) throw new Error(w.errors.join('\n'));
    });
  } finally {
    await page.close();
  }
  const main = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  try {
    await main.goto(`${web.url}/demo/?ws=${srv.url}&flood=${floodUrl}`);
    await until(async () => (await demo(main))?.ready, 'the page to start');
    await check('main thread: the same flood, for comparison (frame times not asserted)', async () => floodLine(await flood(main)));
  } finally {
    await main.close();
  }
}

async function reactMode(browser, web, srv) {
  for (const [label, query] of [['react ?ws=', `?ws=${srv.url}`], ['react ?ws=&worker', `?ws=${srv.url}&worker`], ['react ?local', '?local']]) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
    const w = watch(page);
    try {
      await page.goto(`${web.url}/demo/react.html${query}`);
      if (label !== 'react ?local') {
        await check(`${label}: connected to the AimDB server (useBridgeStatus)`, async () => {
          await until(async () => (await demo(page))?.status === 'connected', "status 'connected'");
          return await page.textContent('#status');
        });
      }
      await check(`${label}: live data via useRecordHistory, the chart moves`, async () => {
        const r = await chartMoves(page);
        const d = await demo(page);
        const want = label === 'react ?local' ? 'local' : 'server';
        if (d.mode !== want) throw new Error(`mode ${d.mode}, expected ${want}`);
        return r;
      });
      await check(`${label}: engine stats via useDbStats`, async () => {
        const t0 = (await demo(page)).stats?.executor.ticks ?? 0;
        await sleep(600);
        const d = await demo(page);
        if (!(d.stats?.executor.ticks > t0)) throw new Error(`ticks did not advance (${t0} -> ${d.stats?.executor.ticks})`);
        return `${await page.locator('#stats dt').count()} rows, ticks ${t0} -> ${d.stats.executor.ticks}`;
      });
      await check(`${label}: a bad setpoint shows the AimDbError message inline`, async () => {
        const msg = await setpoint(page, 'warm');
        const cls = await page.getAttribute('#setpoint-msg', 'class');
        if (!/CONTRACT_VIOLATION/.test(msg) || !cls.includes('error')) throw new Error(`message: ${msg} (class ${cls})`);
        return msg;
      });
      await check(`${label}: a good setpoint is accepted`, async () => {
        const msg = await setpoint(page, '22.75');
        if (label !== 'react ?local') {
          await until(() => srv.readWrites().some((x) => x.payload.target_celsius === 22.75), 'the write in the server log', 10_000);
        } else if (!/set locally/.test(msg)) throw new Error(`message: ${msg}`);
        return msg;
      });
      await check(`${label}: no console errors`, async () => {
        if (w.errors.length) throw new Error(w.errors.join('\n'));
      });
    } finally {
      await page.close();
    }
  }
}

/** Builds the React demo bundle when it is missing or older than its sources. */
async function ensureReactBundle() {
  const out = await fs.stat(path.join(REACT_OUT, 'react-app.js')).catch(() => null);
  const newest = Math.max(...(await Promise.all(REACT_SOURCES.map(async (f) => (await fs.stat(f)).mtimeMs))));
  if (out && out.mtimeMs >= newest) return;
  const t0 = Date.now();
  await buildReactDemo();
  console.log(`demo-check: built ${path.relative(ROOT, REACT_OUT)}/react-app.js (${Date.now() - t0} ms)`);
}

for (const f of ['pkg/index.js', 'pkg/aimdb_wasm_bindings_bg.wasm']) {
  await fs.access(path.join(ROOT, f)).catch(() => {
    console.error(`demo-check: ${f} missing; run \`make wasm\` first`);
    process.exit(1);
  });
}
const guard = setTimeout(() => {
  console.log('FAIL  demo-check finished within 5 minutes');
  process.exit(1);
}, 300_000);
guard.unref();
await ensureReactBundle();

const srv = await startServer();
const web = await startStatic();
const floodSrv = await startFloodServer(100_000);
const browser = await launchChromium();
try {
  await serverMode(browser, web, srv);
  await localMode(browser, web);
  await workerMode(browser, web, srv, floodSrv.url);
  await reactMode(browser, web, srv);
} catch (e) {
  fail('demo-check runner', e && e.stack ? e.stack : String(e));
} finally {
  await browser.close();
  await srv.stop();
  await web.close();
  await floodSrv.close();
}
console.log(failures ? `\ndemo-check: ${failures} failed` : `\ndemo-check: all passed; screenshot ${path.relative(ROOT, SHOT)}`);
process.exit(failures ? 1 : 0);
