# summarize.awk: the program of scripts/summarize.sh (see there), loaded
# after scripts/stats.awk (sort, median).
{
    key = $1 SUBSEP $4
    if (!(key in count)) { keys[++nkeys] = key; head[key] = $1 "," $2 "," $3 "," $4 "," $5 }
    count[key]++
    seconds[key, count[key]] = $7
    rep[key, count[key]] = $6
    if ($1 == baseline) base[$4, $6] = $7
}
END {
    for (k = 1; k <= nkeys; k++) {
        key = keys[k]; n = count[key]; split(key, part, SUBSEP); w = part[2]
        sum = 0; r = 0
        for (i = 1; i <= n; i++) {
            v[i] = seconds[key, i]; sum += v[i]
            if ((w, rep[key, i]) in base && v[i] > 0) ratio[++r] = base[w, rep[key, i]] / v[i]
        }
        sort(v, n); sort(ratio, r)
        # A sort key first (baseline first), removed below.
        printf "%d,%s,%d,%.6g,%.6g,%.6g,%.6g", part[1] != baseline, head[key], n, v[1], median(v, n), v[n], sum / n
        if (r > 0) printf ",%.4f,%.4f,%.4f\n", median(ratio, r), ratio[1], ratio[r]
        else printf ",,,\n"
    }
}