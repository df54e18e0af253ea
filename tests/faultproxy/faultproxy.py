#!/usr/bin/env python3
"""faultproxy: a fault-injecting HTTP proxy in front of a real search engine.

The end-to-end tests inject faults through the emulator's control endpoints
(docs/design.md, "Emulator interface").  To run the same tests against a real
Elasticsearch or OpenSearch, this proxy sits between the forwarder and the
cluster, takes the same fault rules under /_emulator/, and applies them to the
traffic it passes on:

* status, delay, drop_before, drop_after: as the emulator does them;
* item_status and reject: the chosen bulk items are taken out of the request
  before it reaches the engine and answered with the fault's error in their
  place, so the engine never sees them, exactly as if it had refused them;
* cut: the engine's answer is cut short after half of its body, then the
  connection is closed (the request did reach the engine).

Everything else is passed through byte for byte, credentials included.  The
fault language and the error bodies are the emulator's own (imported from
tests/emulator/esemu.py), so a test cannot tell the two apart by its faults.

    python3 tests/faultproxy/faultproxy.py --upstream http://127.0.0.1:9200 \\
        --port 0 --port-file /tmp/port

It exits by itself when the process that started it exits.
"""

import argparse
import gzip
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import zlib
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "emulator"))
import esemu  # noqa: E402  (the fault language and Elasticsearch's errors)

# Response headers that belong to one hop and are not passed on.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding",
               "content-length", "proxy-connection"}


class Upstream:
    """Connections to the real cluster, one per proxy thread (http.client
    connections are not thread-safe)."""

    def __init__(self, url, cacert):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("upstream must be http or https: %s" % url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.context = None
        if self.https:
            self.context = ssl.create_default_context(cafile=cacert)
        self.local = threading.local()

    def _connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if self.https:
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=120, context=self.context)
            else:
                conn = http.client.HTTPConnection(self.host, self.port,
                                                  timeout=120)
            self.local.conn = conn
        return conn

    def request(self, method, path, body, headers):
        """Sends one request; returns (status, [(name, value)], body bytes).
        A connection the cluster closed is opened again once."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                res = conn.getresponse()
                data = res.read()
                return res.status, res.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("not reached")


class BulkItem:
    """One item of a _bulk body: its action line and, for everything but
    delete, its source line (bytes, without the newline)."""

    __slots__ = ("action", "meta", "lines")

    def __init__(self, action, meta, lines):
        self.action = action
        self.meta = meta
        self.lines = lines

    @property
    def source(self):
        return self.lines[1].decode("utf-8", "replace") if len(self.lines) > 1 \
            else ""


def split_bulk(body):
    """The items of an NDJSON _bulk body, or None when it is not one this
    proxy can take apart (then it is passed on whole and untouched)."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    items = []
    i = 0
    while i < len(lines):
        try:
            action_obj = json.loads(lines[i])
        except ValueError:
            return None
        if not isinstance(action_obj, dict) or len(action_obj) != 1:
            return None
        action, meta = next(iter(action_obj.items()))
        if not isinstance(meta, dict):
            return None
        width = 1 if action == "delete" else 2
        if i + width > len(lines):
            return None
        items.append(BulkItem(action, meta, lines[i:i + width]))
        i += width
    return items


