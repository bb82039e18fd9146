package dev.atlas.error;

/** A dataset is not registered in the store. */
public class DatasetNotFoundException extends NotFoundException {
    private static final long serialVersionUID = 1L;

    public DatasetNotFoundException(String message) {
        super(message);
    }
}
