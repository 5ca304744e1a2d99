# Lab 02 report: turn results/count-summary.csv (first file) and
# results/count-hyperfine.csv (second, may be /dev/null) into markdown: a table
# and findings whose every number and every claim comes from the data.
# Usage: awk -F, -v cores=N -v summary=SUMMARY -f report.awk SUMMARY HYPERFINE
# POSIX awk only (Debian's default awk is mawk).

# Formatting: seconds to 4 significant digits, speedups as 1.93x, ranges as
# 1.90–1.95, millisecond differences signed, counts with thousands separators.
function s(v) { return sprintf("%.4g", v) }
function x(v) { return sprintf("%.2fx", v) }
function ms(v) { return sprintf("%+.2f ms", v * 1000) }
function range(c, w) { return sprintf("%.2f–%.2f", speedmin[c, w], speedmax[c, w]) }
function sp(c, w) { return x(speed[c, w]) " (" range(c, w) ")" }
function abs(v) { return v < 0 ? -v : v }
function big(n,   out) {
    n = sprintf("%.0f", n)
    while (length(n) > 3) { out = "," substr(n, length(n) - 2) out; n = substr(n, 1, length(n) - 3) }
    return n out
}

FILENAME == summary && FNR > 1 {
    c = $1; w = $4 + 0
    med[c, w] = $8; lo[c, w] = $7; hi[c, w] = $9
    speed[c, w] = $11; speedmin[c, w] = $12; speedmax[c, w] = $13
    reps = $6; N = $5
    if (!(w in seen)) { seen[w] = 1; ws[++nw] = w }   # serial rows come first, W ascending
    next
}
FILENAME != summary && FNR > 1 { hmed[$1, $4 + 0] = $6; hruns = $5 }

