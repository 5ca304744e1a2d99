#!/usr/bin/env bash
# Print lab 02's section of results/REPORT.md (markdown on stdout): the charts,
# a table of medians, and findings computed from the data, so the words on the
# slide always match this machine's numbers.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
summary=results/count-summary.csv
whole=results/count-hyperfine.csv

echo "## Lab 02 — count: CPU-bound work as serial, threads, threads under a GIL, processes (E1)"
echo
if [ ! -f "$summary" ]; then
    echo "_No results yet: run \`make bench\`._"
    exit 0
fi
cores=$(sed -n 's/^cores: //p' results/machine.txt 2>/dev/null || true)
[ -n "$cores" ] || cores=$(nproc)
[ -f "$whole" ] || whole=/dev/null

awk -F, -v cores="$cores" -v summary="$summary" -f labs/02-count/report.awk "$summary" "$whole"

# The real-CPython comparison, when the bench could run it.
python_summary=results/count-cpython-summary.csv
if [ -f "$python_summary" ]; then
    c_iterations=$(awk -F, 'NR == 2 { print $5 }' "$summary")
    py_version=$(python3 --version 2>/dev/null || echo "CPython")
    awk -F, -v cores="$cores" -v c_iterations="$c_iterations" -v py_version="$py_version" \
        -f labs/02-count/report-cpython.awk "$summary" "$python_summary"
fi
