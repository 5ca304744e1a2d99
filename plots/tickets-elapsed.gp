# Lab 04 (E9): the price of the lock. Elapsed time of one sale vs the number
# of buyers, without a lock and with one, next to the analytic time of buyers
# served one at a time, N x read delay + S x write delay (only the S buyers
# who buy wait to write).
# data: results/tickets-summary.csv
# columns: 1 experiment, 2 store, 3 lock, 4 mode, 5 buyers, 6 stock, 7 read_delay_ms, 8 write_delay_ms,
#          9 trials, 15 seconds_min, 16 seconds_median, 17 seconds_max, 19 analytic_s
load 'plots/style.inc.gp'
file = 'results/tickets-summary.csv'
cost(l) = strcol(1) eq 'lock' && strcol(3) eq l
stats file skip 1 using (strcol(1) eq 'lock' ? $5 : NaN):(strcol(1) eq 'lock' ? ($17 > $19 ? $17 : $19) * 1000 : NaN) nooutput
bmax = STATS_max_x; top = STATS_max_y
# Milliseconds, or seconds once a sale takes more than one.
unit = top > 1000 ? 's' : 'ms'; per_s = top > 1000 ? 1 : 1000; top = top / 1000 * per_s
stats file skip 1 using (strcol(1) eq 'lock' ? $7 : NaN):(strcol(1) eq 'lock' ? $8 : NaN) nooutput
read_ms = STATS_max_x; write_ms = STATS_max_y
stats file skip 1 using (strcol(1) eq 'lock' ? $9 : NaN) nooutput
trials = int(STATS_max)
stats file skip 1 using (strcol(1) eq 'lock' ? $6 : NaN) nooutput
stock = int(STATS_max)

set title sprintf("Lab 04 tickets (E9): the price of the lock, elapsed vs buyers (processes; read %g ms + write %g ms, %d trials)\n%s", \
    read_ms, write_ms, trials, machine) noenhanced
set xlabel 'buyers N'
set ylabel sprintf('elapsed per sale (%s), median; bars: min–max', unit)
set xrange [0:bmax * 1.05]
set yrange [0:top * 1.1]
set key top left

plot file skip 1 using 5:(cost('mutex') ? $19 * per_s : NaN) with lines ls 9 \
         title sprintf('one buyer at a time: N × %g ms + %d × %g ms', read_ms, stock, write_ms), \
     ''   skip 1 using 5:(cost('mutex') ? $16 * per_s : NaN):($15 * per_s):($17 * per_s) with yerrorlines ls 13 title 'with a mutex (robust, shared memory)', \
     ''   skip 1 using 5:(cost('file')  ? $16 * per_s : NaN):($15 * per_s):($17 * per_s) with yerrorlines ls 14 title 'with a file lock (OFD fcntl, file store)', \
     ''   skip 1 using 5:(cost('none')  ? $16 * per_s : NaN):($15 * per_s):($17 * per_s) with yerrorlines ls 15 title 'without a lock (shared memory): oversold'
