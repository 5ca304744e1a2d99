# Lab 02 (E1): the emulated GIL checked against the real one. Speedup over
# serial at the same W, for CPython (labs/02-count/count.py) and for the C
# lab, on the same machine.
# data: results/count-summary.csv results/count-cpython-summary.csv
# columns: 1 config, 4 workers, 5 iterations, 11 speedup, 12 speedup_min, 13 speedup_max
load 'plots/style.inc.gp'
c = 'results/count-summary.csv'
py = 'results/count-cpython-summary.csv'
stats py skip 1 using 4 nooutput
wmax = int(STATS_max)

set title sprintf("Lab 02 count (E1): real CPython GIL vs the emulated GIL (speedup over serial)\n%s", machine) noenhanced
set xlabel 'workers W'
set ylabel 'speedup (×), median; bars: min–max'
set xrange [0.5:wmax + 0.5]
set xtics 1
set yrange [0:cores * 1.45]
set key top left

set arrow 1 from cores, graph 0 to cores, graph 1 nohead ls 10
set label 1 sprintf(' %d cores', cores) at cores, graph 0.04 left textcolor rgb '#555555'

is(x) = strcol(1) eq x
ideal(w) = w < cores ? w : cores
plot c  skip 1 using 4:(is('serial') && $4 <= wmax ? ideal($4) : NaN) with lines ls 9 title 'ideal: min(W, cores)', \
     py skip 1 using 4:(is('python-thread')  ? $11 : NaN):12:13 with yerrorlines ls 5 title 'CPython threads (real GIL)', \
     c  skip 1 using 4:(is('thread+gil') && $4 <= wmax ? $11 : NaN):12:13 with yerrorlines ls 3 title 'C threads under the emulated GIL', \
     py skip 1 using 4:(is('python-process') ? $11 : NaN):12:13 with yerrorlines ls 6 title 'CPython processes (fork)', \
     c  skip 1 using 4:(is('process') && $4 <= wmax ? $11 : NaN):12:13 with yerrorlines ls 4 title 'C processes (fork)'
