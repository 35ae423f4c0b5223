#!/usr/bin/env bash
# `bash scripts/bench-instructions.sh [OP...]`: instructions per in-memory operation, module and
# baseline, counted by valgrind's callgrind over the whole Node process (JIT and GC included):
# (I(600 operations) - I(100 operations)) / 500. Load-independent, unlike the timings of
# `npm run bench` on a shared machine. Node runs with --no-liftoff: the module is compiled once
# at instantiation (so the difference cancels it) instead of tiering up in background threads at
# some point between the two runs, which callgrind would count too. Takes about a minute per
# figure. Needs pkg/ built.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
command -v valgrind >/dev/null || apt_ensure valgrind valgrind
ops=("$@")
((${#ops[@]})) || ops=(refresh pollSuccess pending device)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
node -e '
const path = require("node:path");
require("esbuild").build({
  entryPoints: ["scripts/benchOps.ts"], bundle: true, platform: "node", format: "esm", outfile: process.argv[1], logLevel: "error",
  plugins: [{ name: "pkg-external", setup(b) { b.onResolve({ filter: /oauth_device_flow\.js$/ }, () => ({ path: path.resolve("pkg/oauth_device_flow.js"), external: true })); } }],
});' "$out/ops.mjs"
count() { # impl op n -> instructions of the whole process
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
    node --no-liftoff "$out/ops.mjs" "$1" "$2" "$3" 2>&1 | sed -n 's/.*Collected : //p'
}
echo "| operation | module instr/op | baseline instr/op | module/baseline |"
echo "|---|---:|---:|---:|"
for op in "${ops[@]}"; do
  declare -A per=()
  for impl in module baseline; do
    a="$(count "$impl" "$op" 100)"
    b="$(count "$impl" "$op" 600)"
    per[$impl]=$(((b - a) / 500))
  done
  awk -v op="$op" -v m="${per[module]}" -v b="${per[baseline]}" 'BEGIN { printf "| %s | %d | %d | %.2f |\n", op, m, b, m / b }'
done
