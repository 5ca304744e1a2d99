# summarize-nice.awk: results/sched-nice.csv -> one row per nice value:
# worker-1's share of the two workers' time (median, min, max over the
# repetitions) against its weight's share, and the ratio worker-0/worker-1.
# Loaded after scripts/stats.awk.
NR > 1 {
    k = $1; n[k]++; v[k, n[k]] = $5; e[k] = $6
    if (!(k in seen)) { seen[k] = 1; order[++keys] = k }
}
END {
    print "nice,n,share1_median,share1_min,share1_max,expected_share1,ratio_median,ratio_expected"
    for (i = 1; i <= keys; i++) {
        k = order[i]; m = n[k]
        for (j = 1; j <= m; j++) a[j] = v[k, j]
        sort(a, m); med = median(a, m)
        printf "%s,%d,%.5f,%.5f,%.5f,%s,%.4f,%.4f\n", k, m, med, a[1], a[m], e[k], (1 - med) / med, (1 - e[k]) / e[k]
    }
}
