#!/usr/bin/env python3
"""crossover.py: the E13 crossover in real CPython, to check the C lab against.

sched.c emulates CPython's GIL.  This script runs the same tasks in CPython
itself: each task counts for CPU_MS (a pure-Python loop, so it holds the GIL)
and then waits IO_MS for a loopback server in another process (the thread
blocks in recv() and CPython lets the GIL go meanwhile).  Run serially, in
W threads (threading) and in W processes (multiprocessing), over one shared
list of tasks.  The documents' claim shown in their own language: IO-bound
threads do scale in CPython; CPU-bound ones do not.

    python3 labs/03-sched/crossover.py --cpu 1 --io-ms 9 --workers 8 --tasks 16
    python3 labs/03-sched/crossover.py --csv --repeat 3

CSV columns: mode,io_fraction,workers,tasks,cpu_ms,io_ms,rep,seconds, with
mode = python-serial | python-thread | python-process.  Exit status: 0 every
task ran once and got its own answer, 1 otherwise, 2 bad usage.
"""
import argparse
import multiprocessing
import socket
import struct
import sys
import threading
import time


def delay_server(listener, stop):
    """Answer each request (task, delay_us) after the delay: one thread per
    connection is fine here -- this process runs no Python work to measure."""
    def serve(conn):
        with conn:
            while True:
                data = b""
                while len(data) < 8:
                    chunk = conn.recv(8 - len(data))
                    if not chunk:
                        return
                    data += chunk
                task, delay_us = struct.unpack("<II", data)
                time.sleep(delay_us / 1e6)
                conn.sendall(struct.pack("<II", task, task ^ 0x5A5A5A5A))
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def count(iterations):
    total = 0
    for _ in range(iterations):
        total += 1
    return total


def calibrate():
    """Loop iterations per millisecond: the fastest of five runs of ~5 ms
    (the machine's speed when nothing interrupts it)."""
    n, best = 200000, 0.0
    for _ in range(5):
        started = time.perf_counter()
        count(n)
        best = max(best, n / ((time.perf_counter() - started) * 1e3))
    return best


def worker(port, next_task, lock, tasks, iterations, io_ms, done):
    """Take tasks from the shared counter until none is left."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with sock:
        while True:
            with lock:
                task = next_task.value
                next_task.value += 1
            if task >= tasks:
                return
            ok = count(iterations) == iterations
            sock.sendall(struct.pack("<II", task, int(io_ms * 1000)))
            data = b""
            while len(data) < 8:  # blocks here: the GIL is let go
                data += sock.recv(8 - len(data))
            got, answer = struct.unpack("<II", data)
            ok = ok and got == task and answer == task ^ 0x5A5A5A5A
            with lock:
                done[task] += 1 if ok else 1000


def run(mode, workers, port, tasks, iterations, io_ms):
    next_task = multiprocessing.Value("l", 0, lock=False)
    done = multiprocessing.Array("l", tasks, lock=False)
    lock = multiprocessing.Lock()
    args = (port, next_task, lock, tasks, iterations, io_ms, done)
    started = time.perf_counter()
    if mode == "python-serial":
        worker(*args)
    else:
        kind = threading.Thread if mode == "python-thread" else multiprocessing.Process
        runners = [kind(target=worker, args=args) for _ in range(workers)]
        for r in runners:
            r.start()
        for r in runners:
            r.join()
    seconds = time.perf_counter() - started
    return seconds, all(d == 1 for d in done)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", type=float, default=2, help="ms of counting per task")
    parser.add_argument("--io-ms", type=float, default=8, help="ms of waiting per task")
    parser.add_argument("--workers", type=int, default=4 * (len(__import__("os").sched_getaffinity(0)) or 1))
    parser.add_argument("--tasks", type=int, default=0, help="0: 2 per worker")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--csv", action="store_true")
    a = parser.parse_args()
    if a.cpu < 0 or a.io_ms < 0 or a.cpu + a.io_ms == 0 or a.workers < 1 or a.repeat < 1 or a.warmup < 0 or a.tasks < 0:
        parser.error("--cpu/--io-ms >= 0 (not both 0), --workers >= 1, --repeat >= 1")
    tasks = a.tasks or 2 * a.workers
    multiprocessing.set_start_method("fork")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=delay_server, args=(listener, stop), daemon=True)
    server.start()
    iterations = int(a.cpu * calibrate())
    fraction = a.io_ms / (a.io_ms + a.cpu)
    if a.csv:
        print("mode,io_fraction,workers,tasks,cpu_ms,io_ms,rep,seconds")
    ok = True
    medians = {}
    try:
        modes = ["python-serial", "python-thread", "python-process"]
        for rep in range(-a.warmup, a.repeat):
            # rotated each repetition, so a slow moment (or the after-effects
            # of the run before) does not always fall on the same mode
            turn = rep % 3
            for mode in modes[turn:] + modes[:turn]:
                w = 1 if mode == "python-serial" else a.workers
                seconds, right = run(mode, w, port, tasks, iterations, a.io_ms)
                ok = ok and right
                if rep < 0:
                    continue
                medians.setdefault(mode, []).append(seconds)
                if a.csv:
                    print(f"{mode},{fraction:.4f},{w},{tasks},{a.cpu:g},{a.io_ms:g},{rep + 1},{seconds:.6f}")
    finally:
        stop.set()
        server.join(2)
        if server.is_alive():
            server.kill()
            server.join()
    if not a.csv:
        print(f"crossover.py: {tasks} tasks of {a.cpu:g} ms counting + {a.io_ms:g} ms waiting on a loopback server, {a.workers} workers (IO fraction {fraction:.2f})")
        serial = sorted(medians["python-serial"])[len(medians["python-serial"]) // 2]
        for mode, values in medians.items():
            m = sorted(values)[len(values) // 2]
            print(f"  {mode:15} {m * 1e3:8.1f} ms  {serial / m:5.2f}x serial")
    if not ok:
        print("crossover.py: WRONG: a task ran other than once or got a wrong answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
