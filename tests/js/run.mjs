// JS-side tests of @aimdb/wasm: serves the repository root on 127.0.0.1 (port 0),
// drives headless Chromium through playwright-core, and runs
//   a. tests/js/pages/snippet.html: the README snippet, verbatim;
//   b. tests/js/pages/facade.html: the in-page facade suite (tests/js/facade.mjs);
//   c. tests/js/pages/facade.html?suite=panic: before-init checks and the Rust panic
//      test, in their own page load (a panic may poison the module instance);
//   d. tests/js/pages/bridge.html: WsBridge against the real AimDB server (tests/js/bridge.mjs);
//   e. tests/js/pages/worker.html: Worker mode (WasmDb.inWorker), its WsBridge against the same server;
//   f. tests/js/pages/persist.html: IndexedDB persistence across pages (tests/js/persist.mjs).
// Needs `make wasm` first (pkg/). Exit code 1 on any failure.
//
//   node tests/js/run.mjs [--filter SUBSTRING] [--headed]
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { startServer as startAimDbServer, freePort } from './server.mjs';
import { startHostile } from './hostile.mjs';
import { runPersist } from './persist.mjs';
import { startStatic } from '../../demo/static.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const FILTER = filterAt >= 0 ? args[filterAt + 1] : undefined;
const PAGE_TIMEOUT_MS = 180_000;

const results = [];
function record(name, ok, detail = '', notes = []) {
  results.push({ name, ok, detail, notes });
  const mark = ok ? 'PASS' : 'FAIL';
  console.log(`${mark}  ${name}`);
  for (const n of notes) console.log(`        · ${n}`);
  if (!ok && detail) console.log(`        ${String(detail).replace(/\n/g, '\n        ')}`);
}

// ---------------------------------------------------------------- pages

/** Opens `url` in a fresh page, collecting console messages and page errors. */
async function openPage(browser, url) {
  const page = await browser.newPage();
  const consoleMessages = [];
  const pageErrors = [];
  const failedRequests = [];
  page.on('console', (msg) => consoleMessages.push({ type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => pageErrors.push(err));
  page.on('requestfailed', (req) => failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) failedRequests.push(`${res.url()}: HTTP ${res.status()}`);
  });
  await page.goto(url);
  return { page, consoleMessages, pageErrors, failedRequests };
}

const fmtErrors = (errs) => errs.map((e) => (e && e.stack ? e.stack : String(e))).join('\n');

async function runSnippet(browser, base) {
  const name = 'README snippet (pages/snippet.html): logs 22.5 exactly once, no errors';
  const { page, consoleMessages, pageErrors, failedRequests } = await openPage(browser, `${base}/tests/js/pages/snippet.html`);
  try {
    await page.waitForFunction(() => window.__done === true || window.__error !== null, null, { timeout: 30_000 });
    const state = await page.evaluate(() => ({ done: window.__done, error: window.__error }));
    const logs = consoleMessages.filter((m) => m.type === 'log').map((m) => m.text);
    const errors = consoleMessages.filter((m) => m.type === 'error').map((m) => m.text);
    const problems = [];
    if (!state.done) problems.push(`the snippet did not complete: ${state.error}`);
    if (state.error) problems.push(`window.__error: ${state.error}`);
    const hits = logs.filter((t) => t === '22.5').length;
    if (hits !== 1) problems.push(`console.log "22.5" seen ${hits} times (expected exactly 1); logs: ${JSON.stringify(logs)}`);
    if (logs.length !== hits) problems.push(`other console.log output: ${JSON.stringify(logs)}`);
    if (errors.length) problems.push(`console errors: ${JSON.stringify(errors)}`);
    if (pageErrors.length) problems.push(`page errors: ${fmtErrors(pageErrors)}`);
    if (failedRequests.length) problems.push(`failed requests: ${failedRequests.join('; ')}`);
    record(name, problems.length === 0, problems.join('\n'), [`console.log: ${JSON.stringify(logs)}`]);
  } catch (e) {
    record(name, false, `${e.message}\nconsole: ${JSON.stringify(consoleMessages)}\npage errors: ${fmtErrors(pageErrors)}`);
  } finally {
    await page.close();
  }
}

async function runFacade(browser, base, suite, expectedConsoleErrors = 0) {
  const label = `facade[${suite}]`;
  const { page, consoleMessages, pageErrors, failedRequests } = await openPage(
    browser,
    `${base}/tests/js/pages/facade.html?suite=${suite}`,
  );
  try {
    await page.waitForFunction(() => window.__finished === true, null, { timeout: PAGE_TIMEOUT_MS, polling: 100 });
  } catch (e) {
    const partial = await page.evaluate(() => window.__results ?? []).catch(() => []);
    for (const r of partial) if (!FILTER || r.name.includes(FILTER)) record(`${label} ${r.name}`, r.ok, r.error, r.notes);
    record(
      `${label}: suite finished`,
      false,
      `${e.message}\nconsole: ${JSON.stringify(consoleMessages.slice(-20))}\npage errors: ${fmtErrors(pageErrors)}`,
    );
    await page.close();
    return;
  }
  const pageResults = await page.evaluate(() => window.__results);
  for (const r of pageResults) {
    if (FILTER && !r.name.includes(FILTER)) continue;
    record(`${label} ${r.name}`, r.ok, r.error, [...r.notes, ...(r.ms > 1000 ? [`${r.ms} ms`] : [])]);
  }
  if (pageResults.length === 0) record(`${label}: has tests`, false, 'no results');
  const uncaught = await page.evaluate(() => window.__uncaught ?? []);
  const errors = consoleMessages.filter((m) => m.type === 'error').map((m) => m.text);
  const problems = [];
  for (const u of uncaught) problems.push(`uncaught error during "${u.during}":\n  ${u.error.replace(/\n/g, '\n  ')}`);
  if (pageErrors.length > uncaught.length) problems.push(`page errors: ${fmtErrors(pageErrors)}`);
  if (errors.length > expectedConsoleErrors) problems.push(`console errors: ${JSON.stringify(errors)}`);
  if (failedRequests.length) problems.push(`failed requests: ${failedRequests.join('; ')}`);
  record(`${label}: no uncaught page errors or unexpected console errors`, problems.length === 0, problems.join('\n'));
  await page.close();
}

