package dev.atlas.examples.cli;

import dev.atlas.http.AtlasHttpServer;
import dev.atlas.http.ServerOptions;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.store.Atlas;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code atlas serve --store PATH|s3://bucket/prefix}: serves a store over HTTP until interrupted
 * (Ctrl-C), refreshing its handle every {@code --refresh-interval} seconds so that commits of
 * other processes become visible ({@code /health} reports the commit served).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve an Atlas store over HTTP (JSON catalog, binary and JSON region reads, bulk reads, PNG quick-looks, /metrics).")
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--store", required = true, paramLabel = "STORE", description = "Directory of the store, or s3://bucket/prefix.")
    String store;

    @Option(names = "--host", defaultValue = ServerOptions.DEFAULT_HOST, description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to bind, 0 for any free port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-elements", description = "Elements one region read may cover (default: 67108864).")
    Long maxElements;

    @Option(names = "--max-response-elements", description = "Elements one response may carry, bulk included (default: 268435456).")
    Long maxResponseElements;

    @Option(names = "--max-json-elements", description = "Elements a format=json response may carry (default: 1048576).")
    Long maxJsonElements;

    @Option(names = "--max-bulk-datasets", description = "Datasets one bulk request may name (default: 10000).")
    Integer maxBulkDatasets;

    @Option(names = "--timeout", description = "Request timeout in seconds (default: 60).")
    Long timeoutSeconds;

    @Option(names = "--idle-timeout", paramLabel = "SECONDS",
            description = "Close a connection that sends no complete request headers for this long (default: 30).")
    Long idleTimeoutSeconds;

    @Option(names = "--cors-origin", paramLabel = "ORIGIN",
            description = "Let browser pages of ORIGIN (scheme://host[:port], or * for any) read answers (CORS); repeatable. Default: none.")
    java.util.List<String> corsOrigins = new java.util.ArrayList<>();

    @Option(names = "--read-timeout", paramLabel = "SECONDS",
            description = "Answer 408 to a request body that pauses for this long (default: 10).")
    Long readTimeoutSeconds;

    @Option(names = "--refresh-interval", paramLabel = "SECONDS", defaultValue = StoreSession.DEFAULT_REFRESH_SECONDS,
            description = {"Seconds between checks for new commits of the store (decimals allowed; 0 = never; default: ${DEFAULT-VALUE}).",
                "A check that finds nothing new is one conditional read of the registry (on S3 one conditional GET):"
                        + " 2 s costs 0.5 requests/s per server and makes a commit visible to every server within about 2 s."})
    BigDecimal refreshSeconds;

    /** Counted down once the server listens (tests wait on it). */
    final CountDownLatch started = new CountDownLatch(1);
    /** Counted down to stop serving (by the JVM shutdown hook, or a test). */
    final CountDownLatch stop = new CountDownLatch(1);
    volatile AtlasHttpServer server;
    /** The session being served (tests read it). */
    volatile StoreSession session;

    @Override
    public Integer call() throws Exception {
        ServerOptions.Builder b = ServerOptions.builder();
        try {
            b.host(host).port(port);
            if (maxElements != null) {
                b.maxElementsPerRequest(maxElements);
            }
            if (maxResponseElements != null) {
                b.maxElementsPerResponse(maxResponseElements);
            }
            if (maxJsonElements != null) {
                b.maxJsonElements(maxJsonElements);
            }
            if (maxBulkDatasets != null) {
                b.maxDatasetsPerBulk(maxBulkDatasets);
            }
            if (timeoutSeconds != null) {
                b.requestTimeout(Duration.ofSeconds(timeoutSeconds));
            }
            if (idleTimeoutSeconds != null) {
                b.idleTimeout(Duration.ofSeconds(idleTimeoutSeconds));
            }
            if (readTimeoutSeconds != null) {
                b.readTimeout(Duration.ofSeconds(readTimeoutSeconds));
            }
            if (!corsOrigins.isEmpty()) {
                b.corsOrigins(corsOrigins);
            }
        } catch (InvalidArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage()); // a usage error: exit 2
        }
        Duration refresh = StoreSession.refreshInterval(refreshSeconds);
        try (StoreSession opened = StoreSession.open(StoreSession.location(store), false, refresh)) {
            session = opened;
            serveUntilStopped(opened, b, spec.commandLine().getOut(), new Control() {
                @Override
                public void started(AtlasHttpServer s) {
                    server = s;
                    started.countDown();
                }

                @Override
                public void awaitStop() throws InterruptedException {
                    stop.await();
                }
            });
        }
        return 0;
    }

    /**
     * Serves the session's store until {@code control} says stop or the JVM is interrupted
     * (Ctrl-C): prints the URL, then blocks the calling (main) thread. Used by {@code serve} and
     * by {@code demo}. The session stays open; the caller closes it.
     */
    public static void serveUntilStopped(StoreSession session, ServerOptions.Builder options, PrintWriter out,
            Control control) throws InterruptedException {
        Atlas atlas = session.atlas();
        try (AtlasHttpServer s = AtlasHttpServer.start(atlas, options.resources(session.resources()).build())) {
            out.printf("serving %d datasets of %s on %s (Ctrl-C to stop)%n", atlas.datasetCount(), session.location(), s.baseUrl());
            out.flush();
            CountDownLatch interrupted = new CountDownLatch(1);
            Thread hook = new Thread(interrupted::countDown, "atlas-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            control.started(s);
            try {
                Thread waiter = new Thread(() -> {
                    try {
                        control.awaitStop();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    interrupted.countDown();
                }, "atlas-serve-stop");
                waiter.setDaemon(true);
                waiter.start();
                interrupted.await();
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is exiting: the hook already ran
                }
            }
        }
    }

    /** Where a serving loop reports that it listens and learns when to stop (tests drive both). */
    public interface Control {
        /** Called once the server listens. */
        void started(AtlasHttpServer server);

        /** Blocks until serving should end. */
        void awaitStop() throws InterruptedException;
    }
}