def decode_body(body, encoding):
    """The request body without its Content-Encoding."""
    encoding = (encoding or "").lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class Handler(esemu.DispatchingHandler):
    """One client connection (HTTP/1.1 keep-alive)."""

    server_version = "faultproxy"

    def read_body(self):
        """The request body (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return esemu.read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_whole(self, status, headers, payload, cut=False):
        """Writes a response; with cut, only half of the body, then the
        connection is closed."""
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload[:len(payload) // 2] if cut else payload)
        self.wfile.flush()
        if cut:
            self.drop_connection()

    def send_json(self, status, obj):
        self.send_whole(status, [("content-type",
                                  "application/json; charset=UTF-8")],
                        json.dumps(obj).encode())

    def drop_connection(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def dispatch(self, method):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_emulator/"):
            self.control(method, url.path,
                         dict(parse_qsl(url.query, keep_blank_values=True)), body)
            return
        state = self.server.state
        is_bulk = method in ("POST", "PUT") and (
            url.path == "/_bulk" or url.path.endswith("/_bulk"))
        with state.lock:
            state.stats["requests"] += 1
            if is_bulk:
                state.stats["bulk_requests"] += 1
                state.stats["bulk_bytes"] += len(body)
            delay = state.faults.take("delay", is_bulk)
            drop_before = state.faults.take("drop_before", is_bulk)
            status = state.faults.take("status", is_bulk)
        if delay is not None:
            time.sleep(delay["ms"] / 1000.0)
        if drop_before is not None:
            self.drop_connection()
            return
        if status is not None:
            err = esemu.status_error(status["status"])
            self.send_json(err.status, err.body())
            return
        if is_bulk:
            answer = self.forward_bulk(method, url, body)
        else:
            answer = self.forward(method, self.path, body, self.headers)
        if answer is None:
            return
        with state.lock:
            drop_after = state.faults.take("drop_after", is_bulk)
            cut = state.faults.take("cut", is_bulk)
        if drop_after is not None:
            self.drop_connection()
            return
        self.send_whole(*answer, cut=cut is not None)

    def forward(self, method, path, body, headers):
        """Passes a request on unchanged; returns the answer or None after
        answering 502 itself when the cluster cannot be reached."""
        out = {k: v for k, v in headers.items()
               if k.lower() not in HOP_HEADERS and k.lower() != "host"}
        try:
            return self.server.upstream.request(method, path, body, out)
        except (http.client.HTTPException, OSError) as err:
            self.send_json(502, {"error": "faultproxy: upstream failed: %s"
                                 % err, "status": 502})
            return None

    def forward_bulk(self, method, url, body):
        """A _bulk request: items chosen by item_status and reject rules are
        answered here, the rest go to the cluster, and the two answers are
        merged in the request's order."""
        state = self.server.state
        try:
            plain = decode_body(body, self.headers.get("Content-Encoding"))
        except (OSError, zlib.error, EOFError):
            return self.forward(method, self.path, body, self.headers)
        items = split_bulk(plain)
        if not items:
            return self.forward(method, self.path, body, self.headers)
        faked = {}
        with state.lock:
            state.stats["items"] += len(items)
            for n, item in enumerate(items):
                err = self.item_fault(state.faults, item)
                if err is not None:
                    faked[n] = err
        if not faked:
            return self.forward(method, self.path, body, self.headers)
        return self.merged_bulk(method, url, items, faked)

    @staticmethod
    def item_fault(faults, item):
        """The error an item is answered with, or None to send it on."""
        if item.action in ("index", "create"):
            rule = faults.take("reject", True,
                               lambda r: r["match"] in item.source)
            if rule is not None:
                return esemu.EsError(
                    400, "document_parsing_exception",
                    "[1:1] failed to parse: rejected by fault rule [%s]"
                    % rule["match"])
        rule = faults.take("item_status", True)
        if rule is not None:
            return esemu.status_error(rule["status"])
        return None

    def merged_bulk(self, method, url, items, faked):
        params = parse_qsl(url.query, keep_blank_values=True)
        filter_path = dict(params).get("filter_path")
        query = urlencode([(k, v) for k, v in params if k != "filter_path"])
        path = url.path + ("?" + query if query else "")
        kept = [it for n, it in enumerate(items) if n not in faked]
        real = []
        headers = {"Content-Type": self.headers.get("Content-Type",
                                                    "application/x-ndjson")}
        if self.headers.get("Authorization"):
            headers["Authorization"] = self.headers["Authorization"]
        if kept:
            sent = b"".join(line + b"\n" for it in kept for line in it.lines)
            answer = self.forward(method, path, sent, headers)
            if answer is None:
                return None
            status, resp_headers, data = answer
            if status != 200:
                return answer
            real = json.loads(data)["items"]
        out = []
        real_iter = iter(real)
        for n, item in enumerate(items):
            if n in faked:
                err = faked[n]
                out.append({item.action: {
                    "_index": item.meta.get("_index"),
                    "_id": item.meta.get("_id"), "status": err.status,
                    "error": err.item()}})
            else:
                out.append(next(real_iter))
        errors = any("error" in next(iter(i.values())) for i in out)
        obj = {"took": 0, "errors": errors, "items": out}
        if filter_path:
            obj = esemu.filter_tree(obj, filter_path)
        return 200, [("content-type", "application/json; charset=UTF-8")], \
            json.dumps(obj).encode()

    def control(self, method, path, params, body):
        state = self.server.state
        try:
            with state.lock:
                if path == "/_emulator/faults" and method == "POST":
                    added = state.faults.install(json.loads(body or b"null"))
                    self.send_json(200, {"acknowledged": True,
                                         "installed": added})
                elif path == "/_emulator/faults" and method == "DELETE":
                    state.faults.clear(params.get("keep", ""))
                    self.send_json(200, {"acknowledged": True})
                elif path == "/_emulator/stats" and method == "GET":
                    stats = dict(state.stats,
                                 faults_served=dict(state.faults.served))
                    self.send_json(200, stats)
                else:
                    self.send_json(404, {"error": "no such control endpoint",
                                         "status": 404})
        except (ValueError, esemu.EsError) as err:
            if isinstance(err, esemu.EsError):
                self.send_json(err.status, err.body())
            else:
                self.send_json(400, {"error": str(err), "status": 400})


class State:
    """Fault rules and counters, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = esemu.Faults()
        self.stats = {"requests": 0, "bulk_requests": 0, "items": 0,
                      "bulk_bytes": 0}


def exit_with_parent():
    """Ends this process when the one that started it is gone."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="the real cluster")
    ap.add_argument("--cacert", help="CA file for an https upstream")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.upstream = Upstream(args.upstream, args.cacert)
    server.state = State()
    server.verbose = args.verbose
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("faultproxy listening on http://%s:%d -> %s"
          % (args.host, port, args.upstream), flush=True)
    threading.Thread(target=exit_with_parent, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
