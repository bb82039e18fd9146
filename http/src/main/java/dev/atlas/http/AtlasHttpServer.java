package dev.atlas.http;

import dev.atlas.error.AtlasException;
import dev.atlas.store.Atlas;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * A reactor-netty server of its own for the {@link AtlasRoutes} of a store: its event loops, bound
 * to {@link ServerOptions#host()}:{@link ServerOptions#port()}. A service that already runs a
 * reactor-netty server mounts {@link AtlasRoutes} on it instead (see there for the routes, errors,
 * threading and memory).
 *
 * <p>The server does not own the {@link Atlas}: {@link #close()} stops serving and leaves the store
 * open; close the store (and its engine resources) after the server.
 */
public final class AtlasHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AtlasHttpServer.class);
    /** How long {@link #start} waits for the port to bind. */
    private static final Duration BIND_TIMEOUT = Duration.ofSeconds(30);

    private final ServerOptions options;
    private final AtlasRoutes routes;
    private final LoopResources loops;
    private volatile DisposableServer server;

    private AtlasHttpServer(Atlas atlas, ServerOptions options) {
        this.options = options;
        this.routes = AtlasRoutes.create(atlas, options);
        this.loops = LoopResources.create("atlas-http", 1, Math.max(1, Runtime.getRuntime().availableProcessors()), true);
    }

    /**
     * Starts serving {@code atlas} and returns once the port is bound. Call it from a thread that
     * may block (it waits for the bind), not from an event loop.
     *
     * @param atlas the store to serve; not owned (close it after the server)
     * @throws AtlasException if the address cannot be bound (reactor-netty's failure is the cause)
     */
    public static AtlasHttpServer start(Atlas atlas, ServerOptions options) {
        AtlasHttpServer s = new AtlasHttpServer(atlas, options);
        try {
            s.server = s.routes.configure(HttpServer.create()
                            .host(options.host())
                            .port(options.port())
                            .runOn(s.loops))
                    .handle(s.routes::handle)
                    .bindNow(BIND_TIMEOUT);
        } catch (RuntimeException e) {
            s.loops.dispose();
            s.routes.close();
            throw new AtlasException("cannot listen on " + options.host() + ":" + options.port() + ": " + bindProblem(e), e);
        }
        LOG.info("serving {} datasets on {}", atlas.datasetCount(), s.baseUrl());
        return s;
    }

    /** What went wrong binding: the innermost message (reactor-netty wraps the socket's error). */
    private static String bindProblem(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    /** The bound port (the chosen one when the options said 0). */
    public int port() {
        return ((java.net.InetSocketAddress) server.address()).getPort();
    }

    /** {@code http://host:port} with the bound port (and the base path, if any). */
    public String baseUrl() {
        String host = options.host();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return "http://" + host + ":" + port() + options.basePath();
    }

    /** The routes this server serves. */
    public AtlasRoutes routes() {
        return routes;
    }

    /** The registry holding the server's meters (the one given in the options, or its own Prometheus one). */
    public MeterRegistry meterRegistry() {
        return routes.meterRegistry();
    }

    /** Bytes of array data handed to the network so far (binary responses). */
    public long bytesSent() {
        return routes.bytesSent();
    }

    /**
     * Stops accepting, closes connections and releases the server's threads; blocks until done
     * (call it from a thread that may block). Does not close the store. Idempotent.
     */
    @Override
    public void close() {
        DisposableServer s = server;
        if (s != null && !s.isDisposed()) {
            s.disposeNow(Duration.ofSeconds(30));
        }
        loops.disposeLater().block(Duration.ofSeconds(30));
        routes.close();
    }
}
