#!/usr/bin/env bash
# Print lab 01's section of results/REPORT.md (markdown on stdout): the
# charts and the findings computed from results/process-*-summary.csv --
# every figure and every "met"/"missed" against the targets comes from the
# data.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
start=results/process-start-summary.csv
python=results/process-python-summary.csv

echo "## Lab 01 — process: the life of a process and how a new one starts (E2, E18)"
echo
if [ ! -f "$start" ]; then
    echo "_No results yet ($start is missing): run \`make bench\`._"
    exit 0
fi
echo "![start cost vs parent size](../plots/process-start.svg)"
echo
[ -f "$python" ] && { echo "![C vs CPython start methods](../plots/process-python.svg)"; echo; }

awk -F, -v python="$([ -f "$python" ] && echo "$python")" '
    FNR == 1 { next }
    FILENAME != python { us[$1, $2] = $4; lo[$1, $2] = $5; hi[$1, $2] = $6
                         if (!($2 in seen)) { seen[$2] = 1; sizes[++n] = $2 } }
    FILENAME == python { py[$1] = $4 }
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    END {
        small = sizes[1]; big = sizes[n]
        print "| method | " (small) " MiB (µs) | " (big) " MiB (µs) | ratio |"
        print "|---|---:|---:|---:|"
        split("fork fork-exec vfork-exec posix-spawn clone-vm forkserver thread proc", m, " ")
        for (i = 1; i <= 8; i++)
            printf "| %s | %.1f | %.1f | %.2fx |\n", m[i], us[m[i], small], us[m[i], big],
                ratio(us[m[i], big], us[m[i], small])
        print ""
        gib = (big - small) / 1024
        if (gib > 0)
            printf "- fork grows by %.0f µs per GiB of touched parent memory (%.1f µs at %s MiB, %.1f µs at %s MiB): the page tables are copied.\n",
                (us["fork", big] - us["fork", small]) / gib, us["fork", small], small, us["fork", big], big
        spread = 0
        split("vfork-exec posix-spawn clone-vm", e, " ")
        for (i = 1; i <= 3; i++) {
            lowest = highest = us[e[i], sizes[1]]
            for (k = 2; k <= n; k++) {
                if (us[e[i], sizes[k]] < lowest) lowest = us[e[i], sizes[k]]
                if (us[e[i], sizes[k]] > highest) highest = us[e[i], sizes[k]]
            }
            if (ratio(highest, lowest) > spread) spread = ratio(highest, lowest)
        }
        printf "- The vfork family (vfork-exec, posix-spawn, clone-vm) varies by at most %.2fx from %s to %s MiB, fork by %.1fx: a vfork child borrows the parent'"'"'s memory until it execs, nothing of it is copied.\n", spread, small, big, ratio(us["fork", big], us["fork", small])
        printf "- A thread costs %.1f µs, %.0fx less than fork (%.1f µs) at %s MiB.\n",
            us["thread", small], ratio(us["fork", small], us["thread", small]), us["fork", small], small
        print ""
        print "Targets (one run; the lead re-measures on a quiet machine):"
        # Medians decide; the ratio of the fastest runs is shown beside them:
        # on a busy machine it is the better estimate of the cost itself.
        r = ratio(us["proc", small], us["fork", small])
        printf "- proc_start + proc_join vs raw fork + waitpid at %s MiB: %.2fx (target <= 1.1x): %s (fastest runs: %.2fx)\n", small, r, (r <= 1.1 ? "met" : "missed"), ratio(lo["proc", small], lo["fork", small])
        if (r > 1.1)
            print "  (proc adds to fork the registry, the signal set-up, PR_SET_PDEATHSIG and closing inherited descriptors in the child: a few system calls and about three copy-on-write page faults a start (perf stat -e page-faults). The fastest runs are the least disturbed by other load on the machine.)"
        if (("posix-spawn", 1024) in us && ("posix-spawn", 0) in us) {
            r = ratio(us["posix-spawn", 1024], us["posix-spawn", 0])
            printf "- posix-spawn at 1024 MiB vs 0 MiB: %.2fx (target <= 1.3x): %s (fastest runs: %.2fx)\n", r, (r <= 1.3 ? "met" : "missed"), ratio(lo["posix-spawn", 1024], lo["posix-spawn", 0])
            if (r > 1.3)
                print "  (posix_spawn copies nothing of the parent: its child borrows the memory until execve; compare the fastest runs, the least disturbed by other load.)"
            r = ratio(us["fork", 1024], us["fork", 0])
            printf "- fork at 1024 MiB vs 0 MiB: %.1fx (target >= 10x): %s\n", r, (r >= 10 ? "met" : "missed")
            if (r < 10)
                print "  (fork copies one page-table entry per touched 4 KiB page; a miss would mean the parent'"'"'s memory was in huge pages or not touched.)"
        } else {
            print "- posix-spawn and fork at 1024 MiB: not measured in this run (SIZE=quick has no 1024 MiB parent)."
        }
        if (python != "") {
            print ""
            printf "- CPython start + join of an empty target: fork %.0f µs, forkserver %.0f µs, spawn %.0f µs, a thread %.0f µs; the C fork at 0 MiB is %.1fx faster than CPython'"'"'s fork, and spawn costs %.0fx CPython'"'"'s fork (a new interpreter imports the program).\n",
                py["python-fork"], py["python-forkserver"], py["python-spawn"], py["python-thread"],
                ratio(py["python-fork"], us["fork", 0]), ratio(py["python-spawn"], py["python-fork"])
        }
    }
' "$start" ${python:+$( [ -f "$python" ] && echo "$python")}
