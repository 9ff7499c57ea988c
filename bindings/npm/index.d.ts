// Type declarations of @aimdb/wasm (hand-written; checked by `tsc --noEmit` against
// bindings/npm/typed-usage.ts in `make test`).

/** Any value JSON can carry. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
/** A JSON object, as handed out (deep-frozen). */
export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * The host callback that ticks the executor (runs subscriber deliveries):
 * - `'animationFrame'`: `requestAnimationFrame`, once per frame before paint (`'macrotask'` where
 *   there is none, e.g. Node);
 * - `'microtask'`: `queueMicrotask`; work left after the budget continues in a macrotask;
 * - `'macrotask'`: a `MessageChannel` message (`setImmediate` in Node, `setTimeout(0)` elsewhere);
 * - `'idle'`: `requestIdleCallback` (`'macrotask'` where there is none);
 * - `'manual'`: only `db.tick()`; the db's clock is virtual (`db.advanceTime(ms)`): deterministic tests.
 */
export type TickStrategy = 'animationFrame' | 'microtask' | 'macrotask' | 'idle' | 'manual';
/** The least severe engine log message written to the console; `'off'`: none. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

/** How the db's executor is ticked (`new WasmDb(options)`, `db.setTicking(options)`). */
export interface TickingOptions {
  /**
   * The host callback that ticks the executor.
   * @default 'animationFrame'
   */
  tick?: TickStrategy;
  /**
   * Time budget of one tick in ms, in (0, 1000]: work left after it waits for the next tick.
   * @default 4
   */
  budgetMs?: number;
  /**
   * Most task polls in one tick, at least 1.
   * @default 4096
   */
  maxPollsPerTick?: number;
}

/** `new WasmDb(options)`: ticking and logging. */
export interface WasmDbOptions extends TickingOptions {
  /**
   * Engine messages at or above this level go to the console.
   * @default 'info'
   */
  logLevel?: LogLevel;
}

/** `WasmDb.inWorker(options)`: the worker's db options, and where the page hears of failures. */
export interface WorkerDbOptions extends WasmDbOptions {
  /**
   * How the worker's executor is ticked. The worker has no frames to keep (the page gets one
   * batch per animation frame whatever this is), and a worker's animation frames starve while
   * a socket floods it: `'animationFrame'` there can lose ring items to lag under a flood.
   * @default 'macrotask'
   */
  tick?: TickStrategy;
  /**
   * Errors no call could throw: the worker's death (`WORKER_DIED`), a panic in it (`PANIC`),
   * a command the worker refused after the page's checks passed (e.g. a record autoConfigure
   * made first: `SCHEMA_CONFLICT`).
   * @default console.error, once per error code
   */
  onError?: (error: AimDbError) => void;
}

/**
 * A Worker-mode db (`WasmDb.inWorker`): the engine, the buffers and the bridges' sockets in a
 * dedicated Worker; this object in the page has the `WasmDb` API, so `@aimdb/react` and
 * `WsBridge.connect` take it as they take a main-thread db. Differences: values reach the
 * page in one batch per animation frame (subscriber callbacks run in the page on it: same
 * ordering, batching, coalescing, lag reports, frozen values); `get()` reads the page's
 * mirror (the page's own writes at once, the worker's values at most a frame or two late);
 * `stats()` is the worker's as of its last batch; `transform`, `tap`, `tick` and `advanceTime`
 * throw `NOT_AVAILABLE` (they take JS functions or answer synchronously from the engine);
 * `simulate` runs in the worker.
 */
export interface WorkerDb<M extends object = {}> extends WasmDb<M> {
  /** Always `true` here (`false` on a main-thread db). */
  readonly inWorker: true;
  /**
   * Resolves once the worker has run every call made before it, run one tick (subscribers
   * got what was set before) and its batch was handled in the page; `stats()` is then current.
   * @throws {AimDbError} (rejects) `USE_AFTER_FREE`, `PANIC`, `WORKER_DIED`.
   * @example
   * db.set('sensors.temperature.vienna', { celsius: 19, timestamp: 1 });
   * await db.sync();
   * db.stats().records['sensors.temperature.vienna'].produced;   // 1
   */
  sync(): Promise<void>;
  /**
   * @internal Test hook: a Rust panic (`'panic'`) or an uncaught error (`'throw'`) in the worker.
   * @throws Never.
   */
  __crashForTest(kind: 'panic' | 'throw', message: string): void;
}

/** `'SpmcRing'` alone means capacity 1024. Capacity must be in 1..=1048576. */
export type BufferOption =
  | 'SingleLatest'
  | 'Mailbox'
  | 'SpmcRing'
  | { type: 'SpmcRing'; capacity?: number }
  | { type: 'SingleLatest' }
  | { type: 'Mailbox' };

/**
 * `temperature`, version 2. Older versions are migrated on `set` and `validate`. On input
 * `schema_version` may be left out (`{ celsius, timestamp }` is version 2); values read back
 * always carry it.
 */
export interface Temperature {
  /** The contract version; may be left out on input (then 2). */
  schema_version: 2;
  /** Degrees Celsius, a finite number. */
  celsius: number;
  /** Unix milliseconds. */
  timestamp: number;
}
/** `temperature`, version 1 (accepted as input; migrated to version 2). */
export interface TemperatureV1 {
  /** Version 1 must say so. */
  schema_version: 1;
  /** The reading, in `unit`. */
  temp: number;
  /** Unix milliseconds. */
  timestamp: number;
  /** Celsius, Fahrenheit or Kelvin (converted to Celsius by the migration). */
  unit: 'C' | 'F' | 'K';
}
/** `humidity`: relative humidity in percent. */
export interface Humidity {
  /** 0..=100 */
  percent: number;
  /** Unix milliseconds. */
  timestamp: number;
}
/** `gps_location`: a position in WGS 84 degrees. */
export interface GpsLocation {
  /** -90..=90 */
  latitude: number;
  /** -180..=180 */
  longitude: number;
  /** Metres above sea level, if known. */
  altitude?: number;
  /** Horizontal accuracy in metres, if known. */
  accuracy?: number;
  /** Unix milliseconds. */
  timestamp: number;
}

/** `setpoint`: a target temperature for a room (a command, e.g. on `commands/setpoint/room1`). */
export interface Setpoint {
  /** Degrees Celsius, any finite number. */
  target_celsius: number;
  /** Unix milliseconds, at most 2^53 - 1. */
  timestamp: number;
}

/** The built-in contracts, by `schemaType`. */
export interface Schemas {
  /** `{ celsius, timestamp }` (version 2; version 1 is migrated). */
  temperature: Temperature;
  /** `{ percent, timestamp }`. */
  humidity: Humidity;
  /** `{ latitude, longitude, altitude?, accuracy?, timestamp }`. */
  gps_location: GpsLocation;
  /** `{ target_celsius, timestamp }`. */
  setpoint: Setpoint;
}
/**
 * The name of a contract this module knows (a key of `Schemas`). A contract registered from
 * Rust is added by declaration merging, so a misspelt `schemaType` stays a type error:
 * @example
 * declare module '@aimdb/wasm' {
 *   interface Schemas { pressure: { hpa: number; timestamp: number } }
 * }
 */
export type SchemaName = keyof Schemas;

/**
 * What a write accepts for a record whose values are `T`: `T` with its `schema_version`
 * optional (left out: the current version), and for `temperature` also version 1 (migrated).
 */
export type ValueInput<T> =
  | (T extends { schema_version: infer V } ? Omit<T, 'schema_version'> & { schema_version?: V } : T)
  | (T extends Temperature ? TemperatureV1 : never);

/**
 * A key a typed `WasmDb<M>` does not name (`never` for one it does): the untyped calls take
 * these, so a key of `M` always gets its declared type.
 */
