# Lab 03 (E16): two CPU-bound processes on one CPU, worker-0 at nice 0 and
# worker-1 at nice N: worker-1's part of their time, measured vs the
# kernel's weights (sched_prio_to_weight: 1024 for nice 0, 335 for nice 5).
# data: results/sched-nice-summary.csv
# columns: 1 nice, 2 n, 3 share1_median, 4 share1_min, 5 share1_max, 6 expected_share1, 7 ratio_median, 8 ratio_expected
load 'plots/style.inc.gp'
file = 'results/sched-nice-summary.csv'
set title sprintf("E16 nice: worker-1 at nice N beside worker-0 at nice 0, pinned to one CPU\n%s", machine) noenhanced
set xlabel 'nice value of worker-1'
set ylabel "worker-1's part of the two workers' CPU time (%)"
set yrange [0:60]
set xrange [-0.5:*]
set key top right
plot file skip 1 using 1:($6 * 100) with linespoints ls 9 pt 0 title 'expected from the weights', \
     ''   skip 1 using 1:($3 * 100):($4 * 100):($5 * 100) with yerrorlines ls 4 title 'measured (median; bars: min–max)', \
     ''   skip 1 using 1:($3 * 100):(sprintf('%.2f : 1', $7)) with labels offset 0,1.2 notitle
