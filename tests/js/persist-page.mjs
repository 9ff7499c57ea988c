// The page side of tests/js/persist.mjs: one db and at most one bridge per page, driven
// from Node through `window.P`. Everything the test checks is recorded here (errors,
// statuses, deliveries in order) and read back with page.evaluate.
import init, { WasmDb, WsBridge } from '@aimdb/wasm';
import { until } from './wait.mjs';

await init();

const plain = (e) => ({ code: e?.code, message: String(e?.message ?? e), key: e?.key, reason: e?.reason, cause: e?.cause?.name });

/** A WebSocket whose sends stop reaching the server after `n` write frames (a socket whose
 *  send buffer stopped draining, as when the tab dies mid-flush): later frames vanish. */
function stallingAfter(n) {
  let writes = 0;
  return class extends WebSocket {
    send(data) {
      if (writes >= n) return;
      if (typeof data === 'string' && data.startsWith('{"type":"write"')) writes++;
      super.send(data);
    }
  };
}

const P = {
  db: null,
  bridge: null,
  /** In order: 'status:<s>', '<key>:<value's marker>' (subscriber deliveries). */
  events: [],
  errors: [],
  recordErrors: [],
  /** A db with `records` ({ key: options }, `persist` objects get onError here). */
  makeDb(records) {
    P.db = new WasmDb({ tick: 'macrotask' });
    for (const [key, o] of Object.entries(records)) {
      const opts = o.persist ? { ...o, persist: { onError: (e) => P.recordErrors.push(plain(e)) } } : o;
      P.db.configureRecord(key, opts);
    }
    return true;
  },
  /** `makeDb` on a Worker-mode db (WasmDb.inWorker): the bridge and the persistence run in the worker. */
  async makeWorkerDb(records) {
    P.db = await WasmDb.inWorker({ onError: (e) => P.recordErrors.push(plain(e)) });
    for (const [key, o] of Object.entries(records)) P.db.configureRecord(key, o);
    return true;
  },
  /** Subscribes `key`, logging `<key>:<marker(value)>` for every delivery. */
  watch(key, field) {
    P.db.subscribe(key, (v) => P.events.push(`${key}:${v[field]}`));
  },
  connect(url, name, { stallAfter, ...extra } = {}) {
    const options = { autoReconnect: { initialMs: 50, maxMs: 200 }, keepaliveMs: 0, ...extra };
    if (name !== undefined) options.persist = { name };
    if (stallAfter !== undefined) options.WebSocket = stallingAfter(stallAfter);
    P.bridge = WsBridge.connect(P.db, url, options);
    P.bridge.onError((e) => P.errors.push(plain(e)));
    P.bridge.onStatusChange((s) => P.events.push(`status:${s}`));
    return P.bridge.status;
  },
  /** Writes target_celsius = each of `values` (timestamp ts + value): odd ones via db.set. */
  write(key, values, ts) {
    for (const v of values) {
      const value = { target_celsius: v, timestamp: ts + v };
      if (v % 2 === 0) P.bridge.write(key, value);
      else P.db.set(key, value);
    }
    return P.bridge.stats();
  },
  /** The raw entries of an IndexedDB store of the package's database. */
  async idb(store) {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('aimdb-wasm');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      if (!db.objectStoreNames.contains(store)) return [];
      return await new Promise((resolve, reject) => {
        const t = db.transaction(store, 'readonly');
        const keys = t.objectStore(store).getAllKeys();
        const values = t.objectStore(store).getAll();
        t.oncomplete = () => resolve(keys.result.map((k, i) => ({ key: k, value: values.result[i] })));
        t.onerror = () => reject(t.error);
      });
    } finally {
      db.close();
    }
  },
  /** Puts `value` under `key` in store `store` (what an older version of the app stored). */
  async plant(store, key, value) {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('aimdb-wasm', 1);
      r.onupgradeneeded = () => {
        r.result.createObjectStore('queues');
        r.result.createObjectStore('records');
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    try {
      await new Promise((resolve, reject) => {
        const t = db.transaction(store, 'readwrite');
        t.objectStore(store).put(value, key);
        t.oncomplete = resolve;
        t.onerror = () => reject(t.error);
      });
    } finally {
      db.close();
    }
    return true;
  },
  /** Polls `pred()` every 20 ms (there is no event for "stored by a record"). */
  until,
};
window.P = P;
window.__ready = true;
