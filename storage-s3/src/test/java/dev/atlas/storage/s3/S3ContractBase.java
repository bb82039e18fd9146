package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.runtime.EngineResources;
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

    private static FaultProxy proxy;

    abstract S3Servers.Kind kind();

    /** True to reach the server through a {@link FaultProxy} that injects no faults (it must forward faithfully). */
    boolean throughProxy() {
        return false;
    }

    /**
     * S3Mock 5.2.3 checks {@code If-None-Match: *} non-atomically: in one CI run two of 16
     * concurrent creates both won through the proxy. Real S3 and the S3Proxy lane keep the
     * strict test.
     */
    @Override
    protected boolean atomicCreateIfAbsent() {
        return kind() != S3Servers.Kind.S3MOCK;
    }

    /**
     * S3Mock and S3Proxy check {@code If-Match} and then write, as two steps: concurrent
     * compare-and-swaps naming one version can both succeed (measured: 2-4 winners of 8). AWS S3
     * decides them atomically. The store's commit lease covers this (see CommitLock).
     */
    @Override
    protected boolean atomicCompareAndSwap() {
        return false;
    }

    @BeforeEach
    void openStore() {
        if (store == null) {
            resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
            S3StorageOptions.Builder options = S3Servers.get(kind()).options("contract-" + UUID.randomUUID() + "/");
            if (throughProxy()) {
                proxy = FaultProxy.start(S3Servers.get(kind()).endpoint(), 1);
                options.endpoint(proxy.endpoint());
            }
            store = S3Storage.open(options.build(), resources);
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
        if (proxy != null) {
            proxy.close();
            proxy = null;
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
