#!/usr/bin/env bash
# wasm32 micro-benches of the SPMC buffers (part of make bench-browser): builds
# benches/browser/buffers/ (own workspace, target/anchor, release) for
# wasm32-unknown-unknown, wasm-bindgen --target web into target/bench-browser/buffers/,
# then runs benches/browser/wasm32.mjs in Node (table + target/bench-browser/wasm32.json).
# Not wasm-opt'ed: the code is what rustc/LLVM made of it, as in a Criterion run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

out=target/bench-browser/buffers
nice -n 10 cargo build --manifest-path benches/browser/buffers/Cargo.toml \
  --target wasm32-unknown-unknown --release --target-dir target/anchor
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name buffers --no-typescript \
  target/anchor/wasm32-unknown-unknown/release/aimdb_wasm_buffers_bench.wasm
echo '{"type":"module"}' > "$out/package.json"
node benches/browser/wasm32.mjs "$@"