export type UntypedKey<M, K extends string> = K extends keyof M ? never : K;

/** `db.configureRecord(key, options)`: the record's contract, buffer and bridge link. */
export interface RecordOptions<S extends string = SchemaName> {
  /** The contract every value is checked against (a key of `Schemas`). */
  schemaType: S;
  /**
   * How values are kept: one latest value, a ring every subscriber reads in order, or a
   * one-slot broadcast.
   * @default 'SingleLatest'
   */
  buffer?: BufferOption;
  /**
   * Bridge topic.
   * @default the key with `.` replaced by `/`
   */
  topic?: string;
  /**
   * Bridge direction: `'in'` from the server, `'out'` to it (every local write is sent), or both.
   * @default 'in'
   */
  link?: 'in' | 'out' | 'both';
  /**
   * History on connect: on every open link of a `WsBridge` the bridge asks the server's
   * query handler for this record's exact topic, `limit: backfill` (the protocol's
   * `query`). Until the answer comes (or the link is lost, or the server refuses the
   * query), the record's deliveries from the server are held in order, at most the ring's
   * capacity (beyond that the oldest held value is dropped, and the count reported once
   * via `onError` as `BACKFILL_DROPPED`). Then the history values older (by `ts`) than the
   * first held live value — all of them if none is held — are pushed in `ts` order, then
   * the held values; a held late-join snapshot is left out when history came, as is a
   * history value equal to the first live value. History values the contract refuses are
   * reported like inbound ones (`CONTRACT_VIOLATION` with `topic`) and skipped. The
   * topic must be subscribed (`subscribeTopics`) for live data to follow.
   * Only with `buffer: 'SpmcRing'` and `link: 'in' | 'both'`, else `INVALID_OPTIONS`.
   * @default 0 (off)
   */
  backfill?: number;
  /**
   * Keep the record in IndexedDB (README "Persistence"): its latest value (`SingleLatest`,
   * `Mailbox`) or the ring's last `capacity` items (`SpmcRing`) are stored as they are
   * produced, and restored when the record is configured with `persist` in a later page
   * (unless the record has a value by the time the stored one is read: that one is newer).
   * Restored values pass the contract (a stored v1 value comes back migrated); one that no
   * longer does is dropped and reported, never delivered. A `WsBridge` connected to this
   * db opens its socket only after the restores of the records configured before it, so
   * restored values come before any server value.
   * @default false
   */
  persist?: boolean | PersistRecordOptions;
}

/**
 * What went wrong. Error texts quote input in excerpts (at most 200 characters of a key,
 * name, path or value, then `…`), never whole.
 */
export type ErrorCode =
  /**
   * The value does not satisfy the record's contract (`path`, `serdeMessage`), or JSON
   * cannot carry it: a BigInt, a cycle, a getter or `toJSON` that throws, or a number that
   * is not finite (NaN, ±Infinity; `path` names the field, never silently null).
   */
  | 'CONTRACT_VIOLATION'
  /** No record is configured under this key (`key`). */
  | 'UNKNOWN_KEY'
  /**
   * A record key (or a `schemaType` given to `validate`) that cannot name anything: not a
   * string, empty, not well-formed UTF-16 (a lone surrogate would alias another key), or
   * longer than 1024 bytes of UTF-8. Checked before the key enters wasm memory.
   */
  | 'INVALID_KEY'
  /** No contract of this name is registered (`schemaType`); `knownSchemas()` lists them. */
  | 'UNKNOWN_SCHEMA'
  /** A `buffer` option that names no buffer, or a ring capacity outside 1..=1048576. */
  | 'INVALID_BUFFER'
  /** `configureRecord` again with another schema, buffer, topic or link (`existing`, `requested`). */
  | 'SCHEMA_CONFLICT'
  /** Options that are malformed, or that JSON cannot carry (cycle, BigInt, throwing getter, NaN). */
  | 'INVALID_OPTIONS'
  /** A `WasmDb` or `WsBridge` used after `free()` (a bridge also after its db was freed). */
  | 'USE_AFTER_FREE'
  /** Used before `init()` (or `initSync()`) finished. */
  | 'NOT_INITIALIZED'
  /**
   * What was asked for is missing here: `WsBridge` in a build without the `bridge` feature or
   * where there is no `WebSocket` (Node 20: pass the `WebSocket` option), or `advanceTime` on a
   * db that is not on a virtual clock.
   */
  | 'NOT_AVAILABLE'
  /** aimdb-core refused an operation (`key`, the engine's message). */
  | 'ENGINE_ERROR'
  /**
   * A Rust panic or wasm trap. The module is then unusable: every later call throws
   * `PANIC` with the first panic's message (`free()` only detaches; reload the page).
   */
  | 'PANIC'
  /**
   * Worker mode: the db's Worker could not start or died (an uncaught error in it). Every
   * later call of the db and its bridges throws it; `free()` still works.
   */
  | 'WORKER_DIED'
  /** Worker mode: the worker failed with an error that was not an AimDbError (its name and message). */
  | 'WORKER_ERROR'
  // WsBridge
  /**
   * `bridge.write` after `disconnect()` (call `reconnect()` first); `bridge.query` while not
   * connected, or when the link was lost before its answer.
   */
  | 'BRIDGE_DISCONNECTED'
  /** `bridge.write` to a record linked `'in'` (only `'out'` / `'both'` records are sent). */
  | 'NOT_OUTBOUND'
  /** `bridge.write` while the offline queue is full under `overflow: 'reject'`. */
  | 'QUEUE_FULL'
  /**
   * A write whose frame exceeds the server's 16 MiB (thrown, nothing set), or, via `onError`,
   * an inbound frame over `maxFrameBytes` (dropped unparsed).
   */
  | 'FRAME_TOO_LARGE'
  /** A write the bridge could not encode (`key`, the encoder's message). */
  | 'INVALID_PAYLOAD'
  /** `onError`: a write was given up, counted in `stats().dropped` (`reason`, `topic`). */
  | 'WRITE_DROPPED'
  /**
   * `onError`: live values of a `backfill` record dropped while it waited for its history,
   * more than its ring's capacity (`key`, `topic`; the count in the message).
   */
  | 'BACKFILL_DROPPED'
  /** `onError`: a frame from the server that is not a protocol message (dropped, counted). */
  | 'MALFORMED_FRAME'
  /** `onError`: the server sent an error message (`serverCode`, `topic`). */
  | 'SERVER_ERROR'
  /** `onError`: `refusedAfter` attempts in a row failed before opening (it keeps retrying). */
  | 'CONNECTION_REFUSED'
  /** `onError`: an attempt did not open within `connectTimeoutMs` (abandoned, retried). */
  | 'CONNECT_TIMEOUT'
  /** `onError`: nothing arrived within `pongTimeoutMs` after a ping: the link was closed as dead. */
  | 'PONG_TIMEOUT'
  /** `onError`: an open link closed without `disconnect()` (reconnects per `autoReconnect`). */
  | 'CONNECTION_LOST'
  /** `WsBridge.connect`: the URL is not an absolute ws:// / wss:// URL with a valid host (never retried). */
  | 'INVALID_URL'
  /** `onError`: a binary frame arrived (the server speaks text frames); dropped and counted. */
  | 'BINARY_FRAME'
  // persist
  /**
   * `onError` (the bridge's, or a persisted record's `persist.onError`): IndexedDB refused to
   * store or read (quota exceeded, private mode, a broken or blocked database). `cause` is the
   * `DOMException` (e.g. `name === 'QuotaExceededError'`); `key` names the record. The bridge and
   * the db go on in memory; reported once per failing streak (until a store succeeds again).
   */
  | 'STORAGE_ERROR';

