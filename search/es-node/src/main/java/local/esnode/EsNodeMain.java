package local.esnode;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.ClasspathPluginNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Starts one in-process Elasticsearch 8 node bound to 127.0.0.1.
 *
 * <pre>
 * java -cp 'target/es-node.jar:target/lib/*' local.esnode.EsNodeMain --home DIR [--http-port 9250]
 *      [--transport-port 9350] [--cluster-name es-node] [--node-name node-9250] [--pid-file FILE]
 *      [-Ekey=value ...]
 * </pre>
 *
 * The node runs inside this JVM (no Elasticsearch bootstrap), so the bootstrap's refusal to run as
 * root, its security manager / entitlement setup and its production bootstrap checks do not apply.
 */
public final class EsNodeMain {

    /** Plain-text console logging (stdout is redirected to the log file by scripts/es-node.sh). */
    private static final String LOG4J2_PROPERTIES = """
        status = error
        appender.console.type = Console
        appender.console.name = console
        appender.console.layout.type = PatternLayout
        appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
        rootLogger.level = info
        rootLogger.appenderRef.console.ref = console
        # chatty at INFO and irrelevant for a single throw-away test node
        logger.deprecation.name = org.elasticsearch.deprecation
        logger.deprecation.level = error
        """;

    public static void main(String[] args) throws Exception {
        Path home = null;
        int httpPort = 9250;
        Integer transportPort = null;
        String clusterName = "es-node";
        String nodeName = null;
        Path pidFile = null;
        Settings.Builder extra = Settings.builder();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--home" -> home = Path.of(args[++i]);
                case "--http-port" -> httpPort = Integer.parseInt(args[++i]);
                case "--transport-port" -> transportPort = Integer.parseInt(args[++i]);
                case "--cluster-name" -> clusterName = args[++i];
                case "--node-name" -> nodeName = args[++i];
                case "--pid-file" -> pidFile = Path.of(args[++i]).toAbsolutePath();
                default -> {
                    if (a.startsWith("-E") && a.contains("=")) {
                        String kv = a.substring(2);
                        int eq = kv.indexOf('=');
                        extra.put(kv.substring(0, eq), kv.substring(eq + 1));
                    } else {
                        System.err.println("unknown argument: " + a);
                        System.exit(2);
                    }
                }
            }
        }
        if (home == null) {
            System.err.println("--home DIR is required");
            System.exit(2);
        }
        home = home.toAbsolutePath();
        if (transportPort == null) {
            transportPort = httpPort + 100;
        }
        if (nodeName == null) {
            nodeName = "node-" + httpPort;
        }
        for (String d : List.of("config", "data", "logs", "plugins", "modules")) {
            Files.createDirectories(home.resolve(d));
        }
        if (pidFile != null) {
            // written first thing, so that a node still starting up can be found and stopped
            Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
        }
        final Path pidFileToDelete = pidFile;

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", clusterName)
            .put("node.name", nodeName)
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            // a test node must not go read-only because the dev disk is >90% full
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put(extra.build())
            .build();

        Path log4jConfig = home.resolve("config").resolve("log4j2.properties");
        if (Files.exists(log4jConfig) == false) {
            Files.writeString(log4jConfig, LOG4J2_PROPERTIES);
        }
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "es-node");
        LogConfigurator.setNodeName(nodeName);
        LogConfigurator.configure(env, true);
        List<Class<? extends Plugin>> plugins = List.of(Netty4Plugin.class, CommonAnalysisLitePlugin.class, RootInfoPlugin.class);

        AtomicReference<Node> nodeRef = new AtomicReference<>();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Node node = nodeRef.get();
                if (node != null) {
                    node.close();
                    node.awaitClose(10, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                if (pidFileToDelete != null) {
                    try {
                        Files.deleteIfExists(pidFileToDelete);
                    } catch (Exception ignored) {
                        // best effort
                    }
                }
                stopped.countDown();
            }
        }, "es-node-shutdown"));

        try {
            nodeRef.set(new ClasspathPluginNode(env, plugins));
            nodeRef.get().start();
        } catch (Throwable t) {
            // the node starts non-daemon threads: without an explicit exit the JVM would linger
            System.err.println("es-node failed to start: " + t);
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("es-node started: http://127.0.0.1:" + httpPort + " (transport " + transportPort + ", home " + home + ")");
        stopped.await();
    }
}
