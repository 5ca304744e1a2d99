#!/usr/bin/env bash
# Print lab 04's section of results/REPORT.md (markdown on stdout): the charts,
# a table, and findings computed from results/tickets-summary.csv, so the words
# on the slide always match this machine's numbers.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
summary=results/tickets-summary.csv

echo "## Lab 04 — tickets: the race, the lock, and the cost (E9)"
echo
if [ ! -f "$summary" ]; then
    echo "_No results yet: run \`make bench\`._"
    exit 0
fi
awk -F, -f labs/04-tickets/report.awk "$summary"
