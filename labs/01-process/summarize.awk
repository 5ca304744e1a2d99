# summarize.awk: the start-cost rows reduced to one line per configuration,
# after scripts/stats.awk:
#   awk -F, -f scripts/stats.awk -f labs/01-process/summarize.awk RAW > SUMMARY
# RAW: method,parent_mib,rep,seconds_per_start  (C, results/process-start.csv)
#   or method,rep,seconds_per_start             (CPython, process-python.csv)
# SUMMARY: method,parent_mib,n,us_median,us_min,us_max (parent_mib 0 for
# CPython), in the order the configurations first appear.
NR == 1 { python = NF == 3; next }
{
    key = python ? $1 ",0" : $1 "," $2
    if (!(key in count)) order[++keys] = key
    count[key]++
    value[key, count[key]] = $NF * 1e6
}
END {
    print "method,parent_mib,n,us_median,us_min,us_max"
    for (k = 1; k <= keys; k++) {
        key = order[k]
        n = count[key]
        for (i = 1; i <= n; i++) a[i] = value[key, i]
        sort(a, n)
        printf "%s,%d,%.3f,%.3f,%.3f\n", key, n, median(a, n), a[1], a[n]
    }
}
