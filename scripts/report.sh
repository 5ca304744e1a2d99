#!/usr/bin/env bash
# Write results/REPORT.md: the machine, then each lab's section, in lab order.
# Each labs/*/report.sh prints its own markdown from its own results, so a lab
# added later needs no change here.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

[ -f results/machine.txt ] || scripts/machine.sh
out=results/REPORT.md
{
    echo "# Processes vs threads: benchmark report"
    echo
    echo "Measured by \`make bench\` on this machine (\`results/machine.txt\`):"
    echo
    echo '```'
    cat results/machine.txt
    echo '```'
    for lab in labs/*/report.sh; do
        echo
        bash "$lab"
    done
} > "$out.tmp"
mv "$out.tmp" "$out"     # never leave a half-written report behind
echo "report: $out" >&2
