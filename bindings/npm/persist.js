// IndexedDB persistence: the WsBridge's durable write queue (`persist: { name }`) and
// persisted records (`configureRecord(key, { persist: true })`). See README "Persistence".
//
// One IndexedDB database, `aimdb-wasm`, two object stores:
//  - `queues`, key [name, tab]: `{ writes, since }`, one tab's writes not yet confirmed
//    (RawBridge.pendingWrites: [key0, payloadJson0, key1, ...], oldest first),
//    rewritten whole in one transaction whenever that set changes (coalesced per task);
//    deleted when it is empty;
//  - `records`, key: the record key: `{ schemaType, values }`, the latest value (or the
//    ring's retained items), as handed out.
// Tabs: every bridge holds the Web Lock `aimdb-wasm:<name>:<tab>` for its life. A starting
// bridge adopts the queue of every tab whose lock it can take (that tab is gone): it holds
// that lock, puts the writes ahead of its own, and deletes the entry in the transaction
// that first stores them in its own entry.
import { AimDbError } from './runtime.js';
import { describeValue, thrownText } from './values.js';

const DB_NAME = 'aimdb-wasm';
const QUEUES = 'queues';
const RECORDS = 'records';

let opening = null;

/** Whether this environment has IndexedDB and Web Locks (a browser; not Node). */
export function persistAvailable() {
  return typeof indexedDB === 'object' && indexedDB !== null && typeof navigator === 'object' && typeof navigator.locks?.request === 'function';
}

/** NOT_AVAILABLE for `what` (in Node: no IndexedDB). */
export function notAvailable(what) {
  return new AimDbError({
    code: 'NOT_AVAILABLE',
    message: `${what}: there is no IndexedDB (or no Web Locks) here, e.g. in Node: kept in memory only`,
  });
}

/** STORAGE_ERROR for a failed IndexedDB operation (`cause`: the DOMException, e.g. QuotaExceededError). */
export function storageError(what, e, key) {
  const name = e && typeof e.name === 'string' ? e.name : 'Error';
  const msg = e && typeof e.message === 'string' ? e.message : String(e);
  return new AimDbError({ code: 'STORAGE_ERROR', message: `${what}: IndexedDB failed (${name}${msg ? `: ${msg}` : ''}); kept in memory only`, cause: e, key });
}

function idb() {
  opening ??= new Promise((resolve, reject) => {
    const o = indexedDB.open(DB_NAME, 1);
    o.onupgradeneeded = () => {
      o.result.createObjectStore(QUEUES);
      o.result.createObjectStore(RECORDS);
    };
    o.onsuccess = () => {
      const db = o.result;
      // Another tab upgrading (a later version of this package): let it, reopen next time.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    o.onerror = () => reject(o.error);
    o.onblocked = () => reject(new DOMException('the database is blocked by another tab', 'InvalidStateError'));
  });
  opening.catch(() => (opening = null));
  return opening;
}

/**
 * Runs `f(store)` in one transaction; resolves with f's result once it committed. `strict`:
 * committed only once on disk (survives an OS crash, not only a closed tab).
 */
async function tx(store, mode, f, strict = false) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    let t;
    try {
      t = db.transaction(store, mode, { durability: strict ? 'strict' : 'default' });
    } catch (e) {
      reject(e);
      return;
    }
    let out;
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error ?? new DOMException('transaction aborted', 'AbortError'));
    try {
      out = f(t.objectStore(store));
    } catch (e) {
      t.abort();
      reject(e);
    }
  });
}

const req = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

// ------------------------------------------------------------ the bridge's queue

/**
 * A bridge's durable queue. `open()` takes this tab's lock and the locks of closed tabs'
 * queues and resolves with their writes (oldest tab first); `changed()` keeps this tab's
 * entry equal to `snapshot()` (rewritten in a microtask, once per burst). After `ready()`
 * (the adopted writes are in the bridge) the next rewrite also deletes the adopted
 * entries, in the same transaction, and lets their locks go: a page that dies before
 * leaves them for the next tab, never loses them.
 */
export class DurableQueue {
  #name;
  #tab;
  #report;
  #snapshot;
  /** Releases this tab's lock. */
  #release = null;
  /** Adopted entries not deleted yet: { tab, release }. */
  #adopted = [];
  #ready = false;
  #scheduled = false;
  #failing = false;
  #closed = false;
  /** The last rewrite (settled either way). */
  #last = Promise.resolve();
  #since = Date.now();

