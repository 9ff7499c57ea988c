// Type declarations of @aimdb/wasm (hand-written; checked by `tsc --noEmit` against
// bindings/npm/typed-usage.ts in `make test`).

/** Any value JSON can carry. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
/** A JSON object, as handed out (deep-frozen). */
export type JsonObject = { readonly [key: string]: JsonValue };

/** The host callback that ticks the executor. */
export type TickStrategy = 'animationFrame' | 'microtask' | 'macrotask' | 'idle' | 'manual';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

export interface TickingOptions {
  /** Default `'animationFrame'`. */
  tick?: TickStrategy;
  /** Time budget of one tick in ms, in (0, 1000]. Default 4. */
  budgetMs?: number;
  /** Most task polls in one tick. Default 4096. */
  maxPollsPerTick?: number;
}

export interface WasmDbOptions extends TickingOptions {
  /** Default `'info'`. */
  logLevel?: LogLevel;
}

/** `'SpmcRing'` alone means capacity 1024. Capacity must be in 1..=1048576. */
export type BufferOption =
  | 'SingleLatest'
  | 'Mailbox'
  | 'SpmcRing'
  | { type: 'SpmcRing'; capacity?: number }
  | { type: 'SingleLatest' }
  | { type: 'Mailbox' };

/** `temperature`, version 2. Older versions are migrated on `set` and `validate`. */
export interface Temperature {
  schema_version: 2;
  celsius: number;
  /** Unix milliseconds. */
  timestamp: number;
}
/** `temperature`, version 1 (accepted as input; migrated to version 2). */
export interface TemperatureV1 {
  schema_version: 1;
  temp: number;
  timestamp: number;
  unit: 'C' | 'F' | 'K';
}
export interface Humidity {
  /** 0..=100 */
  percent: number;
  timestamp: number;
}
export interface GpsLocation {
  /** -90..=90 */
  latitude: number;
  /** -180..=180 */
  longitude: number;
  altitude?: number;
  accuracy?: number;
  timestamp: number;
}

/** The built-in contracts, by `schemaType`. */
export interface Schemas {
  temperature: Temperature;
  humidity: Humidity;
  gps_location: GpsLocation;
}
export type SchemaName = keyof Schemas;

export interface RecordOptions<S extends string = SchemaName> {
  schemaType: S;
  /** Default `'SingleLatest'`. */
  buffer?: BufferOption;
  /** Bridge topic (default: the key with `.` replaced by `/`). */
  topic?: string;
  /** Bridge direction. Default `'in'`. */
  link?: 'in' | 'out' | 'both';
}

export type ErrorCode =
  | 'CONTRACT_VIOLATION'
  | 'UNKNOWN_KEY'
  | 'UNKNOWN_SCHEMA'
  | 'INVALID_BUFFER'
  | 'SCHEMA_CONFLICT'
  | 'INVALID_OPTIONS'
  | 'USE_AFTER_FREE'
  | 'NOT_INITIALIZED'
  | 'ENGINE_ERROR'
  | 'PANIC';

export class AimDbError extends Error {
  readonly name: 'AimDbError';
  readonly code: ErrorCode;
  /** The record key, where one was involved. */
  readonly key?: string;
  /** The contract, where one was involved. */
  readonly schemaType?: string;
  /** Contract violations: the field path (`''` for the value itself). */
  readonly path?: string;
  /** Contract violations: serde's message. */
  readonly serdeMessage?: string;
  /** Schema conflicts: what the key is configured as, and what was asked. */
  readonly existing?: string;
  readonly requested?: string;
}

export interface SubscribeOptions {
  /** Ring records: deliver everything that arrived in a tick as one array. */
  batch?: boolean;
  /** A ring subscriber fell behind and skipped `skipped` values (it keeps going). */
  onLag?: (skipped: number) => void;
  /** The callback threw (default: `console.error` once per error kind). */
  onError?: (error: unknown) => void;
}

/** Ends the subscription; harmless to call twice or from inside the callback. */
export type Unsubscribe = () => void;

export type TickEnd = 'drained' | 'budget' | 'maxPolls';

export interface TickStats {
  polls: number;
  elapsedMs: number;
  budgetMs: number;
  ended: TickEnd;
  finalIntervalPolls: number;
  finalIntervalMs: number;
  clockReads: number;
}

export interface ExecutorStats {
  strategy: TickStrategy;
  ticks: number;
  polls: number;
  busyMs: number;
  budgetHits: number;
  maxPollsHits: number;
  /** Ticks that ran past their budget by more than one poll. */
  overruns: number;
  maxTickMs: number;
  hostRequests: number;
  spawned: number;
  liveTasks: number;
  tickPending: boolean;
  lastTick: TickStats;
}

export interface RecordStats {
  schemaType: string;
  buffer: string;
  produced: number;
  delivered: number;
  lagged: number;
  subscribers: number;
  readers: number;
  parked: number;
  serializeErrors: number;
}

export interface DbStats {
  executor: ExecutorStats;
  records: { readonly [key: string]: RecordStats };
}

export class WasmDb {
  constructor(options?: WasmDbOptions);
  /** Usable at once. Same schema and buffer again: no-op; different: `SCHEMA_CONFLICT`. */
  configureRecord<S extends SchemaName>(key: string, options: RecordOptions<S>): void;
  configureRecord(key: string, options: RecordOptions<string>): void;
  /** Validates with the record's contract (migrating older versions) and produces the value. */
  set<T = JsonObject>(key: string, value: T): void;
  /** The latest value (deep-frozen; the same object until it changes), or null. */
  get<T = JsonObject>(key: string): Readonly<T> | null;
  subscribe<T = JsonObject>(
    key: string,
    callback: (value: Readonly<T>) => void,
    options?: SubscribeOptions & { batch?: false },
  ): Unsubscribe;
  subscribe<T = JsonObject>(
    key: string,
    callback: (values: ReadonlyArray<Readonly<T>>) => void,
    options: SubscribeOptions & { batch: true },
  ): Unsubscribe;
  /** Options only known at run time: the callback must handle both shapes. */
  subscribe<T = JsonObject>(
    key: string,
    callback: (valueOrValues: Readonly<T> | ReadonlyArray<Readonly<T>>) => void,
    options?: SubscribeOptions,
  ): Unsubscribe;
  /** Switches strategy, budget or poll limit at run time. */
  setTicking(options: TickingOptions): void;
  stats(): DbStats;
  /** Ends every subscription and task. Later calls throw `USE_AFTER_FREE`. */
  free(): void;
}

export type ValidationResult<T> = { ok: true; value: Readonly<T> } | { ok: false; error: AimDbError };

/** Validates a value or JSON text against a contract (no WasmDb needed). */
export function validate<S extends SchemaName>(schemaType: S, value: unknown): ValidationResult<Schemas[S]>;
export function validate(schemaType: string, value: unknown): ValidationResult<JsonValue>;

export interface SchemaInfo {
  name: string;
  version: number;
}
/** The contracts this module carries. */
export function knownSchemas(): ReadonlyArray<Readonly<SchemaInfo>>;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;
/** Loads the wasm module; await it once before anything else. */
export default function init(input?: InitInput | Promise<InitInput>): Promise<void>;
