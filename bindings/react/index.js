// @aimdb/react: React hooks over @aimdb/wasm (the AimDB dataflow engine in the browser).
//
// ```js
// import init, { WasmDb } from '@aimdb/wasm';
// import { AimDbProvider, useRecord, useRecordHistory, useSetRecord, useDbStats } from '@aimdb/react';
//
// await init();
// const db = new WasmDb({ tick: 'animationFrame' });
// db.configureRecord('sensors.temp', { schemaType: 'temperature' });
// db.configureRecord('sensors.hist', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } });
// root.render(createElement(AimDbProvider, { db }, createElement(App)));
//
// function Reading() {
//   const t = useRecord('sensors.temp');             // null until the first value; re-renders only on change
//   const last10 = useRecordHistory('sensors.hist', 10); // oldest first, one array identity per change
//   const setTemp = useSetRecord('sensors.temp');     // stable; throws AimDbError (CONTRACT_VIOLATION, ...)
//   const stats = useDbStats(500);                    // db.stats() every 500 ms (omit: once per animation frame)
//   ...
// }
// ```
//
// - `<AimDbProvider db={db}>` provides a WasmDb you own (the provider never frees it), or
//   `<AimDbProvider config={{ init?, options?, records? }} fallback={...}>` creates one after mount
//   (awaiting `init(config.init)` first), configures `records`, and frees it on unmount. `config`
//   is read once per mount: give the provider a new `key` to recreate the database. `fallback` is
//   rendered until the database exists; an init/creation error is thrown from render (error boundary).
//   `bridge` (optional): the default for `useBridgeStatus()`.
// - `useRecord(key)`: useSyncExternalStore over `db.subscribe`: the value is the deep-frozen
//   object the subscription delivers (`db.get()` only before it), the one `db.get()` returns
//   too: the same object until the record's value changes, read once per change.
// - `useRecordHistory(key, n)`: the last `n` values of a ring (SpmcRing) record, oldest first,
//   starting with the value current at subscription. A frozen array whose identity changes only
//   when a value arrives. Changing `key` or `n` starts a new history.
// - `useSetRecord(key)`: `(value) => db.set(key, value)`, the same function while db and key stay.
// - `useBridgeStatus(bridge?)`: `bridge.status`, re-rendering on `bridge.onStatusChange`; the
//   bridge is the argument, else the provider's `bridge`, else `null` is returned.
// - `useDbStats(intervalMs?)`: polls `db.stats()` every `intervalMs` ms, or once per animation
//   frame without it; a new object only when the stats changed.
// - StrictMode-safe: every subscription is made in an effect (or by useSyncExternalStore) and
//   undone by its cleanup, so a double mount leaves exactly one subscription per hook instance.
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from 'react';
import init, { AimDbError, WasmDb } from '@aimdb/wasm';

const AimDbContext = createContext(null);
AimDbContext.displayName = 'AimDbContext';

const EMPTY = Object.freeze([]);

function invalid(message, key) {
  return new AimDbError({ code: 'INVALID_OPTIONS', message: `@aimdb/react: ${message}`, key });
}

