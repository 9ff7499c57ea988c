// Starts the real AimDB WebSocket server (tests/server, binary `aimdb-test-server`) for
// browser/Node tests. No dependencies beyond Node's standard library.
//
//   import { startServer, buildServer } from './server.mjs';
//   const srv = await startServer({ token: 's3cret', writesLog: '/tmp/w.jsonl' });
//   // srv.url      -> 'ws://127.0.0.1:PORT/ws'
//   // srv.tokenUrl -> 'ws://127.0.0.1:PORT/ws?token=s3cret' (only when a token is set)
//   ...
//   srv.readWrites();   // [{ topic, payload }, ...] in the order the server accepted them
//   await srv.restart(); // same port, empty late-join cache, same writes log (appended)
//   await srv.stop();
//
// Server topics (see tests/server/src/main.rs):
//   sensors/temperature/vienna, sensors/temperature/berlin  {schema_version:2, celsius, timestamp} every 100 ms
//   sensors/humidity/vienna                                 {percent, timestamp}                   every 100 ms
//   sensors/bad/vienna    {"schema_version":2,"celsius":"hot","timestamp":N} every 200 ms (contract violation)
//   commands/setpoint/room1  (write) {celsius, timestamp} -> logged, echoed on echo/setpoint/room1
//   list_topics: schema_type temperature / humidity / setpoint (none for sensors/bad/vienna);
//   query: the values the server sent, per topic (see the doc header of tests/server/src/main.rs)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MANIFEST = path.join(ROOT, 'tests/server/Cargo.toml');
export const SERVER_BIN =
  process.env.AIMDB_TEST_SERVER_BIN ?? path.join(ROOT, 'target/release/aimdb-test-server');
export const WS_PATH = '/ws';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const VERBOSE = !!process.env.AIMDB_TEST_SERVER_VERBOSE;

// ------------------------------------------------------------------ build

let buildPromise;

/** Builds the release binary (once per process; cargo makes a rebuild a no-op). */
export function buildServer() {
  buildPromise ??= new Promise((resolve, reject) => {
    const args = ['build', '--release', '--manifest-path', MANIFEST, '--target-dir', path.join(ROOT, 'target')];
    const child = spawn('cargo', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; if (VERBOSE) process.stderr.write(d); });
    child.on('error', (e) => reject(new Error(`cannot run cargo: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(SERVER_BIN);
      else reject(new Error(`cargo ${args.join(' ')} failed (${signal ?? code}):\n${out.slice(-8000)}`));
    });
  });
  return buildPromise;
}

function mtimeMs(p) {
  try { return fs.statSync(p).mtimeMs; } catch { return -1; }
}

/** Builds unless the binary exists and is newer than the server's sources. */
async function ensureBuilt() {
  if (process.env.AIMDB_TEST_SERVER_BIN) return; // caller's binary, caller's business
  const bin = mtimeMs(SERVER_BIN);
  const srcDir = path.join(ROOT, 'tests/server/src');
  let sources = [MANIFEST, path.join(ROOT, 'tests/server/Cargo.lock')];
  try { sources = sources.concat(fs.readdirSync(srcDir).map((f) => path.join(srcDir, f))); } catch {}
  if (bin < 0 || sources.some((s) => mtimeMs(s) > bin)) await buildServer();
}

// ------------------------------------------------------------------ helpers

/** A free loopback port: listen on port 0, read it, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Children still running when Node exits get killed (no orphaned servers).
const live = new Set();
process.on('exit', () => { for (const c of live) { try { c.kill('SIGKILL'); } catch {} } });

// ------------------------------------------------------------------ server

/**
 * Spawns the server on a free port and waits until it accepts connections.
 * @param {{ token?: string, writesLog?: string }} [opts]
 *   token: when set, only `?token=TOKEN` upgrades are accepted (others: HTTP 401).
 *   writesLog: path of the JSON-lines writes log (default: a fresh temp file).
 */
export async function startServer({ token, writesLog } = {}) {
  await ensureBuilt();
  const port = await freePort();
  const logPath =
    writesLog ?? path.join(os.tmpdir(), `aimdb-test-server-${process.pid}-${port}-${Date.now()}.jsonl`);
  fs.writeFileSync(logPath, '', { flag: 'a' }); // exists from the start; readWrites() never throws

  let child = null;
  let exited = null; // Promise resolved on the current child's exit

  async function launch() {
    const args = ['--port', String(port), '--writes-log', logPath];
    if (token !== undefined) args.push('--token', token);
    const c = spawn(SERVER_BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    live.add(c);
    let stderr = '';
    let stdout = '';
    let listening = false;
    let exitInfo = null;
    let onListening;
    const listeningP = new Promise((r) => { onListening = r; });
    exited = new Promise((resolve) => {
      const end = (info) => { if (!exitInfo) { exitInfo = info; live.delete(c); resolve(info); } };
      c.on('exit', (code, signal) => end({ code, signal }));
      // e.g. ENOENT: no 'exit' follows, so treat it as the end of the process.
      c.on('error', (e) => { stderr += `spawn error: ${e.message}\n`; end({ code: null, signal: 'spawn error' }); });
    });
    c.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-8000);
      if (VERBOSE) process.stderr.write(`[aimdb-test-server:${port}] ${d}`);
    });
    c.stdout.on('data', (d) => {
      stdout += d;
      if (!listening && /^LISTENING \S+/m.test(stdout)) { listening = true; onListening(); }
    });

    // Ready = the server printed LISTENING (it checked its own listener) and a TCP
    // connect from here succeeds. Fail fast if it exits; give up after 20 s.
    const deadline = Date.now() + START_TIMEOUT_MS;
    const fail = (why) => {
      try { c.kill('SIGKILL'); } catch {}
      return new Error(`aimdb-test-server on port ${port}: ${why}\n${stderr.trim()}`);
    };
    let timer;
    const raced = await Promise.race([
      listeningP.then(() => 'listening'),
      exited.then(() => 'exited'),
      new Promise((r) => { timer = setTimeout(() => r('timeout'), START_TIMEOUT_MS); }),
    ]);
    clearTimeout(timer); // a pending timer would keep Node alive for 20 s
    if (raced === 'exited') throw fail(`exited before listening (${exitInfo.signal ?? `code ${exitInfo.code}`})`);
    if (raced === 'timeout') throw fail(`no LISTENING line within ${START_TIMEOUT_MS} ms`);
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      if (exitInfo) throw fail(`exited while starting (${exitInfo.signal ?? `code ${exitInfo.code}`})`);
      if (await tryConnect(port)) return;
      if (Date.now() > deadline) throw fail(`port not accepting connections within ${START_TIMEOUT_MS} ms`);
      await sleep(delay);
    }
  }

  async function stop() {
    const c = child;
    if (!c) return;
    child = null;
    if (c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGTERM');
    const t = setTimeout(() => { try { c.kill('SIGKILL'); } catch {} }, STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(t);
  }

  await launch();

  const url = `ws://127.0.0.1:${port}${WS_PATH}`;
  return {
    port,
    url,
    tokenUrl: token !== undefined ? `${url}?token=${encodeURIComponent(token)}` : undefined,
    token,
    writesLog: logPath,
    get pid() { return child?.pid; },
    stop,
    /** Stops, then starts again on the same port; resolves once it accepts connections. */
    async restart() {
      await stop();
      await launch();
    },
    /** The server's record of accepted writes, in order: [{ topic, payload }]. */
    readWrites() {
      let text = '';
      try { text = fs.readFileSync(logPath, 'utf8'); } catch { return []; }
      return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    },
  };
}
