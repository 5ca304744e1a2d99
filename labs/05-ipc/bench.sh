#!/usr/bin/env bash
# Lab 05 (E7, E8) benchmark: what a message between two processes costs.
#   a. queue throughput: one producer process, one consumer process, 8-byte
#      items, capacity 1 ... 1024, and in turn a mutex + condvar queue
#      between two threads at the same capacity -> results/ipc-queue.csv
#   b. round trip: queue, channel and raw pipe, in turn within each
#      repetition                               -> results/ipc-roundtrip.csv
#   c. bandwidth: channel send_bytes/recv_bytes vs a raw pipe of the same
#      capacity, in turn, 8 B ... 1 MiB messages -> results/ipc-bandwidth.csv
#   reduced by summarize.awk                    -> results/ipc-*-summary.csv
# Raw files hold the program's own --csv rows, one per repetition, with the
# repetition number and the derived rate added. Runs from the repository
# root wherever it is called from. SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start ipc "a message arrived wrong, lost or out of order"

# The default stays within ~40 s on 2 cores: capacity 1 is the slow point
# of (a) (~1 M items/s), 8-byte messages the slow point of (c) (a system
# call per message; the program caps them at 100,000 a repetition).
case $SIZE in
    quick)   capacities="1 64 1024"           messages=100000  q_repeat=3
             roundtrips=2000  r_repeat=3
             sizes="8 4096 65536 1048576"     b_repeat=3 ;;
    default) capacities="1 4 16 64 256 1024"  messages=500000  q_repeat=5
             roundtrips=10000 r_repeat=7
             sizes="8 64 512 4096 32768 65536 262144 1048576" b_repeat=5 ;;
    full)    capacities="1 4 16 64 256 1024"  messages=2000000 q_repeat=10
             roundtrips=50000 r_repeat=10
             sizes="8 64 512 4096 32768 65536 262144 1048576" b_repeat=10 ;;
esac
warmup=1
read -r -a clist <<< "$capacities"
read -r -a slist <<< "$sizes"

# run OUTFILE ARGS...: one invocation; its exit status reported, not ignored.
run() {
    local out=$1
    shift
    bench_run "$out" "$BIN/ipc" "$@" --warmup "$warmup" --timeout 600 --csv
}

