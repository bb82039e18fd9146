package dev.atlas.storage.s3;

/** The storage contract on Adobe S3Mock through the CRT client. */
class S3MockContractTest extends S3ContractBase {
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
}
