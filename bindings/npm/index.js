// @aimdb/wasm: the public API over the wasm-bindgen module. Values cross the boundary
// as JSON text (exact integer timestamps); every value handed out is deep-frozen, and
// `get()` returns the same object until the record's value changes.
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

/** Loads the wasm module (once). `input`: a URL, Response, BufferSource or Module. */
export default async function init(input) {
  if (!ready) {
    ready = initWasm(input === undefined ? undefined : { module_or_path: input }).then(() => {
      initialized = true;
    });
  }
  await ready;
}

function assertReady() {
  if (!initialized) {
    throw new AimDbError({ code: 'NOT_INITIALIZED', message: '@aimdb/wasm: call and await init() first' });
  }
}

function rethrow(e) {
  if (e instanceof AimDbError) throw e;
  if (e && e.name === 'AimDbError' && typeof e.code === 'string') throw new AimDbError(e);
  if (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) {
    const panic = raw.takePanic();
    throw new AimDbError({
      code: 'PANIC',
      message: panic ? `@aimdb/wasm: Rust panic: ${panic}` : `@aimdb/wasm: wasm trap: ${e.message}`,
      cause: e,
    });
  }
  throw e;
}

function call(f) {
  try {
    return f();
  } catch (e) {
    rethrow(e);
  }
}

function deepFreeze(v) {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze(v[k]);
    Object.freeze(v);
  }
  return v;
}

/** JSON text of a value; a value JSON cannot carry (BigInt, cycle) is a contract violation. */
function toJson(value, key, schemaType) {
  try {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  } catch (e) {
    throw new AimDbError({
      code: 'CONTRACT_VIOLATION',
      message: `${key ? `record \`${key}\`: ` : ''}value is not JSON-serializable: ${e.message}`,
      key,
      schemaType,
      path: '',
      serdeMessage: String(e.message),
      cause: e,
    });
  }
}

function optionsJson(options, what) {
  if (options === undefined || options === null) return '{}';
  if (typeof options !== 'object') {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid ${what}: expected an object` });
  }
  return JSON.stringify(options);
}

/** The database in the page: records validated by Rust contracts, run by the real AimDB engine. */
let rawOf;

export class WasmDb {
  static {
    rawOf = (db) => db.#live();
  }
  #raw;
  #cache = new Map();
  #subs = new Set();
  #reported = new Set();

  constructor(options) {
    assertReady();
    this.#raw = call(() => new raw.RawDb(optionsJson(options, 'WasmDb options')));
  }

  #live() {
    if (!this.#raw) throw new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WasmDb was freed' });
    return this.#raw;
  }