# check FILE HEADER ROWS AWK-CONDITION-FOR-A-BAD-ROW WHY: the CSV contract of
# one invocation, so a changed format fails here and not as a wrong chart.
check() {
    local file=$1 header=$2 rows=$3
    awk -F, -v header="$header" -v rows="$rows" -v fields="$(awk -F, '{ print NF; exit }' <<< "$header")" "
        function bad(why) { print \"ipc bench: \" why \": \" \$0 > \"/dev/stderr\"; failed = 1; exit 1 }
        NR == 1 { if (\$0 != header) bad(\"unexpected header\"); next }
        NF != fields { bad(\"wrong number of fields\") }
        \$NF !~ /^[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?\$/ || \$NF <= 0 { bad(\"seconds must be positive\") }
        $4 { bad(\"$5\") }
        { n++ }
        END { if (!failed && n != rows) { print \"ipc bench: expected \" rows \" rows, got \" n + 0 > \"/dev/stderr\"; exit 1 } }
    " "$file"
}

bench_scratch
steps=$(( ${#clist[@]} + 1 + ${#slist[@]} + 1 ))

# a. Queue throughput, one capacity per invocation.
echo "transport,capacity,messages,rep,seconds,messages_per_s" > "$tmp/ipc-queue.csv"
# At the small capacities the condvar queue sleeps and wakes on nearly
# every message (~18 k/s at capacity 1): 20,000 messages per slot keep each
# run about a second there, and the queue and the condvar queue always move
# the same number at a capacity.
for c in "${clist[@]}"; do
    m=$((c * 20000 < messages ? c * 20000 : messages))
    bench_step "queue and threads-condvar in turn, capacity=$c, $m messages x $q_repeat (+$warmup warm-up)"
    run "$tmp/one.csv" --bench queue --capacity "$c" --messages "$m" --repeat "$q_repeat"
    check "$tmp/one.csv" "transport,capacity,messages,seconds" $((2 * q_repeat)) \
        "\$2 != $c || \$3 != $m || \$1 != (NR % 2 == 0 ? \"queue\" : \"threads-condvar\")" \
        "row for another configuration, or transports out of turn"
    awk -F, 'NR > 1 { printf "%s,%s,%s,%d,%s,%.6g\n", $1, $2, $3, int(NR / 2), $4, $3 / $4 }' "$tmp/one.csv" >> "$tmp/ipc-queue.csv"
done

# b. Round trips: the three transports alternate inside the program.
bench_step "round trip, queue / channel / raw pipe in turn, $roundtrips round trips x $r_repeat (+$warmup warm-up)"
run "$tmp/one.csv" --bench roundtrip --roundtrips "$roundtrips" --repeat "$r_repeat"
check "$tmp/one.csv" "transport,roundtrips,seconds" $((3 * r_repeat)) \
    "\$2 != $roundtrips || \$1 != (NR % 3 == 2 ? \"queue\" : NR % 3 == 0 ? \"channel\" : \"pipe\")" \
    "row for another configuration, or transports out of turn"
echo "transport,roundtrips,rep,seconds,us_per_roundtrip" > "$tmp/ipc-roundtrip.csv"
awk -F, 'NR > 1 { printf "%s,%s,%d,%s,%.6g\n", $1, $2, int((NR - 2) / 3) + 1, $3, $3 / $2 * 1e6 }' \
    "$tmp/one.csv" >> "$tmp/ipc-roundtrip.csv"

# c. Bandwidth, one message size per invocation; the program picks the
# message count (about 256 MiB a repetition, 16 to 100,000 messages).
echo "transport,size,messages,rep,seconds,mb_per_s" > "$tmp/ipc-bandwidth.csv"
for s in "${slist[@]}"; do
    bench_step "bandwidth, $s-byte messages, channel / raw pipe in turn x $b_repeat (+$warmup warm-up)"
    run "$tmp/one.csv" --bench bandwidth --size "$s" --repeat "$b_repeat"
    check "$tmp/one.csv" "transport,size,messages,seconds" $((2 * b_repeat)) \
        "\$2 != $s || \$3 !~ /^[1-9][0-9]*\$/ || \$1 != (NR % 2 == 0 ? \"channel\" : \"pipe\")" \
        "row for another configuration, or transports out of turn"
    awk -F, 'NR > 1 { printf "%s,%s,%s,%d,%s,%.6g\n", $1, $2, $3, int(NR / 2), $4, $2 * $3 / $4 / 1e6 }' \
        "$tmp/one.csv" >> "$tmp/ipc-bandwidth.csv"
done
rm -f "$tmp/one.csv"

# e. CPython's multiprocessing.Queue (capacities 64 and 1024, fewer
# messages: ~0.3 M/s) and Pipe, on the same machine, when python3 exists:
# rows added to the same raw files, transport cpython-queue / cpython-pipe.
bench_step "CPython's multiprocessing.Queue and Pipe (labs/05-ipc/ipc.py)"
if command -v python3 > /dev/null 2>&1; then
    py_messages=$(( messages / 10 )); [ "$py_messages" -ge 1000 ] || py_messages=1000
    for c in 64 1024; do
        bench_run "$tmp/py.csv" python3 labs/05-ipc/ipc.py --bench queue --capacity "$c" \
            --messages "$py_messages" --repeat "$q_repeat" --warmup "$warmup" --csv
        check "$tmp/py.csv" "transport,capacity,messages,seconds" "$q_repeat" "\$1 != \"cpython-queue\"" "not a CPython row"
        awk -F, 'NR > 1 { printf "%s,%s,%s,%d,%s,%.6g\n", $1, $2, $3, NR - 1, $4, $3 / $4 }' "$tmp/py.csv" >> "$tmp/ipc-queue.csv"
    done
    bench_run "$tmp/py.csv" python3 labs/05-ipc/ipc.py --bench roundtrip --roundtrips "$roundtrips" \
        --repeat "$r_repeat" --warmup "$warmup" --csv
    check "$tmp/py.csv" "transport,roundtrips,seconds" "$r_repeat" "\$1 != \"cpython-pipe\"" "not a CPython row"
    awk -F, 'NR > 1 { printf "%s,%s,%d,%s,%.6g\n", $1, $2, NR - 1, $3, $3 / $2 * 1e6 }' "$tmp/py.csv" >> "$tmp/ipc-roundtrip.csv"
    rm -f "$tmp/py.csv"
else
    echo "ipc bench: python3 not found: CPython's Queue and Pipe are not measured" >&2
fi

# d. Reduce: medians, spread, and the ratios to the raw pipe of the same
# repetition.
echo "ipc: reducing -> $OUT/ipc-*-summary.csv" >&2
for kind in queue roundtrip bandwidth; do
    awk -F, -v kind="$kind" -f scripts/stats.awk -f labs/05-ipc/summarize.awk "$tmp/ipc-$kind.csv" > "$tmp/ipc-$kind-summary.csv"
done

bench_publish "$tmp"/ipc-*.csv
echo "ipc: wrote $OUT/ipc-queue.csv $OUT/ipc-roundtrip.csv $OUT/ipc-bandwidth.csv and their summaries" >&2
