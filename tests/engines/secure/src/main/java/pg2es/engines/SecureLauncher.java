package pg2es.engines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.MockNode;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts one real OpenSearch node with the security plugin on, for pg2es's
 * least-privilege test (tests/engines/secure/start is its only caller).
 *
 * Arguments: --home DIR (created; the node's data and configuration live
 * under it and it is deleted when the node stops), --http-port PORT
 * (127.0.0.1 only), --tls-dir DIR (root-ca.pem, node.pem and node-key.pem,
 * made by the caller with openssl: transport TLS is mandatory with the
 * plugin), --admin-password-file FILE (the password of the user "admin",
 * mapped to all_access, who may also use the security REST API),
 * --watch-pid PID, --ready-file FILE (written with the URL once the node
 * has started; the caller then waits for the security index over HTTP).
 *
 * HTTP is plain (plugins.security.ssl.http.enabled false) with Basic
 * authentication against the plugin's internal users; nothing is anonymous.
 * Exit status: 0 after a requested stop, 1 when the node could not start,
 * 2 for bad usage.
 */
public final class SecureLauncher {
    private static final String SECURITY_PLUGIN = "org.opensearch.security.OpenSearchSecurityPlugin";
    private static final String BCRYPT = "org.bouncycastle.crypto.generators.OpenBSDBCrypt";
    static final String NODE_DN = "CN=node,OU=pg2es,O=pg2es";
    static final String ADMIN_DN = "CN=admin,OU=pg2es,O=pg2es";

    private final Path home;
    private final int httpPort;
    private final Path tlsDir;
    private final Path passwordFile;
    private final long watchPid;
    private final Path readyFile;
    private Node node;

    private SecureLauncher(Path home, int httpPort, Path tlsDir, Path passwordFile, long watchPid,
                           Path readyFile) {
        this.home = home;
        this.httpPort = httpPort;
        this.tlsDir = tlsDir;
        this.passwordFile = passwordFile;
        this.watchPid = watchPid;
        this.readyFile = readyFile;
    }

