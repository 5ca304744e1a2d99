# Lab 10 report: the three summaries (and lab 05's round trips) as markdown:
# tables and findings whose every number, and every pass/fail word, comes
# from the data.
# Usage: awk -F, -v cores=C -v ipc_file=F -f report.awk SPEEDUP-SUMMARY TARGET PINGPONG-SUMMARY IPC-ROUNDTRIP-SUMMARY
# (columns: summarize-speedup.awk, bench.sh, summarize-pingpong.awk, lab 05's
# summarize.awk). POSIX awk only (mawk).

# Targets (issue 14).
BEGIN { TARGET_RATIO = 0.9; STARTUP_SHARE = 0.05 }
function secs(v) { return v >= 1 ? sprintf("%.2f s", v) : v >= 1e-3 ? sprintf("%.1f ms", v * 1e3) : sprintf("%.0f µs", v * 1e6) }
function us(v) { return v >= 100 ? sprintf("%.0f µs", v) : v >= 10 ? sprintf("%.1f µs", v) : sprintf("%.2f µs", v) }
function mbs(v) { return v >= 1000 ? sprintf("%.2f GB/s", v / 1000) : sprintf("%.3g MB/s", v) }
function verdict(ok) { return ok ? "**met**" : "**missed**" }
function layout(h, s) { return h " host" (h > 1 ? "s" : "") " x " s " slot" (s > 1 ? "s" : "") }
function sorted_median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

FNR == 1 { file++; next }
file == 1 {
    n1++; h[n1] = $1; s[n1] = $2; r[n1] = $3; t[n1] = $4; reps = $5
    med[n1] = $6; lo[n1] = $7; hi[n1] = $8; st[n1] = $9; sp[n1] = $10; splo[n1] = $11; sphi[n1] = $12
}
file == 2 {
    if ($1 == "cluster-startup") { tstartup = $3; next }
    if ($1 == "serial-scale") { serial_scale = $3; next }   # the serial run's fraction of N
    tv[$1, ++tn[$1]] = $3; tsum[$1] += $3
}
file == 3 { key = $1 "," $2 "," $3 "," $4; pm[key] = $8; plo[key] = $9; phi[key] = $10; pn = $7; ptrips[$4] = $6; pbytes[$4] = $5 }
file == 4 { ipc[$1] = $4 }

