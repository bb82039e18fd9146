package dev.atlas.examples.netcdf;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.store.DatasetView;
import io.jhdf.api.Dataset;
import io.jhdf.api.dataset.ChunkedDataset;
import io.jhdf.api.dataset.ContiguousDataset;
import io.jhdf.dataset.DatasetBase;
import io.jhdf.dataset.chunked.Chunk;
import io.jhdf.dataset.chunked.ChunkedDatasetBase;
import io.netty.buffer.Unpooled;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Copies one netCDF variable into an Atlas array chunk by chunk, so memory stays bounded by one
 * Atlas chunk plus one HDF5 chunk whatever the variable's size.
 *
 * <p>The Atlas chunk grid is the HDF5 chunk grid, with chunks smaller than
 * {@link #TARGET_CHUNK_BYTES} grown by whole HDF5 chunks along the slowest axes (netCDF's default
 * chunks on record dimensions are often a few bytes; one Atlas chunk per HDF5 chunk would make
 * the index larger than the data). Each Atlas chunk is assembled from the HDF5 chunks it covers:
 * written chunks are decoded by {@link ChunkReader} (deflate, shuffle and Fletcher-32 pipelines, the
 * ones netCDF-C writes) or else jHDF's public raw-chunk API ({@link ChunkedDataset#getDecompressedChunk}),
 * and copied as raw bytes (byte-swapped when the file is big-endian); chunks that were never
 * written read as the HDF5 fill value; elements beyond the HDF5 extent (a dataset shorter than
 * its unlimited dimension) as the netCDF fill value. An Atlas chunk holding only the array's fill
 * value is not written at all (Atlas reads unwritten chunks as the fill value), so a never-written
 * variable costs nothing.
 *
 * <p>jHDF 0.13 itself zero-fills unwritten chunks and has no public way to ask which chunks exist:
 * this class reads the chunk index through {@code ChunkedDatasetBase.getChunkLookup()} by
 * reflection (the one place that touches jHDF internals) and never uses jHDF's whole-dataset or
 * slice reads for chunked numeric data.
 */
public final class VariableCopier {
    /** Atlas chunks smaller than this grow by whole HDF5 chunks. */
    public static final long TARGET_CHUNK_BYTES = 1L << 20;
    /**
     * Atlas chunks are at most this large: an HDF5 chunk larger than this (one chunk for a whole
     * variable, say) is split into Atlas chunks, each copied from the one decoded HDF5 chunk.
     */
    public static final long MAX_CHUNK_BYTES = 16L << 20;
    /** Assumed bytes per string element when sizing chunks of string variables. */
    private static final int STRING_BYTES_GUESS = 16;

    private static final Method CHUNK_LOOKUP;

