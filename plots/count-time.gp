# Lab 02 (E1): wall time of W counting workers, per configuration.
# data: results/count-summary.csv
# columns: 1 config, 4 workers, 5 iterations, 6 n, 7 min_s, 8 median_s, 9 max_s
load 'plots/style.inc.gp'
file = 'results/count-summary.csv'
stats file skip 1 using 4:5 nooutput
wmax = int(STATS_max_x); N = int(STATS_max_y)

set title sprintf("Lab 02 count (E1): wall time vs workers (each worker counts to %s)\n%s", thousands(N), machine) noenhanced
set xlabel 'workers W'
set ylabel 'wall time (s), median; bars: min–max'
set xrange [0.5:wmax + 0.5]
set xtics 1
if (wmax > 16) set xtics autofreq
set yrange [0:*]
set key top left

is(c) = strcol(1) eq c
plot file skip 1 using 4:(is('serial')     ? $8 : NaN):7:9 with yerrorlines ls 1 title 'serial (one thread, tasks in turn)', \
     ''   skip 1 using 4:(is('thread')     ? $8 : NaN):7:9 with yerrorlines ls 2 title 'threads', \
     ''   skip 1 using 4:(is('thread+gil') ? $8 : NaN):7:9 with yerrorlines ls 3 title 'threads under the emulated GIL', \
     ''   skip 1 using 4:(is('process')    ? $8 : NaN):7:9 with yerrorlines ls 4 title 'processes (fork)'
