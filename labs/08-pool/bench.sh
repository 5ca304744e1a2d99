#!/usr/bin/env bash
# Lab 08 (E3, E4, E10) benchmark: what a pool costs and when it pays off.
#   a. empty-task throughput: apply_async and apply on a process pool, a
#      thread pool and minipool.c's small pool, and a raw pipe ping-pong
#      measured in the same run; and,
#      when python3 is installed, CPython's multiprocessing.Pool on the same
#      empty tasks (labs/08-pool/pool.py)           -> results/pool-throughput.csv
#   b. speedup vs work per task (1 us .. 10 ms): process pool, thread pool,
#      fork-per-task and thread-per-task against serial
#                                                   -> results/pool-speedup.csv
#   c. E10: per-task cost of a fresh process, a fresh thread, a reused worker
#                                                   -> results/pool-spawn.csv
#   d. a worker killed mid-task: how soon its task gets the error
#                                                   -> results/pool-kill.csv
#   reduced: results/pool-throughput-summary.csv, results/pool-speedup-summary.csv
# Raw files hold the program's own --csv rows, one per repetition. Runs from
# the repository root wherever it is called from. SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start pool "a result came back wrong or missing"

# async: apply_async tasks per repetition (apply and the ping-pong use a
# tenth: each is a full round trip); reps: repetitions per point; works: the
# work per task swept by b, in microseconds (log-spaced, 1 us to 10 ms).
# pyasync: the CPython Pool's apply_async tasks (it moves ~20 k/s, so fewer).
case $SIZE in
    quick)   async=20000   reps=2 works="1 100 10000"                          spawn=100 kills=2  pyasync=2000  ;;
    default) async=100000  reps=5 works="1 3 10 30 100 300 1000 3000 10000"    spawn=300 kills=5  pyasync=10000 ;;
    full)    async=1000000 reps=9 works="1 2 5 10 20 50 100 200 500 1000 2000 5000 10000" spawn=2000 kills=20 pyasync=100000 ;;
esac
read -r -a wlist <<< "$works"
round_trips=$((async / 10))

# run OUTFILE ARGS...: one invocation, its exit status checked (bench_run).
run() {
    local out=$1
    shift
    # The program's watchdog (default 60 s) must not stop a slow but healthy
    # run: SIZE=full on a slow machine takes minutes per invocation.
    bench_run "$out" "$BIN/pool" "$@" --timeout 1800 --csv
}

# check OUTFILE HEADER ROWS AWK-CONDITIONS: the CSV contract, so a changed
# format or a broken run fails here and not as a wrong chart. `bad(why)`
# reports the row and stops.
check() {
    local out=$1 header=$2 rows=$3 body=$4
    awk -F, -v header="$header" -v want="$rows" '
        function bad(why) { print "pool bench: " why ": " $0 > "/dev/stderr"; failed = 1; exit 1 }
        function num(v) { return v ~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ }
        function count(v) { return v ~ /^[0-9]+$/ }
        NR == 1 { if ($0 != header) bad("unexpected header"); next }
        { rows++ }
        '"$body"'
        END { if (!failed && rows != want) { print "pool bench: expected " want " rows, got " rows + 0 > "/dev/stderr"; exit 1 } }
    ' "$out"
}

