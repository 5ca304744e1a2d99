# Lab 03 (E13): the crossover in real CPython (labs/03-sched/crossover.py):
# speedup over serial vs the IO fraction, threads (the real GIL) and
# processes, at 4 x cores workers; the C lab's emulated-GIL threads beside.
# data: results/sched-cpython-summary.csv results/sched-crossover-summary.csv
# columns (cpython): 1 mode, 2 io_fraction, 3 workers, 4 n, 5 median, 6 min, 7 max, 8 speedup
# columns (C):       1 sweep, 2 fraction, 3 mode, 4 workers, 5 n, 6 median, 7 min, 8 max, 9 speedup
load 'plots/style.inc.gp'
py = 'results/sched-cpython-summary.csv'
c = 'results/sched-crossover-summary.csv'
set title sprintf("E13 crossover in CPython: speedup over serial vs IO fraction, 4 x cores workers\n%s", machine) noenhanced
set xlabel 'IO fraction of a task: io / (io + cpu)'
set ylabel 'speedup over serial (×)'
set xrange [-0.05:1.05]
set yrange [0:*]
set key top left
is(m) = strcol(1) eq m
isc(m) = strcol(1) eq 'fraction' && strcol(3) eq m
plot py skip 1 using 2:(is('python-thread') ? $8 : NaN) with linespoints ls 5 title 'CPython threads (the real GIL)', \
     py skip 1 using 2:(is('python-process') ? $8 : NaN) with linespoints ls 6 title 'CPython processes', \
     c  skip 1 using 2:(isc('thread+gil') ? $9 : NaN) with linespoints ls 3 title 'C threads, emulated GIL', \
     c  skip 1 using 2:(isc('process') ? $9 : NaN) with linespoints ls 4 title 'C processes'
