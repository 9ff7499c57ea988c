# Build / test entry points for aimdb-wasm (GNU make).
#   make setup         install/check toolchain pieces (idempotent; scripts/setup.sh)
#   make test          setup, then native tests, then headless-Chromium browser tests
#   make test-native   cargo test --workspace (host target)
#   make test-browser  cargo test on wasm32-unknown-unknown via wasm-bindgen-test-runner
#   make test-react    @aimdb/react: tsc typed usage + Vitest on the real wasm (after make wasm)
#   make package       npm tarballs of @aimdb/wasm and @aimdb/react in target/npm/ (npm i both)
#   make test-node     @aimdb/wasm in Node 20 (node --test tests/node/; after make wasm)
#   make test-types    type tests of the declarations (tests/types) + no undocumented .d.ts declaration
#   make test-example  the Vitest example of an app test on a 'manual' db (examples/vitest/)
#   make test-package  make package's tarballs installed into a scratch Vite + React + TS app,
#                      tsc, vite build, checked in headless Chromium (tests/install/)
#   make bench         native benchmarks (aimdb-wasm-benches)
#   make bench-browser the browser benchmark: pkg/ vs the published aimdb-wasm-adapter 0.2.0 in
#                      headless Chromium, ratios table + target/bench-browser/results.json;
#                      then the flood (issue 11: 100k WebSocket frames into a main-thread vs a
#                      Worker-mode db: page frame times, long tasks, items lost; flood.json),
#                      then wasm32 buffer micro-benches in Node (target/bench-browser/wasm32.json)
#   make bench-browser-smoke  the same with a few hundred items, one run (part of make test)
#   make clippy        clippy, native and wasm32, warnings are errors
#   make demo          the live dashboard: AimDB server + demo page on 127.0.0.1 (Ctrl-C stops)
#   make demo-check    the demo, headless: Playwright checks it and saves target/demo.png

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CARGO_TERM_COLOR := never

WASM_TARGET := wasm32-unknown-unknown
BROWSER_CRATES := -p aimdb-wasm -p aimdb-wasm-executors -p aimdb-wasm-bindings

.PHONY: setup test test-native test-browser test-js test-react test-node test-package test-types test-example package wasm size bench bench-anchor bench-browser bench-browser-smoke clippy demo demo-check

setup:
	./scripts/setup.sh

# Sub-makes keep the order native -> browser even under `make -j`.
test: setup
	$(MAKE) --no-print-directory test-native
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-js
	$(MAKE) --no-print-directory test-node
	$(MAKE) --no-print-directory test-types
	$(MAKE) --no-print-directory test-example
	$(MAKE) --no-print-directory test-package
	$(MAKE) --no-print-directory bench-browser-smoke
	$(MAKE) --no-print-directory test-react
	$(MAKE) --no-print-directory demo-check

test-native:
	cargo test --workspace

# The runner (.cargo/config.toml) is wasm-bindgen-test-runner; `run_in_browser` tests
# drive headless Chromium through chromedriver (flags in webdriver.json).
test-browser:
	CHROMEDRIVER="$${CHROMEDRIVER:-$$(command -v chromedriver || true)}"; \
	if [ -z "$$CHROMEDRIVER" ]; then echo "chromedriver not found on PATH; run 'make setup'" >&2; exit 1; fi; \
	export CHROMEDRIVER; \
	WASM_BINDGEN_TEST_TIMEOUT=120 cargo test --target $(WASM_TARGET) $(BROWSER_CRATES)

# The npm package @aimdb/wasm in pkg/ (release build, wasm-bindgen --target web, wasm-opt -Os).
wasm:
	./scripts/build-pkg.sh

size: wasm
	./scripts/build-pkg.sh --lean
	./scripts/size.sh

# The package as a page sees it: tsc against a typed usage file, then Playwright (system
# Chromium) loading pkg/ over http on 127.0.0.1.
test-js: wasm
	tsc --noEmit -p bindings/npm/tsconfig.json
	node tests/js/run.mjs

# The npm tarballs (scripts/package.sh): target/npm/aimdb-wasm-<v>.tgz, aimdb-react-<v>.tgz.
package: wasm
	./scripts/package.sh

