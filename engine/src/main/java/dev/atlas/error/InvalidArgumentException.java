package dev.atlas.error;

/** A caller passed something the engine refuses: a bad name, shape, region, dtype or option. */
public class InvalidArgumentException extends AtlasException {
    private static final long serialVersionUID = 1L;

    public InvalidArgumentException(String message) {
        super(message);
    }
}