END {
    print "`build/bin/cluster` runs lab 02's job (W tasks of N additions, kernel.h's"
    print "loop) block-split over the ranks of an MPI job (Open MPI). Rank 0 reduces the"
    print "sums (`MPI_Reduce` SUM) and the times (MAX) and checks the total."
    print "`labs/10-cluster/cluster.sh` makes the hosts: a hostfile of fake hosts, a"
    print "launcher agent that starts each host's daemon in its own UTS namespace, traffic"
    print "over TCP on loopback or shared memory. **The fake hosts share this machine's"
    printf "%d cores**: they show the model and the launch path, not a cluster's speed.\n", cores
    print "A run's time is rank 0's, from a start barrier to the reduced results."
    print "mpirun's start-up is measured apart, by one empty run of the same layout"
    print "(MPI_Init + MPI_Finalize; a single sample each), and is not in it. Run times:"
    printf "medians of %d repetitions, with min–max.\n", reps
    print ""
    print "![Speedup vs ranks](../plots/cluster-speedup.svg)"
    print ""
    print "![Round trip: MPI vs lab 05's pipe and queue](../plots/cluster-pingpong.svg)"
    print ""
    print "| layout | ranks | transport | run (median, min–max) | speedup over 1 x 1 | start-up (empty run) |"
    print "|---|---:|---|---:|---:|---:|"
    for (i = 1; i <= n1; i++)
        printf "| %s | %d | %s | %s (%s–%s) | %.2fx (%.2f–%.2f) | %s |\n", layout(h[i], s[i]), r[i], t[i],
            secs(med[i]), secs(lo[i]), secs(hi[i]), sp[i], splo[i], sphi[i], secs(st[i])
    print ""
    print "Findings (computed from `results/cluster-*.csv`):"
    print ""

    # 1. Start-up against the run, and what it grows with.
    smin = smax = st[1]; imin = imax = 1
    for (i = 2; i <= n1; i++) { if (st[i] < smin) { smin = st[i]; imin = i }; if (st[i] > smax) { smax = st[i]; imax = i } }
    for (i = 1; i <= n1; i++) {
        if (t[i] != "tcp") continue
        if (h[i] == 1 && s[i] == 1) one = i
        if (h[i] == 1 && s[i] == 2) ct = i
        if (h[i] == 2 && s[i] == 1) two = i
    }
    printf "- **Start-up, measured apart: from %s (%s) to %s (%s).**\n", secs(smin), layout(h[imin], s[imin]), secs(smax), layout(h[imax], s[imax])
    printf "  The empty run of 1 host x 1 slot took %.2fx as long as that layout's whole count (%s).\n", st[one] / med[one], secs(med[one])
    if (ct && two) {
        printf "  Same 2 ranks, one daemon more: 2 hosts x 1 slot started in %s, 1 host x 2\n", secs(st[two])
        printf "  slots in %s (%.2fx)", secs(st[ct]), st[two] / st[ct]
        printf "; one rank more on one host: %s vs %s (%.2fx).\n", secs(st[ct]), secs(st[one]), st[ct] / st[one]
    }
    print ""

    # 2. Speedup at the core count, on one host and on two fake hosts, and past it.
    best1 = best2 = over = 0
    for (i = 1; i <= n1; i++) {
        if (t[i] != "tcp") continue
        if (h[i] == 1 && r[i] == cores) best1 = i
        if (h[i] == 2 && r[i] == cores) best2 = i
        if (r[i] > cores && (over == 0 || r[i] > r[over])) over = i
    }
    if (best1 && best2) {
        printf "- **%d ranks (one per core): %.2fx on 1 host, %.2fx on 2 fake hosts** (ideal %dx).\n", cores, sp[best1], sp[best2], cores
        d = sp[best1] / sp[best2]
        if (d > 1.1 || d < 1 / 1.1)
            printf "  They differ by %.0f%%: 2 fake hosts add a daemon and TCP between hosts, but each\n  repetition sends one reduction, so most of that is the machine's noise.\n", 100 * (d > 1 ? d - 1 : 1 / d - 1)
        else
            printf "  Within %.0f%% of each other: where a rank's host is makes no difference on one machine.\n", 100 * (d > 1 ? d - 1 : 1 / d - 1)
        if (over) printf "  %d ranks (%s) on %d cores: %.2fx. Fake hosts add processes, not cores.\n", r[over], layout(h[over], s[over]), cores, sp[over]
        print ""
    }

    # 3. TCP vs shared memory for the counting job.
    for (i = 1; i <= n1; i++) if (h[i] == 1 && s[i] == 2 && t[i] == "shm") cs = i
    if (ct && cs) {
        ratio = med[cs] / med[ct]
        printf "- **Counting, TCP vs shared memory (1 host x 2 slots): %s vs %s (%.2fx).**\n", secs(med[ct]), secs(med[cs]), ratio
        if (ratio > 0.9 && ratio < 1.1)
            print "  Within 10%: each repetition sends one reduction, a few small messages, so the\n  transport hardly shows; the ping-pong below shows its cost per message."
        else
            print "  More than 10% apart, yet each repetition sends only one reduction: a few\n  microseconds either way (see the ping-pong), so the difference is the\n  machine's noise, not the transport."
        print ""
    }

    # 4. The target: 1 host, 2 ranks vs lab 02 count's 2 processes.
    # Each repetition ran count's 2 processes and then cluster's 2 ranks
    # (bench.sh); the speedups share the serial baseline, so the ratio of
    # the speedups in one pair is count's time over cluster's.
    serial = sorted_median_of("count-serial") * (serial_scale > 0 ? serial_scale : 1); proc = sorted_median_of("count-process"); mpi = sorted_median_of("cluster-1x2")
    if (serial > 0 && proc > 0 && mpi > 0) {
        pairs = tn["cluster-1x2"] < tn["count-process"] ? tn["cluster-1x2"] : tn["count-process"]
        for (i = 1; i <= pairs; i++) pr[i] = tv["count-process", i] / tv["cluster-1x2", i]
        for (i = 1; i <= pairs; i++) { if (i == 1 || pr[i] < prlo) prlo = pr[i]; if (i == 1 || pr[i] > prhi) prhi = pr[i] }
        paired = sorted_median(pr, pairs)
        # One repetition per mpirun job: the start-up is paid once per run.
        sc = serial / proc; sm = serial / mpi; share = tstartup / mpi
        printf "- **Target: 1 host, 2 ranks reach >= %.1fx lab 02 count's 2-process speedup: %s.**\n", TARGET_RATIO, verdict(paired >= TARGET_RATIO)
        printf "  The same 2 x N additions, count's processes and cluster's ranks in turn (%d pair%s):\n", pairs, (pairs > 1 ? "s" : "")
        printf "  count serial %s%s, count's 2 processes %s (%.2fx), cluster's 2 ranks %s (%.2fx).\n", secs(serial), (serial_scale > 1 ? sprintf(" (1/%d of N counted, times %d)", serial_scale, serial_scale) : ""), secs(proc), sc, secs(mpi), sm
        printf "  Within each pair cluster reached %.2f of count's speedup (median; %.2f–%.2f).\n", paired, prlo, prhi
        printf "  Both run unpinned (cluster.sh passes --bind-to none).\n"
        printf "  Start-up (%s, measured once) was %.1f%% of a 2-rank run (one per mpirun job): the target's\n", secs(tstartup), 100 * share
        printf "  condition (< %d%%) %s.\n", 100 * STARTUP_SHARE, (share < STARTUP_SHARE ? "held" : "did not hold at this size (the default SIZE is sized for it)")
        print ""
    }

    # 5. Correct totals on every layout.
    list = ""; overs = ""
    for (i = 1; i <= n1; i++) {
        list = list (i > 1 ? ", " : "") h[i] "x" s[i] (t[i] == "shm" ? " (shm)" : "")
        if (r[i] > cores) overs = overs (overs == "" ? "" : ", ") h[i] "x" s[i]
    }
    printf "- **Correct totals on every layout tried: %s.** %s; every repetition's\n", verdict(n1 > 0), list
    printf "  reduced sum and its ranks' rows added up to W x N (the program checks, exit 1,\n"
    printf "  and the bench checks its CSV, stopping at the first wrong one). More ranks than\n  cores: %s.\n", overs == "" ? "none tried" : overs
    print ""

    # 6. Ping-pong against lab 05.
    lt = pm["1,2,tcp,latency"]; ls = pm["1,2,shm,latency"]; l2 = pm["2,1,tcp,latency"]; l2s = pm["2,1,shm,latency"]
    if (lt != "" && ls != "") {
        printf "- **Ping-pong, 8-byte round trip** (%d round trips, %d repetitions): shared memory\n", ptrips["latency"], pn
        printf "  %s, TCP on loopback %s (%.1fx)", us(ls), us(lt), lt / ls
        if (l2 != "") printf ", TCP between 2 fake hosts %s", us(l2)
        printf ".\n"
        if ("pipe" in ipc && "queue" in ipc) {
            printf "  Lab 05's bench measured its queue at %s and a pipe at %s: MPI's shared memory is\n", us(ipc["queue"]), us(ipc["pipe"])
            printf "  %.2fx the queue and %.2fx the pipe; TCP on loopback %.2fx the pipe.\n", ls / ipc["queue"], ls / ipc["pipe"], lt / ipc["pipe"]
        }
        if (l2s != "" && l2 != "") {
            d = l2s / l2
            printf "  Between hosts, --transport shm gave %s (%.2fx TCP's): shared memory only joins\n  ranks of one host, so Open MPI uses TCP between hosts either way", us(l2s), d
            if (d > 0.8 && d < 1.25) print "."
            else print "; the difference is noise."
        }
        bt = pm["1,2,tcp,bandwidth"]; bsh = pm["1,2,shm,bandwidth"]
        if (bt != "" && bsh != "")
            printf "  Bandwidth, %d-byte messages on 1 host: %s over shared memory, %s over TCP.\n", pbytes["bandwidth"], mbs(bsh), mbs(bt)
        print ""
    }
}

function sorted_median_of(config,   a, i, n) {
    n = tn[config]
    if (n == 0) return 0
    for (i = 1; i <= n; i++) a[i] = tv[config, i]
    return sorted_median(a, n)
}