/** What `new AimDbError(init)` takes: the code, the message and the fields that say where. */
export interface AimDbErrorInit {
  /** What kind of error. */
  code: ErrorCode;
  /** The text (`error.message`). */
  message: string;
  /** What caused it (`error.cause`). */
  cause?: unknown;
  /** The record key involved. */
  key?: string;
  /** The contract involved. */
  schemaType?: string;
  /** Contract violations: the field path. */
  path?: string;
  /** Contract violations: serde's message. */
  serdeMessage?: string;
  /** Schema conflicts: what the key is configured as. */
  existing?: string;
  /** Schema conflicts: what was asked. */
  requested?: string;
  /** WsBridge errors: the topic involved. */
  topic?: string;
  /** `SERVER_ERROR`: the server's code. */
  serverCode?: AimDbError['serverCode'];
  /** `WRITE_DROPPED`: why. */
  reason?: AimDbError['reason'];
}

/**
 * Every error this package throws or reports: `code` says what kind, the other fields say
 * where. Test with `instanceof AimDbError` and switch on `code`.
 * @example
 * try { db.set('sensors.temperature.vienna', { celsius: 'hot', timestamp: 1 }); }
 * catch (e) { if (e instanceof AimDbError && e.code === 'CONTRACT_VIOLATION') console.log(e.path, e.serdeMessage); }
 */
export class AimDbError extends Error {
  /**
   * Makes an error of this package's kind (for code that reports its own errors the same way,
   * e.g. a test double).
   * @throws {TypeError} when `init` is not an object with a string `code`. Never an AimDbError.
   */
  constructor(init: AimDbErrorInit);
  /** Always `'AimDbError'`. */
  readonly name: 'AimDbError';
  /** What kind of error (see `ErrorCode`). */
  readonly code: ErrorCode;
  /** The record key, where one was involved (`INVALID_KEY`: an excerpt of it, if a string). */
  readonly key?: string;
  /** The contract, where one was involved. */
  readonly schemaType?: string;
  /** Contract violations: the field path (`''` for the value itself), e.g. `celsius`, `a.b`, `list[1]`. */
  readonly path?: string;
  /** Contract violations: serde's message (or the facade's, e.g. `not a finite number (NaN)`). */
  readonly serdeMessage?: string;
  /** Schema conflicts: what the key is configured as, and what was asked. */
  readonly existing?: string;
  /** Schema conflicts: what was asked. */
  readonly requested?: string;
  /** WsBridge errors: the topic involved (inbound contract violations, server errors, dropped writes). */
  readonly topic?: string;
  /** `SERVER_ERROR`: the server's code, e.g. `'FORBIDDEN'`. */
  readonly serverCode?: 'UNAUTHORIZED' | 'FORBIDDEN' | 'UNKNOWN_TOPIC' | 'SERIALIZATION_ERROR' | 'WRITE_ERROR' | 'SERVER_ERROR';
  /** `WRITE_DROPPED`: why. */
  readonly reason?: 'droppedOldest' | 'droppedNewest' | 'queueFull' | 'disconnected' | 'invalid';
}

/** `db.subscribe(key, callback, options)`. */
export interface SubscribeOptions {
  /**
   * Ring records: deliver everything that arrived in a tick as one array.
   * @default false
   */
  batch?: boolean;
  /**
   * A ring subscriber fell behind and skipped `skipped` values (it keeps going).
   * @default none (lag is still counted in `stats().records[key].lagged`)
   */
  onLag?: (skipped: number) => void;
  /**
   * The callback (or `onLag`) threw; gets whatever was thrown. Default, and when `onError`
   * throws itself: `console.error` once per error kind. Reporting never throws, whatever
   * was thrown; the subscription goes on.
   * @default console.error, once per error kind
   */
  onError?: (error: unknown) => void;
}

/** Ends the subscription; harmless to call twice or from inside the callback. */
export type Unsubscribe = () => void;

/**
 * A running transform or tap (`db.transform`, `db.tap`): calling it, or its `dispose()`,
 * ends it; its function is never called again, also when ended from inside it. Harmless twice.
 */
export interface Dataflow {
  /** Ends the transform or tap. Never throws. */
  (): void;
  /** The same as calling it. Never throws. */
  dispose(): void;
}

/** `db.transform(outKey, options, fn)`. */
export interface TransformOptions<From extends string | readonly string[] = string | readonly string[], S extends SchemaName = SchemaName> {
  /** The input record's key, or the keys of a join (the function then gets an array of their latest values, in this order). */
  from: From;
  /**
   * Configures `outKey` with this contract first (as `configureRecord(outKey, { schemaType, buffer })`:
   * the same again is a no-op, another is `SCHEMA_CONFLICT`).
   * @default none: `outKey` must be configured already
   */
  schemaType?: S;
  /**
   * The buffer of `outKey` when `schemaType` configures it.
   * @default 'SingleLatest'
   */
  buffer?: BufferOption;
  /**
   * The function threw, or its output broke `outKey`'s contract (`AimDbError`
   * `CONTRACT_VIOLATION` with `path`; that output is skipped); the transform goes on.
   * @default console.error, once per error kind
   */
  onError?: (error: unknown) => void;
}

/** `db.simulate(key, options)`. */
export interface SimulateOptions {
  /** Values per second, > 0 and <= 1000. */
  hz: number;
  /**
   * The generator's seed (an integer >= 0): the same seed gives the same values.
   * @default the record's handle + 1 (its place in configuration order)
   */
  seed?: number;
  /**
   * The `timestamp` (Unix ms) of the start: value n (1, 2, ...) has `startTimestamp + n * 1000 / hz`.
   * @default Date.now() when `simulate` is called
   */
  startTimestamp?: number;
}

/** What `autoConfigure` did (`bridge.configured`). */
export interface AutoConfigured {
  /** Keys of the records it configured, in the server's topic order. */
  readonly configured: ReadonlyArray<string>;
  /** Keys the app had configured itself (left as they were). */
  readonly existing: ReadonlyArray<string>;
  /** Topics whose schema type this module does not know (`null`: the server named none). */
  readonly unknown: ReadonlyArray<{ readonly topic: string; readonly schemaType: string | null }>;
}

/** `bridge.query(pattern, options)`. */
export interface QueryOptions {
  /**
   * Only values with `ts` >= this (Unix ms).
   * @default no lower bound
   */
  from?: number;
  /**
   * Only values with `ts` <= this (Unix ms).
   * @default no upper bound
   */
  to?: number;
  /**
   * At most this many values per topic (the server's choice of which; the test server: the newest).
   * @default no limit
   */
  limit?: number;
}

/** One value of `bridge.query`'s answer. */
export interface QueryRecord<T = JsonObject> {
  /** The server's topic. */
  readonly topic: string;
  /** The local record the topic maps to. */
  readonly key: string;
  /** The payload, validated by the record's contract (migrated, deep-frozen). */
  readonly value: Readonly<T>;
  /** The server's timestamp of the value (Unix ms). */
  readonly ts: number;
}

/** `bridge.query`'s answer (frozen). */
export interface QueryResult<T = JsonObject> {
  /** The valid values, in the server's order. */
  readonly records: ReadonlyArray<QueryRecord<T>>;
  /** The server's count of matching values (before `limit`, for the test server). */
  readonly total: number;
  /** Payloads that broke their record's contract, with the error (`CONTRACT_VIOLATION`, `path`). */
  readonly rejected: ReadonlyArray<{ readonly topic: string; readonly key: string; readonly ts: number; readonly error: AimDbError }>;
  /** Topics in the answer that no local record maps to (their values are left out). */
  readonly unknownTopics: ReadonlyArray<string>;
}

/** `db.tap(key, fn, options)`. */
export interface TapOptions {
  /**
   * The function threw; the tap goes on.
   * @default console.error, once per error kind
   */
  onError?: (error: unknown) => void;
}

