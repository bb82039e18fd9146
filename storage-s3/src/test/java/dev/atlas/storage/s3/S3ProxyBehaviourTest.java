package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.StorageContract.body;
import static dev.atlas.testing.StorageContract.bytes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** S3-specific behaviour on S3Proxy (filesystem backend, SigV4 checked): explicit multipart works there. */
class S3ProxyBehaviourTest extends S3BehaviourBase {
    @Override
    S3Servers.Kind kind() {
        return S3Servers.Kind.S3PROXY;
    }

    /**
     * Not on S3Mock: S3Mock 5.2.3 deletes a key's existing object when an upload to that key is
     * aborted (checked by hand with curl), which real S3 and S3Proxy do not.
     */
    @Test
    void aFailedMultipartReplaceKeepsTheOldObject() throws InterruptedException {
        byte[] old = bytes(PART + 10, 11);
        store.put("replace.bin", body(old, 1 << 20)).block(TIMEOUT);
        StepVerifier.create(store.put("replace.bin", body(bytes(2 * PART + 5, 12), 1 << 20)
                        .concatWith(Mono.error(new IllegalStateException("producer died")))))
                .expectError(IllegalStateException.class).verify(TIMEOUT);
        assertArrayEquals(old, read(store, "replace.bin", 0, old.length));
        awaitNoPendingUploads("");
    }
}
