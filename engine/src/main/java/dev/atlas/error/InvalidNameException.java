package dev.atlas.error;

/** A dataset or array name breaks the store's name rules. */
public class InvalidNameException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidNameException(String message) {
        super(message);
    }
}
