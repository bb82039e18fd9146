package dev.atlas.examples.fleet;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code atlas serve --store STORE --port 0 --refresh-interval S} as a child JVM (the tool's own
 * main class): started, its URL taken from the {@code serving ... on http://...} line it prints
 * once it listens.
 */
final class ServeProcess implements AutoCloseable {
    private static final Pattern SERVING = Pattern.compile("^serving .* on (http://\\S+)");

    private final ChildJvm jvm;
    private final URI url;

    private ServeProcess(ChildJvm jvm, URI url) {
        this.jvm = jvm;
        this.url = url;
    }

    /**
     * Starts a server of {@code store} and waits (bounded) until it listens.
     *
     * @param refreshSeconds the {@code --refresh-interval}; null leaves the option out (the default)
     */
    static ServeProcess start(String name, Path logDir, FleetStore store, String refreshSeconds)
            throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(store.cliOptions());
        if (store.backend().s3()) {
            // A server only reads: a stalled response (S3Mock stops mid-body when a compaction
            // deletes the object it serves) is retried after 2 s, inside the test's visibility bound.
            args.addAll(List.of("--s3-stall-timeout", "2"));
        }
        args.addAll(List.of("serve", "--store", store.location(), "--port", "0"));
        if (refreshSeconds != null) {
            args.addAll(List.of("--refresh-interval", refreshSeconds));
        }
        ChildJvm jvm = ChildJvm.start(name, logDir, store.cliEnvironment(), FleetStore.cliMain(), args);
        try {
            int i = jvm.require(0, l -> SERVING.matcher(l).find(), "'serving ... on http://...'");
            Matcher m = SERVING.matcher(jvm.lines().get(i));
            if (!m.find()) {
                throw new AssertionError("unreachable");
            }
            return new ServeProcess(jvm, URI.create(m.group(1)));
        } catch (Throwable t) {
            jvm.close();
            throw t;
        }
    }

    String name() {
        return jvm.name();
    }

    URI url() {
        return url;
    }

    ChildJvm jvm() {
        return jvm;
    }

    /** Stops the server (SIGTERM, then SIGKILL after a short grace). */
    void stop() throws InterruptedException {
        jvm.stop(Duration.ofSeconds(5));
    }

    @Override
    public void close() {
        jvm.close();
    }

    @Override
    public String toString() {
        return jvm.name() + " " + url;
    }
}
