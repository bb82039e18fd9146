package dev.atlas.storage.s3;

/** The storage contract on S3Proxy (filesystem backend, SigV4 checked) through the CRT client. */
class S3ProxyContractTest extends S3ContractBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3PROXY;
    }
}
