#!/usr/bin/env python3
"""ipc.py: CPython's multiprocessing.Queue and Pipe, to compare with.

The C lab (ipc --bench) measures its queue and channel; this script
measures CPython's on the same machine, the same way:
  --bench queue      a producer process puts --messages ints into a
                     multiprocessing.Queue(maxsize=--capacity); the parent
                     gets them and checks their order.  Row:
                     cpython-queue,capacity,messages,seconds
  --bench roundtrip  the parent sends a number through a Pipe(), a child
                     sends it back plus one, --roundtrips times.  Row:
                     cpython-pipe,roundtrips,seconds
The clock starts when the child is ready (an Event), so process start-up
is not measured.  Optional: the bench runs it only when python3 is
installed.  Exit status: 0 every message right, 1 a wrong one, 2 usage.

    python3 labs/05-ipc/ipc.py --bench queue --capacity 1024 --messages 100000 --csv
    python3 labs/05-ipc/ipc.py --bench roundtrip --roundtrips 10000 --csv
"""
import argparse
import multiprocessing
import sys
import time


def produce(queue, count, ready, go):
    ready.set()
    go.wait()
    for i in range(count):
        queue.put(i)


def echo(end, count, ready, go):
    ready.set()
    go.wait()
    for _ in range(count):
        end.send(end.recv() + 1)


def run_queue(capacity, count):
    queue = multiprocessing.Queue(maxsize=capacity)
    ready, go = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=produce, args=(queue, count, ready, go))
    child.start()
    ready.wait()
    start = time.perf_counter()
    go.set()
    right = all(queue.get() == i for i in range(count))
    seconds = time.perf_counter() - start
    child.join()
    return seconds, right and child.exitcode == 0


def run_roundtrip(count):
    mine, theirs = multiprocessing.Pipe()
    ready, go = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.Process(target=echo, args=(theirs, count, ready, go))
    child.start()
    ready.wait()
    start = time.perf_counter()
    go.set()
    right = True
    for i in range(count):
        mine.send(i)
        right = right and mine.recv() == i + 1
    seconds = time.perf_counter() - start
    child.join()
    return seconds, right and child.exitcode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", choices=("queue", "roundtrip"), required=True)
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument("--messages", type=int, default=100000)
    parser.add_argument("--roundtrips", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--csv", action="store_true")
    args = parser.parse_args()
    if min(args.capacity, args.messages, args.roundtrips, args.repeat) < 1 or args.warmup < 0:
        parser.error("counts must be >= 1 (--warmup >= 0)")
    if args.csv:
        print("transport,capacity,messages,seconds" if args.bench == "queue"
              else "transport,roundtrips,seconds")
    status = 0
    for rep in range(-args.warmup, args.repeat):
        if args.bench == "queue":
            seconds, right = run_queue(args.capacity, args.messages)
            row = f"cpython-queue,{args.capacity},{args.messages},{seconds:.9f}"
            text = f"  cpython-queue capacity {args.capacity}: {args.messages / seconds:12.0f} messages/s"
        else:
            seconds, right = run_roundtrip(args.roundtrips)
            row = f"cpython-pipe,{args.roundtrips},{seconds:.9f}"
            text = f"  cpython-pipe {seconds / args.roundtrips * 1e6:8.2f} us per round trip"
        if not right:
            print("ipc.py: WRONG: a message was wrong, lost or out of order", file=sys.stderr)
            status = 1
        if rep >= 0:
            print(row if args.csv else text, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
