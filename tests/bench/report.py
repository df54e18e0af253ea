#!/usr/bin/python3
"""report.py: turns bench.py's results.json into report.md and the plots.

Usage: report.py RESULTS.json --out DIR [--check]

Every figure is a median over the repetitions.  Prints the report.  With
--check (the smoke mode) exits 1 unless every measurement of every system
that is available produced a number; it never looks at the values.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

# The calibration: server (or, for the pipeline, total) CPU seconds
# per million rows for the single-transaction 200k-row insert on these
# machines, streaming through pg_recvlogical.
CALIBRATION = {"test_decoding": 9.8, "wal2json v2": 10.5, "decoderbufs": 10.2,
               "pgoutput": 6.9}
CALIBRATION_PIPELINES = {"wal2json v2 + Node.js": 22.9, "wal2json v2 + Python": 32.4,
                         "wal2json v2 + jq": 65.4}
SYSTEMS = ["pg2es forwarder", "wal2json v2 + Node.js", "wal2json v2 + Node.js (raw)",
           "wal2json v2 + Python", "wal2json v2 + Python (raw)", "wal2json v2 + jq",
           "wal2json v2 + jq (raw)"]
ANCHOR = "wal2json v2 + Node.js"
LOAD_METHODS = ("COPY bench TO STDOUT", "pg2es initial load", "pg2es initial load, 1 job")
WORKLOAD_TITLES = {"insert": "one large INSERT transaction",
                   "small": "many small transactions",
                   "update_delete": "UPDATE then DELETE of every row"}


def ok_runs(runs):
    """The runs that produced figures."""
    return [r for r in runs if "error" not in r]


def errors_of(runs):
    """The error messages of the failed runs."""
    return [r["error"] for r in runs if "error" in r]


def med(values):
    """The median of the values that exist, or None."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=1):
    """A figure for the table; '-' when missing."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        return "{:,.0f}".format(value)
    return "%.*f" % (digits, value)


def ratio(a, b):
    """a / b, or None when either is missing."""
    return None if a is None or b in (None, 0) else a / b


def fmt_ratio(value):
    """A ratio for the table."""
    return "-" if value is None else "%.2f×" % value


class Report:
    """Builds the Markdown text and collects the problems --check reports."""

    def __init__(self, res):
        """res: the decoded results.json."""
        self.res = res
        self.lines = []
        self.problems = []
        self.unavailable = res.get("unavailable", {})
        self.only = res["settings"].get("only")

    def add(self, *lines):
        """Appends Markdown lines."""
        self.lines.extend(lines)

    def table(self, header, rows):
        """Appends a Markdown table (first column left-aligned)."""
        self.add("| " + " | ".join(header) + " |",
                 "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(header))) + "|")
        for row in rows:
            self.add("| " + " | ".join(row) + " |")
        self.add("")

    def missing(self, name, runs, where):
        """The cell text for a system without a figure, recording why."""
        if name in self.unavailable:
            return "not measured: " + self.unavailable[name]
        if self.only and where != self.only:
            return "not run (BENCH_ONLY=%s)" % self.only
        errs = errors_of(runs or [])
        problem = "%s, %s: %s" % (where, name, errs[0] if errs else "no run")
        if not any(errs and errs[0] in p for p in self.problems):
            self.problems.append(problem)
        return "failed: " + (errs[0][:120] if errs else "no run")

    # -- decoding

    def decode_figures(self, kind):
        """{plugin: (rows/s, cpu s per M rows, spill MB, sampled/reaped)}."""
        changes = self.res["changes"][kind]
        figures = {}
        for name, runs in self.res["decode"].get(kind, {}).items():
            good = ok_runs(runs)
            if errors_of(runs):
                self.problems.append("decode %s, %s: %s" % (kind, name, errors_of(runs)[0]))
            if not good:
                continue
            figures[name] = (med(changes / r["wall"] for r in good),
                             med(r["cpu"] for r in good) * 1e6 / changes,
                             med(r["spill_mb"] for r in good),
                             med(r["sampled"] / r["cpu"] if r["cpu"] else None for r in good))
        return figures

    def decoding_section(self, plugins):
        """Section 1; returns {workload: decode_figures}."""
        self.add("## 1. Decoding alone", "",
                 "pg_recvlogical streams a copy of the same slot to /dev/null (`--endpos`); "
                 "server CPU = the walsender's utime+stime. \"rows\" are row changes "
                 "(the UPDATE/DELETE workload has 2N). Ratios are of CPU per row "
                 "(lower is better).", "")
        all_figures = {}
        for kind in self.res["changes"]:
            figures = self.decode_figures(kind)
            all_figures[kind] = figures
            base = figures.get("test_decoding", (None, None))[1]
            pgout = figures.get("pgoutput", (None, None))[1]
            w2j = figures.get("wal2json v2", (None, None))[1]
            self.add("### %s (%s changes; %s)" % (
                WORKLOAD_TITLES.get(kind, kind), "{:,}".format(self.res["changes"][kind]),
                self.res["workloads"][kind]), "")
            rows = []
            for name in plugins:
                if name not in figures:
                    rows.append([name, self.missing(name, self.res["decode"].get(kind, {})
                                                    .get(name), "decode " + kind)]
                                + [""] * 6)
                    continue
                rate, cpu, spill, _ = figures[name]
                rows.append([name, fmt(rate, 0), fmt(cpu, 2), fmt_ratio(ratio(cpu, base)),
                             fmt_ratio(ratio(cpu, pgout)), fmt_ratio(ratio(cpu, w2j)),
                             fmt(spill, 0)])
            self.table(["system", "rows/s", "server CPU s / M rows", "× test_decoding",
                        "× pgoutput", "× wal2json v2", "spilled MB"], rows)
        checks = [f[3] for figures in all_figures.values() for f in figures.values()
                  if f[3] is not None]
        if checks:
            self.add("Cross-check: the walsender's own /proc/<pid>/stat, sampled every "
                     "100 ms while it ran, showed %.0f%%-%.0f%% of the CPU the postmaster "
                     "reaped for it (sampling misses at most the last 100 ms)."
                     % (100 * min(checks), 100 * max(checks)), "")
        return all_figures

    def sql_section(self, plugins):
        """The SQL-interface table of the insert workload."""
        changes = self.res["changes"].get("insert")
        if not self.res.get("sql") or not changes:
            return
        self.add("### Same insert through the SQL interface (`pg_logical_slot_peek_*changes`)", "",
                 "Server CPU of the backend running the query (it also builds the result set); "
                 "output = the plugin's bytes (`sum(octet_length(data))`).", "")
        rows = []
        for name in plugins:
            runs = self.res["sql"].get(name)
            good = ok_runs(runs or [])
            if not good:
                rows.append([name, self.missing(name, runs, "sql"), "", ""])
                continue
            rows.append([name, fmt(med(changes / r["wall"] for r in good), 0),
                         fmt(med(r["cpu"] for r in good) * 1e6 / changes, 2),
                         fmt(med(r["out_mb"] for r in good), 1)])
        self.table(["system", "rows/s", "server CPU s / M rows", "output MB"], rows)

    # -- pipelines

    def pipeline_figures(self, runs, changes):
        """Medians of one pipeline's runs per million rows, or None."""
        good = ok_runs(runs)
        if not good:
            return None
        total = [r["server"] + sum(r["clients"].values()) for r in good]
        fwd = [r["clients"].get("forwarder", 0.0) / t if t else None
               for r, t in zip(good, total)]
        return {"rate": med(changes / r["wall"] for r in good),
                "total": med(total) * 1e6 / changes,
                "server": med(r["server"] for r in good) * 1e6 / changes,
                "clients": med(sum(r["clients"].values()) for r in good) * 1e6 / changes,
                "share": med(fwd) if "forwarder" in good[0]["clients"] else None,
                "rss": med(r["rss_kb"] for r in good) / 1024.0,
                "sink": med(r["sink_cpu"] for r in good) * 1e6 / changes}

    def pipeline_section(self, systems):
        """Section 2; returns {sink: {system: pipeline_figures}}."""
        changes = self.res["changes"].get("insert")
        self.add("## 2. Whole pipeline to `_bulk`", "",
                 "The insert workload's WAL, from a copy of the same slot, through each "
                 "pipeline into the sink. Total CPU = walsender + every client process "
                 "(pg_recvlogical, transform, curl / the forwarder); the sink's CPU is "
                 "shown apart and not included. Peak RSS = the largest client process "
                 "(for pg2es: the forwarder). The classic pipelines read wal2json "
                 "format-version 2 (one message per change, what a streaming CDC consumer "
                 "reads) with include-pk, and post batches of 1000 items over one "
                 "keep-alive connection (jq: `split --lines=2000` + one curl per batch). "
                 "Plain rows convert values so that the documents equal pg2es's (jsonb "
                 "nested, arrays, ISO 8601 timestamps); \"(raw)\" rows copy wal2json's "
                 "values unchanged (cheapest possible consumer, documents differ; wal2json "
                 "without include-types). The targets compare with the fastest of all.", "")
        all_figures = {}
        for sink, by_system in self.res.get("pipeline", {}).items():
            figures = {name: self.pipeline_figures(runs, changes)
                       for name, runs in by_system.items()}
            for name, runs in by_system.items():
                if errors_of(runs):
                    self.problems.append("pipeline %s, %s: %s" % (sink, name,
                                                                  errors_of(runs)[0]))
            all_figures[sink] = figures
            anchor = figures.get(ANCHOR) or {}
            self.add("### Sink: %s" % sink, "")
            rows = []
            for name in systems:
                if name not in by_system and name not in self.unavailable:
                    continue
                f = figures.get(name)
                if not f:
                    rows.append([name, self.missing(name, by_system.get(name),
                                                    "pipeline " + sink)] + [""] * 8)
                    continue
                rows.append([name, fmt(f["rate"], 0), fmt(f["total"], 2), fmt(f["server"], 2),
                             fmt(f["clients"], 2),
                             "-" if f["share"] is None else "%.0f%%" % (100 * f["share"]),
                             fmt(f["rss"], 1), fmt(f["sink"], 2),
                             fmt_ratio(ratio(f["rate"], anchor.get("rate"))),
                             fmt_ratio(ratio(f["total"], anchor.get("total")))])
            self.table(["system", "rows/s", "total CPU s / M rows", "walsender", "clients",
                        "forwarder share", "peak RSS MB", "sink CPU s / M rows",
                        "rows/s × Node.js", "CPU × Node.js"], rows)
        return all_figures

    def filter_section(self):
        """Decoding through a selective row filter, pg2es beside pgoutput."""
        f = self.res.get("filter") or {}
        runs, changes = f.get("runs") or {}, f.get("changes")
        if not changes:
            return
        self.add("## Row filter (publication `WHERE (id %% %d = 0)`)" % f["every"], "",
                 "The insert workload (%s rows, one transaction) decoded by pg_recvlogical "
                 "from a copy of the same slot, by pg2es (`-o publications`, framed as the "
                 "forwarder reads it) and by pgoutput for the same publication, beside both "
                 "for the table unfiltered. CPU per row counts every row of the table, "
                 "1 in %d of which passes the filter; medians of %d run(s)." % (
                     "{:,}".format(changes), f["every"], self.res["settings"]["repeat"]), "")
        other_of = {"pg2es filtered": "pgoutput filtered", "pgoutput filtered": "pg2es filtered",
                    "pg2es unfiltered": "pgoutput unfiltered",
                    "pgoutput unfiltered": "pg2es unfiltered"}
        figures = {}
        for name in other_of:
            good = ok_runs(runs.get(name, []))
            if good:
                figures[name] = (med(changes / r["wall"] for r in good),
                                 med(r["cpu"] for r in good) * 1e6 / changes)
        rows = []
        for name, other in other_of.items():
            if name not in figures:
                why = self.missing(name.split()[0], runs.get(name), "filter")
                rows.append([name, " ".join(why.split()), "", ""])
                continue
            rate, cpu = figures[name]
            rows.append([name, fmt(rate, 0), fmt(cpu, 2),
                         fmt_ratio(ratio(cpu, figures.get(other, (None, None))[1]))])
        self.table(["decoder", "rows/s", "server CPU s per M rows",
                    "CPU ratio to the other plugin"], rows)

    def latency_section(self):
        """Section 3."""
        lat = self.res.get("latency", {})
        s = self.res["settings"]
        self.add("## 3. Latency", "",
                 "%g single-row transactions per second for %g s (synchronous_commit on); "
                 "latency = the time the sink answers the `_bulk` request holding a row "
                 "minus the row's `clock_timestamp()` at INSERT (taken just before its "
                 "commit), measured by tests/bench/sink.py; both pipelines stream "
                 "continuously (the forwarder with its defaults, 100 ms linger, and with "
                 "the Node.js transform's 10 ms linger; the Node.js transform: 1000 items "
                 "or 10 ms linger)." % (s["lat_rate"], s["lat_seconds"]), "")
        rows = []
        for name in ("pg2es forwarder", "pg2es forwarder, --bulk-linger-ms 10", ANCHOR):
            r = lat.get(name)
            if not r or "error" in r:
                system = "pg2es forwarder" if name.startswith("pg2es") else name
                rows.append([name, self.missing(system, [r] if r else None, "latency"),
                             "", "", "", ""])
                continue
            rows.append([name, fmt(r["rate"], 0), "{:,}".format(r["samples"]),
                         fmt(r["p50"], 1), fmt(r["p99"], 1), fmt(r["max"], 1)])
        self.table(["system", "tx/s achieved", "rows", "p50 ms", "p99 ms", "max ms"], rows)
        return lat

    def load_section(self):
        """Section 4; returns {method: (rows/s, server, client, first, sink)}."""
        load = self.res.get("load", {})
        settings = self.res["settings"]
        rows_n = settings.get("load_rows", settings["rows"])
        self.add("## 4. Initial load", "",
                 "%s rows already in the table (BENCH_LOAD_ROWS; by default more than "
                 "in the other sections, so that start-up does not dominate). COPY: `psql -c 'COPY bench TO STDOUT' "
                 ">/dev/null`. pg2es: the forwarder creating its slot and loading the "
                 "table into the counting sink, timed from its start until the sink "
                 "answered the request that completed the table (read from the sink's own "
                 "clock, so that polling it does not round the figure; start-up included: "
                 "connections, slot with exported snapshot, index creation; the \"first "
                 "document\" column shows how long that took). COPY and the load run "
                 "interleaved on the same table; medians of %d run(s). CPU includes every "
                 "backend the load used; the sink's CPU (it shares the machine) is shown "
                 "beside the forwarder's." % ("{:,}".format(rows_n), settings["repeat"]), "")
        figures = {}
        for label in LOAD_METHODS:
            runs = load.get(label)
            good = ok_runs(runs or [])
            if errors_of(runs or []):
                self.problems.append("load %s: %s" % (label, errors_of(runs)[0]))
            if good:
                figures[label] = (med(rows_n / r["wall"] for r in good),
                                  med(r["server"] for r in good) * 1e6 / rows_n,
                                  med(r["client"] for r in good) * 1e6 / rows_n,
                                  med(r.get("first") for r in good),
                                  med(r.get("sink_cpu") for r in good))
        copy_rate = figures.get("COPY bench TO STDOUT", (None,))[0]
        rows = []
        for label in LOAD_METHODS:
            if label not in figures:
                rows.append([label, self.missing("pg2es forwarder" if "pg2es" in label
                                                 else label, load.get(label), "load"),
                             "", "", "", "", ""])
                continue
            rate, server, client, first, sink = figures[label]
            rows.append([label, fmt(rate, 0), fmt_ratio(ratio(rate, copy_rate)),
                         fmt(server, 2), fmt(client, 2),
                         "-" if sink is None else fmt(sink * 1e6 / rows_n, 2),
                         "-" if first is None else "%.2f" % first])
        self.table(["method", "rows/s", "× COPY", "server CPU s / M rows",
                    "client CPU s / M rows", "sink CPU s / M rows",
                    "first document after s"], rows)
        return figures

    # -- targets and calibration

    def calibration_section(self, decode, pipelines):
        """This run beside the issue's calibration figures."""
        insert = decode.get("insert", {})
        null = self.null_figures(pipelines)
        self.add("## Calibration (issue 7: 200k-row single-transaction insert)", "")
        rows = []
        for name, expected in CALIBRATION.items():
            got = insert.get(name, (None, None))[1]
            rows.append([name, fmt(expected, 1), fmt(got, 2), fmt_ratio(ratio(got, expected))])
        for name, expected in CALIBRATION_PIPELINES.items():
            for variant in (name + " (raw)", name):
                f = null.get(variant)
                got = f["total"] if f else None
                rows.append([variant + ", all processes", fmt(expected, 1), fmt(got, 2),
                             fmt_ratio(ratio(got, expected))])
        self.table(["system", "issue's CPU s / M rows", "this run", "this / issue"], rows)
        self.add("The issue's pipeline figures match the \"(raw)\" transforms (values copied "
                 "as wal2json gives them); converting values so that the documents equal "
                 "pg2es's costs the Node.js transform about a third more. The bench table "
                 "spills about as much as the issue's (≈124 MB for 200k rows), so its rows "
                 "are of similar size; the column types differ, which moves pgoutput and "
                 "decoderbufs (per-column output functions / protobuf) more than the others.",
                 "")

    def null_figures(self, pipelines):
        """The pipeline figures into the null sink."""
        return pipelines.get(self.res.get("null_sink"), {}) or next(iter(pipelines.values()), {})

    def targets_section(self, decode, pipelines, load):
        """The issue's targets, each met or not."""
        self.add("## Targets (issue 7)", "")
        rows = []
        verdict = lambda ok: "-" if ok is None else ("met" if ok else "**not met**")
        for name in ("pg2es", "pg2es framed"):
            for kind, figures in decode.items():
                mine = figures.get(name, (None, None))[1]
                td = figures.get("test_decoding", (None, None))[1]
                po = figures.get("pgoutput", (None, None))[1]
                ok = None if None in (mine, td, po) else (mine <= td and mine <= 1.2 * po)
                rows.append(["decoding %s, %s: CPU ≤ test_decoding and ≤ 1.2× pgoutput"
                             % (name, kind),
                             "%s vs %s / %s" % (fmt(mine, 2), fmt(td, 2), fmt(po, 2)),
                             verdict(ok)])
        null = self.null_figures(pipelines)
        fwd = null.get("pg2es forwarder")
        classic = [(n, f) for n, f in null.items() if n != "pg2es forwarder" and f]
        best_name, best = max(classic, key=lambda nf: nf[1]["rate"]) if classic else (None, None)
        if fwd and best:
            rows.append(["pipeline: total CPU ≤ 0.5× the fastest re-encoding pipeline (%s)"
                         % best_name,
                         "%s vs %s" % (fmt(fwd["total"], 2), fmt(best["total"], 2)),
                         verdict(fwd["total"] <= 0.5 * best["total"])])
            rows.append(["pipeline: rows/s ≥ 1.5× the fastest re-encoding pipeline (%s)"
                         % best_name,
                         "%s vs %s" % (fmt(fwd["rate"], 0), fmt(best["rate"], 0)),
                         verdict(fwd["rate"] >= 1.5 * best["rate"])])
        if fwd:
            rows.append(["forwarder < 15% of the pipeline's CPU",
                         "%.0f%%" % (100 * (fwd["share"] or 0)), verdict(fwd["share"] < 0.15)])
            rows.append(["forwarder peak RSS < 64 MB", "%.1f MB" % fwd["rss"],
                         verdict(fwd["rss"] < 64)])
        copy_rate = load.get("COPY bench TO STDOUT", (None,))[0]
        pg2es_rate = load.get("pg2es initial load", (None,))[0]
        if copy_rate and pg2es_rate:
            rows.append(["initial load ≥ 70% of COPY's rows/s",
                         "%.0f%%" % (100 * pg2es_rate / copy_rate),
                         verdict(pg2es_rate >= 0.7 * copy_rate)])
        if not rows:
            rows.append(["(pg2es not measured)", "-", "-"])
        self.table(["target", "figures", "verdict"], rows)


