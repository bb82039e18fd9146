package dev.atlas.error;

/**
 * The object at a key is no longer the version an operation named: a version-checked range read
 * ({@code Storage.read(key, offset, length, version)}) found another object there (or none), or a
 * compare-and-swap write ({@code Storage.putIfMatch}) found another version than the one it was to
 * replace. Inside the engine it is a signal to refresh and re-plan; it reaches a caller only when
 * that kept failing, and then repeating the call later may succeed ({@link #retryable()} is true).
 */
public class ObjectChangedException extends StorageException {
    private static final long serialVersionUID = 1L;
    private final String key;

    public ObjectChangedException(String key, String message, Throwable cause) {
        super(message, true, cause);
        this.key = key;
    }

    public ObjectChangedException(String key, String message) {
        this(key, message, null);
    }

    /** The key of the object that changed. */
    public String key() {
        return key;
    }
}
