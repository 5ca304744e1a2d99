# Lab 01 (E18): the cost of starting a process (create + wait), by method,
# against the size of the parent (memory mapped and touched first).  fork
# copies the parent's page tables; the exec family and the forkserver do not.
# data: results/process-start-summary.csv
# columns: 1 method, 2 parent_mib, 3 n, 4 us_median, 5 us_min, 6 us_max
load 'plots/style.inc.gp'
file = 'results/process-start-summary.csv'
stats file skip 1 using 2 nooutput
mibmax = STATS_max

set title sprintf("E18 starting a process: create + wait, by parent size\n%s", machine) noenhanced
set xlabel 'parent memory, MiB (mapped and touched before timing)'
set ylabel 'µs per start, median (log); bars: min–max'
set logscale y
set xrange [-mibmax * 0.03:mibmax * 1.05]
set key outside right top

# The summary holds the 8 methods of each size in the lab's order (fork,
# fork-exec, vfork-exec, posix-spawn, clone-vm, forkserver, thread, proc):
# `every 8::k` is method k at every size, so its points join into one line.
plot file skip 1 every 8::0 using 2:4:5:6 with yerrorlines ls 4  title 'fork + \_exit', \
     ''   skip 1 every 8::7 using 2:4:5:6 with yerrorlines ls 6  title 'proc\_start (fork + registry)', \
     ''   skip 1 every 8::1 using 2:4:5:6 with yerrorlines ls 11 title 'fork + exec', \
     ''   skip 1 every 8::2 using 2:4:5:6 with yerrorlines ls 14 title 'vfork + exec', \
     ''   skip 1 every 8::3 using 2:4:5:6 with yerrorlines ls 1  title 'posix\_spawn', \
     ''   skip 1 every 8::4 using 2:4:5:6 with yerrorlines ls 12 title 'clone(CLONE\_VM) + exec', \
     ''   skip 1 every 8::5 using 2:4:5:6 with yerrorlines ls 3  title 'forkserver', \
     ''   skip 1 every 8::6 using 2:4:5:6 with yerrorlines ls 2  title 'thread'
