package dev.atlas.error;

/**
 * Stored bytes do not decode: a truncated or damaged layer, footer, stats file, block or chunk.
 * The message names the file (object key) and what is wrong with it.
 */
public class CorruptFileException extends AtlasException {
    private static final long serialVersionUID = 1L;
    private final String file;
    private final long block;

    public CorruptFileException(String file, String problem) {
        super(file + ": " + problem);
        this.file = file;
        this.block = -1;
    }

    public CorruptFileException(String file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
        this.block = -1;
    }

    /**
     * Damage found in one block of a layer file (for instance stored bytes that fail their
     * checksum).
     *
     * @param block the block id within that file (u32)
     */
    public CorruptFileException(String file, long block, String problem) {
        super(file + ": " + problem);
        this.file = file;
        this.block = block;
    }

    /** The id of the damaged block within {@link #file()}, or -1 when the damage is not in one block. */
    public long block() {
        return block;
    }

    /** The object key or path of the damaged file (may be a description such as {@code "<footer>"}). */
    public String file() {
        return file;
    }
}
