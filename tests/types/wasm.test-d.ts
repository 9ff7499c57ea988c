// Type tests of @aimdb/wasm (tsc --noEmit -p tests/types): what must check, and, on each
// `@ts-expect-error` line, what must not. Never run.
import init, { initSync, AimDbError, type ErrorCode, type GpsLocation, type Humidity, type Setpoint, type Temperature } from '@aimdb/wasm';

// ---- init / initSync: every form, nothing else
export async function loading(bytes: Uint8Array, module: WebAssembly.Module): Promise<void> {
  await init();
  await init({ module_or_path: new URL('file:///x.wasm') });
  await init({ module_or_path: fetch('/x.wasm') });
  await init(bytes);
  initSync(bytes);
  initSync(module);
  initSync({ module: bytes });
  // @ts-expect-error initSync needs an argument
  initSync();
  // (WebAssembly.Module is an empty interface in lib.dom: any non-null object or string
  // passes as one, so misspelt object forms cannot be caught by types.)
}

// ---- AimDbError: the declared constructor is the runtime one ({ code, message, ...fields })
export function errors(): AimDbError {
  const e = new AimDbError({ code: 'UNKNOWN_KEY', message: 'no such record', key: 'a.b' });
  const code: ErrorCode = e.code;
  const key: string | undefined = e.key;
  void code, key;
  // @ts-expect-error the constructor takes { code, message }, not a message string
  new AimDbError('no such record');
  // @ts-expect-error not an error code
  new AimDbError({ code: 'NO_SUCH_CODE', message: 'x' });
  // @ts-expect-error code is required
  new AimDbError({ message: 'x' });
  return e;
}

// ---- the built-in contracts' types are exported
export const contracts: [Temperature, Humidity, GpsLocation, Setpoint] = [
  { schema_version: 2, celsius: 21, timestamp: 1 },
  { percent: 40, timestamp: 1 },
  { latitude: 48.2, longitude: 16.4, timestamp: 1 },
  { target_celsius: 21, timestamp: 1 },
];
// @ts-expect-error celsius is a number
export const hot: Temperature = { schema_version: 2, celsius: 'hot', timestamp: 1 };

// ---- WsBridge: the WebSocket option takes a constructor (e.g. the `ws` package's in Node)
import { WasmDb, WsBridge, validate } from '@aimdb/wasm';
class NodeWebSocket {
  binaryType = 'nodebuffer';
  constructor(readonly url: string, readonly protocols?: string | string[]) {}
}
export function bridgeInNode(db: WasmDb): WsBridge {
  // @ts-expect-error a constructor, not a package name
  WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { WebSocket: 'ws' });
  return WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { WebSocket: NodeWebSocket });
}

// ---- A key tied to its contract once: WasmDb<M> over a { key: Type } map ----
import type { JsonObject, RecordHandle, ValueInput } from '@aimdb/wasm';
import type { AimDbConfig } from '@aimdb/react';

interface Records {
  'sensors.temperature.vienna': Temperature;
  'commands.setpoint.room1': Setpoint;
}
export function typedDb(db: WasmDb<Records>): number {
  db.set('sensors.temperature.vienna', { celsius: 21, timestamp: 1 }); // schema_version may be left out
  db.set('sensors.temperature.vienna', { schema_version: 2, celsius: 21, timestamp: 1 });
  db.set('sensors.temperature.vienna', { schema_version: 1, temp: 70, unit: 'F', timestamp: 1 }); // migrated
  // @ts-expect-error celsius is a number
  db.set('sensors.temperature.vienna', { celsius: 'hot', timestamp: 1 });
  // @ts-expect-error timestamp is missing
  db.set('sensors.temperature.vienna', { celsius: 21 });
  // @ts-expect-error a setpoint record takes setpoints
  db.set('commands.setpoint.room1', { celsius: 21, timestamp: 1 });
  // @ts-expect-error no such field in the contract
  db.set('sensors.temperature.vienna', { celsius: 21, timestamp: 1, humidity: 3 });
  // @ts-expect-error every value of a batch is checked
  db.setMany('sensors.temperature.vienna', [{ celsius: 21, timestamp: 1 }, { celsius: '22', timestamp: 2 }]);
  const next: number = db.get('sensors.temperature.vienna')!.celsius + 1;
  // @ts-expect-error a temperature has no percent
  db.get('sensors.temperature.vienna')!.percent;
  // @ts-expect-error celsius is not a string
  const s: string = db.get('sensors.temperature.vienna')!.celsius;
  // @ts-expect-error the value may be null before the first
  db.get('sensors.temperature.vienna').celsius;
  db.subscribe('sensors.temperature.vienna', (t) => void (t.celsius + 1));
  db.subscribe('sensors.temperature.vienna', (ts) => void ts[0]?.celsius, { batch: true });
  // @ts-expect-error the callback gets temperatures
  db.subscribe('sensors.temperature.vienna', (t) => void t.percent);
  const handle: RecordHandle<Setpoint> = db.record('commands.setpoint.room1');
  handle.set({ target_celsius: 20, timestamp: 2 });
  // Keys the map does not name stay untyped (JSON objects, or the type given).
  db.set('other.key', { anything: [1, 'two'] });
  const j: JsonObject | null = db.get('other.key');
  const h = db.get<Humidity>('other.humidity');
  void s, j, h;
  return next;
}

