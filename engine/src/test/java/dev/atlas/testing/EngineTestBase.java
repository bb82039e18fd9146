package dev.atlas.testing;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.runtime.EngineResources;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** Engine resources (two codec and two I/O threads, the pooled allocator with block-sized buffers recycled) and a spill directory per test class. */
public abstract class EngineTestBase {
    protected static EngineResources resources;

    @TempDir
    protected static Path tmp;

    @BeforeAll
    public static void startEngine() {
        resources = EngineResources.create(2, 2, dev.atlas.buffer.BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT));
    }

    @AfterAll
    public static void stopEngine() {
        resources.disposeLater().block(TIMEOUT);
    }
}
