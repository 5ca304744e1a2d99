#!/usr/bin/env bash
# Lab 02 (E1) benchmark: W workers each count to N, run serially, as threads,
# as threads under the emulated GIL, and as processes, for W = 1..WMAX.
#   in-process timings (the program's own clock, raw rows) -> results/count.csv
#   whole-program timings (hyperfine, fork+exec+exit included)
#                           -> results/count-hyperfine.csv (+ .json per config)
#   reduced per (mode, gil, workers)      -> results/count-summary.csv
# Runs from the repository root wherever it is called from. SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start count

# N = 100,000,000 is the documents' size; quick exists for smoke tests only.
# reps: in-process repetitions; runs: hyperfine runs; factor: WMAX = factor x cores.
case $SIZE in
    quick)   N=2000000   reps=2  runs=2  factor=2 ;;
    default) N=100000000 reps=7  runs=7  factor=2 ;;
    full)    N=100000000 reps=15 runs=10 factor=4 ;;
esac
command -v hyperfine >/dev/null || { echo "count bench: hyperfine not found; run make deps" >&2; exit 1; }

cores=$(nproc)
wmax=$(( factor * cores > 5 ? factor * cores : 5 ))   # 5 = the documents' worker count
# Every W up to 8; past that a step of cores/4, so a 64-core machine measures
# ~16 points instead of 128 (serial time grows with W: the sweep is quadratic).
# 5 and the core count are always in the list: the findings quote them.
workers=$(awk -v max="$wmax" -v cores="$cores" 'BEGIN {
    step = int(cores / 4); if (step < 1) step = 1
    for (w = 1; w <= max; w++)
        if (w <= 8 || w == cores || w % step == 0) list = list (list == "" ? "" : ",") w
    print list }')
IFS=, read -r -a wlist <<< "$workers"

# Configurations: name and the flags that select it.
names=(serial thread thread+gil process)
flags=("--mode serial" "--mode thread" "--mode thread --gil" "--mode process")

# The program's watchdog (default 60 s) must not stop a slow but healthy run:
# allow 10x the time at a pessimistic 1 G increments/s, never under 60 s.
timeout_for() { awk -v runs="$1" -v w="$2" -v n="$N" 'BEGIN { t = 10 * runs * 4 * w * n / 1e9; printf "%d", (t < 60 ? 60 : (t > 86400 ? 86400 : t)) }'; }

