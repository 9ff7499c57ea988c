#!/usr/bin/env bash
# Builds the npm package @aimdb/wasm into pkg/:
#   cargo (release, opt-level z, lto) -> wasm-bindgen --target web -> wasm-opt -Os (npm binaryen)
#   + the hand-written wrapper (bindings/npm/*.js, index.d.ts, package.json); then the names
#   between wasm and glue are shortened and the JS is minified (scripts/minify-*.mjs).
# `build-pkg.sh --lean` builds the package without WsBridge (no `bridge` feature) into
# target/pkg-lean/ instead, for `make size`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The wrapper's modules (index.js re-exports the others); scripts/size.sh counts the same list.
source scripts/wrapper-files.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

out=pkg
features=()
if [ "${1:-}" = "--lean" ]; then
  out=target/pkg-lean
  features=(--no-default-features)
fi
# Same target dir for both: only this crate and the link differ between the two builds.
cargo build -p aimdb-wasm-bindings --target wasm32-unknown-unknown --release "${features[@]}"
# Size guard: core's float formatting (flt2dec, ~10 KB gz) and parsing (dec2flt) came in three
# times through innocent-looking code (`f64` Display, `str::parse::<f64>`, `f64::clamp` with runtime
# bounds); the build fails when either is linked again (the function names are still in the
# module here, before wasm-bindgen removes them). The one float formatter is json::f32_number.
floats=$(grep -aoE '(flt2dec|dec2flt|3fmt5float)[A-Za-z0-9_]{0,60}' target/wasm32-unknown-unknown/release/aimdb_wasm_bindings.wasm || true)
if [ -n "$floats" ]; then
  sort -u <<<"$floats" | head -5 >&2
  echo "build-pkg: core float formatting/parsing is linked into the wasm (mangled names above): find the" >&2
  echo "  caller with 'twiggy paths target/wasm32-unknown-unknown/release/aimdb_wasm_bindings.wasm <name>'" >&2
  exit 1
fi
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name aimdb_wasm_bindings \
  --remove-name-section --remove-producers-section --no-typescript \
  target/wasm32-unknown-unknown/release/aimdb_wasm_bindings.wasm
# Debian's binaryen (108) produces modules that fail to load; use the npm one.
# Passes chosen by measurement (gzipped size of this module, wasm-opt 132): -Os beats -Oz once
# gzipped (-Oz makes a smaller raw module that compresses worse), --flatten --rereloop before it
# finds ~1 KB more, -Os twice still finds some after the first round's inlining, and
# --low-memory-unused (rustc puts the 1 MB stack first, so nothing lives below address 1024) lets
# constant offsets fold into loads and stores. 183.0 -> 180.1 KB gzipped against -Oz -Oz.
node_modules/.bin/wasm-opt --low-memory-unused --flatten --rereloop -Os -Os --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-reference-types --enable-multivalue --enable-mutable-globals \
  "$out/aimdb_wasm_bindings_bg.wasm" -o "$out/aimdb_wasm_bindings_bg.wasm"
cp bindings/npm/package.json bindings/npm/index.d.ts "${WRAPPER_JS[@]/#/bindings/npm/}" "$out/"
# Size: wasm-bindgen's import/export names (hash-suffixed, in both files) shortened, then
# the glue and the wrapper minified (names of exports, functions and classes kept). The
# readable wrapper is bindings/npm/; the package's types are index.d.ts.
node scripts/minify-names.mjs "$out/aimdb_wasm_bindings_bg.wasm" "$out/aimdb_wasm_bindings.js"
node scripts/minify-js.mjs "$out/aimdb_wasm_bindings.js" "${WRAPPER_JS[@]/#/$out/}"
echo "pkg/ built: $(ls "$out" | tr '\n' ' ')"
