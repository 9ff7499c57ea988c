// The install path of a new user (issue 10): installs the two tarballs of `make package`
// (target/npm/) into a scratch Vite + React + TypeScript app in target/install-test/app with
// the README's one `npm i` command, runs `tsc --noEmit` and `vite build`, serves the build on
// 127.0.0.1 and checks in headless Chromium that the value the app sets is shown, and that a
// click sets a new one; the same on a Worker-mode db (WasmDb.inWorker, its worker bundled by
// Vite). The app's other packages are pinned to the versions of the repo's package-lock.json (npm's cache serves them; the registry only when it lacks one).
//
//   node tests/install/run.mjs        (after `make package`; exit code 1 on any failure)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../js/chromium.mjs';
import { startStatic } from '../../demo/static.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NPM_DIR = path.join(ROOT, 'target/npm');
const APP = path.join(ROOT, 'target/install-test/app');
const t0 = Date.now();
const step = (what) => console.log(`[install-test +${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);
const fail = (msg) => {
  console.error(`FAIL  install test: ${msg}`);
  process.exit(1);
};

// The versions the repo pins (package-lock.json), so the scratch app builds with the same tools.
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const pinned = (name) => {
  const v = lock.packages?.[`node_modules/${name}`]?.version;
  if (!v) fail(`${name} is not in the repo's package-lock.json`);
  return v;
};
// @types/react-dom is not a repo devDependency (the repo's tests need no react-dom types);
// a TS app does need it: the release that goes with the pinned @types/react.
const TYPES_REACT_DOM = '19.3.0';

const tarball = (name) => {
  const file = fs.readdirSync(NPM_DIR).find((f) => f.startsWith(`${name}-`) && f.endsWith('.tgz'));
  if (!file) fail(`no ${name}-*.tgz in target/npm (run 'make package')`);
  return path.join(NPM_DIR, file);
};
const wasmTgz = tarball('aimdb-wasm');
const reactTgz = tarball('aimdb-react');

fs.rmSync(APP, { recursive: true, force: true });
fs.mkdirSync(APP, { recursive: true });
fs.cpSync(path.join(ROOT, 'tests/install/app'), APP, { recursive: true });
fs.writeFileSync(
  path.join(APP, 'package.json'),
  JSON.stringify(
    {
      name: 'aimdb-install-test',
      private: true,
      type: 'module',
      dependencies: { react: pinned('react'), 'react-dom': pinned('react-dom') },
      devDependencies: {
        '@types/react': pinned('@types/react'),
        '@types/react-dom': TYPES_REACT_DOM,
        typescript: pinned('typescript'),
        vite: pinned('vite'),
      },
    },
    null,
    2,
  ),
);

const run = (cmd, args) => {
  step(`${cmd} ${args.join(' ')}`);
  try {
    execFileSync(cmd, args, { cwd: APP, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (e) {
    fail(`'${cmd} ${args.join(' ')}' exited with ${e.status}`);
  }
};
// The README's Install command, as written (plus flags that only make it quieter/faster).
run('npm', ['i', wasmTgz, reactTgz, '--prefer-offline', '--no-audit', '--no-fund']);
const installed = JSON.parse(fs.readFileSync(path.join(APP, 'package.json'), 'utf8')).dependencies;
if (!installed['@aimdb/wasm'] || !installed['@aimdb/react']) fail(`npm i did not add both packages: ${JSON.stringify(installed)}`);
// Node resolves the wasm file through the package's `exports`.
let resolved;
try {
  const code = "console.log(require.resolve('@aimdb/wasm/aimdb_wasm_bindings_bg.wasm'))";
  resolved = execFileSync(process.execPath, ['-e', code], { cwd: APP, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
} catch (e) {
  fail(`require.resolve('@aimdb/wasm/aimdb_wasm_bindings_bg.wasm') threw: ${String(e.stderr).split('\n').find((l) => l.includes('Error')) ?? e.message}`);
}
if (!fs.existsSync(resolved)) fail(`require.resolve('@aimdb/wasm/aimdb_wasm_bindings_bg.wasm') gave ${resolved}, which does not exist`);
step(`require.resolve: ${path.relative(APP, resolved)}`);
run(path.join(APP, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.']);
run(path.join(APP, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn']);

step('serving dist/ and opening it in headless Chromium');
const server = await startStatic({ root: path.join(APP, 'dist') });
const browser = await launchChromium();
const problems = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  await page.goto(`${server.url}/index.html`);
  const shown = async (text, id = 'celsius') => {
    try {
      await page.waitForFunction(([t, sel]) => document.querySelector(sel)?.textContent === t, [text, `#${id}`], { timeout: 15_000 });
    } catch {
      const now = await page.evaluate((sel) => document.querySelector(sel)?.textContent ?? `(no ${sel})`, `#${id}`);
      throw new Error(`expected '${text}' in #${id}, page shows '${now}'; ${problems.join('; ')}`);
    }
  };
  await shown('21.5'); // set before the first render
  await page.click('#warmer');
  await shown('22.5'); // set from a click, delivered through a tick
  // The Worker-mode db (its worker as Vite bundled it), through the same hooks.
  await shown('30.5', 'wcelsius');
  await page.click('#wwarmer');
  await shown('31.5', 'wcelsius');
  step('Worker mode from the Vite build: value shown, click delivered');
  if (problems.length) throw new Error(problems.join('; '));
} catch (e) {
  fail(e.message);
} finally {
  await browser.close();
  await server.close();
}
console.log(`PASS  install test: npm i of both tarballs, tsc --noEmit, vite build, the built app shows the values it sets (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
