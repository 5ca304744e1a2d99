# Lab 03 (E16): who ran when -- 3 CPU-bound processes pinned to one CPU,
# each slice as the workers measured it (from the run's --trace file).
# data: results/sched-timeline.csv
# columns: 1 worker, 2 start_ms, 3 end_ms
load 'plots/style.inc.gp'
file = 'results/sched-timeline.csv'
stats file skip 1 using 1:3 nooutput
W = int(STATS_max_x) + 1; right = STATS_max_y

set title sprintf("E16 time slicing: %d processes pinned to one CPU (one bar per slice)\n%s", W, machine) noenhanced
set xlabel 'time since the window opened (ms)'
set ylabel 'worker'
set yrange [-0.7:W - 0.3]
set ytics 1
set xrange [0:right]
set grid xtics
unset key
set style fill solid 0.8 border lc rgb '#000000'
colour(w) = w == 0 ? 0x1f5fbf : w == 1 ? 0xc0392b : w == 2 ? 0x2e8b57 : 0x777777
plot file skip 1 using (($2 + $3) / 2):1:(($3 - $2) / 2):(0.35):(colour($1)) with boxxyerrorbars lc rgb variable
