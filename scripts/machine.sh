#!/usr/bin/env bash
# Describe the machine the numbers come from: REPORT.md and every chart cite it,
# so slides made on another machine never pass off someone else's timings.
#   scripts/machine.sh          writes results/machine.txt ("key: value" lines)
#   scripts/machine.sh --label  prints the one-line label for chart titles
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

# lscpu knows the model name on more architectures than /proc/cpuinfo does.
cpu=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }' || true)
[ -n "$cpu" ] || cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[ -n "$cpu" ] || cpu=$(uname -m)
# "(R)", "(TM)" and runs of spaces only make titles longer.
cpu=$(printf '%s\n' "$cpu" | sed 's/([RrTtMm]*)//g; s/  */ /g; s/^ //; s/ $//')
cores=$(nproc)
label="$cpu, $cores cores"

if [ "${1:-}" = --label ]; then
    printf '%s\n' "$label"
    exit 0
fi

memory=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
compiler=$("${CC:-cc}" --version 2>/dev/null | head -n 1 || echo unknown)
# "-dirty" means the *sources* differ from the commit; the outputs that
# `make bench` itself rewrites (results/, charts) do not count.
if revision=$(git rev-parse --short HEAD 2>/dev/null); then
    if [ -n "$(git status --porcelain -- . ':!results' ':!plots/*.svg' ':!plots/*.png')" ]; then
        revision="$revision-dirty"
    fi
else
    revision="none (no commit yet)"
fi

mkdir -p results
cat > results/machine.txt <<END
label: $label
cpu: $cpu
cores: $cores
memory: $memory
kernel: $(uname -srm)
load: $(cut -d" " -f1-3 /proc/loadavg) (1/5/15-min load averages before the run)
compiler: $compiler
date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
revision: $revision
END
echo "machine: $label -> results/machine.txt" >&2
