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
# POSIX awk only (Debian's awk is mawk: no asort, so a small sort is here).
set -euo pipefail
export LC_ALL=C
baseline=${1:?usage: summarize.sh BASELINE_CONFIG < rows}

awk -F, -v baseline="$baseline" '
    function sort(a, n,   i, j, t) {   # insertion sort: groups are small
        for (i = 2; i <= n; i++) {
            t = a[i]
            for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
            a[j + 1] = t
        }
    }
    function median(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    {
        key = $1 SUBSEP $4
        if (!(key in count)) { keys[++nkeys] = key; head[key] = $1 "," $2 "," $3 "," $4 "," $5 }
        count[key]++
        seconds[key, count[key]] = $7
        rep[key, count[key]] = $6
        if ($1 == baseline) base[$4, $6] = $7
    }
    END {
        for (k = 1; k <= nkeys; k++) {
            key = keys[k]; n = count[key]; split(key, part, SUBSEP); w = part[2]
            sum = 0; r = 0
            for (i = 1; i <= n; i++) {
                v[i] = seconds[key, i]; sum += v[i]
                if ((w, rep[key, i]) in base && v[i] > 0) ratio[++r] = base[w, rep[key, i]] / v[i]
            }
            sort(v, n); sort(ratio, r)
            # A sort key first (baseline first), removed below.
            printf "%d,%s,%d,%.6g,%.6g,%.6g,%.6g", part[1] != baseline, head[key], n, v[1], median(v, n), v[n], sum / n
            if (r > 0) printf ",%.4f,%.4f,%.4f\n", median(ratio, r), ratio[1], ratio[r]
            else printf ",,,\n"
        }
    }' |
# Each config's rows together, W ascending, the baseline's first: the order
# charts draw lines in and reports read.
sort -t, -k1,1n -k2,2 -k5,5n | cut -d, -f2- |
{ echo "config,mode,gil,workers,iterations,n,min_s,median_s,max_s,mean_s,speedup,speedup_min,speedup_max"; cat; }
