// Run by exit-when-idle.test.mjs as its own process: subscribes, gets values through the
// executor's ticks, unsubscribes, and then leaves nothing pending. Node must exit by itself
// (no open MessagePort or timer may keep it alive). The db is deliberately NOT freed.
import init, { WasmDb } from '../../pkg/index.js';

await init();
const strategy = process.argv[2] ?? 'animationFrame'; // Node has no rAF: the macrotask fallback
const db = new WasmDb({ tick: strategy });
db.configureRecord('ring', { schemaType: 'humidity', buffer: { type: 'SpmcRing', capacity: 8 } });
const seen = [];
await new Promise((resolve) => {
  const unsub = db.subscribe('ring', (v) => {
    seen.push(v.percent);
    if (seen.length === 3) {
      unsub();
      resolve();
    }
  });
  for (const percent of [1, 2, 3]) db.set('ring', { percent, timestamp: percent });
});
if (seen.join() !== '1,2,3') {
  console.error(`expected 1,2,3, got ${seen.join()}`);
  process.exit(2);
}
// One more value with no subscriber: a tick may still be asked for; it must not keep Node up.
db.set('ring', { percent: 4, timestamp: 4 });
console.log(`done (${strategy}); the event loop should now be empty`);
