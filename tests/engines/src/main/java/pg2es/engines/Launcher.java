package pg2es.engines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.opensearch.action.admin.cluster.health.ClusterHealthResponse;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.MockNode;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.TransportService;

/**
 * Starts a real OpenSearch cluster of one or more nodes inside this JVM, for
 * pg2es's tests (tests/engines/start is its only caller).
 *
 * Arguments: --home DIR (created; every node's data lives under it and it is
 * deleted when the cluster stops), --http-port PORT (node i listens on
 * PORT + i, 127.0.0.1 only), --nodes N, --watch-pid PID (the cluster stops
 * when that process is gone), --ready-file FILE (written with the URL once
 * the cluster answers green or yellow).
 *
 * The cluster stops on SIGTERM (a shutdown hook closes every node) and when
 * the watched process exits.  While it runs, a file "stop I", "start I" or
 * "restart I" dropped as control/NAME.cmd beside the home directory stops,
 * starts or restarts node I with its data kept (tests/engines/node); the
 * outcome is written to control/NAME.done.  Exit status: 0 after a requested stop, 1 when
 * the cluster could not start (the reason is on stderr), 2 for bad usage.
 */
public final class Launcher {
    /**
     * The modules pg2es needs, each by its OpenSearch 2.x class name and its
     * 3.x one (3.0 renamed them *ModulePlugin; nothing else this launcher
     * uses differs, so one source serves both builds, ../pom.xml and
     * v3/pom.xml): HTTP, Painless, _delete_by_query, scaled_float and the
     * common analyzers.
     */
    private static final String[][] MODULES = {
        {"org.opensearch.transport.Netty4Plugin", "org.opensearch.transport.Netty4ModulePlugin"},
        {"org.opensearch.painless.PainlessPlugin", "org.opensearch.painless.PainlessModulePlugin"},
        {"org.opensearch.index.reindex.ReindexPlugin", "org.opensearch.index.reindex.ReindexModulePlugin"},
        {"org.opensearch.index.mapper.MapperExtrasPlugin", "org.opensearch.index.mapper.MapperExtrasModulePlugin"},
        {"org.opensearch.analysis.common.CommonAnalysisPlugin",
            "org.opensearch.analysis.common.CommonAnalysisModulePlugin"},
    };

    private static final List<Class<? extends Plugin>> PLUGINS = modulePlugins();

    private static final long START_TIMEOUT_SECONDS = 120;

    private final Path home;
    private final int httpPort;
    private final int nodeCount;
    private final long watchPid;
    private final Path readyFile;
    private final List<Node> nodes = new ArrayList<>();
    private final Path controlDir;
    private String seed;

    private Launcher(Path home, int httpPort, int nodeCount, long watchPid, Path readyFile) {
        this.home = home;
        this.httpPort = httpPort;
        this.nodeCount = nodeCount;
        this.watchPid = watchPid;
        this.readyFile = readyFile;
        this.controlDir = home.resolveSibling("control");
    }

