package dev.atlas.storage.s3;

import org.junit.jupiter.api.AfterAll;

/** The storage contract on S3Mock through the fault proxy with no faults: the proxy forwards faithfully. */
class S3MockViaProxyContractTest extends S3ContractBase {
    private static FaultProxy proxy;

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
