// A new user's app: the wasm file through the package's `exports` (Vite's `?url`), the
// object form of init(), a WasmDb given to <AimDbProvider>, a value set and shown.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import init, { WasmDb } from '@aimdb/wasm';
import wasmUrl from '@aimdb/wasm/aimdb_wasm_bindings_bg.wasm?url';
import { AimDbProvider } from '@aimdb/react';
import { App, KEY } from './App';

await init({ module_or_path: wasmUrl });
const db = new WasmDb({ tick: 'animationFrame' });
db.configureRecord(KEY, { schemaType: 'temperature' });
db.set(KEY, { celsius: 21.5, timestamp: Date.now() });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AimDbProvider db={db}>
      <App />
    </AimDbProvider>
  </StrictMode>,
);
