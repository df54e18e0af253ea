#!/usr/bin/python3
"""sink.py: a minimal _bulk endpoint for the benchmarks.

Usage: sink.py --port-file F [--port 0] [--delay-ms MS]

Stores nothing.  Every _bulk request is answered 200 with a well-formed,
successful answer holding one item per action (so clients that check the
item count accept it), and counted; with --delay-ms, each answer waits
that long first (as a cluster takes time to index a request), requests
in flight at once waiting side by side.  This is the bench's counting sink:
the emulator's --counting-only mode parses every action line as JSON and
became the bottleneck of the faster pipelines.  After a reset asking for
latency samples, every source line holding a field "ts_us": MICROSECONDS
(the bench's latency table writes the row's insert time there) gives one
sample: the time the answer is sent minus that value, which is what
"commit to acknowledged" means in the report.

Control and introspection (bench only):
  GET  /_emulator/stats    {"requests": N, "bulk_requests": N, "items": N,
                            "first_bulk": T, "last_bulk": T}: T is when the
                            first and the latest _bulk request were counted,
                            just before their answers left (time.monotonic(),
                            CLOCK_MONOTONIC, which the bench's own clock
                            reads too), null before any
  GET  /_bench/latencies   JSON array of latency samples in milliseconds
  POST /_bench/reset       zero the counters and drop the samples; with
                           ?latency=1, take latency samples until the next
                           reset (scanning every source line costs as much
                           as all the rest, so it is off otherwise)
  POST /_bench/delay?ms=N  hold every _bulk answer N ms from now on (a
                           cluster's indexing time; --delay-ms sets it at
                           start): each request waits in its own thread, so
                           requests in flight together wait together
Other requests (index creation, HEAD, GET /) get a 200 with a small JSON
body, so a client's start-up checks pass.
"""

import argparse
import http.server
import json
import os
import re
import socket
import threading
import time

TS_FIELD = re.compile(rb'"ts_us":\s*(\d+)')
ID_FIELD = re.compile(rb'"_id":"((?:[^"\\]|\\.)*)"')
PLAIN_ID_FIELD = re.compile(rb'"_id":"([^"\\]*)"')
INDEX_ACTION = b'{"index":{'
CREATED = (b"index", b"create")
ROOT_ANSWER = json.dumps({
    "name": "bench-sink", "cluster_name": "bench",
    "version": {"number": "8.13.0", "distribution": "elasticsearch"},
    "tagline": "You Know, for Search"}).encode()


class State:
    """Counters and latency samples shared by the handler threads."""

    def __init__(self):
        """Counters start at zero."""
        self.lock = threading.Lock()
        self.delay = 0.0
        self.reset()

    def reset(self, latency=False):
        """Zeroes the counters and drops the samples; latency: whether the
        answers to come take latency samples."""
        with self.lock:
            self.sampling = latency
            self.requests = 0
            self.bulk_requests = 0
            self.items = 0
            self.latencies = []
            self.first_bulk = None
            self.last_bulk = None


STATE = State()


def answer_of(items):
    """A successful _bulk answer holding items (encoded answer items)."""
    return b'{"took":0,"errors":false,"items":[' + b",".join(items) + b"]}"


def index_only_answer(lines):
    """The answer for a body split into lines whose every action is
    "index" (each then followed by its source line) and whose only empty
    line is the last, with plain _ids (no escapes), and its item count; None
    for any other body.  Checked and built with whole-list and whole-string
    operations, which run in C: the initial load's large requests then cost
    the sink a fraction of what the line-by-line reading costs, and the
    sink stays far from being what the bench measures."""
    actions = lines[0:len(lines) - 1:2]
    if not actions or lines.count(b"") > 1 or lines[-1]:
        return None
    joined = b"\n".join(actions)
    if not joined.startswith(INDEX_ACTION) or \
            joined.count(b"\n" + INDEX_ACTION) != len(actions) - 1:
        return None
    ids = PLAIN_ID_FIELD.findall(joined)
    if len(ids) != len(actions):
        return None
    items = b'","status":201}},{"index":{"_id":"'.join(ids)
    return answer_of([b'{"index":{"_id":"' + items + b'","status":201}}']), len(ids)