bench_scratch
steps=$(( ${#wlist[@]} + ${#names[@]} + 1 ))   # + the CPython step

# 1. In-process: `--mode all` interleaves the configurations rep by rep, so a
# slow patch of the machine (frequency, a neighbour VM) hits all of them alike.
for w in "${wlist[@]}"; do
    bench_step "all configurations in-process, workers=$w, ${reps} reps"
    "$BIN/count" --mode all --workers "$w" --iterations "$N" \
        --repeat "$reps" --warmup 1 --timeout "$(timeout_for $((reps + 1)) "$w")" --csv > "$tmp/w$w.csv"
    # The program checks its own total (exit 1); check the CSV contract too, so
    # a changed format fails here and not as a wrong chart.
    awk -F, -v w="$w" -v reps="$reps" '
        NR == 1 { if ($0 != "mode,gil,workers,iterations,rep,seconds,total") { print "count bench: unexpected header: " $0 > "/dev/stderr"; exit 1 }; next }
        NF != 7 || $3 != w || $7 != $3 * $4 || $6 <= 0 { print "count bench: bad row: " $0 > "/dev/stderr"; exit 1 }
        { rows++ }
        END { if (rows != 4 * reps) { print "count bench: expected " 4 * reps " rows, got " rows + 0 > "/dev/stderr"; exit 1 } }
    ' "$tmp/w$w.csv"
done
{ head -n 1 "$tmp/w${wlist[0]}.csv"; for w in "${wlist[@]}"; do tail -n +2 "$tmp/w$w.csv"; done; } > "$tmp/count.csv"

# 2. Whole program under hyperfine: what a user waiting at the prompt sees,
# including exec, dynamic loading and exit. --shell=none: no shell start-up to
# subtract, so millisecond differences stay visible.
for i in "${!names[@]}"; do
    name=${names[$i]}
    bench_step "hyperfine $name, workers=${wlist[0]}..${wlist[-1]}, $runs runs"
    # hyperfine splits the command line itself (no shell), flags included.
    hyperfine --shell=none --style none --warmup 1 --runs "$runs" \
        --parameter-list workers "$workers" --command-name "$name" \
        --export-csv "$tmp/h-$name.csv" --export-json "$tmp/count-hyperfine-$name.json" \
        "$BIN/count ${flags[$i]} --workers {workers} --iterations $N --repeat 1 --warmup 0 --timeout $(timeout_for 1 "${wlist[-1]}") --csv"
done
# Merge the four summaries into one CSV, columns picked by header name (the
# order hyperfine uses is not part of its contract).
for name in "${names[@]}"; do cat "$tmp/h-$name.csv"; done | awk -F, -v runs="$runs" '
    BEGIN { print "config,mode,gil,workers,runs,median_s,mean_s,min_s,max_s,stddev_s,user_s,system_s" }
    $1 == "command" { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
        config = $col["command"]; mode = config; gil = 0
        if (sub(/\+gil$/, "", mode)) gil = 1
        printf "%s,%s,%d,%d,%d,%.6g,%.6g,%.6g,%.6g,%.3g,%.6g,%.6g\n", config, mode, gil, $col["parameter_workers"], runs,
            $col["median"], $col["mean"], $col["min"], $col["max"], $col["stddev"], $col["user"], $col["system"]
    }' > "$tmp/count-hyperfine.csv"

# 3. Reduce the raw rows to medians and speedups over serial at the same W.
echo "count: reducing -> $OUT/count-summary.csv" >&2
awk -F, 'NR > 1 { print $1 ($2 == 1 ? "+gil" : "") "," $1 "," $2 "," $3 "," $4 "," $5 "," $6 }' "$tmp/count.csv" |
    scripts/summarize.sh serial > "$tmp/count-summary.csv"

# 4. The same experiment in real CPython (labs/02-count/count.py), when
# python3 is installed: the real GIL drawn next to the emulated one. CPython
# counts ~50 M/s, not ~3 G/s, so N is smaller; W = 1, 2, the cores and 5.
if command -v python3 >/dev/null; then
    case $SIZE in quick) pyN=200000 pyreps=2 ;; full) pyN=10000000 pyreps=5 ;; *) pyN=10000000 pyreps=3 ;; esac
    pyworkers=$(printf '%s\n' 1 2 "$cores" 5 | sort -n | uniq | tr '\n' ' ')
    bench_step "CPython (count.py), workers=${pyworkers% }, N=$pyN, $pyreps reps"
    echo "mode,gil,workers,iterations,rep,seconds,total" > "$tmp/count-cpython.csv"
    for w in $pyworkers; do
        python3 labs/02-count/count.py --workers "$w" --iterations "$pyN" --repeat "$pyreps" --warmup 1 --csv |
            tail -n +2 >> "$tmp/count-cpython.csv"
    done
    awk -F, 'NR > 1 { print $1 "," $1 "," $2 "," $3 "," $4 "," $5 "," $6 }' "$tmp/count-cpython.csv" |
        scripts/summarize.sh python-serial > "$tmp/count-cpython-summary.csv"
else
    echo "count: python3 not found: skipping the CPython comparison" >&2
    rm -f "$OUT"/count-cpython*.csv   # no stale comparison from another run
fi

bench_publish "$tmp"/count*.csv "$tmp"/count-hyperfine-*.json
echo "count: wrote $OUT/count.csv $OUT/count-summary.csv $OUT/count-hyperfine.csv" >&2
