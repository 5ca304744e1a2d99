#!/usr/bin/env bash
# cluster.sh: run build/bin/cluster on several fake hosts made out of this machine (lab 10, E17).
#
#   labs/10-cluster/cluster.sh --hosts H --slots S [--transport tcp|shm] -- [cluster flags]
#
# On a real cluster, mpirun reads a hostfile of real machines and starts one
# daemon (orted) on each over ssh; each daemon starts that host's ranks.
# This script follows the same path on one machine:
#   - a hostfile of H hosts named nodeA, nodeB, ... with S slots each;
#   - instead of ssh, a launcher agent (--mca plm_rsh_agent) that runs the
#     host's daemon here, in a UTS namespace of its own whose host name is
#     the fake host's (unshare --uts, as root), so each rank's
#     MPI_Get_processor_name() says which host it is on;
#   - traffic between the ranks over TCP on loopback (--transport tcp, the
#     default: Open MPI excludes lo unless told), or shared memory between
#     ranks of one host and TCP between hosts (--transport shm).
# Everything it writes is in a private temporary directory, removed on
# every way out (trap).  Fake hosts share this machine's cores: more hosts
# add no speed here.
#
# First it checks the program's flags (cluster --validate: a bad command
# line is refused, exit 2, before mpirun starts anything), then it measures
# mpirun's start-up with an empty run (MPI_Init + MPI_Finalize on every
# rank) and passes it to the real run (--startup), which prints it apart
# (unless --startup is among the program's flags already).
# Exit status: the program's (0 ok, 1 wrong total, 2 usage, 3 watchdog),
# 3 also when mpirun's own --timeout stopped the job, 4 when mpirun or the
# program is missing, 128+N when stopped by signal N.
# Environment: CLUSTER_BIN (default build/bin/cluster), MPIRUN (mpirun).
set -euo pipefail
export LC_ALL=C

prog=cluster.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${CLUSTER_BIN:-$root/build/bin/cluster}
mpirun=${MPIRUN:-mpirun}

usage() {
    cat <<EOF
Usage: $prog --hosts H --slots S [--transport tcp|shm] [--bind none|core] -- [cluster flags]
Run build/bin/cluster on H fake hosts (nodeA, nodeB, ...) of S slots each,
all on this machine: H x S ranks, one Open MPI daemon per host.

  --hosts H        fake hosts, 1 to 16 (default 2)
  --slots S        ranks per host, 1 to 64 (default 1)
  --transport T    tcp (default): every message over TCP on loopback;
                   shm: shared memory within a host, TCP between hosts
  --bind B         none (default): the kernel places the ranks, as it places
                   lab 02 count's processes; core: mpirun pins each rank to a
                   core (its own default for a few ranks; 1 host only)
  --help           show this text and exit
Everything after -- goes to the program (build/bin/cluster --help).
Exit status: the program's (0 ok, 1 wrong total, 2 usage, 3 watchdog; 3
also when mpirun's --timeout stopped the job), 4 mpirun or the program
missing, 128+N stopped by signal N.
EOF
}

usage_error() {
    echo "$prog: $1" >&2
    echo "Try '$prog --help' for more information." >&2
    exit 2
}

