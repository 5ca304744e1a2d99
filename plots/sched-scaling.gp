# Lab 03 (E13): speedup over serial vs workers at IO fractions 0, 0.5, 0.9:
# past the core count only waiting workers keep gaining.
# data: results/sched-crossover-summary.csv
# columns: 1 sweep, 2 fraction, 3 mode, 4 workers, 5 n, 6 seconds_median, 7 min, 8 max, 9 speedup
load 'plots/style.inc.gp'
file = 'results/sched-crossover-summary.csv'
set multiplot layout 1,3 title sprintf("E13 speedup vs workers at three IO fractions (same tasks for every W)\n%s", machine) noenhanced
set xlabel 'workers W'
set ylabel 'speedup over serial (×)'
set logscale x 2
set yrange [0:*]
set key top left font ',9'
set arrow 1 from cores, graph 0 to cores, graph 1 nohead ls 10
do for [f in "0 0.5 0.9"] {
    set title sprintf('IO fraction %s', f)
    is(m) = strcol(1) eq 'workers' && strcol(2) eq f && strcol(3) eq m
    plot file skip 1 using 4:(is('thread') ? $9 : NaN) with linespoints ls 2 title 'threads', \
         ''   skip 1 using 4:(is('thread+gil') ? $9 : NaN) with linespoints ls 3 title 'threads + GIL', \
         ''   skip 1 using 4:(is('process') ? $9 : NaN) with linespoints ls 4 title 'processes'
}
unset multiplot
