# Lab 10: reduce results/cluster-pingpong.csv (one row per layout, kind and
# repetition) to one row per layout and kind: the median value and its
# min-max (latency: microseconds per round trip; bandwidth: MB/s).
# Usage: awk -F, -f scripts/stats.awk -f summarize-pingpong.awk RAW > SUMMARY
# Input:  hosts,slots,transport,kind,bytes,roundtrips,rep,seconds,value
# Output: hosts,slots,transport,kind,bytes,roundtrips,n,median,min,max
# POSIX awk only (Debian's awk is mawk).
NR == 1 { next }
{
    key = $1 "," $2 "," $3 "," $4 "," $5 "," $6
    if (!(key in n)) order[++keys] = key
    v[key, ++n[key]] = $9
}
END {
    print "hosts,slots,transport,kind,bytes,roundtrips,n,median,min,max"
    for (k = 1; k <= keys; k++) {
        key = order[k]; m = n[key]
        for (i = 1; i <= m; i++) a[i] = v[key, i]
        sort(a, m)
        printf "%s,%d,%.6g,%.6g,%.6g\n", key, m, median(a, m), a[1], a[m]
    }
}