# -- issue 14: delayed sink, real engines, the Debezium chain

DELAY_GOAL_MS = "100"
REFRESH_MS = 1000.0


def delay_figures(res):
    """{lane label: {delay ms (str): rows/s}} of the delay sweep."""
    n = res["changes"].get("insert")
    out = {}
    for label, runs in res.get("delay", {}).items():
        out[label] = {ms: (n / r["wall"] if n and "error" not in r else None)
                      for ms, r in runs.items()}
    return out


def engine_cpu_per_m(run, part):
    """(pipeline CPU, engine CPU) seconds per million rows of a window."""
    w = run.get(part) or {}
    rows = w.get("rows")
    if "error" in w or not w.get("cpu") or not rows:
        return None, None
    return sum(w["cpu"].values()) * 1e6 / rows, w["engine_cpu"] * 1e6 / rows


def peak_mb(run):
    """Peak RSS (MB) of each client process of a run, as text."""
    rss = run.get("rss_kb") or {}
    return ", ".join("%s %.0f" % (name, kb / 1024) for name, kb in rss.items() if kb) or "-"


def cpu_text(window):
    """A window's CPU seconds per process, as text."""
    return ", ".join("%s %.2f" % (name, cpu) for name, cpu in sorted(
        (window or {}).get("cpu", {}).items(), key=lambda kv: -kv[1]))


