#!/usr/bin/env bash
# Idempotent developer/CI setup for aimdb-wasm.
#   - wasm32-unknown-unknown rustup target
#   - headless Chromium + chromedriver (Debian packages)
#   - wasm-bindgen-cli matching the wasm-bindgen version in Cargo.lock
#   - npm dev tools (binaryen/wasm-opt, playwright-core, typescript) via `npm ci`
# Each step checks first and skips when already satisfied.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export PATH="$HOME/.cargo/bin:$PATH"

log()  { printf '[setup] %s\n' "$*"; }
die()  { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly if we are root, else via sudo if available.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (not root and no sudo)"
    fi
}

command -v rustup >/dev/null 2>&1 || die "rustup not found (looked on PATH and in \$HOME/.cargo/bin)"
command -v cargo  >/dev/null 2>&1 || die "cargo not found"

# --- 1. Rust wasm target -----------------------------------------------------
TARGET=wasm32-unknown-unknown
if rustup target list --installed | grep -qx "$TARGET"; then
    log "rustup target $TARGET: present, skipping"
else
    log "rustup target add $TARGET"
    rustup target add "$TARGET"
fi

# --- 2. Chromium + chromedriver ----------------------------------------------
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    log "chromium + chromedriver: present ($(command -v chromium), $(command -v chromedriver)), skipping"
else
    log "installing chromium + chromium-driver via apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
    command -v chromium >/dev/null 2>&1 || die "chromium still not on PATH after install"
    command -v chromedriver >/dev/null 2>&1 || die "chromedriver still not on PATH after install"
fi

# --- 3. wasm-bindgen-cli (version must equal Cargo.lock's wasm-bindgen) -------
[ -f Cargo.lock ] || die "Cargo.lock not found in $ROOT"
# Walk [[package]] blocks; print the version of the block whose name is exactly "wasm-bindgen".
WB_VERSION="$(awk '
    /^\[\[package\]\]/      { name = ""; next }
    /^name[[:space:]]*=/    { v = $0; sub(/^name[[:space:]]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); name = v; next }
    /^version[[:space:]]*=/ && name == "wasm-bindgen" {
                              v = $0; sub(/^version[[:space:]]*=[[:space:]]*"/, "", v); sub(/".*$/, "", v); print v; exit }
' Cargo.lock)"
[ -n "$WB_VERSION" ] || die "could not find the wasm-bindgen package version in Cargo.lock"

installed_wb=""
if command -v wasm-bindgen >/dev/null 2>&1; then
    # prints e.g. "wasm-bindgen 0.2.130"
    installed_wb="$(wasm-bindgen --version 2>/dev/null | awk '{print $2; exit}')" || installed_wb=""
fi
if [ "$installed_wb" = "$WB_VERSION" ] && command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
    log "wasm-bindgen-cli $WB_VERSION: present, skipping"
else
    log "cargo install -f wasm-bindgen-cli --version $WB_VERSION (found: ${installed_wb:-none}; takes a few minutes)"
    # No --locked: a dependency version pinned in wasm-bindgen-cli's lockfile is missing from the registry.
    cargo install -f wasm-bindgen-cli --version "$WB_VERSION"
fi

# --- 4. npm dev dependencies --------------------------------------------------
command -v npm >/dev/null 2>&1 || die "npm not found"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci --no-audit --no-fund"
    npm ci --no-audit --no-fund
else
    log "node_modules: up to date with package-lock.json, skipping"
fi

log "done"
