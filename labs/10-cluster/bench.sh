#!/usr/bin/env bash
# Lab 10 (E17) benchmark: the counting job over MPI ranks on fake hosts.
#   a. speedup vs ranks, on 1 host (1x1 ... 1x4, oversubscribed past the
#      cores) and on 2 fake hosts (2x1, 2x2), TCP, plus 1x2 over shared
#      memory; the same W x N for every layout, mpirun's start-up measured
#      apart by each layout's empty run     -> results/cluster-runs.csv
#                                           -> results/cluster-speedup-summary.csv
#   b. the target: 1 host, 2 ranks, against lab 02 count's 2-process run
#      (and a serial run of a fifth of the additions, scaled), W x N large
#      enough that start-up is a few percent of a run
#                                           -> results/cluster-target.csv
#   c. ping-pong: 8-byte round trips and 1 MiB bandwidth, TCP and shared
#      memory, 1 host x 2 slots and 2 hosts x 1 slot
#                                           -> results/cluster-pingpong.csv
#                                           -> results/cluster-pingpong-summary.csv
# Skipped with one line when Open MPI is missing.  Runs from the repository
# root wherever it is called from.  SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT

if ! command -v mpirun > /dev/null 2>&1 || [ ! -x "$BIN/cluster" ]; then
    echo "cluster bench: skipped: Open MPI is not installed (make deps installs openmpi-bin and libopenmpi-dev, then make builds $BIN/cluster)" >&2
    exit 0
fi
bench_start cluster "a reduced total or a ping-pong reply was wrong"
[ -x "$BIN/count" ] || { echo "cluster bench: $BIN/count not found; run make first" >&2; exit 1; }

# W x N of the sweep: 1 G additions, ~0.3 s on one core of the machine in
# results/machine.txt.  The target's N: 2 x 25 G additions, so that each
# 2-rank job (one repetition, ~10 s) is over 20 times mpirun's start-up
# (~0.45 s): the issue's condition of a start-up under 5% of the run.
case $SIZE in
    quick)   sweep_n=20000000  sweep_reps=2 layouts="1x1 1x2 2x1 2x2"
             target_n=300000000 target_reps=1
             roundtrips=1000  ping_reps=2 ;;
    default) sweep_n=250000000 sweep_reps=3 layouts="1x1 1x2 1x3 1x4 2x1 2x2"
             target_n=25000000000 target_reps=3
             roundtrips=5000  ping_reps=5 ;;
    full)    sweep_n=1000000000 sweep_reps=5 layouts="1x1 1x2 1x3 1x4 2x1 2x2 2x3 4x1"
             target_n=40000000000 target_reps=5
             roundtrips=50000 ping_reps=10 ;;
esac
sweep_w=4
read -r -a llist <<< "$layouts"
cpus=$(nproc)

# The program's watchdog must not stop a slow but healthy run: 10x the
# time at a pessimistic 1 G additions/s on one core, never under 60 s.
timeout_for() { awk -v a="$1" 'BEGIN { t = 10 * a / 1e9; printf "%d", (t < 60 ? 60 : (t > 86400 ? 86400 : t)) }'; }

# run OUTFILE CMD...: CMD's stdout into OUTFILE, its stderr (cluster.sh's
# narration, mpirun's messages) kept and shown only if it fails.
run() {
    local out=$1 status=0
    shift
    "$@" > "$out" 2> "$tmp/stderr" || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$tmp/stderr" >&2
        echo "cluster bench: exit status $status from: $*" >&2
        [ "$status" -eq 1 ] && echo "cluster bench: (1: $bench_exit1)" >&2
        [ "$status" -eq 3 ] && echo "cluster bench: (3: the watchdog stopped a run that did not finish in time)" >&2
        exit 1
    fi
}

