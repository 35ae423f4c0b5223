# shellcheck shell=bash disable=SC2034  # sourced; the variables are used by the scripts
# Shared by scripts/*.sh (sourced, not run). Puts the repository root in $ROOT, cds there,
# and fixes PATH so that every script sees the same tools:
#   1. node_modules/.bin (wasm-opt from the npm `binaryen` package, tsc, tsx),
#   2. the cargo install root (CARGO_INSTALL_ROOT if set, else $CARGO_HOME or ~/.cargo),
#      where setup.sh installs wasm-bindgen-cli and wasm-pack,
#   3. the caller's PATH.
# Idempotent: sourcing it twice does not grow PATH.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

if [[ -n "${CARGO_INSTALL_ROOT:-}" ]]; then
  CARGO_BIN_DIR="$CARGO_INSTALL_ROOT/bin"
else
  CARGO_BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"
fi

path_prepend() { # move (or add) $1 to the front of PATH
  local dir="$1" rest=":${PATH}:"
  rest="${rest//:"$dir":/:}"
  rest="${rest#:}"
  rest="${rest%:}"
  PATH="$dir${rest:+:$rest}"
}
path_prepend "$CARGO_BIN_DIR"
path_prepend "$ROOT/node_modules/.bin"
export PATH

# Pinned tools that do not come from Cargo.lock or package-lock.json.
WASM_PACK_VERSION="0.15.1"
WASM_TARGET="wasm32-unknown-unknown"
OUT_NAME="oauth_device_flow"
WASM_FILE="pkg/${OUT_NAME}_bg.wasm"

die() {
  echo "ERROR: $*" >&2
  exit 1
}

now() { echo "$EPOCHREALTIME"; }
# elapsed START -> "1.2s"
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

header() { printf '\n==> %s\n' "$*"; }

# exclusive NAME: holds a per-checkout lock (file descriptor 9) until the script exits, waiting
# if another script of this checkout holds it. Skipped where flock(1) is missing.
exclusive() {
  command -v flock >/dev/null || return 0
  local lock
  lock="${TMPDIR:-/tmp}/oauth-device-flow-$1-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12).lock"
  exec 9>"$lock"
  flock -n 9 && return 0
  echo "$1: waiting for another $1 of $ROOT to finish"
  flock 9
}

# apt_ensure WHAT PACKAGE... : installs Debian PACKAGEs with apt-get when WHAT (a command or file
# path) is missing. Needs root; apt's output goes to a log file under target/, and one line says
# what was installed and where the log is. Dies when it cannot install.
apt_ensure() {
  local what="$1"
  shift
  if [[ "$what" == /* ]]; then [[ -e "$what" ]] && return 0; else command -v "$what" >/dev/null && return 0; fi
  [[ "$(id -u)" == 0 ]] || die "$what is missing: run 'apt-get update && apt-get install -y $*' as root"
  mkdir -p "$ROOT/target"
  local log="$ROOT/target/apt-$1.log"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; } >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "apt-get install $* failed (log: $log)"; }
  if [[ "$what" == /* ]]; then [[ -e "$what" ]]; else command -v "$what" >/dev/null; fi ||
    die "apt-get installed $* but $what is still missing (log: $log)"
  echo "installed with apt: $* (log: ${log#"$ROOT"/})"
}
