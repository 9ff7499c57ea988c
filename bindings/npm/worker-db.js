// Worker mode (WasmDb.inWorker): the page side. The engine, the records' buffers and the
// bridges' sockets live in a dedicated Worker (worker.js); the page keeps
//  - a mirror of every record's latest value (get() stays synchronous; same object until
//    the value changes),
//  - a `shadow`: a WasmDb of the same module on tick 'manual' with the same records, never
//    ticked, that checks every call before it is sent (so configureRecord / set / setMany /
//    setTicking throw the same AimDbError synchronously as on the main thread) and holds
//    the page's own writes (read-your-writes),
//  - the subscriptions, whose callbacks run here on the one batch per frame the worker sends.
// worker-protocol.js describes the messages.
import init, { AimDbError } from './runtime.js';
import { WasmDb, validate } from './db.js';
import { deepFreeze, describeValue, excerpt, optionsJson, reporter, subscribeOptions, thrownText } from './values.js';
import { DIED, EVENT, IN_WORKER, WRITE, toError } from './worker-protocol.js';
import { connectInWorker } from './worker-bridge.js';
import { splitPersist } from './persist.js';

/** The package's wasm, compiled once here and handed to the worker (no second fetch there). */
async function compiled() {
  const url = new URL('./aimdb_wasm_bindings_bg.wasm', import.meta.url);
  const res = fetch(url);
  try {
    return await WebAssembly.compileStreaming(res);
  } catch {
    return WebAssembly.compile(await (await fetch(url)).arrayBuffer()); // served without application/wasm
  }
}

/** Same JSON value (values from the worker against the page's own). */
function same(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  if (Array.isArray(a) !== Array.isArray(b) || ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!same(a[k], b[k])) return false;
  return true;
}

const notAvailable = (what) =>
  new AimDbError({ code: 'NOT_AVAILABLE', message: `${what} is not available on a Worker-mode db (it takes a JS function or answers synchronously from the engine); use a main-thread WasmDb` });

const CREATE = Symbol('WorkerDb');

/** WasmDb.inWorker(options): a db whose engine runs in a dedicated Worker. */
export async function startWorkerDb(options) {
  if (typeof Worker !== 'function' || typeof document === 'undefined') {
    throw new AimDbError({ code: 'NOT_AVAILABLE', message: 'WasmDb.inWorker: there is no Web Worker here (a browser page only; in Node use new WasmDb())' });
  }
  let onError, rest = options;
  try {
    if (options !== null && typeof options === 'object' && 'onError' in options) {
      ({ onError, ...rest } = options);
    }
  } catch (e) {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WasmDb options: reading them threw: ${thrownText(e)}`, cause: e });
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WasmDb options: onError must be a function, got ${describeValue(onError)}` });
  }
  // The worker ticks on 'macrotask' unless told otherwise: it has no frames to keep, and a
  // worker's animation frames starve while a socket floods it (ring items lost to lag).
  const given = JSON.parse(optionsJson(rest, 'WasmDb options'));
  const json = JSON.stringify(given.tick === undefined ? { ...given, tick: 'macrotask' } : given);
  const module = await compiled();
  await init(module); // the page's own instance (a no-op if init() ran): the shadow's
  const shadow = new WasmDb(JSON.parse(json)); // the same option checks as the worker's
  shadow.setTicking({ tick: 'manual' });
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      worker.terminate();
      shadow.free();
      reject(err);
    };
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.t === 'ready') resolve(new WorkerDb(CREATE, worker, shadow, m.stats, onError));
      else fail(toError(m.e));
    };
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      fail(new AimDbError({ code: 'WORKER_DIED', message: `WasmDb.inWorker: the Worker could not start: ${ev.message || 'its script failed to load'}` }));
    };
    worker.postMessage({ t: 'init', module, options: json });
  });
}

/** A record's handle on a Worker-mode db (as RecordHandle). */
class WorkerRecord {
  #db;
  constructor(db, key) {
    this.#db = db;
    /** The record's key. */
    this.key = key;
    Object.freeze(this);
  }
  get() {
    return this.#db.get(this.key);
  }
  set(value) {
    this.#db.set(this.key, value);
  }
  setMany(values) {
    this.#db.setMany(this.key, values);
  }
  subscribe(callback, options) {
    return this.#db.subscribe(this.key, callback, options);
  }
}

