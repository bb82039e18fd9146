package dev.atlas.storage.s3;

import org.junit.jupiter.api.AfterAll;

/** The storage contract on S3Mock through the fault proxy with no faults: the proxy forwards faithfully. */
class S3MockViaProxyContractTest extends S3ContractBase {
    private static FaultProxy proxy;

    /**
     * S3Mock 5.2.3 checks {@code If-None-Match: *} non-atomically: in one CI run two of 16
     * concurrent creates both won through the proxy. Real S3 and the S3Proxy lane keep the
     * strict test.
     */
    @Override
    protected boolean atomicCreateIfAbsent() {
        return false;
    }

    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3MOCK;
    }

    @Override
    S3StorageOptions.Builder customize(S3StorageOptions.Builder b) {
        proxy = FaultProxy.start(S3Servers.get(kind()).endpoint(), 1);
        return b.endpoint(proxy.endpoint());
    }

    @AfterAll
    static void stopProxy() {
        if (proxy != null) {
            proxy.close();
        }
    }
}
