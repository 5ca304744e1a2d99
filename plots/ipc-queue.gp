# Lab 05 (E7): messages per second through the queue between two processes
# (one producer, one consumer, 8-byte items) vs the queue's capacity, and a
# mutex + condvar queue between two threads measured in turn.
# data: results/ipc-queue-summary.csv
# columns: 1 transport, 2 capacity, 3 messages, 4 n, 5 mps_median, 6 mps_min, 7 mps_max, 8 vs_condvar
load 'plots/style.inc.gp'
file = 'results/ipc-queue-summary.csv'
stats file skip 1 using 2:7 nooutput
cmax = STATS_max_x; top = STATS_max_y / 1e6
stats file skip 1 using 3:4 nooutput
N = int(STATS_max_x); reps = int(STATS_max_y)

set title sprintf("Lab 05 ipc (E7): queue messages/s between two processes vs capacity (8-byte items, %s per run, %d runs)\n%s", \
    thousands(N), reps, machine) noenhanced
set xlabel 'queue capacity (slots, log scale)'
set ylabel 'million messages per second, median; bars: min–max'
set logscale x 2
set xrange [0.7:cmax * 1.4]
set yrange [0:(top > 2.2 ? top : 2.2) * 1.4]  # room for the key above the bars
set key top left

# The issue's target, and CPython's multiprocessing.Queue on its machine.
plot 2 with lines ls 10 title 'target: 2 M/s at capacity ≥ 64', \
     0.163 with lines ls 9 title "Python's multiprocessing.Queue: about 0.163 M/s (the issue's machine)" noenhanced, \
     file skip 1 using 2:(strcol(1) eq 'queue' ? $5 / 1e6 : NaN):($6 / 1e6):($7 / 1e6) with yerrorlines ls 4 title 'queue (common/queue.h), two processes', \
     file skip 1 using 2:(strcol(1) eq 'threads-condvar' ? $5 / 1e6 : NaN):($6 / 1e6):($7 / 1e6) with yerrorlines ls 2 title 'mutex + condvar queue, two threads (same run)', \
     file skip 1 using 2:(strcol(1) eq 'cpython-queue' ? $5 / 1e6 : NaN):($6 / 1e6):($7 / 1e6) with yerrorlines ls 6 title "CPython's multiprocessing.Queue, this machine" noenhanced
