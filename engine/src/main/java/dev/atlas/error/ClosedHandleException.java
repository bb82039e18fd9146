package dev.atlas.error;

/**
 * A handle (an array file, an array, a fragment or a read target) was used after it was closed or
 * released. A subclass of {@link InvalidArgumentException}: using a closed handle is the caller's
 * mistake, as it always was reported.
 */
public class ClosedHandleException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public ClosedHandleException(String message) {
        super(message);
    }
}
