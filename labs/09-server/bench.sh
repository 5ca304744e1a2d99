#!/usr/bin/env bash
# Lab 09 (E14) benchmark: the pre-fork server under load, beside nginx and
# CPython, driven by the same closed-loop client.
#   a. throughput and p99 vs threads per worker, one line per worker count,
#      at io_ms 0 (CPU-bound: each request counts to 1,000,000) and io_ms 5
#      (each request waits 5 ms, no CPU work; SIZE=full adds io_ms 1)
#                                               -> results/server-threads.csv
#   b. p99 vs concurrency (keep-alive): thread per connection (2 x 4) vs an
#      event loop per worker; past W x T clients the threaded server caps
#                                               -> results/server-concurrency.csv
#   c. peers, small body, keep-alive, W = 2: the C server (threads, event
#      loop), nginx (its own config in a private directory), CPython's
#      pre-fork server (server.py); h2load cross-checks the lab's client
#                                               -> results/server-peers.csv,
#                                                  results/server-h2load.csv
#   d. the thundering herd per accept mode      -> results/server-herd.csv
#   e. a worker SIGKILLed under load            -> results/server-kill.csv
#   f. hostile requests                         -> results/server-hostile.csv
#   and, for every peer of c, the CPU a request costs the server and the
#   client                                      -> results/server-cpu.csv
#   reduced: results/server-threads-summary.csv, server-concurrency-summary.csv,
#            server-peers-summary.csv
# Raw files hold the program's own --csv rows, one per repetition. A missing
# nginx, python3 or h2load is one line on stderr; the rest runs.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/../.. source=scripts/bench-lib.sh
source "$(dirname "$0")/../../scripts/bench-lib.sh"   # LC_ALL=C, cd, BIN, SIZE, OUT
bench_start server "a check failed: the server's count differs from the client's, a worker was not replaced, or a hostile request got the wrong status"

# ios/threads/workers: the sweep of a; reqc/req5: its requests per run at
# io_ms 0 (each request counts to $cpu: CPU-bound) and io_ms 5 (io_ms 1 gets
# five times req5); req0: requests per run of b (GET /, no work); conc: the client counts of b; peer/py: requests per run against
# the fast peers and CPython; herd: connections; kills: trials; hostile: requests.
case $SIZE in
    quick)   ios="0 5"   threads="1 4 16"         workers="2"     req0=1000  reqc=200  req5=100 reps=1 conc="1 4 8 16"             peer=5000   py=1000  herd=100  kills=1  hostile=500   ;;
    default) ios="0 5"   threads="1 2 4 8 16"     workers="1 2"   req0=2000  reqc=400  req5=150 reps=3 conc="1 2 4 8 16 32"        peer=20000  py=3000  herd=400  kills=3  hostile=5000  ;;
    full)    ios="0 1 5" threads="1 2 4 8 16 32 64" workers="1 2 4" req0=10000 reqc=2000 req5=600 reps=5 conc="1 2 4 8 16 32 64 128" peer=100000 py=20000 herd=1000 kills=10 hostile=20000 ;;
esac
cpu=1000000   # additions per request in a's io_ms 0 runs (~0.3-1 ms of CPU)
read -r -a iolist <<< "$ios"
read -r -a tlist <<< "$threads"
read -r -a wlist <<< "$workers"
read -r -a clist <<< "$conc"

run() {
    local out=$1
    shift
    bench_run "$out" "$BIN/server" "$@" --timeout 600 --csv
}

# check OUTFILE HEADER ROWS AWK-CONDITIONS: the CSV contract (as lab 08's).
check() {
    local out=$1 header=$2 rows=$3 body=$4
    awk -F, -v header="$header" -v want="$rows" '
        function bad(why) { print "server bench: " why ": " $0 > "/dev/stderr"; failed = 1; exit 1 }
        function num(v) { return v ~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ }
        NR == 1 { if ($0 != header) bad("unexpected header"); next }
        { rows++ }
        '"$body"'
        END { if (!failed && rows != want) { print "server bench: expected " want " rows, got " rows + 0 > "/dev/stderr"; exit 1 } }
    ' "$out"
}