    /**
     * The plugin class of each of MODULES, whichever of its names is on the
     * classpath; IllegalStateException naming the module if neither is.
     */
    private static List<Class<? extends Plugin>> modulePlugins() {
        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String[] names : MODULES) {
            Class<? extends Plugin> found = null;
            for (String name : names) {
                try {
                    found = Class.forName(name).asSubclass(Plugin.class);
                    break;
                } catch (ClassNotFoundException e) {
                    // the other version's name
                }
            }
            if (found == null) {
                throw new IllegalStateException("no module " + String.join(" or ", names) + " on the classpath");
            }
            plugins.add(found);
        }
        return List.copyOf(plugins);
    }

    /** Parses the arguments, starts the cluster and waits for its end. */
    public static void main(String[] args) {
        Launcher launcher;
        try {
            launcher = fromArguments(args);
        } catch (IllegalArgumentException e) {
            System.err.println("launcher: " + e.getMessage());
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(launcher::stop, "pg2es-engine-stop"));
        try {
            launcher.start();
        } catch (Exception e) {
            System.err.println("launcher: the cluster did not start: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        launcher.watchParent();
        System.exit(0);
    }

    /** The launcher the command line describes; IllegalArgumentException if it is wrong. */
    private static Launcher fromArguments(String[] args) {
        Path home = null;
        Path ready = null;
        int port = -1;
        int count = 1;
        long pid = -1;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + args[i] + " needs a value");
            }
            String value = args[i + 1];
            switch (args[i]) {
                case "--home" -> home = Path.of(value);
                case "--ready-file" -> ready = Path.of(value);
                case "--http-port" -> port = Integer.parseInt(value);
                case "--nodes" -> count = Integer.parseInt(value);
                case "--watch-pid" -> pid = Long.parseLong(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (home == null || ready == null || port <= 0 || port + count > 65536 || count < 1 || count > 9) {
            throw new IllegalArgumentException(
                "usage: --home DIR --http-port PORT --ready-file FILE [--nodes 1-9] [--watch-pid PID]");
        }
        return new Launcher(home, port, count, pid, ready);
    }

    /**
     * Starts node 0 (which elects itself), then the others with node 0 as
     * their seed, waits for a green or yellow cluster of every node and
     * writes the ready file.  Throws on any failure; stop() cleans up.
     */
    private void start() throws Exception {
        Files.createDirectories(home);
        Files.createDirectories(controlDir);
        for (int i = 0; i < nodeCount; i++) {
            Node node = new MockNode(nodeSettings(i, seed), PLUGINS);
            synchronized (nodes) {
                nodes.add(node);
            }
            node.start();
            if (i == 0) {
                TransportAddress addr = node.injector().getInstance(TransportService.class)
                    .boundAddress().publishAddress();
                seed = addr.getAddress() + ":" + addr.getPort();
            }
        }
        ClusterHealthResponse health = nodes.get(0).client().admin().cluster().prepareHealth()
            .setWaitForYellowStatus()
            .setWaitForNodes(Integer.toString(nodeCount))
            .setTimeout(TimeValue.timeValueSeconds(START_TIMEOUT_SECONDS))
            .get();
        if (health.isTimedOut()) {
            throw new IllegalStateException("cluster health " + health.getStatus() + " with "
                + health.getNumberOfNodes() + " of " + nodeCount + " nodes after "
                + START_TIMEOUT_SECONDS + " s");
        }
        TransportAddress http = nodes.get(0).injector().getInstance(HttpServerTransport.class)
            .boundAddress().publishAddress();
        String url = "http://127.0.0.1:" + http.getPort();
        Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
        Files.writeString(tmp, url + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, readyFile, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("launcher: cluster of " + nodeCount + " node(s) " + health.getStatus()
            + " at " + url);
    }

    /**
     * The settings of node i: loopback only, HTTP on httpPort + i, an
     * ephemeral transport port, data under home/node-i.  The first node of a
     * multi-node cluster bootstraps it alone; the others find it at seed.
     */
    private Settings nodeSettings(int i, String seed) {
        String name = "node-" + i;
        Settings.Builder b = Settings.builder()
            .put("cluster.name", "pg2es-test")
            .put("node.name", name)
            .put("path.home", home.resolve(name).toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.toString(httpPort + i))
            .put("transport.port", "0")
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("action.auto_create_index", "true")
            .put("search.default_search_timeout", "-1");
        if (nodeCount == 1) {
            b.put("discovery.type", "single-node");
        } else if (i == 0) {
            b.putList("cluster.initial_cluster_manager_nodes", name);
            b.putList("discovery.seed_hosts");
        } else {
            b.putList("discovery.seed_hosts", seed);
        }
        return b.build();
    }

    /**
     * Returns when the watched process has exited (or never, without one):
     * it is polled twice a second, and its start time is compared so that a
     * reused PID does not keep the cluster alive.
     */
    private void watchParent() {
        if (watchPid <= 0) {
            while (true) {
                serveControl();
                sleepQuietly(500);
            }
        }
        Optional<ProcessHandle> parent = ProcessHandle.of(watchPid);
        Optional<Instant> started = parent.flatMap(p -> p.info().startInstant());
        while (parent.isPresent() && parent.get().isAlive()) {
            Optional<ProcessHandle> now = ProcessHandle.of(watchPid);
            if (now.isEmpty() || !now.flatMap(p -> p.info().startInstant()).equals(started)) {
                break;
            }
            serveControl();
            sleepQuietly(500);
        }
        System.out.println("launcher: process " + watchPid + " is gone, stopping the cluster");
    }

    /** Carries out the control files waiting, oldest name first. */
    private void serveControl() {
        List<Path> commands;
        try (Stream<Path> files = Files.list(controlDir)) {
            commands = files.filter(f -> f.toString().endsWith(".cmd")).sorted().toList();
        } catch (IOException e) {
            return;
        }
        for (Path cmd : commands) {
            String name = cmd.getFileName().toString();
            Path done = controlDir.resolve(name.substring(0, name.length() - 4) + ".done");
            String outcome;
            try {
                outcome = control(Files.readString(cmd, StandardCharsets.UTF_8).trim());
            } catch (Exception e) {
                outcome = "error: " + e;
            }
            try {
                Files.writeString(done, outcome + "\n", StandardCharsets.UTF_8);
                Files.deleteIfExists(cmd);
            } catch (IOException e) {
                System.err.println("launcher: control " + name + ": " + e);
            }
        }
    }

    /** One control command ("stop I", "start I", "restart I"); returns "ok". */
    private String control(String command) throws Exception {
        String[] words = command.split("\\s+");
        int i = words.length == 2 ? Integer.parseInt(words[1]) : -1;
        if (i < 0 || i >= nodeCount || !List.of("stop", "start", "restart").contains(words[0])) {
            return "error: unknown command [" + command + "]";
        }
        if (i == 0 && nodeCount > 1) {
            // the others found the cluster through node-0's transport port,
            // which a new node-0 would not get back
            return "error: node-0 is the seed of the others; stop another node";
        }
        if (!words[0].equals("start")) {
            Node node;
            synchronized (nodes) {
                node = nodes.set(i, null);
            }
            if (node != null) {
                node.close();
                System.out.println("launcher: node-" + i + " stopped");
            }
        }
        if (!words[0].equals("stop")) {
            synchronized (nodes) {
                if (nodes.get(i) != null) {
                    return "error: node-" + i + " runs already";
                }
            }
            Node node = new MockNode(nodeSettings(i, i == 0 ? null : seed), PLUGINS);
            node.start();
            synchronized (nodes) {
                nodes.set(i, node);
            }
            System.out.println("launcher: node-" + i + " started");
        }
        return "ok";
    }

    /** Closes every node, last started first, then deletes the home directory. */
    private void stop() {
        List<Node> toClose;
        synchronized (nodes) {
            toClose = new ArrayList<>(nodes);
            nodes.clear();
        }
        for (int i = toClose.size() - 1; i >= 0; i--) {
            if (toClose.get(i) == null) {
                continue;
            }
            try {
                toClose.get(i).close();
            } catch (IOException | RuntimeException e) {
                System.err.println("launcher: closing node-" + i + ": " + e);
            }
        }
        deleteTree(home);
        System.out.println("launcher: cluster stopped");
    }

    /** Deletes a directory tree, ignoring what is already gone. */
    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("launcher: could not delete " + dir + ": " + e);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
