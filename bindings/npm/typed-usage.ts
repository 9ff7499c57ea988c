// Type-level usage of @aimdb/wasm: `tsc --noEmit -p bindings/npm/tsconfig.json` checks
// that the whole public surface of index.d.ts types the way the README says, and that
// misuse is rejected (`@ts-expect-error` lines fail the check if they stop being errors).
// Never run; no `any` anywhere.

// ---- The README snippet, verbatim ('@aimdb/wasm' resolves to ./index.d.ts through the
// package's own "exports", the way an app importing the package sees it). ----
import init, { WasmDb } from '@aimdb/wasm';
await init();
const db = new WasmDb();                         // or new WasmDb({ tick: 'animationFrame', budgetMs: 4 })
db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature', buffer: 'SingleLatest' });
db.configureRecord('sensors.temperature.berlin', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 50 } });
db.configureRecord('sensors.humidity.vienna',   { schemaType: 'humidity',    buffer: 'SingleLatest' });
db.set('sensors.temperature.vienna', { schema_version: 2, celsius: 22.5, timestamp: Date.now() });
const temp = await db.get('sensors.temperature.vienna');   // validated object, or null before the first value
const unsub = db.subscribe('sensors.temperature.vienna', (v) => console.log(v.celsius));
unsub();
db.free();
// ---- end of the README snippet ----

// The rest of the surface, through the relative specifier ('./index.js' -> index.d.ts).
// (`init` and `WasmDb` are bound by the snippet's import above; the same names cannot be
// imported twice, so the './index.js' copies are bound under other names and shown to be
// the same declarations.)
import initFromIndex, {
  WasmDb as WasmDbFromIndex,
  AimDbError,
  WsBridge,
  type BridgeStatus,
  type BridgeStats,
  type SyncResult,
  type WsBridgeOptions,
  type RemoveListener,
  validate,
  knownSchemas,
  type Temperature,
  type TemperatureV1,
  type Humidity,
  type GpsLocation,
  type Schemas,
  type SchemaName,
  type JsonValue,
  type JsonObject,
  type TickStrategy,
  type LogLevel,
  type TickingOptions,
  type WasmDbOptions,
  type BufferOption,
  type RecordOptions,
  type ErrorCode,
  type SubscribeOptions,
  type Unsubscribe,
  type TickEnd,
  type TickStats,
  type ExecutorStats,
  type RecordStats,
  type DbStats,
  type ValidationResult,
  type SchemaInfo,
  type InitInput,
  type RecordHandle,
} from './index.js';

const sameInit: typeof init = initFromIndex;
const sameDb: typeof WasmDb = WasmDbFromIndex;
const snippetTemp: Readonly<JsonObject> | null = temp;
void sameInit;
void sameDb;
void snippetTemp;

// ---- init(): every input form ----
async function initForms(bytes: ArrayBuffer, module: WebAssembly.Module): Promise<void> {
  const p: Promise<void> = init();
  await p;
  await init(new URL('/pkg/aimdb_wasm_bindings_bg.wasm', location.href));
  await init('/pkg/aimdb_wasm_bindings_bg.wasm');
  await init(fetch('/pkg/aimdb_wasm_bindings_bg.wasm'));
  await init(bytes);
  await init(new Uint8Array(bytes));
  await init(module);
  const input: InitInput = module;
  await init(input);
  // (WebAssembly.Module is an empty interface in lib.dom, so InitInput accepts any
  // non-null value; only null is rejected at the type level.)
  // @ts-expect-error: null is no wasm source
  await init(null);
}
void initForms;