/** Why a tick ended: nothing left to run, the time budget spent, or `maxPollsPerTick` reached. */
export type TickEnd = 'drained' | 'budget' | 'maxPolls';

/** One tick (`db.tick()`'s result, `stats().executor.lastTick`). */
export interface TickStats {
  /** Task polls in the tick. */
  polls: number;
  /** How long it ran, ms (0 on a virtual clock). */
  elapsedMs: number;
  /** The budget it had, ms. */
  budgetMs: number;
  /** Why it ended. */
  ended: TickEnd;
  /** Polls after the last clock read that found the budget unspent. */
  finalIntervalPolls: number;
  /** Time after that last read, ms (what may overrun the budget). */
  finalIntervalMs: number;
  /** Clock reads in the tick. */
  clockReads: number;
}

/** The executor's counters since the db was made (`stats().executor`). */
export interface ExecutorStats {
  /** The strategy in force. */
  strategy: TickStrategy;
  /** Ticks run. */
  ticks: number;
  /** Task polls in all ticks. */
  polls: number;
  /** Time spent in ticks, ms. */
  busyMs: number;
  /** Ticks that ended because the budget was spent. */
  budgetHits: number;
  /** Ticks that ended at `maxPollsPerTick`. */
  maxPollsHits: number;
  /**
   * Ticks that ran past their budget by more than one poll, or whose last step alone was
   * longer than the whole budget (e.g. one subscriber callback that took 10 ms under a 4 ms budget).
   */
  overruns: number;
  /** The longest tick, ms. */
  maxTickMs: number;
  /** Host callbacks asked for (one per wake at most; none while quiet). */
  hostRequests: number;
  /** Tasks spawned (one per subscription, ...). */
  spawned: number;
  /** Tasks alive now. */
  liveTasks: number;
  /** A host callback is asked for and has not run yet. */
  tickPending: boolean;
  /** The last tick. */
  lastTick: TickStats;
}

/** One record's counters (`stats().records[key]`). */
export interface RecordStats {
  /** Its contract. */
  schemaType: string;
  /** Its buffer, e.g. `'SingleLatest'`, `'SpmcRing(capacity=8)'`. */
  buffer: string;
  /** The ring's capacity for an `SpmcRing` (how many values a late reader can still get); 0 for `SingleLatest` and `Mailbox`. */
  capacity: number;
  /** Values produced (set locally or delivered by a bridge). */
  produced: number;
  /** Values handed to subscriber callbacks. */
  delivered: number;
  /** Values ring subscribers skipped by falling behind (reported through `onLag`). */
  lagged: number;
  /** Subscriptions now. */
  subscribers: number;
  /** Buffer readers now. */
  readers: number;
  /** Readers waiting for a value now. */
  parked: number;
  /** Values that could not be serialized for delivery (skipped, counted here). */
  serializeErrors: number;
}

/** `db.stats()`: the executor's and every record's counters. */
export interface DbStats {
  /** The executor. */
  executor: ExecutorStats;
  /** Per record key. */
  records: { readonly [key: string]: RecordStats };
}

/**
 * Every method taking a `key` throws `INVALID_KEY` for a key that is not a non-empty,
 * well-formed string of at most 1024 bytes of UTF-8, and `PANIC` after a panic.
 */
/**
 * A configured record by handle (`db.record(key)`, or what `configureRecord` returns): the
 * same calls as the key-based ones on `WasmDb`, without the key lookup and key checks. One
 * handle per record (`db.record(k) === db.record(k)`); after `db.free()` every call throws
 * `USE_AFTER_FREE`.
 */
export interface RecordHandle<T = JsonObject> {
  /** The record's key. */
  readonly key: string;
  /** As `db.get(key)`. @throws {AimDbError} `USE_AFTER_FREE`, `PANIC`. */
  get(): Readonly<T> | null;
  /** As `db.set(key, value)`. @throws {AimDbError} `CONTRACT_VIOLATION` (nothing produced), `USE_AFTER_FREE`, `PANIC`. */
  set(value: ValueInput<T>): void;
  /** As `db.setMany(key, values)`. @throws {AimDbError} `CONTRACT_VIOLATION` (nothing produced), `USE_AFTER_FREE`, `PANIC`. */
  setMany(values: ReadonlyArray<ValueInput<T>>): void;
  /** As `db.subscribe(key, callback, options)`. @throws {AimDbError} `INVALID_OPTIONS`, `USE_AFTER_FREE`, `PANIC`. */
  subscribe(callback: (value: Readonly<T>, unsubscribe: Unsubscribe) => void, options?: SubscribeOptions & { batch?: false }): Unsubscribe;
  subscribe(callback: (values: ReadonlyArray<Readonly<T>>, unsubscribe: Unsubscribe) => void, options: SubscribeOptions & { batch: true }): Unsubscribe;
  subscribe(callback: (valueOrValues: Readonly<T> | ReadonlyArray<Readonly<T>>, unsubscribe: Unsubscribe) => void, options?: SubscribeOptions): Unsubscribe;
}

/**
 * The database in the page: records validated by Rust contracts, run by the real AimDB engine.
 *
 * Typed keys: `M` maps record keys to their value types, so `set`, `get`, `subscribe` and
 * `record` of those keys are checked without restating the type (other keys stay untyped:
 * JSON objects, or the type given as `db.get<T>(key)`). `configureRecord` returns a handle
 * typed by the contract either way.
 * @example
 * import init, { WasmDb, type Temperature, type Setpoint } from '@aimdb/wasm';
 * await init();
 * const db = new WasmDb<{ 'sensors.temperature.vienna': Temperature; 'commands.setpoint.room1': Setpoint }>();
 * db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
 * db.set('sensors.temperature.vienna', { celsius: 22.5, timestamp: Date.now() });
 * db.get('sensors.temperature.vienna')?.celsius;     // number | undefined
 */
