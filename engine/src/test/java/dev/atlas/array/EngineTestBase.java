package dev.atlas.array;

import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** Engine resources (two codec and two I/O threads, the pooled allocator) and a spill directory per test class. */
abstract class EngineTestBase {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    static EngineResources resources;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void startEngine() {
        resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
    }

    @AfterAll
    static void stopEngine() {
        resources.disposeLater().block(TIMEOUT);
    }
}
