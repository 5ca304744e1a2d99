# Lab 09 report: markdown whose every number and verdict comes from the data.
# Files, in this order (any may be /dev/null): results/server-threads-summary.csv,
# server-concurrency-summary.csv, server-peers-summary.csv, server-h2load.csv,
# server-herd.csv, server-kill.csv, server-hostile.csv, server-cpu.csv.
# POSIX awk only (Debian's default awk is mawk).
function rate(v) { return v >= 1e6 ? sprintf("%.3g M/s", v / 1e6) : v >= 1e3 ? sprintf("%.3g k/s", v / 1e3) : sprintf("%.3g /s", v) }
function us(v) { return v >= 1000 ? sprintf("%.3g ms", v / 1000) : sprintf("%.3g µs", v) }
function verdict(ok) { return ok ? "**met**" : "**missed**" }
function user_us(name) { return (under[name] ? "< " : "") us(su[name]) }

FNR == 1 { file++; next }
file == 1 {   # workers,threads,io_ms,runs,rps_median,rps_min,rps_max,p99...
    have_t = 1; k = $1 SUBSEP $2 SUBSEP $3; trps[k] = $5; tp99[k] = $8
    if (!(($1 + 0) in seenw)) { seenw[$1 + 0] = 1; ws[++nw] = $1 + 0 }
    if (!(($2 + 0) in seent)) { seent[$2 + 0] = 1; ts[++nt] = $2 + 0 }
}
file == 2 {   # threads,clients,runs,rps_median,...,p99_us_median(7)
    have_c = 1; k = $1 SUBSEP $2; crps[k] = $4; cp99[k] = $7
    if (!(($2 + 0) in seenc)) { seenc[$2 + 0] = 1; cs[++nc] = $2 + 0 }
}
file == 3 {   # server,runs,rps_median,rps_min,rps_max,p99_us_median,...
    have_p = 1; prps[$1] = $3; plo[$1] = $4; phi[$1] = $5; pp99[$1] = $6; pruns = $2
}
file == 4 {   # server,tool,requests,seconds,rps,p50_us,p99_us
    have_h = 1; hrps[$1, $2] = $5; hp50[$1, $2] = $6; hp99[$1, $2] = $7
}
file == 5 {   # accept,workers,worker,connections,wakeups,failed_accepts
    have_herd = 1; m = $1
    if (!(m in hconn)) { modes[++nm] = m; hmin[m] = -1 }
    hconn[m] += $4; hwake[m] += $5; hfail[m] += $6; hworkers = $2
    if ($4 > hmax[m]) hmax[m] = $4
    if (hmin[m] < 0 || $4 < hmin[m]) hmin[m] = $4
    hlist[m] = hlist[m] (hlist[m] == "" ? "" : " ") $4
}
file == 6 {   # trial,workers,threads,killed_pid,replaced_ms,held,errors,requests
    have_k = 1; kills++
    if ($5 > kmax) kmax = $5
    ksum += $5; kerr += $7; kheld += $6; if ($7 > $6) kbad++
}
file == 7 {   # kind,expected,sent,as_expected
    have_x = 1; xsent += $3; xright += $4; xkinds++
}
file == 8 {   # server,requests,server_user_s,server_kernel_s,client_user_s,client_kernel_s,tick_s
    # CPU times come in clock ticks (tick_s): a time of 0 ticks is "under one
    # tick", so it is kept as its bound, flagged.
    have_cpu = 1; res[$1] = 1e6 * $7 / $2
    su[$1] = 1e6 * $3 / $2; sk[$1] = 1e6 * $4 / $2; cl[$1] = 1e6 * ($5 + $6) / $2
    if ($3 == 0) { su[$1] = res[$1]; under[$1] = 1 }
}
END {
    if (!have_t && !have_p && !have_herd) { print "_No results yet: run `make bench`._"; exit }
    print "A master process binds 127.0.0.1, forks W workers that inherit the socket,"
    print "and each worker serves with T threads (a thread per connection) or one epoll"
    print "event loop. One closed-loop client (`server --client`) drives every server,"
    print "ours, nginx and CPython's, on the same loopback, and every run of ours is"
    print "checked: the server's count of answered requests must equal the client's."
    print "Client and servers share the machine's cores, so absolute rates are low;"
    print "the ratios are the point. Figures are medians over repetitions."
    print ""
    if (have_t) {
        print "![Throughput vs threads per worker](../plots/server-threads.svg)"
        print ""
    }
    if (have_c) {
        print "![p99 latency vs concurrency](../plots/server-concurrency.svg)"
        print ""
    }
    if (have_p) {
        print "![Peers](../plots/server-peers.svg)"
        print ""
        print "| server (2 workers, 8 keep-alive clients, GET /) | requests/s | min–max | p99 | server CPU a request: user + kernel | client CPU a request |"
        print "|---|---:|---:|---:|---:|---:|"
        split("c-threads c-event-loop nginx cpython", names, " ")
        split("this lab, 2 x 8 threads|this lab, 2 event loops|nginx 1.22 (worker_processes 2)|CPython pre-fork, a thread per connection", labels, "|")
        for (i = 1; i <= 4; i++) if (names[i] in prps)
            printf "| %s | %s | %s–%s | %s | %s |\n", labels[i], rate(prps[names[i]]), rate(plo[names[i]]), rate(phi[names[i]]), us(pp99[names[i]]),
                (names[i] in su) ? sprintf("%s + %s | %s", user_us(names[i]), us(sk[names[i]]), us(cl[names[i]])) : "– | –"
        print ""
    }
    if (have_herd) {
        print "![Thundering herd](../plots/server-herd.svg)"
        print ""
        printf "| accept mode (%d workers, connections one by one) | wake-ups per connection | woken for nothing | connections per worker |\n", hworkers
        print "|---|---:|---:|---|"
        for (i = 1; i <= nm; i++) { m = modes[i]
            printf "| %s | %.2f | %d | %s |\n", m, hconn[m] ? hwake[m] / hconn[m] : 0, hfail[m], hlist[m] }
        print ""
    }
    print "Findings (computed from `results/server-*.csv`):"
    print ""
    if (have_t) {
        w2 = ("2" SUBSEP "8" SUBSEP "5") in trps ? 2 : ws[nw]
        a = w2 SUBSEP 1 SUBSEP 5; b = w2 SUBSEP 8 SUBSEP 5
        if ((a in trps) && (b in trps)) {
            x = trps[b] / trps[a]
            printf "- io_ms 5, %d workers: 8 threads per worker serve %s against %s with 1, %.1fx (target >= 6x: %s).%s\n", w2, rate(trps[b]), rate(trps[a]), x, verdict(x >= 6), (x >= 3) ? " A thread waiting on its 5 ms read holds no core, so the threads' waits overlap." : ""
        }
        x5 = ((w2 SUBSEP 8 SUBSEP 5) in trps && (w2 SUBSEP 1 SUBSEP 5) in trps) ? trps[w2 SUBSEP 8 SUBSEP 5] / trps[w2 SUBSEP 1 SUBSEP 5] : 0
        best = 0; one = w2 SUBSEP 1 SUBSEP 0
        for (i = 1; i <= nt; i++) { k = w2 SUBSEP ts[i] SUBSEP 0; if ((k in trps) && trps[k] > best) { best = trps[k]; bt = ts[i] } }
        if (one in trps && best > 0)
            printf "- CPU-bound (each request counts to 1,000,000, no wait), %d workers: the best thread count (%d) serves %.2fx what 1 thread does%s%s.\n", w2, bt, best / trps[one], (x5 > 0) ? sprintf(", against the %.1fx of io_ms 5 above", x5) : "", (x5 > 2 * best / trps[one]) ? ": threads pay where requests wait, not where they compute" : ""
        if (nw >= 2) {
            k1 = ws[1] SUBSEP 1 SUBSEP 0; k2 = ws[nw] SUBSEP 1 SUBSEP 0
            if ((k1 in trps) && (k2 in trps))
                printf "- CPU-bound, 1 thread: %d workers serve %.2fx what %d does, on %d cores (the client shares them).\n", ws[nw], trps[k2] / trps[k1], ws[1], cores
        }
    }
    if (have_c) {
        maxc = cs[nc]; kt = "4" SUBSEP maxc; kl = "0" SUBSEP maxc; k8 = "4" SUBSEP 8
        if ((kt in cp99) && (kl in cp99) && maxc > 8)
            printf "- Keep-alive, %d clients against 2 workers x 4 threads: p99 %s (at 8 clients: %s); the event loop at %d clients: %s.%s\n", maxc, us(cp99[kt]), (k8 in cp99) ? us(cp99[k8]) : "–", maxc, us(cp99[kl]), ((k8 in cp99) && cp99[kt] > 3 * cp99[k8] && cp99[kt] > 2 * cp99[kl]) ? " Past workers x threads = 8 connections the rest wait in the accept queue for a connection to close: a thread per connection caps concurrency, an event loop does not." : " This run shows no cap in the p99 (the waiting clients' requests are under 1% of all, or the machine was too noisy)."
    }
    if (have_p) {
        if (("c-threads" in prps) && ("nginx" in prps)) {
            best = prps["c-threads"]; who = "threads"
            if (("c-event-loop" in prps) && prps["c-event-loop"] > best) { best = prps["c-event-loop"]; who = "event loop" }
            printf "- Small body, keep-alive, 2 workers: this lab's server (%s) serves %.2fx nginx's requests/s (target >= 0.8x: %s).\n", who, best / prps["nginx"], verdict(best / prps["nginx"] >= 0.8)
        } else if ("c-threads" in prps)
            print "- nginx was not measured (not installed): the 0.8x-nginx target is not checked."
        if (("c-threads" in prps) && ("cpython" in prps)) {
            best = prps["c-threads"]; if (("c-event-loop" in prps) && prps["c-event-loop"] > best) best = prps["c-event-loop"]
            printf "- Against CPython's pre-fork server (same client, same 2 workers, a thread per connection, the same body): %.1fx (target >= 20x: %s). The client runs on the same cores as the servers.\n", best / prps["cpython"], verdict(best / prps["cpython"] >= 20)
            if (have_cpu && ("c-threads" in su) && ("cpython" in su)) {
                c = su["c-threads"] + sk["c-threads"] + cl["c-threads"]
                printf "  Where the CPU went, per request: this lab's server %s in user space and %s in the kernel, CPython's %s and %s (%s%.0fx in user space, %.1fx in all); the client %s beside ours.", user_us("c-threads"), us(sk["c-threads"]), user_us("cpython"), us(sk["cpython"]), under["c-threads"] ? "over " : "", su["cpython"] / su["c-threads"], (su["cpython"] + sk["cpython"]) / (su["c-threads"] + sk["c-threads"]), us(cl["c-threads"])
                printf " The kernel's part is TCP on loopback: each send also delivers the segment to the other socket. With %d cores, server and client together at %s a request cannot pass %s, %.1fx CPython's rate", cores, us(c), rate(cores * 1e6 / c), cores * 1e6 / c / prps["cpython"]
                if (cores * 1e6 / c < 20 * prps["cpython"])
                    print ": on this machine the 20x target is out of reach of any server that makes a send and a receive per request, however little it does in user space."
                else
                    print "."
            }
        } else if ("c-threads" in prps)
            print "- CPython was not measured (python3 not installed): the 20x target is not checked."
    }
    if (have_h) {
        if ((("c-threads", "h2load") in hrps) && (("c-threads", "lab09-client") in hrps))
            printf "- Cross-check of the lab's client on the same server and request count: h2load (`--h1 -c 8 -t 1`: 8 connections on one thread) measured %s, p50 %s, p99 %s (from its per-request log); the lab's client (8 connections, a thread each) %s, p50 %s, p99 %s: a rate ratio of %.2f.%s\n", rate(hrps["c-threads", "h2load"]), us(hp50["c-threads", "h2load"]), us(hp99["c-threads", "h2load"]), rate(hrps["c-threads", "lab09-client"]), us(hp50["c-threads", "lab09-client"]), us(hp99["c-threads", "lab09-client"]), hrps["c-threads", "lab09-client"] / hrps["c-threads", "h2load"], (("nginx", "h2load") in hrps) ? sprintf(" Against nginx: %s and %s.", rate(hrps["nginx", "h2load"]), rate(hrps["nginx", "lab09-client"])) : ""
    }
    if (have_herd) {
        for (i = 1; i <= nm; i++) { m = modes[i]; r[m] = hconn[m] ? hwake[m] / hconn[m] : 0 }
        if ("epoll" in r)
            printf "- The herd: plain epoll woke %.2f waiters per connection (%d of them found nothing to accept), blocking accept %.2f, reuseport %.2f.\n", r["epoll"], hfail["epoll"], r["accept"], r["reuseport"]
        if ("epoll-exclusive" in hconn)
            printf "- EPOLLEXCLUSIVE wakes one waiter (%.2f per connection) but not fairly: the busiest of %d workers took %.0f%% of the connections; reuseport's hash gave %d–%d per worker.\n", r["epoll-exclusive"], hworkers, 100 * hmax["epoll-exclusive"] / hconn["epoll-exclusive"], hmin["reuseport"], hmax["reuseport"]
    }
    if (have_k)
        printf "- A worker SIGKILLed under load was replaced, ready to accept, within %.1f ms at worst (%d trials, mean %.1f ms; target <= 100 ms: %s); %d requests failed in all, never more than the connections the dead worker held (%d): %s.\n", kmax, kills, ksum / kills, verdict(kmax <= 100), kerr, kheld, verdict(kbad == 0)
    if (have_x)
        printf "- %d malformed or hostile requests of %d kinds: %d answered as HTTP says (a close for a request cut short), no worker died: %s.\n", xsent, xkinds, xright, verdict(xright == xsent)
}
