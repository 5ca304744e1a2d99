# Lab 05: reduce the raw rows of one benchmark (one per repetition) to one row
# per configuration: the median and the min-max of the rate, and for round
# trips and bandwidth the ratio to the raw pipe computed per repetition (the
# transports alternate within a repetition, so a pair shares the machine's
# state), summarised by its median and min-max.
# Usage: awk -F, -v kind=queue|roundtrip|bandwidth -f scripts/stats.awk -f summarize.awk RAW > SUMMARY
#   (sort and median are in scripts/stats.awk)
# Input rows (after a header):
#   queue:     transport,capacity,messages,rep,seconds,messages_per_s
#   roundtrip: transport,roundtrips,rep,seconds,us_per_roundtrip
#   bandwidth: transport,size,messages,rep,seconds,mb_per_s
# Output rows:
#   queue:     transport,capacity,messages,n,mps_median,mps_min,mps_max,vs_condvar,vs_condvar_min,vs_condvar_max
#              (vs_condvar: this transport's rate / the threads-condvar queue's)
#   roundtrip: transport,roundtrips,n,us_median,us_min,us_max,vs_pipe,vs_pipe_min,vs_pipe_max
#              (vs_pipe: this transport's time per round trip / the raw pipe's)
#   bandwidth: transport,size,messages,n,mbs_median,mbs_min,mbs_max,vs_pipe,vs_pipe_min,vs_pipe_max
#              (vs_pipe: this transport's bandwidth / the raw pipe's)
# POSIX awk only (Debian's awk is mawk).
NR == 1 { next }
{
    if (kind == "queue") { key = $1 "," $2 "," $3; rep = $4; secs = $5; rate = $6; pipe_key = "threads-condvar," $2 "," $3 }
    else if (kind == "roundtrip") { key = $1 "," $2; rep = $3; secs = $4; rate = $5; pipe_key = "pipe," $2 }
    else { key = $1 "," $2 "," $3; rep = $4; secs = $5; rate = $6; pipe_key = "pipe," $2 "," $3 }
    if (!(key in count)) { keys[++nkeys] = key; partner[key] = pipe_key; group[key] = $1 }
    if (!($1 in seen_group)) { seen_group[$1] = 1; groups[++ngroups] = $1 }
    n = ++count[key]
    rates[key, n] = rate; reps[key, n] = rep; seconds[key, rep] = secs
}
END {
    if (kind == "queue") print "transport,capacity,messages,n,mps_median,mps_min,mps_max,vs_condvar,vs_condvar_min,vs_condvar_max"
    else if (kind == "roundtrip") print "transport,roundtrips,n,us_median,us_min,us_max,vs_pipe,vs_pipe_min,vs_pipe_max"
    else print "transport,size,messages,n,mbs_median,mbs_min,mbs_max,vs_pipe,vs_pipe_min,vs_pipe_max"
    # Grouped by the first column (transport, or capacity), in the order of
    # first appearance: a chart draws one unbroken line per transport.
    for (g = 1; g <= ngroups; g++) for (k = 1; k <= nkeys; k++) {
        key = keys[k]; if (group[key] != groups[g]) continue
        n = count[key]; r = 0
        for (i = 1; i <= n; i++) {
            v[i] = rates[key, i]
            p = partner[key]
            if (p != "" && (p, reps[key, i]) in seconds) {
                # Time ratio for round trips; bandwidth ratio (inverse) for bandwidth.
                if (kind == "roundtrip") ratio[++r] = seconds[key, reps[key, i]] / seconds[p, reps[key, i]]
                # Rate ratios (inverse time) for the queue and bandwidth.
                else ratio[++r] = seconds[p, reps[key, i]] / seconds[key, reps[key, i]]
            }
        }
        sort(v, n); sort(ratio, r)
        printf "%s,%d,%.6g,%.6g,%.6g", key, n, median(v, n), v[1], v[n]
        # No partner measured in the same repetitions (CPython's rows): no
        # ratio, empty fields.
        if (r > 0) printf ",%.4f,%.4f,%.4f", median(ratio, r), ratio[1], ratio[r]
        else printf ",,,"
        printf "\n"
    }
}