def delay_section(rep):
    """Rows/s against the counting sink's answer delay."""
    figures = delay_figures(rep.res)
    if not figures:
        return figures
    n = rep.res["changes"].get("insert", 0)
    rep.add("## 5. Answer delay (counting sink holding each `_bulk` answer)", "",
            "The insert workload (%s rows, one transaction) through pg2es, from a copy of the "
            "same slot, into tests/bench/sink.py answering every `_bulk` request after the "
            "given delay (requests in flight together wait together, as on a cluster with "
            "spare capacity). rows/s = rows / the forwarder's run to `--endpos`, the median "
            "of %d run(s)." % ("{:,}".format(n), rep.res["settings"]["repeat"]), "")
    labels = list(figures)
    delays = sorted({ms for f in figures.values() for ms in f}, key=int)
    rows = []
    for ms in delays:
        row = [ms + " ms"]
        for label in labels:
            rate, zero = figures[label].get(ms), figures[label].get("0")
            row.append("%s (%s)" % (fmt(rate, 0), "-" if not rate or not zero
                                    else "%.0f%%" % (100 * rate / zero)))
            if rate is None:
                rep.problems.append("delay %s ms, %s: %s" % (
                    ms, label, rep.res["delay"][label][ms].get("error", "no figure")))
        rows.append(row)
    rep.table(["answer delay"] + ["%s: rows/s (of 0 ms)" % l for l in labels], rows)
    return figures


