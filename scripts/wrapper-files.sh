# The hand-written JS modules of @aimdb/wasm (bindings/npm/), as shipped in pkg/:
# sourced by build-pkg.sh (copies them) and size.sh (counts them).
WRAPPER_JS=(index.js runtime.js values.js db.js bridge.js ingest.js persist.js worker-protocol.js worker-db.js worker-bridge.js worker.js)
