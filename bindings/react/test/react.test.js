// @aimdb/react against the REAL wasm module (pkg/, built by `make wasm`): no mock of @aimdb/wasm.
// Environment: happy-dom (requestAnimationFrame, document). Databases tick on 'macrotask'
// (MessageChannel) unless a test says otherwise, so values flow without a display.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { act, createElement as h, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import * as wasm from '@aimdb/wasm';
import init, { AimDbError, WasmDb } from '@aimdb/wasm';
import {
  AimDbProvider,
  useBridgeStatus,
  useDb,
  useDbStats,
  useRecord,
  useRecordHistory,
  useSetRecord,
} from '../index.js';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;

const WASM = process.env.AIMDB_WASM_FILE; // set by vitest.config.js: pkg/aimdb_wasm_bindings_bg.wasm
const TEMP = 'sensors.temp';
const RING = 'sensors.ring';
const temp = (celsius, timestamp = celsius) => ({ schema_version: 2, celsius, timestamp });

beforeAll(async () => {
  await init(readFileSync(WASM));
});

const cleanups = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()();
});

function makeDb(options = { tick: 'macrotask' }) {
  const db = new WasmDb(options);
  db.configureRecord(TEMP, { schemaType: 'temperature' });
  db.configureRecord(RING, { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
  cleanups.push(() => db.free());
  return db;
}

async function mount(element) {
  const container = document.createElement('div');
  const root = createRoot(container);
  await act(async () => root.render(element));
  let mounted = true;
  const unmount = async () => {
    if (!mounted) return;
    mounted = false;
    await act(async () => root.unmount());
  };
  cleanups.push(unmount);
  return { root, container, unmount, rerender: (el) => act(async () => root.render(el)) };
}

/** Lets macrotasks (the executor's ticks) run inside act until `cond()` holds. */
async function until(cond, what = 'condition', ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 2));
    });
  }
}

/** A few macrotask turns: enough for any pending tick to run (and any render to happen). */
async function settle(turns = 10) {
  for (let i = 0; i < turns; i++) {
    await act(async () => {
      await new Promise((r) => setTimeout(r, 2));
    });
  }
}

const subscribers = (db, key) => db.stats().records[key].subscribers;

describe('useRecord', () => {
  it('renders null, then the value after db.set; one render per change; the get() object', async () => {
    const db = makeDb();
    const seen = [];
    function Probe() {
      seen.push(useRecord(TEMP));
      return null;
    }
    await mount(h(AimDbProvider, { db }, h(Probe)));
    expect(seen).toEqual([null]);

    db.set(TEMP, temp(20));
    await until(() => seen.length === 2, 'first value');
    expect(seen[1]).toEqual(temp(20));
    expect(seen[1]).toBe(db.get(TEMP));
    expect(Object.isFrozen(seen[1])).toBe(true);

    // Ticks without a change to this record (another record is produced) render nothing.
    db.set(RING, temp(1));
    await settle();
    expect(seen.length).toBe(2);

    db.set(TEMP, temp(21));
    await until(() => seen.length === 3, 'second value');
    await settle();
    expect(seen.length).toBe(3);
    expect(seen[2]).toEqual(temp(21));
    expect(seen[2]).toBe(db.get(TEMP));

    // Two sets before a tick coalesce (SingleLatest): one render, with the latest.
    db.set(TEMP, temp(22));
    db.set(TEMP, temp(23));
    await until(() => seen.length === 4, 'coalesced value');
    await settle();
    expect(seen.length).toBe(4);
    expect(seen[3]).toEqual(temp(23));
  });

  it('reuses the delivered value: no db.get() per change', async () => {
    const db = makeDb();
    db.set(TEMP, temp(1));
    const get = db.get.bind(db);
    let gets = 0;
    db.get = (key) => {
      gets++;
      return get(key);
    };
    const seen = [];
    function Probe() {
      seen.push(useRecord(TEMP));
      return null;
    }
    await mount(h(AimDbProvider, { db }, h(Probe)));
    const atMount = gets;
    for (let i = 2; i <= 4; i++) {
      db.set(TEMP, temp(i));
      await until(() => seen.length === i, `value ${i}`);
    }
    await settle();
    expect(seen.map((v) => v.celsius)).toEqual([1, 2, 3, 4]);
    expect(seen[3]).toBe(get(TEMP)); // the object get() returns for that version
    // WasmDb.subscribe reads the current value once when subscribing; the hook never calls get() for a change.
    expect(gets).toBe(atMount);
  });

  it('a re-render without a change returns the same object', async () => {
    const db = makeDb();
    db.set(TEMP, temp(5));
    const seen = [];
    function Probe({ n }) {
      seen.push(useRecord(TEMP));
      return String(n);
    }
    const { rerender } = await mount(h(AimDbProvider, { db }, h(Probe, { n: 1 })));
    await rerender(h(AimDbProvider, { db }, h(Probe, { n: 2 })));
    await settle();
    expect(seen.length).toBe(2); // the value current at mount: no extra render for the first delivery
    expect(seen[0]).toEqual(temp(5));
    expect(seen[1]).toBe(seen[0]);
  });
});

