#!/usr/bin/env bash
# Prints raw and gzipped sizes of the npm package's wasm and JS (make size): the package
# as shipped (pkg/, with WsBridge) and the database facade alone (target/pkg-lean/, built
# without the `bridge` feature). Budget of the facade with the three contracts: 100 KB gzipped.
# `size.sh DIR LABEL [FILE...]` reports FILEs (names in DIR; default: the package files) only: the browser bench
# (benches/browser/run.mjs) sizes the published adapter's build with it.
# Never fails: a missing file is reported as such, an OVER line says by how much the budget is missed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/wrapper-files.sh
report() {
  local dir=$1 label=$2 total_raw=0 total_gz=0
  shift 2
  local files=("$@")
  [ ${#files[@]} -gt 0 ] || files=(aimdb_wasm_bindings_bg.wasm aimdb_wasm_bindings.js "${WRAPPER_JS[@]}")
  echo "== $label ($dir)"
  printf '%-32s %10s %10s\n' file raw gzip
  for f in "${files[@]/#/$dir/}"; do
    if [ ! -f "$f" ]; then printf '%-32s %10s %10s\n' "$(basename "$f")" missing missing; continue; fi
    raw=$(wc -c < "$f"); gz=$(gzip -9 -c "$f" | wc -c)
    total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz))
    printf '%-32s %10d %10d\n' "$(basename "$f")" "$raw" "$gz"
  done
  printf '%-32s %10d %10d   (budget: 102400 gzipped)\n' total "$total_raw" "$total_gz"
  if [ "$total_gz" -gt 102400 ]; then echo "   OVER the 100 KB gzipped budget by $((total_gz - 102400)) bytes"; fi
}
if [ $# -gt 0 ]; then report "$@"; exit 0; fi
report pkg "@aimdb/wasm with WsBridge"
[ -d target/pkg-lean ] && report target/pkg-lean "@aimdb/wasm without the bridge feature"
exit 0
