package dev.atlas.array;

import dev.atlas.error.InvalidArgumentException;
import java.util.Objects;

/** Immutable options of an {@link ArrayFile}; build with {@link #builder(EngineResources)}. */
public final class ArrayFileOptions {
    /** Blocks fetched and decoded at once by one read: enough to overlap storage latency with decoding. */
    public static final int DEFAULT_READ_CONCURRENCY = 16;
    /** Bytes of a layer's tail read speculatively on open; usually holds trailer and footer in one request. */
    public static final int DEFAULT_TAIL_READ = 64 * 1024;

    private final EngineResources resources;
    private final int readConcurrency;
    private final int tailRead;

    private ArrayFileOptions(Builder b) {
        this.resources = b.resources;
        this.readConcurrency = b.readConcurrency;
        this.tailRead = b.tailRead;
    }

    public static Builder builder(EngineResources resources) {
        return new Builder(resources);
    }

    public EngineResources resources() {
        return resources;
    }

    public int readConcurrency() {
        return readConcurrency;
    }

    public int tailRead() {
        return tailRead;
    }

    /** Builder of {@link ArrayFileOptions}. */
    public static final class Builder {
        private final EngineResources resources;
        private int readConcurrency = DEFAULT_READ_CONCURRENCY;
        private int tailRead = DEFAULT_TAIL_READ;

        private Builder(EngineResources resources) {
            this.resources = Objects.requireNonNull(resources, "resources");
        }

        /** Blocks one read fetches and decodes concurrently (1..1024). */
        public Builder readConcurrency(int n) {
            if (n < 1 || n > 1024) {
                throw new InvalidArgumentException("readConcurrency must be 1..1024, not " + n);
            }
            this.readConcurrency = n;
            return this;
        }

        /** Speculative tail read on open, in bytes (at least the 12-byte trailer). */
        public Builder tailRead(int bytes) {
            if (bytes < 12) {
                throw new InvalidArgumentException("tailRead must be at least 12 bytes, not " + bytes);
            }
            this.tailRead = bytes;
            return this;
        }

        public ArrayFileOptions build() {
            return new ArrayFileOptions(this);
        }
    }
}