/** The page's object of a Worker-mode db: the WasmDb API (transform, tap, tick, advanceTime excepted). */
export class WorkerDb {
  #worker;
  #shadow;
  #onError;
  /** key -> the latest value the page knows (frozen; null before the first). */
  #mirror = new Map();
  /** key -> the page's set/setMany/write calls of it sent so far. */
  #writes = new Map();
  /** key -> ring capacity (0: not a ring), as the worker configured it. */
  #caps = new Map();
  /** key -> schemaType. */
  #schemas = new Map();
  /** key -> link option ('in' | 'out' | 'both'). */
  #links = new Map();
  #records = new Map();
  #subs = new Map();
  #bridges = new Map();
  #syncs = new Map();
  #nextId = 1;
  #queue = [];
  #stats;
  #statsAsked = false;
  #ackDue = false;
  /** The error the db died of (PANIC, WORKER_DIED); null while alive. */
  #dead = null;
  #freed = false;
  #reported = new Set();

  constructor(token, worker, shadow, stats, onError) {
    if (token !== CREATE) throw new TypeError('use WasmDb.inWorker(options)');
    this.#worker = worker;
    this.#shadow = shadow;
    this.#stats = stats;
    this.#onError = onError;
    worker.onmessage = (ev) => this.#message(ev.data);
    worker.onerror = (ev) => {
      ev.preventDefault?.();
      this.#die(new AimDbError({ code: 'WORKER_DIED', message: `@aimdb/wasm: the db's Worker died: ${ev.message || 'an uncaught error'}` }));
    };
    worker.onmessageerror = () => this.#die(new AimDbError({ code: 'WORKER_DIED', message: '@aimdb/wasm: a message from the db\'s Worker could not be read' }));
  }

  /** true: this db's engine runs in a Worker. */
  get inWorker() {
    return true;
  }

  #live() {
    if (this.#freed) throw new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WasmDb was freed' });
    if (this.#dead) throw this.#dead;
  }

  #send(cmd) {
    if (this.#queue.push(cmd) === 1) {
      queueMicrotask(() => {
        const q = this.#queue;
        this.#queue = [];
        if (!this.#freed && !this.#dead) this.#worker.postMessage(q);
      });
    }
  }

  #id() {
    return this.#nextId++;
  }