def engines_section(rep):
    """The real engines and the chain; returns {engine: {pipeline: run}}."""
    engines = rep.res.get("engines") or {}
    s = rep.res["settings"]
    if not engines:
        if not s.get("smoke") and rep.only in (None, "engines", "chain"):
            why = [k + ": " + v for k, v in rep.unavailable.items() if "OpenSearch" in k]
            rep.add("## 6. Real engines", "", "Not measured%s." % (
                (": " + "; ".join(why)) if why else ""), "")
        return engines
    rep.add("## 6. Real engines and the Debezium chain", "",
            "A real OpenSearch 2.19.6 (tests/engines/start, heap 512 MB a node, default "
            "refresh interval 1 s; %s), each first warmed up with 50,000 documents and "
            "a backlog of the first pipeline that is not reported; "
            "every pipeline runs as a service "
            "on the same PostgreSQL. After a warm-up row per table is searchable: "
            "**backlog** = one INSERT of %s rows, rows/s = rows / (commit to `_count` "
            "showing them all, polled every 0.1 s); **steady** = %s rows/s offered in "
            "%d-row transactions for %s s while single-row probes go into `bench_lat` at "
            "%s/s, delivered = rows / (first commit to all searchable); **latency** = "
            "each probe's `clock_timestamp()` at INSERT to the first `_search` answer "
            "holding it (polled every 20 ms, so up to ~20 ms late). CPU = utime+stime of "
            "every process of the pipeline over the backlog window, PostgreSQL's = the "
            "backends the pipeline holds; the engine's JVM apart. Peak RSS = VmHWM." % (
                " then ".join("%d node%s" % (n, "" if n == 1 else "s")
                              for n in s.get("engine_nodes", [1])),
                "{:,}".format(s.get("engine_rows", 0)), fmt(s.get("engine_rate"), 0), 50,
                fmt(s.get("lat_seconds"), 0), fmt(s.get("lat_rate"), 0)), "")
    if rep.res.get("lanes_option") is False:
        rep.add("The forwarder measured has no `--lanes` option yet: its rows are one "
                "request in flight.", "")
    for engine, runs in engines.items():
        rep.add("### %s" % engine, "")
        rows = []
        for label, run in runs.items():
            b, st = run.get("backlog") or {}, run.get("steady") or {}
            if "error" in run or "error" in b or "error" in st:
                err = run.get("error") or b.get("error") or st.get("error")
                rep.problems.append("engine %s, %s: %s" % (engine, label, err))
            cpu, eng = engine_cpu_per_m(run, "backlog")
            busy = sum(st["cpu"].values()) / st["seconds"] if st.get("seconds") else None
            rows.append([label, fmt(b.get("rows_s"), 0),
                         "%s / %s" % (fmt(st.get("offered"), 0), fmt(st.get("delivered"), 0)),
                         fmt(st.get("lag"), 2), fmt(st.get("p50"), 0), fmt(st.get("p90"), 0),
                         fmt(st.get("p99"), 0), fmt(cpu, 1), fmt(eng, 1), fmt(busy, 2),
                         cpu_text(b), peak_mb(run)])
        rep.table(["pipeline", "backlog rows/s", "steady offered / delivered rows/s",
                   "lag s", "p50 ms", "p90 ms", "p99 ms",
                   "CPU s / M rows (engine excl.)", "engine CPU s / M rows",
                   "steady: cores busy (engine excl.)",
                   "CPU s by process (backlog)", "peak RSS MB"], rows)
    return engines