bench_scratch
python=0
command -v python3 >/dev/null && python=1
steps=$(( 3 + python + ${#wlist[@]} + 2 ))

# a. Throughput, one kind per step; the program interleaves the three
# measurements repetition by repetition, so a slow patch hits all alike.
header="kind,api,tasks,seconds"
echo "$header" > "$tmp/pool-throughput.csv"
# minipool: the readable pool of minipool.c, beside the fast one.
for kind in process thread minipool; do
    bench_step "throughput, $kind pool, $async empty apply_async tasks, $round_trips apply and pipe round trips, $reps reps"
    run "$tmp/one.csv" --experiment throughput --kind "$kind" --tasks "$async" --repeat "$reps"
    check "$tmp/one.csv" "$header" $((3 * reps)) '
        NF != 4 || $1 != "'"$kind"'" { bad("row for another configuration") }
        $2 == "apply_async" && $3 != '"$async"' { bad("apply_async: wrong task count") }
        ($2 == "apply" || $2 == "pipe-pingpong") && $3 != '"$round_trips"' { bad("wrong round-trip count") }
        $2 != "apply_async" && $2 != "apply" && $2 != "pipe-pingpong" { bad("unknown api") }
        !num($4) || $4 <= 0 { bad("seconds must be positive") }'
    tail -n +2 "$tmp/one.csv" >> "$tmp/pool-throughput.csv"
done

# a'. The real thing, when python3 is installed: CPython's Pool, same tasks.
if [ "$python" = 1 ]; then
    bench_step "CPython multiprocessing.Pool, $pyasync empty apply_async tasks, $((pyasync / 10)) apply, $reps reps"
    status=0
    python3 labs/08-pool/pool.py --csv --tasks "$pyasync" --repeat "$reps" > "$tmp/one.csv" || status=$?
    [ "$status" -eq 0 ] || { echo "pool bench: exit status $status from labs/08-pool/pool.py" >&2; exit 1; }
    check "$tmp/one.csv" "$header" $((2 * reps)) '
        NF != 4 || $1 != "cpython-process" { bad("row for another configuration") }
        !($2 == "apply_async" && $3 == '"$pyasync"') && !($2 == "apply" && $3 == '"$((pyasync / 10))"') { bad("unknown api or wrong count") }
        !num($4) || $4 <= 0 { bad("seconds must be positive") }'
    tail -n +2 "$tmp/one.csv" >> "$tmp/pool-throughput.csv"
else
    echo "pool: python3 not found: skipping the CPython comparison" >&2
fi

# b. Speedup vs work per task. The program picks the task count so that the
# serial run takes ~40 ms (at least 4 tasks per worker) and checks every
# task's result against the expected count.
header="kind,work_us,tasks,workers,repeat,seconds"
echo "$header" > "$tmp/pool-speedup.csv"
for w in "${wlist[@]}"; do
    bench_step "speedup, work $w us per task: serial, process pool, thread pool, fork-per-task, thread-per-task, $reps reps"
    run "$tmp/one.csv" --experiment speedup --work-us "$w" --repeat "$reps"
    check "$tmp/one.csv" "$header" $((5 * reps)) '
        NF != 6 || $2 != '"$w"' { bad("row for another configuration") }
        $1 !~ /^(serial|process-pool|thread-pool|fork-per-task|thread-per-task)$/ { bad("unknown kind") }
        !count($3) || $3 < 1 || !count($4) || $4 < 1 || !count($5) || $5 < 1 { bad("tasks, workers, repeat must be counts") }
        !num($6) || $6 <= 0 { bad("seconds must be positive") }'
    tail -n +2 "$tmp/one.csv" >> "$tmp/pool-speedup.csv"
done

# c. E10: a fresh process or thread per tiny task vs a reused pool worker.
bench_step "E10 spawn cost, $spawn empty tasks per method, $reps reps"
header="method,tasks,workers,repeat,seconds,per_task_us"
run "$tmp/pool-spawn.csv" --experiment spawn-cost --tasks "$spawn" --repeat "$reps"
check "$tmp/pool-spawn.csv" "$header" $((4 * reps)) '
    NF != 6 || $2 != '"$spawn"' { bad("row for another configuration") }
    $1 !~ /^(fork-per-task|thread-per-task|process-pool|thread-pool)$/ { bad("unknown method") }
    !num($5) || $5 <= 0 || !num($6) || $6 <= 0 { bad("times must be positive") }
    ($6 - $5 / $2 * 1e6) ^ 2 > (1e-3 * $6) ^ 2 + 1e-6 { bad("per_task_us != seconds / tasks") }'

# d. The killed worker: the victim task must get an error, every other task
# its result (the program exits 1 otherwise), and the error's delay is kept.
bench_step "kill a worker mid-task, $kills trials"
header="trial,tasks,workers,victim_task,victim_pid,signal,error_seconds,others_ok"
run "$tmp/pool-kill.csv" --experiment kill-worker --repeat "$kills"
check "$tmp/pool-kill.csv" "$header" "$kills" '
    NF != 8 || $1 != rows { bad("trial " rows " expected") }
    $6 != 9 { bad("the victim was not killed by SIGKILL") }
    $8 != 1 { bad("another task lost its result") }
    !num($7) || $7 <= 0 { bad("error_seconds must be positive") }'

# Reduce: medians and spread per point.
echo "pool: reducing -> $OUT/pool-throughput-summary.csv $OUT/pool-speedup-summary.csv" >&2
awk -F, -f scripts/stats.awk -f labs/08-pool/summarize-throughput.awk "$tmp/pool-throughput.csv" > "$tmp/pool-throughput-summary.csv"
awk -F, -f scripts/stats.awk -f labs/08-pool/summarize-speedup.awk "$tmp/pool-speedup.csv" > "$tmp/pool-speedup-summary.csv"
rm -f "$tmp/one.csv"

bench_publish "$tmp"/pool-*.csv
echo "pool: wrote $OUT/pool-throughput.csv $OUT/pool-speedup.csv $OUT/pool-spawn.csv $OUT/pool-kill.csv and the summaries" >&2
