package dev.atlas.error;

/**
 * A mutation on a handle opened read-only (as of an older layer). A subclass of
 * {@link InvalidArgumentException}, as which it was always reported.
 */
public class ReadOnlyException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public ReadOnlyException(String message) {
        super(message);
    }
}
