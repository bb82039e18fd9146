package dev.atlas.examples.server;

import dev.atlas.array.EngineResources;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code atlas serve --store PATH}: serves a local store over HTTP until interrupted (Ctrl-C). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve an Atlas store over HTTP (JSON catalog, binary and JSON region reads, bulk reads, PNG quick-looks, /metrics).")
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--store", required = true, paramLabel = "PATH", description = "Directory of the store (s3:// locations are not supported yet).")
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

    /** Counted down once the server listens (tests wait on it). */
    final CountDownLatch started = new CountDownLatch(1);
    /** Counted down to stop serving (by the JVM shutdown hook, or a test). */
    final CountDownLatch stop = new CountDownLatch(1);
    volatile AtlasHttpServer server;

    @Override
    public Integer call() throws Exception {
        if (store.startsWith("s3://")) {
            throw new InvalidArgumentException("s3:// stores cannot be served yet; give a local directory");
        }
        Path dir = Path.of(store);
        if (!Files.isDirectory(dir)) {
            throw new InvalidArgumentException("no store directory at " + dir);
        }
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
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage());
        }
        EngineResources resources = EngineResources.create();
        Atlas atlas;
        try {
            atlas = LocalAtlas.open(dir, AtlasOptions.builder(resources).build()).block();
        } catch (RuntimeException e) {
            resources.dispose();
            throw e;
        }
        try (AtlasHttpServer s = AtlasHttpServer.start(atlas, b.resources(resources).build())) {
            server = s;
            spec.commandLine().getOut().printf("serving %d datasets of %s on %s (Ctrl-C to stop)%n", atlas.datasetCount(),
                    dir.toAbsolutePath(), s.baseUrl());
            spec.commandLine().getOut().flush();
            Thread hook = new Thread(stop::countDown, "atlas-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            started.countDown();
            try {
                stop.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is exiting: the hook already ran
                }
            }
        } finally {
            atlas.close().block(Duration.ofSeconds(30));
            resources.disposeLater().block(Duration.ofSeconds(30));
        }
        return 0;
    }
}
