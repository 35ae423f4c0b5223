#!/usr/bin/env bash
# Compiles the npm package's JavaScript into dist/ (run by scripts/pack.sh and by `npm pack` /
# `npm publish` as prepack; pkg/ must be built): tsc over tsconfig.build.json (ES modules + .d.ts),
# then the Workers/browser entry bundled into dist/web.js (scripts/bundleWeb.ts).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[[ -f "$WASM_FILE" ]] || die "$WASM_FILE is missing: run scripts/build.sh first"
rm -rf dist
tsc -p tsconfig.build.json
node --import tsx scripts/bundleWeb.ts
