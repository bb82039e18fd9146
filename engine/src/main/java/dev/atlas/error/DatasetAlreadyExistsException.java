package dev.atlas.error;

/** A dataset of that name (or of a name equal to it ignoring case) is already registered. */
public class DatasetAlreadyExistsException extends AlreadyExistsException {
    private static final long serialVersionUID = 1L;

    public DatasetAlreadyExistsException(String message) {
        super(message);
    }
}
