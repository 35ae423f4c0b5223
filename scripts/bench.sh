#!/usr/bin/env bash
# `npm run bench`: setup and build (both skip what is already done), then the benchmark of the
# WebAssembly module beside the TypeScript baseline, with the cold start in every runtime of the
# matrix (scripts/runtimes.sh). `--quick` checks only the size ceiling and flat wasm memory (the
# test command runs that).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if [[ "${OAUTH_SETUP_DONE:-}" != 1 ]]; then
  bash "$ROOT/scripts/setup.sh"
  export OAUTH_SETUP_DONE=1
  bash "$ROOT/scripts/build.sh"
fi
# The full run also measures the cold start in every runtime of the matrix: install them first.
[[ " $* " == *" --quick "* ]] || bash "$ROOT/scripts/runtimes.sh" --install-only
exec node --expose-gc --import tsx scripts/bench.ts "$@"
