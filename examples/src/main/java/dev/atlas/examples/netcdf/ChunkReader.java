package dev.atlas.examples.netcdf;

import io.jhdf.api.Dataset;
import io.jhdf.dataset.chunked.Chunk;
import io.jhdf.filter.PipelineFilterWithData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads and decodes HDF5 chunks of the common netCDF pipelines (deflate, shuffle, Fletcher-32, in
 * any order) with positional reads of the file. jHDF 0.13 memory-maps every chunk it reads, a
 * system call per chunk that made files of small chunks (netCDF's default on record dimensions,
 * a few hundred bytes each) import at a few MiB/s; other pipelines are left to jHDF
 * ({@link #handles} says which). Thread-safe: decodes run in parallel for one Atlas chunk.
 */
final class ChunkReader implements AutoCloseable {
    private static final int DEFLATE = 1;
    private static final int SHUFFLE = 2;
    private static final int FLETCHER32 = 3;

    private final List<PipelineFilterWithData> filters;
    private final boolean handles;
    private final long base;
    private final FileChannel channel;
    private final ThreadLocal<Inflater> inflaters = ThreadLocal.withInitial(Inflater::new);

    ChunkReader(Dataset d) {
        this.filters = d.getFilters();
        this.handles = filters.stream().allMatch(f -> f.getId() == DEFLATE || f.getId() == SHUFFLE || f.getId() == FLETCHER32);
        this.base = d.getHdfFile().getUserBlockSize();
        try {
            this.channel = handles ? FileChannel.open(d.getFileAsPath(), StandardOpenOption.READ) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether this reader decodes the dataset's pipeline (else jHDF's own read is used). */
    boolean handles() {
        return handles;
    }

    /** The decoded bytes of {@code chunk} at {@code offset} (for messages); Fletcher-32 verified and removed. */
    byte[] read(Chunk chunk, long[] offset) {
        byte[] data = new byte[chunk.getSize()];
        ByteBuffer into = ByteBuffer.wrap(data);
        long position = base + chunk.getAddress();
        try {
            while (into.hasRemaining()) {
                int n = channel.read(into, position + into.position());
                if (n < 0) {
                    throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(offset) + " lies beyond the end "
                            + "of the file (truncated?)", null);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int i = filters.size() - 1; i >= 0; i--) {
            PipelineFilterWithData f = filters.get(i);
            switch (f.getId()) {
                case FLETCHER32:
                    Fletcher32.verify(data, data.length, offset);
                    data = Arrays.copyOf(data, data.length - 4);
                    break;
                case DEFLATE:
                    data = inflate(data, offset);
                    break;
                default:
                    data = unshuffle(data, f.getFilterData().length > 0 ? f.getFilterData()[0] : 1);
                    break;
            }
        }
        return data;
    }

    private byte[] inflate(byte[] data, long[] offset) {
        Inflater inflater = inflaters.get();
        inflater.reset();
        inflater.setInput(data);
        byte[] out = new byte[Math.max(64, data.length * 4)];
        int n = 0;
        try {
            while (!inflater.finished()) {
                if (n == out.length) {
                    out = Arrays.copyOf(out, out.length * 2);
                }
                int got = inflater.inflate(out, n, out.length - n);
                if (got == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(offset)
                            + " cannot be decoded (its deflate stream is truncated)", null);
                }
                n += got;
            }
        } catch (DataFormatException e) {
            throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(offset) + " cannot be decoded ("
                    + e.getMessage() + ")", e);
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    /** HDF5's byte shuffle undone: byte j of element i was stored at {@code j * elements + i}. */
    static byte[] unshuffle(byte[] data, int size) {
        if (size <= 1) {
            return data;
        }
        int elements = data.length / size;
        byte[] out = new byte[data.length];
        int p = 0;
        for (int j = 0; j < size; j++) {
            for (int i = 0; i < elements; i++) {
                out[i * size + j] = data[p++];
            }
        }
        System.arraycopy(data, p, out, p, data.length - p);   // a tail that is not a whole element
        return out;
    }

    @Override
    public void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // read-only channel: nothing to lose
            }
        }
    }
}
