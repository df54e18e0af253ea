#!/usr/bin/python3
"""transform.py: the classic re-encoding CDC consumer, in Python.

The same job as transform.js (read it for the document rules): wal2json
format-version 2 lines (with include-pk) on stdin, one _bulk item per row
change, POSTed to URL/_bulk in batches over one keep-alive connection.

Usage: transform.py [--raw] URL [BATCH_DOCS] [LINGER_MS]
--raw: values as wal2json gives them, no conversion (see transform.js).
A batch is sent when it holds BATCH_DOCS items (default 1000), or when no
input is waiting once LINGER_MS (default 10) have passed since its first
item.  A non-2xx answer or "errors":true exits with status 1.  At the end
it prints "items N requests M" on stderr.
"""

import http.client
import json
import os
import re
import select
import sys
import time
import urllib.parse

OFFSET_HOURS = re.compile(r"[+-]\d\d$")


RAW = False


def column_value(col):
    """The document value of one wal2json column."""
    value = col["value"]
    if RAW or not isinstance(value, str):
        return value
    kind = col["type"]
    if kind in ("jsonb", "json"):
        return json.loads(value)
    if kind.endswith("[]"):
        return [] if len(value) <= 2 else value[1:-1].split(",")
    if kind.startswith("timestamp"):
        iso = value.replace(" ", "T", 1)
        return iso + ":00" if OFFSET_HOURS.search(iso) else iso
    return value


def document_id(msg, cols):
    """The primary key values of the row, joined with "|"."""
    by_name = {c["name"]: c["value"] for c in cols}
    return "|".join(str(by_name[k["name"]]) for k in msg["pk"])


def bulk_item(line):
    """The _bulk lines for one message, or None for B/C/M messages."""
    msg = json.loads(line)
    action = msg["action"]
    if action not in ("I", "U", "D"):
        return None
    index = msg["schema"] + "." + msg["table"]
    if action != "D":
        doc = {c["name"]: column_value(c) for c in msg["columns"]}
        meta = {"index": {"_index": index, "_id": document_id(msg, msg["columns"])}}
        return json.dumps(meta) + "\n" + json.dumps(doc) + "\n"
    meta = {"delete": {"_index": index, "_id": document_id(msg, msg["identity"])}}
    return json.dumps(meta) + "\n"


class Poster:
    """One keep-alive connection to the _bulk endpoint."""

    def __init__(self, url):
        """Connects lazily to url's host and port."""
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port)
        self.requests = 0

    def post(self, body):
        """Sends one body; exits the program when it is not fully accepted."""
        data = body.encode()
        self.conn.request("POST", "/_bulk", data,
                          {"Content-Type": "application/x-ndjson"})
        resp = self.conn.getresponse()
        text = resp.read()
        self.requests += 1
        if resp.status // 100 != 2 or re.search(rb'"errors"\s*:\s*true', text):
            sys.exit("transform.py: bulk failed: %d %r" % (resp.status, text[:200]))


def main():
    """Reads stdin to the end, posting as it goes."""
    global RAW
    args = sys.argv[1:]
    RAW = bool(args) and args[0] == "--raw"
    if RAW:
        args.pop(0)
    url = args[0]
    batch_docs = int(args[1]) if len(args) > 1 else 1000
    linger = (int(args[2]) if len(args) > 2 else 10) / 1000.0
    poster = Poster(url)
    batch = []
    first = 0.0
    items = 0
    rest = b""
    while True:
        # Raw reads behind select() so that a partial batch goes out once
        # the input has been idle for the linger time.
        timeout = None if not batch else max(0.0, first + linger - time.monotonic())
        ready, _, _ = select.select([0], [], [], timeout)
        if not ready:
            poster.post("".join(batch))
            batch = []
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            item = bulk_item(line) if line else None
            if item is None:
                continue
            if not batch:
                first = time.monotonic()
            batch.append(item)
            items += 1
            if len(batch) >= batch_docs:
                poster.post("".join(batch))
                batch = []
    if batch:
        poster.post("".join(batch))
    print("items %d requests %d" % (items, poster.requests), file=sys.stderr)


if __name__ == "__main__":
    main()
