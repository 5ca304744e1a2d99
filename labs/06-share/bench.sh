#!/usr/bin/env bash
# Lab 06 (E11, E12) benchmark: the same counter updates shared six ways.
#   share --experiment cost: 1, 2, 4 ... 2 x cores client processes through
#   manager proxies, a process-shared mutex, an atomic, padded counters, a
#   queue and channels; then the manager again with a connection per call;
#   then CPython's Manager dict proxy and Value (share.py) when python3
#   exists                                        -> results/share-cost.csv
#   reduced by summarize.awk                      -> results/share-cost-summary.csv
# Raw rows are the programs' own --csv rows with the repetition number and
# the rate added. Runs from the repository root wherever it is called from.
# SIZE=quick|default|full.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start share "a total came out wrong, or the manager left something behind"

cores=$(nproc)
case $SIZE in
    quick)   repeat=1  workers=2 ;;
    default) repeat=3  workers=$((2 * cores)) ;;
    full)    repeat=10 workers=$((2 * cores)) ;;
esac
[ "$workers" -le 64 ] || workers=64
warmup=1

bench_scratch
steps=3

# check FILE ROWS: the CSV contract of one invocation.
check() {
    awk -F, -v rows="$2" '
        function bad(why) { print "share bench: " why ": " $0 > "/dev/stderr"; failed = 1; exit 1 }
        NR == 1 { if ($0 != "method,clients,ops,seconds") bad("unexpected header"); next }
        NF != 4 { bad("wrong number of fields") }
        $2 !~ /^[1-9][0-9]*$/ || $3 !~ /^[1-9][0-9]*$/ { bad("clients and ops must be whole numbers") }
        $4 !~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ || $4 <= 0 { bad("seconds must be positive") }
        { n++ }
        END { if (!failed && n != rows) { print "share bench: expected " rows " rows, got " n + 0 > "/dev/stderr"; exit 1 } }
    ' "$1"
}
sweeps=$(awk -v w="$workers" 'BEGIN { for (c = 1; c < w; c *= 2) n++; print n + 1 }')

bench_step "cost: 6 methods, 1 to $workers clients x $repeat (+$warmup warm-up)"
bench_run "$tmp/c.csv" "$BIN/share" --experiment cost --workers "$workers" \
    --repeat "$repeat" --warmup "$warmup" --timeout 600 --csv
check "$tmp/c.csv" $((6 * sweeps * repeat))

bench_step "cost: the manager with a new connection per call"
bench_run "$tmp/p.csv" "$BIN/share" --experiment cost --method manager --connect-per-call \
    --workers "$workers" --repeat "$repeat" --warmup "$warmup" --timeout 600 --csv
check "$tmp/p.csv" $((sweeps * repeat))

bench_step "CPython's Manager dict proxy and Value (labs/06-share/share.py)"
files=("$tmp/c.csv" "$tmp/p.csv")
if command -v python3 > /dev/null 2>&1; then
    bench_run "$tmp/py.csv" python3 labs/06-share/share.py --workers "$workers" --repeat "$repeat" --csv
    check "$tmp/py.csv" $((2 * sweeps * repeat))
    files+=("$tmp/py.csv")
else
    echo "share bench: python3 not found: CPython's Manager and Value are not measured" >&2
fi

# Raw rows with a repetition number per (method, clients) and the rate.
echo "method,clients,ops,rep,seconds,ops_per_s" > "$tmp/share-cost.csv"
for f in "${files[@]}"; do
    awk -F, 'NR > 1 { k = $1 "," $2; printf "%s,%s,%s,%d,%s,%.6g\n", $1, $2, $3, ++rep[k], $4, $3 / $4 }' "$f"
done >> "$tmp/share-cost.csv"
echo "share: reducing -> $OUT/share-cost-summary.csv" >&2
awk -F, -f scripts/stats.awk -f labs/06-share/summarize.awk "$tmp/share-cost.csv" > "$tmp/share-cost-summary.csv"
rm -f "$tmp"/c.csv "$tmp"/p.csv "$tmp"/py.csv
bench_publish "$tmp"/share-cost.csv "$tmp"/share-cost-summary.csv
echo "share: wrote $OUT/share-cost.csv and $OUT/share-cost-summary.csv" >&2
