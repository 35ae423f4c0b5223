#!/usr/bin/env bash
# Builds the WebAssembly package into pkg/ (web target: ES module glue with `initSync` + .d.ts):
#   wasm-pack build --release --target web --out-dir pkg --out-name oauth_device_flow
# with node_modules/.bin first on PATH so that wasm-opt is the npm `binaryen` one, then writes the
# per-runtime loaders of the .wasm next to it (scripts/wasm-loaders.mjs; package.json "imports"
# picks one by condition as `#wasm-module`, and js/wasm.ts instantiates it).
# Skips the wasm-pack run when pkg/ is newer than src/, Cargo.toml and Cargo.lock and was built for
# the same target; --force rebuilds.
# Runs scripts/setup.sh first unless the caller already did (OAUTH_SETUP_DONE=1).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

force=0
for arg in "$@"; do
  case "$arg" in
    --force | -f) force=1 ;;
    -h | --help)
      echo "usage: scripts/build.sh [--force]"
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: scripts/build.sh [--force])" ;;
  esac
done

if [[ "${OAUTH_SETUP_DONE:-}" != 1 ]]; then
  bash "$ROOT/scripts/setup.sh"
  export OAUTH_SETUP_DONE=1
fi

BUILD_STAMP="pkg/.build-stamp"
TARGET="web"
PKG_FILES=("$WASM_FILE" "pkg/$OUT_NAME.js" "pkg/$OUT_NAME.d.ts")

# Prints the first input newer than the last successful build, or "" when pkg/ is up to date.
stale_reason() {
  local f
  for f in "$BUILD_STAMP" "${PKG_FILES[@]}"; do
    [[ -f "$f" ]] || { echo "$f is missing"; return; }
  done
  [[ "$(cat "$BUILD_STAMP")" == "target=$TARGET" ]] || { echo "pkg/ was built for another target"; return; }
  local inputs=(src Cargo.toml Cargo.lock)
  [[ -e build.rs ]] && inputs+=(build.rs)
  f="$(find "${inputs[@]}" -newer "$BUILD_STAMP" -print -quit 2>/dev/null || true)"
  [[ -z "$f" ]] || echo "$f changed"
}

print_size() {
  local raw gz
  raw="$(stat -c %s "$WASM_FILE")"
  gz="$(gzip -9 -c "$WASM_FILE" | wc -c)"
  awk -v f="$WASM_FILE" -v r="$raw" -v g="$gz" \
    'BEGIN { printf "build: %s: %d bytes (%.1f KiB) raw, %d bytes (%.1f KiB) gzip -9\n", f, r, r / 1024, g, g / 1024 }'
}

# One build at a time per checkout: two wasm-pack runs sharing pkg/ trip over each other's
# temporary *.wasm-opt.wasm files. The second one waits, then usually finds pkg/ fresh.
exclusive build

reason="$(stale_reason)"
if ((force == 0)) && [[ -z "$reason" ]]; then
  echo "build: skipped (pkg/ is newer than src/, Cargo.toml and Cargo.lock; --force rebuilds)"
  node "$ROOT/scripts/wasm-loaders.mjs"
  print_size
  exit 0
fi
((force)) && reason="--force"

command -v wasm-opt >/dev/null || die "wasm-opt is not on PATH (run scripts/setup.sh: it comes from the npm binaryen package)"
[[ "$(command -v wasm-opt)" == "$ROOT/node_modules/.bin/wasm-opt" ]] ||
  die "wasm-opt resolves to $(command -v wasm-opt), not node_modules/.bin/wasm-opt"

echo "build: building pkg/ ($reason)"
start="$(now)"
start_epoch="$(date +%s.%N)"
rm -f "$BUILD_STAMP" pkg/*.wasm-opt.wasm # leftovers of an interrupted wasm-opt run break the next one
wasm-pack build --release --target "$TARGET" --out-dir pkg --out-name "$OUT_NAME"

for f in "${PKG_FILES[@]}"; do
  [[ -f "$f" ]] || die "wasm-pack finished but $f is missing"
done
# pkg/ is ignored by the repository's .gitignore already; wasm-pack's own "*" .gitignore only
# hides pkg/ from tools that read .gitignore files (ripgrep, editors). wasm-pack's package.json
# goes too: pkg/ is part of this package, not one of its own (the root's "type": "module" makes the
# glue and the loaders ES modules, and the root's "imports" map applies to them).
rm -f pkg/.gitignore pkg/package.json
node "$ROOT/scripts/wasm-loaders.mjs"
# Stamp with the build's start time, so a source edited during the build triggers the next one.
echo "target=$TARGET" >"$BUILD_STAMP"
touch -d "@$start_epoch" "$BUILD_STAMP"

echo "build: done in $(elapsed "$start")"
print_size
