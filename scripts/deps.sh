#!/usr/bin/env bash
# deps.sh: install what the suite needs from Debian's archive, if missing.
# As root it runs apt-get; otherwise it prints the one command to run.
set -euo pipefail

missing=()
have_package() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v jq >/dev/null 2>&1 || missing+=(jq)   # the tests parse every trace file
have_package check || missing+=(check)
have_package libsubunit-dev || missing+=(libsubunit-dev)
# The sanitizer runtimes come with gcc on Debian; name them in case a
# minimal image has gcc without them.
have_package libasan8 || missing+=(libasan8)
have_package libubsan1 || missing+=(libubsan1)
have_package libtsan2 || missing+=(libtsan2)
# The transcript check (make check-handouts) replays handouts on a terminal
# made by script(1) (bsdutils) and compares them with perl: both are part of
# every Debian system, named here for minimal images.
command -v perl >/dev/null 2>&1 || missing+=(perl-base)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
# The manager's TCP key check (HMAC-SHA256): OpenSSL's libcrypto.
have_package libssl-dev || missing+=(libssl-dev)
# The bench's peer: the same experiments in real CPython.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Lab 10 cluster: Open MPI (mpirun, and mpicc to build the lab).
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)
have_package libopenmpi-dev || missing+=(libopenmpi-dev)
# Lab 09's bench: nginx as a peer (it starts its own, loopback only) and
# h2load as a second load client.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
# and pgrep, to find a peer's workers for its CPU per request
command -v pgrep >/dev/null 2>&1 || missing+=(procps)

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: everything is installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing ${missing[*]}; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts the nginx service on install (port 80, all addresses); the
# bench runs its own, so stop the system one rather than leave it listening.
case " ${missing[*]} " in
    *" nginx-light "*) { service nginx stop || invoke-rc.d nginx stop; } > /dev/null 2>&1 || true ;;
esac