PKG_BUILT = @[ -f pkg/index.js ] && [ -f pkg/aimdb_wasm_bindings_bg.wasm ] || { echo "pkg/ not built: run 'make wasm' first" >&2; exit 1; }

# @aimdb/wasm in Node 20 (init forms, exit when idle, ...): one process per file. Uses pkg/ as
# built (`make wasm`; `make test` built it in test-js).
test-node:
	$(PKG_BUILT)
	node --test tests/node/

# The declarations as an app sees them: type tests (every @ts-expect-error line must be an
# error), then scripts/check-docs.mjs: JSDoc on every exported declaration, option (@default),
# call (@throws) and main call (@example) of both packages; fails above zero undocumented.
test-types:
	tsc --noEmit -p tests/types
	tsc --noEmit -p tests/types/register
	node scripts/check-docs.mjs

# The README's Vitest example (examples/vitest/): an app test on tick: 'manual', deterministic.
test-example:
	$(PKG_BUILT)
	vitest run --config examples/vitest/vitest.config.js

# The install path (tests/install/run.mjs): the tarballs of pkg/ as built, into a scratch app.
test-package:
	$(PKG_BUILT)
	./scripts/package.sh
	node tests/install/run.mjs

# @aimdb/react (bindings/react/): tsc against its typed usage file, then Vitest (happy-dom) with
# the hooks on the real wasm module in pkg/ (`make wasm` first; `make test` has built it in test-js).
test-react:
	@[ -f pkg/index.js ] && [ -f pkg/aimdb_wasm_bindings_bg.wasm ] || { echo "pkg/ not built: run 'make wasm' first" >&2; exit 1; }
	tsc --noEmit -p bindings/react/tsconfig.json
	vitest run --config bindings/react/vitest.config.js

# Criterion (native): our buffers vs the published aimdb-wasm-adapter 0.2.0 and a raw
# VecDeque; our ticked executor vs a bare LocalExecutor::try_tick loop. ~4 min on 2 cores.
# Then the ratio table and goals (benches/report.py reads target/criterion).
bench:
	cargo bench -p aimdb-wasm-benches -- --warm-up-time 1 --measurement-time 2
	python3 benches/report.py

# The browser benchmark of issue 9 (benches/browser/): builds pkg/ and the anchor (the published
# aimdb-wasm-adapter 0.2.0 + a small wrapper registering a temperature contract, its own
# workspace, built into target/anchor), then runs both in one headless Chromium page: set()
# cost, set -> delivery, fan-out, get() after set(), bridge ingest, gzipped size. ~1 min.
# Then the wasm32 micro-benches of the SPMC buffers in Node (benches/browser/buffers/).
bench-browser: wasm bench-anchor
	node benches/browser/run.mjs
	node benches/browser/flood.mjs
	./scripts/bench-browser-buffers.sh

bench-anchor:
	./scripts/bench-browser-anchor.sh

# The benchmark's smoke (a few hundred items per scenario; asserts only that each ran and gave
# a number for both packages; the flood with 2000 frames, every item delivered in order or
# reported as lag, in both modes). Uses pkg/ as built (`make wasm`; `make test` built it in test-js).
bench-browser-smoke: bench-anchor
	@[ -f pkg/index.js ] && [ -f pkg/aimdb_wasm_bindings_bg.wasm ] || { echo "pkg/ not built: run 'make wasm' first" >&2; exit 1; }
	node benches/browser/run.mjs --smoke
	node benches/browser/flood.mjs --smoke

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --workspace --all-targets --target $(WASM_TARGET) -- -D warnings

# The live dashboard (demo/): builds and starts the AimDB server (tests/server), serves the
# repository root on 127.0.0.1, prints the page URL and runs until Ctrl-C.
demo: setup wasm
	node demo/serve.mjs

# The same, headless: Playwright opens the page (server mode and ?local), checks live data,
# a moving chart, the burst, setpoint writes and offline queueing; screenshot target/demo.png.
demo-check: wasm
	node demo/check.mjs