def bulk_answer(body, sampling):
    """The _bulk answer for body (every item succeeded), its item count and
    the ts_us values seen when sampling.  Action lines are not parsed as
    JSON: the action is the first key and _id is found by a regular
    expression, which keeps this sink far cheaper than the pipelines it
    measures.  The answer holds what Elasticsearch returns under the
    forwarder's filter_path (errors, and _id and status per item)."""
    lines = body.split(b"\n")
    if not sampling:
        fast = index_only_answer(lines)
        if fast:
            return fast[0], fast[1], []
    items = []
    stamps = []
    expect_source = False
    for line in lines:
        if not line:
            continue
        if expect_source:
            expect_source = False
            match = sampling and TS_FIELD.search(line)
            if match:
                stamps.append(int(match.group(1)))
            continue
        action = line[2:line.index(b'"', 2)]
        match = ID_FIELD.search(line)
        items.append(b'{"%s":{"_id":"%s","status":%d}}' % (
            action, match.group(1) if match else b"", 201 if action in CREATED else 200))
        expect_source = action != b"delete"
    return answer_of(items), len(items), stamps


class Handler(http.server.BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        """Turns Nagle's algorithm off on the new connection."""
        super().setup()
        # The headers and the body leave in two writes; with Nagle's
        # algorithm the body would wait for the client's delayed ACK (40 ms)
        # and cap a client with one request in flight at 25 requests/s.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        """Quiet: a line per request would cost more than the answer."""
        pass

    def answer(self, status, body):
        """Sends a JSON answer with its length (keep-alive)."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """The request body (Content-Length framed)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):
        """_bulk, the reset endpoint, and anything else as a no-op."""
        body = self.read_body()
        path = self.path.split("?", 1)[0]
        if path == "/_bench/reset":
            STATE.reset(latency="latency=1" in self.path)
            self.answer(200, b"{}")
            return
        if path == "/_bench/delay":
            match = re.search(r"[?&]ms=(\d+)", self.path)
            STATE.delay = int(match.group(1)) / 1000.0 if match else 0.0
            self.answer(200, b"{}")
            return
        if not path.endswith("/_bulk"):
            with STATE.lock:
                STATE.requests += 1
            self.answer(200, b'{"acknowledged":true}')
            return
        answer, count, stamps = bulk_answer(body, STATE.sampling)
        if STATE.delay:
            time.sleep(STATE.delay)
        now_us = time.time() * 1e6
        # Counted and stamped at once, so that a reader who sees the
        # count complete also sees when it completed.
        with STATE.lock:
            STATE.requests += 1
            STATE.bulk_requests += 1
            STATE.items += count
            STATE.latencies.extend((now_us - ts) / 1000.0 for ts in stamps)
            STATE.last_bulk = time.monotonic()
            if STATE.first_bulk is None:
                STATE.first_bulk = STATE.last_bulk
        self.answer(200, answer)

    def do_GET(self):
        """Counters, latency samples, the root, or a no-op answer."""
        path = self.path.split("?", 1)[0]
        if path == "/_emulator/stats":
            with STATE.lock:
                body = json.dumps({"requests": STATE.requests,
                                   "bulk_requests": STATE.bulk_requests,
                                   "items": STATE.items,
                                   "first_bulk": STATE.first_bulk,
                                   "last_bulk": STATE.last_bulk}).encode()
            self.answer(200, body)
        elif path == "/_bench/latencies":
            with STATE.lock:
                body = json.dumps(STATE.latencies).encode()
            self.answer(200, body)
        elif path == "/":
            self.answer(200, ROOT_ANSWER)
        else:
            self.answer(200, b'{"acknowledged":true}')

    def do_PUT(self):
        """Index creation and settings: accepted and ignored."""
        self.read_body()
        self.answer(200, b'{"acknowledged":true}')

    def do_HEAD(self):
        """Every index "exists"."""
        self.answer(200, b"")


def main():
    """Serves until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="hold each _bulk answer this long")
    args = parser.parse_args()
    STATE.delay = args.delay_ms / 1000.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    # Renamed into place so a reader never sees a half-written file.
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
