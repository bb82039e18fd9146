package dev.atlas.examples.netcdf;

import io.jhdf.filter.PipelineFilterWithData;
import java.util.Arrays;
import java.util.List;

/**
 * HDF5's Fletcher-32 checksum filter (filter id 3), verified here because jHDF 0.13 passes the
 * bytes through unchecked ("Fletcher 32 checksum will not be verified"). The filter appends the
 * checksum of its input as 4 little-endian bytes. Where it sits in the pipeline decides what it
 * covers: last (netCDF-C's and h5py's order: after shuffle and deflate) it covers the stored,
 * compressed bytes; first, the raw values, and jHDF's decoded chunk then ends with those 4 bytes.
 * The sum is HDF5's ({@code H5_checksum_fletcher32}): 16-bit big-endian words, both sums folded
 * every 360 words; HDF5 1.6.0-1.6.2 wrote it byte-swapped, which HDF5 still accepts, and so do we.
 */
final class Fletcher32 {
    /** The dataset has no Fletcher-32 filter (or one in the middle of the pipeline: not verified). */
    static final int NONE = 0;
    /** Fletcher-32 is the last filter written: it covers the stored bytes. */
    static final int LAST = 1;
    /** Fletcher-32 is the first filter written: it covers the values. */
    static final int FIRST = 2;
    private static final int FILTER_ID = 3;

    private Fletcher32() {
    }

    /** Where the checksum sits in {@code filters} (in the order they were applied when writing). */
    static int position(List<PipelineFilterWithData> filters) {
        for (int i = 0; i < filters.size(); i++) {
            if (filters.get(i).getId() == FILTER_ID) {
                return i == filters.size() - 1 ? LAST : i == 0 ? FIRST : NONE;
            }
        }
        return NONE;
    }

    /**
     * Checks that the first {@code length - 4} bytes of {@code bytes} sum to the 4 bytes after them.
     *
     * @throws NcImporter.ImportException naming the chunk when they do not (damaged data)
     */
    static void verify(byte[] bytes, int length, long[] chunk) {
        if (length < 4) {
            throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(chunk) + " is too short ("
                    + length + " bytes) for its Fletcher-32 checksum", null);
        }
        int n = length - 4;
        int stored = (bytes[n] & 0xFF) | (bytes[n + 1] & 0xFF) << 8 | (bytes[n + 2] & 0xFF) << 16 | (bytes[n + 3] & 0xFF) << 24;
        int sum = sum(bytes, n);
        if (stored != sum && stored != Integer.reverseBytes(sum)) {
            throw new NcImporter.ImportException(String.format("the HDF5 chunk at %s fails its Fletcher-32 checksum "
                    + "(stored %08x, computed %08x): the file is damaged", Arrays.toString(chunk), stored, sum), null);
        }
    }

    /** HDF5's Fletcher-32 of {@code bytes[0, length)}. */
    static int sum(byte[] bytes, int length) {
        long sum1 = 0;
        long sum2 = 0;
        int p = 0;
        int words = length / 2;
        while (words > 0) {
            int block = Math.min(words, 360);
            words -= block;
            for (int i = 0; i < block; i++) {
                sum1 += (bytes[p] & 0xFF) << 8 | bytes[p + 1] & 0xFF;
                p += 2;
                sum2 += sum1;
            }
            sum1 = (sum1 & 0xFFFF) + (sum1 >>> 16);
            sum2 = (sum2 & 0xFFFF) + (sum2 >>> 16);
        }
        if ((length & 1) != 0) {
            sum1 += (bytes[p] & 0xFF) << 8;
            sum2 += sum1;
            sum1 = (sum1 & 0xFFFF) + (sum1 >>> 16);
            sum2 = (sum2 & 0xFFFF) + (sum2 >>> 16);
        }
        sum1 = (sum1 & 0xFFFF) + (sum1 >>> 16);
        sum2 = (sum2 & 0xFFFF) + (sum2 >>> 16);
        return (int) (sum2 << 16 | sum1);
    }
}