describe('useRecordHistory', () => {
  it('keeps the last n values in order, one stable array between changes', async () => {
    const db = makeDb();
    db.set(RING, temp(0));
    const seen = [];
    function Probe({ n }) {
      seen.push(useRecordHistory(RING, 3));
      return String(n);
    }
    const { rerender } = await mount(h(AimDbProvider, { db }, h(Probe, { n: 1 })));
    expect(seen.at(-1)).toEqual([temp(0)]); // starts with the value current at mount

    for (let c = 1; c <= 5; c++) {
      db.set(RING, temp(c));
      await until(() => seen.at(-1).at(-1)?.celsius === c, `value ${c}`);
    }
    expect(seen.at(-1).map((t) => t.celsius)).toEqual([3, 4, 5]);
    expect(Object.isFrozen(seen.at(-1))).toBe(true);

    // Several values in one tick arrive as one batch: still the last 3, in order.
    for (let c = 6; c <= 10; c++) db.set(RING, temp(c));
    await until(() => seen.at(-1).at(-1)?.celsius === 10, 'batch');
    expect(seen.at(-1).map((t) => t.celsius)).toEqual([8, 9, 10]);

    const before = seen.at(-1);
    const renders = seen.length;
    await rerender(h(AimDbProvider, { db }, h(Probe, { n: 2 })));
    await settle();
    expect(seen.length).toBe(renders + 1);
    expect(seen.at(-1)).toBe(before);
  });

  it('rejects a non-positive n', async () => {
    const db = makeDb();
    let error;
    function Probe() {
      try {
        useRecordHistory(RING, 0);
      } catch (e) {
        error = e;
      }
      return null;
    }
    await mount(h(AimDbProvider, { db }, h(Probe)));
    expect(error).toBeInstanceOf(AimDbError);
    expect(error.code).toBe('INVALID_OPTIONS');
  });
});

