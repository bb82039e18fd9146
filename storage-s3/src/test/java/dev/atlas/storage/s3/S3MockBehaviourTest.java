package dev.atlas.storage.s3;

/** S3-specific behaviour on Adobe S3Mock. */
class S3MockBehaviourTest extends S3BehaviourBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3MOCK;
    }
}