export class WasmDb<M extends object = {}> {
  /**
   * A database with no records yet.
   * @throws AimDbError `INVALID_OPTIONS` (bad options), `NOT_INITIALIZED` (before `init()`), `PANIC`.
   */
  constructor(options?: WasmDbOptions);
  /**
   * The same engine (this package's wasm module, the same contracts) in a dedicated Worker
   * that the package starts itself (no worker file to write; works from a bundler such as
   * Vite and from the package served as is): the socket, the contracts and the buffers leave
   * the main thread, which gets one batch per animation frame. Loads the module like
   * `init()` (calling `init()` first is not needed). Browser pages only.
   * @returns The page's object, with the `WasmDb` API (see `WorkerDb`).
   * @throws {AimDbError} (rejects) `INVALID_OPTIONS`, `NOT_AVAILABLE` (no Web Worker here, e.g.
   * Node), `WORKER_DIED` (the worker could not start).
   * @example
   * const db = await WasmDb.inWorker({ tick: 'animationFrame' });
   * db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 4096 } });
   * const bridge = WsBridge.connect(db, 'ws://127.0.0.1:8080/ws', { subscribeTopics: ['sensors/#'] });
   * db.subscribe('sensors.temperature.vienna', (batch) => draw(batch), { batch: true });
   */
  static inWorker<M extends object = {}>(options?: WorkerDbOptions): Promise<WorkerDb<M>>;
  /** `false`: this db runs on the page's thread (`true` on a `WasmDb.inWorker` db). */
  readonly inWorker: boolean;
  /**
   * Usable at once; returns the record's handle (as `record(key)`). Same schema and buffer
   * again: no-op (the same handle); different: `SCHEMA_CONFLICT`. A record
   * cannot be removed: its key and engine state live until `free()` (its key interned by
   * aimdb-core for the life of the module).
   * @throws {AimDbError} `INVALID_KEY`, `INVALID_OPTIONS`, `UNKNOWN_SCHEMA`, `INVALID_BUFFER`, `SCHEMA_CONFLICT`.
   * @example
   * const vienna = db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
   * vienna.set({ celsius: 22.5, timestamp: Date.now() });
   */
  configureRecord<S extends SchemaName>(key: string, options: RecordOptions<S>): RecordHandle<Schemas[S]>;
  /**
   * The handle of a configured record (the one `configureRecord` returned).
   * @throws {AimDbError} `UNKNOWN_KEY`, `INVALID_KEY`, `USE_AFTER_FREE`.
   * @example
   * const t = db.record<Temperature>('sensors.temperature.vienna');
   * t.set({ celsius: 21, timestamp: Date.now() });
   * const latest = t.get();
   */
  record<K extends keyof M & string>(key: K): RecordHandle<M[K]>;
  record<T = JsonObject>(key: string): RecordHandle<T>;
  /**
   * Validates with the record's contract (migrating older versions) and produces the value.
   * The value is read once, straight into the contract type (no JSON text): as
   * `JSON.stringify` would carry it, except that `toJSON` is not called. What JSON cannot
   * carry (NaN, ±Infinity, a BigInt, a
   * cycle, a getter that throws) is a `CONTRACT_VIOLATION` at its `path`.
   * Throws `CONTRACT_VIOLATION` (nothing produced), `UNKNOWN_KEY`, `INVALID_KEY`.
   * @throws AimDbError `CONTRACT_VIOLATION` (`path`, `serdeMessage`; nothing produced),
   * `UNKNOWN_KEY`, `INVALID_KEY`, `USE_AFTER_FREE`, `PANIC`.
   * @example
   * db.set('sensors.temperature.vienna', { celsius: 22.5, timestamp: Date.now() });
   */
  set<K extends keyof M & string>(key: K, value: ValueInput<M[K]>): void;
  set<T = JsonObject, K extends string = string>(key: UntypedKey<M, K>, value: T): void;
  /**
   * Validates every value, then produces them in order, in one call: all or nothing. A
   * violation is a `CONTRACT_VIOLATION` whose `path` starts with the value's index
   * (`[3].celsius`), and nothing is produced; so is `values` not being an array.
   * Ring subscribers get every value; linked bridges send each.
   * @throws {AimDbError} `CONTRACT_VIOLATION` (nothing produced), `UNKNOWN_KEY`, `INVALID_KEY`, `USE_AFTER_FREE`.
   * @example
   * db.setMany('sensors.temperature.berlin', [
   *   { celsius: 21, timestamp: 1 },
   *   { celsius: 22, timestamp: 2 },
   * ]);
   */
  setMany<K extends keyof M & string>(key: K, values: ReadonlyArray<ValueInput<M[K]>>): void;
  setMany<T = JsonObject, K extends string = string>(key: UntypedKey<M, K>, values: ReadonlyArray<T>): void;
  /**
   * The latest value (deep-frozen; the same object until it changes), or null before the first.
   * @throws AimDbError `UNKNOWN_KEY`, `INVALID_KEY`, `USE_AFTER_FREE`, `PANIC`.
   * @example
   * const t = db.get('sensors.temperature.vienna');   // Temperature | null on a typed db
   * if (t) console.log(t.celsius, t.timestamp);
   */
  get<K extends keyof M & string>(key: K): Readonly<M[K]> | null;
  get<T = JsonObject, K extends string = string>(key: UntypedKey<M, K>): Readonly<T> | null;
  /**
   * A new subscriber gets the current value at once (synchronously, before `subscribe`
   * returns), then later values from the ticks. The callback's second argument ends the
   * subscription, so a callback can stop itself even on that first delivery.
   * @throws AimDbError `UNKNOWN_KEY`, `INVALID_KEY`, `INVALID_OPTIONS` (callback not a function,
   * options whose getters throw), `USE_AFTER_FREE`; never after the subscription was made
   * (a callback that throws is reported to `onError`).
   * @example
   * const unsubscribe = db.subscribe('sensors.temperature.vienna', (t, stop) => {
   *   draw(t.celsius);
   *   if (t.celsius > 30) stop();                 // the same function subscribe returns
   * });
   */
  subscribe<K extends keyof M & string>(
    key: K,
    callback: (value: Readonly<M[K]>, unsubscribe: Unsubscribe) => void,
    options?: SubscribeOptions & { batch?: false },
  ): Unsubscribe;
  subscribe<K extends keyof M & string>(
    key: K,
    callback: (values: ReadonlyArray<Readonly<M[K]>>, unsubscribe: Unsubscribe) => void,
    options: SubscribeOptions & { batch: true },
  ): Unsubscribe;
  subscribe<K extends keyof M & string>(
    key: K,
    callback: (valueOrValues: Readonly<M[K]> | ReadonlyArray<Readonly<M[K]>>, unsubscribe: Unsubscribe) => void,
    options?: SubscribeOptions,
  ): Unsubscribe;
  subscribe<T = JsonObject, K extends string = string>(
    key: UntypedKey<M, K>,
    callback: (value: Readonly<T>, unsubscribe: Unsubscribe) => void,
    options?: SubscribeOptions & { batch?: false },
  ): Unsubscribe;
  subscribe<T = JsonObject, K extends string = string>(
    key: UntypedKey<M, K>,
    callback: (values: ReadonlyArray<Readonly<T>>, unsubscribe: Unsubscribe) => void,
    options: SubscribeOptions & { batch: true },
  ): Unsubscribe;
  /**
   * Options only known at run time: the callback must handle both shapes.
   * @throws AimDbError as the overloads above.
   */
  subscribe<T = JsonObject, K extends string = string>(
    key: UntypedKey<M, K>,
    callback: (valueOrValues: Readonly<T> | ReadonlyArray<Readonly<T>>, unsubscribe: Unsubscribe) => void,
    options?: SubscribeOptions,
  ): Unsubscribe;
  /**
   * A transform on the engine: `fn`'s output of each value of `from` is validated with
   * `outKey`'s contract and set on `outKey` (bridges linked `out` send it). Runs as a task of
   * the ticked executor, within the tick's budget, on the values produced after it started
   * (a ring input: every value in order; `SingleLatest`: the latest per wake-up). With several
   * inputs (a join, as aimdb-core's `transform_join`), `fn` gets the latest value of every
   * input, in `from`'s order, once each has one, on every value of any input; a join starts
   * from the inputs' current values. `fn` returning `undefined` skips; a throwing `fn` or a
   * contract-violating output is reported to `onError` and skipped; the transform goes on.
   * @returns Its stop function (also `.dispose()`).
   * @throws {AimDbError} `UNKNOWN_KEY` (an input, or `outKey` without `schemaType`), `INVALID_KEY`,
   * `INVALID_OPTIONS` (`fn` not a function, `from` not a key or a non-empty array of keys),
   * what `configureRecord` throws when `schemaType` is given, `USE_AFTER_FREE`, `PANIC`.
   * @example
   * db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
   * const stop = db.transform('derived.fahrenheit', { from: 'sensors.temperature.vienna', schemaType: 'temperature' },
   *   (t) => ({ celsius: t.celsius * 9 / 5 + 32, timestamp: t.timestamp }));
   * db.transform('derived.comfort', { from: ['sensors.temperature.vienna', 'sensors.humidity.vienna'], schemaType: 'setpoint' },
   *   ([t, h]) => ({ target_celsius: t.celsius - h.percent / 20, timestamp: t.timestamp }));
   */
  transform<KO extends keyof M & string, KI extends keyof M & string>(
    outKey: KO,
    options: TransformOptions<KI>,
    fn: (value: Readonly<M[KI]>) => ValueInput<M[KO]> | undefined,
  ): Dataflow;
  /**
   * One input, types given (or JSON objects).
   * @throws {AimDbError} as the first overload.
   */
  transform<In = JsonObject, Out = JsonObject, K extends string = string>(
    outKey: UntypedKey<M, K>,
    options: TransformOptions<string>,
    fn: (value: Readonly<In>) => Out | undefined,
  ): Dataflow;
  /**
   * A join: `fn` gets the latest value of every input, in `from`'s order (`Ins`: their types).
   * @throws {AimDbError} as the first overload.
   */
  transform<Ins extends readonly unknown[] = readonly JsonObject[], Out = JsonObject, K extends string = string>(
    outKey: UntypedKey<M, K>,
    options: TransformOptions<readonly string[]>,
    fn: (values: Readonly<Ins>) => Out | undefined,
  ): Dataflow;
  /**
   * A consumer on the engine (not a subscription: no current value first, not counted in
   * `subscribers`): `fn(value)` for every value produced after it started (a ring: each in
   * order; `SingleLatest`: the latest per wake-up), for side effects. A throwing `fn` is
   * reported to `onError`; the tap goes on.
   * @returns Its stop function (also `.dispose()`).
   * @throws {AimDbError} `UNKNOWN_KEY`, `INVALID_KEY`, `INVALID_OPTIONS` (`fn` not a function), `USE_AFTER_FREE`, `PANIC`.
   * @example
   * const stop = db.tap('sensors.temperature.vienna', (t) => log.push(t.celsius));
   */
  tap<K extends keyof M & string>(key: K, fn: (value: Readonly<M[K]>) => void, options?: TapOptions): Dataflow;
  /**
   * Untyped keys (or a type given).
   * @throws {AimDbError} as the first overload.
   */
  tap<T = JsonObject, K extends string = string>(key: UntypedKey<M, K>, fn: (value: Readonly<T>) => void, options?: TapOptions): Dataflow;
  /**
   * A simulated source on the engine: the record's contract generates its next value (a
   * random walk: `temperature` around 20 °C, `humidity` around 50 %, `gps_location` from
   * Vienna, `setpoint` around 21 °C; aimdb-data-contracts' `Simulatable`, deterministic per
   * `seed`) `hz` times per second on the db's clock, set as `db.set` would (subscribers,
   * transforms, linked bridges get it). Value n is due n / hz seconds after the call, so on a
   * `tick: 'manual'` db it is exact: `advanceTime(1000)` then `tick()` gives 10 values at 10 Hz.
   * @returns Its stop function (also `.dispose()`).
   * @throws {AimDbError} `INVALID_OPTIONS` (`hz` not in (0, 1000], a bad `seed` or
   * `startTimestamp`, a contract without simulation), `UNKNOWN_KEY`, `INVALID_KEY`, `USE_AFTER_FREE`, `PANIC`.
   * @example
   * db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
   * const stop = db.simulate('sensors.temperature.vienna', { hz: 10 });
   */
  simulate(key: string, options: SimulateOptions): Dataflow;
  /**
   * Switches strategy, budget or poll limit at run time (options left out keep their value).
   * @throws AimDbError `INVALID_OPTIONS`, `USE_AFTER_FREE`, `PANIC`.
   */
  setTicking(options: TickingOptions): void;
  /**
   * Runs one tick now: every subscriber gets what was set before it (a `'manual'` db runs
   * nothing until this is called). Harmless under the other strategies; a no-op (0 polls)
   * from inside a callback of a tick.
   * @returns The tick's stats (`polls`, `ended`, ...).
   * @throws AimDbError `USE_AFTER_FREE`, `PANIC`.
   * @example
   * const db = new WasmDb({ tick: 'manual' });
   * db.configureRecord('sensors.temperature.vienna', { schemaType: 'temperature' });
   * db.subscribe('sensors.temperature.vienna', (t) => seen.push(t.celsius));
   * db.set('sensors.temperature.vienna', { celsius: 19, timestamp: 1 });
   * db.tick();                                        // seen: [19]
   */
  tick(): TickStats;
  /**
   * Moves the virtual clock of a db made with `tick: 'manual'` forward by `ms` (timers of
   * the engine that are due then run on the next `tick()`); ticks themselves take no virtual time.
   * @param ms Milliseconds, finite and >= 0.
   * @returns The clock's time afterwards, ms since the db was made.
   * @throws AimDbError `INVALID_OPTIONS` (`ms` not a finite number >= 0), `NOT_AVAILABLE` (the db
   * runs on the real clock: made with another strategy), `USE_AFTER_FREE`, `PANIC`.
   */
  advanceTime(ms: number): number;
  /**
   * The executor's and every record's counters (a new object each call).
   * @throws AimDbError `USE_AFTER_FREE`, `PANIC`.
   */
  stats(): DbStats;
  /** Ends every subscription and task. Later calls throw `USE_AFTER_FREE`. Idempotent; never throws. */
  free(): void;
}

