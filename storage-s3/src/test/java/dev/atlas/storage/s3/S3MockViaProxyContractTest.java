package dev.atlas.storage.s3;

/** The storage contract on S3Mock through the fault proxy with no faults: the proxy forwards faithfully. */
class S3MockViaProxyContractTest extends S3ContractBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3MOCK;
    }

    @Override
    boolean throughProxy() {
        return true;
    }
}