# check_count FILE RANKS REPS TOTAL: the count CSV's contract -- header, a
# startup row, RANKS rank rows plus a slowest and a run row per
# repetition, and the ranks' iterations adding up to TOTAL every time.
check_count() {
    awk -F, -v ranks="$2" -v reps="$3" -v total="$4" '
        function bad(why) { print "cluster bench: " why ": " $0 > "/dev/stderr"; failed = 1; exit 1 }
        NR == 1 { if ($0 != "type,rep,rank,size,host,pid,iterations,seconds") bad("unexpected header"); next }
        NF != 8 || $4 != ranks { bad("wrong number of fields, or another job size") }
        $1 == "startup" { startups++; next }
        $8 !~ /^[0-9]*\.?[0-9]+$/ || $8 <= 0 { bad("seconds must be positive") }
        $1 == "rank" { sum[$2] += $7; rows[$2]++; next }
        $1 == "run" || $1 == "slowest" { if ($7 != total) bad("reduced total is not " total); next }
        { bad("unexpected row type") }
        END {
            if (failed) exit 1
            if (startups != 1) { print "cluster bench: expected one startup row" > "/dev/stderr"; exit 1 }
            for (r = 1; r <= reps; r++)
                if (rows[r] != ranks || sum[r] != total) { print "cluster bench: repetition " r ": " rows[r] + 0 " rank rows adding up to " sum[r] + 0 ", expected " ranks " adding up to " total > "/dev/stderr"; exit 1 }
        }' "$1"
}

