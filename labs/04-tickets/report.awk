# Lab 04 report: turn results/tickets-summary.csv into markdown: a table and
# findings whose every number and every claim comes from the data.
# Usage: awk -F, -f report.awk results/tickets-summary.csv
# Rows: experiment,store,lock,mode,buyers,stock,read_delay_ms,write_delay_ms,trials,
#       oversold_min,oversold_median,oversold_max,oversold_mean,oversold_trials,
#       seconds_min,seconds_median,seconds_max,seconds_mean,analytic_s,early_median
# POSIX awk only (Debian's default awk is mawk).

# Times: 3 significant digits, in ms below a second. Oversold: "18 (15–19)".
function t(v) { return v >= 1 ? sprintf("%.2f s", v) : sprintf("%.3g ms", v * 1000) }
function tr(k) { return t(smin[k]) == t(smax[k]) ? t(smed[k]) " in every trial" : t(smed[k]) " (" t(smin[k]) "–" t(smax[k]) ")" }
function over(k) { return omin[k] == omax[k] ? sprintf("%g in every trial", omed[k]) : sprintf("%g (%g–%g)", omed[k], omin[k], omax[k]) }
function cell(k) { return omin[k] == omax[k] ? sprintf("%g", omed[k]) : sprintf("%g (%g–%g)", omed[k], omin[k], omax[k]) }
function x(v) { return sprintf("%.2fx", v) }
function abs(v) { return v < 0 ? -v : v }
function plural(n, word) { return n " " word (n == 1 ? "" : "s") }
function K(e, st, l, m, b) { return e SUBSEP st SUBSEP l SUBSEP m SUBSEP b }
# Least-squares slope of the median seconds vs buyers, for one configuration.
function slope(e, st, l, m,   i, k, n, sx, sy, sxx, sxy) {
    n = sx = sy = sxx = sxy = 0
    for (i = 1; i <= nb; i++) {
        k = K(e, st, l, m, bs[i])
        if (!(k in smed)) continue
        n++; sx += bs[i]; sy += smed[k]; sxx += bs[i] * bs[i]; sxy += bs[i] * smed[k]
    }
    return n < 2 ? 0 : (n * sxy - sx * sy) / (n * sxx - sx * sx)
}

NR > 1 {
    k = K($1, $2, $3, $4, $5 + 0)
    trials[k] = $9; omin[k] = $10; omed[k] = $11; omax[k] = $12; ohits[k] = $14
    smin[k] = $15; smed[k] = $16; smax[k] = $17; analytic[k] = $19; early[k] = $20
    stock = $6; read_ms = $7; write_ms = $8
    if ($1 == "race") race_trials = $9; else lock_trials = $9
    if (!(($5 + 0) in seen)) { seen[$5 + 0] = 1; bs[++nb] = $5 + 0 }
}

