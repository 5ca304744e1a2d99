#!/usr/bin/env bash
# Lab 03 (E16, E13) benchmark:
#   a. one pinned run, 3 workers, with --trace: the slices, from the trace
#                                         -> results/sched-timeline.csv
#      and a longer one for the slice lengths -> results/sched-slices.csv
#      (both runs' per-worker rows)        -> results/sched-timeslice.csv
#   b. share vs nice: worker-0 at nice 0, worker-1 at nice 0 ... 10
#                                          -> results/sched-nice.csv (+ -summary)
#   c. crossover: wall time vs IO fraction at 4 x cores workers, and
#      speedup vs workers at IO fractions 0, 0.5, 0.9
#                                          -> results/sched-crossover.csv (+ -summary)
#   c'. the same crossover in CPython (crossover.py), if python3 is there
#                                          -> results/sched-cpython.csv (+ -summary)
#   d. convoy: an IO thread's latency alone / beside a CPU thread under the
#      GIL / beside it without the GIL     -> results/sched-convoy.csv (+ -summary)
# The machine's other load shows in every figure (time slices taken by
# other tasks): run on a quiet machine for the report. SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start sched "a worker ran off its CPU, two pinned workers overlapped, or a task's total was wrong"
command -v jq >/dev/null 2>&1 || { echo "sched bench: jq is needed to read the trace (make deps)" >&2; exit 1; }

cores=$(nproc)
# The default stays within ~40 s on 2 cores.
case $SIZE in
    quick)   slice_s=0.3 nice_s=0.3 nices="0 5"          n_repeat=1
             fractions="0 0.5 0.9"                       c_repeat=1 task_ms=4
             scaling="1 $((4 * cores))"                  requests=20 ;;
    default) slice_s=1   nice_s=0.3 nices="0 1 2 5 10"   n_repeat=3
             fractions="0 0.25 0.5 0.75 0.9 1"           c_repeat=3 task_ms=4
             scaling="1 $cores $((2 * cores)) $((4 * cores))" requests=50 ;;
    full)    slice_s=5   nice_s=2   nices="0 1 2 3 5 7 10" n_repeat=5
             fractions="0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1" c_repeat=5 task_ms=10
             scaling="1 2 $cores $((2 * cores)) $((3 * cores)) $((4 * cores))" requests=200 ;;
esac
read -r -a nlist <<< "$nices"
read -r -a flist <<< "$fractions"
read -r -a wlist <<< "$scaling"
tasks=$((8 * cores))   # the same work for every worker count

