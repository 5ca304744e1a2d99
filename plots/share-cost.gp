# Lab 06 (E11, E12): counter updates per second by 1, 2, 4 ... client
# processes, shared six ways (and CPython's Manager and Value when measured),
# log scale: shared memory is nanoseconds, a proxy call a round trip.
# data: results/share-cost-summary.csv
# columns: 1 method, 2 clients, 3 ops, 4 n, 5 ops_s_median, 6 ops_s_min, 7 ops_s_max, 8 us_per_update
load 'plots/style.inc.gp'
file = 'results/share-cost-summary.csv'
stats file skip 1 using 2:4 nooutput
cmax = STATS_max_x; reps = int(STATS_max_y)

set title sprintf("E11/E12: counter updates per second, all clients together (median of %d runs)\n%s", \
    reps, machine) noenhanced
set xlabel 'client processes'
set ylabel 'updates per second (log scale); bars: min–max'
set logscale y 10
set logscale x 2
set xrange [0.8:cmax * 1.25]
set format y '10^{%T}'
set key outside right top

# One style per method: shared memory in greens and blues (filled points),
# messages in black and grey, the manager in reds; CPython hollow.
set style line 21 lc rgb '#2e8b57' lw 2 pt 7  ps 1.1 dt 1   # padded
set style line 22 lc rgb '#1f5fbf' lw 2 pt 5  ps 1.0 dt 2   # atomic
set style line 23 lc rgb '#000000' lw 2 pt 9  ps 1.3 dt 1   # mutex
set style line 24 lc rgb '#555555' lw 2 pt 13 ps 1.3 dt 4   # queue
set style line 25 lc rgb '#999999' lw 2 pt 11 ps 1.3 dt 5   # channel
set style line 26 lc rgb '#c0392b' lw 2 pt 7  ps 1.1 dt 1   # manager
set style line 27 lc rgb '#c0392b' lw 2 pt 5  ps 1.0 dt 3   # manager, a connection per call
set style line 28 lc rgb '#1f5fbf' lw 2 pt 4  ps 1.2 dt 1   # CPython Value
set style line 29 lc rgb '#c0392b' lw 2 pt 6  ps 1.2 dt 2   # CPython Manager
methods = "padded atomic mutex queue channel manager manager-connect-per-call cpython-value cpython-manager"

# The rows of one method are consecutive in the file; other rows are NaN.
row(m, col) = (strcol(1) eq m ? column(col) : NaN)
plot for [i = 1:words(methods)] file skip 1 \
    using 2:(row(word(methods, i), 5)):(row(word(methods, i), 6)):(row(word(methods, i), 7)) \
    with yerrorlines ls (20 + i) title word(methods, i) noenhanced