    static {
        try {
            CHUNK_LOOKUP = ChunkedDatasetBase.class.getDeclaredMethod("getChunkLookup");
            CHUNK_LOOKUP.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final NcModel.Variable v;
    private final Dataset d;
    private final long[] shape;
    private final long[] extent;
    private final long[] chunks;
    private final int rank;
    private final int elementSize;
    private final boolean swap;
    /** Stored as 16-bit floats: every source buffer is widened to Float32 first ({@link #source}). */
    private final boolean half;
    private final byte[] fillBytes;
    private final byte[] storedFillBytes;
    private final int[] hdfChunk;
    private final Map<Key, Chunk> written;
    /** Where the Fletcher-32 checksum sits in the filter pipeline ({@link Fletcher32#NONE} if none). */
    private final int fletcher;
    /** Positional chunk reads and the common filters, where jHDF's per-chunk memory map is slow (null: not chunked). */
    private final ChunkReader reader;
    private ByteBuffer compact;
    private long[] lastChunk;
    private ByteBuffer lastDecoded;
    private Object compactStrings;

    private VariableCopier(NcModel.Variable v) {
        this.v = v;
        this.d = v.dataset();
        this.shape = v.shape();
        this.extent = v.extent();
        this.rank = shape.length;
        this.elementSize = v.dtype() == DType.STRING ? 0 : Math.toIntExact(v.dtype().elementSize());
        this.half = NcTypes.isHalf(d.getDataType());
        this.swap = !half && elementSize > 1 && NcTypes.order(d.getDataType()) == ByteOrder.BIG_ENDIAN;
        this.fillBytes = elementSize > 0 ? NcTypes.bytes(v.fill(), v.dtype()) : null;
        this.storedFillBytes = elementSize > 0 ? NcTypes.bytes(v.storedFill(), v.dtype()) : null;
        if (d instanceof ChunkedDataset c && !d.isScalar()) {
            this.hdfChunk = c.getChunkDimensions();
            this.written = writtenChunks(c);
            this.fletcher = Fletcher32.position(d.getFilters());
            this.reader = new ChunkReader(d);
        } else {
            this.hdfChunk = null;
            this.written = null;
            this.fletcher = Fletcher32.NONE;
            this.reader = null;
        }
        this.chunks = chunkShape(v, hdfChunk);
    }

    /** Prepares the copy of {@code v} (reads its chunk index, not its values). */
    public static VariableCopier of(NcModel.Variable v) {
        return new VariableCopier(v);
    }

    /** The Atlas chunk shape this copy writes. */
    public long[] chunks() {
        return chunks.clone();
    }

    /**
     * Writes every chunk holding anything but the fill value into {@code array} of {@code ds}
     * (declared with {@link #chunks()}), blocking; calls {@code progress} with the bytes of values
     * each chunk covers (written or not).
     */
    public void copy(DatasetView ds, String array, LongConsumer progress) {
        try {
            copyChunks(ds, array, progress);
        } finally {
            if (reader != null) {
                reader.close();
            }
        }
    }

    private void copyChunks(DatasetView ds, String array, LongConsumer progress) {
        long total = 1;
        for (long s : shape) {
            total *= s;
        }
        if (total == 0) {
            return;
        }
        long[] o = new long[rank];
        while (true) {
            long[] r = new long[rank];
            long n = 1;
            for (int a = 0; a < rank; a++) {
                r[a] = Math.min(chunks[a], shape[a] - o[a]);
                n *= r[a];
            }
            if (v.dtype() == DType.STRING) {
                copyStrings(ds, array, o, r, n);
            } else {
                copyFixed(ds, array, o, r, n);
            }
            progress.accept(elementSize > 0 ? n * elementSize : n);
            int a = rank - 1;
            while (a >= 0) {
                o[a] += chunks[a];
                if (o[a] < shape[a]) {
                    break;
                }
                o[a] = 0;
                a--;
            }
            if (a < 0) {
                return;
            }
        }
    }

    private void copyFixed(DatasetView ds, String array, long[] o, long[] r, long n) {
        long[] end = inExtentEnd(o, r);
        byte[] b = new byte[Math.toIntExact(n * elementSize)];
        boolean data = false;
        boolean covered = end != null && Arrays.equals(end, add(o, r));
        if (end != null && !d.isEmpty()) {
            if (hdfChunk != null) {
                List<long[]> present = new ArrayList<>();
                List<long[]> absent = new ArrayList<>();
                forEachHdfChunk(o, end, c -> (written.containsKey(new Key(c)) ? present : absent).add(c));
                covered &= absent.isEmpty();
                if (!covered) {
                    fill(b, fillBytes);
                }
                for (long[] c : absent) {
                    if (!Arrays.equals(storedFillBytes, fillBytes)) {
                        fillBox(b, r, o, max(c, o), min(add(c, hdfChunk), end), storedFillBytes);
                        data = true;
                    }
                }
                if (present.size() > 1) {
                    // Many HDF5 chunks per Atlas chunk (netCDF's small default chunks): decoded in
                    // parallel (jHDF's chunk reads are thread-safe; each copies to its own region).
                    present.parallelStream().forEach(c -> copyChunk(c, source(ByteBuffer.wrap(decode(c))), b, r, o, end));
                } else {
                    for (long[] c : present) {
                        copyChunk(c, decodeCached(c), b, r, o, end);
                    }
                }
                data |= !present.isEmpty();
            } else if (d.isScalar()) {
                ByteBuffer all = source(((DatasetBase) d).getDataBuffer());
                copyBox(all, new long[0], new long[0], b, r, o, new long[0], new long[0]);
                data = true;
            } else if (d instanceof ContiguousDataset) {
                if (!covered) {
                    fill(b, fillBytes);
                }
                long[] inShape = sub(end, o);
                ByteBuffer slab = source(((DatasetBase) d).getSliceDataBuffer(o.clone(), toInt(inShape)));
                copyBox(slab, inShape, o, b, r, o, o, end);
                data = true;
            } else {
                if (!covered) {
                    fill(b, fillBytes);
                }
                if (compact == null) {
                    compact = source(((DatasetBase) d).getDataBuffer());
                }
                copyBox(compact, extent, new long[rank], b, r, o, o, end);
                data = true;
            }
        } else if (end != null && !Arrays.equals(storedFillBytes, fillBytes)) {
            // Allocated nowhere (never written): the in-extent part reads as the HDF5 fill value.
            fill(b, fillBytes);
            fillBox(b, r, o, o, end, storedFillBytes);
            data = true;
        }
        if (!data) {
            return;
        }
        try (NdArray a = NdArray.wrap(v.dtype(), r, Unpooled.wrappedBuffer(b))) {
            ds.writeArray(array, o, a).block();
        }
    }

    /** Copies the part of decoded HDF5 chunk {@code c} inside {@code [o, end)} into {@code b}. */
    private void copyChunk(long[] c, ByteBuffer raw, byte[] b, long[] r, long[] o, long[] end) {
        long[] dims = toLong(hdfChunk);
        if (raw.remaining() < product(dims) * elementSize) {
            throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(c) + " decodes to "
                    + raw.remaining() / elementSize + " elements, expected " + product(dims), null);
        }
        copyBox(raw, dims, c, b, r, o, max(c, o), min(add(c, hdfChunk), end));
    }

    /**
     * {@link #decode}, remembering the last chunk: an HDF5 chunk larger than
     * {@link #MAX_CHUNK_BYTES} spans several Atlas chunks, which are copied one after the other.
     */
    private ByteBuffer decodeCached(long[] c) {
        if (lastChunk != null && Arrays.equals(lastChunk, c)) {
            return lastDecoded.duplicate();
        }
        lastDecoded = null;
        lastDecoded = source(ByteBuffer.wrap(decode(c)));
        lastChunk = c.clone();
        return lastDecoded.duplicate();
    }

    /** Stored bytes as the copy reads them: as they are, or widened from 16-bit floats to Float32. */
    private ByteBuffer source(ByteBuffer stored) {
        return half ? NcTypes.widenHalf(stored, NcTypes.order(d.getDataType())) : stored;
    }

    /**
     * The decoded bytes of the written HDF5 chunk at {@code c}, its Fletcher-32 checksum verified
     * when the dataset has one (jHDF does not verify it). A chunk that skipped filters of the
     * pipeline (a set filter mask bit) is refused: jHDF would run every filter over it anyway.
     */
    private byte[] decode(long[] c) {
        Chunk chunk = written.get(new Key(c));
        java.util.BitSet mask = chunk.getFilterMask();
        if (mask != null && !mask.isEmpty()) {
            throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(c) + " skipped filters " + mask
                    + " of its pipeline, which jHDF cannot decode", null);
        }
        ChunkedDataset cd = (ChunkedDataset) d;
        if (reader != null && reader.handles()) {
            return reader.read(chunk, c);
        }
        byte[] raw;
        try {
            if (fletcher == Fletcher32.LAST) {
                ByteBuffer stored = cd.getRawChunkBuffer(toInt(c));
                byte[] bytes = new byte[stored.remaining()];
                stored.duplicate().get(bytes);
                Fletcher32.verify(bytes, bytes.length, c);
            }
            raw = cd.getDecompressedChunk(toInt(c));
        } catch (NcImporter.ImportException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new NcImporter.ImportException("the HDF5 chunk at " + Arrays.toString(c) + " cannot be decoded ("
                    + NcImporter.describe(e) + ")", e);
        }
        if (fletcher == Fletcher32.FIRST) {
            Fletcher32.verify(raw, raw.length, c);
        }
        return raw;
    }

