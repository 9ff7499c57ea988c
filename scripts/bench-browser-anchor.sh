#!/usr/bin/env bash
# Builds the anchor of the browser benchmark (make bench-browser): the published
# aimdb-wasm-adapter 0.2.0 with a small wrapper registering a temperature contract
# (benches/browser/anchor/, its own workspace and Cargo.lock), the way our package is
# built (scripts/build-pkg.sh): release (opt-level z, lto) -> wasm-bindgen --target web ->
# npm binaryen wasm-opt -Oz. Cargo builds into target/anchor (our target/ is untouched);
# the module lands in target/bench-browser/anchor/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

out=target/bench-browser/anchor
wasm=target/anchor/wasm32-unknown-unknown/release/aimdb_wasm_anchor.wasm
# The machine is shared (2 cores): the anchor is not what anyone waits for.
nice -n 10 cargo build --manifest-path benches/browser/anchor/Cargo.toml --locked \
  --target wasm32-unknown-unknown --release --target-dir target/anchor
# Skip the rest when the module is older than the output (a warm `make test`).
if [ -f "$out/aimdb_wasm_anchor_bg.wasm" ] && [ "$out/aimdb_wasm_anchor_bg.wasm" -nt "$wasm" ]; then
  echo "anchor up to date: $out"
  exit 0
fi
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name aimdb_wasm_anchor \
  --remove-name-section --remove-producers-section --no-typescript "$wasm"
# Debian's binaryen (108) produces modules that fail to load; use the npm one.
node_modules/.bin/wasm-opt -Oz -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-reference-types --enable-multivalue --enable-mutable-globals \
  "$out/aimdb_wasm_anchor_bg.wasm" -o "$out/aimdb_wasm_anchor_bg.wasm"
# As for our glue (build-pkg.sh): the JSDoc blocks of the Rust doc comments are dropped.
perl -0pi -e 's{^[ \t]*/\*\*\n(?:[ \t]*\*(?:[ \t][^\n]*)?\n)*?[ \t]*\*/\n}{}gm' "$out/aimdb_wasm_anchor.js"
echo "anchor built: $(ls "$out" | tr '\n' ' ')"
