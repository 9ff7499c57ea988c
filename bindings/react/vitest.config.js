// Vitest for @aimdb/react, against the REAL wasm module built by `make wasm` into pkg/:
// '@aimdb/wasm' resolves to pkg/index.js. happy-dom gives requestAnimationFrame and a document.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { '@aimdb/wasm': fileURLToPath(new URL('../../pkg/index.js', import.meta.url)) },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.js'],
    // One worker: the 2-core machine, and one wasm instance per file is plenty.
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 10000,
    // The wasm bytes for init() (import.meta.url is not a file: URL under happy-dom).
    env: { AIMDB_WASM_FILE: fileURLToPath(new URL('../../pkg/aimdb_wasm_bindings_bg.wasm', import.meta.url)) },
  },
});
