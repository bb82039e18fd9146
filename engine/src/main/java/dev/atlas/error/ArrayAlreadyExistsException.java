package dev.atlas.error;

/** The dataset already declares an array of that name. */
public class ArrayAlreadyExistsException extends AlreadyExistsException {
    private static final long serialVersionUID = 1L;

    public ArrayAlreadyExistsException(String message) {
        super(message);
    }
}