// ---- construction and ticking options ----
function construction(): WasmDb {
  const a = new WasmDb();
  const b = new WasmDb({ tick: 'animationFrame', budgetMs: 4 });
  const c = new WasmDb({ tick: 'macrotask', budgetMs: 2, maxPollsPerTick: 256, logLevel: 'warn' });
  const strategies: TickStrategy[] = ['animationFrame', 'microtask', 'macrotask', 'idle', 'manual'];
  for (const tick of strategies) c.setTicking({ tick });
  c.setTicking({ tick: 'microtask' });
  c.setTicking({ tick: 'macrotask' });
  c.setTicking({ tick: 'idle', budgetMs: 8 });
  c.setTicking({ tick: 'animationFrame' });
  c.setTicking({ budgetMs: 1 });
  c.setTicking({ maxPollsPerTick: 64 });
  const ticking: TickingOptions = { tick: 'idle' };
  c.setTicking(ticking);
  const level: LogLevel = 'off';
  const opts: WasmDbOptions = { ...ticking, logLevel: level };
  a.free();
  b.free();

  // @ts-expect-error: unknown tick strategy
  new WasmDb({ tick: 'everyFrame' });
  // @ts-expect-error: unknown tick strategy at run time too
  c.setTicking({ tick: 'sometimes' });
  // @ts-expect-error: budgetMs is a number
  c.setTicking({ budgetMs: '4' });
  // @ts-expect-error: logLevel is not a ticking option of setTicking
  c.setTicking({ logLevel: 'debug' });
  // @ts-expect-error: unknown log level
  new WasmDb({ logLevel: 'verbose' });
  return new WasmDb(opts);
}

// ---- configureRecord: schemas and buffers ----
function records(d: WasmDb): void {
  d.configureRecord('a', { schemaType: 'temperature' });
  d.configureRecord('b', { schemaType: 'humidity', buffer: 'Mailbox' });
  d.configureRecord('c', { schemaType: 'gps_location', buffer: 'SpmcRing' });
  d.configureRecord('d', { schemaType: 'temperature', buffer: { type: 'SpmcRing' } });
  d.configureRecord('e', { schemaType: 'temperature', buffer: { type: 'SingleLatest' }, topic: 'x/y', link: 'both' });
  d.configureRecord('f', { schemaType: 'temperature', buffer: { type: 'Mailbox' }, link: 'out' });
  // App-registered contracts are reachable by name once declared (the Schemas merge at the end).
  d.configureRecord('g', { schemaType: 'my_app_schema' });
  // @ts-expect-error: a misspelt contract name
  d.configureRecord('g', { schemaType: 'temprature' });
  const buffers: BufferOption[] = ['SingleLatest', 'Mailbox', 'SpmcRing', { type: 'SpmcRing', capacity: 8 }];
  for (const buffer of buffers) d.configureRecord('h', { schemaType: 'humidity', buffer });
  const ro: RecordOptions = { schemaType: 'humidity' };
  const name: SchemaName = ro.schemaType;
  d.configureRecord('i', { schemaType: name });
  const custom: RecordOptions<'custom'> = { schemaType: 'custom', buffer: 'Mailbox' };
  d.configureRecord('j', custom);

  // @ts-expect-error: wrong buffer option (no such buffer)
  d.configureRecord('k', { schemaType: 'temperature', buffer: 'Ring' });
  // @ts-expect-error: wrong buffer option (capacity is a number)
  d.configureRecord('k', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: '50' } });
  // @ts-expect-error: wrong buffer option (SingleLatest takes no capacity)
  d.configureRecord('k', { schemaType: 'temperature', buffer: { type: 'SingleLatest', capacity: 1 } });
  // @ts-expect-error: schemaType is required
  d.configureRecord('k', { buffer: 'SingleLatest' });
  // @ts-expect-error: unknown link direction
  d.configureRecord('k', { schemaType: 'temperature', link: 'sideways' });
  // @ts-expect-error: the key is a string
  d.configureRecord(7, { schemaType: 'temperature' });
}

// ---- set / get ----
function values(d: WasmDb): number {
  const t: Temperature = { schema_version: 2, celsius: 22.5, timestamp: Date.now() };
  d.set('a', t);
  d.set<Temperature>('a', t);
  const old: TemperatureV1 = { schema_version: 1, temp: 212, unit: 'F', timestamp: 1 };
  d.set<TemperatureV1>('a', old);
  const h: Humidity = { percent: 55, timestamp: 1 };
  d.set<Humidity>('b', h);
  const g: GpsLocation = { latitude: 48.2, longitude: 16.37, timestamp: 1 };
  const g2: GpsLocation = { ...g, altitude: 170, accuracy: 5 };
  d.set<GpsLocation>('c', g2);
  d.set('a', { schema_version: 2, celsius: 1, timestamp: 2 });

  const typed = d.get<Temperature>('a');
  let c = 0;
  if (typed !== null) {
    c = typed.celsius;
    const version: 2 = typed.schema_version;
    void version;
    // @ts-expect-error: values handed out are readonly
    typed.celsius = 3;
  }
  // @ts-expect-error: get() may return null
  const notNarrowed: number = d.get<Temperature>('a').celsius;
  void notNarrowed;

  const untyped = d.get('a');
  if (untyped !== null) {
    const field: JsonValue = untyped['celsius'];
    if (typeof field === 'number') c += field;
  }
  // @ts-expect-error: a Temperature needs schema_version 2 (v1 is its own type)
  const wrong: Temperature = { schema_version: 1, celsius: 1, timestamp: 1 };
  void wrong;
  // @ts-expect-error: TemperatureV1.unit is 'C' | 'F' | 'K'
  const badUnit: TemperatureV1 = { schema_version: 1, temp: 1, unit: 'X', timestamp: 1 };
  void badUnit;
  const bySchema: Schemas['gps_location'] = g;
  void bySchema;
  return c;
}

