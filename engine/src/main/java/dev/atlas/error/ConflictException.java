package dev.atlas.error;

/**
 * Another writer changed the same object first (e.g. created the sidecar this flush meant to
 * create). Nothing of this operation was committed; reopen to see the other writer's changes.
 */
public class ConflictException extends AtlasException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message, Throwable cause) {
        super(message, cause);
    }
}
