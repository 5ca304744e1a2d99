# Lab 08: reduce results/pool-throughput.csv (one row per repetition) to one
# row per (kind, api): runs, the median time, and the rate in tasks per
# second and the cost per task in microseconds, median with min and max.
# Usage: awk -F, -f scripts/stats.awk -f summarize-throughput.awk pool-throughput.csv > SUMMARY
#   (sort and median are in scripts/stats.awk)
# Input rows: kind,api,tasks,seconds.  POSIX awk only (Debian's is mawk).
NR == 1 { next }
{
    key = $1 "," $2
    if (!(key in count)) { keys[++nkeys] = key; tasks[key] = $3 }
    secs[key, ++count[key]] = $4 + 0
}
END {
    print "kind,api,tasks,runs,seconds_median,rate_median,rate_min,rate_max,per_task_us_median,per_task_us_min,per_task_us_max"
    for (k = 1; k <= nkeys; k++) {
        key = keys[k]; n = count[key]
        for (i = 1; i <= n; i++) s[i] = secs[key, i]
        sort(s, n); m = median(s, n); t = tasks[key]
        printf "%s,%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", key, t, n, m,
            t / m, t / s[n], t / s[1], m / t * 1e6, s[1] / t * 1e6, s[n] / t * 1e6
    }
}
