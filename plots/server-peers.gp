# Lab 09 (E14): requests/s for GET / (14-byte body), 8 keep-alive clients, 2
# workers each: this lab's server (threads, event loop), nginx, CPython's
# pre-fork server, all driven by the same client in the same run.
# data: results/server-peers-summary.csv
# columns: 1 server, 2 runs, 3 rps_median, 4 rps_min, 5 rps_max, 6 p99_us_median
load 'plots/style.inc.gp'
file = 'results/server-peers-summary.csv'
stats file skip 1 using 5 nooutput
top = STATS_max
stats file skip 1 using 2 nooutput
runs = int(STATS_min)

set title sprintf("E14 server: small body, keep-alive, 2 workers (median of %d runs; bars: min–max)\n%s", runs, machine) noenhanced
set ylabel 'requests per second'
set format y '%.0s%c'
set yrange [0:top * 1.25]
set style fill solid 0.85 border -1
set boxwidth 0.6
set errorbars small
set key off
set xtics ('lab, 2 x 8 threads' 0, 'lab, 2 event loops' 1, 'nginx' 2, 'CPython' 3)
set xrange [-0.6:3.6]
x(s) = s eq 'c-threads' ? 0 : s eq 'c-event-loop' ? 1 : s eq 'nginx' ? 2 : s eq 'cpython' ? 3 : NaN
rt(v) = v >= 1e3 ? sprintf('%.3g k/s', v / 1e3) : sprintf('%.3g /s', v)
plot file skip 1 using (x(strcol(1))):3 with boxes lc rgb '#1f5fbf', \
     ''   skip 1 using (x(strcol(1))):3:4:5 with yerrorbars lc rgb '#000000' pt 0, \
     ''   skip 1 using (x(strcol(1))):($5 * 1.04):(rt($3)) with labels offset 0,0.6 font ',10'
