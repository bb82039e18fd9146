package dev.atlas.storage.s3;

/** S3-specific behaviour on Adobe S3Mock. */
class S3MockBehaviourTest extends S3BehaviourBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3MOCK;
    }

    /**
     * S3Mock 5.2.3 deletes a key's object when an upload to that key is aborted, so the losers'
     * aborts removed the winner's object (HEAD then 404); in another run one of three concurrent
     * completions failed with 400 InvalidPart.
     */
    @Override
    boolean concurrentMultipartUploadsOfOneKey() {
        return false;
    }
}
