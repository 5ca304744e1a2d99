# Lab 02 (E1): speedup over serial at the same W = serial median / median.
# data: results/count-summary.csv
# columns: 1 config, 4 workers, 5 iterations, 11 speedup, 12 speedup_min, 13 speedup_max
load 'plots/style.inc.gp'
file = 'results/count-summary.csv'
stats file skip 1 using 4:13 nooutput
wmax = int(STATS_max_x); top = STATS_max_y > cores ? STATS_max_y : cores

set title sprintf("Lab 02 count (E1): speedup vs workers (over serial with the same W)\n%s", machine) noenhanced
set xlabel 'workers W'
set ylabel 'speedup (×), median; bars: min–max'
set xrange [0.5:wmax + 0.5]
set xtics 1
if (wmax > 16) set xtics autofreq
set yrange [0:top * 1.35]
set key top left

# Past the core count extra workers only share the same cores.
set arrow 1 from cores, graph 0 to cores, graph 1 nohead ls 10
set label 1 sprintf(' %d cores', cores) at cores, graph 0.04 left textcolor rgb '#555555'

is(c) = strcol(1) eq c
ideal(w) = w < cores ? w : cores
plot file skip 1 using 4:(is('serial') ? ideal($4) : NaN) with lines ls 9 title 'ideal: min(W, cores)', \
     ''   skip 1 using 4:(is('serial')     ? $11 : NaN) with lines ls 1 lw 1 title 'serial (= 1)', \
     ''   skip 1 using 4:(is('thread')     ? $11 : NaN):12:13 with yerrorlines ls 2 title 'threads', \
     ''   skip 1 using 4:(is('thread+gil') ? $11 : NaN):12:13 with yerrorlines ls 3 title 'threads under the emulated GIL', \
     ''   skip 1 using 4:(is('process')    ? $11 : NaN):12:13 with yerrorlines ls 4 title 'processes (fork)'