def pg2es_label(runs, default=True):
    """The label of pg2es's default (or 1-lane) run in runs, or None."""
    for label in runs:
        if label.startswith("pg2es") and (("default" in label) == default or "no --lanes" in label
                                          or "1 request" in label):
            return label
    return None


def goals_section(rep, delays, engines):
    """Issue 14's goals, each with its figures."""
    rows = []
    verdict = lambda ok: "-" if ok is None else ("met" if ok else "**not met**")
    label = pg2es_label(delays) if delays else None
    if label:
        zero, slow = delays[label].get("0"), delays[label].get(DELAY_GOAL_MS)
        ok = None if not zero or not slow else slow >= 0.7 * zero
        rows.append(["100 ms answer delay: pg2es (%s) keeps ≥ 70%% of its 0 ms rows/s" % label,
                     "%s vs %s rows/s (%s)" % (fmt(slow, 0), fmt(zero, 0),
                                               "-" if ok is None else "%.0f%%" % (100 * slow / zero)),
                     verdict(ok)])
        one = pg2es_label(delays, default=False)
        best = max((r for f in delays.values() for ms, r in f.items() if ms == "0" and r),
                   default=None)
        if one and one != label and best and slow:
            rows.append(["the same against the best 0 ms figure of any lane count",
                         "%s vs %s rows/s (%.0f%%)" % (fmt(slow, 0), fmt(best, 0),
                                                       100 * slow / best),
                         verdict(slow >= 0.7 * best)])
    for engine, runs in engines.items():
        mine = pg2es_label(runs)
        chain = next((l for l in runs if l.startswith("Debezium")), None)
        if mine and chain:
            a, b = runs[mine].get("backlog") or {}, runs[chain].get("backlog") or {}
            ca, _ = engine_cpu_per_m(runs[mine], "backlog")
            cb, _ = engine_cpu_per_m(runs[chain], "backlog")
            ra, rb = a.get("rows_s"), b.get("rows_s")
            ok = None if not ra or not rb else ra >= 1.5 * rb
            rows.append(["%s: pg2es rows/s ≥ 1.5× the chain's (backlog)" % engine,
                         "%s vs %s (%s)" % (fmt(ra, 0), fmt(rb, 0), fmt_ratio(ratio(ra, rb))),
                         verdict(ok)])
            ok = None if ca is None or cb is None else ca <= cb / 4
            rows.append(["%s: pg2es CPU ≤ ¼ of the chain's, engine excluded" % engine,
                         "%s vs %s s / M rows (%s)" % (
                             fmt(ca, 1), fmt(cb, 1),
                             "-" if ratio(ca, cb) is None else "%.3f×" % ratio(ca, cb)),
                         verdict(ok)])
            for lbl, w in ((mine, a), (chain, b)):
                if w.get("wall") and "engine_cpu" in w:
                    rows.append(["%s, %s: who is the bottleneck" % (engine, lbl),
                                 "engine %.2f cores busy, pipeline %.2f (of %s)" % (
                                     w["engine_cpu"] / w["wall"], sum(w["cpu"].values()) / w["wall"],
                                     rep.res.get("machine", {}).get("nproc", "?")), ""])
        if mine:
            st = runs[mine].get("steady") or {}
            p99 = st.get("p99")
            ok = None if p99 is None else p99 <= REFRESH_MS + 200
            rows.append(["%s: pg2es commit-to-searchable p99 ≤ refresh (1 s) + 200 ms at %s rows/s"
                         % (engine, fmt(st.get("offered"), 0)), "%s ms" % fmt(p99, 0),
                         verdict(ok)])
    if rows:
        rep.add("## Goals (issue 14)", "")
        rep.table(["goal", "figures", "verdict"], rows)


