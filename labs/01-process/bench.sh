#!/usr/bin/env bash
# Lab 01 (E18) benchmark: what starting a process costs, and how the
# parent's size changes it.
#   a. start-cost: fork, fork-exec, vfork-exec, posix-spawn, clone-vm,
#      forkserver, thread and proc (this suite's proc_start), in turn within
#      each repetition, one invocation per parent size
#                                     -> results/process-start.csv
#   b. CPython's start methods (fork, forkserver, spawn) and a thread, when
#      python3 is installed           -> results/process-python.csv
#   reduced by summarize.awk          -> results/process-*-summary.csv
# Runs from the repository root wherever it is called from.
# SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start process "a child did not end the way the lab expected"

# Budget (2 cores): touching a 1 GiB parent takes ~0.3 s, and fork, fork-exec
# and proc cost ~12 ms each at 1 GiB: the big sizes get few starts per
# repetition; CPython's spawn costs ~0.1 s a start.  Default: ~20 s on a
# busy 2-core machine; quick: a few seconds; full: up to 4096 MiB, ~90 s.
# Each entry: MiB:iterations:repetitions.
case $SIZE in
    quick)   plan="0:5:3 64:3:3"                                    py_iter=2  py_rep=2 ;;
    default) plan="0:200:9 64:20:7 256:10:7 1024:4:5"               py_iter=5  py_rep=5 ;;
    full)    plan="0:100:10 64:40:10 256:20:10 1024:8:7 2048:4:5 4096:3:5" py_iter=20 py_rep=10 ;;
esac
warmup=1
read -r -a steps_plan <<< "$plan"
header="method,parent_mib,rep,seconds_per_start"
methods=8

# check FILE MIB REPS: the CSV contract of one invocation.
check() {
    awk -F, -v header="$header" -v mib="$2" -v rows=$(($3 * methods)) '
        function bad(why) { print "process bench: " why ": " $0 > "/dev/stderr"; failed = 1; exit 1 }
        NR == 1 { if ($0 != header) bad("unexpected header"); next }
        NF != 4 { bad("wrong number of fields") }
        $2 != mib { bad("row for another parent size") }
        $4 !~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ || $4 <= 0 { bad("seconds must be positive") }
        { n++ }
        END { if (!failed && n != rows) { print "process bench: expected " rows " rows, got " n + 0 > "/dev/stderr"; exit 1 } }
    ' "$1"
}

bench_scratch
steps=$(( ${#steps_plan[@]} + 1 ))

echo "$header" > "$tmp/process-start.csv"
for entry in "${steps_plan[@]}"; do
    IFS=: read -r mib iterations reps <<< "$entry"
    bench_step "start-cost, parent $mib MiB, $iterations starts x $reps (+$warmup warm-up), 8 methods in turn"
    bench_run "$tmp/one.csv" "$BIN/process" --experiment start-cost --parent-mib "$mib" \
        --iterations "$iterations" --repeat "$reps" --warmup "$warmup" --timeout 600 --csv
    check "$tmp/one.csv" "$mib" "$reps"
    tail -n +2 "$tmp/one.csv" >> "$tmp/process-start.csv"
done
rm -f "$tmp/one.csv"
awk -F, -f scripts/stats.awk -f labs/01-process/summarize.awk "$tmp/process-start.csv" \
    > "$tmp/process-start-summary.csv"

if command -v python3 >/dev/null; then
    bench_step "CPython start methods (fork, forkserver, spawn) and a thread, $py_iter starts x $py_rep"
    bench_run "$tmp/process-python.csv" python3 labs/01-process/process.py \
        --iterations "$py_iter" --repeat "$py_rep" --warmup 1 --csv
    awk -F, -f scripts/stats.awk -f labs/01-process/summarize.awk "$tmp/process-python.csv" \
        > "$tmp/process-python-summary.csv"
else
    bench_step "python3 not found: skipping CPython's start methods"
    rm -f "$OUT"/process-python*.csv   # no stale comparison from another run
fi

bench_publish "$tmp"/process-*.csv
echo "process: wrote $OUT/process-start.csv and its summary$(command -v python3 >/dev/null && echo ", $OUT/process-python.csv and its summary")" >&2