describe('useSetRecord', () => {
  it('is stable across renders, sets the record, and throws AimDbError CONTRACT_VIOLATION', async () => {
    const db = makeDb();
    const setters = [];
    const values = [];
    let bump;
    function Probe() {
      const [n, setN] = useState(0);
      bump = () => setN((x) => x + 1);
      setters.push(useSetRecord(TEMP));
      values.push(useRecord(TEMP));
      return String(n);
    }
    await mount(h(AimDbProvider, { db }, h(Probe)));
    await act(async () => bump());
    await act(async () => bump());
    expect(setters.length).toBe(3);
    expect(setters[1]).toBe(setters[0]);
    expect(setters[2]).toBe(setters[0]);

    setters[0](temp(30));
    await until(() => values.at(-1)?.celsius === 30, 'set value');

    let error;
    try {
      setters[0]({ schema_version: 2, celsius: 'hot', timestamp: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AimDbError);
    expect(error.code).toBe('CONTRACT_VIOLATION');
    expect(error.key).toBe(TEMP);
    expect(error.path).toContain('celsius');
    expect(db.get(TEMP)).toEqual(temp(30)); // the bad value was not produced
  });
});

describe('StrictMode', () => {
  it('double mount leaks no subscription; one per hook instance while mounted', async () => {
    const db = makeDb();
    db.set(TEMP, temp(1));
    db.set(RING, temp(1));
    function A() {
      useRecord(TEMP);
      useRecordHistory(RING, 5);
      return null;
    }
    function B() {
      useRecord(TEMP);
      return null;
    }
    const { unmount } = await mount(h(StrictMode, null, h(AimDbProvider, { db }, h(A), h(B))));
    await settle();
    expect(subscribers(db, TEMP)).toBe(2);
    expect(subscribers(db, RING)).toBe(1);
    // Values still flow to the surviving subscriptions.
    db.set(TEMP, temp(2));
    await settle();
    expect(subscribers(db, TEMP)).toBe(2);
    await unmount();
    expect(subscribers(db, TEMP)).toBe(0);
    expect(subscribers(db, RING)).toBe(0);
  });

  it('history under StrictMode: no duplicate of the value current at mount', async () => {
    const db = makeDb();
    db.set(RING, temp(1));
    let last;
    function Probe() {
      last = useRecordHistory(RING, 4);
      return null;
    }
    await mount(h(StrictMode, null, h(AimDbProvider, { db }, h(Probe))));
    await settle();
    expect(last.map((t) => t.celsius)).toEqual([1]);
    db.set(RING, temp(2));
    await until(() => last.length === 2, 'second value');
    expect(last.map((t) => t.celsius)).toEqual([1, 2]);
  });

  it('config form: creates, configures and frees its own db (one live db, none after unmount)', async () => {
    const dbs = new Set();
    const seen = [];
    function Probe() {
      const db = useDb();
      dbs.add(db);
      seen.push(useRecord(TEMP));
      return null;
    }
    const config = {
      options: { tick: 'macrotask' },
      records: { [TEMP]: { schemaType: 'temperature' } },
    };
    const { unmount, container } = await mount(
      h(StrictMode, null, h(AimDbProvider, { config, fallback: 'loading' }, h(Probe))),
    );
    await until(() => dbs.size > 0, 'db created');
    expect(container.textContent).toBe('');
    expect(dbs.size).toBe(1);
    const [db] = dbs;
    expect(subscribers(db, TEMP)).toBe(1);
    db.set(TEMP, temp(7));
    await until(() => seen.at(-1)?.celsius === 7, 'value in the owned db');
    await unmount();
    expect(() => db.stats()).toThrow(expect.objectContaining({ code: 'USE_AFTER_FREE' }));
  });
});

describe('useDbStats', () => {
  it('polls on an interval: executor stats, a new object only on change', async () => {
    const db = makeDb();
    const seen = [];
    function Probe() {
      useRecord(TEMP); // a subscriber: its task makes the executor tick on each set
      seen.push(useDbStats(5));
      return null;
    }
    await mount(h(AimDbProvider, { db }, h(Probe)));
    expect(seen[0].executor.strategy).toBe('macrotask');
    expect(seen[0].records[TEMP].schemaType).toBe('temperature');
    const ticks0 = seen.at(-1).executor.ticks;
    db.set(TEMP, temp(1));
    await until(() => seen.at(-1).executor.ticks > ticks0 && seen.at(-1).records[TEMP].produced === 1, 'ticks');
    // Quiet executor: the stats stop changing, so renders stop.
    await settle(5);
    const n = seen.length;
    await settle(10);
    expect(seen.length).toBe(n);
  });

  it('polls per animation frame without an interval (happy-dom rAF), ticking on animationFrame', async () => {
    const db = makeDb({ tick: 'animationFrame' });
    let last;
    function Probe() {
      useRecord(TEMP);
      last = useDbStats();
      return null;
    }
    const { unmount } = await mount(h(AimDbProvider, { db }, h(Probe)));
    expect(last.executor.strategy).toBe('animationFrame');
    db.set(TEMP, temp(3));
    await until(() => last.records[TEMP].produced === 1 && last.executor.ticks > 0, 'rAF stats');
    await unmount();
  });
});

describe('useBridgeStatus', () => {
  // No WebSocket server runs in these tests, and WsBridge may not be in @aimdb/wasm yet: the
  // hook's contract is structural (`status` + `onStatusChange(cb) -> remove`), so it is tested
  // with a minimal object of exactly that interface. This is not a stand-in for the wasm module.
  function statusSource(initial) {
    const listeners = new Set();
    return {
      status: initial,
      listeners,
      onStatusChange(cb) {
        listeners.add(cb);
        return () => listeners.delete(cb);
      },
      emit(status) {
        this.status = status;
        for (const cb of [...listeners]) cb(status);
      },
    };
  }

  it('follows onStatusChange (argument or provider bridge), unsubscribes on unmount', async () => {
    const db = makeDb();
    const fromProvider = statusSource('connecting');
    const fromArg = statusSource('disconnected');
    const seen = { ctx: [], arg: [], none: [] };
    function Probe() {
      seen.ctx.push(useBridgeStatus());
      seen.arg.push(useBridgeStatus(fromArg));
      return null;
    }
    function NoBridge() {
      seen.none.push(useBridgeStatus());
      return null;
    }
    const { unmount } = await mount(
      h(StrictMode, null, h(AimDbProvider, { db, bridge: fromProvider }, h(Probe)), h(AimDbProvider, { db }, h(NoBridge))),
    );
    expect(seen.ctx.at(-1)).toBe('connecting');
    expect(seen.arg.at(-1)).toBe('disconnected');
    expect(seen.none.at(-1)).toBe(null);
    expect(fromProvider.listeners.size).toBe(1);
    expect(fromArg.listeners.size).toBe(1);
    await act(async () => fromProvider.emit('connected'));
    expect(seen.ctx.at(-1)).toBe('connected');
    await act(async () => fromArg.emit('reconnecting'));
    expect(seen.arg.at(-1)).toBe('reconnecting');
    await unmount();
    expect(fromProvider.listeners.size).toBe(0);
    expect(fromArg.listeners.size).toBe(0);
  });

  // The real WsBridge (when @aimdb/wasm exports it; skipped with this note before it does), on
  // happy-dom's WebSocket, pointed at a loopback port nothing listens on: no server is needed to
  // see real status changes (connecting -> reconnecting) reach the hook.
  const hasBridge = typeof wasm.WsBridge === 'function' && typeof globalThis.WebSocket === 'function';
  it.skipIf(!hasBridge)('the real WsBridge: status changes reach the hook (skipped if WsBridge is not exported)', async () => {
    const db = makeDb();
    const { createServer } = await import('node:net');
    const port = await new Promise((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    const bridge = wasm.WsBridge.connect(db, `ws://127.0.0.1:${port}/`);
    cleanups.push(() => bridge.free());
    expect(typeof bridge.onStatusChange).toBe('function');
    const seen = [];
    function Probe() {
      seen.push(useBridgeStatus());
      return null;
    }
    await mount(h(AimDbProvider, { db, bridge }, h(Probe)));
    expect(['connecting', 'reconnecting']).toContain(seen[0]);
    await until(() => seen.at(-1) === 'reconnecting' || seen.at(-1) === 'disconnected', 'a failed connection', 8000);
    expect(seen.at(-1)).toBe(bridge.status);
    expect(seen).not.toContain('connected');
    // Every status the bridge reported was rendered once, in order, with no repeats.
    expect(seen.filter((x, i) => i === 0 || x !== seen[i - 1]).length).toBe(seen.length);
  });
});

describe('AimDbProvider', () => {
  it('hooks outside a provider throw AimDbError INVALID_OPTIONS', async () => {
    let error;
    function Probe() {
      try {
        useRecord(TEMP);
      } catch (e) {
        error = e;
      }
      return null;
    }
    await mount(h(Probe));
    expect(error).toBeInstanceOf(AimDbError);
    expect(error.code).toBe('INVALID_OPTIONS');
  });
});
