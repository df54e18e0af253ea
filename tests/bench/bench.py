#!/usr/bin/python3
"""bench.py: pg2es measured side by side with the alternatives.

Run by tests/bench/run.sh (read it for the settings); writes the raw
figures to --out/results.json, which report.py turns into report.md and
the plots.  Runs as an unprivileged user: it
starts its own throwaway cluster in --work.

How the figures are taken (the report repeats this):
* Decoding: before each workload one base slot is created; after it, for
  every plugin and repetition the base slot is copied
  (pg_copy_logical_replication_slot, with the plugin) and the copy is
  decoded by pg_recvlogical --endpos to /dev/null, so every plugin decodes
  exactly the same WAL.  Server CPU is the walsender's utime+stime: the
  postmaster's cumulative children times (/proc/<postmaster>/stat fields
  cutime+cstime) grow by exactly the CPU of each backend it reaps, and the
  walsender is the only backend that exits during the window (autovacuum
  is off, no other session is open; the window opens and closes only when
  no backend is left).  The walsender's own /proc/<pid>/stat, sampled while
  it runs, is logged beside it as a cross-check.
* Client processes are children of this script: their CPU and peak RSS come
  from wait4() (ru_maxrss is the kernel's hiwater RSS, the VmHWM of
  /proc/<pid>/status at exit).
* Every figure is the median of BENCH_REPEAT runs.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import chain
import realengine

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PORTS = range(55700, 55800)


def log(msg):
    """Progress on stderr, with the time."""
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc


def proc_stat(pid):
    """The fields of /proc/<pid>/stat from field 3 (state) on, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def proc_cpu(pid):
    """utime+stime of a live process in seconds, or None when it is gone."""
    fields = proc_stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_children_cpu(pid):
    """cutime+cstime (CPU of the reaped children) of a process, in seconds."""
    fields = proc_stat(pid)
    return (int(fields[13]) + int(fields[14])) / CLK_TCK


def children_of(ppid):
    """The pids whose parent is ppid (from the kernel's children list when it
    has one: scanning all of /proc costs milliseconds on a busy machine)."""
    try:
        with open("/proc/%d/task/%d/children" % (ppid, ppid)) as f:
            return {int(pid) for pid in f.read().split()}
    except OSError:
        pass
    pids = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = proc_stat(int(name))
            if fields is not None and int(fields[1]) == ppid:
                pids.add(int(name))
    return pids


def cmdline(pid):
    """The command line of a process as one string ('' when gone)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def free_port(taken):
    """A TCP port of the bench's range that nothing listens on."""
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    sys.exit("bench: no free port in %d-%d" % (PORTS[0], PORTS[-1]))


def wait4_all(procs):
    """Waits for every Popen in procs; returns {name: (status, cpu s, maxrss kB)}."""
    done = {}
    for name, p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        done[name] = (p.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)
    return done


def http_json(url, data=None, method=None, timeout=10):
    """GET (or POST data to) url and decode the JSON answer."""
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"null")


