// WsBridge: a WasmDb's records linked to an AimDB server over WebSocket.
import { AimDbError, assertReady, call, raw } from './runtime.js';
import { checkKey, describeValue, optionsJson, thrownText, toJson } from './values.js';
import { WasmDb, knownSchemas, rawOf, validate } from './db.js';
import { IN_WORKER } from './worker-protocol.js';
import { makeIngest } from './ingest.js';
import { DurableQueue, notAvailable, persistAvailable, persistName, restoresOf, storageError } from './persist.js';

const STATUSES = ['connecting', 'connected', 'disconnected', 'reconnecting'];
/** The counters in the order RawBridge.stats() returns them (bindings/src/js/bridge.rs). */
const STATS = ['binaryFrames', 'confirmed', 'connects', 'dropped', 'framesReceived', 'framesSent', 'malformed', 'notInbound',
  'oversizedFrames', 'queued', 'received', 'reconnects', 'rejected', 'resent', 'sent', 'serverErrors', 'snapshots',
  'staleSnapshots', 'unconfirmed', 'unknownTopic', 'writesRejected'];

/** Calls every listener in `set` with `arg` (a copy: listeners may unsubscribe); one that throws is logged, not rethrown (WsBridge and the Worker-mode bridge). */
export function notify(set, arg, what) {
  for (const cb of [...set]) {
    try {
      cb(arg);
    } catch (e) {
      console.error(`@aimdb/wasm: a WsBridge ${what} listener threw`, e);
    }
  }
}

/** Links a WasmDb's records to an AimDB server over WebSocket. */
/**
 * The checked arguments of `query(pattern, options)` (WsBridge and the Worker-mode bridge):
 * INVALID_OPTIONS for a pattern that is not a non-empty string, options whose getters throw,
 * or a from / to / limit that is not an integer >= 0.
 */
