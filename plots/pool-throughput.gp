# Lab 08 (E4, E10): empty tasks per second through a pool, apply_async
# (pipelined) and apply (one round trip at a time), process pool and thread
# pool and minipool.c's small pool, next to a raw pipe ping-pong between two processes (two threads for
# the thread pool's row): the floor under any apply; and CPython's
# multiprocessing.Pool on the same empty tasks, when the bench could run it.
# data: results/pool-throughput-summary.csv
# columns: 1 kind, 2 api, 3 tasks, 4 runs, 6 rate_median, 7 rate_min, 8 rate_max, 9 per_task_us_median
load 'plots/style.inc.gp'
file = 'results/pool-throughput-summary.csv'
stats file skip 1 using 8 nooutput
top = STATS_max
stats file skip 1 using 7 nooutput
bottom = STATS_min
stats file skip 1 using 4 nooutput
runs = int(STATS_min)

set title sprintf("Lab 08 pool (E4, E10): empty-task throughput (median of %d runs; bars: min–max)\n%s", runs, machine) noenhanced
set ylabel 'tasks per second (log scale)'
set logscale y
set format y '%.0s%c'
set yrange [bottom / 3 : top * 6]
set xrange [-0.6:2.6]
set xtics ('apply\_async (pipelined)' 0, 'apply (one round trip each)' 1, 'raw pipe ping-pong' 2)
set key top right
set style fill solid 0.85 border -1
set boxwidth 0.2
set errorbars small
# The suite's target for the process pool's apply_async (results/REPORT.md).
set arrow 1 from -0.45, first 500000 to 0.45, first 500000 nohead ls 10 front
set label 1 'target 500 k/s' at 0.31, first 500000 center offset 0,0.6 front textcolor rgb '#555555' font ',9'

api(a) = strcol(2) eq a ? 1 : 0
offset(k) = k eq 'process' ? -0.32 : k eq 'thread' ? -0.11 : k eq 'minipool' ? 0.11 : 0.32
x(k) = (api('apply_async') ? 0 : api('apply') ? 1 : 2) + (strcol(1) eq k ? offset(k) : NaN)
# Each bar carries its rate and the cost per task in microseconds.
rt(v) = v >= 1e6 ? sprintf('%.3g M/s', v / 1e6) : v >= 1e3 ? sprintf('%.3g k/s', v / 1e3) : sprintf('%.3g /s', v)
lbl(rate, us) = rt(rate) . "\n" . sprintf('%.3g µs', us)
plot file skip 1 using (x('process')):6 with boxes lc rgb '#2e8b57' title 'process pool (pipe: two processes)', \
     ''   skip 1 using (x('thread')):6 with boxes lc rgb '#1f5fbf' fill pattern 4 title 'thread pool (pipe: two threads)', \
     ''   skip 1 using (x('minipool')):6 with boxes lc rgb '#8e6c00' fill pattern 5 title 'minipool.c (pipes, a handler thread)', \
     ''   skip 1 using (x('cpython-process')):6 with boxes lc rgb '#c0392b' fill pattern 2 title 'CPython 3 multiprocessing.Pool', \
     ''   skip 1 using (x('minipool')):6:7:8 with yerrorbars lc rgb '#000000' pt 0 notitle, \
     ''   skip 1 using (x('minipool')):($8 * 1.15):(lbl($6, $9)) with labels offset 0,1.2 font ',9' notitle, \
     ''   skip 1 using (x('process')):6:7:8 with yerrorbars lc rgb '#000000' pt 0 notitle, \
     ''   skip 1 using (x('cpython-process')):6:7:8 with yerrorbars lc rgb '#000000' pt 0 notitle, \
     ''   skip 1 using (x('cpython-process')):($8 * 1.15):(lbl($6, $9)) with labels offset 0,1.2 font ',9' notitle, \
     ''   skip 1 using (x('thread')):6:7:8 with yerrorbars lc rgb '#000000' pt 0 notitle, \
     ''   skip 1 using (x('process')):($8 * 1.15):(lbl($6, $9)) with labels offset 0,1.2 font ',9' notitle, \
     ''   skip 1 using (x('thread')):($8 * 1.15):(lbl($6, $9)) with labels offset 0,1.2 font ',9' notitle
