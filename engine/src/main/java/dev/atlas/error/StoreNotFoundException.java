package dev.atlas.error;

/** No registry object exists at a store location (and creating was not asked for). */
public class StoreNotFoundException extends NotFoundException {
    private static final long serialVersionUID = 1L;

    public StoreNotFoundException(String message) {
        super(message);
    }
}
