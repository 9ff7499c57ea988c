// Minifies the package's JS files in place (build-pkg.sh): the wasm-bindgen glue and the
// hand-written wrapper modules, with the oxc minifier that rolldown (a devDependency, via
// vite) ships. ES modules stay ES modules: imports, exports and their names are kept, and
// so are function and class names (`WsBridge.name`, stack traces, `AimDbError`); comments
// go. The readable sources are bindings/npm/*.js in the repository.
//
//   node scripts/minify-js.mjs FILE...
import fs from 'node:fs';
import { minifySync } from 'rolldown/utils';

const keepNames = { function: true, class: true };
for (const file of process.argv.slice(2)) {
  const src = fs.readFileSync(file, 'utf8');
  const out = minifySync(file, src, {
    module: true,
    compress: { target: 'es2022', keepNames },
    mangle: { toplevel: true, keepNames },
    codegen: { removeWhitespace: true },
  });
  if (out.errors.length) {
    console.error(`minify-js: ${file}:`, out.errors.map((e) => e.message ?? String(e)).join('\n'));
    process.exit(1);
  }
  fs.writeFileSync(file, out.code);
}