export function queryArgs(pattern, options) {
  if (typeof pattern !== 'string' || pattern === '') {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `query: pattern must be a non-empty string, got ${describeValue(pattern)}` });
  }
  let from, to, limit;
  try {
    ({ from, to, limit } = options ?? {});
  } catch (e) {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid query options: ${thrownText(e)}`, cause: e });
  }
  for (const [name, v] of [['from', from], ['to', to], ['limit', limit]]) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `query: ${name} must be an integer >= 0, got ${describeValue(v)}` });
    }
  }
  return { from, to, limit };
}

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
  #db;
  /** Queries waiting for their answer: id -> { resolve, reject }. */
  #pending = new Map();
  #nextQuery = 1;
  /** `persist`: the durable write queue (null: none, or not available here). */
  #queue = null;
  /** Still restoring (stored writes, persisted records) before the first connect. */
  #starting = false;
  /** disconnect() was called while starting: do not connect at the end. */
  #stayDown = false;
  /** Data frames the ingest fast path took (ingest.js; a test hook). */
  #fast = { frames: 0 };
  /** Resolves once per bridge, when the first connection's late-join phase is over. */
  synced;
  /** With autoConfigure: resolves once the server's topic list was applied; else null at once. */
  configured;

  constructor(token) {
    if (token !== CONNECT) throw new TypeError('use WsBridge.connect(db, url, options)');
    this.synced = new Promise((r) => {
      this.#resolveSynced = r;
    });
  }

  /** Links the records of `db` (their `topic` and `link` options; also records configured later) and connects. */
  static connect(db, url, options) {
    assertReady();
    if (db != null && typeof db[IN_WORKER] === 'function') return db[IN_WORKER](url, options); // worker-bridge.js
    if (!(db instanceof WasmDb)) throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'WsBridge.connect: db must be a WasmDb' });
    if (typeof url !== 'string') throw new AimDbError({ code: 'INVALID_OPTIONS', message: 'WsBridge.connect: url must be a string' });
    if (typeof raw.RawBridge !== 'function') {
      throw new AimDbError({ code: 'NOT_AVAILABLE', message: 'WsBridge: this build of @aimdb/wasm was made without the bridge feature' });
    }
    // The socket constructor: the `WebSocket` option (graphql-ws's `webSocketImpl`
    // convention, e.g. the `ws` package in Node 20), else the global one. Checked before
    // the db is touched.
    let WebSocketImpl, auto, persist;
    try {
      if (options !== null && typeof options === 'object') {
        WebSocketImpl = options.WebSocket;
        auto = options.autoConfigure;
        persist = options.persist;
        if (auto !== undefined || persist !== undefined) {
          // The Rust options reader knows nothing of autoConfigure and persist: they are the wrapper's.
          const { autoConfigure: _, persist: __, ...rest } = options;
          options = rest;
        }
      }
    } catch (e) {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WsBridge options: reading them threw: ${thrownText(e)}`, cause: e });
    }
    let autoBuffer;
    if (auto !== undefined && auto !== false && auto !== true) {
      if (auto === null || typeof auto !== 'object') {
        throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WsBridge options: autoConfigure must be true, false or { buffer }, got ${describeValue(auto)}` });
      }
      autoBuffer = auto.buffer;
    }
    const name = persist === undefined ? undefined : persistName(persist);
    if (WebSocketImpl !== undefined && typeof WebSocketImpl !== 'function') {
      throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WsBridge options: WebSocket must be a constructor, got ${describeValue(WebSocketImpl)}` });
    }
    WebSocketImpl ??= globalThis.WebSocket;
    if (typeof WebSocketImpl !== 'function') {
      throw new AimDbError({
        code: 'NOT_AVAILABLE',
        message:
          'WsBridge: there is no WebSocket here (Node 20 has none): pass a constructor, e.g. ' +
          "WsBridge.connect(db, url, { WebSocket }) with `import { WebSocket } from 'ws'`",
      });
    }
    if (WebSocketImpl !== globalThis.WebSocket) WebSocketImpl = withErrorListener(WebSocketImpl);
    const b = new WsBridge(CONNECT);
    const rawDb = rawOf(db);
    b.#db = db;
    let resolveConfigured;
    b.configured = auto === undefined || auto === false ? Promise.resolve(null) : new Promise((r) => (resolveConfigured = r));
    let listId = null;
    const onStatus = (s) => {
      if (!STATUSES.includes(s) || s === b.#status) return;
      b.#status = s;
      // autoConfigure: ask for the topic list on every open until one answer was applied.
      if (s === 'connected' && resolveConfigured && b.#raw) {
        listId = `t${b.#nextQuery++}`;
        b.#raw.request(JSON.stringify({ type: 'list_topics', id: listId }));
      }
      // Queries are answered on the socket they were sent on: a lost link loses them.
      if (s !== 'connected') b.#failQueries(() => new AimDbError({ code: 'BRIDGE_DISCONNECTED', message: 'query: the link was lost before the answer came' }));
      notify(b.#statusCbs, s, 'status');
    };
    const onError = (e) => {
      const err = e && e.name === 'AimDbError' ? new AimDbError(e) : e;
      // A failed query is answered with an error frame that carries no id: it fails the
      // queries waiting now.
      if (err && err.code === 'SERVER_ERROR' && err.serverCode === 'SERVER_ERROR') b.#failQueries(() => err);
      notify(b.#errorCbs, err, 'error');
    };
    const onSynced = (json) => b.#resolveSynced(Object.freeze(JSON.parse(json)));
    const onResponse = (text) => {
      if (resolveConfigured && listId !== null && text.includes('"topic_list"')) {
        let m;
        try {
          m = JSON.parse(text);
        } catch {
          return;
        }
        if (m.type === 'topic_list' && m.id === listId) {
          const done = resolveConfigured;
          resolveConfigured = undefined;
          done(b.#autoConfigure(m.topics, autoBuffer));
          return;
        }
      }
      b.#answer(text);
    };
    // JSON leaves the WebSocket constructor (a function) out.
    const json = optionsJson(options, 'WsBridge options');
    const report = (e) => notify(b.#errorCbs, e, 'error');
    if (name !== undefined) {
      if (persistAvailable()) b.#queue = new DurableQueue(name, () => b.#raw.pendingWrites(), report);
      else queueMicrotask(() => report(notAvailable(`WsBridge persist '${name}'`)));
    }
    const queue = b.#queue;
    const onOutbox = queue ? () => queue.changed() : undefined;
    const restores = restoresOf(db);
    b.#starting = queue !== null || restores !== null;
    // Restoring first: reported as 'connecting' already (the socket opens when it is done).
    if (b.#starting) b.#status = 'connecting';
    b.#raw = call(() => raw.RawBridge.connect(rawDb, url, json, onStatus, onError, onSynced, onResponse, WebSocketImpl, onOutbox, !b.#starting, (f, r, m) => makeIngest(f, r, m, b.#fast)));
    if (b.#starting) b.#start(restores, report);
    return b;
  }

  // Before the first connect: the stored writes (adopted from closed tabs) go to the
  // front of the queue and the persisted records are restored; then it connects.
  async #start(restores, report) {
    let adopted = [];
    const queue = this.#queue;
    if (queue) {
      try {
        adopted = await queue.open();
      } catch (e) {
        queue.close();
        this.#queue = null;
        report(storageError(`WsBridge persist: reading the stored write queue`, e));
      }
    }
    if (restores) await restores;
    this.#starting = false;
    if (!this.#raw) return;
    try {
      queue?.ready();
      if (adopted.length > 0) {
        const keys = adopted.filter((_, i) => i % 2 === 0);
        const payloads = adopted.filter((_, i) => i % 2 === 1);
        this.#call((r) => r.restoreWrites(keys, payloads));
      }
      if (!this.#stayDown) this.#call((r) => r.reconnect());
    } catch (e) {
      report(e);
    }
  }

  /** The server's history (its query handler): values validated by the records' contracts. */
  query(pattern, options) {
    this.#live();
    const { from, to, limit } = queryArgs(pattern, options);
    const id = `q${this.#nextQuery++}`;
    const frame = JSON.stringify({ type: 'query', id, pattern, from, to, limit });
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      let sent = false;
      try {
        sent = this.#call((r) => r.request(frame));
      } catch (e) {
        this.#pending.delete(id);
        reject(e);
        return;
      }
      if (!sent) {
        this.#pending.delete(id);
        reject(new AimDbError({ code: 'BRIDGE_DISCONNECTED', message: `query: not connected (status ${this.#status}); queries are not queued` }));
      }
    });
  }

  // Configures a record (linked 'in', the default) for every topic whose schema_type this
  // module knows and whose key the app has not configured; reports the others once.
  #autoConfigure(topics, buffer) {
    const known = new Set(knownSchemas().map((s) => s.name));
    const configured = [];
    const existing = [];
    const unknown = [];
    const todo = [];
    for (const { name, schema_type: schemaType } of topics) {
      if (typeof schemaType !== 'string' || !known.has(schemaType)) {
        unknown.push(Object.freeze({ topic: name, schemaType: typeof schemaType === 'string' ? schemaType : null }));
        continue;
      }
      const key = raw.RawBridge.defaultKey(name);
      try {
        this.#db.record(key);
        existing.push(key); // the app's own record wins
        continue;
      } catch (e) {
        if (!(e instanceof AimDbError) || e.code !== 'UNKNOWN_KEY') {
          notify(this.#errorCbs, e, 'error'); // e.g. a key that cannot be one (INVALID_KEY)
          continue;
        }
      }
      todo.push({ topic: name, key, schemaType });
    }
    // Subscribed first (kept on every reconnect), so each record is awaited with late join
    // as it is configured.
    try {
      if (todo.length > 0) this.#call((r) => r.subscribe(JSON.stringify(todo.map((x) => x.topic))));
    } catch (e) {
      notify(this.#errorCbs, e, 'error');
    }
    for (const { key, schemaType } of todo) {
      try {
        this.#db.configureRecord(key, buffer === undefined ? { schemaType } : { schemaType, buffer });
        configured.push(key);
      } catch (e) {
        notify(this.#errorCbs, e, 'error');
      }
    }
    if (unknown.length > 0) {
      const names = unknown.map((u) => `${u.topic} (${u.schemaType ?? 'no schema_type'})`).join(', ');
      const err = new AimDbError({ code: 'UNKNOWN_SCHEMA', message: `autoConfigure: ${unknown.length} topic(s) of a schema type this module does not know, not configured: ${names}` });
      notify(this.#errorCbs, err, 'error');
    }
    return Object.freeze({ configured: Object.freeze(configured), existing: Object.freeze(existing), unknown: Object.freeze(unknown) });
  }

  #failQueries(makeError) {
    if (this.#pending.size === 0) return;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(makeError());
  }

  // A `query_result` (or `topic_list`) frame's text, checked by the bridge.
  #answer(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    const p = m.type === 'query_result' ? this.#pending.get(m.id) : undefined;
    if (!p) return;
    this.#pending.delete(m.id);
    try {
      const schemas = this.#db.stats().records;
      const records = [];
      const rejected = [];
      const unknownTopics = [];
      for (const { topic, payload, ts } of m.records) {
        const key = this.#raw?.keyOfTopic(topic);
        const schemaType = key == null ? undefined : schemas[key]?.schemaType;
        if (schemaType === undefined) {
          if (!unknownTopics.includes(topic)) unknownTopics.push(topic);
          continue;
        }
        const v = validate(schemaType, payload);
        if (v.ok) records.push(Object.freeze({ topic, key, value: v.value, ts }));
        else rejected.push(Object.freeze({ topic, key, ts, error: v.error }));
      }
      p.resolve(Object.freeze({ records: Object.freeze(records), total: m.total, rejected: Object.freeze(rejected), unknownTopics: Object.freeze(unknownTopics) }));
    } catch (e) {
      p.reject(e);
    }
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
    checkKey(key);
    const json = toJson(value, key);
    this.#call((r) => r.write(key, json));
  }

  stats() {
    const out = this.#call((r) => {
      const o = { lastError: r.lastError() ?? null };
      r.stats().forEach((n, i) => (o[STATS[i]] = n));
      return o;
    });
    return out;
  }

  /** Connects again after disconnect(), or retries at once while waiting to reconnect. */
  reconnect() {
    this.#stayDown = false;
    if (this.#starting) this.#live();
    else this.#call((r) => r.reconnect());
  }

  /** Closes on purpose: no reconnect, queued writes dropped, write() throws BRIDGE_DISCONNECTED. */
  disconnect() {
    if (this.#raw) this.#call((r) => r.disconnect());
    if (this.#starting && !this.#stayDown) {
      this.#stayDown = true;
      this.#status = 'disconnected';
      notify(this.#statusCbs, 'disconnected', 'status');
    }
  }

  /** Disconnects and releases the bridge's memory. Idempotent; safe from inside a listener. */
  free() {
    const r = this.#raw;
    if (!r) return;
    this.#raw = null;
    this.#queue?.close(); // before dispose: the writes still pending stay stored
    this.#failQueries(() => new AimDbError({ code: 'USE_AFTER_FREE', message: 'query: the WsBridge was freed before the answer came' }));
    r.dispose();
    if (this.#depth > 0) this.#freeLater = r;
    else r.free();
  }

  /** Resolves once every write accepted so far is in IndexedDB (at once without `persist`). */
  persisted() {
    this.#live();
    return this.#queue ? this.#queue.stored() : Promise.resolve();
  }

  /** Test hook: data frames the ingest fast path took. */
  __fastFrames() {
    this.#live();
    return this.#fast.frames;
  }

  /** Test hook: sockets whose closures the bridge still holds. */
  __heldSockets() {
    return this.#call((r) => r.__heldSockets());
  }
}

const CONNECT = Symbol('WsBridge.connect');

/**
 * `Impl`, whose sockets get a permanent no-op 'error' listener if they are EventEmitters
 * (the `ws` package): an emitter throws an 'error' event nobody listens to, and closing a
 * socket that is still connecting emits one after the bridge has let go of it. The
 * bridge's own handlers are the socket's `on*` properties.
 */
function withErrorListener(Impl) {
  const ignore = () => {};
  return function (url) {
    const ws = new Impl(url);
    if (typeof ws.on === 'function') ws.on('error', ignore);
    return ws;
  };
}
