// WasmDb: records configured, set, read and subscribed; validate() and knownSchemas().
import { AimDbError, assertReady, call, panicError, poisoned, raw } from './runtime.js';
import { checkKey, deepFreeze, describeValue, excerpt, optionsJson, thrownText, toJson } from './values.js';

/** The database in the page: records validated by Rust contracts, run by the real AimDB engine. */
/** The RawDb of a live WasmDb (for WsBridge.connect). */
export let rawOf;

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
