package dev.atlas.error;

/**
 * A handle (an array file, an array, a fragment or a read target) was used after it was closed or
 * released. A subclass of {@link InvalidArgumentException}: using a closed handle is the caller's
 * mistake. (Before this type, a closed {@code ArrayFile} was already an
 * {@code InvalidArgumentException}; a closed {@code NdArray}, {@code ChunkFragment} or read target
 * raised {@code IllegalStateException}.)
 */
public class ClosedHandleException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public ClosedHandleException(String message) {
        super(message);
    }
}
