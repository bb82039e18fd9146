package dev.atlas.array;

import dev.atlas.error.AtlasException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.Overlap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Gathers the slabs of one streamed write into bands of whole chunk rows: row-major, or laid out
 * chunk-major (each slab's rows copied straight to their places in the chunks) when the stream
 * covers whole chunks on every axis after the first, so the band's chunks become blocks without
 * another copy.
 */
final class SlabGatherer {
    /**
     * A band of rows to write. Row-major ({@code chunks} null): {@code data} is the region at
     * {@code start}. Chunk-major: {@code data}'s buffer holds the whole chunks {@code chunks}
     * one after the other, {@code lengths} bytes and {@code counts} elements each.
     */
    record Band(String name, long[] start, NdArray data, ChunkGrid grid, List<long[]> chunks, int[] lengths, long[] counts) {
    }

    private final String name;
    private final DType dtype;
    private final ChunkGrid grid;
    private final long[] start;
    private final ByteBufAllocator alloc;
    private long[] rowShape;
    private long rowBytes;
    private long next;
    private long rows;
    private ByteBuf band;
    private long bandStart;
    private long bandRows;
    private long bandFilled;
    /**
     * Whether the stream covers whole chunks on every axis after the first (it starts and ends
     * on chunk boundaries or the array's end there): then each band that starts on a chunk
     * row is laid out chunk-major, its slabs' rows copied straight to their places in the
     * chunks, and its chunks become blocks without another copy. Null until the first slab.
     */
    private Boolean aligned;
    /** The current band's chunks, their origins, extents and byte offsets (chunk-major bands only). */
    private List<long[]> bandChunks;
    private long[][] chunkOrigins;
    private long[][] chunkExtents;
    private int[] chunkOffsets;

    SlabGatherer(String name, DType dtype, ChunkGrid grid, long[] start, ByteBufAllocator alloc) {
        this.name = name;
        this.dtype = dtype;
        this.grid = grid;
        this.start = start;
        this.alloc = alloc;
        this.next = start[0];
    }

    /** Copies the slab's rows in; returns the bands it completed (owned by the caller). */
    synchronized List<Band> accept(NdArray slab) {
        if (!slab.dtype().equals(dtype)) {
            throw new DTypeMismatchException(name, dtype, slab.dtype());
        }
        long[] sh = slab.shape();
        if (sh.length != grid.rank()) {
            throw new InvalidArgumentException("slab of shape " + Arrays.toString(sh) + " for array '" + name
                    + "' of rank " + grid.rank());
        }
        long[] rest = Arrays.copyOfRange(sh, 1, sh.length);
        if (rowShape == null) {
            long[] region = sh.clone();
            region[0] = 0;
            RegionAssembler.checkRegion(name, grid, start, region);
            rowShape = rest;
            rowBytes = ChunkGrid.product(rest) * dtype.elementSize();
            if (rowBytes * grid.chunkShape(0) > Integer.MAX_VALUE - 8) {
                throw new InvalidArgumentException("one band of chunk rows of '" + name + "' ("
                        + grid.chunkShape(0) + " x " + rowBytes + " bytes) exceeds one buffer; stream a narrower region");
            }
            boolean a = true;
            for (int i = 1; i < grid.rank(); i++) {
                long end = start[i] + rest[i - 1];
                a &= start[i] % grid.chunkShape(i) == 0 && (end == grid.shape(i) || end % grid.chunkShape(i) == 0);
            }
            aligned = a;
        } else if (!Arrays.equals(rest, rowShape)) {
            throw new InvalidArgumentException("slab of shape " + Arrays.toString(sh) + " does not match the stream's "
                    + "extent " + Arrays.toString(rowShape) + " on the axes after the first");
        }
        if (sh[0] > grid.shape(0) - next) {
            throw new InvalidArgumentException("a slab of " + sh[0] + " rows at row " + next + " runs past array '"
                    + name + "' of shape " + Arrays.toString(grid.shape()));
        }
        List<Band> done = new ArrayList<>();
        ByteBuf src = slab.buffer();
        long copied = 0;
        try {
            while (copied < sh[0]) {
                if (band == null) {
                    bandStart = next;
                    long c0 = grid.chunkShape(0);
                    bandRows = Math.min((next / c0 + 1) * c0, grid.shape(0)) - next;
                    int cap = (int) (bandRows * rowBytes);
                    band = alloc.directBuffer(cap, cap);
                    bandFilled = 0;
                    layOutChunks(aligned && bandStart % c0 == 0);
                }
                long n = Math.min(sh[0] - copied, bandRows - bandFilled);
                int from = src.readerIndex() + (int) (copied * rowBytes);
                if (bandChunks == null) {
                    band.setBytes((int) (bandFilled * rowBytes), src, from, (int) (n * rowBytes));
                } else {
                    // The rows [next, next + n) go to their places in each chunk of the band.
                    long[] at = start.clone();
                    at[0] = next;
                    long[] rows = regionShape(n);
                    int w = (int) dtype.elementSize();
                    ByteBuf dst = band;
                    for (int j = 0; j < bandChunks.size(); j++) {
                        int base = chunkOffsets[j];
                        Overlap.forEachRun(chunkOrigins[j], chunkExtents[j], at, rows, (to, ro, len) -> dst.setBytes(
                                base + (int) (to * w), src, from + (int) (ro * w), (int) (len * w)));
                    }
                }
                bandFilled += n;
                copied += n;
                next += n;
                rows += n;
                if (bandFilled == bandRows) {
                    done.add(takeBand());
                }
            }
            return done;
        } catch (RuntimeException e) {
            done.forEach(b -> b.data().close());
            throw e;
        }
    }

    /** Plans the new band's layout: chunk-major (its whole chunks in grid order) or row-major. */
    private void layOutChunks(boolean chunkMajor) {
        bandChunks = null;
        if (!chunkMajor) {
            return;
        }
        long[] at = start.clone();
        at[0] = bandStart;
        List<long[]> coords = new ArrayList<>();
        grid.forEachChunkIn(at, regionShape(bandRows), c -> coords.add(c.clone()));
        chunkOrigins = new long[coords.size()][];
        chunkExtents = new long[coords.size()][];
        chunkOffsets = new int[coords.size()];
        long off = 0;
        for (int j = 0; j < coords.size(); j++) {
            chunkOrigins[j] = grid.chunkOrigin(coords.get(j));
            chunkExtents[j] = grid.chunkExtent(coords.get(j));
            chunkOffsets[j] = (int) off;
            off += ChunkGrid.product(chunkExtents[j]) * dtype.elementSize();
        }
        if (off != bandRows * rowBytes) {
            throw new AtlasException("chunks of a band (" + off + " bytes) do not tile it (" + bandRows * rowBytes + ")");
        }
        bandChunks = coords;
    }

    /** The region's shape for {@code rows} rows. */
    private long[] regionShape(long rows) {
        long[] shape = new long[grid.rank()];
        shape[0] = rows;
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        return shape;
    }

    private Band takeBand() {
        ByteBuf b = band;
        band = null;
        long[] at = start.clone();
        at[0] = bandStart;
        long[] shape = regionShape(bandFilled);
        if (bandChunks != null && bandFilled < bandRows) {
            // A chunk-major band the stream left unfinished: its chunks are partial, so it is
            // written as a region (read-modify-write), rearranged row-major first.
            ByteBuf rm = alloc.directBuffer((int) (bandFilled * rowBytes));
            try {
                int w = (int) dtype.elementSize();
                for (int j = 0; j < bandChunks.size(); j++) {
                    int base = chunkOffsets[j];
                    Overlap.forEachRun(chunkOrigins[j], chunkExtents[j], at, shape, (to, ro, len) -> rm.setBytes(
                            (int) (ro * w), b, base + (int) (to * w), (int) (len * w)));
                }
            } catch (RuntimeException e) {
                rm.release();
                throw e;
            } finally {
                b.release();
            }
            bandChunks = null;
            rm.writerIndex((int) (bandFilled * rowBytes));
            return new Band(name, at, NdArray.wrap(dtype, shape, rm), grid, null, null, null);
        }
        b.writerIndex((int) (bandFilled * rowBytes));
        if (bandChunks == null) {
            return new Band(name, at, NdArray.wrap(dtype, shape, b), grid, null, null, null);
        }
        int[] lengths = new int[bandChunks.size()];
        long[] counts = new long[bandChunks.size()];
        for (int j = 0; j < lengths.length; j++) {
            counts[j] = ChunkGrid.product(chunkExtents[j]);
            lengths[j] = (int) (counts[j] * dtype.elementSize());
        }
        List<long[]> chunks = bandChunks;
        bandChunks = null;
        return new Band(name, at, NdArray.wrap(dtype, shape, b), grid, chunks, lengths, counts);
    }

    /** The axis-0 rows accepted so far. */
    synchronized long rows() {
        return rows;
    }

    /** The last, partial band (if any). */
    synchronized List<Band> finish() {
        return band != null && bandFilled > 0 ? List.of(takeBand()) : List.of();
    }

    /** Frees the band being filled (a cancel may come while a slab is being copied: hence the monitor). */
    synchronized void release() {
        if (band != null) {
            band.release();
            band = null;
        }
    }
}
