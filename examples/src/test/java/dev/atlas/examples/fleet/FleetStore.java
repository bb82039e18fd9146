package dev.atlas.examples.fleet;

import dev.atlas.examples.cli.AtlasCli;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.storage.s3.S3Servers;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Mono;
import software.amazon.awssdk.regions.Region;

/**
 * Where a fleet test's store lives, in a form every process can be given on its command line: a
 * local directory, or a prefix of the test S3 server's bucket (S3Mock or S3Proxy, path style, the
 * servers' static credentials).
 *
 * @param backend which of the three
 * @param dir the store directory (local)
 * @param endpoint the S3 server (S3 backends)
 * @param prefix the store's key prefix in the bucket (S3 backends)
 */
record FleetStore(Backend backend, Path dir, URI endpoint, String prefix) {

    /** The three backends every fleet test runs on. */
    enum Backend {
        LOCAL, S3MOCK, S3PROXY;

        boolean s3() {
            return this != LOCAL;
        }

        S3Servers.Kind kind() {
            return this == S3MOCK ? S3Servers.Kind.S3MOCK : S3Servers.Kind.S3PROXY;
        }
    }

    static FleetStore local(Path dir) {
        return new FleetStore(Backend.LOCAL, dir, null, null);
    }

    static FleetStore s3(Backend backend, String prefix) {
        return new FleetStore(backend, null, S3Servers.get(backend.kind()).endpoint(), prefix);
    }

    /** The store for {@code backend} named {@code name}: under {@code tmp} or a fresh prefix of the bucket. */
    static FleetStore of(Backend backend, Path tmp, String name) {
        if (backend == Backend.LOCAL) {
            return local(tmp.resolve(name));
        }
        return s3(backend, "fleet-" + name + "-" + Long.toHexString(System.nanoTime()));
    }

    /** One command-line argument. */
    String arg() {
        return backend == Backend.LOCAL ? "LOCAL|" + dir : backend + "|" + endpoint + "|" + prefix;
    }

    static FleetStore parse(String arg) {
        String[] p = arg.split("\\|", -1);
        Backend b = Backend.valueOf(p[0]);
        return b == Backend.LOCAL ? local(Path.of(p[1])) : new FleetStore(b, null, URI.create(p[1]), p[2]);
    }

    /** The store's location as {@code atlas} takes it. */
    String location() {
        return backend == Backend.LOCAL ? dir.toString() : "s3://" + S3Servers.BUCKET + "/" + prefix;
    }

    /** Global options of {@code atlas} that reach the S3 server (none for a directory). */
    List<String> cliOptions() {
        return backend == Backend.LOCAL ? List.of()
                : List.of("--endpoint", endpoint.toString(), "--path-style", "--s3-region", "us-east-1");
    }

    /** Environment of an {@code atlas} process: the servers' credentials from the AWS default chain. */
    Map<String, String> cliEnvironment() {
        return backend == Backend.LOCAL ? Map.of()
                : Map.of("AWS_ACCESS_KEY_ID", S3Servers.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY", S3Servers.SECRET_KEY,
                        "AWS_REGION", "us-east-1", "AWS_EC2_METADATA_DISABLED", "true");
    }

    /** The main class of the {@code atlas} tool. */
    static String cliMain() {
        return AtlasCli.class.getName();
    }

    /** Opens the store (or creates it when {@code create}); the handle owns its storage. */
    Mono<Atlas> open(EngineResources resources, AtlasOptions options, boolean create) {
        return open(resources, options, create, S3StorageOptions.DEFAULT_STALL_TIMEOUT);
    }

    /**
     * Opens the store for a reader: on S3 a stalled response (S3Mock stops mid-body when a
     * compaction deletes the object it serves) is retried after 2 s, not the default 10 s.
     */
    Mono<Atlas> openForReading(EngineResources resources, AtlasOptions options) {
        return open(resources, options, false, java.time.Duration.ofSeconds(2));
    }

    private Mono<Atlas> open(EngineResources resources, AtlasOptions options, boolean create, java.time.Duration stall) {
        if (backend == Backend.LOCAL) {
            return create ? LocalAtlas.openOrCreate(dir, options) : LocalAtlas.open(dir, options);
        }
        return Mono.defer(() -> {
            S3Storage storage = S3Storage.open(S3StorageOptions.builder(S3Servers.BUCKET).endpoint(endpoint).pathStyle(true)
                    .region(Region.US_EAST_1).staticCredentials(S3Servers.ACCESS_KEY, S3Servers.SECRET_KEY)
                    .stallTimeout(stall).build(),
                    resources);
            return (create ? Atlas.openOrCreate(storage, prefix, options) : Atlas.open(storage, prefix, options))
                    .map(a -> a.closeWith(storage))
                    .doOnError(e -> storage.close());
        });
    }

    /**
     * For a failure report: a thread dump of the S3 server (SIGQUIT, into its log) and the log's
     * last lines; nothing for a directory.
     */
    String diagnoseServer() {
        if (backend == Backend.LOCAL) {
            return "";
        }
        S3Servers.Server server = S3Servers.get(backend.kind());
        try {
            new ProcessBuilder("kill", "-QUIT", Long.toString(server.process().pid())).start().waitFor(5,
                    java.util.concurrent.TimeUnit.SECONDS);
            Thread.sleep(2000); // the dump is written by the server's own signal handler
            java.util.List<String> lines = java.nio.file.Files.readAllLines(server.log(), java.nio.charset.StandardCharsets.ISO_8859_1);
            return "---- " + backend + " server: thread dump and log tail ----\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 600), lines.size()));
        } catch (java.io.IOException e) {
            return "(no dump of the " + backend + " server: " + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    @Override
    public String toString() {
        return backend + " " + location();
    }
}