// ---- transform / tap (issue 13): inputs and outputs typed by the key map or given ----
export function dataflow(db: WasmDb<Records>, plain: WasmDb): void {
  const stop = db.transform('commands.setpoint.room1', { from: 'sensors.temperature.vienna' }, (t) => ({ target_celsius: t.celsius, timestamp: t.timestamp }));
  stop();
  stop.dispose();
  // @ts-expect-error the output must be a setpoint (the key map says so)
  db.transform('commands.setpoint.room1', { from: 'sensors.temperature.vienna' }, (t) => ({ celsius: t.celsius, timestamp: 1 }));
  db.transform('commands.setpoint.room1', { from: 'sensors.temperature.vienna' }, () => undefined); // skips
  plain.transform<Temperature, Setpoint>('out', { from: 'in', schemaType: 'setpoint' }, (t) => ({ target_celsius: t.celsius, timestamp: 1 }));
  // @ts-expect-error a temperature has no percent
  plain.transform<Temperature, Setpoint>('out', { from: 'in' }, (t) => ({ target_celsius: t.percent, timestamp: 1 }));
  plain.transform<[Temperature, Humidity], Setpoint>('out', { from: ['t', 'h'] }, ([t, h]) => ({ target_celsius: t.celsius + h.percent, timestamp: 1 }));
  // @ts-expect-error a misspelt contract name
  plain.transform('out', { from: 'in', schemaType: 'setpiont' }, (v) => v);
  db.tap('sensors.temperature.vienna', (t) => void (t.celsius + 1), { onError: (e) => void e });
  // @ts-expect-error the tap gets temperatures
  db.tap('sensors.temperature.vienna', (t) => void t.percent);
  const sim = plain.simulate('in', { hz: 10, seed: 1, startTimestamp: 0 });
  sim.dispose();
  // @ts-expect-error hz is required
  plain.simulate('in', { seed: 1 });
}

// ---- autoConfigure and query (issue 13) ----
export async function serverDriven(db: WasmDb): Promise<number> {
  const b = WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { autoConfigure: { buffer: { type: 'SpmcRing', capacity: 16 } } });
  // @ts-expect-error autoConfigure is a boolean or { buffer }
  WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { autoConfigure: 'yes' });
  const done = await b.configured;
  const n: number = done ? done.configured.length + done.unknown.length : 0;
  const q = await b.query<Temperature>('sensors/#', { from: 0, limit: 10 });
  // @ts-expect-error values are temperatures
  void q.records[0]?.value.percent;
  return n + q.total + (q.records[0]?.value.celsius ?? 0);
}

// ---- configureRecord's handle is typed by the contract; contract names are checked ----
export function handles(db: WasmDb): number {
  const humidity = db.configureRecord('sensors.humidity.vienna', { schemaType: 'humidity' });
  humidity.set({ percent: 40, timestamp: 1 });
  // @ts-expect-error percent is a number
  humidity.set({ percent: 'wet', timestamp: 1 });
  // @ts-expect-error a misspelt contract name is an error, not a JsonObject record
  db.configureRecord('x', { schemaType: 'temprature' });
  const v = validate('setpoint', { target_celsius: 20, timestamp: 1 });
  // @ts-expect-error validate checks the name too
  validate('setpiont', {});
  const input: ValueInput<Temperature> = { celsius: 1, timestamp: 1 };
  void input;
  // @ts-expect-error the React provider's records are checked the same way
  const config: AimDbConfig = { records: { a: { schemaType: 'humdity' } } };
  void config;
  return humidity.get()!.percent + (v.ok ? v.value.target_celsius : 0);
}

// ---- custom contracts (registered from Rust) join by declaration merging ----
export function custom(db: WasmDb): number {
  const p = db.configureRecord('sensors.pressure.vienna', { schemaType: 'pressure' });
  p.set({ hpa: 1013.25, timestamp: 1 });
  // @ts-expect-error hpa is a number
  p.set({ hpa: 'high', timestamp: 1 });
  return p.get()?.hpa ?? 0;
}
declare module '@aimdb/wasm' {
  interface Schemas {
    pressure: { hpa: number; timestamp: number };
  }
}

// ---- Worker mode: the same typed API; WsBridge and @aimdb/react take it as a WasmDb ----
import type { WorkerDb } from '@aimdb/wasm';
import { AimDbProvider } from '@aimdb/react';
export async function workerMode(): Promise<number> {
  const db: WorkerDb<Records> = await WasmDb.inWorker<Records>({ tick: 'animationFrame', onError: (e) => console.warn(e.code) });
  const plain: WasmDb<Records> = db; // one API
  const inWorker: true = db.inWorker;
  void inWorker;
  // @ts-expect-error onError takes a function
  void WasmDb.inWorker({ onError: 'log' });
  db.set('sensors.temperature.vienna', { celsius: 21, timestamp: 1 });
  // @ts-expect-error celsius is a number
  db.set('sensors.temperature.vienna', { celsius: 'hot', timestamp: 1 });
  const b: WsBridge = WsBridge.connect(db, 'ws://127.0.0.1:1/ws', { subscribeTopics: ['sensors/#'] });
  void b;
  void AimDbProvider({ db, children: null });
  await db.sync();
  return plain.get('sensors.temperature.vienna')?.celsius ?? 0;
}
