#!/usr/bin/env bash
# `make bench` (after building): describe the machine, run every lab's bench.sh,
# draw the charts, write results/REPORT.md. SIZE=quick|default|full is passed
# through to the labs; BIN (default build/bin) says where the binaries are.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
export SIZE=${SIZE:-default}

scripts/machine.sh
labs=(labs/*/bench.sh)
for i in "${!labs[@]}"; do
    echo "[lab $((i + 1))/${#labs[@]}] ${labs[$i]%/bench.sh} (SIZE=$SIZE)" >&2
    started=$SECONDS
    bash "${labs[$i]}"
    echo "[lab $((i + 1))/${#labs[@]}] ${labs[$i]%/bench.sh}: $((SECONDS - started)) s" >&2
done
scripts/plots.sh
scripts/report.sh
echo "bench: done in ${SECONDS} s; see results/REPORT.md" >&2
