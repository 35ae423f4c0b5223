#!/usr/bin/env bash
# Proves the npm package drops into a host, the way a host lives it:
#   1. packs the tarball (scripts/pack.sh);
#   2. in a clean scratch directory, installs it and uses it from TypeScript (tsx), plain .mjs and
#      CommonJS require, and runs `tsc --strict --noEmit` (nodenext) over tests/ts/host.typecheck.ts
#      (every export and type, its import pointed at the package) and the smoke files;
#   3. copies the host fixture tests/host/packages/llm-provider to scratch, runs its tests and tsc
#      with its original src/oauthDeviceFlow.ts (the TypeScript baseline), then swaps that file for
#      a one-line re-export of the installed package, removes the baseline from scratch, and runs
#      the same tests and tsc again: both must pass the same number of tests.
# Steps 2 and 3 run with a PATH holding node and npm but no Rust tool (cargo, rustc, wasm-pack...),
# and without the repository's node_modules: the scratch directories install their own from the
# tarball and the registry (npm install --no-audit --no-fund).
#   usage: scripts/host-check.sh   (HOST_CHECK_KEEP=1 keeps the scratch directory)
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HOST_START="$(now)"
FIXTURE="tests/host/packages/llm-provider"
SWAP_LINE='export * from "oauth-device-flow-wasm";'

scratch="$(mktemp -d "${TMPDIR:-/tmp}/oauth-device-flow-host.XXXXXX")"
if [[ "${HOST_CHECK_KEEP:-}" == 1 ]]; then
  trap 'echo "host-check: scratch kept in $scratch"' EXIT
else
  trap 'rm -rf "$scratch"' EXIT
fi

header "host-check: pack"
bash "$ROOT/scripts/pack.sh" --out "$scratch/pack" | tee "$scratch/pack.log"
tarball="$(tail -n 1 "$scratch/pack.log")"
[[ -f "$tarball" ]] || die "scripts/pack.sh did not print a tarball path"

