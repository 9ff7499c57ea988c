// WasmDb: records configured, set, read and subscribed; validate() and knownSchemas().
import { AimDbError, assertReady, call, panicError, poisoned, raw, rethrow } from './runtime.js';
import { checkKey, deepFreeze, describeValue, excerpt, flatEncode, flatEncodeMany, optionsJson, reporter, subscribeOptions, tapeDone, tapeEncode, tapeStrs, thrownText, toJson } from './values.js';
import { persistRecord, splitPersist } from './persist.js';

/** The RawDb of a live WasmDb (for WsBridge.connect). */
export let rawOf;
/** Internal calls of a WasmDb by record handle (for RecordHandle). */
let at;

/** A configured record, by handle: get/set/setMany/subscribe without the key lookup and key checks. */
export class RecordHandle {
  #db;
  #h;
  constructor(db, h, key) {
    this.#db = db;
    this.#h = h;
    /** The record's key. */
    this.key = key;
    Object.freeze(this);
  }
  get() {
    return at.get(this.#db, this.#h);
  }
  set(value) {
    at.set(this.#db, this.#h, this.key, value);
  }
  setMany(values) {
    at.setMany(this.#db, this.#h, this.key, values);
  }
  subscribe(callback, options) {
    return at.subscribe(this.#db, this.#h, this.key, callback, options);
  }
}


/** The database in the page: records validated by Rust contracts, run by the real AimDB engine. */
export class WasmDb {
  static {
    rawOf = (db) => db.#live();
    at = {
      get: (db, h) => db.#getAt(h),
      set: (db, h, key, value) => db.#setAt(h, key, value),
      setMany: (db, h, key, values) => db.#setManyAt(h, key, values),
      subscribe: (db, h, key, callback, options) => db.#subscribeAt(h, key, callback, options),
    };
  }
  #raw;
  /** key -> handle (u32) of every configured record (keys in it passed checkKey). */
  #handles = new Map();
  /** key -> RecordHandle, made by configureRecord / record(). */
  #records = new Map();
  /** By handle: the contract struct's fields of the flat fast path (null: none), asked once. */
  #flat = [];
  #subs = new Set();
  #reported = new Set();
  /** Keys configured with `persist` (stored and restored once per db). */
  #persisted = new Set();

  /** A db whose engine and bridges run in a dedicated Worker (worker-db.js); resolves once it runs. */
  static inWorker(options) {
    return import('./worker-db.js').then((m) => m.startWorkerDb(options));
  }

  /** false: this db runs on the page's thread. */
  get inWorker() {
    return false;
  }

  constructor(options) {
    assertReady();
    this.#raw = call(() => new raw.RawDb(optionsJson(options, 'WasmDb options')));
  }

  #live() {
    if (poisoned !== null) throw panicError();
    if (!this.#raw) throw new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WasmDb was freed' });
    return this.#raw;
  }

  /** The handle of `key`'s record; INVALID_KEY / UNKNOWN_KEY otherwise. */
  #handle(key) {
    const h = this.#handles.get(key);
    if (h !== undefined) return h;
    checkKey(key);
    throw new AimDbError({ code: 'UNKNOWN_KEY', message: `no record is configured under \`${excerpt(key)}\``, key });
  }

  configureRecord(key, options) {
    const r = this.#live();
    checkKey(key);
    // `persist` is the wrapper's (persist.js): the Rust options reader does not know it.
    let persist;
    [persist, options] = splitPersist(options, key);
    const json = optionsJson(options, 'record options');
    this.#handles.set(key, call(() => r.configureRecord(key, json)));
    if (persist !== null && !this.#persisted.has(key)) {
      this.#persisted.add(key);
      persistRecord(this, key, persist.onError, {
        stats: () => this.stats().records[key],
        tap: (fn) => this.tap(key, fn),
        restore: (vs) => call(() => this.#live().restoreTexts(this.#handle(key), vs.map((v) => JSON.stringify(v)))),
        validate,
      });
    }
    return this.record(key);
  }

  record(key) {
    this.#live();
    const h = this.#handle(key);
    let rec = this.#records.get(key);
    if (rec === undefined) {
      rec = new RecordHandle(this, h, key);
      this.#records.set(key, rec);
    }
    return rec;
  }

  set(key, value) {
    // One lookup: a freed db has no handles (then #live throws first).
    const h = this.#handles.get(key);
    this.#setAt(h !== undefined ? h : (this.#live(), this.#handle(key)), key, value);
  }

  setMany(key, values) {
    this.#live();
    this.#setManyAt(this.#handle(key), key, values);
  }

  get(key) {
    this.#live();
    return this.#getAt(this.#handle(key));
  }

  subscribe(key, callback, options) {
    this.#live();
    return this.#subscribeAt(this.#handle(key), key, callback, options);
  }

  // An object of numbers goes in flat (one slot per field of the contract's struct, one
  // call); anything else, or what the flat path declines, on the tape (one call); what the
  // tape does not take is either what JSON cannot carry (toJson throws CONTRACT_VIOLATION
  // at its path) or goes in as JSON text.
  #setAt(h, key, value) {
    const r = this.#live();
    const fields = this.#flat[h] ?? this.#flatFields(h);
    const nulls = fields === null ? -1 : flatEncode(value, fields);
    if (nulls >= 0) {
      try {
        if (r.setFlat(h, fields.length, nulls)) return;
      } catch (e) {
        rethrow(e);
      }
    }
    const len = tapeEncode(value);
    if (len < 0) {
      const json = toJson(value, key);
      call(() => r.setText(h, json));
      return;
    }
    try {
      r.setTape(h, len, tapeStrs());
    } catch (e) {
      rethrow(e);
    } finally {
      tapeDone();
    }
  }

  /** The flat fast path's fields of record `h` (null: none), asked once. */
  #flatFields(h) {
    let fields = this.#flat[h];
    if (fields === undefined) fields = this.#flat[h] = call(() => this.#raw.flatFieldsAt(h)) ?? null;
    return fields;
  }

  #setManyAt(h, key, values) {
    const r = this.#live();
    if (!Array.isArray(values)) {
      throw new AimDbError({ code: 'CONTRACT_VIOLATION', message: `record \`${excerpt(key)}\`: setMany takes an array of values, got ${describeValue(values)}`, key, path: '', serdeMessage: `expected an array, got ${describeValue(values)}` });
    }
    const fields = this.#flatFields(h);
    if (fields !== null && values.length > 0 && flatEncodeMany(values, fields)) {
      try {
        if (r.setManyFlat(h, values.length) !== undefined) return;
      } catch (e) {
        rethrow(e);
      }
    }
    const len = tapeEncode(values);
    if (len < 0) {
      toJson(values, key); // what JSON cannot carry, at its path ([3].celsius)
      const texts = values.map((v) => toJson(v, key));
      call(() => r.setManyText(h, texts));
      return;
    }
    try {
      r.setManyTape(h, len, tapeStrs());
    } catch (e) {
      rethrow(e);
    } finally {
      tapeDone();
    }
  }

  #getAt(h) {
    const r = this.#live();
    let v;
    try {
      v = r.latestAt(h);
    } catch (e) {
      rethrow(e);
    }
    // The same object until the value changes (Rust keeps it per version): frozen once.
    return v === undefined ? null : deepFreeze(v);
  }

