package dev.atlas.error;

/**
 * Stored bytes do not decode: a truncated or damaged layer, footer, stats file, block or chunk.
 * The message names the file (object key) and what is wrong with it.
 */
public class CorruptFileException extends AtlasException {
    private static final long serialVersionUID = 1L;
    private final String file;

    public CorruptFileException(String file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public CorruptFileException(String file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The object key or path of the damaged file (may be a description such as {@code "<footer>"}). */
    public String file() {
        return file;
    }
}
