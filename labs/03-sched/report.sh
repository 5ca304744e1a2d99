#!/usr/bin/env bash
# Print lab 03's section of results/REPORT.md (markdown on stdout): charts
# and findings computed from results/sched-*.csv; every "met"/"missed"
# against the issue's targets comes from the data.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
files="results/sched-timeslice.csv results/sched-nice-summary.csv results/sched-crossover-summary.csv results/sched-convoy-summary.csv"

echo "## Lab 03 — sched: time slicing on one core (E16) and the IO crossover (E13)"
echo
for f in $files; do
    if [ ! -f "$f" ]; then
        echo "_No results yet ($f is missing): run \`make bench\`._"
        exit 0
    fi
done
cores=$(sed -n 's/^cores: //p' results/machine.txt 2>/dev/null || true)
cores=${cores:-$(nproc)}

echo "![timeline](../plots/sched-timeline.svg)"
echo
echo "![slice lengths](../plots/sched-slices.svg)"
echo
# The first run of sched-timeslice.csv: 3 workers, the timeline's run
# (rows 2-4). columns: 7 slices 8 kernel_slices 9 mean 17 share 20 pauses
# 22 switches_unseen
awk -F, 'NR >= 2 && NR <= 4 {
        d = ($8 > 0) ? ($7 - $8) / $8 : 0; if (d < 0) d = -d; if (d > worst) worst = d
        run[$2] = $13; total += $13
        printf "- worker-%d: %d slices measured, %d counted by the kernel; %d pauses without a switch, %d switches too short to see; mean slice %.2f ms; %.1f%% of the CPU\n", $2, $7, $8, $20, $22, $9, 100 * $17
    }
    END {
        for (w in run) { e = (run[w] / total - 1 / 3) * 3; if (e < 0) e = -e; if (e > sworst) sworst = e }
        printf "- Slices vs the kernel'"'"'s schedstat count: at most %.0f%% apart (target 10%%: %s).\n", 100 * worst, worst <= 0.10 ? "met" : "missed"
        printf "- The part of each worker in the CPU time of the three vs an equal third: at most %.0f%% apart (target 10%%: %s).\n", 100 * sworst, sworst <= 0.10 ? "met" : "missed"
    }' results/sched-timeslice.csv
echo
echo "![share vs nice](../plots/sched-nice.svg)"
echo
awk -F, 'NR > 1 {
        printf "- nice 0 vs nice %s: %.2f : 1 measured, %.2f : 1 from the weights\n", $1, $7, $8
        if ($1 == 5) { d = ($7 - $8) / $8; if (d < 0) d = -d; five = sprintf("- nice 0,5: the ratio is %.0f%% from 3.06 (target 15%%: %s).", 100 * d, d <= 0.15 ? "met" : "missed") }
    }
    END { if (five != "") print five }' results/sched-nice-summary.csv
echo
echo "![crossover](../plots/sched-crossover.svg)"
echo
echo "![speedup vs workers](../plots/sched-scaling.svg)"
echo
awk -F, -v top=$((4 * cores)) 'NR > 1 && $1 == "fraction" && $4 == top || NR > 1 && $1 == "fraction" && $3 == "serial" {
        s[$2, $3] = $9; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
    }
    END {
        for (i = 1; i <= n; i++) {
            f = order[i]
            printf "- IO fraction %s, %d workers: speedup threads %.2fx, GIL threads %.2fx, processes %.2fx\n", f, top, s[f, "thread"], s[f, "thread+gil"], s[f, "process"]
        }
        k = "0.9" SUBSEP "process"
        if ((k in s) && s[k] > 0) {
            r = s["0.9", "thread+gil"] / s[k]
            printf "- IO fraction 0.9: GIL threads reach %.2fx the speedup of processes (target >= 0.8: %s).\n", r, (r >= 0.8 ? "met" : "missed")
        }
        k = "0" SUBSEP "thread+gil"
        if (k in s)
            printf "- IO fraction 0: GIL threads %.2fx serial (target <= 1.1: %s).\n", s[0, "thread+gil"], s[0, "thread+gil"] <= 1.1 ? "met" : "missed"
    }' results/sched-crossover-summary.csv
echo
echo "![convoy](../plots/sched-convoy.svg)"
echo
awk -F, 'NR > 1 { printf "- %s: median %.2f ms, p90 %.2f ms, max %.2f ms (%+.2f ms vs alone)\n", $1, $3, $4, $6, $7 }' results/sched-convoy-summary.csv
if [ -f results/sched-cpython-summary.csv ]; then
    echo
    echo "![crossover in CPython](../plots/sched-crossover-cpython.svg)"
    echo
    awk -F, 'NR > 1 && $1 != "python-serial" { printf "- CPython %s, IO fraction %s, %d workers: %.2fx serial\n", substr($1, 8), $2, $3, $8 }' results/sched-cpython-summary.csv
else
    echo
    echo "_No CPython run (python3 was missing when the bench ran)._"
fi
