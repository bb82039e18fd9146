package dev.atlas.http;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warns, once per JVM, when the reactor-netty on the class path predates 1.3.8. Before it, an
 * HTTP/1.1 keep-alive connection whose next request arrives while the previous handler is still
 * finishing (a fast or pipelining client) can stop being read for good: that request is never
 * answered, not even by a timeout (reactor-netty issues 4188 and 4361; {@code KeepAliveTest}).
 * Atlas is built on 1.3.8, but a Spring Boot application's own dependency management decides
 * (Boot 4.0.7 brings 1.3.6), so the version that actually runs is checked. A version the jar does
 * not state (a shaded jar) is not warned about.
 */
final class KeepAliveCheck {
    private static final Logger LOG = LoggerFactory.getLogger(KeepAliveCheck.class);
    private static final AtomicBoolean DONE = new AtomicBoolean();
    /** The first reactor-netty release with both keep-alive fixes. */
    static final int[] FIXED = {1, 3, 8};

    private KeepAliveCheck() {
    }

    /** Logs the warning the first time it is called in a JVM running an affected reactor-netty. */
    static void once() {
        if (!DONE.compareAndSet(false, true)) {
            return;
        }
        String version = reactor.netty.http.server.HttpServer.class.getPackage().getImplementationVersion();
        if (affected(version)) {
            LOG.warn("reactor-netty {} is older than 1.3.8: when this application serves HTTP on it, a keep-alive"
                    + " connection can stop being read and its next request is never answered (reactor-netty issues"
                    + " 4188, 4361). Manage io.projectreactor.netty:reactor-netty-http and reactor-netty-core at 1.3.8"
                    + " or later, with Netty 4.2.18 or later (see the Atlas Spring Boot starter's README).", version);
        }
    }

    /** Whether {@code version} (e.g. {@code 1.3.6}, {@code 1.3.8-SNAPSHOT}; null: unknown) is a release before 1.3.8. */
    static boolean affected(String version) {
        if (version == null) {
            return false;
        }
        String[] parts = version.split("[.-]");
        for (int i = 0; i < FIXED.length; i++) {
            int v;
            try {
                v = i < parts.length ? Integer.parseInt(parts[i]) : 0;
            } catch (NumberFormatException e) {
                return false; // not a version this check understands: say nothing rather than something wrong
            }
            if (v != FIXED[i]) {
                return v < FIXED[i];
            }
        }
        return false;
    }
}
