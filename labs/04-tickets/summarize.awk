# Lab 04: reduce the raw trial rows of tickets-race.csv (first file) and
# tickets-lock.csv (second file) to one row per (experiment, store, lock,
# mode, buyers): the trials, oversold min/median/max/mean and in how many
# trials it was > 0, seconds min/median/max/mean, and the analytic time of a
# fully serialized sale, buyers x read delay + sales x write delay (only a
# buyer who buys waits to write; sales = min(buyers, stock)), and the median
# of early (buyers who read the stock before the first write-back).
# Usage: awk -F, -v read_ms=R -v write_ms=W -f scripts/stats.awk \
#            -f summarize.awk RACE LOCK > SUMMARY   (sort, median: stats.awk)
# Input rows: store,lock,mode,buyers,stock,trial,sold,left,oversold,seconds,
#             recorded,killed,early
# POSIX awk only (Debian's awk is mawk).
FNR == 1 { file++; next }            # the header of each file
{
    experiment = file == 1 ? "race" : "lock"
    config = experiment "," $1 "," $2 "," $3
    if (!(config in order)) order[config] = ++nconfigs
    key = config "," $4
    if (!(key in count)) { keys[++nkeys] = key; stock[key] = $5; rank[key] = file "," order[config] "," $4 }
    n = ++count[key]
    over[key, n] = $9 + 0
    secs[key, n] = $10 + 0
    ear[key, n] = $13 + 0
}
END {
    print "experiment,store,lock,mode,buyers,stock,read_delay_ms,write_delay_ms,trials," \
          "oversold_min,oversold_median,oversold_max,oversold_mean,oversold_trials," \
          "seconds_min,seconds_median,seconds_max,seconds_mean,analytic_s,early_median"
    fflush()                         # the header before the sorted rows
    for (k = 1; k <= nkeys; k++) {
        key = keys[k]; n = count[key]
        split(key, part, ","); b = part[5]
        osum = ssum = hits = 0
        for (i = 1; i <= n; i++) {
            o[i] = over[key, i]; s[i] = secs[key, i]; e[i] = ear[key, i]
            osum += o[i]; ssum += s[i]; if (o[i] > 0) hits++
        }
        sort(o, n); sort(s, n); sort(e, n)
        # A sort key first (experiment, configuration in run order, buyers),
        # removed by the caller's sort | cut.
        printf "%s|%s,%d,%s,%s,%d,%g,%g,%g,%.3g,%d,%.6g,%.6g,%.6g,%.6g,%.6g,%g\n", rank[key], key, stock[key],
            read_ms, write_ms, n, o[1], median(o, n), o[n], osum / n, hits,
            s[1], median(s, n), s[n], ssum / n, (b * read_ms + (b + 0 < stock[key] + 0 ? b : stock[key]) * write_ms) / 1000, median(e, n) | "sort -t, -k1,1n -k2,2n -k3,3n | cut -d'|' -f2-"
    }
}
