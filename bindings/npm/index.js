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

/** Longest record key or schema name, in bytes of UTF-8 (aimdb-core never frees a record key);
 * `MAX_KEY_BYTES` in bindings/src/js/options.rs. Checked before a key enters wasm memory. */
const MAX_KEY_BYTES = 1024;

let ready = null;
let initialized = false;
/** The first panic's (or trap's) message: the module is unusable from then on. */
let poisoned = null;

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

const panicError = (cause) =>
  new AimDbError({ code: 'PANIC', message: `@aimdb/wasm: ${poisoned} (the module cannot be used after a panic: reload the page)`, cause });

function assertReady() {
  if (!initialized) {
    throw new AimDbError({ code: 'NOT_INITIALIZED', message: '@aimdb/wasm: call and await init() first' });
  }
  if (poisoned !== null) throw panicError();
}

function rethrow(e) {
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
function call(f) {
  if (poisoned !== null) throw panicError();
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

/** At most 200 characters of input, for an error text. */
const excerpt = (s) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/** What `v` is, for an error text: short, and never throws. */
function describeValue(v) {
  const t = typeof v;
  try {
    if (t === 'string') return JSON.stringify(excerpt(v));
    if (t === 'object') return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
    if (t === 'undefined') return t;
    return t === 'function' || t === 'symbol' ? `a ${t}` : `the ${t} ${excerpt(String(v))}`;
  } catch {
    return `a ${t}`;
  }
}

/** What user code (a getter, toJSON) threw, for an error text; never throws. */
function thrownText(e) {
  try {
    if (e instanceof Error) return excerpt(String(e.message));
  } catch {}
  return `${describeValue(e)} was thrown`;
}

/**
 * `name` if it can name a record (`what` 'record key') or a contract ('schemaType'): a
 * non-empty, well-formed string (a lone surrogate aliases another key in UTF-8) of at most
 * MAX_KEY_BYTES bytes of UTF-8. Else INVALID_KEY, naming what was given.
 */
function checkKey(name, what = 'record key', field = 'key') {
  let problem;
  if (typeof name !== 'string') problem = `must be a string, got ${describeValue(name)}`;
  else if (name === '') problem = 'is empty';
  else if (!name.isWellFormed()) problem = 'is not well-formed UTF-16 (a lone surrogate)';
  else if (name.length > MAX_KEY_BYTES / 3 && (name.length > MAX_KEY_BYTES || new TextEncoder().encode(name).length > MAX_KEY_BYTES)) {
    problem = `is longer than ${MAX_KEY_BYTES} bytes of UTF-8`;
  } else return name;
  const shown = typeof name === 'string' ? excerpt(name) : undefined;
  throw new AimDbError({ code: 'INVALID_KEY', message: `${what} ${problem}${shown ? `: ${JSON.stringify(shown)}` : ''}`, [field]: shown });
}

/**
 * JSON text of `value`; else `fail(problem, path, cause)`'s error: for what JSON.stringify
 * throws on (BigInt, cycle, a throwing getter or toJSON) and for numbers it would write as
 * null (NaN, ±Infinity), with their path (`a.b`, `list[1]`).
 */
function jsonText(value, fail) {
  let s;
  try {
    s = JSON.stringify(value);
  } catch (e) {
    throw fail(`not JSON-serializable: ${thrownText(e)}`, '', e);
  }
  // Only a text with a null in it can hide a non-finite number.
  if (s?.includes('null')) {
    const paths = new Map();
    let found;
    try {
      JSON.stringify(value, function (k, v) {
        if (found) return;
        const p = paths.get(this);
        const path = p === undefined ? '' : Array.isArray(this) ? `${p}[${k}]` : p ? `${p}.${k}` : k;
        if (typeof v === 'number' && !Number.isFinite(v)) found = fail(`not a finite number (${v})`, excerpt(path));
        else if (v && typeof v === 'object') paths.set(v, path);
        return v;
      });
    } catch {}
    if (found) throw found;
  }
  return s ?? 'null';
}

/** `the value` or `` `a.b` ``: where in a value a problem is. */
const at = (path, whole) => (path ? `\`${path}\`` : whole);

/** JSON text of a record value; what JSON cannot carry is a CONTRACT_VIOLATION at its path. */
function toJson(value, key, schemaType) {
  return jsonText(value, (problem, path, cause) =>
    new AimDbError({
      code: 'CONTRACT_VIOLATION',
      message: `${key === undefined ? '' : `record \`${excerpt(key)}\`: `}${at(path, 'the value')} is ${problem}`,
      key,
      schemaType,
      path,
      serdeMessage: problem,
      cause,
    }),
  );
}

/** JSON text of options; anything malformed or JSON cannot carry is INVALID_OPTIONS. */
function optionsJson(options, what) {
  const invalid = (message, cause) => new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid ${what}: ${message}`, cause });
  if (options == null) return '{}';
  if (typeof options !== 'object') throw invalid(`expected an object, got ${describeValue(options)}`);
  return jsonText(options, (problem, path, cause) => invalid(`${at(path, 'the options')} is ${problem}`, cause));
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
    if (poisoned !== null) throw panicError();
    if (!this.#raw) throw new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WasmDb was freed' });
    return this.#raw;
  }

  configureRecord(key, options) {
    const r = this.#live();
    checkKey(key);
    const json = optionsJson(options, 'record options');
    call(() => r.configureRecord(key, json));
  }

  set(key, value) {
    const r = this.#live();
    checkKey(key);
    const json = toJson(value, key);
    call(() => r.set(key, json));
  }

  get(key) {
    const r = this.#live();
    checkKey(key);
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
    checkKey(key);
    if (typeof callback !== 'function') {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `subscribe: callback must be a function, got ${describeValue(callback)}`, key });
    }
    let batch, onError, onLag;
    try {
      const opts = options ?? {};
      batch = opts.batch === true;
      onError = typeof opts.onError === 'function' ? opts.onError : undefined;
      onLag = typeof opts.onLag === 'function' ? opts.onLag : undefined;
    } catch (e) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid subscribe options: reading them threw: ${thrownText(e)}`, key, cause: e });
    }
    // Reports what a callback threw; never throws itself, whatever was thrown (a value
    // whose getters throw included): a throw here would break a tick or lose the handle.
    const report = (error) => {
      if (onError) {
        try {
          onError(error);
          return;
        } catch (e) {
          error = e;
        }
      }
      try {
        let name = typeof error;
        try {
          if (typeof error.name === 'string') name = excerpt(error.name);
        } catch {}
        const kind = `${key}:${name}`;
        if (!this.#reported.has(kind)) {
          this.#reported.add(kind);
          console.error(`@aimdb/wasm: a subscriber of '${excerpt(key)}' threw; later errors of this kind are not logged again`, error);
        }
      } catch {}
    };
    let active = true;
    const deliver = (json) => {
      if (!active || poisoned !== null) return;
      const value = deepFreeze(JSON.parse(json));
      try {
        callback(value);
      } catch (e) {
        report(e);
      }
    };
    const lag = onLag
      ? (skipped) => {
          if (!active || poisoned !== null) return;
          try {
            onLag(skipped);
          } catch (e) {
            report(e);
          }
        }
      : undefined;
    const id = call(() => r.subscribe(key, deliver, batch, lag));
    const unsubscribe = () => {
      if (!active) return;
      active = false;
      this.#subs.delete(unsubscribe);
      if (this.#raw && poisoned === null) call(() => this.#raw.unsubscribe(id));
    };
    this.#subs.add(unsubscribe);
    // A new subscriber gets the current value first, at once (the same frozen object
    // `get()` returns); later values arrive from the executor's ticks.
    let current;
    try {
      current = this.get(key);
    } catch (e) {
      unsubscribe();
      throw e;
    }
    if (current !== null) {
      try {
        callback(batch ? Object.freeze([current]) : current);
      } catch (e) {
        report(e);
      }
    }
    return unsubscribe;
  }

  setTicking(options) {
    const r = this.#live();
    const json = optionsJson(options, 'ticking options');
    call(() => r.setTicking(json));
  }

  stats() {
    const r = this.#live();
    return JSON.parse(call(() => r.stats()));
  }

  /** Ends every subscription and task and releases the module's memory. Idempotent. After a panic it only detaches. */
  free() {
    const r = this.#raw;
    if (!r) return;
    if (poisoned === null) for (const unsubscribe of [...this.#subs]) unsubscribe();
    this.#subs.clear();
    this.#raw = null;
    this.#cache.clear();
    if (poisoned !== null) return;
    r.dispose();
    r.free();
  }
}

/** Validates a value (or JSON text) against a contract, without a WasmDb. */
export function validate(schemaType, value) {
  assertReady();
  try {
    checkKey(schemaType, 'schemaType', 'schemaType');
    const json = typeof value === 'string' ? value : toJson(value, undefined, schemaType);
    return { ok: true, value: deepFreeze(JSON.parse(call(() => raw.validate(schemaType, json)))) };
  } catch (e) {
    if (e instanceof AimDbError && e.code !== 'PANIC') return { ok: false, error: e };
    throw e;
  }
}

/** The contracts this module carries. */
export function knownSchemas() {
  assertReady();
  return deepFreeze(JSON.parse(call(() => raw.knownSchemas())));
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
  /** Calls into #raw in progress (a listener may run inside one and call free()). */
  #depth = 0;
  /** Freed from inside a call: released when the outermost call returns. */
  #freeLater = null;
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

  /** Links the records of `db` (their `topic` and `link` options; also records configured later) and connects. */
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

  /** Runs `f(raw)`; a free() from a listener inside it takes effect when it returns. */
  #call(f) {
    const r = this.#live();
    this.#depth++;
    try {
      return call(() => f(r));
    } finally {
      if (--this.#depth === 0 && this.#freeLater) {
        const later = this.#freeLater;
        this.#freeLater = null;
        later.free();
      }
    }
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
    const json = JSON.stringify(typeof topics === 'string' ? [topics] : topics);
    this.#call((r) => r.subscribe(json));
  }

  unsubscribe(topics) {
    const json = JSON.stringify(typeof topics === 'string' ? [topics] : topics);
    this.#call((r) => r.unsubscribe(json));
  }

  /**
   * Validates `value` against the record's contract, checks the bridge can take the write,
   * then sets it locally and sends it (queued while offline). Nothing is set when it throws.
   */
  write(key, value) {
    this.#live();
    const json = toJson(value, key);
    this.#call((r) => r.write(key, json));
  }

  stats() {
    return JSON.parse(this.#call((r) => r.stats()));
  }

  /** Connects again after disconnect(), or retries at once while waiting to reconnect. */
  reconnect() {
    this.#call((r) => r.reconnect());
  }

  /** Closes on purpose: no reconnect, queued writes dropped, write() throws BRIDGE_DISCONNECTED. */
  disconnect() {
    if (this.#raw) this.#call((r) => r.disconnect());
  }

  /** Disconnects and releases the bridge's memory. Idempotent; safe from inside a listener. */
  free() {
    const r = this.#raw;
    if (!r) return;
    this.#raw = null;
    r.dispose();
    if (this.#depth > 0) this.#freeLater = r;
    else r.free();
  }

  /** Test hook: sockets whose closures the bridge still holds. */
  __heldSockets() {
    return this.#call((r) => r.__heldSockets());
  }
}

const CONNECT = Symbol('WsBridge.connect');