# The environment of a machine that never had Rust: PATH without any directory holding a Rust tool
# or the repository's own node_modules/.bin, and no variable an outer `npm test` or cargo set.
clean_path=""
IFS=: read -ra path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [[ -n "$dir" && -d "$dir" && "$dir" != "$ROOT"/* ]] || continue
  for tool in cargo rustc rustup wasm-pack wasm-bindgen; do
    [[ -e "$dir/$tool" ]] && continue 2
  done
  [[ ":$clean_path:" == *":$dir:"* ]] || clean_path+="${clean_path:+:}$dir"
done
unset_vars=()
while IFS= read -r var; do
  case "$var" in
    npm_* | INIT_CWD | CARGO* | RUSTUP* | RUSTC* | WASM_*) unset_vars+=(-u "$var") ;;
  esac
done < <(compgen -e)
clean() { env "${unset_vars[@]}" PATH="$clean_path" "$@"; }

for tool in cargo rustc rustup wasm-pack wasm-bindgen tsc tsx; do
  if found="$(clean bash -c "command -v $tool")"; then
    die "the clean PATH still finds $tool at $found"
  fi
done
clean bash -c 'command -v node >/dev/null && command -v npm >/dev/null' || die "the clean PATH lacks node or npm"
echo "host-check: clean PATH=$clean_path (node $(clean node --version), npm $(clean npm --version), no cargo/rustc/wasm-pack)"

dev_version() { node -p "require('$ROOT/package.json').devDependencies['$1']"; }
tools=("typescript@$(dev_version typescript)" "tsx@$(dev_version tsx)" "@types/node@$(dev_version @types/node)")

# --prefer-offline: packages already in npm's cache are not revalidated against the registry.
npm_install() { clean npm install --no-audit --no-fund --prefer-offline --loglevel=error "$@"; }

# Runs the host's tests; prints the pass count, fails unless every test passed.
host_tests() {
  local log="$1"
  clean npm test 2>&1 | tee "$log" | grep -E '^# (tests|pass|fail) ' >&2 || true
  local pass fail
  pass="$(awk '/^# pass / { print $3 }' "$log")"
  fail="$(awk '/^# fail / { print $3 }' "$log")"
  [[ "$fail" == 0 && "${pass:-0}" -gt 0 ]] || {
    cat "$log" >&2
    die "the host's tests failed ($log)"
  }
  echo "$pass"
}

header "host-check: a clean project installs the tarball"
consumer="$scratch/consumer"
mkdir -p "$consumer"
cp "$ROOT/scripts/host-check/"* "$consumer/"
typecheck_src="$ROOT/tests/ts/host.typecheck.ts"
grep -qF 'from "../../js/oauthDeviceFlow.ts";' "$typecheck_src" || die "$typecheck_src no longer imports ../../js/oauthDeviceFlow.ts"
sed 's#from "../../js/oauthDeviceFlow.ts";#from "oauth-device-flow-wasm";#' "$typecheck_src" >"$consumer/host.typecheck.ts"
(
  cd "$consumer"
  npm_install "$tarball" "${tools[@]}"
  echo "host-check: node --import tsx smoke.ts"
  clean node --import tsx smoke.ts
  echo "host-check: node --import tsx stores.ts (the /redis and /postgres subpath entries)"
  clean node --import tsx stores.ts
  echo "host-check: node smoke.mjs"
  clean node smoke.mjs
  echo "host-check: node smoke.cjs (require)"
  clean node smoke.cjs
  echo "host-check: tsc -p tsconfig.json --strict --noEmit (nodenext: host.typecheck.ts, smoke.ts, smoke.cts, stores.ts)"
  clean ./node_modules/.bin/tsc -p tsconfig.json --strict --noEmit
)

header "host-check: the host fixture with its original oauthDeviceFlow.ts (the baseline)"
# The original re-exports ../../../../../baseline/oauthDeviceFlow.ts: keep that layout in scratch.
tree="$scratch/host"
mkdir -p "$tree/js" "$tree/baseline" "$tree/pkg" "$tree/$FIXTURE"
cp js/*.ts "$tree/js/" # the drop-in and its modules: the baseline takes its types from it
cp baseline/*.ts "$tree/baseline/"
# The baseline's types: the glue, the loaders and the root's "type" and "imports" (#wasm-module).
cp pkg/oauth_device_flow.js pkg/oauth_device_flow.d.ts pkg/wasm_module.* "$tree/pkg/"
node -e 'const p = require("./package.json"); console.log(JSON.stringify({ private: true, type: p.type, imports: p.imports }, null, 2))' >"$tree/package.json"
# The drop-in's own runtime dependency (the model call's SSE parser), where its modules resolve it.
mkdir -p "$tree/node_modules"
cp -r node_modules/eventsource-parser "$tree/node_modules/"
(cd "$FIXTURE" && tar -cf - --exclude=node_modules --exclude=package-lock.json .) | (cd "$tree/$FIXTURE" && tar -xf -)
host="$tree/$FIXTURE"
cd "$host"
grep -qF '/baseline/oauthDeviceFlow.ts' src/oauthDeviceFlow.ts || die "$FIXTURE/src/oauthDeviceFlow.ts does not re-export the baseline"
npm_install
original_pass="$(host_tests "$scratch/host-original.log")"
echo "host-check: tsc -p tsconfig.json --noEmit"
clean ./node_modules/.bin/tsc -p tsconfig.json --noEmit

header "host-check: the same fixture with src/oauthDeviceFlow.ts swapped for the package"
npm_install "$tarball"
printf '%s\n' "$SWAP_LINE" >src/oauthDeviceFlow.ts
rm -rf "$tree/js" "$tree/baseline" "$tree/pkg" # nothing of the baseline or of the repository is left to reach
echo "host-check: src/oauthDeviceFlow.ts is now: $(cat src/oauthDeviceFlow.ts)"
swapped_pass="$(host_tests "$scratch/host-swapped.log")"
echo "host-check: tsc -p tsconfig.json --noEmit"
clean ./node_modules/.bin/tsc -p tsconfig.json --noEmit
[[ "$swapped_pass" == "$original_pass" ]] ||
  die "the host's tests passed $original_pass times with the original but $swapped_pass times with the package"
cd "$ROOT"

echo
echo "host-check: passed in $(elapsed "$HOST_START"): tarball installed and type-checked without Rust; host fixture $original_pass/$original_pass tests and tsc with the original and with the package"