bench_scratch
# Peers run in the background: stop them on every way out.
peer_pid=""
stop_peer() {
    [ -n "$peer_pid" ] || return 0
    kill -TERM "$peer_pid" 2>/dev/null || true
    local status=0
    wait "$peer_pid" || status=$?
    peer_pid=""
    return "$status"
}
trap 'stop_peer || true; rm -rf "$tmp"' EXIT

nginx_bin=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
python=$(command -v python3 || true)
h2load=$(command -v h2load || true)
[ -n "$nginx_bin" ] || echo "server bench: nginx not found (apt-get install nginx-light): skipping the nginx peer" >&2
[ -n "$python" ] || echo "server bench: python3 not found: skipping the CPython peer" >&2
[ -n "$h2load" ] || echo "server bench: h2load not found (apt-get install nghttp2-client): skipping the cross-check" >&2
steps=$(( ${#iolist[@]} * ${#wlist[@]} + 2 + 2 + 3 ))

# a. Threads per worker. 16 clients, a connection per request (no
# keep-alive: so more clients than threads queue in the kernel instead of
# starving), every run checked against the server's own count.
load_header="workers,threads,accept,io_ms,cpu,keep_alive,clients,requests,seconds,rps,p50_us,p90_us,p99_us,max_us,errors"
echo "$load_header" > "$tmp/server-threads.csv"
for io in "${iolist[@]}"; do
    requests=$reqc work=$cpu
    [ "$io" -eq 0 ] || { requests=$((req5 * 5 / io)); work=0; }   # about the same time per run
    for w in "${wlist[@]}"; do
        bench_step "threads sweep: $w worker(s) x threads $threads, io_ms $io, cpu $work, 16 clients, $requests requests, $reps reps"
        for t in "${tlist[@]}"; do
            run "$tmp/one.csv" --experiment load --workers "$w" --threads "$t" --io-ms "$io" \
                --cpu "$work" --clients 16 --requests "$requests" --repeat "$reps" --warmup 1
            check "$tmp/one.csv" "$load_header" "$reps" '
                $1 != '"$w"' || $2 != '"$t"' || $4 != '"$io"' || $5 != '"$work"' { bad("row for another configuration") }
                $8 != '"$requests"' || $15 != 0 { bad("a request was not answered") }
                !num($10) || $10 <= 0 { bad("rps must be positive") }'
            tail -n +2 "$tmp/one.csv" >> "$tmp/server-threads.csv"
        done
    done
done

# b. Concurrency with keep-alive: 2 workers x 4 threads vs 2 event loops.
echo "$load_header" > "$tmp/server-concurrency.csv"
for t in 4 0; do
    bench_step "concurrency: 2 workers x $( [ $t -eq 0 ] && echo 'an event loop' || echo "$t threads"), keep-alive, clients $conc, $req0 requests, $reps reps"
    for c in "${clist[@]}"; do
        run "$tmp/one.csv" --experiment load --workers 2 --threads "$t" --io-ms 0 \
            --clients "$c" --requests "$req0" --keep-alive --repeat "$reps" --warmup 1
        check "$tmp/one.csv" "$load_header" "$reps" '
            $2 != '"$t"' || $7 != '"$c"' || $6 != 1 { bad("row for another configuration") }
            $8 != '"$req0"' || $15 != 0 { bad("a request was not answered") }'
        tail -n +2 "$tmp/one.csv" >> "$tmp/server-concurrency.csv"
    done
done

# c. Peers. start_peer NAME CMD...: run CMD in the background; its first
# line says the port (or PORT is known), then wait until it answers.
wait_answering() {
    local port=$1 i
    for i in $(seq 100); do
        "$BIN/server" --client --url "http://127.0.0.1:$port/" --requests 1 --request-timeout 0.5 --csv \
            > /dev/null 2>&1 && return 0
        kill -0 "$peer_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
start_listening_peer() {   # NAME CMD...: CMD prints "listening on 127.0.0.1:PORT"
    local name=$1 i
    shift
    "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
    peer_pid=$!
    peer_port=""
    for i in $(seq 200); do
        peer_port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out")
        [ -n "$peer_port" ] && break
        kill -0 "$peer_pid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$peer_port" ] && wait_answering "$peer_port" || {
        echo "server bench: $name did not start:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
}
# nginx cannot print an ephemeral port: pick a random high one, and retry
# if it is taken.
start_nginx() {
    local dir=$tmp/nginx try
    mkdir -p "$dir"
    for try in 1 2 3 4 5; do
        peer_port=$((20000 + RANDOM % 30000))
        cat > "$dir/nginx.conf" <<EOF
# written by labs/09-server/bench.sh: nginx as a peer, loopback only
worker_processes 2;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$peer_port;
        location = / { default_type text/plain; return 200 "Hello, world!\n"; }
    }
}
EOF
        "$nginx_bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" > "$tmp/nginx.out" 2>&1 &
        peer_pid=$!
        wait_answering "$peer_port" && return 0
        stop_peer || true
    done
    echo "server bench: nginx did not start:" >&2
    cat "$dir/error.log" "$tmp/nginx.out" >&2
    exit 1
}

peers_header="server,clients,requests,seconds,rps,p50_us,p90_us,p99_us,max_us,errors"
echo "$peers_header" > "$tmp/server-peers.csv"
echo "server,tool,requests,seconds,rps,p50_us,p99_us" > "$tmp/server-h2load.csv"
client_header="clients,requests,seconds,p50_us,p90_us,p99_us,max_us,errors"
# Where a request's CPU goes: the server's processes (user and kernel, from
# /proc/PID/stat: the peer's master and its workers, every thread, dead
# ones included) and the client's (with-cpu-time.pl), over all of drive's
# requests, warm-up included.
echo "server,requests,server_user_s,server_kernel_s,client_user_s,client_kernel_s,tick_s" > "$tmp/server-cpu.csv"
tick=$(getconf CLK_TCK)
server_ticks() {   # "user kernel" clock ticks of $peer_pid and its children
    local pid stat fields user=0 kernel=0
    for pid in $peer_pid $(pgrep -P "$peer_pid"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a fields <<< "${stat##*) }"   # after "pid (comm) ": state is field 0
        user=$((user + fields[11])) kernel=$((kernel + fields[12]))
    done
    echo "$user $kernel"
}
drive() {   # NAME REQUESTS: the lab's client against $peer_port, rows into peers
    local name=$1 requests=$2 before after
    before=$(server_ticks)
    bench_run "$tmp/one.csv" scripts/with-cpu-time.pl "$tmp/client.cpu" \
        "$BIN/server" --client --url "http://127.0.0.1:$peer_port/" --clients 8 \
        --requests "$requests" --keep-alive --repeat "$reps" --warmup 1 --timeout 600 --csv
    after=$(server_ticks)
    echo "$before $after $(cat "$tmp/client.cpu")" | awk -v name="$name" -v n=$((requests * (reps + 1))) -v tick="$tick" -v OFS=, \
        '{ print name, n, ($3 - $1) / tick, ($4 - $2) / tick, $5, $6, 1 / tick }' >> "$tmp/server-cpu.csv"
    check "$tmp/one.csv" "$client_header" "$reps" '
        $1 != 8 || $2 != '"$requests"' || $8 != 0 { bad("not every request answered") }'
    tail -n +2 "$tmp/one.csv" | awk -F, -v name="$name" -v OFS=, \
        '{ print name, $1, $2, $3, $2 / $3, $4, $5, $6, $7, $8 }' >> "$tmp/server-peers.csv"
}
cross_check() {   # NAME REQUESTS: h2load and the lab's client, one run each
    local name=$1 requests=$2 line
    [ -n "$h2load" ] || return 0
    "$h2load" --h1 -n "$requests" -c 8 -t 1 --log-file="$tmp/h2load.log" \
        "http://127.0.0.1:$peer_port/" > "$tmp/h2load.txt" 2>&1 || {
        echo "server bench: h2load failed:" >&2; cat "$tmp/h2load.txt" >&2; exit 1; }
    grep -q "$requests succeeded, 0 failed" "$tmp/h2load.txt" || {
        echo "server bench: h2load: not every request succeeded:" >&2; cat "$tmp/h2load.txt" >&2; exit 1; }
    # "finished in 496.26ms, 40301.13 req/s, 6.23MB/s"
    line=$(sed -n 's/^finished in \([0-9.]*\)\(m*s\), \([0-9.]*\) req\/s.*/\1 \2 \3/p' "$tmp/h2load.txt")
    # --log-file: one line per request, the third column its microseconds:
    # exact percentiles (nearest rank, as the lab's client computes them).
    pcts=$(cut -f3 "$tmp/h2load.log" | sort -n | awk '{ v[NR] = $1 }
        function rank(p,   r) { r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; return v[r] }
        END { print rank(50), rank(99) }')
    echo "$line $pcts" | awk -v name="$name" -v n="$requests" -v OFS=, \
        '{ s = $2 == "ms" ? $1 / 1000 : $1; print name, "h2load", n, s, $3, $4, $5 }' >> "$tmp/server-h2load.csv"
    run "$tmp/one.csv" --client --url "http://127.0.0.1:$peer_port/" --clients 8 \
        --requests "$requests" --keep-alive
    tail -n +2 "$tmp/one.csv" | awk -F, -v name="$name" -v OFS=, \
        '{ print name, "lab09-client", $2, $3, $2 / $3, $4, $6 }' >> "$tmp/server-h2load.csv"
    rm -f "$tmp/h2load.log"
}

bench_step "peers: the C server (2 workers x 8 threads, then 2 event loops), small body, 8 keep-alive clients, $peer requests, $reps reps"
start_listening_peer c-threads "$BIN/server" --serve --workers 2 --threads 8 --quiet --timeout 600
drive c-threads "$peer"
cross_check c-threads "$peer"
stop_peer || { echo "server bench: the C server did not exit 0 after SIGTERM" >&2; exit 1; }
start_listening_peer c-event-loop "$BIN/server" --serve --workers 2 --threads 0 --quiet --timeout 600
drive c-event-loop "$peer"
stop_peer || { echo "server bench: the C server did not exit 0 after SIGTERM" >&2; exit 1; }

bench_step "peers: nginx (worker_processes 2) and CPython's pre-fork server (2 workers), the same client"
if [ -n "$nginx_bin" ]; then
    start_nginx
    drive nginx "$peer"
    cross_check nginx "$peer"
    stop_peer || true   # nginx exits 0 on SIGTERM (fast shutdown)
fi
if [ -n "$python" ]; then
    start_listening_peer cpython "$python" labs/09-server/server.py --workers 2
    drive cpython "$py"
    stop_peer || true
fi

# d-f. The experiments that check themselves.
bench_step "herd: 4 workers, $herd connections one by one, per accept mode"
run "$tmp/server-herd.csv" --experiment herd --workers 4 --connections "$herd"
check "$tmp/server-herd.csv" "accept,workers,worker,connections,wakeups,failed_accepts" 16 '
    $1 !~ /^(accept|epoll|epoll-exclusive|reuseport)$/ { bad("unknown accept mode") }'
bench_step "kill: SIGKILL a worker under load, $kills trials"
run "$tmp/server-kill.csv" --experiment kill --repeat "$kills"
check "$tmp/server-kill.csv" "trial,workers,threads,killed_pid,replaced_ms,held,errors,requests" "$kills" '
    !num($5) || $5 <= 0 { bad("not replaced") }
    $7 > $6 { bad("more requests failed than the worker held") }'
bench_step "hostile: $hostile malformed or hostile requests"
run "$tmp/server-hostile.csv" --experiment hostile --requests "$hostile"
check "$tmp/server-hostile.csv" "kind,expected,sent,as_expected" 12 '
    $3 != $4 { bad("a request got the wrong answer") }'

echo "server: reducing -> $OUT/server-*-summary.csv" >&2
awk -F, -f scripts/stats.awk -v keys=1,2,4 -v rps=10 -v p99=13 -f labs/09-server/summarize.awk \
    "$tmp/server-threads.csv" > "$tmp/server-threads-summary.csv"
awk -F, -f scripts/stats.awk -v keys=2,7 -v rps=10 -v p99=13 -f labs/09-server/summarize.awk \
    "$tmp/server-concurrency.csv" > "$tmp/server-concurrency-summary.csv"
awk -F, -f scripts/stats.awk -v keys=1 -v rps=5 -v p99=8 -f labs/09-server/summarize.awk \
    "$tmp/server-peers.csv" > "$tmp/server-peers-summary.csv"
rm -f "$tmp/one.csv" "$tmp/client.cpu"
bench_publish "$tmp"/server-*.csv
echo "server: wrote $OUT/server-{threads,concurrency,peers,h2load,cpu,herd,kill,hostile}.csv and the summaries" >&2