bench_scratch
steps=$(( ${#llist[@]} + 1 + 1 + 2 * target_reps + 4 ))

# a. The sweep: one cluster.sh run per layout (its empty run first).
echo "hosts,slots,ranks,transport,rep,seconds,slowest_s,startup_s" > "$tmp/cluster-runs.csv"
sweep_total=$((sweep_w * sweep_n))
sweep() {   # sweep LAYOUT TRANSPORT
    local h=${1%x*} s=${1#*x} t=$2
    local ranks=$((h * s))
    bench_step "count, $h host(s) x $s slot(s) = $ranks ranks, $t, $sweep_w x $sweep_n additions x $sweep_reps (+1 warm-up)"
    run "$tmp/one.csv" labs/10-cluster/cluster.sh --hosts "$h" --slots "$s" --transport "$t" -- \
        --workers "$sweep_w" --iterations "$sweep_n" --repeat "$sweep_reps" --warmup 1 \
        --timeout "$(timeout_for $((sweep_total * (sweep_reps + 1))))" --csv
    check_count "$tmp/one.csv" "$ranks" "$sweep_reps" "$sweep_total"
    awk -F, -v h="$h" -v s="$s" -v t="$t" '
        $1 == "startup" { startup = $8 }
        $1 == "slowest" { slowest[$2] = $8 }
        $1 == "run" { run[$2] = $8; n = $2 > n ? $2 : n }
        END { for (r = 1; r <= n; r++) printf "%s,%s,%d,%s,%d,%s,%s,%s\n", h, s, h * s, t, r, run[r], slowest[r], startup }
    ' "$tmp/one.csv" >> "$tmp/cluster-runs.csv"
}
for layout in "${llist[@]}"; do
    sweep "$layout" tcp
done
sweep 1x2 shm

# The speedup over 1 host x 1 slot (TCP) for the same W x N.
awk -F, -f scripts/stats.awk -f labs/10-cluster/summarize-speedup.awk "$tmp/cluster-runs.csv" > "$tmp/cluster-speedup-summary.csv"

# b. The target: count process and cluster 1 x 2, the same 2 x target_n
# additions, and count serial as the baseline of both speedups.
target_total=$((2 * target_n))
echo "config,rep,seconds" > "$tmp/cluster-target.csv"
# The serial baseline only turns times into speedups (the target compares
# count's and cluster's times pair by pair), so it counts a fifth of the
# additions and the report scales it: a counting loop's time is
# proportional to its additions (lab 02 checks that shape).
serial_n=$((target_n / 5))
bench_step "target: count --mode serial, 2 x $serial_n additions (a fifth, scaled by 5), 1 run"
run "$tmp/one.csv" "$BIN/count" --mode serial --workers 2 --iterations "$serial_n" --repeat 1 --warmup 0 \
    --timeout "$(timeout_for $((2 * serial_n)))" --csv
awk -F, 'NR > 1 { printf "count-serial,%d,%s\n", $5, $6 }' "$tmp/one.csv" >> "$tmp/cluster-target.csv"
echo "serial-scale,0,$((target_n / serial_n))" >> "$tmp/cluster-target.csv"
# count's processes and cluster's ranks take turns, one repetition each,
# so a slow spell of the machine (another VM, a frequency change) falls on
# both; the report compares each pair.
startup=
for ((r = 1; r <= target_reps; r++)); do
    bench_step "target $r/$target_reps: count --mode process, 2 workers x $target_n additions"
    run "$tmp/one.csv" "$BIN/count" --mode process --workers 2 --iterations "$target_n" --repeat 1 --warmup 0 \
        --timeout "$(timeout_for "$target_total")" --csv
    awk -F, -v r="$r" 'NR > 1 { printf "count-process,%d,%s\n", r, $6 }' "$tmp/one.csv" >> "$tmp/cluster-target.csv"
    bench_step "target $r/$target_reps: cluster, 1 host x 2 slots, 2 x $target_n additions"
    # The start-up is measured once (the first job's empty run) and
    # passed to the later jobs, which then skip their empty runs.
    run "$tmp/one.csv" labs/10-cluster/cluster.sh --hosts 1 --slots 2 -- \
        --workers 2 --iterations "$target_n" --repeat 1 --warmup 0 ${startup:+--startup "$startup"} \
        --timeout "$(timeout_for "$target_total")" --csv
    check_count "$tmp/one.csv" 2 1 "$target_total"
    startup=$(awk -F, '$1 == "startup" { print $8 }' "$tmp/one.csv")
    awk -F, -v r="$r" '$1 == "run" { printf "cluster-1x2,%d,%s\n", r, $8 } $1 == "startup" && r == 1 { printf "cluster-startup,0,%s\n", $8 }' \
        "$tmp/one.csv" >> "$tmp/cluster-target.csv"
done

# c. Ping-pong: TCP and shared memory, ranks on one host and on two.
echo "hosts,slots,transport,kind,bytes,roundtrips,rep,seconds,value" > "$tmp/cluster-pingpong.csv"
for layout in 1x2:tcp 1x2:shm 2x1:tcp 2x1:shm; do
    l=${layout%:*} t=${layout#*:}
    h=${l%x*} s=${l#*x}
    bench_step "ping-pong, $h host(s) x $s slot(s), $t, $roundtrips round trips x $ping_reps (+1 warm-up)"
    run "$tmp/one.csv" labs/10-cluster/cluster.sh --hosts "$h" --slots "$s" --transport "$t" -- \
        --experiment pingpong --roundtrips "$roundtrips" --repeat "$ping_reps" --warmup 1 --csv
    awk -F, -v reps="$ping_reps" '
        NR == 1 { if ($0 != "kind,host0,host1,bytes,roundtrips,rep,seconds") { print "cluster bench: unexpected header: " $0 > "/dev/stderr"; exit 1 }; next }
        NF != 7 || $7 <= 0 || ($1 != "latency" && $1 != "bandwidth") { print "cluster bench: bad row: " $0 > "/dev/stderr"; exit 1 }
        { rows++ }
        END { if (rows != 2 * reps) { print "cluster bench: expected " 2 * reps " rows, got " rows + 0 > "/dev/stderr"; exit 1 } }' "$tmp/one.csv"
    # value: microseconds per round trip, or MB/s (bytes moved both ways).
    awk -F, -v h="$h" -v s="$s" -v t="$t" 'NR > 1 {
        value = $1 == "latency" ? $7 / $5 * 1e6 : 2 * $4 * $5 / $7 / 1e6
        printf "%s,%s,%s,%s,%s,%s,%s,%s,%.6g\n", h, s, t, $1, $4, $5, $6, $7, value }' "$tmp/one.csv" >> "$tmp/cluster-pingpong.csv"
done
awk -F, -f scripts/stats.awk -f labs/10-cluster/summarize-pingpong.awk "$tmp/cluster-pingpong.csv" > "$tmp/cluster-pingpong-summary.csv"
rm -f "$tmp/one.csv" "$tmp/stderr"

bench_publish "$tmp"/cluster-*.csv
echo "cluster: wrote $OUT/cluster-runs.csv $OUT/cluster-target.csv $OUT/cluster-pingpong.csv and their summaries" >&2
