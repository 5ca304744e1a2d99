# Lab 06: reduce the raw cost rows (one per repetition) to one row per
# (method, clients): the median and min-max of updates per second, and the
# median time of one update as one client sees it (seconds x clients / ops).
# Usage: awk -F, -f scripts/stats.awk -f labs/06-share/summarize.awk RAW > SUMMARY
# Input rows (after a header): method,clients,ops,rep,seconds,ops_per_s
# Output rows: method,clients,ops,n,ops_s_median,ops_s_min,ops_s_max,us_per_update
# Grouped by method in the order of first appearance (one line per method
# in the chart). POSIX awk only (Debian's awk is mawk).
NR == 1 { next }
{
    key = $1 "," $2 "," $3
    if (!(key in count)) { keys[++nkeys] = key; method[key] = $1; clients[key] = $2; ops[key] = $3 }
    if (!($1 in seen)) { seen[$1] = 1; methods[++nmethods] = $1 }
    n = ++count[key]; rates[key, n] = $6; secs[key, n] = $5
}
END {
    print "method,clients,ops,n,ops_s_median,ops_s_min,ops_s_max,us_per_update"
    for (m = 1; m <= nmethods; m++) for (k = 1; k <= nkeys; k++) {
        key = keys[k]; if (method[key] != methods[m]) continue
        n = count[key]
        for (i = 1; i <= n; i++) { v[i] = rates[key, i]; s[i] = secs[key, i] }
        sort(v, n); sort(s, n)
        printf "%s,%d,%.6g,%.6g,%.6g,%.6g\n", key, n, median(v, n), v[1], v[n], median(s, n) * clients[key] / ops[key] * 1e6
    }
}
