#!/usr/bin/env bash
# check-skels.sh: the exercises can be graded both ways (`make check-skels`,
# part of `make test`).  For every lab with an exercise marked, a fresh
# skeleton must build and FAIL its lab's checks (a skeleton that passed
# would grade nothing); and the grader itself must pass the reference of
# lab 02 (every lab's reference passes the very same tests in make test's
# plain run).  Skeletons go to a private directory, never students/.
#
# To stay quick, each skeleton is graded on the one test case that covers
# its exercise (CASES below), and the labs are graded at once, each with a
# build directory of its own.  `make grade` runs every case.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# lab -> the test case (tests/test_*.c, tcase_create) its exercise breaks
declare -A CASES=([01]=process_api [02]=count_output [03]=sched_timeslice [04]=tickets_answer
                 [05]=ipc_experiments [06]=share_experiments [07]=deadlock_fixes
                 [08]=pool_lab_experiments [09]=server_serve [10]=cluster_runs)
# lab -> the share of Check's time bound a skeleton's failing test may take
# (default a quarter).  The server's skeleton answers nobody, so each of its
# tests waits out its bound; its reference passes each in under a second.
declare -A SCALES=([09]=0.05)

STUDENTS_DIR=$(mktemp -d)
export STUDENTS_DIR
trap 'rm -rf "$STUDENTS_DIR"' EXIT
scripts/skels.sh 2> "$STUDENTS_DIR/skels.log" || { cat "$STUDENTS_DIR/skels.log" >&2; exit 1; }

# A skeleton's checks often fail by waiting (for an answer that never
# comes) until Check's time bound: a quarter of it is ample here, since
# the reference passes each of these cases in a few seconds.
grade() { # grade NUMBER [solution]: into $STUDENTS_DIR/NUMBER[solution].log
    local number=$1 case=${CASES[$1]:-} solution=${2:-} scale=${SCALES[$1]:-0.25}
    [ -z "$solution" ] || scale=1
    GRADE_BIN_DIR=$STUDENTS_DIR/bin-$number$solution CK_RUN_CASE=$case \
        CK_TIMEOUT_MULTIPLIER=$scale \
        scripts/grade.sh "$number" $solution > "$STUDENTS_DIR/$number$solution.log" 2>&1
}
pids=() numbers=()
for dir in "$STUDENTS_DIR"/[0-9]*-*/; do
    number=$(basename "$dir" | cut -d- -f1)
    [ -n "${CASES[$number]:-}" ] || { echo "FAIL  lab $number has an exercise but no case in scripts/check-skels.sh"; exit 1; }
    if [ "$number" = 10 ] && ! command -v "${MPICC:-mpicc}" > /dev/null; then
        echo "skip  the skeleton of lab 10: ${MPICC:-mpicc} not found (Open MPI; make deps installs it)"
        continue
    fi
    grade "$number" & pids+=($!) numbers+=("$number")
done
grade 02 solution & reference=$!

status=0
for k in "${!pids[@]}"; do
    number=${numbers[$k]} log=$STUDENTS_DIR/${numbers[$k]}.log
    if wait "${pids[$k]}"; then
        echo "FAIL  the skeleton of lab $number passes its checks: the exercise grades nothing"; status=1
    elif grep -q 'does not build' "$log"; then
        echo "FAIL  the skeleton of lab $number does not build:"; tail -5 "$log"; status=1
    else
        echo "ok    the skeleton of lab $number builds and fails (${CASES[$number]}): $(grep '^grade: .* checks passed' "$log")"
    fi
done
if wait "$reference"; then
    echo "ok    the reference of lab 02 passes (${CASES[02]}): $(grep '^grade: .* checks passed' "$STUDENTS_DIR/02solution.log")"
else
    echo "FAIL  the reference of lab 02 fails its own checks through make grade:"; tail -5 "$STUDENTS_DIR/02solution.log"; status=1
fi
exit "$status"