    /** Parses the arguments, starts the node and waits for its end. */
    public static void main(String[] args) {
        SecureLauncher launcher;
        try {
            launcher = fromArguments(args);
        } catch (IllegalArgumentException e) {
            System.err.println("secure launcher: " + e.getMessage());
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(launcher::stop, "pg2es-engine-stop"));
        try {
            launcher.start();
        } catch (Exception e) {
            System.err.println("secure launcher: the node did not start: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        launcher.watchParent();
        System.exit(0);
    }

    /** The launcher the command line describes; IllegalArgumentException if it is wrong. */
    private static SecureLauncher fromArguments(String[] args) {
        Path home = null;
        Path ready = null;
        Path tls = null;
        Path password = null;
        int port = -1;
        long pid = -1;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + args[i] + " needs a value");
            }
            String value = args[i + 1];
            switch (args[i]) {
                case "--home" -> home = Path.of(value);
                case "--ready-file" -> ready = Path.of(value);
                case "--tls-dir" -> tls = Path.of(value);
                case "--admin-password-file" -> password = Path.of(value);
                case "--http-port" -> port = Integer.parseInt(value);
                case "--watch-pid" -> pid = Long.parseLong(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (home == null || ready == null || tls == null || password == null || port <= 0 || port > 65535) {
            throw new IllegalArgumentException("usage: --home DIR --http-port PORT --tls-dir DIR "
                + "--admin-password-file FILE --ready-file FILE [--watch-pid PID]");
        }
        return new SecureLauncher(home, port, tls, password, pid, ready);
    }

    /**
     * Writes the node's configuration (certificates, the security plugin's
     * YAML files), starts the node and writes the ready file.  Throws on
     * any failure; stop() cleans up.
     */
    private void start() throws Exception {
        Path config = home.resolve("node-0").resolve("config");
        Path security = config.resolve("opensearch-security");
        Files.createDirectories(security);
        for (String pem : List.of("root-ca.pem", "node.pem", "node-key.pem")) {
            Files.copy(tlsDir.resolve(pem), config.resolve(pem), StandardCopyOption.REPLACE_EXISTING);
        }
        String password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
        SecurityConfig.write(security, bcrypt(password));

        List<Class<? extends Plugin>> plugins = List.of(
            Netty4Plugin.class,
            PainlessPlugin.class,
            ReindexPlugin.class,
            MapperExtrasPlugin.class,
            CommonAnalysisPlugin.class,
            Class.forName(SECURITY_PLUGIN).asSubclass(Plugin.class));
        node = new MockNode(nodeSettings(), plugins);
        node.start();

        String url = "http://127.0.0.1:" + httpPort;
        Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
        Files.writeString(tmp, url + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, readyFile, StandardCopyOption.ATOMIC_MOVE);
        System.out.println("secure launcher: node started at " + url);
    }

    /**
     * The node's settings: one node, loopback only, transport TLS with the
     * caller's certificates, plain HTTP, the security index created from
     * config/opensearch-security at the first start.  transport.type and
     * http.type are left to the security plugin (its secure transports).
     */
    private Settings nodeSettings() {
        return Settings.builder()
            .put("cluster.name", "pg2es-test-secure")
            .put("node.name", "node-0")
            .put("path.home", home.resolve("node-0").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.toString(httpPort))
            .put("transport.port", "0")
            .put("discovery.type", "single-node")
            .put("search.default_search_timeout", "-1")
            .put("plugins.security.ssl.transport.pemcert_filepath", "node.pem")
            .put("plugins.security.ssl.transport.pemkey_filepath", "node-key.pem")
            .put("plugins.security.ssl.transport.pemtrustedcas_filepath", "root-ca.pem")
            .put("plugins.security.ssl.transport.enforce_hostname_verification", false)
            .put("plugins.security.ssl.http.enabled", false)
            .put("plugins.security.allow_default_init_securityindex", true)
            .putList("plugins.security.authcz.admin_dn", ADMIN_DN)
            .putList("plugins.security.nodes_dn", NODE_DN)
            .putList("plugins.security.restapi.roles_enabled", "all_access")
            .put("plugins.security.audit.type", "noop")
            .put("plugins.security.enable_snapshot_restore_privilege", true)
            .put("plugins.security.check_snapshot_restore_write_privileges", true)
            .build();
    }

    /**
     * A bcrypt hash of password ($2y$, cost 10) through Bouncy Castle, which
     * the security plugin brings along (hence reflection: it is on the
     * runtime classpath only).
     */
    private static String bcrypt(String password) throws ReflectiveOperationException {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        Method generate = Class.forName(BCRYPT).getMethod("generate", char[].class, byte[].class, int.class);
        return (String) generate.invoke(null, password.toCharArray(), salt, 10);
    }

    /**
     * Returns when the watched process has exited (or never, without one);
     * its start time is compared so that a reused PID does not count.
     */
    private void watchParent() {
        if (watchPid <= 0) {
            while (true) {
                sleepQuietly(60_000);
            }
        }
        Optional<ProcessHandle> parent = ProcessHandle.of(watchPid);
        Optional<Instant> started = parent.flatMap(p -> p.info().startInstant());
        while (parent.isPresent() && parent.get().isAlive()) {
            Optional<ProcessHandle> now = ProcessHandle.of(watchPid);
            if (now.isEmpty() || !now.flatMap(p -> p.info().startInstant()).equals(started)) {
                break;
            }
            sleepQuietly(500);
        }
        System.out.println("secure launcher: process " + watchPid + " is gone, stopping the node");
    }

    /** Closes the node, then deletes the home directory. */
    private synchronized void stop() {
        if (node != null) {
            try {
                node.close();
            } catch (IOException | RuntimeException e) {
                System.err.println("secure launcher: closing the node: " + e);
            }
            node = null;
        }
        deleteTree(home);
        System.out.println("secure launcher: node stopped");
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
            System.err.println("secure launcher: could not delete " + dir + ": " + e);
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
