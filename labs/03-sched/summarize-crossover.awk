# summarize-crossover.awk: results/sched-crossover.csv -> one row per sweep,
# IO fraction, mode and worker count: median/min/max seconds and the speedup
# against serial (the median of the serial runs at that fraction, same sweep).
# Loaded after scripts/stats.awk.
# columns in: 1 sweep 2 fraction 3 mode 4 gil 5 io 6 io_fraction 7 workers
#             8 tasks 9 cpu_ms 10 io_ms 11 rep 12 seconds 13 total
NR > 1 {
    label = $3 ($4 == 1 ? "+gil" : "")
    k = $1 SUBSEP $2 SUBSEP label SUBSEP $7
    if (!(k in n)) order[++keys] = k
    n[k]++; v[k, n[k]] = $12
    if (label == "serial") { s = $1 SUBSEP $2; sn[s]++; sv[s, sn[s]] = $12 }
}
END {
    for (s in sn) {
        m = sn[s]; for (j = 1; j <= m; j++) a[j] = sv[s, j]
        sort(a, m); serial[s] = median(a, m)
    }
    print "sweep,fraction,mode,workers,n,seconds_median,seconds_min,seconds_max,speedup"
    # grouped by sweep and mode (then in run order), so that each line of a
    # chart is one run of consecutive rows
    split("serial thread thread+gil process", modes, " ")
    for (sw = 1; sw <= 2; sw++) for (mo = 1; mo <= 4; mo++) for (i = 1; i <= keys; i++) {
        k = order[i]; split(k, f, SUBSEP); m = n[k]
        if (f[1] != (sw == 1 ? "fraction" : "workers") || f[3] != modes[mo]) continue
        for (j = 1; j <= m; j++) a[j] = v[k, j]
        sort(a, m); med = median(a, m)
        s = f[1] SUBSEP f[2]
        printf "%s,%s,%s,%s,%d,%.6f,%.6f,%.6f,%.4f\n", f[1], f[2], f[3], f[4], m, med, a[1], a[m], (s in serial) ? serial[s] / med : 0
    }
}
