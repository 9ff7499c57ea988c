#!/usr/bin/env bash
# `make package`: writes the npm tarballs of @aimdb/wasm (from pkg/, built by `make wasm`) and
# @aimdb/react (bindings/react/) into target/npm/, each with its README:
#   target/npm/aimdb-wasm-<version>.tgz  target/npm/aimdb-react-<version>.tgz
# Install both with one command (the README's Install section):
#   npm i ./target/npm/aimdb-wasm-0.1.0.tgz ./target/npm/aimdb-react-0.1.0.tgz
# Checks that each tarball holds every file the package needs (the wrapper's module list is
# scripts/wrapper-files.sh), so a module added there but missing from `files` fails here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wrapper-files.sh
export PATH="$PWD/node_modules/.bin:$PATH"

[ -f pkg/index.js ] && [ -f pkg/aimdb_wasm_bindings_bg.wasm ] || { echo "pkg/ not built: run 'make wasm' first" >&2; exit 1; }
out=target/npm
stage="$out/stage"
rm -rf "$stage" "$out"/aimdb-*.tgz && mkdir -p "$stage/wasm" "$stage/react"
cp -r pkg/. "$stage/wasm/"
cp bindings/npm/README.md bindings/npm/package.json "$stage/wasm/"
cp bindings/react/package.json bindings/react/index.js bindings/react/index.d.ts bindings/react/README.md "$stage/react/"

# `npm pack` prints the tarball's name last; --json would also list its files.
pack() { npm pack --silent --pack-destination "$out" "$1" | tail -n 1; }
wasm_tgz=$(pack "$stage/wasm")
react_tgz=$(pack "$stage/react")

need() { # TARBALL FILE...: every FILE is in the tarball (under package/)
  local tgz=$1; shift
  local listing; listing=$(tar tzf "$out/$tgz")
  for f in "$@"; do
    grep -qx "package/$f" <<<"$listing" || { echo "package.sh: $tgz lacks $f (add it to \"files\" in its package.json)" >&2; exit 1; }
  done
}
need "$wasm_tgz" package.json README.md index.d.ts aimdb_wasm_bindings.js aimdb_wasm_bindings_bg.wasm "${WRAPPER_JS[@]}"
need "$react_tgz" package.json README.md index.js index.d.ts
rm -rf "$stage"
echo "target/npm: $wasm_tgz ($(du -k "$out/$wasm_tgz" | cut -f1) KB), $react_tgz ($(du -k "$out/$react_tgz" | cut -f1) KB)"
echo "install both: npm i $PWD/$out/$wasm_tgz $PWD/$out/$react_tgz"
