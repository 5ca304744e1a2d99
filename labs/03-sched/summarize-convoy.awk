# summarize-convoy.awk: results/sched-convoy.csv -> one row per setting:
# the IO thread's request latency (median, p90, min, max) and the median's
# excess over the "alone" setting. Loaded after scripts/stats.awk.
NR > 1 {
    k = $1; if (!(k in n)) order[++keys] = k
    n[k]++; v[k, n[k]] = $4
}
END {
    print "setting,n,latency_median_ms,latency_p90_ms,latency_min_ms,latency_max_ms,excess_ms"
    for (i = 1; i <= keys; i++) {
        k = order[i]; m = n[k]
        for (j = 1; j <= m; j++) a[j] = v[k, j]
        sort(a, m); med = median(a, m)
        if (i == 1) alone = med
        printf "%s,%d,%.4f,%.4f,%.4f,%.4f,%.4f\n", k, m, med, a[int(0.9 * (m - 1)) + 1], a[1], a[m], med - alone
    }
}
