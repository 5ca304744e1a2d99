# Lab 10 (E17): the round trip of an 8-byte MPI message, over shared memory
# and TCP, on one host and between two fake hosts, next to lab 05's queue
# and pipe (measured by lab 05's bench).
# data: results/cluster-pingpong-summary.csv results/ipc-roundtrip-summary.csv
# columns (cluster): 1 hosts, 2 slots, 3 transport, 4 kind, 5 bytes, 6 roundtrips, 7 n, 8 median, 9 min, 10 max
# columns (ipc): 1 transport, 4 us_median, 5 us_min, 6 us_max
load 'plots/style.inc.gp'
file = 'results/cluster-pingpong-summary.csv'
ipc = 'results/ipc-roundtrip-summary.csv'
stats file skip 1 using 6 nooutput
trips = int(STATS_max)

set title sprintf("Lab 10 cluster (E17): 8-byte round trip, MPI vs lab 05 (%s MPI round trips per run)\n%s", thousands(trips), machine) noenhanced
set ylabel 'µs per round trip, median (log scale); bars: min–max'
set logscale y
set style fill solid 0.6 border lc rgb '#000000'
set xrange [-0.6:5.6]
set xtics ("MPI shm\n1 host" 0, "MPI TCP\n1 host" 1, "MPI shm\n2 hosts" 2, "MPI TCP\n2 hosts" 3, "lab 05\nqueue" 4, "lab 05\npipe" 5)
set key top left
set bmargin 4

# x position of a cluster row: shared memory before TCP, 1 host before 2.
x(h, t) = (h == 1 ? 0 : 2) + (t eq 'shm' ? 0 : 1)
plot file skip 1 using (x($1, strcol(3))):(strcol(4) eq 'latency' ? $8 : NaN):(0.5) with boxes lc rgb '#1f5fbf' title 'MPI (this lab)', \
     ''   skip 1 using (x($1, strcol(3))):(strcol(4) eq 'latency' ? $8 : NaN):9:10 with yerrorbars ls 1 pt 7 ps 0.5 notitle, \
     ''   skip 1 using (x($1, strcol(3))):(strcol(4) eq 'latency' ? $10 : NaN):(sprintf('%.2f µs', $8)) with labels offset 0,1 notitle, \
     ipc  skip 1 using (strcol(1) eq 'queue' ? 4 : 5):(strcol(1) eq 'channel' ? NaN : $4):(0.5) with boxes lc rgb '#2e8b57' title 'lab 05 (its own bench)', \
     ''   skip 1 using (strcol(1) eq 'queue' ? 4 : 5):(strcol(1) eq 'channel' ? NaN : $4):5:6 with yerrorbars ls 1 pt 7 ps 0.5 notitle, \
     ''   skip 1 using (strcol(1) eq 'queue' ? 4 : 5):(strcol(1) eq 'channel' ? NaN : $6):(sprintf('%.2f µs', $4)) with labels offset 0,1 notitle
