package dev.atlas.error;

/** Something that must be new already exists (an array name, an object written create-if-absent). */
public class AlreadyExistsException extends AtlasException {
    private static final long serialVersionUID = 1L;

    public AlreadyExistsException(String message) {
        super(message);
    }
}
