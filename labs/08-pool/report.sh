#!/usr/bin/env bash
# Print lab 08's section of results/REPORT.md (markdown on stdout): the charts,
# a table, and findings computed from results/pool-*.csv, with the targets
# (empty-task apply_async >= 500 k tasks/s, apply <= 1.5x a raw pipe round
# trip, a killed worker's task told within 1 s) checked against the data.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

echo "## Lab 08 — pool: what a worker pool costs, and when it pays off (E3, E4, E5, E10, E15)"
echo
files=()
for f in pool-throughput-summary pool-speedup-summary pool-spawn pool-kill; do
    if [ -f "results/$f.csv" ]; then files+=("results/$f.csv"); else files+=(/dev/null); fi
done
cores=$(sed -n 's/^cores: //p' results/machine.txt 2>/dev/null || true)
[ -n "$cores" ] || cores=$(nproc)
awk -F, -v cores="$cores" -f scripts/stats.awk -f labs/08-pool/report.awk "${files[@]}"
