package dev.atlas.testing;

import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test whose run leaked a Netty buffer. Registered for every test by JUnit's extension
 * auto-detection (see {@code junit-platform.properties} and the service file in the engine's test
 * jar). Leaks reported before the test started are attributed to "an earlier test" and fail too.
 */
public final class LeakCheckExtension implements BeforeEachCallback, AfterEachCallback {

    @Override
    public void beforeEach(ExtensionContext context) {
        if (!LeakTracker.installed()) {
            LeakTracker.install();
        }
        List<String> earlier = LeakTracker.collect();
        if (!earlier.isEmpty()) {
            throw new AssertionError(earlier.size() + " buffer leak(s) from an earlier test:\n" + String.join("\n", earlier));
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        List<String> leaks = LeakTracker.collect();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " buffer leak(s) in " + context.getDisplayName() + ":\n"
                    + String.join("\n", leaks));
        }
    }
}
