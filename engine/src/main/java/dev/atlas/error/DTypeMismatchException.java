package dev.atlas.error;

/** A read or write named a dtype other than the array's stored dtype. */
public class DTypeMismatchException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * @param array the array (and where it was found) the message names
     * @param expected the array's stored dtype, shown by its {@code toString}
     * @param actual the dtype the caller named, shown by its {@code toString}; both are typed
     *     {@code Object} so that the error package depends on no other package of the engine
     */
    public DTypeMismatchException(String array, Object expected, Object actual) {
        super("array '" + array + "' has dtype " + expected + ", not " + actual);
    }
}