# whole NAME VALUE MIN MAX: a whole number in [MIN, MAX], or a usage error.
whole() {
    [[ $2 =~ ^[0-9]{1,6}$ ]] && (( 10#$2 >= $3 && 10#$2 <= $4 )) ||
        usage_error "$1: '$2' is not a whole number from $3 to $4"
}

# ---- Our own flags, up to "--" ------------------------------------------
hosts=2 slots=1 transport=tcp bind=none
declare -A given=()
while [ $# -gt 0 ]; do
    arg=$1
    shift
    case $arg in
        --) break ;;
        --help | -h) usage; exit 0 ;;
        --hosts | --slots | --transport | --bind | --hosts=* | --slots=* | --transport=* | --bind=*)
            name=${arg%%=*}
            if [[ $arg == *=* ]]; then
                value=${arg#*=}
            elif [ $# -gt 0 ] && [[ $1 != --* ]]; then
                value=$1
                shift
            else
                usage_error "$name: needs a value"
            fi
            [ -z "${given[$name]:-}" ] || usage_error "$name: given twice"
            given[$name]=1
            case $name in
                --hosts) whole --hosts "$value" 1 16; hosts=$((10#$value)) ;;
                --slots) whole --slots "$value" 1 64; slots=$((10#$value)) ;;
                --transport)
                    [[ $value == tcp || $value == shm ]] ||
                        usage_error "--transport: '$value' is not one of tcp, shm"
                    transport=$value ;;
                --bind)
                    [[ $value == none || $value == core ]] ||
                        usage_error "--bind: '$value' is not one of none, core"
                    bind=$value ;;
            esac ;;
        *) usage_error "'$arg': unknown flag (the program's flags go after --)" ;;
    esac
done
args=("$@")
ranks=$((hosts * slots))
[ "$bind" = none ] || [ "$hosts" -eq 1 ] ||
    usage_error "--bind core: 1 host only (every fake host's daemon would pin its first rank to core 0 of this one machine)"

# ---- The program's flags, checked before anything starts ----------------
# --validate parses them exactly as every rank will, prints the run's
# --timeout and exits, without MPI; a bad line is its exit 2.
if [ ! -x "$bin" ]; then
    echo "$prog: $bin not found; run make (it needs Open MPI:" \
         "apt-get install openmpi-bin libopenmpi-dev, or make deps)" >&2
    exit 4
fi
status=0
checked=$("$bin" --validate "${args[@]}") || status=$?
[ "$status" -eq 0 ] || exit "$status"
if ! [[ $checked =~ ^[0-9.]+$ ]]; then
    printf '%s\n' "$checked" # --help was among them: the program's help
    exit 0
fi
timeout=$checked
if ! command -v "$mpirun" > /dev/null 2>&1; then
    echo "$prog: $mpirun not found; install Open MPI:" \
         "apt-get install openmpi-bin libopenmpi-dev (or make deps)" >&2
    exit 4
fi

# ---- A private directory, removed on every way out ----------------------
dir=$(mktemp -d "${TMPDIR:-/tmp}/cluster-XXXXXX")
mpirun_pid=
cleanup() { rm -rf "$dir"; }
# Ctrl+C or a kill: stop the launcher (it stops mpirun, which stops its
# daemons and ranks, and reaps them all), wait for it, then leave with
# 128+N; the EXIT trap removes the directory.
on_signal() {
    trap - INT TERM HUP
    if [ -n "$mpirun_pid" ]; then
        kill -TERM "$mpirun_pid" 2> /dev/null || true
        wait "$mpirun_pid" 2> /dev/null || true
    fi
    echo "$prog: interrupted; mpirun and its ranks stopped" >&2
    exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

say() { echo "$prog: $*" >&2; }

# ---- The hosts: a hostfile and a launcher agent -------------------------
letters=(A B C D E F G H I J K L M N O P)
names=()
for ((i = 0; i < hosts; i++)); do
    names+=("node${letters[$i]}")
    echo "node${letters[$i]} slots=$slots" >> "$dir/hostfile"
done
list=$(IFS=,; echo "${names[*]}")
list=${list//,/, }

# A host name of its own needs a UTS namespace, which needs root
# (CAP_SYS_ADMIN).  Without it the hosts are still separate Open MPI nodes,
# one daemon each, but every rank reports this machine's name.
uts=0
if [ "$(id -u)" -eq 0 ] && unshare --uts true 2> /dev/null; then
    uts=1
fi
cat > "$dir/agent" <<EOF
#!/bin/sh
# agent: what mpirun runs instead of ssh to start one host's daemon.
# mpirun calls it as: agent [ssh options] HOST COMMAND..., COMMAND being one
# shell command line (orted and its options), as ssh would run it on HOST.
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1
shift
if [ $uts = 1 ]; then
    # A new UTS namespace: hostname changes only inside it, for this
    # daemon and the ranks it starts.
    exec unshare --uts sh -c 'hostname "\$0" && eval "exec \$1"' "\$host" "\$*"
fi
eval "exec \$*"
EOF
chmod +x "$dir/agent"

cpus=$(nproc)
opts=(--hostfile "$dir/hostfile" --mca plm_rsh_agent "$dir/agent"
      --mca oob_tcp_if_include lo --mca btl_tcp_if_include lo
      --timeout "$(awk -v t="$timeout" 'BEGIN { printf "%d", int(t) + (t > int(t)) + 10 }')")
say "$hosts fake host$([ "$hosts" -gt 1 ] && echo s) ($list) x $slots slot$([ "$slots" -gt 1 ] && echo s)" \
    "= $ranks rank$([ "$ranks" -gt 1 ] && echo s), all on this machine ($cpus CPUs): fake hosts share its cores"
if [ "$uts" = 1 ]; then
    say "each host's daemon runs in its own UTS namespace (unshare --uts): ranks report $list"
else
    why="not root"
    [ "$(id -u)" -eq 0 ] && why="unshare --uts is not allowed here (no CAP_SYS_ADMIN)"
    say "$why: no UTS namespaces, so every rank reports this machine's name ($(hostname));" \
        "the $hosts hosts are still separate Open MPI nodes, one daemon each"
fi
case $transport in
    tcp) opts+=(--mca btl tcp,self)
         say "transport tcp: every message over TCP on loopback (--mca btl tcp,self, btl_tcp_if_include lo)" ;;
    shm) opts+=(--mca btl self,vader,tcp)
         say "transport shm: shared memory (vader) between ranks of one host, TCP on loopback between hosts" ;;
esac
if [ "$(id -u)" -eq 0 ]; then
    opts+=(--allow-run-as-root)
    say "running as root: adding --allow-run-as-root (mpirun refuses root otherwise)"
fi
# More ranks than cores: mpirun refuses that only when it counts the slots
# itself (no hostfile, or a host without slots=).  Here every host says
# slots=S, so mpirun starts S ranks per host whatever the cores, and
# --oversubscribe is never needed; the ranks just share the cores.
if [ "$ranks" -gt "$cpus" ]; then
    say "$ranks ranks on $cpus CPUs: oversubscribed; the hostfile's slots=$slots lets mpirun start them (no --oversubscribe needed), and they take turns on the cores"
fi
# Where the ranks run.  mpirun pins each rank to a core when there are
# few ranks (--bind-to core), which pays on a dedicated node.  Here it
# would make the comparison with lab 02 count unfair: count's processes are
# not pinned, and on a shared or virtual machine a pinned rank cannot move
# off a core that another program (or the hypervisor) is slowing down,
# while the kernel moves an unpinned one.  Across fake hosts pinning is
# worse still: each daemon believes it owns every core of its host and
# would pin its first rank to core 0, so all hosts' first ranks would share
# that one core.
if [ "$bind" = none ]; then
    opts+=(--bind-to none)
    say "--bind-to none: the kernel places the ranks, as it does count's processes (--bind core: mpirun pins them)"
else
    opts+=(--bind-to core)
    say "--bind-to core: mpirun pins each rank to a core"
fi
# The sanitizers, for the MPI runs only.  ASan's LeakSanitizer reports
# about 121 KB that Open MPI itself leaks inside MPI_Init (plugins it
# dlcloses, so suppressions by library match little): leak checking is off
# for mpirun and the ranks (every other ASan check stays on; the --validate
# and --launch runs keep leak checking).  TSan can report a lock-order
# inversion inside Open MPI's TCP transport (mca_btl_tcp_add_procs) in
# ranks that have a thread of their own, as these do (the watchdog):
# tsan.supp suppresses that one function, a suppression rather than
# --mca btl self,vader because ranks on different fake hosts can only
# reach each other over TCP.  Neither touches the lab's own code; plain
# builds ignore both variables.  -x passes them to every host.
mpi_env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
         "TSAN_OPTIONS=${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$here/tsan.supp")
