// Shortens the names the wasm module and its wasm-bindgen glue use to talk to each other
// (build-pkg.sh): wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` and the
// exports after the Rust items, and both files carry every name (the hashes do not
// compress). binaryen's --minify-imports-and-exports-and-modules renames them in the
// module and prints the mapping; this script applies the same mapping to the glue: the
// import module's key, each key of the import object, and every `wasm.<export>`.
// Anything the glue does not spell the way this expects stops the build.
//
//   node scripts/minify-names.mjs WASM GLUE_JS   (before the JS is minified)
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const [wasmFile, glueFile] = process.argv.slice(2);
const fail = (msg) => {
  console.error(`minify-names: ${msg}`);
  process.exit(1);
};
const features = ['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'reference-types', 'multivalue', 'mutable-globals'];
const printed = execFileSync(
  'wasm-opt',
  ['--minify-imports-and-exports-and-modules', ...features.map((f) => `--enable-${f}`), wasmFile, '-o', wasmFile],
  { encoding: 'utf8' },
);
const map = JSON.parse(printed.slice(printed.indexOf('{')));
const module = new WebAssembly.Module(fs.readFileSync(wasmFile));
let glue = fs.readFileSync(glueFile, 'utf8');

// Imports: `const import0 = { __proto__: null, NAME: function(...) {...}, ... }`, handed to
// the instance as `{ __proto__: null, "<module>": import0 }`.
const oldModules = new Set(map.imports.map(([m]) => m));
const newModules = new Set(WebAssembly.Module.imports(module).map((i) => i.module));
if (oldModules.size !== 1 || newModules.size !== 1) fail(`expected one import module, got ${[...oldModules]} -> ${[...newModules]}`);
const moduleKey = `${JSON.stringify([...oldModules][0])}: import0`;
if (glue.split(moduleKey).length !== 2) fail(`the glue does not hand over its imports as ${moduleKey}`);
glue = glue.replace(moduleKey, `${JSON.stringify([...newModules][0])}: import0`);
const start = glue.indexOf('const import0 = {');
const end = glue.indexOf(moduleKey.replace(/^"[^"]*"/, JSON.stringify([...newModules][0])));
if (start < 0 || end < start) fail('no `const import0 = {` object before the import hand-over');
let imports = glue.slice(start, end);
for (const [, from, to] of map.imports) {
  const key = new RegExp(`^(\\s+)${from}: function\\b`, 'm');
  if (!key.test(imports)) fail(`import ${from} is not a key of import0`);
  imports = imports.replace(key, `$1${to}: function`);
}
glue = glue.slice(0, start) + imports + glue.slice(end);

// Exports: every use is `wasm.NAME`.
const exports = new Map(map.exports);
const seen = new Set();
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (whole, name) => {
  const to = exports.get(name);
  if (to === undefined) fail(`the glue uses wasm.${name}, which the module does not export`);
  seen.add(name);
  return `wasm.${to}`;
});
const newExports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
for (const to of exports.values()) if (!newExports.has(to)) fail(`export ${to} is not in the module`);
fs.writeFileSync(glueFile, glue);
console.log(`minify-names: ${map.imports.length} imports, ${seen.size} of ${exports.size} exports renamed`);