def plot_lines(out, name, series, title, xlabel, ylabel):
    """NAME.png: one line per series {label: [(x, y)]}; its name or None."""
    if not shutil.which("gnuplot") or not series:
        return None
    plots = []
    for i, (label, points) in enumerate(series.items()):
        dat = os.path.join(out, "%s-%d.dat" % (name, i))
        with open(dat, "w") as f:
            for x, y in points:
                f.write("%s %s\n" % (x, "?" if y is None else "%.0f" % y))
        plots.append("'%s' using 1:2 with linespoints lw 2 title '%s'" % (dat, label))
    script = "\n".join([
        "set terminal pngcairo size 900,550 noenhanced font ',10'",
        "set output '%s'" % os.path.join(out, name + ".png"),
        "set title '%s'" % title, "set xlabel '%s'" % xlabel, "set ylabel '%s'" % ylabel,
        "set datafile missing '?'", "set yrange [0:*]", "set grid",
        "set key bottom left opaque box",
        "set format y '%.0f'", "plot " + ", ".join(plots), ""])
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if res.returncode != 0:
        print("report: gnuplot failed: %s" % res.stderr, file=sys.stderr)
        return None
    return name + ".png"


def plot_stacked(out, name, data, parts, title, ylabel):
    """NAME.png: one stacked bar per (label, [value per part]); or None."""
    if not shutil.which("gnuplot") or not data:
        return None
    dat = os.path.join(out, name + ".dat")
    with open(dat, "w") as f:
        f.write("system " + " ".join('"%s"' % p for p in parts) + "\n")
        for label, values in data:
            f.write('"%s" %s\n' % (label, " ".join("%.3f" % (v or 0) for v in values)))
    plots = ", ".join("'%s' using %d%s title columnheader(%d)"
                      % (dat if i == 0 else "", i + 2, ":xtic(1)" if i == 0 else "", i + 2)
                      for i in range(len(parts)))
    script = "\n".join([
        "set terminal pngcairo size 1100,650 noenhanced font ',10'",
        "set output '%s'" % os.path.join(out, name + ".png"),
        "set title '%s'" % title, "set ylabel '%s'" % ylabel,
        "set style data histograms", "set style histogram rowstacked",
        "set style fill solid 0.85 border -1", "set boxwidth 0.6",
        "set yrange [0:*]", "set grid ytics", "set key top left",
        "set xtics rotate by -20 scale 0", "plot " + plots, ""])
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if res.returncode != 0:
        print("report: gnuplot failed: %s" % res.stderr, file=sys.stderr)
        return None
    return name + ".png"


