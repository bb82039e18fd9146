package dev.atlas.error;

/**
 * Root of every exception the engine raises on purpose. Unchecked, so that it can travel through
 * Reactor signals unchanged; messages name the object, key, range or value involved.
 */
public class AtlasException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AtlasException(String message) {
        super(message);
    }

    public AtlasException(String message, Throwable cause) {
        super(message, cause);
    }
}
