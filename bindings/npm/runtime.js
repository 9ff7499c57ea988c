// The module's lifecycle: loading the wasm, the poisoned state after a panic, and every
// call into wasm (typed errors out, refused once poisoned).
import initWasm, * as raw from './aimdb_wasm_bindings.js';

const ERROR_FIELDS = ['key', 'schemaType', 'path', 'serdeMessage', 'existing', 'requested', 'topic', 'serverCode', 'reason'];

/** A typed error: `code` says what kind, the other fields say where. */
export class AimDbError extends Error {
  constructor(init) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AimDbError';
    this.code = init.code;
    for (const k of ERROR_FIELDS) if (init[k] !== undefined) this[k] = init[k];
  }
}

let ready = null;
let initialized = false;
/** The first panic's (or trap's) message: the module is unusable from then on. */
export let poisoned = null;

/** Loads the wasm module (once). `input`: a URL, Response, BufferSource or Module. */
export default async function init(input) {
  if (!ready) {
    ready = initWasm(input === undefined ? undefined : { module_or_path: input }).then(() => {
      raw.onPanic((m) => (poisoned ??= `Rust panic: ${m}`)); // also panics inside a host tick
      initialized = true;
    });
  }
  await ready;
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