/** Provides a WasmDb (given, or created from `config`) and optionally a bridge to the hooks below it. */
export function AimDbProvider(props) {
  const { db: given, config, bridge = null, fallback = null, children } = props;
  if ((given == null) === (config == null)) {
    throw invalid('AimDbProvider needs exactly one of `db` or `config`');
  }
  // [db, error] for the `config` form; the `db` form never touches this state.
  const [owned, setOwned] = useState(null);
  const ownsDb = given == null;
  useEffect(() => {
    if (!ownsDb) return undefined;
    let cancelled = false;
    let created = null;
    (async () => {
      await init(config.init);
      if (cancelled) return;
      created = new WasmDb(config.options);
      for (const [key, options] of Object.entries(config.records ?? {})) created.configureRecord(key, options);
      setOwned({ db: created });
    })().catch((error) => {
      if (created) created.free();
      created = null;
      if (!cancelled) setOwned({ error });
    });
    return () => {
      cancelled = true;
      if (created) created.free();
      setOwned(null);
    };
    // `config` is read once per mount (documented): an inline object must not recreate the db.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ownsDb]);
  if (owned && owned.error) throw owned.error;
  const db = ownsDb ? (owned ? owned.db : null) : given;
  const value = useMemo(() => (db ? { db, bridge } : null), [db, bridge]);
  if (!value) return fallback;
  return createElement(AimDbContext.Provider, { value }, children);
}

/** The provider's WasmDb; throws outside an AimDbProvider. */
export function useDb() {
  const ctx = useContext(AimDbContext);
  if (!ctx) throw invalid('useDb/useRecord/... must be used inside <AimDbProvider>');
  return ctx.db;
}

/**
 * The value a `useRecord` shows: `db.get(key)` until subscribed, then what the subscription
 * delivers (the object `get()` returns for that version: nothing is read twice per change).
 */
function recordStore(db, key) {
  let value;
  let read = false;
  return {
    getSnapshot() {
      if (!read) {
        value = db.get(key);
        read = true;
      }
      return value;
    },
    subscribe(onChange) {
      // The first delivery is synchronous: the current value (unchanged since the render: no re-render).
      return db.subscribe(key, (v) => {
        read = true;
        if (v === value) return;
        value = v;
        onChange();
      });
    },
  };
}

/** The latest value of a record (deep-frozen, the same object until it changes), or null. */
export function useRecord(key) {
  const db = useDb();
  const store = useMemo(() => recordStore(db, key), [db, key]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

function historyStore(db, key, n) {
  let history = null; // lazily seeded so a discarded render subscribes to nothing
  const seed = () => {
    const current = db.get(key);
    return current === null ? EMPTY : Object.freeze([current]);
  };
  const append = (values) => {
    if (values.length === 0) return false;
    const next = [...history, ...values];
    history = Object.freeze(next.length > n ? next.slice(next.length - n) : next);
    return true;
  };
  return {
    getSnapshot() {
      if (history === null) history = seed();
      return history;
    },
    subscribe(onChange) {
      if (history === null) history = seed();
      let initial = true;
      const unsubscribe = db.subscribe(
        key,
        (batch) => {
          const values = Array.isArray(batch) ? batch : [batch];
          if (initial) {
            // The synchronous first delivery is the current value (the object get() returns).
            // Already the newest entry (first mount, StrictMode re-subscribe): keep the history.
            const current = values[values.length - 1];
            if (history[history.length - 1] === current) return;
            history = Object.freeze([current]);
            onChange();
            return;
          }
          if (append(values)) onChange();
        },
        { batch: true },
      );
      initial = false;
      return unsubscribe;
    },
  };
}

/** The last `n` values of a ring record, oldest first (a stable frozen array between changes). */
export function useRecordHistory(key, n) {
  if (!Number.isInteger(n) || n < 1) throw invalid(`useRecordHistory: n must be a positive integer, got ${n}`, key);
  const db = useDb();
  const store = useMemo(() => historyStore(db, key, n), [db, key, n]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** A stable setter: `db.set(key, value)`; throws AimDbError (e.g. CONTRACT_VIOLATION). */
export function useSetRecord(key) {
  const db = useDb();
  return useCallback((value) => db.set(key, value), [db, key]);
}

const noBridge = () => () => {};
const nullSnapshot = () => null;

/** The bridge's status ('connecting' | 'connected' | 'disconnected' | 'reconnecting'), or null without one. */
export function useBridgeStatus(bridge) {
  const ctx = useContext(AimDbContext);
  const b = bridge ?? (ctx ? ctx.bridge : null) ?? null;
  const subscribe = useCallback((onChange) => (b ? b.onStatusChange(() => onChange()) : noBridge()), [b]);
  const getSnapshot = useCallback(() => (b ? b.status : null), [b]);
  return useSyncExternalStore(b ? subscribe : noBridge, b ? getSnapshot : nullSnapshot, b ? getSnapshot : nullSnapshot);
}

/** `db.stats()`, polled every `intervalMs` ms or once per animation frame; a new object only on change. */
export function useDbStats(intervalMs) {
  if (intervalMs !== undefined && !(typeof intervalMs === 'number' && intervalMs > 0)) {
    throw invalid(`useDbStats: intervalMs must be a positive number, got ${intervalMs}`);
  }
  const db = useDb();
  const [state, setState] = useState(() => {
    const stats = db.stats();
    return { db, stats, json: JSON.stringify(stats) };
  });
  useEffect(() => {
    let stopped = false;
    const poll = () => {
      if (stopped) return;
      const stats = db.stats();
      const json = JSON.stringify(stats);
      setState((prev) => (prev.db === db && prev.json === json ? prev : { db, stats, json }));
    };
    poll();
    if (intervalMs !== undefined) {
      const id = setInterval(poll, intervalMs);
      return () => {
        stopped = true;
        clearInterval(id);
      };
    }
    const raf = typeof requestAnimationFrame === 'function';
    let id;
    const frame = () => {
      poll();
      if (!stopped) id = raf ? requestAnimationFrame(frame) : setTimeout(frame, 16);
    };
    id = raf ? requestAnimationFrame(frame) : setTimeout(frame, 16);
    return () => {
      stopped = true;
      if (raf) cancelAnimationFrame(id);
      else clearTimeout(id);
    };
  }, [db, intervalMs]);
  // A db switched under the hook: its stats at once, not the previous db's.
  return state.db === db ? state.stats : db.stats();
}
