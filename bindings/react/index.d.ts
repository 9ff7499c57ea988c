// Type declarations of @aimdb/react (hand-written; checked by `tsc --noEmit` against
// bindings/react/typed-usage.ts in `make test-react`).
import type { ReactNode } from 'react';
import type { DbStats, InitInput, JsonObject, RecordOptions, UntypedKey, ValueInput, WasmDb, WasmDbOptions } from '@aimdb/wasm';

/**
 * Types every hook by your records: declare the `{ key: value type }` map of your `WasmDb<M>`
 * here once (declaration merging), and `useRecord`, `useRecordHistory`, `useSetRecord` and
 * `useDb` take their types from it; keys it does not name stay untyped (`JsonObject` or the
 * type argument). Empty by default: every hook untyped, as before.
 * @example
 * declare module '@aimdb/react' {
 *   interface Register {
 *     records: { 'sensors.temperature.vienna': Temperature; 'commands.setpoint.room1': Setpoint };
 *   }
 * }
 * const t = useRecord('sensors.temperature.vienna');   // Readonly<Temperature> | null
 */
export interface Register {}

/** The record map declared in `Register` (`{}` when none is). */
export type RegisteredRecords = Register extends { records: infer M extends object } ? M : {};

/** The states of a WsBridge connection. */
export type BridgeStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting';

/** What `useBridgeStatus` needs of a bridge (`WsBridge` of @aimdb/wasm has this shape). */
export interface BridgeLike {
  /** The current status. */
  readonly status: BridgeStatus;
  /** Calls `callback` on every status change; returns the function that removes it. Never throws. */
  onStatusChange(callback: (status: BridgeStatus) => void): () => void;
}

/** Creates the provider's own WasmDb (after mount; freed on unmount). Read once per mount. */
export interface AimDbConfig {
  /**
   * Passed to `init()` of @aimdb/wasm (a no-op once the module is loaded).
   * @default the package's own wasm file
   */
  init?: InitInput | Promise<InitInput>;
  /**
   * `new WasmDb(options)`.
   * @default {} (every option at its default)
   */
  options?: WasmDbOptions;
  /**
   * `configureRecord(key, options)` for each entry, before the children render.
   * @default {}
   */
  records?: { readonly [key: string]: RecordOptions };
}

interface ProviderCommonProps {
  /** The default bridge of `useBridgeStatus()`. */
  bridge?: BridgeLike | null;
  children?: ReactNode;
}

/** A WasmDb you own: the provider never frees it. */
export interface AimDbProviderDbProps extends ProviderCommonProps {
  /** The database the hooks use. */
  db: WasmDb;
  /** Not with `db`. */
  config?: undefined;
  /** Not with `db` (nothing to wait for). */
  fallback?: undefined;
}

/** A WasmDb the provider creates from `config` and frees on unmount. */
export interface AimDbProviderConfigProps extends ProviderCommonProps {
  /** Not with `config`. */
  db?: undefined;
  /** What the provider's own database is made from (read once per mount). */
  config: AimDbConfig;
  /** Rendered until the database exists. Default `null`. */
  fallback?: ReactNode;
}

/** `<AimDbProvider>`'s props: a database you own (`db`) or one it makes (`config`). */
export type AimDbProviderProps = AimDbProviderDbProps | AimDbProviderConfigProps;

/**
 * Provides a WasmDb (and optionally a bridge) to the hooks below it.
 * @throws AimDbError `INVALID_OPTIONS` (both or neither of `db` and `config`); with `config`,
 * what `init()` or `new WasmDb` / `configureRecord` threw, from render (an error boundary catches it).
 * @example
 * <AimDbProvider db={db} bridge={bridge}><Dashboard /></AimDbProvider>
 * <AimDbProvider config={{ records: { 'sensors.temperature.vienna': { schemaType: 'temperature' } } }} fallback={<p>Loading…</p>}>
 *   <Dashboard />
 * </AimDbProvider>
 */
export function AimDbProvider(props: AimDbProviderProps): ReactNode;

/**
 * The provider's WasmDb, typed by `Register`.
 * @throws AimDbError `INVALID_OPTIONS` outside an AimDbProvider.
 * @example
 * const db = useDb();
 */
