# Lab 10: reduce results/cluster-runs.csv (one row per layout and repetition)
# to one row per layout: the median run time and its min-max, the layout's
# start-up (its empty run), and the speedup over 1 host x 1 slot over TCP
# for the same W x N: that layout's median divided by this one's (bars: the
# base median divided by this layout's max and min).
# Usage: awk -F, -f scripts/stats.awk -f summarize-speedup.awk RUNS > SUMMARY
# Input:  hosts,slots,ranks,transport,rep,seconds,slowest_s,startup_s
# Output: hosts,slots,ranks,transport,n,median_s,min_s,max_s,startup_s,speedup,speedup_min,speedup_max
# POSIX awk only (Debian's awk is mawk).
NR == 1 { next }
{
    key = $1 "," $2 "," $3 "," $4
    if (!(key in n)) order[++keys] = key
    v[key, ++n[key]] = $6
    startup[key] = $8
}
END {
    print "hosts,slots,ranks,transport,n,median_s,min_s,max_s,startup_s,speedup,speedup_min,speedup_max"
    for (k = 1; k <= keys; k++) {
        key = order[k]; m = n[key]
        for (i = 1; i <= m; i++) a[i] = v[key, i]
        sort(a, m)
        med[key] = median(a, m); lo[key] = a[1]; hi[key] = a[m]
    }
    base = med["1,1,1,tcp"]
    if (base == "") { print "summarize-speedup: no 1 x 1 tcp layout to compare with" > "/dev/stderr"; exit 1 }
    for (k = 1; k <= keys; k++) {
        key = order[k]
        printf "%s,%d,%.6f,%.6f,%.6f,%s,%.4f,%.4f,%.4f\n", key, n[key], med[key], lo[key], hi[key],
            startup[key], base / med[key], base / hi[key], base / lo[key]
    }
}
