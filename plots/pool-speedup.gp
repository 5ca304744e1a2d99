# Lab 08 (E10): speedup over serial vs work per task, for a process pool, a
# thread pool, a fresh process per task and a fresh thread per task, all with
# W workers. Small tasks drown in the cost of handing them over; each curve
# crosses 1 where its per-task overhead is paid for ("pays off" marks the
# smallest work from which the median speedup stays above 1).
# data: results/pool-speedup-summary.csv
# columns: 1 kind, 2 work_us, 3 tasks, 4 workers, 5 runs, 9 speedup, 10 speedup_min, 11 speedup_max,
#          12 pays_off, 13 serial_us (the work per task as measured serially: the x axis)
load 'plots/style.inc.gp'
file = 'results/pool-speedup-summary.csv'
stats file skip 1 using 13:4 nooutput
wmin = STATS_min_x; wmax = STATS_max_x; workers = int(STATS_max_y)
stats file skip 1 using 11 nooutput
top = STATS_max
stats file skip 1 using 10 nooutput
bottom = STATS_min
stats file skip 1 using 5 nooutput
runs = int(STATS_min)
ideal = workers < cores ? workers : cores

set title sprintf("Lab 08 pool (E10): speedup over serial vs work per task (%d workers; median of %d runs, bars: min–max)\n%s", workers, runs, machine) noenhanced
set xlabel 'work per task, measured serially (µs, log scale)'
set ylabel 'speedup over serial (×, log scale)'
set logscale xy
set xrange [wmin / 4 : wmax * 4]
set yrange [(bottom < 0.01 ? bottom : 0.01) / 1.5 : (top > ideal ? top : ideal) * 2.5]
set format x '%g'
set format y '%g'
set key bottom right


is(k) = strcol(1) eq k
pays(k) = is(k) && $12 == 1
us(u) = u >= 1000 ? sprintf('%.3g ms', u / 1000) : sprintf('%.3g µs', u)
# Break-even: below 1, the workers make the work slower than doing it in turn.
plot file skip 1 using 13:(is('serial') ? ideal : NaN) with lines ls 9 title sprintf('ideal: min(W, cores) = %d', ideal), \
     1 with lines ls 10 title 'break-even (1×): below it, slower than serial', \
     ''   skip 1 using 13:(is('process-pool') ? $9 : NaN):10:11 with yerrorlines ls 4 title 'process pool (reused workers)', \
     ''   skip 1 using 13:(is('thread-pool') ? $9 : NaN):10:11 with yerrorlines ls 2 title 'thread pool (reused workers)', \
     ''   skip 1 using 13:(is('fork-per-task') ? $9 : NaN):10:11 with yerrorlines ls 15 title 'a fresh process per task (fork)', \
     ''   skip 1 using 13:(is('thread-per-task') ? $9 : NaN):10:11 with yerrorlines ls 12 title 'a fresh thread per task', \
     ''   skip 1 using 13:(pays('process-pool') ? $9 : NaN):('pays off: ' . us($13)) with labels offset 0,-1.3 center font ',9' textcolor rgb '#2e8b57' notitle, \
     ''   skip 1 using 13:(pays('thread-pool') ? $9 : NaN):('pays off: ' . us($13)) with labels offset 0,1.3 center font ',9' textcolor rgb '#1f5fbf' notitle, \
     ''   skip 1 using 13:(pays('fork-per-task') ? $9 : NaN):('pays off: ' . us($13)) with labels offset 0,-1.3 center font ',9' textcolor rgb '#c0392b' notitle, \
     ''   skip 1 using 13:(pays('thread-per-task') ? $9 : NaN):('pays off: ' . us($13)) with labels offset 0,1.3 center font ',9' textcolor rgb '#1f5fbf' notitle
