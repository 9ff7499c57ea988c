// WsBridge.connect on a Worker-mode db: the socket and the bridge run in the db's Worker
// (worker.js); the page gets this object, with WsBridge's API. Status, errors, `synced`,
// `configured` and the counters arrive with the worker's batches (at most a frame late);
// calls are checked here first where the page can (options, URL, contracts, links), so they
// throw what WsBridge throws; what only the worker can know (QUEUE_FULL, FRAME_TOO_LARGE at
// write) comes through onError.
import { AimDbError } from './runtime.js';
import { WsBridge, notify, queryArgs } from './bridge.js';
import { describeValue, optionsJson, thrownText } from './values.js';
import { DIED, EVENT, WRITE, toError } from './worker-protocol.js';
import { persistName } from './persist.js';

/** A socket that never opens: the page's check of connect's options and URL runs the real
 * WsBridge.connect on the shadow db with it, then frees that bridge at once. */
class InertSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
  }
  send() {}
  close() {}
}

function topicsOf(topics) {
  const list = typeof topics === 'string' ? [topics] : topics;
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `topics must be a string or an array of strings, got ${describeValue(topics)}` });
  }
  return list;
}

const TOKEN = Symbol('WorkerBridge');

export function connectInWorker(db, shadow, id, url, options, send) {
  if (typeof url !== 'string') throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'WsBridge.connect: url must be a string' });
  let rest = options;
  try {
    if (options !== null && typeof options === 'object' && options.WebSocket !== undefined) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: "invalid WsBridge options: a Worker-mode db's bridge uses the Worker's WebSocket; the WebSocket option cannot be passed to it" });
    }
  } catch (e) {
    if (e instanceof AimDbError) throw e;
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WsBridge options: reading them threw: ${thrownText(e)}`, cause: e });
  }
  const json = optionsJson(rest, 'WsBridge options');
  // Every check WsBridge.connect makes, synchronously, with the same errors.
  // (`persist` is checked, not run: the worker's bridge persists.)
  const { persist, ...probed } = JSON.parse(json);
  if (persist !== undefined) persistName(persist);
  const probe = WsBridge.connect(shadow, url, { ...probed, WebSocket: InertSocket });
  const zero = probe.stats();
  probe.free();
  for (const k of Object.keys(zero)) zero[k] = k === 'lastError' ? null : 0;
  const auto = JSON.parse(json).autoConfigure;
  const b = new WorkerBridge(TOKEN, db, id, send, zero, auto !== undefined && auto !== false);
  send({ t: 'bc', id, url, o: json });
  return b;
}

/** WsBridge's API for a bridge running in a Worker-mode db's Worker. */
export class WorkerBridge {
  #db;
  #id;
  #send;
  #status = 'connecting';
  #statusCbs = new Set();
  #errorCbs = new Set();
  #stats;
  #freed = false;
  #dead = null;
  #disconnected = false;
  #pending = new Map();
  #next = 1;
  #resolveSynced;
  #resolveConfigured;
  /** Resolves once, when the first connection's late-join phase is over. */
  synced;
  /** With autoConfigure: resolves once the server's topic list was applied; else null at once. */
  configured;

  constructor(token, db, id, send, stats, auto) {
    if (token !== TOKEN) throw new TypeError('use WsBridge.connect(db, url, options)');
    this.#db = db;
    this.#id = id;
    this.#send = send;
    this.#stats = stats;
    this.synced = new Promise((r) => (this.#resolveSynced = r));
    this.configured = auto ? new Promise((r) => (this.#resolveConfigured = r)) : Promise.resolve(null);
  }

  #live() {
    if (this.#freed) throw new AimDbError({ code: 'USE_AFTER_FREE', message: 'this WsBridge was freed' });
    if (this.#dead) throw this.#dead;
  }

  #cmd(t, extra) {
    this.#live();
    this.#send({ t, id: this.#id, ...extra });
  }

  /** 'connecting' | 'connected' | 'disconnected' | 'reconnecting' (as of the worker's last batch). */
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
    this.#cmd('bs', { topics: topicsOf(topics) });
  }

  unsubscribe(topics) {
    this.#cmd('bu', { topics: topicsOf(topics) });
  }

  /** Checks (contract, link, disconnected), sets the value in the page's mirror, and has the worker write it. */
  write(key, value) {
    this.#live();
    if (this.#disconnected) {
      throw new AimDbError({ code: 'BRIDGE_DISCONNECTED', message: `write to \`${key}\`: the bridge was disconnected on purpose; call reconnect() first`, key });
    }
    this.#db[WRITE](key, value, { t: 'bw', id: this.#id, k: key });
  }

  /** The counters as of the worker's last batch (a new object each call). */
  stats() {
    this.#live();
    return { ...this.#stats };
  }

  reconnect() {
    this.#cmd('br');
    this.#disconnected = false;
  }

  disconnect() {
    if (this.#freed || this.#dead) return;
    this.#disconnected = true;
    this.#cmd('bd');
  }

  query(pattern, options) {
    this.#live();
    const { from, to, limit } = queryArgs(pattern, options);
    const q = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(q, { resolve, reject });
      this.#cmd('bq', { q, p: pattern, o: { from, to, limit } });
    });
  }

  /** Resolves once the worker's bridge has every write accepted so far in IndexedDB (see WsBridge.persisted). */
  persisted() {
    this.#live();
    const q = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(q, { resolve, reject });
      this.#cmd('bp', { q });
    });
  }

  /** Disconnects and ends the bridge in the worker. Idempotent. */
  free() {
    if (this.#freed) return;
    this.#freed = true;
    if (!this.#dead) this.#send({ t: 'bf', id: this.#id });
    this.#fail(new AimDbError({ code: 'USE_AFTER_FREE', message: 'query: the WsBridge was freed before the answer came' }));
  }

  #fail(err) {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  [EVENT](kind, arg) {
    if (this.#freed) return;
    if (kind === 's') {
      if (arg === this.#status) return;
      this.#status = arg;
      notify(this.#statusCbs, arg, 'status');
    } else if (kind === 'e') notify(this.#errorCbs, toError(arg), 'error');
    else if (kind === 't') this.#stats = arg;
    else if (kind === 'y') this.#resolveSynced(Object.freeze(arg));
    else if (kind === 'c') this.#resolveConfigured?.(arg === null ? null : deepFrozen(arg));
    else if (kind === 'p') {
      const p = this.#pending.get(arg);
      this.#pending.delete(arg);
      p?.resolve();
    } else if (kind === 'q' || kind === 'x') {
      const [q, r] = arg;
      const p = this.#pending.get(q);
      this.#pending.delete(q);
      if (!p) return;
      if (kind === 'x') p.reject(toError(r));
      else {
        for (const x of r.rejected) x.error = toError(x.error);
        p.resolve(deepFrozen(r));
      }
    }
  }

  /** The db died (err) or was freed (null): the bridge is over. */
  [DIED](err) {
    if (this.#freed || this.#dead) return;
    this.#fail(err ?? new AimDbError({ code: 'USE_AFTER_FREE', message: 'query: the db was freed before the answer came' }));
    if (err === null) {
      this.#freed = true;
      return;
    }
    this.#dead = err;
    if (this.#status !== 'disconnected') {
      this.#status = 'disconnected';
      notify(this.#statusCbs, 'disconnected', 'status');
    }
    notify(this.#errorCbs, err, 'error');
  }
}

function deepFrozen(v) {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v) && !(v instanceof Error)) {
    for (const k of Object.keys(v)) deepFrozen(v[k]);
    Object.freeze(v);
  }
  return v;
}
