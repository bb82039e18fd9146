package dev.atlas.storage.s3;

import dev.atlas.error.StorageException;

/**
 * The server refused a conditional write ({@code If-None-Match: *} or {@code If-Match}), so
 * create-if-absent or compare-and-swap cannot be atomic there. Configure {@link S3StorageOptions.ConditionalWrites#UNSUPPORTED_SINGLE_WRITER} and
 * keep to one writer per file set, or use a server that supports conditional writes.
 */
public final class ConditionalWriteUnsupportedException extends StorageException {
    private static final long serialVersionUID = 1L;

    public ConditionalWriteUnsupportedException(String message, Throwable cause) {
        super(message, false, cause);
    }
}
