# Lab 03 (E16): how long a time slice lasts -- the lengths of every slice of
# 3 pinned CPU-bound processes, as the workers measured them.
# data: results/sched-slices.csv
# columns: 1 worker, 2 length_ms
load 'plots/style.inc.gp'
file = 'results/sched-slices.csv'
stats file skip 1 using 2 nooutput
n = STATS_records; mean = STATS_mean; med = STATS_median
bin = 0.25
set title sprintf("E16 slice lengths, 3 processes on one CPU (%d slices, median %.2f ms, mean %.2f ms)\n%s", n, med, mean, machine) noenhanced
set xlabel 'slice length (ms), bins of 0.25 ms'
set ylabel 'slices'
set style fill pattern 4 border lc rgb '#000000'
set xrange [0:*]
set yrange [0:*]
set key top right
if (STATS_max >= 10) {
    set arrow 1 from 10, graph 0 to 10, graph 1 nohead ls 10
    set label 1 " the documents' 0.01 s" at 10, graph 0.9 left textcolor rgb '#555555'
} else {
    set label 1 sprintf("the documents' 0.01 s (10 ms) is off this chart:\nthe longest slice here was %.2f ms", STATS_max) at graph 0.98, graph 0.8 right textcolor rgb '#555555'
}
plot file skip 1 using (bin * floor($2 / bin) + bin / 2):(1.0) smooth frequency with boxes lc rgb '#1f5fbf' title 'slices'
