package dev.atlas.error;

/** A storage backend failed; {@link #retryable()} tells whether repeating the call may succeed. */
public class StorageException extends AtlasException {
    private static final long serialVersionUID = 1L;
    private final boolean retryable;

    public StorageException(String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
    }

    public StorageException(String message, boolean retryable) {
        this(message, retryable, null);
    }

    /** True when the failure is transient (throttling, 5xx, reset connection). */
    public boolean retryable() {
        return retryable;
    }
}
