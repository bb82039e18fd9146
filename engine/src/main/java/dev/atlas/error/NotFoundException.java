package dev.atlas.error;

/** A named array, dataset, object or file set does not exist (or is deleted). */
public class NotFoundException extends AtlasException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String message) {
        super(message);
    }
}