/** What `validate` returns: the value (migrated, deep-frozen) or the error. */
export type ValidationResult<T> = { ok: true; value: Readonly<T> } | { ok: false; error: AimDbError };

/**
 * Validates a value or JSON text against a contract (no WasmDb needed). Failures are
 * returned (`CONTRACT_VIOLATION`, `UNKNOWN_SCHEMA`, `INVALID_KEY` for a `schemaType` that is
 * not a usable string); only `NOT_INITIALIZED` and `PANIC` are thrown.
 * @throws AimDbError `NOT_INITIALIZED`, `PANIC` only.
 * @example
 * const r = validate('humidity', '{"percent":40,"timestamp":1}');   // a drop-in for JSON.parse
 * if (r.ok) use(r.value.percent); else console.warn(r.error.path, r.error.serdeMessage);
 */
export function validate<S extends SchemaName>(schemaType: S, value: unknown): ValidationResult<Schemas[S]>;

/** A contract the module carries. */
export interface SchemaInfo {
  /** Its `schemaType`. */
  name: string;
  /** Its current version. */
  version: number;
}
/**
 * The contracts this module carries (built-in and registered from Rust).
 * @throws AimDbError `NOT_INITIALIZED`, `PANIC`.
 * @example
 * knownSchemas();   // [{ name: 'temperature', version: 2 }, { name: 'humidity', version: 1 }, ...]
 */
export function knownSchemas(): ReadonlyArray<Readonly<SchemaInfo>>;

/**
 * A bridge's link state: `'connecting'` (the first attempt, right after `connect()` or
 * `reconnect()`), `'connected'`, `'reconnecting'` (waiting or retrying after a lost link or a
 * failed attempt), `'disconnected'` (after `disconnect()`, or when retries are off).
 */
export type BridgeStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting';

/** Reconnect delays: `initialMs * factor^n`, capped at `maxMs`, each +/- `jitter`. */
export interface BackoffOptions {
  /**
   * First delay, ms.
   * @default 500
   */
  initialMs?: number;
  /**
   * Cap, ms.
   * @default 8000
   */
  maxMs?: number;
  /**
   * Growth factor.
   * @default 2
   */
  factor?: number;
  /**
   * Jitter fraction in [0, 1).
   * @default 0.2
   */
  jitter?: number;
}

