"""realengine.py: the bench's measurements against real engines (issue 14).

Imported by bench.py.  For a real OpenSearch started by tests/engines/start
(one node, then three), each pipeline runs as a live service on the same
throwaway PostgreSQL cluster and the same workload:

* pg2es with one lane and with its default lane count (when the forwarder
  has --lanes), the classic pg_recvlogical + wal2json + Node.js pipeline,
  and the article's chain (Debezium's PostgreSQL connector on Kafka Connect,
  Kafka in KRaft mode, a _bulk sink connector; chain.py).
* Each new engine first indexes WARM_DOCS documents into a scratch index
  (dropped), so that the first pipeline does not pay for the JVM's warm-up.
* After a warm-up row per table is searchable (index creation, topic
  creation and connector start-up stay out of the figures):
  - backlog: one INSERT of N rows; rows/s = N / (time from its commit until
    _count shows all N);
  - steady: rows offered at a fixed rate in 50-row transactions while
    single-row probes go into bench_lat at BENCH_LAT_RATE a second; the
    delivered rate, the lag after the last commit, and each probe's
    commit-to-searchable latency: a poller searches bench_lat's index every
    POLL_S for the probes not seen yet, and a probe's latency is the time of
    the answer that first holds it minus its clock_timestamp() at INSERT
    (so the figures are late by up to one poll).  The engine keeps its
    default refresh interval (1 s).
* CPU of every process of a pipeline over each window (/proc utime+stime
  deltas), the engine's JVM apart; PostgreSQL's share is every backend the
  pipeline holds open (those alive when the window opens); peak RSS is each
  process's VmHWM at the end.

Also the delay sweep: the insert workload through pg2es into the counting
sink answering each _bulk request after 0, 20, 100 and 300 ms.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import chain

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES_DIR = os.path.join(os.path.dirname(HERE), "engines")
# The ports of this part (the engines' HTTP ports; chain.py uses 29110-29119).
ENGINE_PORTS = {1: 29150, 3: 29200}
POLL_S = 0.02
WARM_DOCS = 50000
DELAYS_MS = (0, 20, 100, 300)
STEADY_TX_ROWS = 50


def log(msg):
    """Progress on stderr, with the time."""
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True,
          file=__import__("sys").stderr)


def http(url, data=None, method=None, timeout=30):
    """An HTTP request; returns (status, decoded JSON or None)."""
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as e:
        return e.code, None


def proc_cpu(pid):
    """utime+stime of a live process in seconds (0.0 when gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_kb(pid):
    """VmHWM (peak RSS) of a live process in kB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def lanes_option(forwarder):
    """False when the forwarder has no --lanes (its --help says), else the
    text of its default lane count ("?" when the help does not say)."""
    try:
        out = subprocess.run([forwarder, "--help"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    if "--lanes" not in out:
        return False
    match = re.search(r"--lanes=N.*?default:? (\d+)", out, re.S)
    return match.group(1) if match else "?"


# ---------------------------------------------------------------- engine


class Engine:
    """A real OpenSearch of tests/engines/start, nodes nodes."""

    def __init__(self, nodes, work):
        self.nodes = nodes
        self.port = ENGINE_PORTS[nodes]
        self.label = "OpenSearch 2.19, %d node%s" % (nodes, "" if nodes == 1 else "s")
        self.url = None
        self.log = os.path.join(work, "engine-%d.log" % nodes)

    def start(self):
        """Starts it (raises RuntimeError with the reason when it cannot)."""
        env = dict(os.environ, PG2ES_ENGINE_WATCH_PID=str(os.getpid()))
        with open(self.log, "w") as err:
            res = subprocess.run([os.path.join(ENGINES_DIR, "start"), "opensearch",
                                  str(self.port), "--nodes", str(self.nodes)],
                                 stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        if res.returncode != 0:
            with open(self.log) as f:
                raise RuntimeError("tests/engines/start exited %d: %s"
                                   % (res.returncode, f.read().strip()[-300:]))
        self.url = res.stdout.strip().splitlines()[-1]
        state = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                             "pg2es-engine.%d.%d" % (os.getuid(), self.port))
        with open(os.path.join(state, "pid")) as f:
            self.pid = int(f.read().strip())
        # pg2es spreads over every node; the others get the first node.
        self.urls = ",".join("http://127.0.0.1:%d" % (self.port + i) for i in range(self.nodes))

    def stop(self):
        """Stops it."""
        subprocess.run([os.path.join(ENGINES_DIR, "stop"), str(self.port)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def warm_up(self, docs=WARM_DOCS):
        """Indexes docs bench-like documents into a scratch index and drops
        it, so that the first pipeline measured does not pay for the JVM's
        compilation of the indexing path."""
        for first in range(0, docs, 5000):
            lines = []
            for i in range(first, min(docs, first + 5000)):
                lines.append('{"index":{"_index":"bench-warm-up","_id":"%d"}}' % i)
                lines.append(json.dumps({"id": i, "name": "name-%d" % i, "body": "%032x" % i * 10,
                                         "price": i % 1000 / 100.0, "qty": i % 1000,
                                         "active": i % 2 == 0,
                                         "created": "2024-01-01T00:00:00Z",
                                         "tags": ["tag%d" % (i % 10), "common"],
                                         "attrs": {"k": i, "nested": {"a": i % 3}}}))
            req = urllib.request.Request(self.url + "/_bulk", data=("\n".join(lines) + "\n").encode(),
                                         headers={"Content-Type": "application/x-ndjson"})
            with urllib.request.urlopen(req, timeout=120) as resp:
                resp.read()
        self.drop("bench-warm-up")

    def count(self, index):
        """Documents searchable in index (0 when it does not exist)."""
        status, body = http("%s/%s/_count" % (self.url, index))
        return body["count"] if status == 200 else 0

    def drop(self, *indexes):
        """Deletes indexes (missing ones are fine)."""
        for index in indexes:
            http("%s/%s" % (self.url, index), method="DELETE")


# ---------------------------------------------------------------- pipelines


class Pipeline:
    """A pipeline running as a service: start(), pids(), stop().  index:
    the index of each table (bench, bench_lat)."""

    def __init__(self, cfg, cl, engine):
        self.cfg, self.cl, self.engine = cfg, cl, engine
        self.procs = []

    def pids(self):
        """{process name: pid} of its client processes."""
        return {name: p.pid for name, p in self.procs}

    def stop(self):
        """Stops its processes and drops its slot."""
        for name, p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if name == "forwarder" else signal.SIGINT)
        for _, p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.cl.quiesce()
        self.cl.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE slot_name = 'bench_live'")


class Pg2es(Pipeline):
    """The forwarder; lanes None: its default."""

    def __init__(self, cfg, cl, engine, lanes):
        super().__init__(cfg, cl, engine)
        self.lanes = lanes
        self.index = {"bench": "public.bench", "bench_lat": "public.bench_lat"}

    def start(self, logdir):
        """Creates its slot and starts the forwarder."""
        self.cl.psql("SELECT 1 FROM pg_create_logical_replication_slot('bench_live', 'pg2es')")
        args = [self.cfg.forwarder, "-d", self.cl.conninfo(), "-S", "bench_live",
                "--es-url", self.engine.urls]
        if self.lanes is not None:
            args += ["--lanes", str(self.lanes)]
        log_ = open(os.path.join(logdir, "engine-pipelines.log"), "a")
        self.procs = [("forwarder", subprocess.Popen(args, stdout=log_, stderr=log_))]


class NodeJs(Pipeline):
    """pg_recvlogical + wal2json v2 + transform.js (values converted)."""

    def __init__(self, cfg, cl, engine):
        super().__init__(cfg, cl, engine)
        self.index = {"bench": "public.bench", "bench_lat": "public.bench_lat"}

    def start(self, logdir):
        """Creates its slot and starts pg_recvlogical | node."""
        self.cl.psql("SELECT 1 FROM pg_create_logical_replication_slot('bench_live', 'wal2json')")
        log_ = open(os.path.join(logdir, "engine-pipelines.log"), "a")
        recv = subprocess.Popen(
            [self.cl.bin("pg_recvlogical")] + self.cl.conn_args()
            + ["-S", "bench_live", "--start", "--no-loop", "-f", "-",
               "-o", "format-version=2", "-o", "include-pk=1"],
            stdout=subprocess.PIPE, stderr=log_)
        node = subprocess.Popen(["node", os.path.join(HERE, "transform.js"), self.engine.url],
                                stdin=recv.stdout, stderr=log_)
        recv.stdout.close()
        self.procs = [("pg_recvlogical", recv), ("node", node)]


# ---------------------------------------------------------------- measuring


class Window:
    """CPU of a pipeline's processes, its PostgreSQL backends and the
    engine over one measuring window."""

    def __init__(self, cl, pipeline, engine):
        self.pids = dict(pipeline.pids())
        backends = children(cl.pm_pid) - cl.aux
        for pid in backends:
            self.pids["postgres %d" % pid] = pid
        self.engine_pid = engine.pid
        self.start = {name: proc_cpu(pid) for name, pid in self.pids.items()}
        self.engine_start = proc_cpu(engine.pid)

    def close(self):
        """{cpu: {process: s}, engine_cpu: s}; the backends summed as
        "postgres"."""
        cpu = {}
        for name, pid in self.pids.items():
            key = "postgres" if name.startswith("postgres ") else name
            cpu[key] = cpu.get(key, 0.0) + proc_cpu(pid) - self.start[name]
        return {"cpu": cpu, "engine_cpu": proc_cpu(self.engine_pid) - self.engine_start}


def children(ppid):
    """The pids whose parent is ppid."""
    try:
        with open("/proc/%d/task/%d/children" % (ppid, ppid)) as f:
            return {int(pid) for pid in f.read().split()}
    except OSError:
        return set()


def wait_count(engine, index, target, timeout, interval=0.05):
    """Polls _count until it reaches target; returns the monotonic time it
    was first seen there, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.count(index) >= target:
            return time.monotonic()
        time.sleep(interval)
    return None


class LatencyPoller(threading.Thread):
    """Searches bench_lat's index every POLL_S for probes with id >= first
    not seen yet; .samples: latency (ms) of each probe seen."""

    def __init__(self, engine, index, first):
        super().__init__(daemon=True)
        self.url = "%s/%s/_search" % (engine.url, index)
        self.low = first
        self.seen = set()
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            query = json.dumps({"size": 10000, "_source": ["id", "ts_us"],
                                "query": {"range": {"id": {"gte": self.low}}}}).encode()
            status, body = http(self.url, data=query)
            now_us = time.time() * 1e6
            if status == 200:
                for hit in body["hits"]["hits"]:
                    src = hit["_source"]
                    if src["id"] not in self.seen:
                        self.seen.add(src["id"])
                        self.samples.append((now_us - src["ts_us"]) / 1000.0)
                while self.low in self.seen:
                    self.low += 1
            self.halt.wait(POLL_S)

    def finish(self):
        """Stops polling; the samples."""
        self.halt.set()
        self.join()
        return self.samples


def percentile(values, q):
    """The q-quantile (0..1) of values by the nearest-rank rule."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


def warm_up(cl, pipeline, engine, timeout):
    """One row per table, waited for until searchable."""
    cl.psql("INSERT INTO bench (id, name) VALUES (0, 'warm-up')")
    cl.psql("INSERT INTO bench_lat (ts_us, note) VALUES (0, 'warm-up')")
    for table in ("bench", "bench_lat"):
        if wait_count(engine, pipeline.index[table], 1, timeout) is None:
            raise RuntimeError("the warm-up row of %s never became searchable in %s"
                               % (table, pipeline.index[table]))


def backlog(cfg, cl, pipeline, engine, rows_sql):
    """One INSERT of cfg.engine_rows rows; {rows_s, wall, cpu, engine_cpu}."""
    n = cfg.engine_rows
    base = engine.count(pipeline.index["bench"])
    win = Window(cl, pipeline, engine)
    cl.psql(["SET synchronous_commit = off", "INSERT INTO bench " + rows_sql(1, n)])
    committed = time.monotonic()
    done = wait_count(engine, pipeline.index["bench"], base + n, cfg.engine_timeout, 0.1)
    res = win.close()
    if done is None:
        res["error"] = "%d of %d rows searchable after %d s" % (
            engine.count(pipeline.index["bench"]) - base, n, cfg.engine_timeout)
        return res
    res.update(wall=done - committed, rows_s=n / (done - committed), rows=n)
    return res


def steady(cfg, cl, pipeline, engine, rows_sql):
    """cfg.engine_rate rows/s offered in STEADY_TX_ROWS-row transactions
    for cfg.lat_seconds, with cfg.lat_rate single-row probes a second;
    {offered, delivered, lag, p50, p90, p99, max, probes, cpu, engine_cpu}."""
    first_id = int(cl.psql("SELECT coalesce(max(id), 0) + 1 FROM bench_lat"))
    base = engine.count(pipeline.index["bench"])
    key0 = int(cl.psql("SELECT coalesce(max(id), 0) + 1 FROM bench"))
    poller = LatencyPoller(engine, pipeline.index["bench_lat"], first_id)
    poller.start()
    win = Window(cl, pipeline, engine)
    writer = subprocess.Popen([cl.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
                              + cl.conn_args(), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True)
    ticks = int(cfg.lat_rate * cfg.lat_seconds)
    tx_every = max(1.0, cfg.lat_rate * STEADY_TX_ROWS / cfg.engine_rate)
    start = time.monotonic()
    rows, next_tx, key = 0, 0.0, key0
    for i in range(ticks):
        delay = start + i / cfg.lat_rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        stmt = ("INSERT INTO bench_lat (ts_us, note) VALUES ((extract(epoch FROM "
                "clock_timestamp()) * 1000000)::bigint, 'probe');\n")
        if i >= next_tx:
            # committed without waiting for the flush (the next probe's
            # commit flushes it), so that the writer keeps its pace
            stmt += ("BEGIN; SET LOCAL synchronous_commit = off; INSERT INTO bench %s; "
                     "COMMIT;\n" % rows_sql(key, key + STEADY_TX_ROWS - 1))
            key += STEADY_TX_ROWS
            rows += STEADY_TX_ROWS
            next_tx += tx_every
        writer.stdin.write(stmt)
        writer.stdin.flush()
    writer.stdin.close()
    writer.wait()
    last_commit = time.monotonic()
    done = wait_count(engine, pipeline.index["bench"], base + rows, cfg.engine_timeout)
    deadline = time.monotonic() + 30
    while len(poller.seen) < ticks and time.monotonic() < deadline:
        time.sleep(0.05)
    samples = poller.finish()
    res = win.close()
    if done is None or len(samples) < ticks:
        res["error"] = "%d of %d probes and %d of %d rows searchable" % (
            len(samples), ticks, engine.count(pipeline.index["bench"]) - base, rows)
        return res
    res.update(offered=rows / (last_commit - start), delivered=rows / (done - start),
               seconds=done - start,
               lag=done - last_commit, probes=len(samples), probe_rate=ticks / (last_commit - start),
               p50=percentile(samples, 0.5), p90=percentile(samples, 0.9),
               p99=percentile(samples, 0.99), max=max(samples))
    return res


def peak_rss(pipeline):
    """{process: VmHWM kB} of a running pipeline's client processes."""
    return {name: proc_hwm_kb(pid) for name, pid in pipeline.pids().items()}


def run_pipeline(cfg, cl, engine, pipeline, rows_sql, steady_too=True):
    """Starts pipeline on a clean slate, measures (the backlog, and the
    steady run when steady_too), stops it; its results."""
    cl.psql("TRUNCATE bench, bench_lat RESTART IDENTITY")
    engine.drop(*pipeline.index.values())
    logdir = os.path.join(cfg.work, "logs")
    res = {}
    try:
        pipeline.start(logdir)
        warm_up(cl, pipeline, engine, 120)
        res["backlog"] = backlog(cfg, cl, pipeline, engine, rows_sql)
        log("  backlog: %s" % brief(res["backlog"]))
        if steady_too:
            res["steady"] = steady(cfg, cl, pipeline, engine, rows_sql)
            log("  steady: %s" % brief(res["steady"]))
        res["rss_kb"] = peak_rss(pipeline)
    except (RuntimeError, OSError) as e:
        res["error"] = str(e)
        log("  failed: %s" % e)
    finally:
        pipeline.stop()
        engine.drop(*pipeline.index.values())
    return res


def brief(res):
    """One log line's worth of a result."""
    keep = ("error", "rows_s", "wall", "offered", "delivered", "lag", "p50", "p99")
    out = {k: round(v, 1) if isinstance(v, float) else v for k, v in res.items() if k in keep}
    cpu = res.get("cpu", {})
    out["cpu"] = {k: round(v, 2) for k, v in cpu.items()}
    out["engine_cpu"] = round(res.get("engine_cpu", 0.0), 2)
    return json.dumps(out)


def measure_engines(cfg, cl, results, rows_sql):
    """Every pipeline against a one-node and a three-node OpenSearch;
    results["engines"][engine label][pipeline label]."""
    lanes = lanes_option(cfg.forwarder) if cfg.forwarder else False
    results["lanes_option"] = lanes
    out = results.setdefault("engines", {})
    for nodes in cfg.engine_nodes:
        engine = Engine(nodes, os.path.join(cfg.work, "logs"))
        log("engine: starting %s" % engine.label)
        try:
            engine.start()
        except RuntimeError as e:
            results["unavailable"][engine.label] = str(e)
            log("engine: %s" % e)
            continue
        runs = out.setdefault(engine.label, {})
        try:
            engine.warm_up()
            plan = []
            if "pg2es forwarder" not in results["unavailable"]:
                if lanes:
                    plan += [("pg2es, 1 lane", Pg2es(cfg, cl, engine, 1)),
                             ("pg2es, default lanes (%s)" % lanes, Pg2es(cfg, cl, engine, None))]
                else:
                    plan.append(("pg2es (no --lanes in this build: 1 request in flight)",
                                 Pg2es(cfg, cl, engine, None)))
            if cfg.only == "chain":
                # pg2es at its default beside the chain, nothing else
                plan = plan[-1:]
            else:
                plan.append(("wal2json v2 + Node.js", NodeJs(cfg, cl, engine)))
            if cfg.chain:
                plan.append((chain.LABEL, chain.Chain(cfg, cl, engine)))
            # The first pipeline on a fresh engine found it about twice as
            # costly per document as the later ones, warm-up documents or
            # not: a throwaway backlog of the first pipeline's kind comes
            # first, so that no measured pipeline pays for it.
            log("engine %s: warm-up backlog (not reported)" % engine.label)
            first = plan[0][1]
            spare = Pg2es(cfg, cl, engine, None) if isinstance(first, Pg2es) else \
                NodeJs(cfg, cl, engine) if isinstance(first, NodeJs) else first
            results.setdefault("engine_warm_up", {})[engine.label] = run_pipeline(
                cfg, cl, engine, spare, rows_sql, steady_too=False)
            for label, pipeline in plan:
                log("engine %s: %s" % (engine.label, label))
                runs[label] = run_pipeline(cfg, cl, engine, pipeline, rows_sql)
        finally:
            engine.stop()


def measure_delays(cfg, results, pipeline_once, sink, endpos, changes):
    """The insert workload through pg2es into the counting sink answering
    after each of DELAYS_MS; results["delay"][lane label][ms] = run."""
    lanes = lanes_option(cfg.forwarder)
    plans = [("pg2es, 1 lane", ["--lanes", "1"]),
             ("pg2es, default lanes (%s)" % lanes, [])] if lanes \
        else [("pg2es (1 request in flight)", [])]
    out = results.setdefault("delay", {})
    delays = DELAYS_MS[:2] if cfg.smoke else DELAYS_MS
    for ms in delays:
        sink.set_delay(ms)
        for label, extra in plans:
            # the run of median wall time of cfg.repeat, with every wall
            runs = [pipeline_once(label, extra) for _ in range(cfg.repeat)]
            good = sorted((r for r in runs if "error" not in r), key=lambda r: r["wall"])
            res = dict(good[len(good) // 2]) if good else runs[0]
            res["walls"] = [r.get("wall") for r in runs]
            out.setdefault(label, {})[str(ms)] = res
            log("delay %3d ms %-28s: %s" % (ms, label, res.get("error") or "%.0f rows/s" % (
                changes / res["wall"])))
    sink.set_delay(0)
