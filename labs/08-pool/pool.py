#!/usr/bin/env python3
"""pool.py: CPython's multiprocessing.Pool on the same tasks, to compare with.

The C lab (pool.c) measures its own pool; this script measures the real one
on the same machine: empty tasks through apply_async and through apply, and
what happens when a worker is killed mid-task.  Optional: the bench runs it
only when python3 is installed.

    python3 labs/08-pool/pool.py --tasks 20000 --repeat 3
    python3 labs/08-pool/pool.py --csv
    python3 labs/08-pool/pool.py --kill-worker --wait 2

CSV columns are `pool --experiment throughput --csv`'s: kind,api,tasks,seconds
with kind = cpython-process; apply_async runs --tasks tasks, apply --tasks/10.
Exit status: 0 results correct (kill-worker: the killed task never completed,
as documented), 1 a wrong result, 2 bad usage.
"""
import argparse
import multiprocessing
import os
import signal
import sys
import time


def echo(value):
    """An empty task: return the argument, so the result can be checked."""
    return value


def maybe_die(index, victim):
    """The victim kills its own worker, as the OOM killer would."""
    if index == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return index


def throughput(pool, tasks):
    start = time.perf_counter()
    handles = [pool.apply_async(echo, (i,)) for i in range(tasks)]
    right = all(handle.get() == i for i, handle in enumerate(handles))
    return time.perf_counter() - start, right


def round_trips(pool, count):
    start = time.perf_counter()
    right = all(pool.apply(echo, (i,)) == i for i in range(count))
    return time.perf_counter() - start, right


def kill_worker(wait):
    """Python's Pool replaces a killed worker but loses its task: the task's
    AsyncResult is never set, so get() can only time out."""
    with multiprocessing.Pool(2) as pool:
        handles = [pool.apply_async(maybe_die, (i, 3)) for i in range(8)]
        others = [h.get(timeout=wait) for i, h in enumerate(handles) if i != 3]
        print(f"pool.py: 7 other tasks returned {others}")
        start = time.perf_counter()
        try:
            handles[3].get(timeout=wait)
            print("pool.py: the killed task returned a result (unexpected)")
            return 1
        except multiprocessing.TimeoutError:
            print(f"pool.py: task 3's worker was SIGKILLed; get(timeout={wait}) "
                  f"timed out after {time.perf_counter() - start:.2f} s: no "
                  "result, no error -- without the timeout it waits forever "
                  "(and so would pool.join())")
        pool.terminate()  # join() would hang: the pool still waits for task 3
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--csv", action="store_true")
    parser.add_argument("--kill-worker", action="store_true")
    parser.add_argument("--wait", type=float, default=2.0)
    args = parser.parse_args()
    if args.tasks < 10 or args.repeat < 1 or args.workers < 1 or args.wait <= 0:
        parser.error("--tasks >= 10, --repeat >= 1, --workers >= 1, --wait > 0")
    if args.kill_worker:
        return kill_worker(args.wait)

    trips = args.tasks // 10
    right = True
    rows = []
    with multiprocessing.Pool(args.workers) as pool:
        throughput(pool, trips)  # warm-up: every worker has run a task
        for _ in range(args.repeat):
            seconds, ok = throughput(pool, args.tasks)
            rows.append(("apply_async", args.tasks, seconds))
            right &= ok
            seconds, ok = round_trips(pool, trips)
            rows.append(("apply", trips, seconds))
            right &= ok
    if args.csv:
        print("kind,api,tasks,seconds")
        for api, tasks, seconds in rows:
            print(f"cpython-process,{api},{tasks},{seconds:.9f}")
    else:
        for api, tasks, seconds in rows:
            print(f"{api:12} {tasks:7} tasks {seconds:8.3f} s "
                  f"{tasks / seconds:10.0f} tasks/s {seconds / tasks * 1e6:8.1f} us each")
    if not right:
        print("pool.py: WRONG: a result came back wrong", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