END {
    if (nb == 0) { print "_The summary holds no rows: rerun `make bench`._"; exit }
    for (i = 2; i <= nb; i++) { v = bs[i]; for (j = i - 1; j >= 1 && bs[j] > v; j--) bs[j + 1] = bs[j]; bs[j + 1] = v }
    bmax = bs[nb]; d = read_ms + write_ms; window = d / 1000
    hold = read_ms                      # with the lock, a buyer who finds none left holds it this long
    doc = (20 in seen) ? 20 : bmax      # the documents' 20 buyers, when measured

    # The four racing configurations, in the order the chart's key lists them.
    split("shm file shm file", rst, " "); split("process process thread thread", rmo, " ")
    split("processes, shared memory|processes, file|threads, shared memory|threads, file", rname, "|")
    # The lock comparison: no lock, mutex, file lock.
    split("shm none|shm mutex|file file", lk, "|"); split("no lock|mutex|file lock", lname, "|")

    printf "N buyers share a stock of %s. Each reads the stock, waits %g ms, and if a\n", plural(stock, "ticket"), read_ms
    printf "ticket is left takes it: decrements, waits %g ms and writes the stock back.\n", write_ms
    print  "Without a lock (`--lock none`, buggy on purpose) every buyer who reads before"
    print  "the first write-back sees a ticket and \"buys\" it: the ticket is oversold"
    print  "(oversold = sold − stock). With a lock a buyer holds it from the read to the"
    print  "write-back, so the buyers go one at a time. The documents use 20 buyers,"
    if (read_ms == 100 && write_ms == 200)
        print "1 ticket, 100 ms + 200 ms: so does this run (SIZE=full)."
    else
        printf "1 ticket, 100 ms + 200 ms; here the delays are %.3gx shorter, so that the\nlocked sales take seconds, not minutes.\n", 300 / d
    printf "Each point is the median of %s without a lock (%s in the lock\n", plural(race_trials, "trial"), plural(lock_trials, "trial")
    print  "comparison), with the min–max range; a time is one whole sale, first buyer"
    print  "started to last buyer joined."
    print ""
    print "![Tickets oversold vs buyers](../plots/tickets-oversold.svg)"
    print ""
    print "![Elapsed time vs buyers, with and without the lock](../plots/tickets-elapsed.svg)"
    print ""
    print "| buyers | oversold, no lock: processes, shm | processes, file | threads, shm | threads, file | time (processes): no lock | mutex | file lock | N × read + sales × write |"
    print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= nb; i++) {
        b = bs[i]; line = "| " b
        for (c = 1; c <= 4; c++) {
            k = K("race", rst[c], "none", rmo[c], b)
            line = line " | " ((k in omed) ? cell(k) : "–")
        }
        for (c = 1; c <= 3; c++) {
            split(lk[c], p, " "); k = K("lock", p[1], p[2], "process", b)
            line = line " | " ((k in smed) ? t(smed[k]) : "–")
        }
        print line " | " t((b * read_ms + (b < stock ? b : stock) * write_ms) / 1000) " |"
    }
    print ""
    print "Findings (computed from `results/tickets-summary.csv`):"
    print ""

    # 1. The race at the documents' size, in all four configurations.
    if (K("race", "shm", "none", "process", doc) in omed) {
        worst = doc - stock; all_worst = 1; line = ""
        for (c = 1; c <= 4; c++) {
            k = K("race", rst[c], "none", rmo[c], doc)
            if (!(k in omed)) continue
            if (omin[k] < worst) all_worst = 0
            line = line (line == "" ? "" : "; ") rname[c] ": " over(k)
        }
        k = K("race", "shm", "none", "process", doc)
        same = 1
        for (c = 2; c <= 4; c++) {
            o = K("race", rst[c], "none", rmo[c], doc)
            if (!(o in omed) || omin[o] != omin[k] || omax[o] != omax[k] || omin[k] != omax[k]) same = 0
        }
        printf "- Without a lock, %d buyers%s oversold the %s", doc, doc == 20 ? " (the documents' setting)" : "", plural(stock, "ticket")
        if (same) printf " by %g in every one of the %s, in all four configurations (processes and threads, the stock in shared memory or in a file)", omed[k], plural(trials[k], "trial")
        else printf " (median over %s, min–max) — %s", plural(trials[k], "trial"), line
        if (all_worst) printf ": the worst possible, every time. Every buyer read before anyone wrote back, and every buyer bought."
        else printf ". The worst possible is %d (every buyer buys).", worst
        # Does the store matter? Compare the medians with the trial-to-trial spread.
        diff = spread = 0
        for (c = 1; c <= 3; c += 2) {
            a = K("race", "shm", "none", rmo[c], doc); f = K("race", "file", "none", rmo[c], doc)
            if (!(a in omed) || !(f in omed)) continue
            if (abs(omed[a] - omed[f]) > diff) diff = abs(omed[a] - omed[f])
            if (omax[a] - omin[a] > spread) spread = omax[a] - omin[a]
            if (omax[f] - omin[f] > spread) spread = omax[f] - omin[f]
        }
        if (diff == 0) print " Where the stock lives does not matter: shared memory and file give the same medians."
        else if (diff <= spread) printf " Where the stock lives does not matter: shared memory and file medians differ by at most %g, within the spread of the trials (%g).\n", diff, spread
        else printf " The store matters here: shared memory and file medians differ by up to %g, more than the spread of the trials (%g).\n", diff, spread
    }

    # 2. How often the race oversold at all.
    total = hits = nclean = 0; clean = ""
    for (i = 1; i <= nb; i++) for (c = 1; c <= 4; c++) {
        k = K("race", rst[c], "none", rmo[c], bs[i])
        if (!(k in omed)) continue
        total += trials[k]; hits += ohits[k]
        if (ohits[k] < trials[k] && ++nclean <= 6)
            clean = clean (clean == "" ? "" : "; ") sprintf("N = %d, %s: %d of %d", bs[i], rname[c], trials[k] - ohits[k], trials[k])
    }
    if (total && hits == total)
        printf "- Every one of the %d trials without a lock oversold, from %d buyers up: the race is not rare, it is the rule.\n", total, bs[1]
    else if (total && hits == 0)
        printf "- None of the %d trials without a lock oversold: on this machine the buyers never overlapped.\n", total
    else if (total)
        printf "- %d of the %d trials without a lock oversold; in the others the buyers happened not to overlap (trials without an oversale: %s%s). The race depends on timing: it shows up often, not always.\n",
            hits, total, clean, (nclean > 6 ? sprintf("; and %d more", nclean - 6) : "")

    # 3. The largest N: how close to the worst case, and the start-up cost.
    possible = bmax - stock
    kp = K("race", "shm", "none", "process", bmax); kt = K("race", "shm", "none", "thread", bmax)
    if ((kp in omed) && (kt in omed) && possible > 0) {
        fp = omed[kp] / possible; ft = omed[kt] / possible
        sp = slope("race", "shm", "none", "process") * 1000; st = slope("race", "shm", "none", "thread") * 1000
        printf "- At N = %d at most %d can be oversold: processes oversold a median of %g (%.0f%%), threads %g (%.0f%%) (shared memory).",
            bmax, possible, omed[kp], 100 * fp, omed[kt], 100 * ft
        printf " Starting a buyer costs time: each extra buyer adds %.2f ms to an unlocked sale with processes, %.2f ms with threads (least-squares slope over N = %d–%d).", sp, st, bs[1], bmax
        for (c = 1; c <= 2; c++) {
            k = c == 1 ? kp : kt; f = c == 1 ? fp : ft; who = c == 1 ? "Processes" : "Threads"
            if (f >= 0.8) continue
            if (smed[k] > 2 * window)
                printf " %s fall short because the last of them start too late: the whole unlocked sale of %d took %s, against a %g ms read-to-write window; a median of only %g of the %d read the stock before the first write-back, and those that started after it found the ticket gone: the oversale stops growing with N.",
                    who, bmax, t(smed[k]), d, early[k], bmax
            else
                printf " %s fall short although the whole sale took only %s (the window is %g ms).", who, t(smed[k]), d
        }
        if (fp >= 0.8 && ft >= 0.8) printf " Both are near the worst case: nearly every buyer read before the first write-back."
        print ""
    }

    # 4. The lock makes it correct.
    ltotal = lbad = lmax = 0; detail = ""
    for (c = 2; c <= 3; c++) {
        split(lk[c], p, " "); n = 0
        for (i = 1; i <= nb; i++) {
            k = K("lock", p[1], p[2], "process", bs[i])
            if (!(k in omed)) continue
            n += trials[k]; lbad += ohits[k]; if (omax[k] > lmax) lmax = omax[k]
        }
        ltotal += n
        if (n) detail = detail (detail == "" ? "" : ", ") lname[c] ": " n
    }
    if (ltotal && lbad == 0)
        printf "- With the lock, oversold is 0 in every one of the %d locked trials (%s), from %d to %d buyers: the lock closes the race.\n", ltotal, detail, bs[1], bmax
    else if (ltotal)
        printf "- BUG: with the lock %d of %d trials oversold (up to %g): the lock does not cover the read–decide–write.\n", lbad, ltotal, lmax

    # 5. The price at the largest N, against the analytic serial time.
    km = K("lock", "shm", "mutex", "process", bmax); kf = K("lock", "file", "file", "process", bmax); kn = K("lock", "shm", "none", "process", bmax)
    if ((km in smed) && (kn in smed)) {
        r = smed[km] / analytic[km]
        sales = bmax < stock ? bmax : stock
        printf "- The price: with the mutex %d buyers took %s, %s the analytic %d × %g ms + %d × %g ms = %s (every buyer reads; only a buyer who buys waits to write)",
            bmax, tr(km), x(r), bmax, read_ms, sales, write_ms, t(analytic[km])
        if (r >= 0.9 && r <= 1.2) printf ": the buyers went one at a time."
        else if (r > 1.2) printf ": one at a time, and slower still (%.2f ms per buyer more).", (smed[km] - analytic[km]) / bmax * 1000
        else printf ": less than one at a time would take, so the lock did not serialize the sale (unexpected)."
        if (kf in smed) printf " The file lock: %s, %s.", tr(kf), x(smed[kf] / analytic[kf])
        printf " Without the lock the same %d buyers took %s, %s faster, and wrong: a median of %g tickets oversold.\n",
            bmax, t(smed[kn]), sprintf("%.2gx", smed[km] / smed[kn]), omed[kn]

        # 6. Per buyer: the slope of the locked time vs N, against read + write.
        sm = slope("lock", "shm", "mutex", "process") * 1000; sf = slope("lock", "file", "file", "process") * 1000
        printf "- Each extra buyer adds %.2f ms with the mutex", sm
        if (kf in smed) printf " and %.2f ms with the file lock", sf
        printf " (least-squares slope over N = %d–%d), against the %g ms each buyer who finds no ticket left holds the lock: ", bs[1], bmax, hold
        lo = hi = sm - hold
        if (kf in smed) { if (sf - hold < lo) lo = sf - hold; if (sf - hold > hi) hi = sf - hold }
        extra = lo == hi ? sprintf("%.2f ms per buyer (%.1f%%)", hi, 100 * hi / hold) : sprintf("%.2f–%.2f ms per buyer (%.1f–%.1f%%)", lo, hi, 100 * lo / hold, 100 * hi / hold)
        if (lo >= -0.05 * hold)
            printf "serializing costs the whole time every buyer holds the lock; start-up, lock hand-off and timer overshoot add %s%s.\n", hi <= 0.05 * hold ? "only " : "", extra
        else
            print "less than the time held, so part of each sale overlapped (unexpected with a lock)."

        # 7. The same sale at the documents' own delays, extrapolated from the
        # per-buyer costs measured here.
        if (read_ms != 100 || write_ms != 200) {
            locked = 20 * (0.1 + (sm - hold) / 1000) + stock * 0.2; racing = 0.3 + 20 * sp / 1000
            if (sp > 0)
                printf "- At the documents' own delays (100 ms + 200 ms), with the per-buyer costs measured here, 20 buyers would take about %s with the lock and %s without it: correct, but %.0fx slower.\n",
                    t(locked), t(racing), locked / racing
        }
    }
}
