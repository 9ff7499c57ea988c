// The in-page test harness of the bridge and Worker-mode pages (bridge.mjs, worker.mjs):
// tests registered with `test`, run in order by `runAll` once the package is initialised,
// each with a timeout. Results go to `window.__results`, `window.__finished` ends the run,
// and uncaught errors (e.g. thrown from a host callback) go to `window.__uncaught`,
// attributed to the test that was running; tests/js/run.mjs reports them all.

import { AssertionError, sleep } from './wait.mjs';

export { AssertionError, assert, sleep, until } from './wait.mjs';

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

/** Registers a test; `fn(t)` may call `t.note(text)` to add a line to the report. */
export const test = (name, fn) => tests.push({ name, fn });
/** Awaits `init()` (the package's), then runs every registered test in order. */
export function runAll(init) {
  return (async () => {
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
  })().catch((e) => {
    results.push({ name: 'runner', ok: false, notes: [], error: String(e?.stack ?? e) });
    window.__finished = true;
  });
}
