package dev.atlas.peers;

import java.nio.file.Path;
import java.util.List;

/**
 * One system under test, driven through its public API the way its documentation shows. Every
 * array is float32, little-endian, C order, chunked in the given chunk shape and compressed with
 * the given codec.
 */
interface ArrayStore extends AutoCloseable {
    /** The codecs of the comparison. */
    enum Codec {
        ZSTD3("zstd-3"), LZ4("lz4");

        final String label;

        Codec(String label) {
            this.label = label;
        }
    }

    String name();

    /** Writes {@code f} as one array in {@code dir} (which exists and is empty), durable on return. */
    void write(Path dir, Field f, int[] chunk, Codec codec) throws Exception;

    /** Opens the array written by {@link #write} for reads. */
    Reader open(Path dir) throws Exception;

    /**
     * Writes {@code fields.size()} small arrays (dataset {@code i} holds {@code fields.get(i)}),
     * {@code parallelism} at a time, in the system's idiomatic layout for many datasets.
     */
    void writeMany(Path dir, List<Field> fields, int[] chunk, Codec codec, int parallelism) throws Exception;

    /**
     * Opens the datasets written by {@link #writeMany} and reads the same region of each,
     * {@code parallelism} at a time; result {@code i} belongs to dataset {@code i}.
     */
    List<Region> readMany(Path dir, int n, long[] start, int[] shape, int parallelism) throws Exception;

    @Override
    default void close() throws Exception {
    }

    /** An open array. */
    interface Reader extends AutoCloseable {
        /** Reads a region; {@code parallel}: the caller wants this one read as fast as possible. */
        Region read(long[] start, int[] shape, boolean parallel) throws Exception;

        /**
         * Runs {@code reads.length} reads of {@code shape} with {@code inFlight} outstanding,
         * handing each result to {@code check} (then releasing it). Blocking peers use a pool of
         * {@code inFlight} threads.
         */
        void readMany(long[][] reads, int[] shape, int inFlight, ReadCheck check) throws Exception;

        @Override
        void close() throws Exception;
    }

    /** A region read, in C order. */
    interface Region extends AutoCloseable {
        float at(int flatIndex);

        @Override
        default void close() {
        }
    }

    @FunctionalInterface
    interface ReadCheck {
        void check(int readIndex, Region r);
    }
}
