#!/usr/bin/env bash
# Runs the demo (demo/main.ts) against the freshly built pkg/: setup, build, then
#   node --import tsx demo/main.ts [ARGS...]
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DEMO="demo/main.ts"

bash "$ROOT/scripts/setup.sh"
export OAUTH_SETUP_DONE=1
bash "$ROOT/scripts/build.sh"

[[ -f "$DEMO" ]] || die "$DEMO does not exist yet: there is no demo to run"

echo "demo: node --import tsx $DEMO $*"
exec node --import tsx "$DEMO" "$@"