bench_scratch
steps=$(( 2 + ${#nlist[@]} + 2 * ${#flist[@]} + 3 * ${#wlist[@]} + 1 ))

# a. Who ran when: the trace's "running" slices, per worker.
slices_of() {   # TRACE -> worker,start_ms,end_ms
    jq -r '.traceEvents as $e
        | ($e | map(select(.name == "thread_name" and (.args.name | startswith("worker-"))))
              | map({key: "\(.pid)/\(.tid)", value: (.args.name | ltrimstr("worker-") | split(" ")[0])}) | from_entries) as $names
        | ($e | map(select(.ph == "i" and .name == "window opens")) | .[0].ts) as $zero
        | $e[] | select(.ph == "X" and .name == "running")
        | [($names["\(.pid)/\(.tid)"] | tonumber), ((.ts - $zero) / 1000), ((.ts + .dur - $zero) / 1000)] | @csv' "$1"
}
bench_step "timeline: 3 processes pinned to one CPU, 0.2 s, traced"
bench_run "$tmp/one.csv" "$BIN/sched" --workers 3 --seconds 0.2 --trace "$tmp/timeline.json" --csv
cp "$tmp/one.csv" "$tmp/sched-timeslice.csv"
{ echo "worker,start_ms,end_ms"; slices_of "$tmp/timeline.json"; } > "$tmp/sched-timeline.csv"
bench_step "slice lengths: 3 processes pinned, $slice_s s, traced"
bench_run "$tmp/one.csv" "$BIN/sched" --workers 3 --seconds "$slice_s" --trace "$tmp/slices.json" --csv
tail -n +2 "$tmp/one.csv" >> "$tmp/sched-timeslice.csv"
{ echo "worker,length_ms"; slices_of "$tmp/slices.json" | awk -F, '{ printf "%s,%.4f\n", $1, $3 - $2 }'; } > "$tmp/sched-slices.csv"

# b. Share vs nice: two workers, one at nice 0, the other at nice N.
echo "nice,rep,run0_seconds,run1_seconds,measured_share1,expected_share1" > "$tmp/sched-nice.csv"
for n in "${nlist[@]}"; do
    bench_step "nice 0 vs nice $n, $nice_s s x $n_repeat"
    bench_run "$tmp/one.csv" "$BIN/sched" --nice "0,$n" --seconds "$nice_s" --repeat "$n_repeat" --csv
    # columns: 1 rep 2 worker 4 nice 13 run_seconds 18 expected_share
    awk -F, -v n="$n" 'NR > 1 { run[$1, $2] = $13; expected[$1, $2] = $18; if ($1 > reps) reps = $1 }
        END { for (r = 1; r <= reps; r++)
                  printf "%s,%d,%s,%s,%.5f,%s\n", n, r, run[r, 0], run[r, 1],
                         run[r, 1] / (run[r, 0] + run[r, 1]), expected[r, 1] }' \
        "$tmp/one.csv" >> "$tmp/sched-nice.csv"
done
awk -F, -f scripts/stats.awk -f labs/03-sched/summarize-nice.awk "$tmp/sched-nice.csv" > "$tmp/sched-nice-summary.csv"

# c. Crossover: each task is task_ms long, split into CPU and IO.
crossover() {   # FRACTION WORKERS
    local io cpu
    io=$(awk -v f="$1" -v t="$task_ms" 'BEGIN { printf "%g", f * t }')
    cpu=$(awk -v f="$1" -v t="$task_ms" 'BEGIN { printf "%g", (1 - f) * t }')
    bench_run "$tmp/one.csv" "$BIN/sched" --experiment crossover --cpu "$cpu" --io-ms "$io" \
        --workers "$2" --tasks "$tasks" --repeat "$c_repeat" --warmup 1 --timeout 600 --csv
    tail -n +2 "$tmp/one.csv" | awk -F, -v f="$1" -v s="$3" '{ print s "," f "," $0 }' >> "$tmp/sched-crossover.csv"
}
echo "sweep,fraction,mode,gil,io,io_fraction,workers,tasks,cpu_ms,io_ms,rep,seconds,total" > "$tmp/sched-crossover.csv"
for f in "${flist[@]}"; do
    bench_step "crossover: IO fraction $f, $((4 * cores)) workers, $tasks tasks of $task_ms ms x $c_repeat"
    crossover "$f" $((4 * cores)) fraction
done
for f in 0 0.5 0.9; do
    for w in "${wlist[@]}"; do
        bench_step "scaling: IO fraction $f, $w workers x $c_repeat"
        crossover "$f" "$w" workers
    done
done
awk -F, -f scripts/stats.awk -f labs/03-sched/summarize-crossover.awk "$tmp/sched-crossover.csv" > "$tmp/sched-crossover-summary.csv"

# c'. The same crossover in real CPython (crossover.py), when python3 is
# installed: the real GIL next to the emulated one.
if command -v python3 >/dev/null; then
    echo "mode,io_fraction,workers,tasks,cpu_ms,io_ms,rep,seconds" > "$tmp/sched-cpython.csv"
    for f in "${flist[@]}"; do
        bench_step "CPython crossover (crossover.py): IO fraction $f, $((4 * cores)) workers x $c_repeat"
        io=$(awk -v f="$f" -v t="$task_ms" 'BEGIN { printf "%g", f * t }')
        cpu=$(awk -v f="$f" -v t="$task_ms" 'BEGIN { printf "%g", (1 - f) * t }')
        bench_run "$tmp/one.csv" timeout 600 python3 labs/03-sched/crossover.py --cpu "$cpu" --io-ms "$io" \
            --workers $((4 * cores)) --tasks "$tasks" --repeat "$c_repeat" --warmup 1 --csv
        tail -n +2 "$tmp/one.csv" >> "$tmp/sched-cpython.csv"
    done
    awk -F, -f scripts/stats.awk -f labs/03-sched/summarize-cpython.awk "$tmp/sched-cpython.csv" > "$tmp/sched-cpython-summary.csv"
else
    steps=$((steps - ${#flist[@]}))
    echo "sched: python3 not found: skipping the CPython crossover" >&2
fi

# d. Convoy.
bench_step "convoy: $requests requests of 2 ms, alone / beside a CPU thread with and without the GIL"
bench_run "$tmp/sched-convoy.csv" "$BIN/sched" --experiment convoy --requests "$requests" --io-ms 2 --csv
awk -F, -f scripts/stats.awk -f labs/03-sched/summarize-convoy.awk "$tmp/sched-convoy.csv" > "$tmp/sched-convoy-summary.csv"

rm -f "$tmp/one.csv" "$tmp"/*.json
bench_publish "$tmp"/sched-*.csv
echo "sched: wrote $OUT/sched-{timeslice,timeline,slices,nice,crossover,cpython,convoy}.csv and summaries" >&2
