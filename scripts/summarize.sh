#!/usr/bin/env bash
# summarize.sh BASELINE < rows > summary
# Reduce raw benchmark rows, one per repetition, to one row per (config, W):
# n, min, median, max, mean of the seconds, and the speedup against the
# BASELINE config at the same W (baseline median / this median; the range
# uses the baseline median over this config's max and min).
#   input rows (no header): config,mode,gil,workers,iterations,seconds
#   output: config,mode,gil,workers,iterations,n,min_s,median_s,max_s,mean_s,
#           speedup,speedup_min,speedup_max
# POSIX awk + sort only (Debian's awk is mawk: no asort).
set -euo pipefail
export LC_ALL=C
baseline=${1:?usage: summarize.sh BASELINE_CONFIG < rows}

# Sorting each group's times makes min, median and max positions. The
# baseline sorts first, so its medians are known before the configs that
# need them.
awk -F, -v baseline="$baseline" '{ print ($1 == baseline ? 1 : 2) "," $0 }' |
sort -t, -k1,1n -k2,2 -k5,5n -k7,7g |
awk -F, -v baseline="$baseline" '
    function flush(   median, sum, i, s) {
        if (n == 0) return
        median = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        for (i = 1; i <= n; i++) sum += v[i]
        if (config == baseline) base[w] = median
        s = base[w]
        printf "%s,%s,%s,%d,%.0f,%d,%.6g,%.6g,%.6g,%.6g,%s,%s,%s\n", config, mode, gil, w, iterations, n,
            v[1], median, v[n], sum / n,
            s ? sprintf("%.4f", s / median) : "", s ? sprintf("%.4f", s / v[n]) : "", s ? sprintf("%.4f", s / v[1]) : ""
        n = 0
    }
    BEGIN { print "config,mode,gil,workers,iterations,n,min_s,median_s,max_s,mean_s,speedup,speedup_min,speedup_max" }
    $2 != config || $5 != w { flush(); config = $2; mode = $3; gil = $4; w = $5; iterations = $6 }
    { v[++n] = $7 }
    END { flush() }'
