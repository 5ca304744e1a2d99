# shellcheck shell=bash
# bench-lib.sh: what every labs/NN-name/bench.sh shares, sourced right after
# its `set -euo pipefail` (so that a missing library stops the script):
#   source "$(dirname "$0")/../../scripts/bench-lib.sh"
# Sourcing it moves to the repository root and sets BIN, SIZE and OUT. Then:
#   bench_start NAME [EXIT1]  NAME prefixes every message and is the program
#                             in $BIN; EXIT1 says what its exit status 1 means
#   bench_scratch             makes $tmp, removed on exit; results/ exists
#   bench_step MESSAGE        "[step/steps] NAME: MESSAGE" on stderr (the
#                             caller sets steps, the number of steps)
#   bench_run OUTFILE CMD...  CMD's stdout into OUTFILE; a failure stops here
#   bench_publish FILE...     moves the finished files into $OUT
# Only what the four scripts do word for word is here: the experiments, the
# CSV checks and the timeouts differ from lab to lab and stay in each script.

export LC_ALL=C            # "0.5", not "0,5", in every awk and sort
# BIN and results/ are relative to the repository root, this file's parent,
# wherever the script is called from.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BIN=${BIN:-build/bin}
SIZE=${SIZE:-default}
OUT=results
step=0

# Bad input is a usage error (2) and runs nothing; a missing binary is a
# failure (1) that names its cure. Both are checked before anything runs.
bench_start() {
    bench_name=$1 bench_exit1=${2:-}
    case $SIZE in
        quick | default | full) ;;
        *) echo "$bench_name bench: SIZE must be quick, default or full, not '$SIZE'" >&2; exit 2 ;;
    esac
    [ -x "$BIN/$bench_name" ] || { echo "$bench_name bench: $BIN/$bench_name not found; run make first" >&2; exit 1; }
}

# Write into a scratch directory and move into results/ only at the end
# (bench_publish), so an interrupted run leaves the previous results whole.
bench_scratch() {
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$OUT"
}

# The caller sets steps, the number of bench_step calls it will make.
bench_step() {
    step=$((step + 1))
    echo "[$step/${steps:?set before bench_step}] $bench_name: $*" >&2
}

# The program checks its own result (exit 1) and has a watchdog (exit 3): a
# bad status stops the whole bench with the command line to run again by
# hand, never a chart drawn from a half-written file.
bench_run() {
    local out=$1 status=0
    shift
    "$@" > "$out" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$bench_name bench: exit status $status from: $*" >&2
        case $status in
            1) echo "$bench_name bench: (1: $bench_exit1)" >&2 ;;
            3) echo "$bench_name bench: (3: the watchdog stopped a run that did not finish in time)" >&2 ;;
        esac
        exit 1
    fi
}

bench_publish() {
    mv "$@" "$OUT"/
}
