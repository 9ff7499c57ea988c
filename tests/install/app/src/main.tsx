// A new user's app: the wasm file through the package's `exports` (Vite's `?url`), the
// object form of init(), a typed WasmDb given to <AimDbProvider>, a value set and shown;
// and the same app on a Worker-mode db (WasmDb.inWorker: the package's worker bundled by Vite).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import init, { WasmDb, type Temperature } from '@aimdb/wasm';
import wasmUrl from '@aimdb/wasm/aimdb_wasm_bindings_bg.wasm?url';
import { AimDbProvider } from '@aimdb/react';
import { App, KEY } from './App';

await init({ module_or_path: wasmUrl });
const db = new WasmDb<{ [KEY]: Temperature }>({ tick: 'animationFrame' });
const vienna = db.configureRecord(KEY, { schemaType: 'temperature' });
vienna.set({ celsius: 21.5, timestamp: Date.now() });
const wdb = await WasmDb.inWorker<{ [KEY]: Temperature }>({ tick: 'animationFrame' });
wdb.configureRecord(KEY, { schemaType: 'temperature' }).set({ celsius: 30.5, timestamp: Date.now() });

// The types come through the installed package: tsc must reject these (never called).
export function typeChecks(): number {
  // @ts-expect-error celsius is a number
  vienna.set({ celsius: 'hot', timestamp: 1 });
  // @ts-expect-error a misspelt contract name
  db.configureRecord('x', { schemaType: 'temprature' });
  // @ts-expect-error the typed key takes temperatures
  db.set(KEY, { percent: 40, timestamp: 1 });
  return db.get(KEY)!.celsius + 1;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AimDbProvider db={db}>
      <App />
    </AimDbProvider>
    <AimDbProvider db={wdb}>
      <App prefix="w" />
    </AimDbProvider>
  </StrictMode>,
);
