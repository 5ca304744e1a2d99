# Lab 09 (E14): requests/s (top) and p99 latency (bottom) vs threads per
# worker, one line per worker count, at io_ms 0 (CPU-bound: each request
# counts to 1,000,000) and io_ms 5 (each request waits 5 ms on a blocking
# read, no CPU work); 16 clients, a connection per request.
# data: results/server-threads-summary.csv
# columns: 1 workers, 2 threads, 3 io_ms, 4 runs, 5 rps_median, 6 rps_min, 7 rps_max,
#          8 p99_us_median, 9 p99_us_min, 10 p99_us_max
load 'plots/style.inc.gp'
file = 'results/server-threads-summary.csv'
stats file skip 1 using 2 nooutput
tmax = STATS_max
stats file skip 1 using 7 nooutput
top = STATS_max
stats file skip 1 using 6 nooutput
bottom = STATS_min
stats file skip 1 using 4 nooutput
runs = int(STATS_min)

set multiplot layout 2,1 title sprintf("E14 server: throughput and p99 vs threads per worker (median of %d runs; bars: min–max)\n%s", runs, machine) noenhanced
set logscale x 2
set xrange [0.8:tmax * 1.25]
set key outside right center
set lmargin at screen 0.1
set rmargin at screen 0.72
sel(w, io) = ($1 == w && $3 == io) ? 1 : 0

set ylabel 'requests/s (log)'
set logscale y 10
set format y '%.0s%c'
set yrange [bottom / 2 : top * 3]
unset xlabel
plot file skip 1 using 2:(sel(1, 0) ? $5 : NaN):6:7 with yerrorlines ls 2 title '1 worker, cpu 1M, io\_ms 0', \
     ''   skip 1 using 2:(sel(2, 0) ? $5 : NaN):6:7 with yerrorlines ls 4 title '2 workers, cpu 1M, io\_ms 0', \
     ''   skip 1 using 2:(sel(4, 0) ? $5 : NaN):6:7 with yerrorlines ls 1 title '4 workers, cpu 1M, io\_ms 0', \
     ''   skip 1 using 2:(sel(1, 5) ? $5 : NaN):6:7 with yerrorlines ls 12 title '1 worker, io\_ms 5', \
     ''   skip 1 using 2:(sel(2, 5) ? $5 : NaN):6:7 with yerrorlines ls 11 title '2 workers, io\_ms 5', \
     ''   skip 1 using 2:(sel(4, 5) ? $5 : NaN):6:7 with yerrorlines ls 14 title '4 workers, io\_ms 5', \
     ''   skip 1 using 2:(sel(2, 1) ? $5 : NaN):6:7 with yerrorlines ls 15 title '2 workers, io\_ms 1'

set xlabel 'threads per worker T (a thread per connection)'
set ylabel 'p99 latency (µs, log)'
set format y '%.0s%c'
set yrange [*:*]
set key off
plot file skip 1 using 2:(sel(1, 0) ? $8 : NaN):9:10 with yerrorlines ls 2, \
     ''   skip 1 using 2:(sel(2, 0) ? $8 : NaN):9:10 with yerrorlines ls 4, \
     ''   skip 1 using 2:(sel(4, 0) ? $8 : NaN):9:10 with yerrorlines ls 1, \
     ''   skip 1 using 2:(sel(1, 5) ? $8 : NaN):9:10 with yerrorlines ls 12, \
     ''   skip 1 using 2:(sel(2, 5) ? $8 : NaN):9:10 with yerrorlines ls 11, \
     ''   skip 1 using 2:(sel(4, 5) ? $8 : NaN):9:10 with yerrorlines ls 14, \
     ''   skip 1 using 2:(sel(2, 1) ? $8 : NaN):9:10 with yerrorlines ls 15
unset multiplot