// ---- setMany and records by handle ----
function handles(d: WasmDb): number {
  const t: Temperature = { schema_version: 2, celsius: 22.5, timestamp: 1 };
  d.setMany<Temperature>('a', [t, { ...t, timestamp: 2 }]);
  // @ts-expect-error: setMany takes an array
  d.setMany<Temperature>('a', t);
  const rec: RecordHandle<Temperature> = d.configureRecord('r', { schemaType: 'temperature', buffer: 'SpmcRing' });
  rec.set(t);
  rec.setMany([t]);
  // @ts-expect-error: the handle's type is the contract's
  rec.set({ percent: 1, timestamp: 1 });
  const key: string = rec.key;
  void key;
  const latest = rec.get();
  const stop = rec.subscribe((v) => console.log(v.celsius));
  const stopBatch = rec.subscribe((vs) => console.log(vs.length), { batch: true });
  stop();
  stopBatch();
  const h = d.record<Humidity>('b');
  h.set({ percent: 40, timestamp: 1 });
  return latest === null ? 0 : latest.celsius;
}
void handles;

// ---- subscribe: single values, batches, options ----
function subscriptions(d: WasmDb): Unsubscribe[] {
  const subs: Unsubscribe[] = [];
  subs.push(d.subscribe('a', (v) => console.log(v)));
  subs.push(
    d.subscribe<Temperature>('a', (v) => {
      const c: number = v.celsius;
      void c;
    }),
  );
  subs.push(d.subscribe<Temperature>('a', (v) => void v.timestamp, { batch: false }));
  // The batch overload: the callback gets an array.
  subs.push(
    d.subscribe<Temperature>(
      'd',
      (vs) => {
        const arr: ReadonlyArray<Readonly<Temperature>> = vs;
        for (const v of arr) void v.celsius;
        const n: number = vs.length;
        void n;
      },
      { batch: true },
    ),
  );
  const onLag = (skipped: number): void => void skipped;
  const onError = (error: unknown): void => {
    if (error instanceof Error) console.warn(error.message);
  };
  // (A value annotated as plain `SubscribeOptions` has `batch?: boolean`, which neither
  // overload accepts; `satisfies` keeps the literal type.)
  const full = { onLag, onError } satisfies SubscribeOptions;
  const asOptions: SubscribeOptions = full;
  void asOptions;
  subs.push(d.subscribe<Humidity>('b', (h) => void h.percent, full));
  subs.push(d.subscribe<Humidity>('b', (hs) => void hs[0], { ...full, batch: true }));
  const unsubscribe: Unsubscribe = subs[0];
  unsubscribe();
  unsubscribe();

  // @ts-expect-error: a batch callback receives an array, not a single value
  d.subscribe<Temperature>('d', (v: Temperature) => void v.celsius, { batch: true });
  // @ts-expect-error: a batch callback receives an array (no .celsius on it)
  d.subscribe<Temperature>('d', (vs) => void vs.celsius, { batch: true });
  // @ts-expect-error: a non-batch callback receives a single value, not an array
  d.subscribe<Temperature>('d', (vs: ReadonlyArray<Temperature>) => void vs.length);
  // @ts-expect-error: onLag gets a number
  d.subscribe('d', () => {}, { onLag: (s: string) => void s });
  // @ts-expect-error: batch is a boolean
  d.subscribe('d', () => {}, { batch: 'yes' });
  // @ts-expect-error: unknown subscribe option
  d.subscribe('d', () => {}, { coalesce: true });
  return subs;
}

