#!/usr/bin/env python3
"""count.py: the E1 experiment in real CPython, to check the C lab against.

The C lab (count.c) emulates CPython's interpreter lock.  This script runs the
same work -- W tasks, each adding 1 to a local sum N times -- in CPython itself,
serially, in W threads and in W processes, so the bench can draw the real GIL
next to the emulated one on the same machine.  Optional: the bench runs it
only when python3 is installed.

    python3 labs/02-count/count.py --mode thread --workers 2 --iterations 2000000
    python3 labs/02-count/count.py --csv --repeat 3

CSV columns are count.c's: mode,gil,workers,iterations,rep,seconds,total,
with mode = python-serial | python-thread | python-process and gil = 1 (CPython
always has it).  Exit status: 0 sums correct, 1 a wrong sum, 2 bad usage.
"""
import argparse
import multiprocessing
import sys
import threading
import time


def calc(iterations, results, index):
    """The documents' calc(): a local sum, incremented one at a time."""
    total = 0
    for _ in range(iterations):
        total += 1
    results[index] = total


def run_serial(workers, iterations):
    results = [0] * workers
    for i in range(workers):
        calc(iterations, results, i)
    return results


def run_threads(workers, iterations):
    results = [0] * workers
    threads = [threading.Thread(target=calc, args=(iterations, results, i))
               for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def run_processes(workers, iterations):
    # A shared array brings each child's sum back, as count.c's shared records do.
    results = multiprocessing.Array("q", workers, lock=False)
    processes = [multiprocessing.Process(target=calc, args=(iterations, results, i))
                 for i in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return list(results)


MODES = {"serial": run_serial, "thread": run_threads, "process": run_processes}


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["all", *MODES], default="all")
    parser.add_argument("--workers", type=positive, default=5)
    parser.add_argument("--iterations", type=positive, default=2_000_000)
    parser.add_argument("--repeat", type=positive, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--csv", action="store_true")
    options = parser.parse_args()

    # fork, as count.c: the comparison is about the lock, not start-up methods.
    multiprocessing.set_start_method("fork")
    modes = list(MODES) if options.mode == "all" else [options.mode]
    if options.csv:
        print("mode,gil,workers,iterations,rep,seconds,total")
    correct = True
    for rep in range(-options.warmup, options.repeat):
        for mode in modes:   # interleaved, like count.c
            started = time.perf_counter()   # a monotonic clock
            results = MODES[mode](options.workers, options.iterations)
            seconds = time.perf_counter() - started
            correct &= all(r == options.iterations for r in results)
            if rep < 0:
                continue
            if options.csv:
                print(f"python-{mode},1,{options.workers},{options.iterations},"
                      f"{rep + 1},{seconds:.6f},{sum(results)}")
            else:
                print(f"CPython {mode:8} {options.workers} workers x "
                      f"{options.iterations}: {seconds:.3f} s")
    if not correct:
        print("count.py: WRONG: a sum is not the iteration count", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":   # the E18 rule: a spawned child must not rerun this
    sys.exit(main())
