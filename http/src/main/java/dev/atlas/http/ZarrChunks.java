package dev.atlas.http;

import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Zarr chunk keys and chunk bytes. Our chunk grid is the Zarr chunk grid: chunk {@code (i, j, k)}
 * covers {@code [i*c0, (i+1)*c0) x ...} clipped to the array, and Zarr wants every chunk, the edge
 * ones included, as the full chunk shape: cells beyond the array's edge hold the fill value.
 */
final class ZarrChunks {
    private ZarrChunks() {
    }

    /** The cells one chunk covers: {@code start}, the clipped {@code shape} inside the array, and the {@code full} chunk shape. */
    record Box(long[] index, long[] start, long[] shape, long[] full) {
        /** Elements of the full chunk. */
        long fullElements() {
            long n = 1;
            for (long c : full) {
                n *= c;
            }
            return n;
        }

        /** Whether the chunk lies wholly inside the array (no padding). */
        boolean whole() {
            return Arrays.equals(shape, full);
        }
    }

    /**
     * The chunk indices a key names: {@code rank} non-negative decimal integers joined by
     * {@code separator} after {@code prefix} ({@code ""} for v2, {@code "c"} for v3, whose keys
     * start {@code c.}); a rank-0 array's only chunk is {@code "0"} (v2) or {@code "c"} (v3).
     *
     * @return the indices, or null when {@code key} is not such a key (a key the store does not hold)
     */
    static long[] parseKey(String key, int rank, String prefix) {
        String body = key;
        if (!prefix.isEmpty()) {
            if (!key.startsWith(prefix)) {
                return null;
            }
            body = key.substring(prefix.length());
            if (rank == 0) {
                return body.isEmpty() ? new long[0] : null;
            }
            if (!body.startsWith(".")) {
                return null;
            }
            body = body.substring(1);
        } else if (rank == 0) {
            return body.equals("0") ? new long[0] : null;
        }
        String[] parts = body.split("\\.", -1);
        if (parts.length != rank) {
            return null;
        }
        long[] idx = new long[rank];
        for (int i = 0; i < rank; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 18) {
                return null;
            }
            for (int c = 0; c < p.length(); c++) {
                if (p.charAt(c) < '0' || p.charAt(c) > '9') {
                    return null;
                }
            }
            idx[i] = Long.parseLong(p);
        }
        return idx;
    }

    /**
     * The box of chunk {@code index} of an array of {@code shape} with chunk shape {@code chunks}
     * (every extent at least 1), or null when the chunk lies outside the grid.
     */
    static Box box(long[] shape, long[] chunks, long[] index) {
        int rank = shape.length;
        long[] start = new long[rank];
        long[] clipped = new long[rank];
        for (int d = 0; d < rank; d++) {
            if (index[d] > (Long.MAX_VALUE - 1) / chunks[d]) {
                return null;
            }
            start[d] = index[d] * chunks[d];
            if (start[d] >= shape[d]) {
                return null;
            }
            clipped[d] = Math.min(chunks[d], shape[d] - start[d]);
        }
        return new Box(index.clone(), start, clipped, chunks.clone());
    }

    /**
     * The full chunk's bytes: {@code data} (the clipped region in C order) placed at the origin of a
     * chunk of the full shape whose other cells hold {@code fill} (one element's bytes).
     *
     * @param data the clipped region's bytes, read from its reader index; not released (the caller owns it)
     * @param elem bytes per element
     * @param fill one fill element's bytes; may be null when the chunk is {@linkplain Box#whole() whole}
     */
    static byte[] padded(Box box, ByteBuf data, int elem, byte[] fill) {
        long total = box.fullElements() * elem;
        if (total > Integer.MAX_VALUE - 16) {
            throw ApiError.tooLarge("chunk", "chunk " + Arrays.toString(box.index()) + " holds " + total
                    + " bytes, more than one answer carries");
        }
        byte[] out = new byte[(int) total];
        int from = data.readerIndex();
        if (box.whole()) {
            data.getBytes(from, out);
            return out;
        }
        for (int i = 0; i < out.length; i += elem) {
            System.arraycopy(fill, 0, out, i, elem);
        }
        int rank = box.full().length;
        // Copy the clipped region row by row (a row: the innermost axis), into the full chunk's layout.
        long[] dstStride = new long[rank];
        long s = elem;
        for (int d = rank - 1; d >= 0; d--) {
            dstStride[d] = s;
            s *= box.full()[d];
        }
        int row = (int) (box.shape()[rank - 1] * elem);
        long rows = 1;
        for (int d = 0; d < rank - 1; d++) {
            rows *= box.shape()[d];
        }
        long[] at = new long[rank];
        for (long r = 0; r < rows; r++) {
            long dst = 0;
            for (int d = 0; d < rank - 1; d++) {
                dst += at[d] * dstStride[d];
            }
            data.getBytes(from + (int) (r * row), out, (int) dst, row);
            for (int d = rank - 2; d >= 0; d--) {
                if (++at[d] < box.shape()[d]) {
                    break;
                }
                at[d] = 0;
            }
        }
        return out;
    }

    /**
     * A chunk of variable-length elements in numcodecs' {@code VLenUTF8} / {@code VLenBytes}
     * encoding: the item count of the full chunk shape (int32 LE), then per item its byte length
     * (int32 LE) and its bytes (UTF-8 for String). The clipped region's elements go to their places
     * in the full chunk (C order); the cells beyond the array's edge are empty items.
     *
     * @param a the clipped region's elements (String or Binary); not closed (the caller owns it)
     */
    static byte[] variableLength(Box box, NdArray a) {
        long full = box.fullElements();
        if (full > Integer.MAX_VALUE / 4 - 4) {
            throw ApiError.tooLarge("chunk", "chunk " + Arrays.toString(box.index()) + " holds " + full
                    + " elements, more than one answer carries");
        }
        byte[][] items = new byte[(int) full][];
        boolean string = a.dtype().kind() == DType.Kind.STRING;
        int rank = box.full().length;
        long[] at = new long[rank];
        long n = a.size();
        long total = 4 + 4 * full;
        for (long k = 0; k < n; k++) {
            // The C-order index of the clipped cell k in the full chunk.
            long dst = 0;
            for (int d = 0; d < rank; d++) {
                dst = dst * box.full()[d] + at[d];
            }
            byte[] b = string ? a.getString(k).getBytes(StandardCharsets.UTF_8) : a.getBinary(k);
            items[(int) dst] = b;
            total += b.length;
            for (int d = rank - 1; d >= 0; d--) {
                if (++at[d] < box.shape()[d]) {
                    break;
                }
                at[d] = 0;
            }
        }
        if (total > Integer.MAX_VALUE - 16) {
            throw ApiError.tooLarge("chunk", "chunk " + Arrays.toString(box.index()) + " holds " + total
                    + " bytes, more than one answer carries");
        }
        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt((int) full);
        for (byte[] b : items) {
            if (b == null) {
                out.putInt(0);
            } else {
                out.putInt(b.length).put(b);
            }
        }
        return out.array();
    }
}
