# Lab 03 (E13): wall time vs the IO fraction of each task (io / (io + cpu)),
# at 4 x cores workers: where threads under the GIL meet processes.
# data: results/sched-crossover-summary.csv
# columns: 1 sweep, 2 fraction, 3 mode, 4 workers, 5 n, 6 seconds_median, 7 min, 8 max, 9 speedup
load 'plots/style.inc.gp'
file = 'results/sched-crossover-summary.csv'
set title sprintf("E13 crossover: the same tasks, CPU work + blocking IO (loopback server), at 4 x cores workers\n%s", machine) noenhanced
set xlabel 'IO fraction of a task: io / (io + cpu)'
set ylabel 'wall time (s), median; bars: min–max'
set xrange [-0.05:1.05]
set yrange [0:*]
set key top right
is(m) = strcol(1) eq 'fraction' && strcol(3) eq m
plot file skip 1 using 2:(is('serial') ? $6 : NaN):7:8 with yerrorlines ls 1 title 'serial', \
     ''   skip 1 using 2:(is('thread') ? $6 : NaN):7:8 with yerrorlines ls 2 title 'threads', \
     ''   skip 1 using 2:(is('thread+gil') ? $6 : NaN):7:8 with yerrorlines ls 3 title 'threads under the emulated GIL', \
     ''   skip 1 using 2:(is('process') ? $6 : NaN):7:8 with yerrorlines ls 4 title 'processes (fork)'
