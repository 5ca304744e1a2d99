#!/usr/bin/env bash
# Print lab 05's section of results/REPORT.md (markdown on stdout): the charts,
# tables, and findings computed from results/ipc-*-summary.csv -- every ratio
# and every "met"/"missed" against the targets comes from the data.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
files="results/ipc-queue-summary.csv results/ipc-roundtrip-summary.csv results/ipc-bandwidth-summary.csv"

echo "## Lab 05 — ipc: the queue, the channel, and what a message costs (E7, E8)"
echo
for f in $files; do
    if [ ! -f "$f" ]; then
        echo "_No results yet ($f is missing): run \`make bench\`._"
        exit 0
    fi
done
# shellcheck disable=SC2086
awk -F, -f labs/05-ipc/report.awk $files
