// @aimdb/react's hooks typed by a registered record map (Register). Every @ts-expect-error
// line must be an error; the rest must check (strict).
import { WasmDb, type JsonObject, type Setpoint, type Temperature } from '@aimdb/wasm';
import { AimDbProvider, useDb, useRecord, useRecordHistory, useSetRecord } from '@aimdb/react';
import { createElement } from 'react';

type Records = {
  'sensors.temperature.vienna': Temperature;
  'commands.setpoint.room1': Setpoint;
};

declare module '@aimdb/react' {
  interface Register {
    records: Records;
  }
}

export function Reading() {
  // A registered key: its type, no type argument.
  const t = useRecord('sensors.temperature.vienna');
  const c: number | undefined = t?.celsius;
  // @ts-expect-error a registered value is readonly
  if (t) t.celsius = 1;
  // @ts-expect-error a Temperature has no target_celsius
  useRecord('sensors.temperature.vienna')?.target_celsius;
  const h = useRecordHistory('sensors.temperature.vienna', 10);
  const ts: number | undefined = h[0]?.timestamp;
  const setpoint = useSetRecord('commands.setpoint.room1');
  setpoint({ target_celsius: 21, timestamp: 1 });
  // @ts-expect-error the registered setter takes a Setpoint
  setpoint({ celsius: 21, timestamp: 1 });
  const setTemp = useSetRecord('sensors.temperature.vienna');
  // version 1 is accepted for temperature (migrated)
  setTemp({ schema_version: 1, temp: 70, unit: 'F', timestamp: 1 });
  // A key Register does not name: untyped (JsonObject), or typed by the argument.
  const other: Readonly<JsonObject> | null = useRecord('sensors.other');
  const typed: Readonly<Temperature> | null = useRecord<Temperature>('sensors.other');
  // useDb is the registered WasmDb.
  const db = useDb();
  const g: Readonly<Setpoint> | null = db.get('commands.setpoint.room1');
  return `${c} ${ts} ${other} ${typed} ${g}`;
}

export function app(db: WasmDb<Records>) {
  return createElement(AimDbProvider, { db }, null);
}