// ---- stats() ----
function statistics(d: WasmDb): number {
  const s: DbStats = d.stats();
  const e: ExecutorStats = s.executor;
  const strategy: TickStrategy = e.strategy;
  const counters: number[] = [
    e.ticks, e.polls, e.busyMs, e.budgetHits, e.maxPollsHits, e.overruns,
    e.maxTickMs, e.hostRequests, e.spawned, e.liveTasks,
  ];
  const pending: boolean = e.tickPending;
  const last: TickStats = e.lastTick;
  const ended: TickEnd = last.ended;
  const lastNumbers: number[] = [
    last.polls, last.elapsedMs, last.budgetMs, last.finalIntervalPolls, last.finalIntervalMs, last.clockReads,
  ];
  const r: RecordStats = s.records['sensors.temperature.berlin'];
  const perRecord: number[] = [r.produced, r.delivered, r.lagged, r.subscribers, r.readers, r.parked, r.serializeErrors];
  const labels: string[] = [r.schemaType, r.buffer, strategy, ended];
  // @ts-expect-error: stats are read-only snapshots of the engine (records is readonly)
  s.records['x'] = r;
  // @ts-expect-error: no such counter
  void e.frames;
  void pending;
  void labels;
  return counters.length + lastNumbers.length + perRecord.length;
}

// ---- validate(): narrowing on .ok ----
function validation(input: unknown): number {
  const r = validate('temperature', input);
  const typedResult: ValidationResult<Temperature> = r;
  void typedResult;
  // @ts-expect-error: without narrowing on .ok there may be no value
  void r.value.celsius;
  if (r.ok) {
    const t: Readonly<Temperature> = r.value;
    // @ts-expect-error: only the failure branch has an error
    void r.error;
    return t.celsius;
  }
  const err: AimDbError = r.error;
  // @ts-expect-error: only the success branch has a value
  void r.value;
  const h = validate('humidity', '{"percent": 50, "timestamp": 1}');
  const percent: number = h.ok ? h.value.percent : -1;
  const gps = validate('gps_location', { latitude: 0, longitude: 0, timestamp: 0 });
  const alt: number | undefined = gps.ok ? gps.value.altitude : undefined;
  // An app contract declared by merging into Schemas: its declared type.
  const other = validate('my_app_schema', {});
  const otherValue: JsonValue = other.ok ? other.value.label : null;
  void otherValue;
  return (err.path ?? '').length + percent + (alt ?? 0);
}

// ---- knownSchemas() ----
function schemas(): string[] {
  const list: ReadonlyArray<Readonly<SchemaInfo>> = knownSchemas();
  const names = list.map((s) => `${s.name}@${s.version}`);
  // @ts-expect-error: the list is read-only
  list.push({ name: 'x', version: 1 });
  return names;
}

// ---- AimDbError: code narrowing ----
function describeError(e: unknown): string {
  if (!(e instanceof AimDbError)) return e instanceof Error ? e.message : String(e);
  const code: ErrorCode = e.code;
  const name: 'AimDbError' = e.name;
  const base: Error = e;
  void name;
  void base;
  switch (code) {
    case 'CONTRACT_VIOLATION':
      return `${e.key ?? '-'} ${e.schemaType ?? '-'} ${e.path ?? ''}: ${e.serdeMessage ?? ''}`;
    case 'SCHEMA_CONFLICT':
      return `${e.key ?? '-'}: ${e.existing ?? '?'} vs ${e.requested ?? '?'}`;
    case 'UNKNOWN_KEY':
    case 'INVALID_KEY':
    case 'INVALID_BUFFER':
      return e.key ?? '-';
    case 'UNKNOWN_SCHEMA':
      return e.schemaType ?? '-';
    case 'INVALID_OPTIONS':
    case 'USE_AFTER_FREE':
    case 'NOT_INITIALIZED':
    case 'ENGINE_ERROR':
    case 'PANIC':
    case 'WORKER_DIED':
    case 'WORKER_ERROR':
      return e.message;
    case 'BRIDGE_DISCONNECTED':
    case 'NOT_OUTBOUND':
    case 'QUEUE_FULL':
    case 'FRAME_TOO_LARGE':
    case 'INVALID_PAYLOAD':
      return `${e.key ?? '-'}: ${e.message}`;
    case 'WRITE_DROPPED':
    case 'BACKFILL_DROPPED':
      return `${e.key ?? '-'} ${e.topic ?? '-'} ${e.reason ?? '-'}`;
    case 'SERVER_ERROR':
      return `${e.serverCode ?? '-'} ${e.topic ?? '-'}`;
    case 'NOT_AVAILABLE':
    case 'MALFORMED_FRAME':
    case 'CONNECTION_REFUSED':
    case 'CONNECT_TIMEOUT':
    case 'PONG_TIMEOUT':
    case 'CONNECTION_LOST':
    case 'INVALID_URL':
    case 'BINARY_FRAME':
      return e.message;
    case 'STORAGE_ERROR':
      return `${e.key ?? '-'}: ${e.cause instanceof DOMException ? e.cause.name : '?'}`;
    default: {
      // Exhaustive: every code is handled above.
      const unreachable: never = code;
      return unreachable;
    }
  }
}

