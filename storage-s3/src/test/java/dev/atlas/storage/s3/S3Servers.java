package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * Starts the real S3 servers the tests run against, each once per test JVM, as child JVMs from
 * the jars Maven copied into {@code target/s3-servers} (property {@code atlas.s3.servers}): Adobe
 * S3Mock (the default lane) and S3Proxy with its filesystem backend and SigV4 checking (the
 * signing lane). Each listens on a free loopback port; the extension waits for it to answer HTTP
 * and stops it when JUnit closes its root store at the end of the run (and from a shutdown hook
 * if the JVM exits otherwise). A missing jar skips the tests locally and fails them with
 * {@code CI=true}.
 */
public final class S3Servers implements BeforeAllCallback {
    private static final Logger LOG = LoggerFactory.getLogger(S3Servers.class);
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(S3Servers.class);
    /** The bucket both servers hold. */
    public static final String BUCKET = "atlas";
    /** Access key the servers accept. */
    public static final String ACCESS_KEY = "atlas-access";
    /** Secret key the servers accept. */
    public static final String SECRET_KEY = "atlas-secret-key";
    /**
     * How long a server process may take to answer its first request. A bound of its own, not the
     * tests' one wait: it covers a JVM or container start, polled every 200 ms, and fails with the log tail.
     */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /**
     * How long a stopping server gets to exit before it is killed (and then to die): a grace period
     * at the end of the run, not a wait for a result, so shorter than the tests' bound.
     */
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static volatile ExtensionContext root;

    /** The two servers. */
    public enum Kind {
        S3MOCK("s3mock.jar"),
        S3PROXY("s3proxy.jar");

        final String jar;

        Kind(String jar) {
            this.jar = jar;
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        root = context.getRoot();
    }

    /** The running server of {@code kind}, started on first use. */
    public static Server get(Kind kind) {
        ExtensionContext r = root;
        if (r == null) {
            throw new IllegalStateException("register @ExtendWith(S3Servers.class) on the test class");
        }
        return r.getStore(NS).getOrComputeIfAbsent(kind, k -> start(kind), Server.class);
    }

    static Path serverDir() {
        return Path.of(System.getProperty("atlas.s3.servers", "target/s3-servers"));
    }

    private static Server start(Kind kind) {
        Path dir = serverDir();
        Path jar = dir.resolve(kind.jar);
        if (!Files.isRegularFile(jar)) {
            String msg = kind + " jar missing at " + jar.toAbsolutePath() + " (mvn process-test-resources copies it)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new IllegalStateException(msg);
            }
            Assumptions.abort(msg);
        }
        try {
            int port = freePort();
            Path log = dir.resolve(kind.name().toLowerCase() + "-" + port + ".log");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
            if (kind == Kind.S3MOCK) {
                // A fresh directory per start: a port reused by a later start must not find old buckets.
                Path store = Files.createTempDirectory(Files.createDirectories(dir), "s3mock-data-" + port + "-");
                cmd.addAll(List.of("-jar", jar.toString(), "--http.port=" + port, "--server.port=" + freePort(),
                        "--server.address=127.0.0.1",
                        "--com.adobe.testing.s3mock.store.initial-buckets=" + BUCKET,
                        "--com.adobe.testing.s3mock.store.root=" + store.toAbsolutePath(),
                        "--com.adobe.testing.s3mock.store.retain-files-on-exit=false",
                        "--com.adobe.testing.s3mock.max-payload-size=128MB",
                        "--spring.main.banner-mode=off"));
            } else {
                // A fresh directory per start: S3Proxy refuses to create a bucket its directory already holds
                // (BucketAlreadyOwnedByYou), which failed a start that got an earlier run's port again.
                Path data = Files.createTempDirectory(Files.createDirectories(dir), "s3proxy-data-" + port + "-");
                Path props = dir.resolve("s3proxy-" + port + ".properties");
                Files.writeString(props, String.join("\n",
                        "s3proxy.endpoint=http://127.0.0.1:" + port,
                        "s3proxy.authorization=aws-v2-or-v4",
                        "s3proxy.identity=" + ACCESS_KEY,
                        "s3proxy.credential=" + SECRET_KEY,
                        "jclouds.provider=filesystem-nio2",
                        "jclouds.filesystem.basedir=" + data.toAbsolutePath(), ""), StandardCharsets.UTF_8);
                cmd.addAll(List.of("-jar", jar.toString(), "--properties", props.toString()));
            }
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Thread hook = new Thread(p::destroyForcibly, "stop-" + kind);
            Runtime.getRuntime().addShutdownHook(hook);
            Server s = new Server(kind, URI.create("http://127.0.0.1:" + port), p, log, hook);
            try {
                waitUntilUp(s);
                if (kind == Kind.S3PROXY) {
                    try (S3AsyncClient c = s.client()) {
                        c.createBucket(b -> b.bucket(BUCKET)).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                    }
                }
            } catch (Exception | AssertionError e) {
                s.close();
                throw e;
            }
            LOG.info("{} up at {} in {} ms", kind, s.endpoint(), (System.nanoTime() - t0) / 1_000_000);
            return s;
        } catch (Exception e) {
            throw new IllegalStateException("could not start " + kind + ": " + e.getMessage(), e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return ss.getLocalPort();
        }
    }

    private static void waitUntilUp(Server s) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        while (System.nanoTime() < deadline) {
            if (!s.process().isAlive()) {
                throw new IllegalStateException(s.kind() + " exited with " + s.process().exitValue() + ":\n" + tail(s.log()));
            }
            try (Socket sock = new Socket()) {
                sock.connect(new InetSocketAddress("127.0.0.1", s.endpoint().getPort()), 500);
            } catch (IOException notYet) {
                Thread.sleep(200);
                continue;
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(s.endpoint().resolve("/")).timeout(Duration.ofSeconds(20))
                        .GET().build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() > 0) {
                    return;
                }
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException(s.kind() + " did not answer within " + START_TIMEOUT + ":\n" + tail(s.log()));
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** One running server; closing it stops the child JVM. */
    public record Server(Kind kind, URI endpoint, Process process, Path log, Thread hook)
            implements ExtensionContext.Store.CloseableResource {

        /** Options for this server, objects under {@code keyPrefix}. */
        public S3StorageOptions.Builder options(String keyPrefix) {
            return options(endpoint, keyPrefix);
        }

        /** Options for this server reached through {@code via} (e.g. a fault-injecting proxy). */
        public S3StorageOptions.Builder options(URI via, String keyPrefix) {
            return S3StorageOptions.builder(BUCKET).endpoint(via).pathStyle(true).region(Region.US_EAST_1)
                    .staticCredentials(ACCESS_KEY, SECRET_KEY).keyPrefix(keyPrefix);
        }

        /** A plain CRT client on this server (for set-up and inspection). */
        public S3AsyncClient client() {
            return S3Storage.crtClient(options("").build());
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        }
    }
}
