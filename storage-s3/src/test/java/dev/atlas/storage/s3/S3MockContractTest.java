package dev.atlas.storage.s3;

/** The storage contract on Adobe S3Mock through the CRT client. */
class S3MockContractTest extends S3ContractBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3MOCK;
    }
}