def engine_plots(out, delays, engines):
    """The three plots of issue 14; the PNG names made."""
    made = []
    if delays:
        made.append(plot_lines(out, "delay", {
            label: sorted(((int(ms), rate) for ms, rate in f.items()))
            for label, f in delays.items()},
            "pg2es into the counting sink: rows/s against answer delay",
            "answer delay (ms)", "rows / s"))
    short = {"OpenSearch 2.19, 1 node": "1 node", "OpenSearch 2.19, 3 nodes": "3 nodes"}
    lat, cpu, parts = [], [], []
    for engine, runs in engines.items():
        for label, run in runs.items():
            tag = "%s, %s" % (label.split(" (")[0], short.get(engine, engine))
            st = run.get("steady") or {}
            if "p50" in st:
                lat.append((tag, [st["p50"], st["p90"], st["p99"]]))
            b = run.get("backlog") or {}
            if b.get("rows") and b.get("cpu"):
                per = {k: v * 1e6 / b["rows"] for k, v in b["cpu"].items()}
                cpu.append((tag, per))
                parts += [p for p in per if p not in parts]
    if lat:
        made.append(gnuplot(out, "latency", lat, ["p50", "p90", "p99"],
                            "Commit to searchable at a steady rate (refresh 1 s)", "ms"))
    if cpu:
        made.append(plot_stacked(out, "cpu", [(t, [per.get(p) for p in parts]) for t, per in cpu],
                                 parts, "CPU per pipeline by process, backlog, engine excluded",
                                 "CPU s / M rows"))
    return [m for m in made if m]


