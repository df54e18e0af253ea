#!/usr/bin/env python3
"""Holds the emulator to the real engines.

Replays the corpus (corpus.py: every request shape pg2es sends) against the
emulator, which it starts itself, and against each real engine named, and
compares what pg2es acts on in each answer: the HTTP status and the fields
each step keeps (per-item status and error type, stored documents and their
versions, mappings).  Every difference is printed.  A difference listed in
known_differences.json, with the reason it does not matter to pg2es or what
was done about it, passes; any other fails the run, and so does a listed one
that no engine shows any more (the list must stay true).

    python3 tests/conformance/conformance.py --engine opensearch-2.19=http://127.0.0.1:9200
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "emulator"))
import esemu  # noqa: E402  (filter_path, as the engines apply it)
import corpus  # noqa: E402


class Target:
    """One cluster, reached over plain HTTP."""

    def __init__(self, name, url):
        self.name = name
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80

    def request(self, method, path, body=None, ndjson=False):
        """Returns (status, decoded JSON or the raw text, or None)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {}
        if body is not None:
            if not isinstance(body, str):
                body = json.dumps(body)
            headers["Content-Type"] = ("application/x-ndjson" if ndjson
                                       else "application/json")
            body = body.encode()
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except (http.client.HTTPException, OSError) as err:
            return "no answer (%s)" % type(err).__name__, None
        finally:
            conn.close()
        if not data:
            return res.status, None
        try:
            return res.status, json.loads(data)
        except ValueError:
            return res.status, data.decode("utf-8", "replace")[:200]

    def clean(self):
        """Deletes every index the corpus uses (by name: a wildcard delete is
        refused where action.destructive_requires_name is on)."""
        status, rows = self.request("GET", "/_cat/indices/cf-*?format=json&h=index")
        for row in rows if status == 200 and isinstance(rows, list) else []:
            self.request("DELETE", "/" + row["index"])


def project(status, body, keep):
    """What pg2es acts on in one answer."""
    out = {"status": status}
    if isinstance(body, (dict, list)) and keep:
        out["body"] = esemu.filter_tree(body, keep)
    elif isinstance(body, str):
        out["body"] = "(not JSON)"
    return out


def run_case(target, case):
    """The projections of one case's steps on one target."""
    target.clean()
    got = []
    for step in case["steps"]:
        status, body = target.request(step["method"], step["path"],
                                      step.get("body"), step.get("ndjson", False))
        got.append(project(status, body, step.get("keep")))
    return got


def start_emulator():
    tmp = tempfile.mkdtemp()
    portfile = os.path.join(tmp, "port")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "emulator",
                                                          "esemu.py"),
                             "--port", "0", "--port-file", portfile],
                            stdout=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(portfile):
            with open(portfile) as f:
                return proc, "http://127.0.0.1:%d" % int(f.read())
        time.sleep(0.05)
    proc.kill()
    sys.exit("conformance: the emulator did not start")


def load_known(path):
    """The listed differences: {"equivalent_error_types": [...],
    "differences": [...]}, each entry with its reason."""
    with open(path) as f:
        known = json.load(f)
    for e in known["differences"]:
        if not e.get("reason") or "case" not in e or "step" not in e:
            sys.exit("conformance: %s: every difference needs case, step and "
                     "reason" % path)
    for e in known["equivalent_error_types"]:
        if not e.get("reason") or not e.get("emulator") or not e.get("engine"):
            sys.exit("conformance: %s: every equivalence needs emulator, "
                     "engine and reason" % path)
    return known


def applies(entry, engine):
    return any(engine.startswith(p) for p in entry.get("engines", [""]))


def with_equivalent_types(projection, engine, known):
    """The engine's projection with its error types renamed to the
    emulator's where they are listed as equivalent."""
    names = {e["engine"]: e["emulator"] for e in
             known["equivalent_error_types"] if applies(e, engine)}

    def rename(node):
        if isinstance(node, dict):
            return {k: (names.get(v, v) if k == "type" else rename(v))
                    for k, v in node.items()}
        if isinstance(node, list):
            return [rename(v) for v in node]
        return node
    return rename(projection)


def known_entry(known, case, step, engine):
    for e in known["differences"]:
        if e["case"] == case and e["step"] == step and applies(e, engine):
            return e
    return None


def compare(emulated, engine_name, results, known, used):
    """Prints the differences of one engine; returns how many are unlisted."""
    unlisted = 0
    for case in corpus.CASES:
        name = case["name"]
        for n, (a, b) in enumerate(zip(emulated[name], results[name]), 1):
            if a in (b, with_equivalent_types(b, engine_name, known)):
                continue
            entry = known_entry(known, name, n, engine_name)
            verdict = "listed: " + entry["reason"] if entry else "NOT LISTED"
            if entry:
                used.add(id(entry))
            else:
                unlisted += 1
            print("  [%s] %s, step %d: %s\n    emulator: %s\n    %s: %s"
                  % (engine_name, name, n, verdict, json.dumps(a, sort_keys=True),
                     engine_name, json.dumps(b, sort_keys=True)))
    return unlisted


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", action="append", default=[],
                    help="NAME=URL of a real engine (repeatable)")
    ap.add_argument("--known", default=os.path.join(HERE, "known_differences.json"))
    ap.add_argument("--report", help="write every projection here (JSON)")
    args = ap.parse_args()
    if not args.engine:
        sys.exit("conformance: name at least one real engine with --engine")
    known = load_known(args.known)
    proc, emu_url = start_emulator()
    try:
        emu = Target("emulator", emu_url)
        emulated = {c["name"]: run_case(emu, c) for c in corpus.CASES}
        report = {"emulator": emulated}
        unlisted = 0
        used = set()
        for spec in args.engine:
            name, _, url = spec.partition("=")
            target = Target(name, url)
            report[name] = {c["name"]: run_case(target, c) for c in corpus.CASES}
            target.clean()
            print("conformance: %d cases against %s (%s)" % (len(corpus.CASES), name, url))
            unlisted += compare(emulated, name, report[name], known, used)
    finally:
        proc.terminate()
        proc.wait()
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
    for e in known["equivalent_error_types"]:
        print("  equivalent: emulator %s = engine %s (%s): %s" % (
            e["emulator"], e["engine"], ", ".join(e.get("engines", ["all"])),
            e["reason"]))
    stale = [e for e in known["differences"] if id(e) not in used and
             any(applies(e, n.partition("=")[0]) for n in args.engine)]
    for e in stale:
        print("  listed difference no longer seen: %s, step %d" % (e["case"], e["step"]))
    print("conformance: %d unlisted differences, %d stale entries"
          % (unlisted, len(stale)))
    sys.exit(1 if unlisted or stale else 0)


if __name__ == "__main__":
    main()
