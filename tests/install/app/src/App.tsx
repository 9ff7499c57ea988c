import { useRecord, useSetRecord } from '@aimdb/react';
import type { Temperature } from '@aimdb/wasm';

export const KEY = 'sensors.temperature.vienna' as const;

export function App() {
  const t = useRecord<Temperature>(KEY);
  const set = useSetRecord<Temperature>(KEY);
  const celsius: number | undefined = t?.celsius;
  return (
    <main>
      <output id="celsius">{celsius === undefined ? 'no value' : celsius.toFixed(1)}</output>
      <button id="warmer" onClick={() => set({ schema_version: 2, celsius: (celsius ?? 0) + 1, timestamp: Date.now() })}>
        warmer
      </button>
    </main>
  );
}
