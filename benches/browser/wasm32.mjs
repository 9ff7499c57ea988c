// Runs the wasm32 buffer micro-benches (benches/browser/buffers/, built by
// scripts/bench-browser-buffers.sh) in Node: our SpmcRing vs the published
// aimdb-wasm-adapter 0.2.0's ring and a raw VecDeque, ring capacity 4096, 1/4/16 readers.
// Prints ns per pushed item (one push + its R deliveries; median of several samples), the
// ratio to the raw VecDeque, and published / ours (> 1: ours is faster); writes
// target/bench-browser/wasm32.json.   node benches/browser/wasm32.mjs [--smoke]
import fs from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../demo/static.mjs';

const SMOKE = process.argv.includes('--smoke');
const dir = path.join(ROOT, 'target/bench-browser/buffers');
const { initSync, spmc } = await import(path.join(dir, 'buffers.js'));
initSync({ module: await fs.readFile(path.join(dir, 'buffers_bg.wasm')) });

const CAP = 4096;
const READERS = [1, 4, 16];
const CONTENDERS = ['ours_next', 'ours_batch', 'published', 'published_try_recv', 'raw_vecdeque'];
const SAMPLES = SMOKE ? 1 : 9;
/** About 20 ms per sample: iterations of N = 1024 items. */
const itersFor = (nsPerItem) => (SMOKE ? 1 : Math.max(1, Math.round(20e6 / (nsPerItem * 1024))));

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

const results = {};
for (const r of READERS) {
  results[r] = {};
  for (const c of CONTENDERS) {
    const probe = spmc(c, r, CAP, SMOKE ? 1 : 20); // warm-up, and sizes the samples
    const iters = itersFor(Math.max(probe, 0.5));
    const samples = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(spmc(c, r, CAP, iters));
    results[r][c] = { ns: median(samples), samples, iters };
  }
}

console.log(`\nwasm32 (Node ${process.version}), SPMC ring capacity ${CAP}: ns per pushed item (push + R deliveries), medians of ${SAMPLES}`);
const head = ['R', ...CONTENDERS.map((c) => c.padStart(18)), '  published/ours_next', '  published/ours_batch'];
console.log(head.join(' '));
for (const r of READERS) {
  const x = results[r];
  const raw = x.raw_vecdeque.ns;
  const cells = CONTENDERS.map((c) => `${x[c].ns.toFixed(1)} (${(x[c].ns / raw).toFixed(1)}x)`.padStart(18));
  console.log([String(r).padEnd(1), ...cells, (x.published.ns / x.ours_next.ns).toFixed(2).padStart(21), (x.published.ns / x.ours_batch.ns).toFixed(2).padStart(22)].join(' '));
}
console.log('(Nx): ratio to the raw VecDeque. Goal (issue 9): published/ours_next >= 3 at R=1, >= 4 at R>=4.');
const out = path.join(ROOT, 'target/bench-browser', SMOKE ? 'wasm32-smoke.json' : 'wasm32.json');
await fs.writeFile(out, JSON.stringify({ when: new Date().toISOString(), node: process.version, cap: CAP, results }, null, 1));
console.log(`written: ${path.relative(ROOT, out)}`);
