# Lab 08 report: turn the pool results into markdown whose every number and
# every verdict comes from the data.  Files, in this order (any may be
# /dev/null): results/pool-throughput-summary.csv, pool-speedup-summary.csv,
# pool-spawn.csv, pool-kill.csv.
# Usage: awk -F, -v cores=N -f scripts/stats.awk -f report.awk THROUGHPUT SPEEDUP SPAWN KILL
# POSIX awk only (Debian's default awk is mawk).
function rate(v) { return v >= 1e6 ? sprintf("%.3g M/s", v / 1e6) : v >= 1e3 ? sprintf("%.3g k/s", v / 1e3) : sprintf("%.3g /s", v) }
function us(v) { return v >= 1000 ? sprintf("%.3g ms", v / 1000) : sprintf("%.3g µs", v) }
function verdict(ok) { return ok ? "**met**" : "**missed**" }

FNR == 1 { file++; next }
file == 1 {                                     # kind,api,tasks,runs,seconds_median,rate_median,rate_min,rate_max,per_task_us_median,min,max
    k = $1 SUBSEP $2; have_t = 1
    r[k] = $6; rlo[k] = $7; rhi[k] = $8; per[k] = $9; plo[k] = $10; phi[k] = $11; truns = $4; tasks[k] = $3
}
file == 2 {                                     # kind,work_us,...,speedup(9),min(10),max(11),pays_off(12),serial_us(13)
    have_s = 1; k = $1 SUBSEP ($2 + 0)
    sp[k] = $9; splo[k] = $10; sphi[k] = $11; ser[k] = $13; workers = $4; sruns = $5
    if (!(($2 + 0) in seenw)) { seenw[$2 + 0] = 1; ws[++nw] = $2 + 0 }
    if ($12 == 1) pays[$1] = $13
}
file == 3 {                                     # method,tasks,workers,repeat,seconds,per_task_us
    have_c = 1; n = ++cn[$1]; cost[$1, n] = $6 + 0; ctasks = $2; cworkers = $3
}
file == 4 {                                     # trial,tasks,workers,victim_task,victim_pid,signal,error_seconds,others_ok
    have_k = 1; kills++; lat[kills] = $7 + 0; if ($6 != 9 || $8 != 1) kbad++
}
END {
    if (!have_t && !have_s) { print "_No results yet: run `make bench`._"; exit }
    print "A pool starts its workers once and hands them small tasks; what it costs is"
    print "the hand-over. Every task's result is checked (task i returns i + its"
    print "iteration count, from a loop the compiler cannot collapse), so no row can"
    print "be fast by being wrong. Each figure is a median over repetitions, with the"
    print "min–max range; the variants are interleaved repetition by repetition."
    print ""
    if (have_t) {
        print "![Empty-task throughput](../plots/pool-throughput.svg)"
        print ""
        printf "| pool | apply_async (tasks/s) | per task | apply (round trips/s) | per round trip | raw pipe ping-pong | apply / ping-pong |\n"
        print "|---|---:|---:|---:|---:|---:|---:|"
        split("process thread minipool cpython-process", kinds, " ")
        split("processes|threads|minipool.c (processes, pipes)|CPython multiprocessing.Pool", kindnames, "|")
        for (i = 1; i <= 4; i++) {
            a = kinds[i] SUBSEP "apply_async"; b = kinds[i] SUBSEP "apply"; p = kinds[i] SUBSEP "pipe-pingpong"
            if (!(a in r)) continue
            printf "| %s | %s (%s–%s) | %s | %s | %s | %s | %s |\n", kindnames[i],
                rate(r[a]), rate(rlo[a]), rate(rhi[a]), us(per[a]), rate(r[b]), us(per[b]),
                (p in per) ? us(per[p]) : "–", (p in per) ? sprintf("%.2fx", per[b] / per[p]) : "–"
        }
        print ""
    }
    if (have_s) {
        print "![Speedup vs work per task](../plots/pool-speedup.svg)"
        print ""
    }
    print "Findings (computed from `results/pool-*.csv`):"
    print ""
    if (have_t) {
        a = "process" SUBSEP "apply_async"; b = "process" SUBSEP "apply"; p = "process" SUBSEP "pipe-pingpong"
        if (a in r) {
            printf "- Process pool, empty tasks through apply_async: %s (%s–%s, %d runs of %d tasks), %s per task. Target ≥ 500 k/s: %s.",
                rate(r[a]), rate(rlo[a]), rate(rhi[a]), truns, tasks[a], us(per[a]), verdict(r[a] >= 500000)
            ca = "cpython-process" SUBSEP "apply_async"
            if (ca in r) printf " CPython's multiprocessing.Pool on the same empty tasks, in the same bench: %s (%s per task), so the C pool moves %.0fx as many.\n", rate(r[ca]), us(per[ca]), r[a] / r[ca]
            else printf " (Python 3.11's multiprocessing.Pool on the development machine: ~20 k/s, so %.0fx; python3 was not found to measure it here).\n", r[a] / 20000
        }
        if ((b in per) && (p in per))
            printf "- Process pool apply round trip: %s, against %s for a raw 8-byte pipe ping-pong between two processes in the same run: %.2fx. Target ≤ 1.5x: %s (CPython's apply: %s). %s\n",
                us(per[b]), us(per[p]), per[b] / per[p], verdict(per[b] <= 1.5 * per[p]),
                ("cpython-process" SUBSEP "apply") in per ? us(per["cpython-process" SUBSEP "apply"]) " in the same bench" : "~215 µs on the development machine",
                per[b] < per[p] ? "Faster than a pipe: the pool hands tasks over through shared memory and spins briefly before it sleeps, so a short task costs no sleep and wake-up." : ""
        if ((a in r) && (b in r))
            printf "- apply_async moves %.0fx as many tasks per second as apply: apply waits for each result (one task in flight), apply_async keeps every worker busy — E4's lesson at the scale of microseconds.\n", r[a] / r[b]
        ma = "minipool" SUBSEP "apply_async"; mb = "minipool" SUBSEP "apply"
        if ((ma in r) && (a in r)) {
            printf "- minipool.c, the ~150-line pool to read first (a task pipe, a result pipe, a handler thread: CPython's shape): %s through apply_async, %s per apply round trip. The fast pool's shared memory and spinning buy %.0fx on apply_async and %.1fx on apply", rate(r[ma]), us(per[mb]), r[a] / r[ma], per[mb] / per[b]
            if (ca in r) printf "; minipool's frames of fixed size, against CPython's pickling, buy %.0fx on apply_async", r[ma] / r[ca]
            print "."
        }
        ta = "thread" SUBSEP "apply_async"; tb = "thread" SUBSEP "apply"
        if ((ta in r) && (a in r))
            printf "- Thread pool: %s through apply_async, %s per apply round trip (process pool: %s and %s).\n", rate(r[ta]), us(per[tb]), rate(r[a]), us(per[b])
    }
    if (have_c) {
        split("fork-per-task thread-per-task process-pool thread-pool", ms, " ")
        for (i = 1; i <= 4; i++) {
            n = cn[ms[i]]
            for (j = 1; j <= n; j++) v[j] = cost[ms[i], j]
            sort(v, n); cm[ms[i]] = median(v, n); clo[ms[i]] = v[1]; chi[ms[i]] = v[n]
        }
        if (cm["process-pool"] > 0)
            printf "- E10, %d empty tasks, %d at a time: a fresh process per task costs %s each (%s–%s), a fresh thread %s, a reused process-pool worker %s, a reused thread-pool worker %s. Reusing a process saves %.0fx.\n",
                ctasks, cworkers, us(cm["fork-per-task"]), us(clo["fork-per-task"]), us(chi["fork-per-task"]),
                us(cm["thread-per-task"]), us(cm["process-pool"]), us(cm["thread-pool"]), cm["fork-per-task"] / cm["process-pool"]
    }
    if (have_s) {
        sort(ws, nw); wmax = ws[nw]; ideal = workers < cores ? workers : cores
        split("process-pool thread-pool fork-per-task thread-per-task", kk, " ")
        split("the process pool|the thread pool|a fresh process per task|a fresh thread per task", kn, "|")
        line = ""
        for (i = 1; i <= 4; i++) {
            w = kk[i] SUBSEP ws[1]
            if (!(w in sp)) continue
            line = line (line == "" ? "" : "; ") kn[i] " " (kk[i] in pays ? "from " us(pays[kk[i]]) " of work per task" : "not within " us(ser["serial" SUBSEP wmax]))
        }
        printf "- Where each pays off (median speedup over serial above 1 from there on, %d workers): %s.\n", workers, line
        w1 = ws[1]
        printf "- At %s of work per task the process pool runs at %.2fx serial and a fresh process per task at %.4fx: the hand-over, not the work, is what is measured.\n",
            us(ser["serial" SUBSEP w1]), sp["process-pool" SUBSEP w1], sp["fork-per-task" SUBSEP w1]
        printf "- At %s per task: process pool %.2fx (%.2f–%.2f), thread pool %.2fx, fork-per-task %.2fx, thread-per-task %.2fx; the ideal is %dx (min(workers, cores)).\n",
            us(ser["serial" SUBSEP wmax]), sp["process-pool" SUBSEP wmax], splo["process-pool" SUBSEP wmax], sphi["process-pool" SUBSEP wmax],
            sp["thread-pool" SUBSEP wmax], sp["fork-per-task" SUBSEP wmax], sp["thread-per-task" SUBSEP wmax], ideal
    }
    if (have_k) {
        for (j = 1; j <= kills; j++) v[j] = lat[j]
        sort(v, kills)
        printf "- A worker killed with SIGKILL mid-task, %d trials: the task got its WORKER_DIED error after %s median, %s at worst; target ≤ 1 s: %s. %s\n",
            kills, us(median(v, kills) * 1e6), us(v[kills] * 1e6), verdict(v[kills] <= 1 && kbad == 0),
            kbad ? sprintf("BUG: in %d trial(s) the victim was not reported as SIGKILLed or another task lost its result.", kbad) : "Every other task returned its result in every trial (Python's Pool never completes the killed task: `get()` and `join()` hang)."
    }
}
