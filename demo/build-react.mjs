// Bundles the React demo page (demo/react-app.js + React + @aimdb/react) into
// target/react-demo/react-app.js with vite's JS API. React 19 ships no ESM build, so the
// browser cannot import it directly. @aimdb/wasm stays external: demo/react.html maps it
// to /pkg/index.js with an import map, the same wasm package the plain page uses.
//   node demo/build-react.mjs        (demo/check.mjs runs it when the bundle is stale)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = path.join(ROOT, 'target/react-demo');
export const ENTRY = path.join(ROOT, 'demo/react-app.js');
export const SOURCES = [ENTRY, path.join(ROOT, 'demo/shared.js'), path.join(ROOT, 'bindings/react/index.js'), fileURLToPath(import.meta.url)];

export async function buildReactDemo() {
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    mode: 'production',
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    resolve: { alias: { '@aimdb/react': path.join(ROOT, 'bindings/react/index.js') } },
    build: {
      outDir: OUT_DIR,
      emptyOutDir: true,
      target: 'es2022',
      minify: true,
      sourcemap: false,
      copyPublicDir: false,
      modulePreload: false,
      rollupOptions: {
        input: ENTRY,
        external: ['@aimdb/wasm'],
        preserveEntrySignatures: 'strict',
        output: { format: 'es', entryFileNames: 'react-app.js', chunkFileNames: '[name].js' },
      },
    },
  });
  return path.join(OUT_DIR, 'react-app.js');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildReactDemo();
  console.log(`built ${path.relative(ROOT, out)}`);
}
