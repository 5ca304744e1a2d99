# Lab 09: reduce repetitions to medians and spread, per configuration.
# Usage: awk -F, -f scripts/stats.awk -v keys=1,2,4 -v rps=10 -v p99=13 \
#            -f labs/09-server/summarize.awk RAW.csv
# keys: the columns naming a configuration (kept, in first-seen order);
# rps, p99: the columns of requests/s and p99 latency.  Output columns: the
# key columns, runs, rps_median, rps_min, rps_max, p99_median, p99_min, p99_max.
BEGIN { OFS = ","; nk = split(keys, k, ",") }
NR == 1 {
    line = ""
    for (i = 1; i <= nk; i++) line = line $(k[i]) ","
    print line "runs,rps_median,rps_min,rps_max,p99_us_median,p99_us_min,p99_us_max"
    next
}
{
    key = ""
    for (i = 1; i <= nk; i++) key = key $(k[i]) ","
    if (!(key in n)) order[++groups] = key
    m = ++n[key]
    r[key, m] = $rps + 0
    p[key, m] = $p99 + 0
}
END {
    for (g = 1; g <= groups; g++) {
        key = order[g]
        for (i = 1; i <= n[key]; i++) { a[i] = r[key, i]; b[i] = p[key, i] }
        sort(a, n[key]); sort(b, n[key])
        printf "%s%d,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f\n", key, n[key], median(a, n[key]),
            a[1], a[n[key]], median(b, n[key]), b[1], b[n[key]]
    }
}
