#!/usr/bin/env bash
# Print lab 09's section of results/REPORT.md (markdown on stdout): the charts,
# the herd table, and findings computed from results/server-*.csv, with the
# targets (C server >= 0.8x nginx and >= 20x CPython, small body, keep-alive,
# W = 2; io_ms 5, W = 2: T = 8 >= 6x T = 1; a SIGKILLed worker replaced within
# 100 ms with only its in-flight requests failing; every hostile request
# answered as HTTP says) checked against the data.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."

echo "## Lab 09 — server: the pre-fork model under load, beside nginx and CPython (E14)"
echo
files=()
for f in server-threads-summary server-concurrency-summary server-peers-summary \
         server-h2load server-herd server-kill server-hostile server-cpu; do
    if [ -f "results/$f.csv" ]; then files+=("results/$f.csv"); else files+=(/dev/null); fi
done
cores=$(sed -n 's/^cores: //p' results/machine.txt 2>/dev/null || true)
[ -n "$cores" ] || cores=$(nproc)
awk -F, -v cores="$cores" -f labs/09-server/report.awk "${files[@]}"
