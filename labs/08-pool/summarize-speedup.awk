# Lab 08: reduce results/pool-speedup.csv (one row per repetition) to one row
# per (kind, work per task): the time per task's min, median and max (us), and the speedup
# over serial at the same work per task, per task: (serial median / serial
# tasks) / (median / tasks) -- a fresh process per task runs fewer tasks
# than the pools; its spread uses that kind's max and min.  pays_off is 1 on the
# smallest work per task from which that kind's median speedup stays above 1.
# serial_us is the measured serial time per task at that work (the work is
# calibrated once per run, so it is close to work_us, not equal).
# Usage: awk -F, -f scripts/stats.awk -f summarize-speedup.awk pool-speedup.csv > SUMMARY
#   (sort and median are in scripts/stats.awk)
# Input rows: kind,work_us,tasks,workers,repeat,seconds.  POSIX awk only.
NR == 1 { next }
{
    key = $1 SUBSEP ($2 + 0)
    if (!(key in count)) {
        if (!(($2 + 0) in seenw)) { seenw[$2 + 0] = 1; ws[++nw] = $2 + 0 }
        if (!($1 in seenk)) { seenk[$1] = 1; ks[++nk] = $1 }
        tasks[key] = $3; workers[key] = $4
    }
    secs[key, ++count[key]] = ($6 + 0) / $3   # seconds per task
}
END {
    sort(ws, nw)
    for (k = 1; k <= nk; k++) for (i = 1; i <= nw; i++) {
        key = ks[k] SUBSEP ws[i]
        if (!(key in count)) continue
        n = count[key]
        for (j = 1; j <= n; j++) s[j] = secs[key, j]
        sort(s, n); lo[key] = s[1]; med[key] = median(s, n); hi[key] = s[n]
    }
    # pays_off: walking down from the largest work, the last point still > 1.
    for (k = 1; k <= nk; k++) {
        first = 0
        for (i = nw; i >= 1; i--) {
            key = ks[k] SUBSEP ws[i]; serial = "serial" SUBSEP ws[i]
            if (!(key in med) || !(serial in med)) break
            if (med[serial] / med[key] <= 1) break
            first = i
        }
        if (first && ks[k] != "serial") pays[ks[k] SUBSEP ws[first]] = 1
    }
    print "kind,work_us,tasks,workers,runs,per_task_us_min,per_task_us_median,per_task_us_max,speedup,speedup_min,speedup_max,pays_off,serial_us"
    for (k = 1; k <= nk; k++) for (i = 1; i <= nw; i++) {
        key = ks[k] SUBSEP ws[i]; serial = "serial" SUBSEP ws[i]
        if (!(key in med) || !(serial in med)) continue
        printf "%s,%g,%d,%d,%d,%.6g,%.6g,%.6g,%.4g,%.4g,%.4g,%d,%.6g\n", ks[k], ws[i],
            tasks[key], workers[key], count[key], lo[key] * 1e6, med[key] * 1e6, hi[key] * 1e6,
            med[serial] / med[key], med[serial] / hi[key], med[serial] / lo[key], (key in pays),
            med[serial] * 1e6
    }
}
