#!/usr/bin/env python3
"""share.py: CPython's Manager dict proxy and shared Value, to compare with.

The C lab (share --experiment cost) measures its own manager and shared
memory; this script measures the real ones on the same machine, the same
way: 1, 2, 4 ... client processes each make --updates updates, the clock
runs from the moment all are ready to the last one done, and the total is
checked.
  cpython-manager  d[i] = n through a multiprocessing.Manager() dict proxy
                   (one request and one reply per update, pickled)
  cpython-value    with v.get_lock(): v.value += 1 on a shared
                   multiprocessing.Value('q') (a semaphore and shared memory)
Optional: the bench runs it only when python3 is installed.

    python3 labs/06-share/share.py --workers 4 --csv

CSV columns are the C lab's: method,clients,ops,seconds (ops: all clients'
updates together).  Exit status: 0 every total exact, 1 a wrong total,
2 bad usage.
"""
import argparse
import multiprocessing
import os
import sys
import time


def manager_client(d, index, updates, ready, go, done):
    d[index] = 0  # the connection opens now, not on the clock
    ready.release()
    go.wait()
    for n in range(1, updates + 1):
        d[index] = n
    done.put(time.perf_counter())


def value_client(v, index, updates, ready, go, done):
    ready.release()
    go.wait()
    for _ in range(updates):
        with v.get_lock():
            v.value += 1
    done.put(time.perf_counter())


def run(method, clients, updates, manager):
    ready = multiprocessing.Semaphore(0)
    go = multiprocessing.Event()
    done = multiprocessing.Queue()
    if method == "cpython-manager":
        shared = manager.dict()
        target = manager_client
    else:
        shared = multiprocessing.Value("q", 0)
        target = value_client
    processes = [multiprocessing.Process(target=target,
                                         args=(shared, i, updates, ready, go, done))
                 for i in range(clients)]
    for p in processes:
        p.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    end = max(done.get() for _ in processes)
    for p in processes:
        p.join()
    if method == "cpython-manager":
        total = sum(shared[i] for i in range(clients))
    else:
        total = shared.value
    right = total == clients * updates and all(p.exitcode == 0 for p in processes)
    return end - start, right


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2 * os.cpu_count(),
                        help="clients 1, 2, 4 ... up to this (default 2 x cores)")
    parser.add_argument("--updates", type=int, default=0,
                        help="updates per client (default: 2000 manager, 100000 value)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args()
    if args.workers < 1 or args.repeat < 1 or args.updates < 0:
        parser.error("--workers and --repeat must be >= 1, --updates >= 0")
    counts, c = [], 1
    while c < args.workers:
        counts.append(c)
        c *= 2
    counts.append(args.workers)
    print("method,clients,ops,seconds" if args.csv else
          f"share.py: CPython {sys.version.split()[0]}, 1 to {args.workers} clients")
    status = 0
    with multiprocessing.Manager() as manager:
        for method, default in (("cpython-manager", 2000), ("cpython-value", 100000)):
            updates = args.updates or default
            for clients in counts:
                for _ in range(args.repeat):
                    seconds, right = run(method, clients, updates, manager)
                    if not right:
                        print(f"share.py: WRONG total for {method}, {clients} clients",
                              file=sys.stderr)
                        status = 1
                    ops = clients * updates
                    if args.csv:
                        print(f"{method},{clients},{ops},{seconds:.9f}", flush=True)
                    else:
                        print(f"  {method:16} {clients:3} clients  {ops / seconds:12.0f} updates/s"
                              f"  {seconds / updates * 1e6:8.2f} us per update, one client")
    return status


if __name__ == "__main__":
    sys.exit(main())
