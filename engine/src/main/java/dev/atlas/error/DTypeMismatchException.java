package dev.atlas.error;

import dev.atlas.format.DType;

/** A read or write named a dtype other than the array's stored dtype. */
public class DTypeMismatchException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public DTypeMismatchException(String array, DType expected, DType actual) {
        super("array '" + array + "' has dtype " + expected + ", not " + actual);
    }
}
