# summarize-cpython.awk: results/sched-cpython.csv -> one row per IO fraction
# and mode: median/min/max seconds and the speedup against the serial median
# at that fraction. Loaded after scripts/stats.awk.
# columns in: 1 mode 2 io_fraction 3 workers 4 tasks 5 cpu_ms 6 io_ms 7 rep 8 seconds
NR > 1 {
    k = $1 SUBSEP $2
    if (!(k in n)) order[++keys] = k
    n[k]++; v[k, n[k]] = $8; w[k] = $3
}
END {
    for (i = 1; i <= keys; i++) {
        k = order[i]; m = n[k]
        for (j = 1; j <= m; j++) a[j] = v[k, j]
        sort(a, m); med[k] = median(a, m); lo[k] = a[1]; hi[k] = a[m]
    }
    print "mode,io_fraction,workers,n,seconds_median,seconds_min,seconds_max,speedup"
    split("python-serial python-thread python-process", modes, " ")
    for (mo = 1; mo <= 3; mo++) for (i = 1; i <= keys; i++) {
        k = order[i]; split(k, f, SUBSEP)
        if (f[1] != modes[mo]) continue
        s = "python-serial" SUBSEP f[2]
        printf "%s,%s,%s,%d,%.6f,%.6f,%.6f,%.4f\n", f[1], f[2], w[k], n[k], med[k], lo[k], hi[k], (s in med) ? med[s] / med[k] : 0
    }
}
