// A Node process exits once nothing is pending (issue 10): after the last subscription ends,
// no MessagePort or timer of the executor keeps the event loop alive (a db not freed included).
// Not a speed check: the child gets 20 s, far more than it needs, and fails only if it is
// still alive then.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./exit-when-idle.mjs', import.meta.url));
const KILL_AFTER_MS = 20_000;

function runChild(strategy) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, strategy], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, out });
    });
  });
}

for (const strategy of ['animationFrame', 'macrotask', 'idle', 'microtask']) {
  test(`tick '${strategy}': the process exits by itself after the last unsubscribe`, async () => {
    const { code, killed, out } = await runChild(strategy);
    assert.equal(killed, false, `still running after ${KILL_AFTER_MS / 1000} s (something keeps the event loop alive); output: ${out}`);
    assert.equal(code, 0, `exit code ${code}; output: ${out}`);
    assert.match(out, /done/);
  });
}