opts+=(-x ASAN_OPTIONS -x TSAN_OPTIONS)
# Open MPI keeps a session directory per host (ompi.HOST.UID: sockets,
# shared-memory segments) under TMPDIR and removes it when its daemon ends
# cleanly.  A daemon killed on the way out (a watchdog, Ctrl+C) leaves it
# behind, so the whole job's TMPDIR is inside our private directory, which
# goes on every path.
mkdir "$dir/tmp"
mpi_env+=("TMPDIR=$dir/tmp")
# When a job is aborted (a rank exits non-zero: a wrong total, a watchdog;
# or Ctrl+C), each daemon sends SIGTERM to its ranks and then waits
# odls_base_sigkill_timeout (1 s by default) before SIGKILL -- even when
# every rank has already exited: measured, those paths took 2-3 s instead
# of under 1.  These ranks own nothing a SIGKILL would leak (no children,
# no files: the session files are the daemons', in our directory), so no
# grace.
opts+=(--mca odls_base_sigkill_timeout 0)

# run_mpirun ARGS...: mpirun through `cluster --launch` (launch.c), which
# times it on a monotonic clock and, as a child subreaper, reaps every
# daemon and rank mpirun leaves behind (mpirun does not wait for the
# daemons its agent started).  In the background, so that a signal
# reaches our trap at once.  Sets $rc and $took (seconds).
backstop=$(awk -v t="$timeout" 'BEGIN { printf "%d", int(t) + (t > int(t)) + 20 }')
run_mpirun() {
    rc=0
    "$bin" --launch "$dir/took" "$backstop" "${mpi_env[@]}" "$mpirun" "${opts[@]}" -np "$ranks" "$bin" "$@" < /dev/null &
    mpirun_pid=$!
    wait "$mpirun_pid" || rc=$?
    mpirun_pid=
    took=$(awk '{ printf "%.3f", $1 }' "$dir/took" 2> /dev/null || echo "?")
}

# mpirun's --timeout: its own watchdog, 10 s after the program's, as a
# backstop; when it fires, mpirun exits 110 (ETIMEDOUT).
verdict() {
    if [ "$rc" -eq 110 ]; then
        say "mpirun's --timeout stopped the job (the program's own watchdog did not): exit 3"
        exit 3
    fi
}

# A --startup among the program's flags is a start-up measured before (or
# not wanted: the tests pass --startup 0 to save a launch): no empty run.
measured=1
for arg in "${args[@]}"; do
    [[ $arg == --startup || $arg == --startup=* ]] && measured=0
done
if [ "$measured" = 1 ]; then
    run_mpirun --experiment empty --timeout "$timeout"
    verdict
    if [ "$rc" -ne 0 ]; then
        say "the empty run (MPI_Init + MPI_Finalize only) failed with exit $rc"
        exit "$rc"
    fi
    startup=$took
    say "mpirun start-up: $startup s (an empty run: MPI_Init + MPI_Finalize on every rank)"
    args+=(--startup "$startup")
else
    say "--startup given: no empty run"
fi

run_mpirun "${args[@]}"
verdict
say "this run's mpirun took $took s in all, start-up included; exit $rc"
exit "$rc"
