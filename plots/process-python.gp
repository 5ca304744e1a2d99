# Lab 01 (E18): the C start methods (parent of 0 MiB) next to CPython's
# start methods -- start + join of an empty target -- on the same machine.
# data: results/process-start-summary.csv results/process-python-summary.csv
# columns: 1 method, 2 parent_mib, 3 n, 4 us_median, 5 us_min, 6 us_max
load 'plots/style.inc.gp'
c = 'results/process-start-summary.csv'
py = 'results/process-python-summary.csv'

set title sprintf("E18 start + wait of an empty child: C methods (parent 0 MiB) vs CPython's\n%s", machine) noenhanced
set ylabel 'µs per start, median (log); bars: min–max'
set logscale y
set style fill solid 0.35 border lc rgb '#000000'
set boxwidth 0.6
set xtics rotate by -35
set key top left
set xrange [-0.7:11.7]

# The C rows at 0 MiB come first in the summary, one per method (8)
# (bench.sh measures 0 MiB first.)
plot c  skip 1 every ::0::7 using 0:4:xtic(1) with boxes lc rgb '#1f5fbf' title 'C (this lab, parent 0 MiB)', \
     c  skip 1 every ::0::7 using 0:4:5:6 with yerrorbars ls 1 pt 7 ps 0.5 notitle, \
     py skip 1 using ($0 + 8):4:xtic(strcol(1)) with boxes lc rgb '#c0392b' title 'CPython (process.py)', \
     py skip 1 using ($0 + 8):4:5:6 with yerrorbars ls 1 pt 7 ps 0.5 notitle
