#!/usr/bin/env bash
# grade.sh NN [solution]: build your copy of lab NN (students/NN-name/, from
# `make skels`) in place of the reference and run that lab's own integration
# tests against it: one line per check, then a total (`make grade LAB=NN`;
# `make grade LAB=NN SOLUTION=1` grades the reference the same way).
#
# The checker is the suite's own tests, not a separate script: what grades
# your code is what keeps the reference honest.  Run your program by hand
# first (build/grade/bin/NAME --help, then the handout's commands): the
# checks say *that* something is wrong, the program's own output says *what*.
#
# Needs CC, CFLAGS, LDFLAGS and LDLIBS from the Makefile, and the test runner
# (build/bin/tests) and libcommon.a already built (`make grade` does both).
# Exit: 0 every check passed, 1 a check failed or the copy does not build,
# 2 usage.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

number=${1:-}
solution=${2:-}
[ -n "$number" ] || { echo "grade: which lab? make grade LAB=NN (e.g. LAB=04)" >&2; exit 2; }
dir=$(ls -d labs/"$number"-*/ 2>/dev/null | head -1)
[ -n "$dir" ] || { echo "grade: LAB=$number: no such lab (expected 01 to 10)" >&2; exit 2; }
name=$(basename "$dir")
program=${name#*-}
# The lab's integration suite (tests/test_NAME.c); lab pool's is pool_lab
# because `pool` is the suite of common/pool.
suite=$program
[ "$program" = pool ] && suite=pool_lab

if [ -n "$solution" ]; then
    source_dir=${dir%/}
    what="the reference ($source_dir)"
else
    source_dir=${STUDENTS_DIR:-students}/$name
    [ -d "$source_dir" ] || { echo "grade: $source_dir not found: run make skels first" >&2; exit 2; }
    what="your copy ($source_dir)"
fi

out=${GRADE_BIN_DIR:-build/grade/bin}
mkdir -p "$out"
# Every other program as built; this lab's from the copy being graded.
for binary in build/bin/*; do
    [ -x "$binary" ] && ln -sf "$(pwd)/$binary" "$out/$(basename "$binary")"
done
rm -f "$out/$program"
echo "grade: building $program from $what"
# Lab 10 is an MPI program: Open MPI's compiler wrapper adds its headers
# and libraries.
compiler=${CC:-cc}
[ "$program" = cluster ] && compiler=${MPICC:-mpicc}
# -iquote, not -I: a lab header may share a system header's name (lab 03's
# sched.h), and #include <sched.h> must still find the system's.
# shellcheck disable=SC2086 # the flags are word lists
if ! $compiler $CFLAGS -iquote "$source_dir" "$source_dir"/*.c build/libcommon.a \
        $LDFLAGS $LDLIBS -o "$out/$program"; then
    echo "grade: $source_dir does not build (see above): 0 checks passed"
    exit 1
fi

echo "grade: running the $suite checks against $out/$program"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
LAB_BIN_DIR=$(cd "$out" && pwd) CK_RUN_SUITE=$suite CK_VERBOSITY=verbose \
    build/bin/tests > "$report" 2>&1 || true
# Check's verbose lines: FILE:LINE:P|F|E:CASE:TEST:LOOP: MESSAGE
awk -F: '
    NF >= 7 && $3 ~ /^[PFE]$/ {
        name = $5; gsub(/_/, " ", name)
        if ($6 != "0") name = name " (" $6 ")"
        dots = 60 - length(name); if (dots < 3) dots = 3
        line = "  " name " "; for (i = 0; i < dots; i++) line = line "."
        if ($3 == "P") { print line " passed"; passed++ }
        else {
            message = $0; sub(/^([^:]*:){6} ?/, "", message)
            print line " FAILED"; print "      " substr(message, 1, 300); failed++
        }
    }
    END {
        total = passed + failed
        printf "grade: %d of %d checks passed\n", passed, total
        exit (total > 0 && failed == 0) ? 0 : 1
    }
' "$report"
