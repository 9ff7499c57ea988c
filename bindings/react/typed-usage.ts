// Typed usage of @aimdb/react: `tsc --noEmit -p bindings/react/tsconfig.json` (strict).
// Never run; it only has to type-check (and the @ts-expect-error lines must be errors).
import { createElement, StrictMode, type ReactNode } from 'react';
import init, { AimDbError, WasmDb, type DbStats, type Temperature, type JsonObject } from '@aimdb/wasm';
import {
  AimDbProvider,
  useBridgeStatus,
  useDb,
  useDbStats,
  useRecord,
  useRecordHistory,
  useSetRecord,
  type AimDbConfig,
  type BridgeLike,
  type BridgeStatus,
} from '@aimdb/react';

function Reading(): ReactNode {
  const t: Readonly<Temperature> | null = useRecord<Temperature>('sensors.temp');
  const celsius: number | undefined = t?.celsius;
  // @ts-expect-error values are readonly
  if (t) t.celsius = 1;
  const untyped: Readonly<JsonObject> | null = useRecord('sensors.temp');
  const history: ReadonlyArray<Readonly<Temperature>> = useRecordHistory<Temperature>('sensors.hist', 10);
  const first: number | undefined = history[0]?.timestamp;
  // @ts-expect-error the history is readonly
  history.push(history[0]!);
  const setTemp: (value: Temperature) => void = useSetRecord<Temperature>('sensors.temp');
  setTemp({ schema_version: 2, celsius: 21, timestamp: 1 });
  // @ts-expect-error wrong value type for the setter
  setTemp({ schema_version: 2, celsius: 'hot', timestamp: 1 });
  try {
    setTemp({ schema_version: 2, celsius: 21, timestamp: 2 });
  } catch (e) {
    if (e instanceof AimDbError && e.code === 'CONTRACT_VIOLATION') console.log(e.path, e.serdeMessage);
  }
  const stats: DbStats = useDbStats();
  const polled: number = useDbStats(250).executor.ticks;
  const subs: number | undefined = stats.records['sensors.temp']?.subscribers;
  const status: BridgeStatus | null = useBridgeStatus();
  const db: WasmDb = useDb();
  db.get<Temperature>('sensors.temp');
  return createElement('p', null, `${celsius} ${first} ${polled} ${subs} ${status} ${untyped === null}`);
}

class FakeStatus implements BridgeLike {
  status: BridgeStatus = 'connecting';
  onStatusChange(callback: (status: BridgeStatus) => void): () => void {
    callback(this.status);
    return () => {};
  }
}

function Status({ bridge }: { bridge: BridgeLike }): ReactNode {
  const s = useBridgeStatus(bridge);
  switch (s) {
    case 'connecting':
    case 'connected':
    case 'disconnected':
    case 'reconnecting':
    case null:
      return s;
  }
}

export async function main(): Promise<ReactNode[]> {
  await init();
  const db = new WasmDb({ tick: 'animationFrame' });
  const bridge = new FakeStatus();
  const config: AimDbConfig = {
    options: { tick: 'macrotask' },
    records: { 'sensors.temp': { schemaType: 'temperature' }, 'sensors.hist': { schemaType: 'temperature', buffer: { type: 'SpmcRing', capacity: 64 } } },
  };
  return [
    createElement(StrictMode, null, createElement(AimDbProvider, { db, bridge }, createElement(Reading))),
    createElement(AimDbProvider, { config, fallback: 'loading' }, createElement(Reading), createElement(Status, { bridge })),
    // @ts-expect-error db and config are exclusive
    createElement(AimDbProvider, { db, config }, null),
    // @ts-expect-error a fallback only goes with config
    createElement(AimDbProvider, { db, fallback: 'x' }, null),
  ];
}
