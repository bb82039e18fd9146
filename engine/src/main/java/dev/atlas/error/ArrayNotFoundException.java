package dev.atlas.error;

/** A dataset does not declare the named array (or no listed dataset does). */
public class ArrayNotFoundException extends NotFoundException {
    private static final long serialVersionUID = 1L;

    public ArrayNotFoundException(String message) {
        super(message);
    }
}
