# Lab 04 (E9): tickets oversold vs the number of buyers. Without a lock, for
# processes and threads sharing the stock in shared memory or in a file; with
# a mutex, for comparison (always 0).
# data: results/tickets-summary.csv
# columns: 1 experiment, 2 store, 3 lock, 4 mode, 5 buyers, 6 stock, 7 read_delay_ms,
#          8 write_delay_ms, 9 trials, 10 oversold_min, 11 oversold_median, 12 oversold_max
load 'plots/style.inc.gp'
file = 'results/tickets-summary.csv'
race(s, m) = strcol(1) eq 'race' && strcol(2) eq s && strcol(4) eq m
stats file skip 1 using (strcol(1) eq 'race' ? $5 : NaN):(strcol(1) eq 'race' ? $12 : NaN) nooutput
bmax = STATS_max_x; top = STATS_max_x - 1 > STATS_max_y ? STATS_max_x - 1 : STATS_max_y
stats file skip 1 using (strcol(1) eq 'race' ? $6 : NaN):(strcol(1) eq 'race' ? $9 : NaN) nooutput
stock = int(STATS_max_x); trials = int(STATS_max_y)
stats file skip 1 using (strcol(1) eq 'race' ? $7 : NaN):(strcol(1) eq 'race' ? $8 : NaN) nooutput
read_ms = STATS_max_x; write_ms = STATS_max_y
stats file skip 1 using (strcol(1) eq 'lock' ? $9 : NaN) nooutput
lock_trials = int(STATS_max)

set title sprintf("Lab 04 tickets (E9): oversold vs buyers (%d ticket%s; read %g ms + write %g ms; %d trials per point)\n%s", \
    stock, stock == 1 ? '' : 's', read_ms, write_ms, trials, machine) noenhanced
set xlabel 'buyers N'
set ylabel 'tickets oversold (sold − stock), median; bars: min–max'
set xrange [0:bmax * 1.05]
set yrange [-0.5:top * 1.1]
set key top left

plot file skip 1 using 5:(race('shm', 'process') ? $5 - $6 : NaN) with lines ls 9 title sprintf('worst case, every buyer buys: N − %d', stock), \
     ''   skip 1 using 5:(race('shm',  'process') ? $11 : NaN):10:12 with yerrorlines ls 4  title 'no lock: processes, shared memory', \
     ''   skip 1 using 5:(race('file', 'process') ? $11 : NaN):10:12 with yerrorlines ls 11 title 'no lock: processes, file', \
     ''   skip 1 using 5:(race('shm',  'thread')  ? $11 : NaN):10:12 with yerrorlines ls 2  title 'no lock: threads, shared memory', \
     ''   skip 1 using 5:(race('file', 'thread')  ? $11 : NaN):10:12 with yerrorlines ls 12 title 'no lock: threads, file', \
     ''   skip 1 using 5:(strcol(1) eq 'lock' && strcol(3) eq 'mutex' ? $11 : NaN):10:12 with yerrorlines ls 13 \
          title sprintf('with a mutex: processes, shared memory (%d trials)', lock_trials)
