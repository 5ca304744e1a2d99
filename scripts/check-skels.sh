#!/usr/bin/env bash
# check-skels.sh: the exercises can be graded both ways (`make check-skels`,
# part of `make test`).  For every lab with an exercise marked, a fresh
# skeleton must build and FAIL its lab's checks (a skeleton that passed
# would grade nothing); and the grader itself must pass the reference of
# lab 02 (the reference of every lab passes the same tests in make test's
# plain run already).  Skeletons go to a private directory, never students/.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
STUDENTS_DIR=$(mktemp -d)
export STUDENTS_DIR
trap 'rm -rf "$STUDENTS_DIR"' EXIT
status=0
scripts/skels.sh 2> "$STUDENTS_DIR/skels.log" || { cat "$STUDENTS_DIR/skels.log" >&2; exit 1; }
for dir in "$STUDENTS_DIR"/[0-9]*-*/; do
    number=$(basename "$dir" | cut -d- -f1)
    if scripts/grade.sh "$number" > "$STUDENTS_DIR/grade.log" 2>&1; then
        echo "FAIL  skeleton of lab $number passes its checks: the exercise grades nothing"
        status=1
    else
        echo "ok    skeleton of lab $number builds and fails: $(grep '^grade: .* checks passed' "$STUDENTS_DIR/grade.log" || grep 'does not build' "$STUDENTS_DIR/grade.log")"
        grep -q 'does not build' "$STUDENTS_DIR/grade.log" && { echo "FAIL  skeleton of lab $number does not build"; status=1; }
    fi
done
if scripts/grade.sh 02 solution > "$STUDENTS_DIR/grade.log" 2>&1; then
    echo "ok    the reference of lab 02 passes: $(grep '^grade: .* checks passed' "$STUDENTS_DIR/grade.log")"
else
    echo "FAIL  the reference of lab 02 fails its own checks through make grade"; tail -5 "$STUDENTS_DIR/grade.log"; status=1
fi
exit "$status"