    private void copyStrings(DatasetView ds, String array, long[] o, long[] r, long n) {
        long[] end = inExtentEnd(o, r);
        String fill = v.fill() instanceof FillValue.Str s ? s.value() : "";
        String stored = v.storedFill() instanceof FillValue.Str s ? s.value() : "";
        String[] values = new String[Math.toIntExact(n)];
        Arrays.fill(values, fill);
        boolean data = false;
        if (end != null && !d.isEmpty()) {
            if (d.isScalar()) {
                values[0] = str(firstString(d.getData()));
                data = true;
            } else if (hdfChunk != null) {
                List<long[]> boxes = new ArrayList<>();
                forEachHdfChunk(o, end, c -> boxes.add(c));
                for (long[] c : boxes) {
                    long[] from = max(c, o);
                    long[] to = min(add(c, hdfChunk), end);
                    if (written.containsKey(new Key(c))) {
                        placeStrings(values, r, o, from, to, d.getData(from, toInt(sub(to, from))));
                        data = true;
                    } else if (!stored.equals(fill)) {
                        placeStrings(values, r, o, from, to, null, stored);
                        data = true;
                    }
                }
            } else if (d instanceof ContiguousDataset) {
                placeStrings(values, r, o, o, end, d.getData(o.clone(), toInt(sub(end, o))));
                data = true;
            } else {
                if (compactStrings == null) {
                    compactStrings = d.getData();
                }
                List<String> all = new ArrayList<>();
                flatten(compactStrings, all);
                forEachIndex(o, end, idx -> values[Math.toIntExact(offset(idx, o, r))] = str(all.get(Math.toIntExact(offset(idx, new long[rank], extent)))));
                data = true;
            }
        } else if (end != null && !stored.equals(fill)) {
            forEachIndex(o, end, idx -> values[Math.toIntExact(offset(idx, o, r))] = stored);
            data = true;
        }
        if (!data) {
            return;
        }
        try (NdArray a = NdArray.ofStrings(r, Arrays.asList(values))) {
            ds.writeArray(array, o, a).block();
        }
    }

