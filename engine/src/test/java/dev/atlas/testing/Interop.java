package dev.atlas.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Locates the interop corpus ({@code ../shared/interop} beside the checkout, or
 * {@code ATLAS_INTEROP_DIR}). Under {@code CI=true} a missing corpus fails the test; elsewhere it
 * skips it, visibly.
 */
public final class Interop {
    private Interop() {
    }

    /** The corpus root, or a failed/skipped test when it is absent. */
    public static Path root() {
        String env = System.getenv("ATLAS_INTEROP_DIR");
        Path p = env != null ? Paths.get(env) : Paths.get("..", "..", "shared", "interop");
        if (!Files.isDirectory(p)) {
            p = Paths.get("..", "shared", "interop");
        }
        boolean present = Files.isDirectory(p.resolve("array-format"));
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("interop corpus missing at " + p.toAbsolutePath() + " (CI=true requires it)");
        }
        assumeTrue(present, "interop corpus not found at " + p.toAbsolutePath());
        return p.normalize();
    }
}