  // A db-level error (a command the worker refused after the page's checks, the worker's
  // death): to onError, else console.error once per code.
  #report(err) {
    if (this.#onError) {
      try {
        this.#onError(err);
        return;
      } catch (e) {
        err = e;
      }
    }
    const kind = `db:${err?.code}`;
    if (!this.#reported.has(kind)) {
      this.#reported.add(kind);
      console.error('@aimdb/wasm (Worker mode): later errors of this kind are not logged again', err);
    }
  }

  #die(err) {
    if (this.#dead || this.#freed) return;
    this.#dead = err;
    this.#worker.terminate();
    for (const s of this.#subs.values()) s.active = false;
    this.#subs.clear();
    for (const { reject } of this.#syncs.values()) reject(err);
    this.#syncs.clear();
    for (const b of this.#bridges.values()) b[DIED](err);
    this.#report(err);
  }

  #learn(key, optionsText, cap) {
    const o = JSON.parse(optionsText);
    if (cap !== undefined) this.#caps.set(key, cap);
    if (typeof o.schemaType === 'string') this.#schemas.set(key, o.schemaType);
    this.#links.set(key, o.link ?? 'in');
    return o;
  }

  configureRecord(key, options) {
    this.#live();
    const known = this.#records.has(key);
    this.#shadow.configureRecord(key, splitPersist(options, key)[1]); // every check, synchronously (the worker persists)
    if (!known) {
      const o = optionsJson(options, 'record options');
      this.#learn(key, o);
      this.#send({ t: 'cfg', k: key, o });
    }
    return this.record(key);
  }

  record(key) {
    this.#live();
    let rec = this.#records.get(key);
    if (rec === undefined) {
      this.#shadow.record(key); // UNKNOWN_KEY / INVALID_KEY
      rec = new WorkerRecord(this, key);
      this.#records.set(key, rec);
    }
    return rec;
  }

  get(key) {
    this.#live();
    const v = this.#mirror.get(key);
    if (v !== undefined) return v;
    this.#shadow.record(key);
    return null;
  }

  // A value the page wrote (checked by the shadow, which now holds it as its latest): the
  // page's mirror shows it at once; the worker's answer replaces it only once it has run
  // this write (and then only by a different value).
  #wrote(key) {
    const v = this.#shadow.get(key);
    this.#mirror.set(key, v);
    this.#writes.set(key, (this.#writes.get(key) ?? 0) + 1);
    return v;
  }

  set(key, value) {
    this.#live();
    this.#shadow.set(key, value);
    this.#send({ t: 'set', k: key, v: this.#wrote(key) });
  }

  setMany(key, values) {
    this.#live();
    this.#shadow.setMany(key, values);
    // The contract's form of each (what the worker's check gives too), cloneable.
    const schema = this.#schemas.get(key);
    const v = schema === undefined ? JSON.parse(JSON.stringify(values)) : values.map((x) => validate(schema, x).value);
    this.#wrote(key);
    this.#send({ t: 'setm', k: key, v });
  }

  /** WsBridge.write on this db (worker-bridge.js): checks, the local value, the command. */
  [WRITE](key, value, cmd) {
    this.#live();
    const link = this.#links.get(key);
    if (link !== undefined && link !== 'out' && link !== 'both') {
      throw new AimDbError({ code: 'NOT_OUTBOUND', message: `write to \`${excerpt(key)}\`: the record is linked '${link}', only 'out' or 'both' records are sent`, key });
    }
    this.#shadow.set(key, value);
    cmd.v = this.#wrote(key);
    this.#send(cmd);
  }

  subscribe(key, callback, options) {
    this.#live();
    this.#shadow.record(key);
    const { batch, onError, onLag } = subscribeOptions(key, callback, options);
    const id = this.#id();
    const s = { key, callback, batch, onLag, report: reporter(this.#reported, key, onError, 'a subscriber of'), active: true, primed: null, unsubscribe: null };
    s.unsubscribe = () => {
      if (!s.active) return;
      s.active = false;
      this.#subs.delete(id);
      if (!this.#freed && !this.#dead) this.#send({ t: 'unsub', id });
    };
    this.#subs.set(id, s);
    this.#send({ t: 'sub', id, k: key });
    // The current value at once (the mirror's, the object get() returns); the worker's
    // current value follows in the next batch only if it differs.
    const current = this.#mirror.get(key) ?? null;
    s.primed = current;
    if (current !== null) this.#call(s, batch ? Object.freeze([current]) : current);
    return s.unsubscribe;
  }

  #call(s, arg) {
    try {
      s.callback(arg, s.unsubscribe);
    } catch (e) {
      s.report(e);
    }
  }

  setTicking(options) {
    this.#live();
    this.#shadow.setTicking(options); // the checks; the shadow itself stays on 'manual'
    this.#shadow.setTicking({ tick: 'manual' });
    this.#send({ t: 'tick', o: optionsJson(options, 'ticking options') });
  }

  /** The worker's counters as of its last batch (asks for fresh ones for the next). */
  stats() {
    this.#live();
    if (!this.#statsAsked) {
      this.#statsAsked = true;
      this.#send({ t: 'stats' });
    }
    return JSON.parse(JSON.stringify(this.#stats));
  }

  /** Resolves once the worker ran every call made before, ticked, and its batch was handled here. */
  sync() {
    try {
      this.#live();
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.#id();
    return new Promise((resolve, reject) => {
      this.#syncs.set(id, { resolve, reject });
      this.#send({ t: 'sync', id });
    });
  }

  transform() {
    this.#live();
    throw notAvailable('transform');
  }

  tap() {
    this.#live();
    throw notAvailable('tap');
  }

  /** A simulated source in the worker (checked first by the shadow, whose copy stops at once). */
  simulate(key, options) {
    this.#live();
    this.#shadow.simulate(key, options)(); // the same checks and errors; the shadow is never ticked
    const id = this.#id();
    this.#send({ t: 'sim', id, k: key, o: optionsJson(options, 'simulate options') });
    let active = true;
    const stop = () => {
      if (!active) return;
      active = false;
      if (!this.#freed && !this.#dead) this.#send({ t: 'endsim', id });
    };
    stop.dispose = stop;
    return stop;
  }

  tick() {
    this.#live();
    throw notAvailable('tick() (use await db.sync())');
  }

  advanceTime() {
    this.#live();
    throw notAvailable('advanceTime');
  }

  /** Ends the worker (its bridges and subscriptions with it). Idempotent; never throws. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    this.#worker.terminate();
    for (const s of this.#subs.values()) s.active = false;
    this.#subs.clear();
    const gone = new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WasmDb was freed' });
    for (const { reject } of this.#syncs.values()) reject(gone);
    this.#syncs.clear();
    for (const b of this.#bridges.values()) b[DIED](null);
    this.#bridges.clear();
    this.#mirror.clear();
    this.#records.clear();
    try {
      this.#shadow.free();
    } catch {}
  }

  [IN_WORKER](url, options) {
    this.#live();
    const id = this.#id();
    const b = connectInWorker(this, this.#shadow, id, url, options, (cmd) => this.#send(cmd));
    this.#bridges.set(id, b);
    return b;
  }

  /** Test hook: a Rust panic ('panic') or an uncaught error ('throw') in the worker. */
  __crashForTest(kind, msg) {
    this.#send({ t: 'crash', kind, msg });
  }

  // ---- the worker's messages

  #message(m) {
    if (this.#freed || this.#dead) return;
    if (m.t === 'dead') {
      this.#die(toError(m.e));
      return;
    }
    if (m.t !== 'b') return;
    if (m.r) {
      for (const [key, o, cap] of m.r) {
        const opts = this.#learn(key, o, cap);
        try {
          this.#shadow.configureRecord(key, splitPersist(opts, key)[1]); // autoConfigure's records (the page's: a no-op); the worker persists
        } catch {}
      }
    }
    if (m.m) this.#mirrorIn(m.m);
    if (m.s) for (const entry of m.s) this.#deliver(entry);
    if (m.g) {
      for (const [id, kind, arg] of m.g) {
        const b = this.#bridges.get(id);
        if (b) b[EVENT](kind, arg);
      }
    }
    if (m.st) {
      this.#stats = m.st;
      this.#statsAsked = false;
    }
    if (m.e) for (const e of m.e) this.#report(toError(e));
    if (m.y) {
      for (const id of m.y) {
        const p = this.#syncs.get(id);
        this.#syncs.delete(id);
        p?.resolve();
      }
    }
    this.#ack();
  }

  #mirrorIn(m) {
    for (let i = 0; i < m.length; i += 3) {
      const key = m[i];
      if (m[i + 2] < (this.#writes.get(key) ?? 0)) continue; // the page wrote since: its value is newer
      const v = deepFreeze(m[i + 1]);
      const cur = this.#mirror.get(key);
      if (cur === undefined || !same(cur, v)) this.#mirror.set(key, v);
    }
  }

  #deliver([id, items, lagged, initial]) {
    const s = this.#subs.get(id);
    if (!s || !s.active) return;
    let list = items;
    if (initial !== undefined && initial !== null && !(s.primed !== null && same(s.primed, initial))) list = [initial, ...items];
    s.primed = null;
    if (lagged > 0 && s.onLag) {
      try {
        s.onLag(lagged);
      } catch (e) {
        s.report(e);
      }
    }
    if (list.length === 0 || !s.active) return;
    for (const v of list) deepFreeze(v);
    if (!this.#caps.get(s.key)) {
      // Not a ring: the latest only, as the object get() returns when it is that value.
      const last = list[list.length - 1];
      const cur = this.#mirror.get(s.key);
      list = [cur != null && same(cur, last) ? cur : last];
    }
    if (s.batch) this.#call(s, Object.freeze(list));
    else for (const v of list) if (s.active) this.#call(s, v);
  }

  // The worker sends its next batch after this: at the page's next animation frame (or
  // after 100 ms, where frames do not run: a hidden tab).
  #ack() {
    if (this.#ackDue) return;
    this.#ackDue = true;
    let done = false;
    const ack = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#ackDue = false;
      if (!this.#freed && !this.#dead) this.#send({ t: 'ack' });
    };
    const timer = setTimeout(ack, 100);
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(ack);
  }
}