  /** A transform: fn's output of the inputs' values, validated and set on outKey. */
  transform(outKey, options, fn) {
    this.#live();
    checkKey(outKey);
    if (typeof fn !== 'function') {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `transform: fn must be a function, got ${describeValue(fn)}`, key: outKey });
    }
    let from, onError, record;
    try {
      const opts = options ?? {};
      from = opts.from;
      onError = typeof opts.onError === 'function' ? opts.onError : undefined;
      if (opts.schemaType !== undefined) record = { schemaType: opts.schemaType, buffer: opts.buffer };
      else if (opts.buffer !== undefined) throw new Error('buffer needs schemaType (it configures outKey)');
    } catch (e) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid transform options: ${thrownText(e)}`, key: outKey, cause: e });
    }
    const join = Array.isArray(from);
    const keys = join ? from : [from];
    if (keys.length === 0 || (!join && typeof from !== 'string')) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `transform: from must be a record key or a non-empty array of keys, got ${describeValue(from)}`, key: outKey });
    }
    const ins = keys.map((k) => this.#handle(k));
    if (record !== undefined) this.configureRecord(outKey, record);
    const out = this.#handle(outKey);
    const report = reporter(this.#reported, outKey, onError, 'the transform into');
    return this.#flow(ins, join, (values) => {
      let v;
      try {
        v = join ? fn(values) : fn(values[0]);
      } catch (e) {
        report(e);
        return;
      }
      if (v === undefined) return;
      try {
        this.#setAt(out, outKey, v);
      } catch (e) {
        report(e);
      }
    });
  }

  /** A tap: fn(value) for every value of key from now on, on the engine. */
  tap(key, fn, options) {
    this.#live();
    const h = this.#handle(key);
    if (typeof fn !== 'function') {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `tap: fn must be a function, got ${describeValue(fn)}`, key });
    }
    let onError;
    try {
      const o = options?.onError;
      onError = typeof o === 'function' ? o : undefined;
    } catch (e) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid tap options: ${thrownText(e)}`, key, cause: e });
    }
    const report = reporter(this.#reported, key, onError, 'a tap of');
    return this.#flow([h], false, (values) => {
      try {
        fn(values[0]);
      } catch (e) {
        report(e);
      }
    });
  }

  /** A simulated source: the contract's simulated values at `hz` on the db's clock. */
  simulate(key, options) {
    const r = this.#live();
    const h = this.#handle(key);
    let hz, seed, start;
    try {
      const o = options ?? {};
      hz = o.hz;
      seed = o.seed ?? h + 1;
      start = o.startTimestamp ?? Date.now();
    } catch (e) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid simulate options: ${thrownText(e)}`, key, cause: e });
    }
    const int = (v) => Number.isSafeInteger(v) && v >= 0;
    if (typeof hz !== 'number' || !int(seed) || !int(start)) {
      const what = typeof hz !== 'number' ? `hz must be a number, got ${describeValue(hz)}` : !int(seed) ? `seed must be an integer >= 0, got ${describeValue(seed)}` : `startTimestamp must be an integer >= 0 (Unix ms), got ${describeValue(start)}`;
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `simulate: ${what}`, key });
    }
    return this.#stopper(call(() => r.simulateAt(h, hz, seed, start)));
  }

  // A transform or tap over records `ins` (Rust: flowAt); returns its stop function (also
  // as `.dispose`).
  // (Once stopped, Rust calls the step no more: endFlow sets the flow's cancelled flag.)
  #flow(ins, seed, step) {
    const r = this.#live();
    const id = call(() =>
      r.flowAt(Uint32Array.from(ins), (values) => {
        if (poisoned !== null) return;
        for (const v of values) deepFreeze(v);
        step(Object.freeze(values));
      }, seed),
    );
    return this.#stopper(id);
  }

  // The stop function of flow `id` (also as `.dispose`): ends it, once.
  #stopper(id) {
    let active = true;
    const stop = () => {
      if (!active) return;
      active = false;
      this.#subs.delete(stop);
      if (this.#raw && poisoned === null) call(() => this.#raw.endFlow(id));
    };
    stop.dispose = stop;
    this.#subs.add(stop);
    return stop;
  }

  #subscribeAt(h, key, callback, options) {
    const r = this.#live();
    const { batch, onError, onLag } = subscribeOptions(key, callback, options);
    const report = reporter(this.#reported, key, onError, 'a subscriber of');
    let active = true;
    const deliver = (value) => {
      if (!active || poisoned !== null) return;
      // SingleLatest / Mailbox: the object of this version every subscriber and get()
      // share (frozen by the first); ring items: their own.
      deepFreeze(value);
      try {
        callback(value, unsubscribe);
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
    // Callbacks get `unsubscribe` as their second argument: a callback can end its own
    // subscription, also on the synchronous first delivery (before subscribe() returned).
    const id = call(() => r.subscribeAt(h, deliver, batch, lag));
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
      current = this.#getAt(h);
    } catch (e) {
      unsubscribe();
      throw e;
    }
    if (current !== null) {
      try {
        callback(batch ? Object.freeze([current]) : current, unsubscribe);
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

  /** Runs one tick now (what `tick: 'manual'` waits for); returns its TickStats. */
  tick() {
    const r = this.#live();
    return JSON.parse(call(() => r.tick()));
  }

  /** Moves the virtual clock of a `tick: 'manual'` db forward by `ms`; returns its time in ms. */
  advanceTime(ms) {
    const r = this.#live();
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `advanceTime: ms must be a finite number >= 0, got ${describeValue(ms)}` });
    }
    const now = call(() => r.advanceTime(ms));
    if (now === undefined) {
      throw new AimDbError({ code: 'NOT_AVAILABLE', message: "advanceTime: this db runs on the real clock; only a db created with tick: 'manual' has a virtual one" });
    }
    return now;
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
    this.#handles.clear();
    this.#records.clear();
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
    if (typeof value === 'string') return { ok: true, value: deepFreeze(JSON.parse(call(() => raw.validate(schemaType, value)))) };
    const len = tapeEncode(value);
    if (len < 0) {
      const json = toJson(value, undefined, schemaType);
      return { ok: true, value: deepFreeze(JSON.parse(call(() => raw.validate(schemaType, json)))) };
    }
    try {
      return { ok: true, value: deepFreeze(call(() => raw.validateTape(schemaType, len, tapeStrs()))) };
    } finally {
      tapeDone();
    }
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