// ---------------------------------------------------------------- WsBridge

// `page`: bridge.html (WsBridge) or worker.html (Worker mode, its bridge tests included).
async function runBridge(browser, base, pageName = 'bridge') {
  const label = pageName;
  const TOKEN = 's3cret';
  let servers;
  try {
    servers = { main: await startAimDbServer(), token: await startAimDbServer({ token: TOKEN }), hostile: await startHostile() };
  } catch (e) {
    record(`${label}: the AimDB test server starts`, false, e && e.stack ? e.stack : String(e));
    return;
  }
  const page = await browser.newPage();
  const consoleMessages = [];
  const pageErrors = [];
  page.on('console', (msg) => consoleMessages.push({ type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => pageErrors.push(err));
  try {
    await page.exposeFunction('__srv', async (cmd, which) => {
      const s = servers[which];
      if (cmd === 'stop') return s.stop();
      if (cmd === 'restart') return s.restart();
      if (cmd === 'readWrites') return s.readWrites();
      throw new Error(`unknown server command ${cmd}`);
    });
    const q = `port=${servers.main.port}&tokenPort=${servers.token.port}&token=${TOKEN}&hostilePort=${servers.hostile.port}&deadPort=${await freePort()}`;
    await page.goto(`${base}/tests/js/pages/${pageName}.html?${q}`);
    try {
      await page.waitForFunction(() => window.__finished === true, null, { timeout: PAGE_TIMEOUT_MS, polling: 200 });
    } catch (e) {
      record(`${label}: suite finished`, false, `${e.message}\nconsole: ${JSON.stringify(consoleMessages.slice(-20))}`);
    }
    const pageResults = await page.evaluate(() => window.__results ?? []);
    for (const r of pageResults) {
      if (FILTER && !`${label} ${r.name}`.includes(FILTER)) continue;
      record(`${label} ${r.name}`, r.ok, r.error, [...r.notes, ...(r.ms > 1000 ? [`${r.ms} ms`] : [])]);
    }
    if (pageResults.length === 0) record(`${label}: has tests`, false, 'no results');
    const uncaught = await page.evaluate(() => window.__uncaught ?? []);
    // Chromium logs failed WebSocket handshakes (dead port, HTTP 401) as console errors:
    // expected here; anything else is not.
    const errors = consoleMessages
      .filter((m) => m.type === 'error' && !/WebSocket connection to .* failed/.test(m.text))
      .map((m) => m.text);
    const problems = [];
    for (const u of uncaught) problems.push(`uncaught error during "${u.during}":\n  ${u.error}`);
    if (pageErrors.length > uncaught.length) problems.push(`page errors: ${fmtErrors(pageErrors)}`);
    if (errors.length) problems.push(`console errors: ${JSON.stringify(errors)}`);
    record(`${label}: no uncaught page errors or unexpected console errors`, problems.length === 0, problems.join('\n'));
  } finally {
    await page.close();
    await servers.main.stop();
    await servers.token.stop();
    await servers.hostile.close();
  }
}

// ---------------------------------------------------------------- main

async function main() {
  for (const f of ['pkg/index.js', 'pkg/aimdb_wasm_bindings.js', 'pkg/aimdb_wasm_bindings_bg.wasm']) {
    try {
      await fs.access(path.join(ROOT, f));
    } catch {
      record(`pkg/ is built (${f})`, false, 'run `make wasm` first');
      return;
    }
  }
  const server = await startStatic({ root: ROOT });
  const base = server.url;
  const browser = await launchChromium({ headed: args.includes('--headed') });
  try {
    if (!FILTER || 'README snippet'.includes(FILTER)) await runSnippet(browser, base);
    await runFacade(browser, base, 'main');
    await runFacade(browser, base, 'panic');
    if (!FILTER || 'bridge'.includes(FILTER) || FILTER.startsWith('bridge')) await runBridge(browser, base);
    if (!FILTER || 'worker'.includes(FILTER) || FILTER.startsWith('worker')) await runBridge(browser, base, 'worker');
    if (!FILTER || 'persist'.includes(FILTER) || FILTER.startsWith('persist')) await runPersist(browser, base, record, FILTER);
  } finally {
    await browser.close();
    await server.close();
  }
}

const guard = setTimeout(() => {
  record('whole run finished in time', false, 'the run took more than 10 minutes');
  summary();
  process.exit(1);
}, 600_000);
guard.unref();

function summary() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`\n${passed} passed, ${failed} failed`);
  if (failed) for (const r of results) if (!r.ok) console.log(`  failed: ${r.name}`);
  return failed;
}

try {
  await main();
} catch (e) {
  record('runner', false, e && e.stack ? e.stack : String(e));
}
process.exitCode = summary() === 0 && results.length > 0 ? 0 : 1;
