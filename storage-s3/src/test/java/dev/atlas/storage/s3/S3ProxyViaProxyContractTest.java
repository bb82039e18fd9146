package dev.atlas.storage.s3;

/** The storage contract on S3Proxy through the fault proxy with no faults: signatures survive the hop. */
class S3ProxyViaProxyContractTest extends S3ContractBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3PROXY;
    }

    @Override
    boolean throughProxy() {
        return true;
    }
}
