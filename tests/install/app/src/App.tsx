import { useRecord, useSetRecord } from '@aimdb/react';
import type { Temperature } from '@aimdb/wasm';

export const KEY = 'sensors.temperature.vienna' as const;

/** `prefix`: '' for the main-thread db's copy, 'w' for the Worker-mode db's. */
export function App({ prefix = '' }: { prefix?: string }) {
  const t = useRecord<Temperature>(KEY);
  const set = useSetRecord<Temperature>(KEY);
  const celsius: number | undefined = t?.celsius;
  return (
    <main>
      <output id={`${prefix}celsius`}>{celsius === undefined ? 'no value' : celsius.toFixed(1)}</output>
      <button id={`${prefix}warmer`} onClick={() => set({ schema_version: 2, celsius: (celsius ?? 0) + 1, timestamp: Date.now() })}>
        warmer
      </button>
    </main>
  );
}