    private void placeStrings(String[] values, long[] r, long[] o, long[] from, long[] to, Object data) {
        List<String> flat = new ArrayList<>();
        flatten(data, flat);
        placeStrings(values, r, o, from, to, flat, null);
    }

    private void placeStrings(String[] values, long[] r, long[] o, long[] from, long[] to, List<String> flat, String constant) {
        long[] boxShape = sub(to, from);
        forEachIndex(from, to, idx -> {
            String s = constant != null ? constant : str(flat.get(Math.toIntExact(offset(idx, from, boxShape))));
            values[Math.toIntExact(offset(idx, o, r))] = s;
        });
    }

    private static String str(Object o) {
        return o == null ? "" : o.toString();
    }

    private static Object firstString(Object data) {
        if (data instanceof Object[] arr) {
            return arr.length == 0 ? null : firstString(arr[0]);
        }
        return data;
    }

    private static void flatten(Object data, List<String> out) {
        if (data instanceof Object[] arr) {
            for (Object o : arr) {
                flatten(o, out);
            }
        } else {
            out.add(str(data));
        }
    }

    /** The end of region {@code [o, o + r)} clipped to the HDF5 extent, or null when nothing is inside it. */
    private long[] inExtentEnd(long[] o, long[] r) {
        long[] end = new long[rank];
        for (int a = 0; a < rank; a++) {
            end[a] = Math.min(o[a] + r[a], extent[a]);
            if (end[a] <= o[a]) {
                return null;
            }
        }
        return end;
    }