def gnuplot(out, name, data, columns, title, ylabel):
    """Writes NAME.dat and renders NAME.png (clustered bars); returns the
    PNG's file name or None when gnuplot is missing or fails."""
    if not shutil.which("gnuplot"):
        return None
    dat = os.path.join(out, name + ".dat")
    with open(dat, "w") as f:
        f.write("system " + " ".join('"%s"' % c for c in columns) + "\n")
        for system, values in data:
            f.write('"%s" %s\n' % (system, " ".join("?" if v is None else "%.0f" % v
                                                    for v in values)))
    plots = ", ".join("'%s' using %d%s title columnheader(%d)"
                      % (dat if i == 0 else "", i + 2, ":xtic(1)" if i == 0 else "", i + 2)
                      for i in range(len(columns)))
    script = "\n".join([
        "set terminal pngcairo size 1100,600 noenhanced font ',10'",
        "set output '%s'" % os.path.join(out, name + ".png"),
        "set title '%s'" % title, "set ylabel '%s'" % ylabel,
        "set style data histograms", "set style histogram clustered gap 1",
        "set style fill solid 0.85 border -1", "set datafile missing '?'",
        "set yrange [0:*]", "set grid ytics", "set key top right",
        "set xtics rotate by -25 scale 0", "set format y '%.0f'",
        "plot " + plots, ""])
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if res.returncode != 0:
        print("report: gnuplot failed: %s" % res.stderr, file=sys.stderr)
        return None
    return name + ".png"


def main():
    """Writes report.md and the plots; prints the report."""
    parser = argparse.ArgumentParser(description="pg2es bench report")
    parser.add_argument("results")
    parser.add_argument("--out", required=True)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    with open(args.results) as f:
        res = json.load(f)

    plugins = ["pg2es", "pg2es framed", "test_decoding", "wal2json v1", "wal2json v2",
               "decoderbufs", "pgoutput"]
    systems = SYSTEMS
    rep = Report(res)
    m = res.get("machine", {})
    s = res["settings"]
    rep.add("# pg2es benchmarks", "",
            "Machine: %s cores (%s), PostgreSQL %s, logical_decoding_work_mem %s; %s." % (
                m.get("nproc"), m.get("cpu"), m.get("postgres"),
                m.get("logical_decoding_work_mem"), m.get("date")),
            "Command: `%s` (N = %s rows, initial load %s rows, medians of %d runs%s%s)." % (
                res["command"], "{:,}".format(s["rows"]),
                "{:,}".format(s.get("load_rows", s["rows"])), s["repeat"],
                ", SMOKE MODE: figures are meaningless" if s["smoke"] else "",
                ", ONLY the %s section was run" % s["only"] if s.get("only") else ""),
            "Sinks: null sink = %s; counting sink = %s; full emulator = %s." % (
                res.get("null_sink", "?"), res.get("sinks", {}).get("counting", "-"),
                res.get("sinks", {}).get("emulator", "not available")), "")
    for note in res.get("notes", []):
        rep.add("Note: " + note, "")
    decode, pipelines, load = {}, {}, {}
    if s.get("only") in (None, "load"):
        decode = rep.decoding_section(plugins)
        rep.sql_section(plugins)
        pipelines = rep.pipeline_section(systems)
        rep.latency_section()
        load = rep.load_section()
    if s.get("only") in (None, "filter"):
        rep.filter_section()
    delays = delay_section(rep)
    engines = engines_section(rep)
    if not s.get("only"):
        rep.calibration_section(decode, pipelines)
        rep.targets_section(decode, pipelines, load)
    goals_section(rep, delays, engines)

    kinds = list(decode)
    png = png2 = None
    if kinds:
        png = gnuplot(args.out, "decoding",
                      [(p, [decode[k].get(p, (None,))[0] for k in kinds]) for p in plugins],
                      [WORKLOAD_TITLES.get(k, k) for k in kinds],
                      "Decoding alone: rows/s per plugin and workload (median)",
                      "row changes / s")
    sinks = list(pipelines)
    if sinks:
        png2 = gnuplot(args.out, "pipeline",
                       [(n, [(pipelines[k].get(n) or {}).get("rate") for k in sinks])
                        for n in systems],
                       sinks, "Whole pipeline: rows/s per sink (median)", "rows / s")
    more = engine_plots(args.out, delays, engines)
    if png or png2 or more:
        rep.add("## Plots", "")
        for p in [png, png2] + more:
            if p:
                rep.add("![%s](%s)" % (p, p), "")
    elif not s["smoke"]:
        rep.add("(No plot: gnuplot is missing.)", "")

    text = "\n".join(rep.lines).rstrip() + "\n"
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    print(text)
    if args.check and rep.problems:
        print("bench smoke: measurements without a number:\n  " + "\n  ".join(rep.problems),
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
