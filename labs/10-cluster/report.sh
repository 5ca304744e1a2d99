#!/usr/bin/env bash
# Print lab 10's section of results/REPORT.md (markdown on stdout): the charts,
# tables and findings computed from results/cluster-*.csv -- every ratio and
# every "met"/"missed" against the targets comes from the data.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
files="results/cluster-speedup-summary.csv results/cluster-target.csv results/cluster-pingpong-summary.csv"

echo "## Lab 10 — cluster: the counting experiment across hosts, on Open MPI (E17)"
echo
for f in $files; do
    if [ ! -f "$f" ]; then
        echo "_No results yet ($f is missing): run \`make bench\` (it needs Open MPI: \`make deps\`)._"
        exit 0
    fi
done
cores=$(sed -n 's/^cores: //p' results/machine.txt 2>/dev/null || true)
[ -n "$cores" ] || cores=$(nproc)
# Lab 05's round trips, measured by its own bench, when present.
ipc=results/ipc-roundtrip-summary.csv
[ -f "$ipc" ] || ipc=/dev/null
# shellcheck disable=SC2086
awk -F, -v cores="$cores" -v ipc_file="$ipc" -f labs/10-cluster/report.awk $files "$ipc"