END {
    if (nw == 0 || !(("serial", 1) in med)) { print "_The summary holds no serial W = 1 row: rerun `make bench`._"; exit }
    cores += 0; wmax = ws[nw]

    printf "Each of W workers counts to N = %s. In-process times (the program's own\n", big(N)
    printf "monotonic clock, first worker start to last join) are the median of %d\n", reps
    print  "interleaved repetitions, with the min–max range. Speedup = serial time /"
    print  "time, paired repetition by repetition at the same W: the median of those"
    print  "ratios, with their min–max (1.00x = no gain)."
    if (hruns) printf "Whole-program times come from hyperfine (%d runs per point).\n", hruns
    print ""
    print "![Wall time vs workers](../plots/count-time.svg)"
    print ""
    print "![Speedup vs workers](../plots/count-speedup.svg)"
    print ""
    print "| workers | serial (s) | threads (s) | threads + GIL (s) | processes (s) |"
    print "|---:|---:|---:|---:|---:|"
    for (i = 1; i <= nw; i++) {
        w = ws[i]
        printf "| %d | %s | %s (%s) | %s (%s) | %s (%s) |\n", w, s(med["serial", w]),
            s(med["thread", w]), x(speed["thread", w]), s(med["thread+gil", w]), x(speed["thread+gil", w]),
            s(med["process", w]), x(speed["process", w])
    }
    print ""
    print "Findings (computed from `results/count-summary.csv` and `results/count-hyperfine.csv`):"
    print ""

    printf "- One worker counts at %.2f G increments/s (serial, W = 1: %s s median, %s–%s s).\n",
        N / med["serial", 1] / 1e9, s(med["serial", 1]), s(lo["serial", 1]), s(hi["serial", 1])

    # The W values worth a sentence: the core count, the documents' 5, the largest.
    k = 0
    if (cores > 1 && ("serial", cores) in med) pick[++k] = cores
    if (cores != 5 && ("serial", 5) in med) pick[++k] = 5
    if (wmax != 5 && wmax != cores) pick[++k] = wmax
    for (i = 1; i <= k; i++) {
        w = pick[i]
        note = w == cores ? " (= the " cores " cores)" : w == 5 ? " (the documents' setting)" : " (the largest W measured)"
        printf "- %d workers%s, speedup over serial: processes %s, threads %s, threads under the GIL %s.\n",
            w, note, sp("process", w), sp("thread", w), sp("thread+gil", w)
    }

    # Parallel CPU work should stop gaining at the core count.
    best = 0
    for (i = 1; i <= nw; i++) if (speed["process", ws[i]] > best) { best = speed["process", ws[i]]; bestw = ws[i] }
    ideal = wmax < cores ? wmax : cores
    printf "- Processes peak at %s (W = %d), %.0f%% of the ideal %dx that %d cores allow", x(best), bestw, 100 * best / ideal, ideal, cores
    if (best < 0.8 * ideal)
        printf "; far below it: starting a worker costs too much next to this little work (N = %s)", big(N)
    else if (wmax > cores) {
        pmin = 1e9; pmax = 0
        for (i = 1; i <= nw; i++) if (ws[i] > cores) {
            v = speed["process", ws[i]]
            if (v < pmin) pmin = v
            if (v > pmax) pmax = v
        }
        printf "; with more workers than cores they stay at %.2f–%.2fx: %s", pmin, pmax,
            pmax < cores * 1.1 ? "the extra workers only share the same cores" : "they still gain (more cores than nproc reports?)"
    }
    print "."

    # The GIL: threads should behave like serial; without it, like processes.
    gmin = 1e9; gmax = 0
    for (i = 1; i <= nw; i++) {
        v = speed["thread+gil", ws[i]]
        if (v < gmin) gmin = v
        if (v > gmax) gmax = v
    }
    if (gmax < 1.1)
        printf "- Under the emulated GIL threads never beat serial (%.2f–%.2fx over all W): one thread runs at a time, which is the documents' result (\"threads gave nothing\").", gmin, gmax
    else
        printf "- Unexpected: threads under the emulated GIL reached %s; the lock should hold them near 1x.", x(gmax)
    w = cores <= wmax ? cores : wmax
    d = speed["thread", w] - speed["process", w]
    if (abs(d) < 0.1 * speed["process", w])
        printf " Without the GIL the same threads match processes (W = %d: threads %s, processes %s).\n", w, x(speed["thread", w]), x(speed["process", w])
    else
        printf " Without the GIL threads differ from processes by %+.2fx at W = %d.\n", d, w

    # Cost of a process over a thread, seen inside the program at W = 1.
    d = med["process", 1] - med["thread", 1]
    spread = (hi["process", 1] - lo["process", 1]) + (hi["thread", 1] - lo["thread", 1])
    printf "- In-process at W = 1, processes minus threads: %s (fork + wait vs pthread_create + join)%s.\n",
        ms(d), abs(d) < spread ? ", within the run-to-run spread (" sprintf("%.2f ms", spread * 1000) ")" : ""

    # Whole program vs in-process at W = 1, where the work is smallest: the
    # difference is what the program's own clock cannot see (exec, loading,
    # set-up, exit). Compared with the spread so noise is not sold as a cost.
    if (("serial", 1) in hmed) {
        split("serial thread thread+gil process", cfgs, " ")
        line = ""; spread = 0; least = 1e9
        for (j = 1; j <= 4; j++) {
            c = cfgs[j]
            line = line (j > 1 ? ", " : "") c " " ms(hmed[c, 1] - med[c, 1])
            if (hmed[c, 1] - med[c, 1] < least) least = hmed[c, 1] - med[c, 1]
            if (hi[c, 1] - lo[c, 1] > spread) spread = hi[c, 1] - lo[c, 1]
        }
        printf "- Whole program (hyperfine median) minus in-process median at W = 1: %s;\n", line
        printf "  the in-process spread at W = 1 is up to %.2f ms. ", spread * 1000
        if (least > spread)
            print "That difference is the program's own start-up and exit (exec, loading, exit), which its clock does not see; it is paid once per run, so it matters only for short runs."
        else
            print "Some differences are within that spread: at this size the start-up cost is lost in the noise (a smaller N, as in SIZE=quick, makes it stand out)."
    }
}
