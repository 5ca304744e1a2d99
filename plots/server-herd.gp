# Lab 09 (E14): the thundering herd.  Connections opened one after another
# against 4 workers of one thread each, per accept mode: how many waiters were
# woken (top), and how the connections spread over the
# workers (bottom).
# data: results/server-herd.csv
# columns: 1 accept, 2 workers, 3 worker, 4 connections, 5 wakeups, 6 failed_accepts
load 'plots/style.inc.gp'
file = 'results/server-herd.csv'
stats file skip 1 using 2 nooutput
workers = int(STATS_max)
stats file skip 1 using 4 nooutput
most = STATS_max
mode(m) = m eq 'accept' ? 0 : m eq 'epoll' ? 1 : m eq 'epoll-exclusive' ? 2 : m eq 'reuseport' ? 3 : NaN
set xtics ('accept' 0, 'epoll' 1, 'epoll-exclusive' 2, 'reuseport' 3)
set xrange [-0.6:3.6]
set style fill solid 0.85 border -1
set multiplot layout 2,1 title sprintf("E14 server: the thundering herd, %d workers, connections one by one\n%s", workers, machine) noenhanced
# Top: how often each worker was woken.  One wake-up per connection in all
# is the ideal; a herd wakes every idle worker for every connection.
stats file skip 1 using 5 nooutput
woken = STATS_max
set ylabel 'times woken, per worker'
set boxwidth 0.8 / workers
set yrange [0:woken * 1.2]
set key off
plot file skip 1 using (mode(strcol(1)) + ($3 - (workers + 1) / 2.0) * 0.8 / workers):5 with boxes lc rgb '#c0392b', \
     ''   skip 1 using (mode(strcol(1)) + ($3 - (workers + 1) / 2.0) * 0.8 / workers):5:(sprintf('%d', $5)) with labels offset 0,0.5 font ',8'
set ylabel 'connections per worker'
set yrange [0:most * 1.2]
plot file skip 1 using (mode(strcol(1)) + ($3 - (workers + 1) / 2.0) * 0.8 / workers):4 with boxes lc rgb '#1f5fbf', \
     ''   skip 1 using (mode(strcol(1)) + ($3 - (workers + 1) / 2.0) * 0.8 / workers):4:(sprintf('%d', $4)) with labels offset 0,0.5 font ',8'
unset multiplot
