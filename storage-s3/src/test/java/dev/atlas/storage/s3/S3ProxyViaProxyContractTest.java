package dev.atlas.storage.s3;

import org.junit.jupiter.api.AfterAll;

/** The storage contract on S3Proxy through the fault proxy with no faults: signatures survive the hop. */
class S3ProxyViaProxyContractTest extends S3ContractBase {
    private static FaultProxy proxy;

    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3PROXY;
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
