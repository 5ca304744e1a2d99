# Lab 10 (E17): speedup of the counting job over 1 host x 1 slot, vs ranks,
# on 1 host and on fake hosts (all on this machine); start-up excluded and
# written beside each point.
# data: results/cluster-speedup-summary.csv
# columns: 1 hosts, 2 slots, 3 ranks, 4 transport, 6 median_s, 9 startup_s, 10 speedup, 11 speedup_min, 12 speedup_max
load 'plots/style.inc.gp'
file = 'results/cluster-speedup-summary.csv'
stats file skip 1 using 3:12 nooutput
rmax = int(STATS_max_x); top = STATS_max_y > cores ? STATS_max_y : cores

set title sprintf("Lab 10 cluster (E17): speedup vs MPI ranks, fake hosts on one machine\n(over 1 host x 1 slot; mpirun start-up excluded, shown beside each point)\n%s", machine) noenhanced
set xlabel 'ranks (hosts x slots)'
set ylabel 'speedup (×), median; bars: min–max'
set xrange [0.5:rmax + 0.5]
set xtics 1
set yrange [0:top * 1.4]
set key top left

# Past the core count extra ranks only share the same cores, whatever host.
set arrow 1 from cores, graph 0 to cores, graph 1 nohead ls 10
set label 1 sprintf(' %d cores', cores) at cores, graph 0.04 left textcolor rgb '#555555'

tcp(h) = strcol(4) eq 'tcp' && $1 == h
ideal(r) = r < cores ? r : cores
plot file skip 1 using 3:(ideal($3)) smooth unique with lines ls 9 title 'ideal: min(ranks, cores)', \
     ''   skip 1 using 3:(tcp(1) ? $10 : NaN):11:12 with yerrorlines ls 4 title '1 host (TCP on loopback)', \
     ''   skip 1 using 3:(tcp(2) ? $10 : NaN):11:12 with yerrorlines ls 2 title '2 fake hosts (TCP on loopback)', \
     ''   skip 1 using 3:(strcol(4) eq 'tcp' && $1 > 2 ? $10 : NaN):11:12 with yerrorbars ls 3 title 'more fake hosts (TCP)', \
     ''   skip 1 using 3:(strcol(4) eq 'shm' ? $10 : NaN):11:12 with yerrorbars ls 1 title '1 host, shared memory', \
     ''   skip 1 using 3:(tcp(1) ? $10 : NaN):(sprintf('%.2fs', $9)) with labels offset 0,-1.2 textcolor rgb '#2e8b57' notitle, \
     ''   skip 1 using 3:(tcp(2) ? $10 : NaN):(sprintf('%.2fs', $9)) with labels offset 0,1.2 textcolor rgb '#1f5fbf' notitle
