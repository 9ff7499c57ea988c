// Type declarations of @aimdb/react (hand-written; checked by `tsc --noEmit` against
// bindings/react/typed-usage.ts in `make test-react`).
import type { ReactNode } from 'react';
import type { DbStats, InitInput, JsonObject, RecordOptions, WasmDb, WasmDbOptions } from '@aimdb/wasm';

/** The states of a WsBridge connection. */
export type BridgeStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting';

/** What `useBridgeStatus` needs of a bridge (`WsBridge` of @aimdb/wasm has this shape). */
export interface BridgeLike {
  readonly status: BridgeStatus;
  /** Calls `callback` on every status change; returns the function that removes it. */
  onStatusChange(callback: (status: BridgeStatus) => void): () => void;
}

/** Creates the provider's own WasmDb (after mount; freed on unmount). Read once per mount. */
export interface AimDbConfig {
  /** Passed to `init()` of @aimdb/wasm (a no-op once the module is loaded). */
  init?: InitInput | Promise<InitInput>;
  options?: WasmDbOptions;
  /** `configureRecord(key, options)` for each entry, before the children render. */
  records?: { readonly [key: string]: RecordOptions };
}

interface ProviderCommonProps {
  /** The default bridge of `useBridgeStatus()`. */
  bridge?: BridgeLike | null;
  children?: ReactNode;
}

/** A WasmDb you own: the provider never frees it. */
export interface AimDbProviderDbProps extends ProviderCommonProps {
  db: WasmDb;
  config?: undefined;
  fallback?: undefined;
}

/** A WasmDb the provider creates from `config` and frees on unmount. */
export interface AimDbProviderConfigProps extends ProviderCommonProps {
  db?: undefined;
  config: AimDbConfig;
  /** Rendered until the database exists. Default `null`. */
  fallback?: ReactNode;
}

export type AimDbProviderProps = AimDbProviderDbProps | AimDbProviderConfigProps;

/** Provides a WasmDb (and optionally a bridge) to the hooks below it. */
export function AimDbProvider(props: AimDbProviderProps): ReactNode;

/** The provider's WasmDb; throws AimDbError `INVALID_OPTIONS` outside an AimDbProvider. */
export function useDb(): WasmDb;

/** The record's latest value (deep-frozen; the same object until it changes), or null before the first. */
export function useRecord<T = JsonObject>(key: string): Readonly<T> | null;

/** The last `n` values of a ring record, oldest first; the same array until a value arrives. */
export function useRecordHistory<T = JsonObject>(key: string, n: number): ReadonlyArray<Readonly<T>>;

/** A stable setter calling `db.set(key, value)`; throws AimDbError (`CONTRACT_VIOLATION`, ...). */
export function useSetRecord<T = JsonObject>(key: string): (value: T) => void;

/** The bridge's status (argument, else the provider's bridge), or null without a bridge. */
export function useBridgeStatus(bridge?: BridgeLike | null): BridgeStatus | null;

/** `db.stats()` every `intervalMs` ms, or once per animation frame; a new object only on change. */
export function useDbStats(intervalMs?: number): DbStats;
