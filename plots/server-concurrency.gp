# Lab 09 (E14): p99 latency vs concurrent keep-alive clients, 2 workers x 4
# threads (a thread per connection: at most 8 connections served at once)
# against 2 workers x one epoll event loop; GET /.
# data: results/server-concurrency-summary.csv
# columns: 1 threads, 2 clients, 3 runs, 4 rps_median, 7 p99_us_median, 8 p99_us_min, 9 p99_us_max
load 'plots/style.inc.gp'
file = 'results/server-concurrency-summary.csv'
stats file skip 1 using 2 nooutput
cmax = STATS_max
stats file skip 1 using 3 nooutput
runs = int(STATS_min)

set title sprintf("E14 server: p99 latency vs clients, keep-alive (median of %d runs; bars: min–max)\n%s", runs, machine) noenhanced
set xlabel 'concurrent keep-alive clients'
set ylabel 'p99 latency (µs, log scale)'
set logscale x 2
set logscale y 10
set xrange [0.8:cmax * 1.25]
set key top left
set arrow 1 from 8, graph 0 to 8, graph 1 nohead ls 10
set label 1 ' workers x threads = 8' at 8, graph 0.92 left textcolor rgb '#555555'

plot file skip 1 using 2:($1 == 4 ? $7 : NaN):8:9 with yerrorlines ls 2 title '2 workers x 4 threads', \
     ''   skip 1 using 2:($1 == 0 ? $7 : NaN):8:9 with yerrorlines ls 4 title '2 workers x 1 event loop'
