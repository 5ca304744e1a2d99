# Lab 05 (E7, E8): one round trip between two processes -- send a number,
# get it back plus one -- through two queues, a channel, and a raw pipe
# measured in the same runs.
# data: results/ipc-roundtrip-summary.csv
# columns: 1 transport, 2 roundtrips, 3 n, 4 us_median, 5 us_min, 6 us_max, 7 vs_pipe
load 'plots/style.inc.gp'
file = 'results/ipc-roundtrip-summary.csv'
stats file skip 1 using 2:6 nooutput
N = int(STATS_max_x); top = STATS_max_y
stats file skip 1 using 3 nooutput
reps = int(STATS_max)

set title sprintf("Lab 05 ipc (E8): round trip between two processes (%s round trips per run, %d runs)\n%s", \
    thousands(N), reps, machine) noenhanced
set xlabel 'transport'
set ylabel 'µs per round trip, median; bars: min–max'
set style fill pattern 4 border lc rgb '#000000'
stats file skip 1 using 0 nooutput
set xrange [-0.6:STATS_records - 0.4]
set yrange [0:top * 1.25]
set key top left
name(t) = t eq 'queue' ? 'queue (shared ring)' : t eq 'channel' ? 'channel (pipe + framing)' : t eq 'cpython-pipe' ? "CPython's Pipe" : 'raw pipe (baseline)'

plot file skip 1 using 0:4:(0.5):xtic(name(strcol(1))) with boxes lc rgb '#2e8b57' title 'median', \
     ''   skip 1 using 0:4:5:6 with yerrorbars ls 1 pt 7 ps 0.6 title 'min–max over the runs', \
     ''   skip 1 using 0:6:(sprintf('%.2f µs\n%.2fx pipe', $4, $7)) with labels offset 0,1.6 notitle
