# Shared by every chart (scripts/plots.sh skips *.inc.gp): terminal, machine
# label, and line styles that stay distinct in black-and-white print.
# Callers may pass -e "fmt='png'; out='plots/x.png'"; run from the repo root.
if (!exists("fmt")) fmt = 'svg'
if (!exists("out")) out = '/dev/null'
if (fmt eq 'png') {
    set terminal pngcairo size 900,560 font 'sans,11' enhanced
} else {
    set terminal svg size 900,560 dynamic font 'sans,12' enhanced background rgb 'white'
}
set output out

# The machine that measured (results/machine.txt), not the one drawing.
machine = system("sed -n 's/^label: //p' results/machine.txt 2>/dev/null")
cores = int(system("sed -n 's/^cores: //p' results/machine.txt 2>/dev/null"))
if (cores < 1) cores = int(system("nproc"))

set datafile separator comma
set grid lc rgb '#dddddd'
set border 3
set tics nomirror
set key box opaque samplen 3 spacing 1.2

# One style per configuration: colour AND point type AND dash type differ,
# so the lines survive a grey-scale printer.
set style line 1 lc rgb '#000000' lw 2 pt 7  ps 1.1 dt 1              # serial
set style line 2 lc rgb '#1f5fbf' lw 2 pt 5  ps 1.0 dt 2              # threads
set style line 3 lc rgb '#c0392b' lw 2 pt 9  ps 1.3 dt 4              # threads + GIL
set style line 4 lc rgb '#2e8b57' lw 2 pt 13 ps 1.3 dt 5              # processes
set style line 5 lc rgb '#c0392b' lw 2 pt 8  ps 1.4 dt 1              # CPython threads (hollow: real CPython)
set style line 6 lc rgb '#2e8b57' lw 2 pt 12 ps 1.4 dt 1              # CPython processes
set style line 9 lc rgb '#bbbbbb' lw 6 dt 1                          # ideal line: a wide pale band under the data
set style line 10 lc rgb '#777777' lw 1.5 dt 3                        # marks (core count)
# Lab 04 (tickets): mode by colour (processes green, threads blue), store by
# fill (shm filled, file hollow); locks in black, no lock in red.
set style line 11 lc rgb '#2e8b57' lw 2 pt 12 ps 1.4 dt 3             # processes, file store
set style line 12 lc rgb '#1f5fbf' lw 2 pt 4  ps 1.1 dt 6             # threads, file store
set style line 13 lc rgb '#000000' lw 2 pt 7  ps 1.1 dt 1             # with a mutex (shm store)
set style line 14 lc rgb '#000000' lw 2 pt 6  ps 1.2 dt 2             # with a file lock (file store)
set style line 15 lc rgb '#c0392b' lw 2 pt 9  ps 1.3 dt 4             # without a lock

# 100000000 -> "100,000,000" for titles.
thousands(n) = n < 1000 ? sprintf("%d", n) : thousands(n / 1000) . sprintf(",%03d", n % 1000)
