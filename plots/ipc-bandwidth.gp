# Lab 05 (E8): bandwidth between two processes vs message size, a channel
# (send_bytes / recv_bytes) and a raw pipe of the same capacity, in turn.
# data: results/ipc-bandwidth-summary.csv
# columns: 1 transport, 2 size, 3 messages, 4 n, 5 mbs_median, 6 mbs_min, 7 mbs_max, 8 vs_pipe
load 'plots/style.inc.gp'
file = 'results/ipc-bandwidth-summary.csv'
stats file skip 1 using 4 nooutput
reps = int(STATS_max)

set title sprintf("Lab 05 ipc (E8): bandwidth between two processes vs message size (%d runs of ~256 MiB each)\n%s", reps, machine) noenhanced
set xlabel 'message size (bytes, log scale)'
set ylabel 'MB/s (log scale), median; bars: min–max'
set logscale xy
set xrange [5:1.6e6]
set xtics ('8 B' 8, '64 B' 64, '512 B' 512, '4 KiB' 4096, '32 KiB' 32768, '256 KiB' 262144, '1 MiB' 1048576)
set key bottom right

is(t) = strcol(1) eq t
plot file skip 1 using 2:(is('pipe')    ? $5 : NaN):6:7 with yerrorlines ls 1 title 'raw pipe (baseline)', \
     ''   skip 1 using 2:(is('channel') ? $5 : NaN):6:7 with yerrorlines ls 4 title 'channel: send\_bytes / recv\_bytes'
