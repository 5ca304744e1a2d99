#!/usr/bin/env bash
# Print lab 06's section of results/REPORT.md (markdown on stdout): the
# chart, the one-client costs, and findings computed from
# results/share-cost-summary.csv.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
f=results/share-cost-summary.csv

echo "## Lab 06 — share: a manager process, shared memory and messages (E11, E12)"
echo
if [ ! -f "$f" ]; then
    echo "_No results yet ($f is missing): run \`make bench\`._"
    exit 0
fi
# The channel's round trip, from lab 05's bench of the same `make bench`
# (if it ran), for the target "a proxy call <= 1.5x a channel round trip".
channel_us=$(awk -F, '$1 == "channel" { print $4 }' results/ipc-roundtrip-summary.csv 2>/dev/null || true)
awk -F, -v channel_us="${channel_us:-}" '
NR == 1 { next }
{ rate[$1, $2] = $5; us[$1, $2] = $8; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
  if ($2 > top) top = $2 }
function cost(us) { return us < 1 ? sprintf("%.1f ns", us * 1000) : sprintf("%.2f µs", us) }
END {
    print "![updates per second vs clients](../plots/share-cost.svg)"
    print ""
    print "| method | one client: one update | " top " clients: updates/s |"
    print "|---|---|---|"
    for (i = 1; i <= n; i++) {
        m = order[i]
        one = "—"; many = "—"
        if ((m, 1) in us) one = cost(us[m, 1])
        if ((m, top) in rate) many = sprintf("%.3g", rate[m, top])
        printf "| %s | %s | %s |\n", m, one, many
    }
    print ""
    if (("manager", 1) in us && ("atomic", 1) in us)
        printf "- One client: a manager proxy call took %s, an atomic add in shared memory %s: %.0fx. A proxy call is a round trip to the server process; shared memory is a store the other cores see through the cache.\n", cost(us["manager", 1]), cost(us["atomic", 1]), us["manager", 1] / us["atomic", 1]
    if (("manager", 1) in us && ("manager-connect-per-call", 1) in us)
        printf "- A new connection per call made each call %.1fx as long (%s against %s): why CPython keeps one connection per thread.\n", us["manager-connect-per-call", 1] / us["manager", 1], cost(us["manager-connect-per-call", 1]), cost(us["manager", 1])
    if (("manager", 1) in us && channel_us != "") {
        r = us["manager", 1] / channel_us
        verdict = "missed"; if (r <= 1.5) verdict = "met"
        printf "- A manager proxy call (one client, %s) against a channel round trip (lab 05, same bench, %s): %.2fx (target: at most 1.5x: %s). Both are one message each way through the kernel; the proxy adds a socket, the encoding of a request and the server'"'"'s lock.\n", cost(us["manager", 1]), cost(channel_us + 0), r, verdict
    }
    if (("manager", 1) in us && ("cpython-manager", 1) in us) {
        r = us["cpython-manager", 1] / us["manager", 1]
        verdict = "missed"; if (r >= 5) verdict = "met"
        printf "- CPython'"'"'s Manager dict proxy set took %s, %.1fx this manager'"'"'s call (target: at least 5x faster: %s).\n", cost(us["cpython-manager", 1]), r, verdict
    }
    if (("cpython-value", 1) in us && ("mutex", 1) in us)
        printf "- CPython'"'"'s `Value` under its lock took %s an update; a process-shared mutex around a C counter %s.\n", cost(us["cpython-value", 1]), cost(us["mutex", 1])
    if (("padded", top) in rate && ("atomic", top) in rate)
    {
        r = rate["padded", top] / rate["atomic", top]
        why = "no clear cost of sharing one cache line in this run"
        if (r >= 1.5) why = "the price of every core fighting for one cache line"
        printf "- With %d clients, padded per-process counters made %.3g updates/s, one shared atomic %.3g: %.1fx, %s.\n", top, rate["padded", top], rate["atomic", top], r, why
    }
}' "$f"
