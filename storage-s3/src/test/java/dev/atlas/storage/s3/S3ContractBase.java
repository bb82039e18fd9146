package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.array.EngineResources;
import dev.atlas.storage.Storage;
import dev.atlas.testing.StorageContract;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The storage contract against one real S3 server through the CRT client. One store (one CRT
 * client) per class; each test works under its own key prefix, which is as good as an empty store.
 */
@ExtendWith(S3Servers.class)
abstract class S3ContractBase extends StorageContract {
    static EngineResources resources;
    static S3Storage store;
    private static final AtomicInteger TESTS = new AtomicInteger();
    private String prefix;

    abstract S3Servers.Kind kind();

    /** Server-specific options on top of the defaults. */
    S3StorageOptions.Builder customize(S3StorageOptions.Builder b) {
        return b;
    }

    @BeforeEach
    void openStore() {
        if (store == null) {
            resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
            store = S3Storage.open(customize(S3Servers.get(kind()).options("contract-" + UUID.randomUUID() + "/")).build(),
                    resources);
        }
        prefix = "t" + TESTS.incrementAndGet() + "/";
    }

    @AfterAll
    static void closeStore() {
        if (store != null) {
            store.close();
            store = null;
            resources.disposeLater().block(TIMEOUT);
        }
    }

    @Override
    protected Storage storage() {
        return store;
    }

    @Override
    protected String prefix() {
        return prefix;
    }
}