  configureRecord(key, options) {
    const r = this.#live();
    if (typeof key !== 'string') {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'invalid record key: expected a string' });
    }
    call(() => r.configureRecord(key, optionsJson(options, 'record options')));
  }

  set(key, value) {
    const r = this.#live();
    const json = toJson(value, key);
    call(() => r.set(key, json));
  }

  get(key) {
    const r = this.#live();
    const version = call(() => r.version(key));
    let c = this.#cache.get(key);
    if (!c || c.version !== version) {
      const json = call(() => r.latest(key));
      c = { version, value: json === undefined ? null : deepFreeze(JSON.parse(json)) };
      this.#cache.set(key, c);
    }
    return c.value;
  }

  subscribe(key, callback, options) {
    const r = this.#live();
    if (typeof callback !== 'function') {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'subscribe: callback must be a function', key });
    }
    const opts = options ?? {};
    const batch = opts.batch === true;
    const onError = typeof opts.onError === 'function' ? opts.onError : undefined;
    const onLag = typeof opts.onLag === 'function' ? opts.onLag : undefined;
    const report = (error) => {
      if (onError) {
        try {
          onError(error);
          return;
        } catch (e) {
          error = e;
        }
      }
      const kind = `${key}:${error && error.name ? error.name : typeof error}`;
      if (!this.#reported.has(kind)) {
        this.#reported.add(kind);
        console.error(`@aimdb/wasm: a subscriber of '${key}' threw; later errors of this kind are not logged again`, error);
      }
    };
    let active = true;
    const deliver = (json) => {
      if (!active) return;
      const value = deepFreeze(JSON.parse(json));
      try {
        callback(value);
      } catch (e) {
        report(e);
      }
    };
    const lag = onLag
      ? (skipped) => {
          if (!active) return;
          try {
            onLag(skipped);
          } catch (e) {
            report(e);
          }
        }
      : undefined;
    const id = call(() => r.subscribe(key, deliver, batch, lag));
    // A new subscriber gets the current value first, at once (the same frozen object
    // `get()` returns); later values arrive from the executor's ticks.
    const current = this.get(key);
    if (current !== null) {
      try {
        callback(batch ? Object.freeze([current]) : current);
      } catch (e) {
        report(e);
      }
    }
    const unsubscribe = () => {
      if (!active) return;
      active = false;
      this.#subs.delete(unsubscribe);
      if (this.#raw) this.#raw.unsubscribe(id);
    };
    this.#subs.add(unsubscribe);
    return unsubscribe;
  }

  setTicking(options) {
    const r = this.#live();
    call(() => r.setTicking(optionsJson(options, 'ticking options')));
  }

  stats() {
    const r = this.#live();
    return JSON.parse(call(() => r.stats()));
  }

  /** Ends every subscription and task and releases the module's memory. Idempotent. */
  free() {
    const r = this.#raw;
    if (!r) return;
    for (const unsubscribe of [...this.#subs]) unsubscribe();
    this.#raw = null;
    this.#cache.clear();
    r.dispose();
    r.free();
  }
}

/** Validates a value (or JSON text) against a contract, without a WasmDb. */
export function validate(schemaType, value) {
  assertReady();
  try {
    const json = typeof value === 'string' ? value : toJson(value, undefined, schemaType);
    return { ok: true, value: deepFreeze(JSON.parse(call(() => raw.validate(schemaType, json)))) };
  } catch (e) {
    if (e instanceof AimDbError) return { ok: false, error: e };
    throw e;
  }
}

/** The contracts this module carries. */
export function knownSchemas() {
  assertReady();
  return deepFreeze(JSON.parse(raw.knownSchemas()));
}

const STATUSES = ['connecting', 'connected', 'disconnected', 'reconnecting'];

function notify(set, arg, what) {
  for (const cb of [...set]) {
    try {
      cb(arg);
    } catch (e) {
      console.error(`@aimdb/wasm: a WsBridge ${what} listener threw`, e);
    }
  }
}

/** Links a WasmDb's records to an AimDB server over WebSocket. */
export class WsBridge {
  #raw = null;
  #status = 'disconnected';
  #statusCbs = new Set();
  #errorCbs = new Set();
  #resolveSynced;
  /** Resolves once per bridge, when the first connection's late-join phase is over. */
  synced;

  constructor(token) {
    if (token !== CONNECT) throw new TypeError('use WsBridge.connect(db, url, options)');
    this.synced = new Promise((r) => {
      this.#resolveSynced = r;
    });
  }

  /** Links the records configured in `db` so far (their `topic` and `link` options) and connects. */
  static connect(db, url, options) {
    assertReady();
    if (!(db instanceof WasmDb)) throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'WsBridge.connect: db must be a WasmDb' });
    if (typeof url !== 'string') throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'WsBridge.connect: url must be a string' });
    if (typeof raw.RawBridge !== 'function') {
      throw new AimDbError({ code: 'NOT_AVAILABLE', message: 'WsBridge: this build of @aimdb/wasm was made without the bridge feature' });
    }
    const b = new WsBridge(CONNECT);
    const rawDb = rawOf(db);
    const onStatus = (s) => {
      if (!STATUSES.includes(s) || s === b.#status) return;
      b.#status = s;
      notify(b.#statusCbs, s, 'status');
    };
    const onError = (e) => notify(b.#errorCbs, e && e.name === 'AimDbError' ? new AimDbError(e) : e, 'error');
    const onSynced = (json) => b.#resolveSynced(Object.freeze(JSON.parse(json)));
    b.#raw = call(() => raw.RawBridge.connect(rawDb, url, optionsJson(options, 'WsBridge options'), onStatus, onError, onSynced));
    return b;
  }

  #live() {
    if (!this.#raw) throw new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WsBridge was freed' });
    return this.#raw;
  }

  /** 'connecting' | 'connected' | 'disconnected' | 'reconnecting'. */
  get status() {
    return this.#status;
  }

  onStatusChange(cb) {
    this.#statusCbs.add(cb);
    return () => this.#statusCbs.delete(cb);
  }

  onError(cb) {
    this.#errorCbs.add(cb);
    return () => this.#errorCbs.delete(cb);
  }

  subscribe(topics) {
    const r = this.#live();
    call(() => r.subscribe(JSON.stringify(typeof topics === 'string' ? [topics] : topics)));
  }

  unsubscribe(topics) {
    const r = this.#live();
    call(() => r.unsubscribe(JSON.stringify(typeof topics === 'string' ? [topics] : topics)));
  }

  /** Validates `value` against the record's contract, sets it locally and sends it (queued while offline). */
  write(key, value) {
    const r = this.#live();
    const json = toJson(value, key);
    call(() => r.write(key, json));
  }

  stats() {
    return JSON.parse(this.#live().stats());
  }

  /** Connects again after disconnect(), or retries at once while waiting to reconnect. */
  reconnect() {
    this.#live().reconnect();
  }

  /** Closes on purpose: no reconnect, queued writes dropped, write() throws BRIDGE_DISCONNECTED. */
  disconnect() {
    if (this.#raw) this.#raw.disconnect();
  }

  /** Disconnects and releases the bridge's memory. Idempotent. */
  free() {
    const r = this.#raw;
    if (!r) return;
    this.#raw = null;
    r.dispose();
    r.free();
  }
}

const CONNECT = Symbol('WsBridge.connect');
