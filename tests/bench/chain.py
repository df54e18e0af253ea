"""chain.py: the article's reference chain as a pipeline of realengine.py.

Kafka 4.1 in KRaft mode (one JVM, broker and controller combined, no
ZooKeeper), a Kafka Connect worker in standalone mode (a second JVM)
running Debezium 3.6.1's PostgreSQL connector with plugin.name=pgoutput and
the article's ExtractNewRecordState unwrap (drop.tombstones=false,
delete.handling.mode=rewrite, add.fields=table,ts_ms), and a _bulk sink
connector with the article's ExtractField$Key transform.  Every jar comes
from Maven Central through tests/bench/chain/pom.xml (target/lib); the sink
connector is tests/bench/chain/src (no Elasticsearch or OpenSearch sink
connector is served from Maven Central here).  Indexes are named after the
topics, as the article's sink does: chain.public.bench, chain.public.bench_lat.

Ports: broker 29110, controller 29111, Connect's REST 29112 (127.0.0.1).
"""

import glob
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CHAIN_DIR = os.path.join(HERE, "chain")
LABEL = "Debezium chain (Kafka KRaft + Connect + _bulk sink)"
BROKER, CONTROLLER, REST = 29110, 29111, 29112


def available():
    """None when the chain's jars are built, else why not."""
    if not glob.glob(os.path.join(CHAIN_DIR, "target", "lib", "kafka_2.13-*.jar")):
        return "tests/bench/chain is not built (mvn -B package there; run.sh does it as root)"
    if not shutil.which("java"):
        return "no java"
    return None


def classpath():
    """The chain's classpath: the sink connector's classes and every jar."""
    return os.path.join(CHAIN_DIR, "target", "classes") + ":" + \
        os.path.join(CHAIN_DIR, "target", "lib", "*")


def write_props(path, props):
    """A Java properties file from a dict."""
    with open(path, "w") as f:
        for key, value in props.items():
            f.write("%s=%s\n" % (key, value))


class Chain:
    """The chain as a realengine.py pipeline: start(), pids(), stop()."""

    def __init__(self, cfg, cl, engine):
        self.cfg, self.cl, self.engine = cfg, cl, engine
        self.index = {"bench": "chain.public.bench", "bench_lat": "chain.public.bench_lat"}
        self.procs = []
        self.dir = os.path.join(cfg.work, "chain")

    def java(self, name, args, heap_mb, logdir):
        """Starts a JVM on the chain's classpath; its Popen."""
        log_ = open(os.path.join(logdir, "chain-%s.log" % name), "a")
        cmd = ["java", "-Xms%dm" % heap_mb, "-Xmx%dm" % heap_mb, "-XX:+UseG1GC",
               "-Djava.awt.headless=true", "-cp", classpath()] + args
        return subprocess.Popen(cmd, stdout=log_, stderr=subprocess.STDOUT, cwd=self.dir)

    def start(self, logdir):
        """Formats and starts the broker, then the Connect worker with both
        connectors; returns once the source connector's slot is streaming."""
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        server = os.path.join(self.dir, "server.properties")
        write_props(server, {
            "process.roles": "broker,controller", "node.id": "1",
            "controller.quorum.voters": "1@127.0.0.1:%d" % CONTROLLER,
            "listeners": "PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d"
                         % (BROKER, CONTROLLER),
            "advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % BROKER,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": os.path.join(self.dir, "kafka-logs"),
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1", "auto.create.topics.enable": "true",
        })
        fmt = subprocess.run(["java", "-cp", classpath(), "kafka.tools.StorageTool", "format",
                              "-t", str(uuid.uuid4()), "-c", server],
                             capture_output=True, text=True)
        if fmt.returncode != 0:
            raise RuntimeError("kafka storage format failed: %s" % fmt.stderr.strip()[-300:])
        self.procs = [("kafka broker", self.java("kafka", ["kafka.Kafka", server], 1024, logdir))]
        self.wait_port(BROKER, 120)
        self.procs.append(("connect worker", self.java(
            "connect", ["org.apache.kafka.connect.cli.ConnectStandalone"] + self.configs(),
            1024, logdir)))
        deadline = time.monotonic() + 180
        while not self.streaming():
            if time.monotonic() > deadline:
                raise RuntimeError("Debezium's slot never became active (see %s/chain-*.log)"
                                   % logdir)
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("the %s exited %d (see %s/chain-*.log)"
                                       % (name, p.returncode, logdir))
            time.sleep(0.5)

    def configs(self):
        """Writes the worker's and both connectors' properties; their paths."""
        worker = os.path.join(self.dir, "worker.properties")
        write_props(worker, {
            "bootstrap.servers": "127.0.0.1:%d" % BROKER,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "offset.storage.file.filename": os.path.join(self.dir, "offsets"),
            "offset.flush.interval.ms": "10000",
            "listeners": "http://127.0.0.1:%d" % REST,
            # Confluent's sink sends up to batch.size (2000) records a request
            "consumer.max.poll.records": "2000",
        })
        source = os.path.join(self.dir, "source.properties")
        write_props(source, {
            "name": "bench-source",
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "tasks.max": "1", "plugin.name": "pgoutput",
            "database.hostname": "127.0.0.1", "database.port": str(self.cl.port),
            "database.user": "postgres", "database.password": "unused",
            "database.dbname": "postgres", "topic.prefix": "chain",
            "table.include.list": "public.bench,public.bench_lat",
            "slot.name": "bench_live", "publication.name": "bench_pub",
            "publication.autocreate.mode": "disabled", "snapshot.mode": "no_data",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.drop.tombstones": "false",
            "transforms.unwrap.delete.handling.mode": "rewrite",
            "transforms.unwrap.add.fields": "table,ts_ms",
        })
        sink = os.path.join(self.dir, "sink.properties")
        write_props(sink, {
            "name": "bench-sink", "connector.class": "pg2es.bench.BulkSinkConnector",
            "tasks.max": "1", "topics": "chain.public.bench,chain.public.bench_lat",
            "connection.url": self.engine.url,
            "transforms": "extractKey",
            "transforms.extractKey.type": "org.apache.kafka.connect.transforms.ExtractField$Key",
            "transforms.extractKey.field": "id",
        })
        return [worker, source, sink]

    def wait_port(self, port, timeout):
        """Waits until something accepts connections on port."""
        import socket
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("nothing listens on %d after %d s" % (port, timeout))

    def streaming(self):
        """True once Debezium's slot is active and both connectors run."""
        active = self.cl.psql("SELECT count(*) FROM pg_replication_slots "
                              "WHERE slot_name = 'bench_live' AND active")
        if active != "1":
            return False
        for name in ("bench-source", "bench-sink"):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/connectors/%s/status"
                                            % (REST, name), timeout=5) as resp:
                    if b'"RUNNING"' not in resp.read():
                        return False
            except (urllib.error.URLError, OSError):
                return False
        return True

    def pids(self):
        """{process name: pid} of its JVMs."""
        return {name: p.pid for name, p in self.procs}

    def stop(self):
        """Stops the worker, then the broker; drops Debezium's slot."""
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.cl.quiesce()
        self.cl.psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE slot_name = 'bench_live'")
