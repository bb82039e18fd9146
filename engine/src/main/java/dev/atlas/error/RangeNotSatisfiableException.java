package dev.atlas.error;

/** A range read asked for bytes past the end of an object. */
public class RangeNotSatisfiableException extends AtlasException {
    private static final long serialVersionUID = 1L;

    public RangeNotSatisfiableException(String key, long offset, long length, long size) {
        super("range [" + offset + ", " + (offset + length) + ") of '" + key + "' is outside its " + size + " bytes");
    }
}
