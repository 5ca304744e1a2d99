#!/usr/bin/env python3
"""server.py: the same pre-fork server in CPython, to load-test beside the C one.

A master binds 127.0.0.1:PORT, forks --workers W workers that inherit the
socket, and each worker is a socketserver.ThreadingMixIn HTTP server (a
thread per connection, as the C server's --threads) with the same routes:
GET / (the same 14-byte body) and GET /work?cpu=N&io_ms=D.  HTTP/1.1
keep-alive works (protocol_version and Content-Length).  The first line on
stdout is "listening on 127.0.0.1:PORT"; SIGTERM or SIGINT stops the
workers and the master.  Used by labs/09-server/bench.sh, optional.

    python3 labs/09-server/server.py --workers 2 --port 0
"""
import argparse
import ctypes
import http.server
import os
import signal
import socket
import socketserver
import sys
import time

BODY = b"Hello, world!\n"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as the C server
    server_version = "lab09-python"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY the
        # second waits for the client's delayed ACK (~40 ms).  nginx and the
        # C server set it too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        body = BODY
        if self.path.startswith("/work"):
            cpu, io_ms = 0, 0
            query = self.path.partition("?")[2]
            for pair in filter(None, query.split("&")):
                name, _, value = pair.partition("=")
                if name == "cpu":
                    cpu = int(value)
                elif name == "io_ms":
                    io_ms = int(value)
            total = 0
            for _ in range(cpu):      # the documents' calc(), in Python
                total += 1
            if io_ms:
                time.sleep(io_ms / 1000)
            body = b"counted to %d, waited %d ms\n" % (total, io_ms)
        elif self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass                          # no line per request: it is a benchmark


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def worker(listener):
    # Die with the master, even if it is SIGKILLed (Linux prctl).
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = Server(listener.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener        # the master's socket, shared by every worker
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not 1 <= args.workers <= 64 or not 0 <= args.port <= 65535:
        parser.error("--workers 1..64, --port 0..65535")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(1024)
    print("listening on 127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            worker(listener)
            os._exit(0)
        children.append(pid)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        signal.pause()
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