  constructor(name, snapshot, report) {
    this.#name = name;
    this.#snapshot = snapshot;
    this.#report = report;
    this.#tab = typeof crypto?.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
  }

  #lockName(tab) {
    return `aimdb-wasm:${this.#name}:${tab}`;
  }

  /** Holds lock `name` until the returned release is called; null if `ifAvailable` and taken. */
  #hold(name, ifAvailable) {
    return new Promise((resolve, reject) => {
      const opts = ifAvailable ? { ifAvailable: true } : {};
      navigator.locks
        .request(name, opts, (lock) => {
          if (lock === null) {
            resolve(null);
            return undefined;
          }
          return new Promise((release) => resolve(release));
        })
        .catch(reject);
    });
  }

  /** Resolves with the adopted writes ([key0, payloadJson0, ...]); rejects on a storage error. */
  async open() {
    this.#release = await this.#hold(this.#lockName(this.#tab), false);
    if (this.#closed) this.#release();
    const range = IDBKeyRange.bound([this.#name], [this.#name, []]);
    const [keys, values] = await tx(QUEUES, 'readonly', (s) => Promise.all([req(s.getAllKeys(range)), req(s.getAll(range))]));
    const orphans = keys
      .map((k, i) => ({ tab: k[1], since: values[i]?.since ?? 0 }))
      .filter((o) => o.tab !== this.#tab)
      .sort((a, b) => a.since - b.since);
    const adopted = [];
    for (const { tab } of orphans) {
      if (this.#closed) break;
      const release = await this.#hold(this.#lockName(tab), true);
      if (release === null) continue; // that tab is alive: its queue is its own
      if (this.#closed) {
        release();
        break;
      }
      const entry = await tx(QUEUES, 'readonly', (s) => req(s.get([this.#name, tab])));
      if (!entry) {
        release(); // another tab adopted it first
        continue;
      }
      this.#adopted.push({ tab, release });
      if (Array.isArray(entry.writes)) for (const w of entry.writes) adopted.push(String(w));
    }
    return adopted;
  }

  /** The adopted writes are in the bridge: the next rewrite deletes their entries. */
  ready() {
    this.#ready = true;
    if (this.#adopted.length > 0) this.changed();
  }

  /** The set of writes not yet confirmed changed: rewrite this tab's entry (coalesced). */
  changed() {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      let writes;
      try {
        writes = this.#snapshot();
      } catch {
        return; // the bridge was freed
      }
      this.#store(writes);
    });
  }

  /** Resolves once every change so far is stored (or failed, which was reported). */
  stored() {
    return new Promise((resolve) => queueMicrotask(() => resolve(this.#last)));
  }

  #store(writes) {
    const key = [this.#name, this.#tab];
    const entry = { writes, since: this.#since };
    const done = this.#ready ? this.#adopted.splice(0) : [];
    this.#last = tx(QUEUES, 'readwrite', (s) => {
      if (writes.length === 0) s.delete(key);
      else s.put(entry, key);
      for (const { tab } of done) s.delete([this.#name, tab]);
    }, true).then(
      () => {
        this.#failing = false;
        for (const { release } of done) release();
      },
      (e) => {
        this.#adopted.unshift(...done); // still there: deleted with the next rewrite
        // Reported once per failing streak; the writes stay queued in memory.
        if (!this.#failing) this.#report(storageError(`WsBridge persist '${this.#name}': storing the write queue`, e));
        this.#failing = true;
      },
    );
  }

  /** The bridge is gone: no more rewrites; the locks go (a later tab adopts what is left). */
  close() {
    this.#closed = true;
    this.#release?.();
    for (const { release } of this.#adopted.splice(0)) release();
  }
}

// ------------------------------------------------------------ persisted records

/** Restores of persisted records still under way, per db (the bridge waits for them). */
const restoring = new WeakMap();
/** dbs that reported NOT_AVAILABLE already. */
const reportedUnavailable = new WeakSet();

/** Resolves when every persisted record of `db` configured so far is restored. */
export function restoresOf(db) {
  const set = restoring.get(db);
  return set && set.size > 0 ? Promise.all([...set]).then(() => undefined) : null;
}

/** The `name` of WsBridge's `persist` option ({ name }); INVALID_OPTIONS otherwise. */
export function persistName(persist) {
  const name = persist?.name;
  if (typeof name !== 'string' || name === '') {
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid WsBridge options: persist must be { name } with a non-empty string name, got ${describeValue(persist)}` });
  }
  return name;
}

/**
 * Record options split into their `persist` (checked: see `persistOption`; null when
 * absent) and the rest, which the Rust options reader takes. (A Worker-mode db's page-side
 * shadow gets the rest only: the worker persists.)
 */
export function splitPersist(options, key) {
  try {
    if (options === null || typeof options !== 'object' || options.persist === undefined) return [null, options];
    const { persist, ...rest } = options;
    return [persistOption(persist, key), rest];
  } catch (e) {
    if (e instanceof AimDbError) throw e;
    throw new AimDbError({ code: 'INVALID_OPTIONS', message: `invalid record options: ${thrownText(e)}`, key, cause: e });
  }
}

/**
 * `persist: true | { onError }` read from record options: `{ onError }` (a function or
 * undefined), or null when the record is not persisted.
 */
function persistOption(value, key) {
  if (value === undefined || value === false) return null;
  if (value === true) return { onError: undefined };
  if (value !== null && typeof value === 'object' && (value.onError === undefined || typeof value.onError === 'function')) {
    return { onError: value.onError };
  }
  throw new AimDbError({ code: 'INVALID_OPTIONS', message: `record \`${key}\`: persist must be true, false or { onError }`, key });
}

/**
 * Persists record `key` of `db`: restores what a previous page stored (each value through
 * the contract; one that fails is dropped and reported), then stores every new value.
 * `ops`: { stats(), tap(fn), restore(values), validate(schemaType, v) }; `restore` produces
 * the values without sending them (a restored value is not a local write).
 */
export function persistRecord(db, key, onError, ops) {
  const report = (e) => {
    if (onError) {
      try {
        onError(e);
        return;
      } catch (thrown) {
        e = thrown;
      }
    }
    console.error(`@aimdb/wasm: persisted record '${key}':`, e);
  };
  if (!persistAvailable()) {
    if (!reportedUnavailable.has(db)) {
      reportedUnavailable.add(db);
      report(notAvailable(`configureRecord('${key}', { persist })`));
    }
    return;
  }
  const { schemaType, buffer } = ops.stats();
  const ring = /^SpmcRing\(capacity=(\d+)\)$/.exec(buffer);
  const capacity = ring ? Number(ring[1]) : 1;
  let kept = []; // what is stored next: the last `capacity` values
  let started = false;
  let scheduled = false;
  let failing = false;
  const store = () => {
    scheduled = false;
    const entry = { schemaType, values: kept };
    tx(RECORDS, 'readwrite', (s) => s.put(entry, key)).then(
      () => (failing = false),
      (e) => {
        if (!failing) report(storageError(`persisted record '${key}': storing its value`, e, key));
        failing = true;
      },
    );
  };
  ops.tap((v) => {
    kept.push(v); // (a store clones `kept` when it is issued: changing it later is fine)
    if (kept.length > capacity) kept.splice(0, kept.length - capacity);
    if (started && !scheduled) {
      scheduled = true;
      queueMicrotask(store);
    }
  });
  const p = tx(RECORDS, 'readonly', (s) => req(s.get(key)))
    .then((entry) => {
      // A value the record has already (set locally, or from a server) is newer than the stored one.
      if (!entry || ops.stats().produced > 0 || !Array.isArray(entry.values)) return;
      const ok = [];
      for (const v of entry.values) {
        const r = ops.validate(schemaType, v);
        if (r.ok) ok.push(r.value);
        else {
          report(
            new AimDbError({
              code: 'CONTRACT_VIOLATION',
              message: `persisted record '${key}': a stored value (stored as ${entry.schemaType}) fails the contract '${schemaType}' and was dropped: ${r.error.message}`,
              key,
              schemaType,
              path: r.error.path,
              serdeMessage: r.error.serdeMessage,
              cause: r.error,
            }),
          );
        }
      }
      if (ok.length > 0) ops.restore(ring ? ok : ok.slice(-1));
    })
    .catch((e) => {
      if (e instanceof AimDbError && e.code === 'USE_AFTER_FREE') return; // the db went first
      report(e instanceof AimDbError ? e : storageError(`persisted record '${key}': restoring it`, e, key));
    })
    .finally(() => {
      started = true;
      restoring.get(db)?.delete(p);
      if (kept.length > 0) store();
    });
  if (!restoring.has(db)) restoring.set(db, new Set());
  restoring.get(db).add(p);
}