/** `WsBridge.connect(db, url, options)`. Bad values: `INVALID_OPTIONS` from `connect()`. */
export interface WsBridgeOptions {
  /**
   * Patterns subscribed on every (re)connect: `#` any number of levels, `+` / `*` one level.
   * @default []
   */
  subscribeTopics?: string[];
  /**
   * Configure records from the server's topic list: on the first open link the bridge asks
   * for `list_topics` and configures a record (linked `'in'`, key from the topic: `a/b/c` ->
   * `a.b.c`) for every topic whose `schema_type` this module knows, with `buffer` if given,
   * and subscribes those topics (on every reconnect too).
   * Records the app configured itself win (left as they are). Topics of an unknown (or no)
   * schema type are reported once through `onError` (`UNKNOWN_SCHEMA`, naming them) and
   * listed in `configured`'s result.
   * @default false
   */
  autoConfigure?: boolean | { buffer?: BufferOption };
  /**
   * Reconnect after a lost link or a failed attempt (`true`: the default backoff).
   * @default true
   */
  autoReconnect?: boolean | BackoffOptions;
  /**
   * Jitter seed, for reproducible delays.
   * @default from Math.random()
   */
  seed?: number;
  /**
   * Also subscribe the exact topics of covered in/both records, for their snapshots.
   * @default true
   */
  lateJoin?: boolean;
  /**
   * ms to wait for late-join snapshots before `synced` resolves with `timedOut` (0 = forever).
   * @default 3000
   */
  syncTimeoutMs?: number;
  /**
   * Writes kept while offline.
   * @default 256
   */
  maxOfflineQueue?: number;
  /**
   * What a full offline queue does with one more write: drop the oldest queued, drop the new
   * one, or refuse it (`bridge.write` throws `QUEUE_FULL`). Dropped writes are counted and
   * reported (`WRITE_DROPPED`).
   * @default 'dropOldest'
   */
  overflow?: 'dropOldest' | 'dropNewest' | 'reject';
  /**
   * Ping interval, ms (0 = off).
   * @default 30000
   */
  keepaliveMs?: number;
  /**
   * Link dead when nothing arrives this long after a ping, ms.
   * @default 10000
   */
  pongTimeoutMs?: number;
  /**
   * Abandon an attempt that has not opened after this long, ms (0 = never).
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * Report `CONNECTION_REFUSED` after this many consecutive attempts failed before opening.
   * @default 3
   */
  refusedAfter?: number;
  /**
   * Sent as `?token=` (a browser cannot set headers on a WebSocket).
   * @default none
   */
  token?: string;
  /**
   * Inbound text frames longer than this many UTF-8 bytes are dropped unparsed, counted
   * (`oversizedFrames`) and reported (`FRAME_TOO_LARGE` via `onError`). In [64, 2^30].
   * @default 4194304 (4 MiB)
   */
  maxFrameBytes?: number;
  /**
   * The `WebSocket` constructor the bridge makes its sockets with (graphql-ws's
   * `webSocketImpl` convention): needed where there is no global one, e.g. Node 20 with the
   * `ws` package (`import { WebSocket } from 'ws'`). Called as `new WebSocket(url)`; the
   * bridge uses `binaryType`, `onopen`, `onmessage`, `onerror`, `onclose`, `send` and `close`.
   * @default globalThis.WebSocket
   */
  WebSocket?: new (url: string) => object;
  /**
   * Durable offline writes (README "Persistence"): every write not yet confirmed by the
   * server (queued while offline, or sent and waiting for the `pong` that confirms it) is
   * kept in IndexedDB under `name`, rewritten in the task that changed it, and removed once
   * confirmed. On connect the writes a closed page (or tab) of the same origin left under
   * `name` are put back ahead of new ones and flushed FIFO; the socket opens after that (the
   * status is `'connecting'` meanwhile). Each tab owns its queue (a Web Lock); a closed tab's
   * queue is taken over by the next bridge that starts with the same `name`. Where there is
   * no IndexedDB (Node) it reports `NOT_AVAILABLE` once through `onError` and works in memory;
   * storage failures are `STORAGE_ERROR`.
   * @default undefined (writes are kept in memory only)
   */
  persist?: PersistOptions;
}

/** `WsBridge.connect(db, url, { persist })`. */
export interface PersistOptions {
  /** The queue's name: pages that use the same name (on the same origin) share what is left over. */
  name: string;
}

/** `configureRecord(key, { persist })` given as an object. */
export interface PersistRecordOptions {
  /**
   * Gets the record's persistence errors: `CONTRACT_VIOLATION` (a stored value no longer
   * passes the contract: dropped, never delivered), `STORAGE_ERROR`, `NOT_AVAILABLE` (no
   * IndexedDB: once per db). On a Worker-mode db they go to `inWorker({ onError })` instead.
   * @default console.error
   */
  onError?: (error: AimDbError) => void;
}

/** What `bridge.synced` resolves to. */
export interface SyncResult {
  /** The sync timeout ended the late-join phase. */
  readonly timedOut: boolean;
  /** Exact topics that sent no value (refused or timed out). */
  readonly missing: ReadonlyArray<string>;
}

/** `bridge.stats()`: counters since `connect()`, and current lengths. */
export interface BridgeStats {
  /** Write frames handed to a socket (a re-sent write counts again, see `resent`). */
  sent: number;
  /** Of `sent`, re-sends of writes a socket took but never confirmed (at-least-once). */
  resent: number;
  /** Writes proven delivered: a pong came back for a ping sent after them. */
  confirmed: number;
  /** Writes handed to the current socket, not confirmed yet (re-sent if the link dies). */
  unconfirmed: number;
  /** Values delivered from the server into records (data + snapshots). */
  received: number;
  /** Inbound payloads refused by a record's contract. */
  rejected: number;
  /** Current offline queue length. */
  queued: number;
  /**
   * Writes given up, each reported as `WRITE_DROPPED`: by the overflow policy, queued or
   * unconfirmed ones at `disconnect()`, and `db.set`s of out records after `disconnect()` or
   * refused by a full queue under `'reject'`.
   */
  dropped: number;
  /** Attempts after a lost link or a failed attempt. */
  reconnects: number;
  /** Connection attempts (sockets opened). */
  connects: number;
  /** Frames handed to a socket. */
  framesSent: number;
  /** Frames received (text, binary and oversized). */
  framesReceived: number;
  /** `snapshot` frames received. */
  snapshots: number;
  /** Writes refused with an error (thrown by `write`, or reported for a `db.set`). */
  writesRejected: number;
  /** Frames that are not protocol messages (`MALFORMED_FRAME`). */
  malformed: number;
  /** Data/snapshot frames for a topic no record maps to (dropped). */
  unknownTopic: number;
  /** Data/snapshot frames for a record linked 'out' only (dropped). */
  notInbound: number;
  /** Text frames over `maxFrameBytes` (dropped unparsed). */
  oversizedFrames: number;
  /** Binary frames (dropped). */
  binaryFrames: number;
  /** Snapshots not applied because live data for the topic came first. */
  staleSnapshots: number;
  /** Error messages from the server (`SERVER_ERROR`). */
  serverErrors: number;
  /** Message of the last error, or null. */
  lastError: string | null;
}

/** Removes a listener. Idempotent. */
export type RemoveListener = () => void;

/**
 * Links a WasmDb's records to an AimDB server over WebSocket: inbound values go through
 * the records' contracts, local writes of `out` / `both` records are sent (queued while
 * offline, at least once).
 * @example
 * const bridge = WsBridge.connect(db, 'ws://127.0.0.1:8080/ws', { subscribeTopics: ['sensors/#'] });
 * bridge.status;                                   // 'connecting', readable at once
 * bridge.onStatusChange((s) => console.log(s));    // later transitions: 'connected', ...
 * bridge.onError((e) => console.warn(e.code, e.topic, e.message));
 * await bridge.synced;
 */
