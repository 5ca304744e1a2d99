# Lab 03 (E13): the GIL convoy effect -- an IO thread's request latency
# (2 ms server delay) alone, beside a CPU-bound thread under the GIL, and
# beside the same thread without a GIL.
# data: results/sched-convoy-summary.csv
# columns: 1 setting, 2 n, 3 median, 4 p90, 5 min, 6 max, 7 excess_ms
load 'plots/style.inc.gp'
file = 'results/sched-convoy-summary.csv'
set title sprintf("E13 convoy: an IO thread's request latency (2 ms server delay; GIL switch interval 5 ms)\n%s", machine) noenhanced
set xlabel 'setting'
set ylabel 'latency (ms), median; bars: min–max'
set style fill pattern 4 border lc rgb '#000000'
set xrange [-0.6:2.6]
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set key top left
name(s) = s eq 'alone' ? 'alone (under the GIL)' : s eq 'beside-cpu-gil' ? 'beside a CPU thread, GIL' : 'beside a CPU thread, no GIL'
plot file skip 1 using 0:3:(0.5):xtic(name(strcol(1))) with boxes lc rgb '#c0392b' title 'median', \
     ''   skip 1 using 0:3:5:6 with yerrorbars ls 1 pt 7 ps 0.6 title 'min–max', \
     ''   skip 1 using 0:4 with points ls 3 title 'p90', \
     ''   skip 1 using 0:6:(sprintf('%+.1f ms', $7)) with labels offset 0,1 notitle