export function useDb(): WasmDb<RegisteredRecords>;

/**
 * The record's latest value (deep-frozen; the same object until it changes), or null before
 * the first; re-renders when it changes. Typed by `Register` for the keys it names.
 * @throws AimDbError `INVALID_OPTIONS` (outside a provider), `UNKNOWN_KEY`, `INVALID_KEY` (from render).
 * @example
 * const t = useRecord('sensors.temperature.vienna');   // registered: Readonly<Temperature> | null
 * return <span>{t ? t.celsius.toFixed(1) : '…'}</span>;
 */
export function useRecord<K extends keyof RegisteredRecords & string>(key: K): Readonly<RegisteredRecords[K]> | null;
/**
 * The latest value of a record `Register` does not name, typed by `T`; as the typed overload otherwise.
 * @throws AimDbError `INVALID_OPTIONS` (outside a provider), `UNKNOWN_KEY`, `INVALID_KEY` (from render).
 * @example
 * const t = useRecord<Temperature>('sensors.temperature.vienna');
 */
export function useRecord<T = JsonObject, K extends string = string>(key: UntypedKey<RegisteredRecords, K>): Readonly<T> | null;

/**
 * The last `n` values of a ring record, oldest first; the same array until a value arrives.
 * Typed by `Register` for the keys it names.
 * @throws AimDbError `INVALID_OPTIONS` (`n` not a positive integer, or outside a provider),
 * `UNKNOWN_KEY`, `INVALID_KEY` (from render).
 * @example
 * const last60 = useRecordHistory('sensors.temperature.berlin', 60);   // registered key
 */
export function useRecordHistory<K extends keyof RegisteredRecords & string>(key: K, n: number): ReadonlyArray<Readonly<RegisteredRecords[K]>>;
/**
 * The last `n` values of a ring record `Register` does not name, typed by `T`; as the typed overload otherwise.
 * @throws AimDbError `INVALID_OPTIONS` (`n` not a positive integer, or outside a provider),
 * `UNKNOWN_KEY`, `INVALID_KEY` (from render).
 * @example
 * const last60 = useRecordHistory<Temperature>('sensors.temperature.berlin', 60);
 */
export function useRecordHistory<T = JsonObject, K extends string = string>(key: UntypedKey<RegisteredRecords, K>, n: number): ReadonlyArray<Readonly<T>>;

/**
 * A stable setter calling `db.set(key, value)`; typed by `Register` for the keys it names.
 * @throws AimDbError `INVALID_OPTIONS` outside a provider; the setter throws what `db.set`
 * throws (`CONTRACT_VIOLATION`, `UNKNOWN_KEY`, ...).
 * @example
 * const setSetpoint = useSetRecord('commands.setpoint.room1');   // registered key
 * <button onClick={() => setSetpoint({ target_celsius: 21, timestamp: Date.now() })}>21 °C</button>
 */
export function useSetRecord<K extends keyof RegisteredRecords & string>(key: K): (value: ValueInput<RegisteredRecords[K]>) => void;
/**
 * A stable setter for a record `Register` does not name, typed by `T`; as the typed overload otherwise.
 * @throws AimDbError `INVALID_OPTIONS` outside a provider; the setter throws what `db.set` throws.
 * @example
 * const setSetpoint = useSetRecord<Setpoint>('commands.setpoint.room1');
 */
export function useSetRecord<T = JsonObject, K extends string = string>(key: UntypedKey<RegisteredRecords, K>): (value: T) => void;

/**
 * The bridge's status (argument, else the provider's bridge), or null without a bridge;
 * re-renders on every change.
 * @throws AimDbError `INVALID_OPTIONS` outside a provider.
 * @example
 * const status = useBridgeStatus();   // 'connecting' | 'connected' | ... | null
 */
export function useBridgeStatus(bridge?: BridgeLike | null): BridgeStatus | null;

/**
 * `db.stats()` every `intervalMs` ms, or once per animation frame; a new object only on change.
 * @param intervalMs Poll period in ms; left out: once per animation frame.
 * @throws AimDbError `INVALID_OPTIONS` (`intervalMs` not a positive number, or outside a provider).
 * @example
 * const { executor } = useDbStats(500);
 */
export function useDbStats(intervalMs?: number): DbStats;