    /** Calls {@code f} with the origin of every HDF5 chunk overlapping {@code [from, to)}. */
    private void forEachHdfChunk(long[] from, long[] to, java.util.function.Consumer<long[]> f) {
        long[] first = new long[rank];
        for (int a = 0; a < rank; a++) {
            first[a] = from[a] / hdfChunk[a] * hdfChunk[a];
        }
        long[] c = first.clone();
        while (true) {
            f.accept(c.clone());
            int a = rank - 1;
            while (a >= 0) {
                c[a] += hdfChunk[a];
                if (c[a] < to[a]) {
                    break;
                }
                c[a] = first[a];
                a--;
            }
            if (a < 0) {
                return;
            }
        }
    }

    /** Calls {@code f} with every index of the box {@code [from, to)} in C order (rank 0: once). */
    private void forEachIndex(long[] from, long[] to, java.util.function.Consumer<long[]> f) {
        long[] idx = from.clone();
        while (true) {
            f.accept(idx);
            int a = rank - 1;
            while (a >= 0) {
                idx[a]++;
                if (idx[a] < to[a]) {
                    break;
                }
                idx[a] = from[a];
                a--;
            }
            if (a < 0) {
                return;
            }
        }
    }

    /**
     * Copies the box {@code [from, to)} (absolute coordinates) from {@code src}, a C-order block of
     * {@code srcDims} elements starting at {@code srcOrigin}, into {@code dst}, a block of
     * {@code dstDims} starting at {@code dstOrigin}, one run along the last axis at a time,
     * swapping each element's bytes to little-endian if the file is big-endian.
     */
    private void copyBox(ByteBuffer src, long[] srcDims, long[] srcOrigin, byte[] dst, long[] dstDims, long[] dstOrigin,
            long[] from, long[] to) {
        int e = elementSize;
        int base = src.position();
        if (rank == 0) {
            src.get(base, dst, 0, e);
            swapRun(dst, 0, 1);
            return;
        }
        int last = rank - 1;
        int run = Math.toIntExact(to[last] - from[last]);
        long[] rowFrom = from.clone();
        long[] rowTo = to.clone();
        rowTo[last] = from[last] + 1;
        forEachIndex(rowFrom, rowTo, idx -> {
            int s = Math.toIntExact(offset(idx, srcOrigin, srcDims) * e);
            int t = Math.toIntExact(offset(idx, dstOrigin, dstDims) * e);
            src.get(base + s, dst, t, run * e);
            swapRun(dst, t, run);
        });
    }

    private void swapRun(byte[] b, int at, int elements) {
        if (!swap) {
            return;
        }
        int e = elementSize;
        for (int i = 0; i < elements; i++) {
            int p = at + i * e;
            for (int lo = p, hi = p + e - 1; lo < hi; lo++, hi--) {
                byte x = b[lo];
                b[lo] = b[hi];
                b[hi] = x;
            }
        }
    }

    private void fillBox(byte[] dst, long[] dstDims, long[] dstOrigin, long[] from, long[] to, byte[] pattern) {
        forEachIndex(from, to, idx -> System.arraycopy(pattern, 0, dst, Math.toIntExact(offset(idx, dstOrigin, dstDims) * elementSize),
                elementSize));
    }

