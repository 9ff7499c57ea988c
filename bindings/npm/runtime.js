// The module's lifecycle: loading the wasm, the poisoned state after a panic, and every
// call into wasm (typed errors out, refused once poisoned).
import initWasm, * as raw from './aimdb_wasm_bindings.js';
import { flatBuild, flatBuildMany, flatShape } from './values.js';

const ERROR_FIELDS = ['key', 'schemaType', 'path', 'serdeMessage', 'existing', 'requested', 'topic', 'serverCode', 'reason'];

/** A typed error: `code` says what kind, the other fields say where. */
export class AimDbError extends Error {
  /** `init`: `{ code, message, cause?, key?, schemaType?, path?, ... }` (index.d.ts: AimDbErrorInit). */
  constructor(init) {
    if (init === null || typeof init !== 'object' || typeof init.code !== 'string') {
      throw new TypeError('AimDbError: use new AimDbError({ code, message, ...fields })');
    }
    super(init.message === undefined ? '' : String(init.message), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AimDbError';
    this.code = init.code;
    for (const k of ERROR_FIELDS) if (init[k] !== undefined) this[k] = init[k];
  }
}

let ready = null;
let initialized = false;
/** The first panic's (or trap's) message: the module is unusable from then on. */
export let poisoned = null;

function finishInit() {
  if (initialized) return;
  raw.onPanic((m) => (poisoned ??= `Rust panic: ${m}`)); // also panics inside a host tick
  raw.setFlatOut(flatBuild, flatShape, flatBuildMany); // values of numbers come out as numbers (values.js)
  initialized = true;
}

/** Node's fs/promises where there is one (Node, Deno, Bun), else null. Invisible to bundlers. */
async function nodeFs() {
  const proc = globalThis.process;
  if (!proc || typeof proc.versions?.node !== 'string') return null;
  if (typeof proc.getBuiltinModule === 'function') return proc.getBuiltinModule('fs').promises; // Node >= 20.16
  const name = 'node:fs/promises';
  return import(/* @vite-ignore */ /* webpackIgnore: true */ name);
}

/**
 * What wasm-bindgen's loader gets: a `file:` URL (the default in Node, where `fetch` cannot
 * read `file:` URLs) becomes the file's bytes; anything else goes through as given.
 */
async function resolveInput(input) {
  input = await input;
  const url =
    input === undefined
      ? new URL('./aimdb_wasm_bindings_bg.wasm', import.meta.url)
      : input instanceof URL
        ? input
        : typeof input === 'string' && input.startsWith('file:')
          ? new URL(input)
          : null;
  if (url === null || url.protocol !== 'file:') return input;
  const fs = await nodeFs();
  return fs ? fs.readFile(url) : input;
}

/**
 * Loads the wasm module; resolves once it is ready (at once if it already is). `input`: a
 * URL, Response, BufferSource or Module, a promise of one, or `{ module_or_path }` holding
 * one; none: the package's own wasm file (fetched in a browser, read from disk in Node).
 * A failed load can be retried: the next call starts over.
 */
export default async function init(input) {
  if (initialized) return;
  if (!ready) {
    const given =
      input !== null && typeof input === 'object' && Object.getPrototypeOf(input) === Object.prototype && 'module_or_path' in input
        ? input.module_or_path
        : input;
    ready = resolveInput(given)
      .then((module_or_path) => initWasm(module_or_path === undefined ? undefined : { module_or_path }))
      .then(finishInit)
      .catch((e) => {
        ready = null; // the next init() tries again
        throw e;
      });
  }
  await ready;
}

/**
 * Loads the wasm module synchronously from its bytes (a BufferSource or WebAssembly.Module,
 * or `{ module }` holding one): for Workers, tests and Node, where the bytes are at hand.
 * A no-op once the module is loaded.
 */
export function initSync(module) {
  if (initialized) return;
  const given =
    module !== null && typeof module === 'object' && Object.getPrototypeOf(module) === Object.prototype && 'module' in module
      ? module.module
      : module;
  raw.initSync({ module: given });
  finishInit();
}

export const panicError = (cause) =>
  new AimDbError({ code: 'PANIC', message: `@aimdb/wasm: ${poisoned} (the module cannot be used after a panic: reload the page)`, cause });

export function assertReady() {
  if (!initialized) {
    throw new AimDbError({ code: 'NOT_INITIALIZED', message: '@aimdb/wasm: call and await init() first' });
  }
  if (poisoned !== null) throw panicError();
}

export function rethrow(e) {
  if (e instanceof AimDbError) throw e;
  if (e && e.name === 'AimDbError' && typeof e.code === 'string') throw new AimDbError(e);
  if (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) {
    // A trap leaves Rust state half-updated (RefCell borrows held): never enter it again.
    poisoned ??= `wasm trap: ${e.message}`;
    throw panicError(e);
  }
  throw e;
}

/** Runs `f`, a call into wasm: refused once poisoned; errors typed. */
export function call(f) {
  if (poisoned !== null) throw panicError();
  try {
    return f();
  } catch (e) {
    rethrow(e);
  }
}

export { raw };