function misuseOfErrors(e: AimDbError): void {
  // @ts-expect-error: not an error code
  if (e.code === 'NOT_A_CODE') return;
  // @ts-expect-error: the code is read-only
  e.code = 'PANIC';
  // @ts-expect-error: the fields are strings
  const n: number | undefined = e.path;
  void n;
}

// ---- WsBridge ----
async function bridging(d: WasmDbFromIndex): Promise<void> {
  d.configureRecord('cmd', { schemaType: 'temperature', topic: 'commands/setpoint/room1', link: 'out' });
  const opts: WsBridgeOptions = {
    subscribeTopics: ['sensors/#'],
    autoReconnect: { initialMs: 200, maxMs: 2000 },
    lateJoin: true,
    maxOfflineQueue: 64,
    overflow: 'dropOldest',
    keepaliveMs: 10_000,
    pongTimeoutMs: 5000,
    token: 's3cret',
    persist: { name: 'field-app' },
  };
  d.configureRecord('local.setpoint', { schemaType: 'setpoint', persist: true });
  d.configureRecord('local.ring', { schemaType: 'temperature', buffer: 'SpmcRing', persist: { onError: (e: AimDbError) => console.log(e.code) } });
  const b: WsBridge = WsBridge.connect(d, 'ws://127.0.0.1:8080/ws', opts);
  const stored: Promise<void> = b.persisted();
  void stored;
  // @ts-expect-error: persist needs a name
  const noName: WsBridgeOptions = { persist: {} };
  // @ts-expect-error: persist is true, false or { onError }
  d.configureRecord('local.bad', { schemaType: 'setpoint', persist: 'yes' });
  void noName;
  const off: RemoveListener = b.onStatusChange((s: BridgeStatus) => {
    if (s === 'reconnecting') console.log('retrying');
  });
  b.onError((e: AimDbError) => console.log(e.code, e.topic ?? ''));
  const st: BridgeStatus = b.status;
  b.subscribe(['sensors/humidity/+']);
  b.unsubscribe('sensors/humidity/+');
  b.write<Temperature>('cmd', { schema_version: 2, celsius: 21.5, timestamp: 1 });
  const stats: BridgeStats = b.stats();
  const n: number = stats.sent + stats.received + stats.rejected + stats.queued + stats.dropped + stats.reconnects;
  const last: string | null = stats.lastError;
  const sync: SyncResult = await b.synced;
  const missing: ReadonlyArray<string> = sync.missing;
  void [st, n, last, missing, sync.timedOut];
  // @ts-expect-error: not a status
  const bad: BridgeStatus = 'open';
  // @ts-expect-error: not an overflow policy
  const badOpts: WsBridgeOptions = { overflow: 'drop' };
  // @ts-expect-error: use WsBridge.connect
  new WsBridge();
  void [bad, badOpts];
  off();
  b.disconnect();
  b.free();
}

async function main(): Promise<void> {
  await initFromIndex();
  const d = construction();
  records(d);
  values(d);
  const subs = subscriptions(d);
  statistics(d);
  validation({ schema_version: 2, celsius: 1, timestamp: 1 });
  schemas();
  await bridging(d);
  try {
    d.set('a', { celsius: 'hot' });
  } catch (e) {
    describeError(e);
    if (e instanceof AimDbError) misuseOfErrors(e);
  }
  for (const u of subs) u();
  d.free();
  d.free();
}
void main;

// App contracts (registered from Rust) declared by merging into Schemas.
declare module '@aimdb/wasm' {
  interface Schemas {
    my_app_schema: { label: string };
    custom: { n: number };
  }
}
