#!/usr/bin/env bash
# Time-boxed fuzzing of the core's parsers (the targets in fuzz/fuzz_targets/, bodies in
# fuzz/targets.rs). Not part of `npm test`: CI replays the committed seed corpus natively
# (tests/core/fuzz_corpus.rs); this is the command for a real fuzz run.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (npm run fuzz -- 20)
#
# Defaults: 20 s per target, every target. Installs cargo-fuzz when missing. Uses the nightly
# toolchain with sanitizers when there is one, else stable with RUSTC_BOOTSTRAP=1 and
# `--sanitizer none`. Each run starts from fuzz/corpus/<target> (the committed seeds, never
# written) and keeps what it learns in fuzz/work/<target> (ignored by git). Limits:
# FUZZ_MAX_LEN bytes per input (default 8192; the reply cap is 64 KiB, a larger input only
# slows the search), FUZZ_RSS_MB of memory (default 512: an unbounded allocation is a finding).
# Prints executions per target; exits non-zero when a target crashed (the input is saved in
# fuzz/artifacts/<target>/: add it to fuzz/corpus/<target>/ once fixed).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SECONDS_PER_TARGET="${1:-20}"
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]"
shift || true
MAX_LEN="${FUZZ_MAX_LEN:-8192}"
RSS_MB="${FUZZ_RSS_MB:-512}"
CARGO_FUZZ_VERSION="0.13.2"

if ! cargo fuzz --version >/dev/null 2>&1; then
  header "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

if cargo +nightly --version >/dev/null 2>&1; then
  fuzz() { cargo +nightly fuzz "$@"; }
  SANITIZER=()
  echo "fuzz: nightly toolchain, default sanitizer"
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
  SANITIZER=(--sanitizer none)
  echo "fuzz: no nightly toolchain: RUSTC_BOOTSTRAP=1 with --sanitizer none"
fi

cd "$ROOT/fuzz"
if (($#)); then
  targets=("$@")
else
  mapfile -t targets < <(fuzz list)
fi

header "build (${#targets[@]} targets)"
fuzz build -O "${SANITIZER[@]}"

declare -A execs=()
failed=()
for t in "${targets[@]}"; do
  [[ -d "corpus/$t" ]] || die "no seed corpus fuzz/corpus/$t"
  mkdir -p "work/$t" "artifacts/$t"
  log="work/$t.log"
  header "fuzz $t for ${SECONDS_PER_TARGET}s"
  if fuzz run -O "${SANITIZER[@]}" "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len="$MAX_LEN" -rss_limit_mb="$RSS_MB" \
    -malloc_limit_mb="$RSS_MB" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    :
  else
    failed+=("$t")
    tail -40 "$log"
  fi
  execs[$t]="$(awk '/stat::number_of_executed_units:/ { n = $2 } END { print n + 0 }' "$log")"
  echo "$t: ${execs[$t]} executions"
done

header "summary (${SECONDS_PER_TARGET}s per target)"
total=0
for t in "${targets[@]}"; do
  printf '%-22s %12s executions\n' "$t" "${execs[$t]}"
  total=$((total + execs[$t]))
done
printf '%-22s %12s executions\n' "total" "$total"
if ((${#failed[@]})); then
  die "crashed: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/work/*.log)"
fi
echo "fuzz: no crash"
