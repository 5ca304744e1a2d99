#!/usr/bin/env bash
# summarize.sh BASELINE < rows > summary
# Reduce raw benchmark rows, one per repetition, to one row per (config, W):
# n, min, median, max and mean of the seconds, and the speedup against the
# BASELINE config at the same W.
#
# The speedup is computed per repetition -- baseline seconds / config seconds
# of the same repetition -- and summarised by its median, min and max. The
# labs interleave their configurations repetition by repetition, so a pair
# shares the machine's state: the ratio's spread then shows both the
# baseline's and the config's noise, not just one of them.
#   input rows (no header): config,mode,gil,workers,iterations,rep,seconds
#   output: config,mode,gil,workers,iterations,n,min_s,median_s,max_s,mean_s,
#           speedup,speedup_min,speedup_max
# POSIX awk only (Debian's awk is mawk); the program is scripts/summarize.awk.
set -euo pipefail
export LC_ALL=C
baseline=${1:?usage: summarize.sh BASELINE_CONFIG < rows}

here=$(dirname "$0")
awk -F, -v baseline="$baseline" -f "$here/stats.awk" -f "$here/summarize.awk" |
# Each config's rows together, W ascending, the baseline's first: the order
# charts draw lines in and reports read.
sort -t, -k1,1n -k2,2 -k5,5n | cut -d, -f2- |
{ echo "config,mode,gil,workers,iterations,n,min_s,median_s,max_s,mean_s,speedup,speedup_min,speedup_max"; cat; }