    private static void fill(byte[] b, byte[] pattern) {
        boolean zero = true;
        for (byte x : pattern) {
            zero &= x == 0;
        }
        if (zero) {
            return;
        }
        int e = pattern.length;
        System.arraycopy(pattern, 0, b, 0, Math.min(e, b.length));
        for (int filled = e; filled < b.length; filled *= 2) {
            System.arraycopy(b, 0, b, filled, Math.min(filled, b.length - filled));
        }
    }

    /** The C-order element offset of absolute index {@code idx} in a block of {@code dims} at {@code origin}. */
    private static long offset(long[] idx, long[] origin, long[] dims) {
        long off = 0;
        for (int a = 0; a < idx.length; a++) {
            off = off * dims[a] + (idx[a] - origin[a]);
        }
        return off;
    }

    /** The Atlas chunk shape: HDF5 chunks grown to {@link #TARGET_CHUNK_BYTES}, or the engine's default. */
    static long[] chunkShape(NcModel.Variable v, int[] hdfChunk) {
        long[] shape = v.shape();
        if (hdfChunk == null || hdfChunk.length != shape.length) {
            return ArraySpec.of(v.dtype(), shape).chunkShape();
        }
        long[] c = new long[shape.length];
        long bytes = v.dtype() == DType.STRING ? STRING_BYTES_GUESS : v.dtype().elementSize();
        for (int a = 0; a < c.length; a++) {
            c[a] = Math.max(1, Math.min(hdfChunk[a], shape[a]));
            bytes *= c[a];
        }
        for (int a = 0; a < c.length && bytes < TARGET_CHUNK_BYTES; a++) {
            if (c[a] >= shape[a]) {
                continue;
            }
            long factor = Math.max(1, TARGET_CHUNK_BYTES / bytes);
            long grown = Math.min(shape[a], c[a] * factor);
            if (grown < shape[a]) {
                grown = grown / hdfChunk[a] * hdfChunk[a];   // whole HDF5 chunks
            }
            bytes = bytes / c[a] * grown;
            c[a] = Math.max(c[a], grown);
        }
        if (bytes > MAX_CHUNK_BYTES) {
            // The engine's default chunking of that region: the longest axis halved until small.
            c = ArraySpec.of(v.dtype(), c).chunkShape();
        }
        return c;
    }

    private static Map<Key, Chunk> writtenChunks(ChunkedDataset c) {
        Map<?, ?> lookup;
        try {
            lookup = (Map<?, ?>) CHUNK_LOOKUP.invoke(c);
        } catch (ReflectiveOperationException e) {
            throw new NcImporter.ImportException("cannot read the chunk index (" + NcImporter.describe(e) + ")", e);
        }
        Map<Key, Chunk> chunks = new HashMap<>();
        for (Object chunk : lookup.values()) {
            // A fixed-array or extensible-array index lists unwritten chunks too, at the undefined
            // address: they were never written.
            if (((Chunk) chunk).getAddress() != io.jhdf.Constants.UNDEFINED_ADDRESS) {
                chunks.put(new Key(((Chunk) chunk).getChunkOffset()), (Chunk) chunk);
            }
        }
        return chunks;
    }

    private record Key(long[] offset) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(offset, k.offset);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(offset);
        }
    }

    private static long product(long[] dims) {
        long n = 1;
        for (long x : dims) {
            n *= x;
        }
        return n;
    }

    private static long[] add(long[] a, long[] b) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] + b[i];
        }
        return r;
    }

    private static long[] add(long[] a, int[] b) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] + b[i];
        }
        return r;
    }

    private static long[] sub(long[] a, long[] b) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] - b[i];
        }
        return r;
    }

    private static long[] max(long[] a, long[] b) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.max(a[i], b[i]);
        }
        return r;
    }

    private static long[] min(long[] a, long[] b) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.min(a[i], b[i]);
        }
        return r;
    }

    private static int[] toInt(long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.toIntExact(a[i]);
        }
        return r;
    }

    private static long[] toLong(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i];
        }
        return r;
    }
}
