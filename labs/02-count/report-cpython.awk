# Lab 02 report, the CPython comparison: results/count-summary.csv (first
# file, the C lab) and results/count-cpython-summary.csv (second, count.py).
# Every number and every verdict comes from the data.
# Usage: awk -F, -v cores=N -f report-cpython.awk C_SUMMARY PY_SUMMARY
function x(v) { return sprintf("%.2fx", v) }
function sp(c, w) { return sprintf("%.2fx (%.2f–%.2f)", speed[c, w], smin[c, w], smax[c, w]) }
FNR == 1 { file++; next }
{
    w = $4 + 0
    speed[$1, w] = $11; smin[$1, w] = $12; smax[$1, w] = $13; med[$1, w] = $8
    if (file == 2) { if (!(w in seen)) { seen[w] = 1; ws[++nw] = w }; N = $5; reps = $6 }
}
END {
    if (nw == 0) exit
    print ""
    print "### The emulated GIL against the real one"
    print ""
    printf "The same experiment in CPython (`labs/02-count/count.py`, %s, N = %d per\n", py_version, N
    printf "task, median of %d runs), next to the C lab on this machine:\n", reps
    print ""
    print "![CPython vs the emulated GIL](../plots/count-cpython.svg)"
    print ""
    for (i = 1; i <= nw; i++) {
        w = ws[i]
        if (w == 1 || !(("thread+gil", w) in speed)) continue
        printf "- %d workers: CPython threads %s, C threads under the emulated GIL %s; CPython processes %s, C processes %s.\n",
            w, sp("python-thread", w), sp("thread+gil", w), sp("python-process", w), sp("process", w)
    }
    # The verdict: does the emulation reproduce the real lock's effect?
    worst = 0; low = 1e9; high = 0
    for (i = 1; i <= nw; i++) {
        w = ws[i]
        if (w == 1 || !(("thread+gil", w) in speed)) continue
        d = speed["python-thread", w] - speed["thread+gil", w]; if (d < 0) d = -d
        if (d > worst) worst = d
        for (k = 1; k <= 2; k++) {
            v = speed[k == 1 ? "python-thread" : "thread+gil", w]
            if (v < low) low = v
            if (v > high) high = v
        }
    }
    if (worst <= 0.15) {
        printf "- Verdict, threads: the emulated GIL reproduces CPython's result: at every W the two speedups are within %.2fx of each other, all between %.2fx and %.2fx", worst, low, high
        print (low >= 0.85 && high <= 1.15) ? ": threads give nothing, as the documents found." : "."
    } else
        printf "- Verdict, threads: the emulated GIL and CPython differ by up to %.2fx in speedup: look at the chart before trusting the emulation here.\n", worst
    # ... and the other half of the documents' result: processes do scale,
    # in CPython as in C (each has its own interpreter, so its own GIL).
    pworst = 0; plow = 1e9; phigh = 0; pn = 0
    for (i = 1; i <= nw; i++) {
        w = ws[i]
        if (w == 1 || !(("process", w) in speed) || !(("python-process", w) in speed)) continue
        r = speed["python-process", w] / speed["process", w]
        d = r > 1 ? r - 1 : 1 - r
        if (d > pworst) pworst = d
        for (k = 1; k <= 2; k++) {
            v = speed[k == 1 ? "python-process" : "process", w]
            if (v < plow) plow = v
            if (v > phigh) phigh = v
        }
        pn++
    }
    if (pn > 0 && pworst <= 0.2 && plow >= 1.2)
        printf "- Verdict, processes: both scale, as the documents found: CPython's and C's process speedups are within %.0f%% of each other at every W > 1 (%.2fx to %.2fx).\n", pworst * 100, plow, phigh
    else if (pn > 0)
        printf "- Verdict, processes: CPython's and C's process speedups differ by up to %.0f%% (%.2fx to %.2fx at W > 1)%s: look at the chart before trusting the comparison here.\n", pworst * 100, plow, phigh, plow < 1.2 ? ", and some barely scale" : ""
    if (("python-serial", 1) in med && ("serial", 1) in med)
        printf "- CPython counts at %.0f M increments/s on one core; the C loop at %.2f G/s: %.0fx. The shape of the result carries over, not the time.\n",
            N / med["python-serial", 1] / 1e6, c_iterations / med["serial", 1] / 1e9, (c_iterations / med["serial", 1]) / (N / med["python-serial", 1])
}