def wait_port_file(path, proc, timeout=30):
    """The port a server wrote to path, or None if it died or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            with open(path) as f:
                text = f.read().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------- cluster


class Cluster:
    """A throwaway PostgreSQL cluster owned by the current user."""

    def __init__(self, work, ports):
        self.dir = os.path.join(work, "pg")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port(ports)
        self.bindir = subprocess.check_output(["pg_config", "--bindir"], text=True).strip()
        self.pm_pid = None
        self.aux = set()

    def bin(self, name):
        """The path of one of the server's programs."""
        return os.path.join(self.bindir, name)

    def start(self):
        """initdb, configure for logical decoding, start; records the
        postmaster's long-lived children (the auxiliary processes)."""
        os.makedirs(self.dir)
        subprocess.run([self.bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale=C", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL)
        conf = [
            # 127.0.0.1 too for Debezium's JDBC connection (chain.py)
            "wal_level = logical", "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = '%s'" % self.dir, "port = %d" % self.port,
            "max_replication_slots = 20", "max_wal_senders = 10",
            "max_wal_size = 4GB", "checkpoint_timeout = 30min",
            # Off so that no backend but the measured ones exits during a
            # window (see the module comment); the workloads vacuum nothing.
            "autovacuum = off",
            "track_commit_timestamp = off", "log_min_messages = warning",
            "wal_sender_timeout = 300s",
        ]
        describe = subprocess.run([self.bin("postgres"), "--describe-config"],
                                  capture_output=True, text=True).stdout
        if any(line.startswith("output_plugin_libraries\t") for line in describe.splitlines()):
            conf.append("output_plugin_libraries = "
                        "'pgoutput, test_decoding, pg2es, wal2json, decoderbufs'")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n".join(conf) + "\n")
        subprocess.run([self.bin("pg_ctl"), "-D", self.data, "-l",
                        os.path.join(self.dir, "postgres.log"), "-w", "start"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pm_pid = int(f.readline())
        time.sleep(1)
        self.aux = children_of(self.pm_pid)

    def stop(self):
        """Stops the cluster (fast mode)."""
        subprocess.run([self.bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def conn_args(self):
        """libpq connection options for the bench database, as client arguments."""
        return ["-h", self.dir, "-p", str(self.port), "-U", "postgres", "-d", "postgres"]

    def conninfo(self):
        """The same as a libpq connection string (for the forwarder)."""
        return "host=%s port=%d user=postgres dbname=postgres" % (self.dir, self.port)

    def psql(self, sql, check=True):
        """Runs sql (a string, or a list run one after the other) in a new
        session; returns its unaligned output."""
        commands = []
        for command in [sql] if isinstance(sql, str) else sql:
            commands += ["-c", command]
        res = subprocess.run([self.bin("psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
                             + self.conn_args() + commands,
                             capture_output=True, text=True)
        if check and res.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (str(sql)[:200], res.stderr))
        return res.stdout.strip() if res.returncode == 0 else None

    def crashed(self):
        """True when the server is not accepting sessions (a backend crashed
        and the postmaster is reinitializing)."""
        res = subprocess.run([self.bin("psql"), "-X", "-At"] + self.conn_args()
                             + ["-c", "SELECT 1"], capture_output=True, text=True)
        return res.returncode != 0

    def recover(self, timeout=120):
        """After a crash: waits until the server accepts sessions again and
        re-reads its auxiliary processes (they are new ones)."""
        deadline = time.monotonic() + timeout
        while self.crashed():
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not recover from a crash")
            time.sleep(0.5)
        time.sleep(1)
        self.aux = children_of(self.pm_pid)
        log("the server crashed and recovered (see %s/postgres.log)" % self.dir)

    def quiesce(self, timeout=60):
        """Waits until the postmaster has reaped every backend."""
        deadline = time.monotonic() + timeout
        while children_of(self.pm_pid) - self.aux:
            if time.monotonic() > deadline:
                raise RuntimeError("backends still running: %s" % (
                    [cmdline(p) for p in children_of(self.pm_pid) - self.aux]))
            time.sleep(0.02)

    def server_cpu_begin(self):
        """Opens a measuring window; returns its start mark."""
        self.quiesce()
        return proc_children_cpu(self.pm_pid)

    def server_cpu_end(self, mark):
        """CPU seconds of all backends that exited since mark."""
        self.quiesce()
        return proc_children_cpu(self.pm_pid) - mark


class WalsenderSampler(threading.Thread):
    """Samples the CPU of the cluster's walsender(s) every 100 ms, for the
    cross-check of the reaped figure; .last holds the final sum seen."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop = threading.Event()
        self.seen = {}

    def run(self):
        pids = set()
        while not self.stop.is_set():
            if not pids:
                pids = {pid for pid in children_of(self.cluster.pm_pid) - self.cluster.aux
                        if "walsender" in cmdline(pid)}
            for pid in list(pids):
                cpu = proc_cpu(pid)
                if cpu is None:
                    pids.discard(pid)
                else:
                    self.seen[pid] = cpu
            self.stop.wait(0.1)

    def total(self):
        """Stops sampling; the sum of the last values seen."""
        self.stop.set()
        self.join()
        return sum(self.seen.values())


# ---------------------------------------------------------------- workloads

# The bench table's rows, keys first..last (SQL expressions): about 500
# bytes each, every type family the issue names.
ROWS_SQL = """SELECT g, 'name-' || g, repeat(md5(g::text), 10), (g % 100000) / 100.0,
  (g % 1000)::int, g % 2 = 0,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
  ARRAY['tag' || g % 10, 'tag' || g % 7, 'common'],
  jsonb_build_object('k', g, 'color', 'c' || g % 5,
                     'nested', jsonb_build_object('a', g % 3, 'b', true))
FROM generate_series(FIRST, LAST) g"""


def rows_sql(first, last):
    """The SELECT producing bench rows with keys first..last."""
    return ROWS_SQL.replace("FIRST", str(first)).replace("LAST", str(last))


SETUP_SQL = """
CREATE TABLE bench (id bigint PRIMARY KEY, name text, body text, price numeric(12,2),
  qty int, active bool, created timestamptz, tags text[], attrs jsonb);
CREATE TABLE bench_lat (id bigserial PRIMARY KEY, ts_us bigint NOT NULL, note text);
CREATE PUBLICATION bench_pub FOR TABLE bench, bench_lat;
"""

SMALL_TX_ROWS = 10

WORKLOADS = [
    ("insert", "one INSERT transaction of N rows"),
    ("small", "N/%d transactions of %d rows each" % (SMALL_TX_ROWS, SMALL_TX_ROWS)),
    ("update_delete", "UPDATE of every row (one transaction), then DELETE of every row "
                      "(one transaction): 2N changes"),
]


def prepare_workload(cl, kind, nrows):
    """Runs one workload after creating the base slot; returns (endpos,
    number of row changes).  Workload sessions commit asynchronously (the
    WAL is the same); a CHECKPOINT then makes sure it is all flushed.

    endpos is the end of the workload's last commit record (the lsn that
    the SQL interface shows for the last COMMIT), not the current WAL end:
    a client that stops once it has confirmed endpos (the forwarder) would
    otherwise wait for a keepalive reporting WAL beyond the last commit,
    which the walsender may send only after seconds."""
    cl.psql("TRUNCATE bench")
    cl.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots")
    if kind == "update_delete":
        cl.psql("INSERT INTO bench " + rows_sql(1, nrows))
    cl.psql("CHECKPOINT")
    cl.psql("SELECT 1 FROM pg_create_logical_replication_slot('bench_base', 'test_decoding')")
    async_commit = "SET synchronous_commit = off"
    if kind == "insert":
        cl.psql([async_commit, "INSERT INTO bench " + rows_sql(1, nrows)])
        changes = nrows
    elif kind == "small":
        ntx = max(1, nrows // SMALL_TX_ROWS)
        rows = rows_sql("i * %d + 1" % SMALL_TX_ROWS, "(i + 1) * %d" % SMALL_TX_ROWS)
        cl.psql([async_commit, "DO $$ BEGIN FOR i IN 0..%d LOOP INSERT INTO bench %s; "
                 "COMMIT; END LOOP; END $$" % (ntx - 1, rows)])
        changes = ntx * SMALL_TX_ROWS
    else:
        cl.psql([async_commit, "UPDATE bench SET qty = qty + 1, price = price + 1"])
        cl.psql([async_commit, "DELETE FROM bench"])
        changes = 2 * nrows
    cl.psql("CHECKPOINT")
    endpos = cl.psql("SELECT max(lsn) FROM pg_logical_slot_peek_changes('bench_base', NULL, NULL)")
    return endpos, changes


# ---------------------------------------------------------------- decoding

# name, plugin, options (as -o name=value), binary output (SQL interface)
PLUGINS = [
    ("pg2es", "pg2es", [], False),
    ("pg2es framed", "pg2es", ["framing=msgpack"], True),
    ("test_decoding", "test_decoding", [], False),
    ("wal2json v1", "wal2json", ["format-version=1"], False),
    ("wal2json v2", "wal2json", ["format-version=2"], False),
    ("decoderbufs", "decoderbufs", [], True),
    ("pgoutput", "pgoutput", ["proto_version=1", "publication_names=bench_pub"], True),
]
PG2ES_ROWS = ("pg2es", "pg2es framed")


def copy_slot(cl, slot, plugin):
    """A copy of the base slot decoding with plugin, named slot."""
    cl.psql("SELECT 1 FROM pg_copy_logical_replication_slot('bench_base', '%s', false, '%s')"
            % (slot, plugin))


def drop_slot(cl, slot):
    """Drops slot (inactive by then: its walsender has been reaped)."""
    cl.psql("SELECT pg_drop_replication_slot('%s')" % slot)


def recvlogical_args(cl, slot, options, endpos):
    """pg_recvlogical streaming slot to stdout, up to endpos if given."""
    args = [cl.bin("pg_recvlogical")] + cl.conn_args() + ["-S", slot, "--start", "--no-loop",
                                                           "-f", "-"]
    if endpos:
        args += ["-E", endpos]
    for opt in options:
        args += ["-o", opt]
    return args


def decode_once(cl, plugin, options, endpos):
    """Streams a copy of the base slot through pg_recvlogical to /dev/null;
    returns {wall, cpu, sampled, spill_mb} or {error}."""
    slot = "bench_run"
    copy_slot(cl, slot, plugin)
    mark = cl.server_cpu_begin()
    sampler = WalsenderSampler(cl)
    sampler.start()
    start = time.monotonic()
    proc = subprocess.Popen(recvlogical_args(cl, slot, options, endpos),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace")
    status = wait4_all([("recv", proc)])["recv"][0]
    wall = time.monotonic() - start
    sampled = sampler.total()
    if status != 0:
        return run_failed(cl, slot, "pg_recvlogical exited %d: %s"
                          % (status, err.strip()[-300:]))
    cpu = cl.server_cpu_end(mark)
    spill = cl.psql("SELECT spill_bytes FROM pg_stat_replication_slots WHERE slot_name = '%s'"
                    % slot)
    drop_slot(cl, slot)
    return {"wall": wall, "cpu": cpu, "sampled": sampled,
            "spill_mb": int(spill) / 1e6 if spill else 0.0}


# The selective row filter: 1 row in 20 passes, on the key (PostgreSQL
# allows a filter of a publication that publishes update and delete only on
# replica identity columns).  Created before the workload's WAL, since both
# plugins read the publication as of each decoded change.
FILTER_SQL = """DROP PUBLICATION IF EXISTS bench_filter_pub;
CREATE PUBLICATION bench_filter_pub FOR TABLE bench WHERE (id %% %d = 0)"""
FILTER_EVERY = 20

# name, plugin, options: the filter and, beside it, the same table unfiltered
FILTER_PLUGINS = [
    ("pg2es filtered", "pg2es", ["framing=msgpack", "publications=bench_filter_pub"]),
    ("pgoutput filtered", "pgoutput", ["proto_version=1", "publication_names=bench_filter_pub"]),
    ("pg2es unfiltered", "pg2es", ["framing=msgpack", "publications=bench_pub"]),
    ("pgoutput unfiltered", "pgoutput", ["proto_version=1", "publication_names=bench_pub"]),
]


def measure_filter(cfg, cl, results):
    """The insert workload decoded through a selective row filter by pg2es
    (-o publications, framed as the forwarder reads it) and by pgoutput for
    the same publication, beside both unfiltered, cfg.repeat times
    interleaved; CPU per row is per row of the table, passed or not."""
    cl.psql(FILTER_SQL % FILTER_EVERY)
    endpos, changes = prepare_workload(cl, "insert", cfg.rows)
    out = results["filter"]
    out["changes"], out["every"] = changes, FILTER_EVERY
    for rep in range(cfg.repeat):
        for name, plugin, options in FILTER_PLUGINS:
            if plugin == "pg2es" and "pg2es" in results["unavailable"]:
                continue
            res = decode_once(cl, plugin, options, endpos)
            out.setdefault("runs", {}).setdefault(name, []).append(res)
            log("filter %-20s run %d: %s" % (name, rep + 1, brief(res, changes)))
    cl.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots")
    cl.psql("TRUNCATE bench")


def run_failed(cl, slot, error):
    """Cleans up after a failed run (recovering the server if the failure
    was a crash) and returns the run's {error}."""
    if cl.crashed():
        cl.recover()
        error += " (the server crashed)"
    else:
        cl.quiesce()
    cl.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = '%s'" % slot)
    return {"error": error}


def sql_decode_once(cl, plugin, options, binary):
    """Decodes a copy of the base slot with pg_logical_slot_peek_changes;
    returns {wall, cpu, out_mb}: the backend's CPU (reaped as above) and
    the plugin's output size."""
    slot = "bench_run"
    copy_slot(cl, slot, plugin)
    func = "pg_logical_slot_peek_binary_changes" if binary else "pg_logical_slot_peek_changes"
    args = "".join(", '%s', '%s'" % tuple(o.split("=", 1)) for o in options)
    mark = cl.server_cpu_begin()
    start = time.monotonic()
    out = cl.psql("SELECT coalesce(sum(octet_length(data)), 0) FROM %s('%s', NULL, NULL%s)"
                  % (func, slot, args), check=False)
    wall = time.monotonic() - start
    if out is None:
        return run_failed(cl, slot, "the SQL interface failed")
    cpu = cl.server_cpu_end(mark)
    drop_slot(cl, slot)
    return {"wall": wall, "cpu": cpu, "out_mb": int(out) / 1e6}


def probe_pg2es(cl):
    """None when the pg2es plugin decodes (plain and framed), else why not."""
    libdir = subprocess.check_output(["pg_config", "--pkglibdir"], text=True).strip()
    if not os.path.exists(os.path.join(libdir, "pg2es.so")):
        return "plugin not built (no pg2es.so in %s)" % libdir
    try:
        cl.psql("SELECT 1 FROM pg_create_logical_replication_slot('pg2es_probe', 'pg2es')")
        try:
            cl.psql("INSERT INTO bench " + rows_sql(1, 2))
            cl.psql("SELECT count(*) FROM pg_logical_slot_peek_changes('pg2es_probe', NULL, NULL)")
            cl.psql("SELECT count(*) FROM pg_logical_slot_peek_binary_changes('pg2es_probe', "
                    "NULL, NULL, 'framing', 'msgpack')")
        finally:
            cl.psql("TRUNCATE bench")
            drop_slot(cl, "pg2es_probe")
    except RuntimeError as e:
        return "plugin does not work yet: %s" % str(e).strip().splitlines()[-1][:200]
    return None


# ---------------------------------------------------------------- sinks


class Sink:
    """A _bulk endpoint the pipelines post to.  kind: "nginx" (fixed
    answer), "counting" (sink.py, or the emulator with --counting-only when
    wanted) or "emulator" (the full emulator, which stores documents)."""

    def __init__(self, kind, work, ports, script=None, args=()):
        self.kind = kind
        self.base = 0
        self.resettable = script is not None and script.endswith("sink.py")
        self.dir = os.path.join(work, "sink-" + kind)
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(os.path.join(self.dir, "log"), "w")
        if kind == "nginx":
            self.port = free_port(ports)
            with open(os.path.join(BENCH_DIR, "nginx.conf.in")) as f:
                conf = f.read().replace("@DIR@", self.dir).replace("@PORT@", str(self.port))
            path = os.path.join(self.dir, "nginx.conf")
            with open(path, "w") as f:
                f.write(conf)
            self.proc = subprocess.Popen(
                [shutil.which("nginx") or "/usr/sbin/nginx", "-p", self.dir, "-c", path,
                 "-e", os.path.join(self.dir, "nginx-error.log")],
                stdout=self.log, stderr=subprocess.STDOUT)
            self._wait_listening()
            self.workers = children_of(self.proc.pid)
        else:
            portfile = os.path.join(self.dir, "port")
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", script, "--port", "0", "--port-file", portfile] + list(args),
                stdout=self.log, stderr=subprocess.STDOUT)
            self.port = wait_port_file(portfile, self.proc)
            if self.port is None:
                raise RuntimeError("%s did not start (see %s)" % (script, self.log.name))
            self.workers = {self.proc.pid}
        self.url = "http://127.0.0.1:%d" % self.port
        self.label = kind

    def _wait_listening(self):
        """Waits until nginx accepts connections."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx did not start (see %s)" % self.log.name)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen")

    def cpu(self):
        """CPU seconds used so far by the sink's serving processes."""
        return sum(proc_cpu(pid) or 0.0 for pid in self.workers)

    def items(self):
        """Bulk items counted since the last reset(), or None when the sink
        cannot count."""
        if self.kind == "nginx":
            return None
        return http_json(self.url + "/_emulator/stats").get("items") - self.base

    def latencies(self):
        """The latency samples (ms) of sink.py since the last reset()."""
        return http_json(self.url + "/_bench/latencies")

    def bulk_progress(self):
        """sink.py's items since the last reset(), and when it answered its
        first and its latest _bulk request (time.monotonic() values, the
        same clock as ours; None before any), read together."""
        stats = http_json(self.url + "/_emulator/stats")
        return stats["items"] - self.base, stats.get("first_bulk"), stats.get("last_bulk")

    def set_delay(self, ms):
        """sink.py holds every _bulk answer ms milliseconds from now on."""
        http_json(self.url + "/_bench/delay?ms=%d" % ms, data=b"", method="POST")

    def reset(self, latency=False):
        """Zeroes the counters: sink.py drops its samples (and takes new
        ones only when latency is true); a sink that cannot be reset (the
        emulator) gets a new base count."""
        if self.kind == "nginx":
            return
        self.base = 0
        if self.resettable:
            http_json(self.url + "/_bench/reset" + ("?latency=1" if latency else ""),
                      data=b"", method="POST")
        else:
            self.base = self.items()

    def stop(self):
        """Stops the sink."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if self.kind == "nginx" else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------- pipelines

# Pipelines: name -> (transform, raw).  The classic pipelines read wal2json
# format-version 2 (one message per change, what a streaming CDC consumer
# reads; version 1 builds a whole transaction into one message) with the
# primary key names for _id.  "typed" transforms convert values so that the
# documents equal pg2es's (jsonb nested, arrays, ISO timestamps) and need
# wal2json's types; "raw" ones copy wal2json's values as they are (the
# cheapest consumer, and what the calibration figures match).
PIPELINES = {
    "pg2es forwarder": None,
    "wal2json v2 + Node.js": ("node", False),
    "wal2json v2 + Node.js (raw)": ("node", True),
    "wal2json v2 + Python": ("python", False),
    "wal2json v2 + Python (raw)": ("python", True),
    "wal2json v2 + jq": ("jq", False),
    "wal2json v2 + jq (raw)": ("jq", True),
}
ANCHOR = "wal2json v2 + Node.js"
# Into the full emulator (slow: it stores every document) only these run.
EMULATOR_PIPELINES = ("pg2es forwarder", ANCHOR)


def wal2json_pipe_options(raw):
    """wal2json options of the classic pipelines (types only when converted)."""
    return ["format-version=2", "include-pk=1"] + (["include-types=0"] if raw else [])


def forwarder_args(cfg, cl, slot, url, endpos=None, extra=()):
    """The forwarder's command line for slot, posting to url."""
    args = [cfg.forwarder, "-d", cl.conninfo(), "-S", slot, "--es-url", url]
    if endpos:
        args += ["--endpos", endpos]
    return args + list(extra)


def start_pipeline(cfg, cl, system, slot, url, logdir, endpos=None, extra=()):
    """Starts one pipeline (extra: more forwarder arguments); returns
    [(name, Popen)] in data-flow order."""
    env = dict(os.environ, SHELL="/bin/sh")
    errlog = open(os.path.join(logdir, "pipeline.log"), "a")
    if system == "pg2es forwarder":
        return [("forwarder", subprocess.Popen(forwarder_args(cfg, cl, slot, url, endpos, extra),
                                               stdout=errlog, stderr=errlog))]
    transform, raw = PIPELINES[system]
    flag = ["--raw"] if raw else []
    recv = subprocess.Popen(recvlogical_args(cl, slot, wal2json_pipe_options(raw), endpos),
                            stdout=subprocess.PIPE, stderr=errlog)
    procs = [("pg_recvlogical", recv)]
    if transform == "node":
        procs.append(("node", subprocess.Popen(
            ["node", os.path.join(BENCH_DIR, "transform.js")] + flag + [url],
            stdin=recv.stdout, stderr=errlog)))
    elif transform == "python":
        procs.append(("python", subprocess.Popen(
            ["/usr/bin/python3", os.path.join(BENCH_DIR, "transform.py")] + flag + [url],
            stdin=recv.stdout, stderr=errlog)))
    else:
        jq = subprocess.Popen(["jq", "-r", "--argjson", "raw", "true" if raw else "false",
                               "-f", os.path.join(BENCH_DIR, "transform.jq")],
                              stdin=recv.stdout, stdout=subprocess.PIPE, stderr=errlog)
        post = ("curl -sS --fail -o /dev/null -H 'Content-Type: application/x-ndjson' "
                "--data-binary @- %s/_bulk" % url)
        split = subprocess.Popen(["split", "--lines=2000", "--filter=" + post, "-"],
                                 stdin=jq.stdout, stderr=errlog, env=env)
        jq.stdout.close()
        procs += [("jq", jq), ("split+curl", split)]
    recv.stdout.close()
    errlog.close()
    return procs


class Watchdog:
    """Kills the given processes if they are still running after timeout s."""

    def __init__(self, procs, timeout):
        self.procs = procs
        self.fired = False
        self.timer = threading.Timer(timeout, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self):
        self.fired = True
        for _, p in self.procs:
            try:
                p.kill()
            except OSError:
                pass

    def cancel(self):
        """Disarms the watchdog."""
        self.timer.cancel()


def pipeline_once(cfg, cl, system, sink, endpos, nchanges, timeout=None, extra=()):
    """Runs one pipeline over a copy of the base slot up to endpos into
    sink, killing it after timeout s (default cfg.pipeline_timeout).
    Returns {wall, server, clients{name: cpu}, rss_kb, sink_cpu, items} or
    {error}."""
    slot = "bench_pipe"
    copy_slot(cl, slot, "pg2es" if system == "pg2es forwarder" else "wal2json")
    items0 = sink.items()
    sink_cpu0 = sink.cpu()
    logdir = os.path.join(cfg.work, "logs")
    mark = cl.server_cpu_begin()
    start = time.monotonic()
    procs = start_pipeline(cfg, cl, system, slot, sink.url, logdir, endpos, extra)
    dog = Watchdog(procs, timeout or cfg.pipeline_timeout)
    done = wait4_all(procs)
    wall = time.monotonic() - start
    dog.cancel()
    failed = [n for n, (status, _, _) in done.items() if status != 0]
    if dog.fired or failed:
        return run_failed(cl, slot, "%s%s (log: %s/pipeline.log)" % (
            "timed out; " if dog.fired else "", "failed: " + ", ".join(failed), logdir))
    server = cl.server_cpu_end(mark)
    sink_cpu = sink.cpu() - sink_cpu0
    items = sink.items()
    drop_slot(cl, slot)
    result = {"wall": wall, "server": server,
              "clients": {n: cpu for n, (_, cpu, _) in done.items()},
              "rss_kb": max(rss for (_, _, rss) in done.values()),
              "sink_cpu": sink_cpu,
              "items": None if items is None else items - items0}
    if result["items"] is not None and result["items"] != nchanges:
        result["error"] = "sink counted %d items, expected %d" % (result["items"], nchanges)
    return result


# ---------------------------------------------------------------- latency

LATENCY_INSERT = ("INSERT INTO bench_lat (ts_us, note) VALUES "
                  "((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 'latency probe');\n")


def percentile(values, q):
    """The q-quantile (0..1) of values by the nearest-rank rule."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


def paced_writes(cl, rate, seconds):
    """Inserts rate*seconds rows into bench_lat, one autocommit transaction
    each (synchronous_commit on), paced evenly; returns (rows, achieved tx/s)."""
    writer = subprocess.Popen([cl.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
                              + cl.conn_args(), stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True)
    count = int(rate * seconds)
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        writer.stdin.write(LATENCY_INSERT)
        writer.stdin.flush()
    writer.stdin.close()
    if writer.wait() != 0:
        raise RuntimeError("latency writer failed")
    return count, count / (time.monotonic() - start)


# Latency runs: label -> (pipeline, extra forwarder arguments).  The
# forwarder runs with its defaults (linger 100 ms) and with the Node.js
# transform's 10 ms linger, so that batching policy and pipeline cost can
# be told apart.
LATENCY_RUNS = {
    "pg2es forwarder": ("pg2es forwarder", []),
    "pg2es forwarder, --bulk-linger-ms 10": ("pg2es forwarder", ["--bulk-linger-ms", "10"]),
    ANCHOR: (ANCHOR, []),
}


def latency_run(cfg, cl, system, sink, extra=()):
    """Commit-to-acknowledged latency of one pipeline at a steady rate:
    each row carries its insert time (clock_timestamp(), taken just before
    its commit) in ts_us; the sink takes the time it answers the _bulk
    request holding the row.  Returns {p50, p99, max, samples, rate} or
    {error}."""
    slot = "bench_lat"
    plugin = "pg2es" if system == "pg2es forwarder" else "wal2json"
    cl.psql("SELECT 1 FROM pg_create_logical_replication_slot('%s', '%s')" % (slot, plugin))
    sink.reset(latency=True)
    procs = start_pipeline(cfg, cl, system, slot, sink.url, os.path.join(cfg.work, "logs"),
                           extra=extra)
    try:
        time.sleep(1)
        count, rate = paced_writes(cl, cfg.lat_rate, cfg.lat_seconds)
        deadline = time.monotonic() + 30
        while sink.items() < count and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        # SIGINT ends pg_recvlogical cleanly (its consumer then sees EOF);
        # SIGTERM is the forwarder's clean stop.
        first = procs[0][1]
        first.send_signal(signal.SIGTERM if system == "pg2es forwarder" else signal.SIGINT)
        dog = Watchdog(procs, 30)
        wait4_all(procs)
        dog.cancel()
        cl.quiesce()
        drop_slot(cl, slot)
    samples = sink.latencies()
    if len(samples) < count:
        return {"error": "the sink saw %d of %d rows" % (len(samples), count)}
    return {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99),
            "max": max(samples), "samples": len(samples), "rate": rate}


# ---------------------------------------------------------------- initial load


def copy_once(cl, nrows):
    """Plain COPY bench TO STDOUT into /dev/null: {wall, server, client}."""
    mark = cl.server_cpu_begin()
    start = time.monotonic()
    proc = subprocess.Popen([cl.bin("psql"), "-X", "-q"] + cl.conn_args()
                            + ["-c", "COPY bench TO STDOUT"], stdout=subprocess.DEVNULL)
    status, cpu, _ = wait4_all([("psql", proc)])["psql"]
    wall = time.monotonic() - start
    server = cl.server_cpu_end(mark)
    if status != 0:
        return {"error": "psql COPY failed"}
    return {"wall": wall, "server": server, "client": cpu}


def load_once(cfg, cl, sink, nrows, jobs):
    """pg2es's initial load of the bench table (the forwarder creating its
    slot), into the counting sink: the time from the forwarder's start
    until the sink answered the request that completed nrows items, and
    until it answered the first (start-up: connections, slot and snapshot,
    index creation).  Both ends come from the sink's own clock readings
    (the same monotonic clock), so polling it every 50 ms only decides
    when we notice the end, not the figure.  jobs=None = the forwarder's
    default parallelism."""
    slot = "bench_load"
    cl.psql("DO $$ BEGIN IF to_regclass('pg2es.load_state') IS NOT NULL THEN "
            "EXECUTE 'TRUNCATE pg2es.load_state'; END IF; END $$")
    sink.reset()
    extra = ["--create-slot"] + ([] if jobs is None else ["--load-jobs", str(jobs)])
    logpath = os.path.join(cfg.work, "logs", "pipeline.log")
    sink_cpu = sink.cpu()
    mark = cl.server_cpu_begin()
    start = time.monotonic()
    with open(logpath, "a") as errlog:
        proc = subprocess.Popen(forwarder_args(cfg, cl, slot, sink.url, extra=extra),
                                stdout=errlog, stderr=errlog)
    deadline = start + cfg.load_timeout
    seen, first, last = 0, None, None
    while proc.poll() is None and time.monotonic() < deadline:
        seen, first, last = sink.bulk_progress()
        if seen >= nrows:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    dog = Watchdog([("forwarder", proc)], 30)
    status, cpu, rss = wait4_all([("forwarder", proc)])["forwarder"]
    dog.cancel()
    server = cl.server_cpu_end(mark)
    if cl.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '%s'" % slot) != "0":
        drop_slot(cl, slot)
    if seen < nrows:
        return {"error": "the sink counted %d of %d rows (forwarder status %s, log %s)"
                % (seen, nrows, status, logpath)}
    return {"wall": last - start, "first": first - start, "server": server, "client": cpu,
            "rss_kb": rss, "sink_cpu": sink.cpu() - sink_cpu}


# ---------------------------------------------------------------- main


def measure_decoding(cfg, cl, results, kind, endpos, changes):
    """Every available plugin decodes the workload's WAL, cfg.repeat times
    (plugins interleaved, so drift on a shared machine hits all alike)."""
    runs = results["decode"].setdefault(kind, {})
    for rep in range(cfg.repeat):
        for name, plugin, options, _ in PLUGINS:
            if name in results["unavailable"]:
                continue
            res = decode_once(cl, plugin, options, endpos)
            runs.setdefault(name, []).append(res)
            log("decode %-13s %-14s run %d: %s" % (kind, name, rep + 1, brief(res, changes)))


def measure_sql_interface(cfg, cl, results, changes):
    """The same decoding through pg_logical_slot_peek_*changes()."""
    for rep in range(cfg.repeat):
        for name, plugin, options, binary in PLUGINS:
            if name in results["unavailable"]:
                continue
            res = sql_decode_once(cl, plugin, options, binary)
            results["sql"].setdefault(name, []).append(res)
            log("sql    %-14s run %d: %s" % (name, rep + 1, brief(res, changes)))


def brief(res, changes):
    """One log line's worth of a run."""
    if "error" in res:
        return "ERROR " + res["error"]
    cpu = res.get("cpu", res.get("server", 0.0) + sum(res.get("clients", {}).values()))
    return "%.2f s wall, %.0f rows/s, %.2f CPU s/M rows" % (
        res["wall"], changes / res["wall"], cpu * 1e6 / changes)


def measure_pipelines(cfg, cl, results, sinks, endpos, changes):
    """Each pipeline into the null sink cfg.repeat times, then once into
    the full emulator."""
    plan = [(sinks["null"], cfg.repeat, list(PIPELINES))]
    if "emulator" in sinks:
        plan.append((sinks["emulator"], 1, EMULATOR_PIPELINES))
    for sink, repeat, systems in plan:
        runs = results["pipeline"].setdefault(sink.label, {})
        for rep in range(repeat):
            for system in systems:
                if system in results["unavailable"]:
                    continue
                res = pipeline_once(cfg, cl, system, sink, endpos, changes)
                runs.setdefault(system, []).append(res)
                log("pipe   %-22s -> %s run %d: %s" % (system, sink.label, rep + 1,
                                                     brief(res, changes)))


def choose_null_sink(cfg, cl, results, sinks, endpos, changes):
    """nginx's fixed answer is the null sink unless the forwarder refuses it
    (its items list is empty); then the counting sink is used for every
    pipeline, so that all of them post to the same endpoint."""
    sinks["null"] = sinks["nginx"]
    if "pg2es forwarder" in results["unavailable"]:
        return
    res = pipeline_once(cfg, cl, "pg2es forwarder", sinks["nginx"], endpos, changes,
                        timeout=5 if cfg.smoke else 20)
    if "error" in res:
        sinks["null"] = sinks["counting"]
        with open(os.path.join(cfg.work, "logs", "pipeline.log")) as f:
            said = [line.strip() for line in f if "items for" in line or "unusable" in line]
        results["notes"].append(
            "The forwarder refused nginx's fixed answer (`%s`), so the null sink for every "
            "pipeline is the counting sink (%s)."
            % (said[-1] if said else res["error"], sinks["counting"].label))
    results["null_sink"] = sinks["null"].label


def measure_latency(cfg, cl, results, sinks):
    """Latency of each LATENCY_RUNS entry into the counting sink."""
    for label, (system, extra) in LATENCY_RUNS.items():
        if system in results["unavailable"]:
            continue
        res = latency_run(cfg, cl, system, sinks["counting"], extra)
        results["latency"][label] = res
        log("latency %-22s: %s" % (label, res))


def measure_load(cfg, cl, results, sinks, nrows):
    """COPY and pg2es's initial load of nrows rows, interleaved."""
    cl.psql("TRUNCATE bench")
    cl.psql("INSERT INTO bench " + rows_sql(1, nrows))
    cl.psql(["VACUUM ANALYZE bench", "CHECKPOINT"])
    load = results["load"]
    for rep in range(cfg.repeat):
        res = copy_once(cl, nrows)
        load.setdefault("COPY bench TO STDOUT", []).append(res)
        log("load   COPY run %d: %s" % (rep + 1, res))
        if "pg2es forwarder" in results["unavailable"]:
            continue
        for label, jobs in (("pg2es initial load", None), ("pg2es initial load, 1 job", 1)):
            res = load_once(cfg, cl, sinks["counting"], nrows, jobs)
            load.setdefault(label, []).append(res)
            log("load   %s run %d: %s" % (label, rep + 1, res))


def measure_delays(cfg, cl, results, sinks, endpos, changes):
    """The insert workload through pg2es into the counting sink holding
    each answer 0, 20, 100 and 300 ms (realengine.measure_delays)."""
    if "pg2es forwarder" in results["unavailable"]:
        return
    sink = sinks["counting"]

    def once(label, extra):
        return pipeline_once(cfg, cl, "pg2es forwarder", sink, endpos, changes, extra=extra)
    realengine.measure_delays(cfg, results, once, sink, endpos, changes)


def measure_real_engines(cfg, cl, results):
    """Every pipeline against real OpenSearch clusters, the chain among
    them when it is built (realengine.py, chain.py)."""
    if cfg.chain:
        problem = chain.available()
        if problem:
            results["unavailable"][chain.LABEL] = problem
            cfg.chain = False
    results["settings"].update(engine_rows=cfg.engine_rows, engine_rate=cfg.engine_rate,
                               engine_nodes=cfg.engine_nodes)
    realengine.measure_engines(cfg, cl, results, rows_sql)


def start_sinks(cfg, ports):
    """nginx (the null sink), sink.py (the counting sink, which also takes
    the latency samples) and the full emulator when it is present.  The
    emulator's --counting-only mode is not used: it parses every action
    line as JSON and capped the faster pipelines at its own speed."""
    sinks = {"nginx": Sink("nginx", cfg.work, ports)}
    sinks["counting"] = Sink("counting", cfg.work, ports, os.path.join(BENCH_DIR, "sink.py"))
    sinks["counting"].label = "tests/bench/sink.py"
    esemu = os.path.join(cfg.emulator_dir, "esemu.py")
    if os.path.exists(esemu):
        try:
            sinks["emulator"] = Sink("emulator", cfg.work, ports, esemu)
            sinks["emulator"].label = "esemu (full emulator)"
        except RuntimeError as e:
            log("full emulator not used: %s" % e)
    return sinks


def machine_info(cl):
    """What the report says about the machine."""
    return {
        "nproc": os.cpu_count(),
        "cpu": next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name")), "?"),
        "postgres": cl.psql("SHOW server_version"),
        "logical_decoding_work_mem": cl.psql("SHOW logical_decoding_work_mem"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def parse_args():
    """Command line plus the BENCH_* environment settings."""
    parser = argparse.ArgumentParser(description="pg2es side-by-side benchmarks")
    parser.add_argument("--work", required=True, help="scratch directory (owned by this user)")
    parser.add_argument("--out", required=True, help="where results.json goes")
    parser.add_argument("--forwarder", default="", help="the pg2es forwarder binary")
    parser.add_argument("--emulator-dir", default="", help="directory of esemu.py")
    parser.add_argument("--command", default="make bench", help="for the report")
    cfg = parser.parse_args()
    cfg.smoke = os.environ.get("BENCH_SMOKE", "") not in ("", "0")
    cfg.rows = int(os.environ.get("BENCH_ROWS") or (2000 if cfg.smoke else 200000))
    cfg.repeat = int(os.environ.get("BENCH_REPEAT") or (1 if cfg.smoke else 3))
    cfg.lat_rate = float(os.environ.get("BENCH_LAT_RATE") or (50 if cfg.smoke else 200))
    cfg.lat_seconds = float(os.environ.get("BENCH_LAT_SECONDS") or (2 if cfg.smoke else 20))
    cfg.load_rows = int(os.environ.get("BENCH_LOAD_ROWS") or (2000 if cfg.smoke else 1000000))
    cfg.only = os.environ.get("BENCH_ONLY") or None
    if cfg.only not in (None, "load", "delay", "engines", "chain", "filter"):
        parser.error("BENCH_ONLY=%s: load, delay, engines, chain or filter" % cfg.only)
    # Real engines and the chain (realengine.py): not in a smoke run.
    cfg.engine_rows = int(os.environ.get("BENCH_ENGINE_ROWS") or 100000)
    cfg.engine_rate = float(os.environ.get("BENCH_ENGINE_RATE") or 2000)
    cfg.engine_timeout = 600
    cfg.engine_nodes = [int(n) for n in (os.environ.get("BENCH_ENGINE_NODES") or
                                         ("1" if cfg.only == "chain" else "1 3")).split()]
    cfg.chain = os.environ.get("BENCH_CHAIN", "1") != "0"
    cfg.engines = not cfg.smoke and cfg.only in (None, "engines", "chain")
    cfg.pipeline_timeout = 30 if cfg.smoke else max(120, cfg.rows / 1000)
    cfg.load_timeout = 30 if cfg.smoke else max(120, cfg.load_rows / 10000)
    return cfg


def run_all(cfg, cl, results, ports):
    """Every measurement in order, on the started cluster cl."""
    cl.psql(SETUP_SQL)
    cl.psql("CREATE EXTENSION IF NOT EXISTS pg2es", check=False)
    problem = probe_pg2es(cl)
    if problem:
        for name in PG2ES_ROWS:
            results["unavailable"][name] = problem
    if not (cfg.forwarder and os.access(cfg.forwarder, os.X_OK)):
        results["unavailable"]["pg2es forwarder"] = "forwarder not built"
    elif problem:
        results["unavailable"]["pg2es forwarder"] = problem
    sinks = start_sinks(cfg, ports)
    results["sinks"] = {k: s.label for k, s in sinks.items()}
    try:
        for kind, _ in WORKLOADS if cfg.only is None else \
                [("insert", "")] if cfg.only == "delay" else []:
            log("workload %s, %d rows" % (kind, cfg.rows))
            endpos, changes = prepare_workload(cl, kind, cfg.rows)
            results["changes"][kind] = changes
            if cfg.only is None:
                measure_decoding(cfg, cl, results, kind, endpos, changes)
            if kind == "insert":
                if cfg.only is None:
                    measure_sql_interface(cfg, cl, results, changes)
                    choose_null_sink(cfg, cl, results, sinks, endpos, changes)
                    measure_pipelines(cfg, cl, results, sinks, endpos, changes)
                measure_delays(cfg, cl, results, sinks, endpos, changes)
        cl.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots")
        cl.psql("TRUNCATE bench")
        if cfg.only in (None, "filter"):
            measure_filter(cfg, cl, results)
        if cfg.only is None:
            measure_latency(cfg, cl, results, sinks)
        if cfg.only in (None, "load"):
            measure_load(cfg, cl, results, sinks, cfg.load_rows)
        if cfg.engines:
            measure_real_engines(cfg, cl, results)
    finally:
        for sink in {id(s): s for s in sinks.values()}.values():
            sink.stop()


def main():
    """Runs the bench; results.json is written even when a step fails."""
    cfg = parse_args()
    os.makedirs(os.path.join(cfg.work, "logs"), exist_ok=True)
    os.makedirs(cfg.out, exist_ok=True)
    # The forwarder writes its dead-letter file into its working directory,
    # which must be writable by this user (make bench starts here as root).
    cfg.work, cfg.out = os.path.abspath(cfg.work), os.path.abspath(cfg.out)
    os.chdir(cfg.work)
    ports = set()
    cl = Cluster(cfg.work, ports)
    cl.start()
    results = {"settings": {"rows": cfg.rows, "load_rows": cfg.load_rows, "only": cfg.only,
                            "repeat": cfg.repeat, "smoke": cfg.smoke,
                            "small_tx_rows": SMALL_TX_ROWS, "lat_rate": cfg.lat_rate,
                            "lat_seconds": cfg.lat_seconds},
               "command": cfg.command, "workloads": dict(WORKLOADS),
               "decode": {}, "sql": {}, "pipeline": {}, "latency": {}, "load": {},
               "changes": {}, "unavailable": {}, "notes": [], "null_sink": "nginx",
               "filter": {}}
    try:
        results["machine"] = machine_info(cl)
        run_all(cfg, cl, results, ports)
    finally:
        cl.stop()
        with open(os.path.join(cfg.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    log("results in %s" % os.path.join(cfg.out, "results.json"))


if __name__ == "__main__":
    main()
