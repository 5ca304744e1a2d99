#!/usr/bin/env python3
"""process.py: CPython's own start methods timed (E18) -- the peer of
`process --experiment start-cost` for the bench (labs/01-process/bench.sh).

Each repetition starts and joins --iterations processes whose target does
nothing, through multiprocessing.get_context(METHOD) for fork, forkserver
and spawn, and the same number of threads; methods take turns inside each
repetition.  One CSV row per repetition (mean seconds per start):

    method,rep,seconds_per_start      (method: python-fork, ...)

--exitcodes instead prints action,exitcode for the seven ways of ending of
`process --experiment exitcodes`, as CPython's Process.exitcode reports
them (the tests compare the two tables).  --no-guard runs a small program
without the guard under spawn and shows what CPython does with it.

The guard below is the one the documents insist on: with spawn and
forkserver the child imports this file again (as __mp_main__), and only the
guard keeps it from starting processes of its own.
"""
import argparse
import multiprocessing
import sys
import threading
import time


def empty():
    pass


def time_processes(context, iterations):
    started = time.perf_counter()
    for _ in range(iterations):
        p = context.Process(target=empty)
        p.start()
        p.join()
        if p.exitcode != 0:
            sys.exit(f"process.py: a child ended with exitcode {p.exitcode}")
    return (time.perf_counter() - started) / iterations


def time_threads(iterations):
    started = time.perf_counter()
    for _ in range(iterations):
        t = threading.Thread(target=empty)
        t.start()
        t.join()
    return (time.perf_counter() - started) / iterations


# --exitcodes: the same ways of ending as `process --experiment exitcodes`,
# in CPython, so the C lab's table can be checked against the real thing.
def end_by(action):
    import ctypes
    import os
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left
    if action == "exit3":
        sys.exit(3)
    if action == "error":
        sys.stderr = open(os.devnull, "w")  # the traceback is not the point
        raise ValueError("an error nobody handled")
    if action in ("sigterm", "sigkill"):
        time.sleep(60)
    if action == "segv":
        ctypes.string_at(0)
    if action == "abort":
        os.abort()


def exitcodes():
    context = multiprocessing.get_context("fork")
    print("action,exitcode")
    for action in ("return", "exit3", "error", "sigterm", "sigkill", "segv",
                   "abort"):
        p = context.Process(target=end_by, args=(action,))
        p.start()
        if action == "sigterm":
            p.terminate()
        elif action == "sigkill":
            p.kill()
        p.join()
        print(f"{action},{p.exitcode}")


# --no-guard: what CPython does today with a program that has no
# `if __name__ == "__main__":` guard and starts a process under spawn.
NO_GUARD_PROGRAM = """\
import multiprocessing
def target():
    pass
context = multiprocessing.get_context("spawn")
p = context.Process(target=target)   # no guard: runs again in the child
p.start()
p.join()
print(p.exitcode)
"""


def no_guard():
    import re
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/no_guard.py"
        with open(path, "w") as program:
            program.write(NO_GUARD_PROGRAM)
        run = subprocess.run([sys.executable, path], capture_output=True,
                             text=True, timeout=60)
    error = " ".join(run.stderr.split())
    found = re.search(r"RuntimeError: (.*? bootstrapping phase\.)", error)
    print(f"no-guard: the spawned child's exitcode: {run.stdout.strip()}")
    print("no-guard: the child raised: RuntimeError: "
          f"{found.group(1) if found else '(no RuntimeError)'}")
    if run.returncode != 0 or not found:
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exitcodes", action="store_true",
                        help="print action,exitcode as CPython reports them")
    parser.add_argument("--no-guard", action="store_true",
                        help="run a program without the __main__ guard "
                             "under spawn, and show what CPython does")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args()
    if args.exitcodes:
        exitcodes()
        return
    if args.no_guard:
        no_guard()
        return
    if args.iterations < 1 or args.repeat < 1 or args.warmup < 0:
        parser.error("--iterations and --repeat must be >= 1, --warmup >= 0")

    methods = [m for m in ("fork", "forkserver", "spawn")
               if m in multiprocessing.get_all_start_methods()]
    contexts = {m: multiprocessing.get_context(m) for m in methods}
    names = [f"python-{m}" for m in methods] + ["python-thread"]
    rows = []
    for rep in range(-args.warmup, args.repeat):
        for k in range(len(names)):
            name = names[(k + rep) % len(names)]
            if name == "python-thread":
                seconds = time_threads(args.iterations)
            else:
                seconds = time_processes(contexts[name[7:]], args.iterations)
            if rep >= 0:
                rows.append((name, rep + 1, seconds))
    if args.csv:
        print("method,rep,seconds_per_start")
        for name, rep, seconds in rows:
            print(f"{name},{rep},{seconds:.9f}")
    else:
        for name in names:
            values = sorted(s for n, _, s in rows if n == name)
            print(f"{name:18} median {values[len(values) // 2] * 1e6:10.1f} us")


if __name__ == "__main__":
    main()
