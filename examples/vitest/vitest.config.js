// The Vitest example (README "Testing your app with Vitest"): plain Node environment, the real
// wasm module. In an app '@aimdb/wasm' is the installed package; here it is the built pkg/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { '@aimdb/wasm': fileURLToPath(new URL('../../pkg/index.js', import.meta.url)) },
  },
  test: {
    environment: 'node',
    include: ['*.test.js'],
    pool: 'forks',
    maxWorkers: 1,
  },
});