export class WsBridge {
  private constructor();
  /**
   * Links the records of `db` (by their `topic` / `link` options; records configured later
   * are linked as they are configured) and connects. Every local write of an `out` / `both`
   * record (`db.set`, `write`) is sent, in order; values the bridge delivered are not sent
   * back. The bridge ends when `db` is freed.
   * The status is `'connecting'` when it returns (with `persist`, or persisted records in
   * `db`, the socket opens once the stored writes and records are restored).
   * @throws AimDbError `INVALID_URL` (a URL that can never work; never retried), `INVALID_OPTIONS`
   * (bad options, `db` not a WasmDb), `NOT_AVAILABLE` (before touching `db`: no `WebSocket` here
   * and none given, or a build without the bridge), `USE_AFTER_FREE` (`db` freed), `NOT_INITIALIZED`.
   * @example
   * // Node 20: no global WebSocket, so pass one
   * import { WebSocket } from 'ws';
   * const bridge = WsBridge.connect(db, 'ws://127.0.0.1:8080/ws', { subscribeTopics: ['sensors/#'], WebSocket });
   */
  static connect(db: WasmDb, url: string, options?: WsBridgeOptions): WsBridge;
  /**
   * The current status, readable at once: `'connecting'` right after `connect()` (no listener
   * can be attached before that; `onStatusChange` reports only the transitions after it).
   */
  readonly status: BridgeStatus;
  /** Resolves when the first connection's late-join phase is over. */
  readonly synced: Promise<SyncResult>;
  /**
   * With `autoConfigure`: resolves once the server's topic list was applied (the records it
   * configured are linked and subscribed with late join from then on). Without: `null` at once.
   */
  readonly configured: Promise<AutoConfigured | null>;
  /**
   * Calls `callback` on every status change from now on (not with the current status: read
   * `status` for that). A listener that throws is logged; the others still run.
   * Never throws.
   */
  onStatusChange(callback: (status: BridgeStatus) => void): RemoveListener;
  /**
   * Calls `callback` with every error the bridge reports (inbound contract violations,
   * dropped writes, lost links, ...; see `ErrorCode`). Never throws.
   */
  onError(callback: (error: AimDbError) => void): RemoveListener;
  /**
   * The server's history (its query handler, the protocol's `query` / `query_result`): the
   * values it kept for the topics matching `pattern`, each validated by the contract of the
   * record its topic maps to. Sent at once on the open link; never queued.
   * @param pattern A topic pattern as in `subscribe` (`'*'` or `'#'`: every topic).
   * @returns Valid values in `records` (in the server's order), payloads that broke their
   * record's contract in `rejected` (with the `AimDbError`), topics no record maps to in
   * `unknownTopics` (their values are left out); `total` is the server's count.
   * @throws {AimDbError} `INVALID_OPTIONS` (an empty pattern; `from`/`to`/`limit` not an integer >= 0),
   * `USE_AFTER_FREE`. The promise rejects with `BRIDGE_DISCONNECTED` (not connected, or the link
   * was lost before the answer), `SERVER_ERROR` (the server has no query handler or it failed),
   * `USE_AFTER_FREE` (freed before the answer).
   * @example
   * const { records } = await bridge.query('sensors/temperature/vienna', { from: Date.now() - 60_000, limit: 100 });
   * for (const r of records) chart.add(r.ts, (r.value as Temperature).celsius);
   */
  query<T = JsonObject>(pattern: string, options?: QueryOptions): Promise<QueryResult<T>>;
  /**
   * Adds topic patterns (sent now if connected, and on every reconnect).
   * @throws AimDbError `INVALID_OPTIONS` (a malformed pattern), `USE_AFTER_FREE`.
   */
  subscribe(topics: string | readonly string[]): void;
  /**
   * Removes topic patterns.
   * @throws AimDbError `INVALID_OPTIONS` (a malformed pattern), `USE_AFTER_FREE`.
   */
  unsubscribe(topics: string | readonly string[]): void;
  /**
   * Validates against the contract, checks the bridge can take the write, then sets it locally
   * and sends it (queued while offline). Throws AimDbError, and sets nothing, for
   * `CONTRACT_VIOLATION`, `UNKNOWN_KEY`, `NOT_OUTBOUND`, `QUEUE_FULL` (overflow 'reject'),
   * `FRAME_TOO_LARGE`, `BRIDGE_DISCONNECTED` (after disconnect()), `USE_AFTER_FREE` (bridge or db freed).
   * @throws AimDbError with the codes above, and `INVALID_KEY`.
   */
  write<T = JsonObject>(key: string, value: T): void;
  /**
   * The counters.
   * @throws AimDbError `USE_AFTER_FREE`.
   */
  stats(): BridgeStats;
  /**
   * Connects again after disconnect(), or retries at once while waiting.
   * @throws AimDbError `USE_AFTER_FREE` (bridge or db freed).
   */
  reconnect(): void;
  /**
   * Closes on purpose: status 'disconnected', no reconnect, queued writes dropped (counted,
   * reported). Later `write` throws `BRIDGE_DISCONNECTED`. Never throws (a no-op once freed).
   */
  disconnect(): void;
  /** Disconnects and frees the bridge. Idempotent; safe from inside a listener (takes effect when the call in progress returns). Never throws. */
  free(): void;
  /**
   * Resolves once every write accepted so far is stored in IndexedDB (or its store failed,
   * which was reported as `STORAGE_ERROR`); at once without `persist`. E.g. before a page
   * navigates away on purpose.
   * @throws AimDbError `USE_AFTER_FREE`.
   * @example
   * bridge.write('commands.setpoint.room1', { target_celsius: 21, timestamp: Date.now() });
   * await bridge.persisted(); // survives a reload from here on
   */
  persisted(): Promise<void>;
  /**
   * @internal Test hook: sockets whose event closures the bridge still holds.
   * @throws AimDbError `USE_AFTER_FREE`.
   */
  __heldSockets(): number;
  /**
   * @internal Test hook: the data frames the ingest fast path took (read in JS, handed to
   * wasm as numbers) instead of the whole frame going into wasm.
   * @throws AimDbError `USE_AFTER_FREE`.
   */
  __fastFrames(): number;
}

/**
 * Where `init()` finds the wasm module: a URL (a `file:` URL is read from disk in Node), a
 * `Response`, the bytes, or a compiled `WebAssembly.Module`.
 */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/**
 * Loads the wasm module; await it once before anything else (it resolves at once when the
 * module is loaded). Without `input` it loads the package's own wasm file: fetched next to
 * the module in a browser or bundler build, read from disk with `fs` in Node. A failed load
 * rejects with what went wrong (a fetch or compile error) and can be retried: the next call
 * starts over.
 * @param input The module, or `{ module_or_path }` holding it (wasm-bindgen's form).
 * @throws Never synchronously: the promise rejects with the fetch or file-read error, or a
 * `WebAssembly.CompileError` / `LinkError` for bytes that are not this module.
 * @example
 * import init, { WasmDb } from '@aimdb/wasm';
 * await init();                                   // browser, bundler or Node 20
 * @example
 * // Vite: the wasm file through the package's exports
 * import wasmUrl from '@aimdb/wasm/aimdb_wasm_bindings_bg.wasm?url';
 * await init({ module_or_path: wasmUrl });
 */
export default function init(
  input?: InitInput | Promise<InitInput> | { module_or_path: InitInput | Promise<InitInput> },
): Promise<void>;

/**
 * Loads the wasm module synchronously from bytes (or a compiled module) already at hand,
 * e.g. `fs.readFileSync(require.resolve('@aimdb/wasm/aimdb_wasm_bindings_bg.wasm'))` in Node.
 * A no-op once the module is loaded. Throws a `WebAssembly.CompileError` for bytes that are
 * not this module (browsers refuse synchronous compiles of modules over 4 KB on the main
 * thread: use it in Workers and Node).
 * @param module The bytes or compiled module, or `{ module }` holding them (wasm-bindgen's form).
 * @throws {WebAssembly.CompileError} for bytes that are not this module (`RangeError` in a
 * browser's main thread for a module over 4 KB).
 * @example
 * import { readFileSync } from 'node:fs';
 * import { createRequire } from 'node:module';
 * import { initSync } from '@aimdb/wasm';
 * initSync(readFileSync(createRequire(import.meta.url).resolve('@aimdb/wasm/aimdb_wasm_bindings_bg.wasm')));
 */
export function initSync(module: BufferSource | WebAssembly.Module | { module: BufferSource | WebAssembly.Module }): void;
