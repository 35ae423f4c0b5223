#!/usr/bin/env bash
# Makes the npm package's tarball: builds pkg/ (skipped when fresh), compiles the drop-in to dist/
# (scripts/dist.sh: tsc's ES modules + .d.ts, and the Workers/browser bundle dist/web.js), runs
# `npm pack` into a scratch directory, prints the tarball's contents and size, and checks that it
# holds what a host needs and nothing else (no TypeScript sources, tests, fixtures or Rust).
#   usage: scripts/pack.sh [--out DIR]   (default: a new directory under $TMPDIR)
# The last line of output is the tarball's absolute path, for scripts/host-check.sh.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

out=""
while (($#)); do
  case "$1" in
    --out)
      [[ $# -ge 2 ]] || die "--out needs a directory"
      out="$2"
      shift 2
      ;;
    -h | --help)
      echo "usage: scripts/pack.sh [--out DIR]"
      exit 0
      ;;
    *) die "unknown argument: $1 (usage: scripts/pack.sh [--out DIR])" ;;
  esac
done
[[ -n "$out" ]] || out="$(mktemp -d "${TMPDIR:-/tmp}/oauth-device-flow-pack.XXXXXX")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

bash "$ROOT/scripts/build.sh"

# One packing at a time per checkout: dist/ is shared.
exclusive pack
bash "$ROOT/scripts/dist.sh"

# --ignore-scripts: dist/ was just built; prepack would only compile it a second time.
tarball="$(npm pack --ignore-scripts --pack-destination "$out" --silent | tail -n 1)"
tarball="$out/$tarball"
[[ -f "$tarball" ]] || die "npm pack did not write $tarball"

listing="$(tar -tzf "$tarball" | sort)"
# dist/ holds whatever the drop-in imports (tsc follows its imports from the two entry files).
required=(
  package/package.json package/README.md package/LICENSE package/CHANGELOG.md
  package/dist/oauthDeviceFlow.js package/dist/oauthDeviceFlow.d.ts
  package/dist/tokenSession.js package/dist/tokenSession.d.ts
  package/dist/web.js package/dist/web.d.ts package/dist/wasm.js
  package/pkg/oauth_device_flow.js package/pkg/oauth_device_flow.d.ts package/pkg/oauth_device_flow_bg.wasm
  package/pkg/wasm_module.node.js package/pkg/wasm_module.workerd.js package/pkg/wasm_module.browser.js
  package/pkg/wasm_module.d.ts
  package/dist/redisStore.js package/dist/redisStore.d.ts package/dist/postgresStore.js package/dist/postgresStore.d.ts
)
for f in "${required[@]}"; do
  grep -qxF "$f" <<<"$listing" || die "the tarball lacks $f"
done
for f in dist/*.js dist/*.d.ts; do
  grep -qxF "package/$f" <<<"$listing" || die "the tarball lacks $f"
done
allowed='^package/(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist/[A-Za-z0-9_]+\.(js|d\.ts)|pkg/(oauth_device_flow\.(js|d\.ts)|oauth_device_flow_bg\.wasm|wasm_module\.((node|workerd|browser)\.js|d\.ts)))$'
unexpected="$(grep -vE "$allowed" <<<"$listing" || true)"
[[ -z "$unexpected" ]] || die "the tarball holds files a host does not need:
$unexpected"

header "tarball contents"
tar -tvzf "$tarball" | awk '{ printf "%9d  %s\n", $3, $6 }' | sort -k2
unpacked="$(tar -xzOf "$tarball" | wc -c)"
packed="$(stat -c %s "$tarball")"
awk -v p="$packed" -v u="$unpacked" -v n="$(wc -l <<<"$listing")" \
  'BEGIN { printf "pack: %d files, %d bytes (%.1f KiB) packed, %d bytes (%.1f KiB) unpacked\n", n, p, p / 1024, u, u / 1024 }'
echo "$tarball"
