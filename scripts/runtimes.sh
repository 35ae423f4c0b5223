#!/usr/bin/env bash
# The runtime matrix: installs the pinned runtimes into tests/runtimes/node_modules when its
# lockfile changed (npm ci; a stamp skips it otherwise; never into the root node_modules, whose
# .bin a `node` binary would shadow), then runs tests/runtimes/matrix.test.ts: the packed tarball
# installed by name into a clean project, smoke and flow in Node 20.19/22.12/24, Deno, Bun, workerd
# (miniflare) and Chromium, the types of each entry, publint, attw and `npm publish --dry-run`.
# Prints the matrix and, last, one line "runtimes: passed: ...".
#   usage: scripts/runtimes.sh [--install-only]
# Environment: CHROMIUM_PATH=/path/to/chrome instead of Debian's /usr/bin/chromium.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

START="$(now)"
MATRIX_DIR="$ROOT/tests/runtimes"
STAMP="$MATRIX_DIR/node_modules/.matrix-stamp"
install_only=0
case "${1:-}" in
  "") ;;
  --install-only) install_only=1 ;;
  *) die "unknown argument: $1 (usage: scripts/runtimes.sh [--install-only])" ;;
esac

key() { cat "$MATRIX_DIR/package.json" "$MATRIX_DIR/package-lock.json" | sha256sum | cut -d' ' -f1; }
(
  exclusive runtimes-install
  if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(key)" ]]; then
    echo "runtimes: tests/runtimes/node_modules matches its lockfile"
  else
    mkdir -p "$ROOT/target"
    log="$ROOT/target/runtimes-install.log"
    echo "runtimes: installing the pinned runtimes into tests/runtimes/node_modules (npm ci, about 1 min; log: ${log#"$ROOT"/})"
    # npm warns that the runtimes' install scripts are not approved: they are not needed, the
    # binaries ship inside the packages.
    (cd "$MATRIX_DIR" && npm ci --no-audit --no-fund) >"$log" 2>&1 || {
      tail -n 20 "$log" >&2
      die "npm ci in tests/runtimes failed (log: $log)"
    }
    key >"$STAMP"
  fi
)
((install_only)) && exit 0

if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  [[ -x "$CHROMIUM_PATH" ]] || die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file"
else
  apt_ensure /usr/bin/chromium chromium
fi
[[ -x node_modules/.bin/tsx ]] || die "node_modules/.bin/tsx is missing: run scripts/setup.sh first"

table="$(mktemp "${TMPDIR:-/tmp}/oauth-runtime-matrix-table.XXXXXX")"
trap 'rm -f "$table"' EXIT
rc=0
MATRIX_TABLE="$table" node --disable-warning=ExperimentalWarning --import tsx --test --test-reporter=spec \
  tests/runtimes/matrix.test.ts || rc=$?
echo
cat "$table"
((rc == 0)) || die "the runtime matrix failed (above)"
echo "runtimes: passed: $(grep -c '^  ' "$table") runtimes, smoke and flow each, types, publint, attw, publish --dry-run, in $(elapsed "$START")"
