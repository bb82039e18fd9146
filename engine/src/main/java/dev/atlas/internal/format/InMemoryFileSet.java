package dev.atlas.internal.format;

import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.DType;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.GridCoord;
import dev.atlas.internal.nd.Overlap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A complete file set whose layer files are held in memory, decoded synchronously: footers,
 * stats, the merged view, and whole-array values. For tools ({@code atlas dump}), tests, and the
 * corruption fuzzer; the reactive engine reads through storage and caches instead.
 *
 * <p>Every failure caused by the bytes is a {@link CorruptFileException} (or an
 * {@link dev.atlas.error.UnknownCodecException}); nothing is allocated beyond what the input
 * justifies.
 */
public final class InMemoryFileSet {
    /** Largest array this class materialises (elements); tools reading more should stream. */
    public static final long MAX_ELEMENTS = 1L << 27;

    private final List<String> names;
    private final List<ByteBuffer> files;
    private final List<Footer> footers;
    private final List<Checksums.Layer> checksums;
    private final StatsFile stats;
    private final MergedView view;
    private final ByteBufAllocator alloc;
    private final Map<Long, byte[]> blockCache = new HashMap<>();

    private InMemoryFileSet(List<String> names, List<ByteBuffer> files, List<Footer> footers,
            List<Checksums.Layer> checksums, StatsFile stats, MergedView view, ByteBufAllocator alloc) {
        this.names = names;
        this.files = files;
        this.footers = footers;
        this.checksums = checksums;
        this.stats = stats;
        this.view = view;
        this.alloc = alloc;
    }

    /**
     * Decodes a file set.
     *
     * @param layerNames names of the layer files, base first, then sidecars in ascending order
     * @param layerFiles their complete bytes (position to limit), same order; not modified
     * @param statsName name of the stats file (for messages)
     * @param statsFile complete stats file bytes, or null when there is none
     */
    public static InMemoryFileSet decode(List<String> layerNames, List<ByteBuffer> layerFiles, String statsName,
            ByteBuffer statsFile, ByteBufAllocator alloc) {
        if (layerNames.size() != layerFiles.size() || layerNames.isEmpty()) {
            throw new InvalidArgumentException("need one name per layer file and at least a base");
        }
        List<Footer> footers = new ArrayList<>(layerFiles.size());
        List<Checksums.Layer> checksums = new ArrayList<>(layerFiles.size());
        for (int i = 0; i < layerFiles.size(); i++) {
            Trailer.CheckedLayer l = Trailer.decodeCheckedLayer(layerFiles.get(i), layerNames.get(i));
            footers.add(l.footer());
            checksums.add(l.checksums());
        }
        StatsFile stats = statsFile == null ? null : Trailer.decodeStatsFile(statsFile, statsName);
        MergedView view = MergedView.of(footers, layerNames.get(0));
        List<ByteBuffer> copies = new ArrayList<>(layerFiles.size());
        for (ByteBuffer b : layerFiles) {
            copies.add(b.slice());
        }
        return new InMemoryFileSet(List.copyOf(layerNames), copies, footers, java.util.Collections.unmodifiableList(checksums),
                stats, view, alloc);
    }

    public List<Footer> footers() {
        return footers;
    }

    /**
     * Whether layer {@code layer} carries a checksum record (then its footer and every block read
     * through this class are verified against it).
     */
    public boolean hasChecksums(int layer) {
        return checksums.get(layer) != null;
    }

    /** The stats table, or null when the file set has none. */
    public StatsFile stats() {
        return stats;
    }

    public MergedView view() {
        return view;
    }

    /**
     * All values of a visible array in C order; unwritten cells hold the fill element.
     *
     * @throws NotFoundException if the array is not visible
     * @throws InvalidArgumentException if it has more than {@link #MAX_ELEMENTS} elements
     */
    public ArrayValues readAll(String name) {
        return readAll(name, MAX_ELEMENTS);
    }

    /**
     * Like {@link #readAll(String)} with a caller-chosen element limit.
     *
     * @throws InvalidArgumentException if the array has more than {@code maxElements} elements
     */
    public ArrayValues readAll(String name, long maxElements) {
        MergedView.VisibleArray a = view.array(name);
        if (a == null) {
            throw new NotFoundException("array '" + name + "' not found in " + names.get(0));
        }
        ArrayMeta meta = a.meta();
        DType dtype = meta.dtype();
        if (!dtype.isStorable()) {
            throw new InvalidArgumentException("array '" + name + "' has dtype " + dtype + ", which has no chunk encoding");
        }
        ChunkGrid grid = a.grid();
        long count;
        try {
            count = grid.elementCount();
        } catch (ArithmeticException e) {
            count = Long.MAX_VALUE;
        }
        long limit = Math.min(maxElements, MAX_ELEMENTS);
        if (count > limit) {
            throw new InvalidArgumentException("array '" + name + "' has " + (count == Long.MAX_VALUE ? "more than 2^63"
                    : Long.toString(count)) + " elements, more than the " + limit + " this in-memory reader materialises");
        }
        long[] shape = grid.shape();
        long[] origin0 = new long[shape.length];
        long width = dtype.elementSize();
        if (width > 0) {
            byte[] out = new byte[(int) (count * width)];
            byte[] fill = Fill.element(dtype, meta.fillValue());
            for (int i = 0; i < count; i++) {
                System.arraycopy(fill, 0, out, (int) (i * width), (int) width);
            }
            for (Map.Entry<GridCoord, MergedView.ChunkSource> e : a.chunks().entrySet()) {
                long[] coord = e.getKey().toArray();
                byte[] chunk = chunkBytes(name, e.getValue());
                long expected = grid.chunkElementCount(coord);
                ChunkCodec.checkFixed(dtype, chunk.length, expected, names.get(e.getValue().layer())
                        + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")");
                Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), origin0, shape,
                        (to, ro, len) -> System.arraycopy(chunk, (int) (to * width), out, (int) (ro * width),
                                (int) (len * width)));
            }
            return new ArrayValues(dtype, shape, out, null);
        }
        List<byte[]> out = new ArrayList<>((int) count);
        for (int i = 0; i < count; i++) {
            out.add(new byte[0]);
        }
        for (Map.Entry<GridCoord, MergedView.ChunkSource> e : a.chunks().entrySet()) {
            long[] coord = e.getKey().toArray();
            byte[] chunk = chunkBytes(name, e.getValue());
            String what = names.get(e.getValue().layer()) + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
            long n = grid.chunkElementCount(coord);
            List<byte[]> elems = dtype.kind() == DType.Kind.STRING
                    ? ChunkCodec.decodeUtf8(ByteBuffer.wrap(chunk), n, what)
                    : ChunkCodec.decodeVarLen(ByteBuffer.wrap(chunk), n, what);
            Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), origin0, shape, (to, ro, len) -> {
                for (int k = 0; k < len; k++) {
                    out.set((int) (ro + k), elems.get((int) (to + k)));
                }
            });
        }
        return new ArrayValues(dtype, shape, null, out);
    }

    /** Statistics of a visible array recomputed from its visible stored chunks. */
    public ArrayStats computeStats(String name) {
        MergedView.VisibleArray a = view.array(name);
        if (a == null) {
            throw new NotFoundException("array '" + name + "' not found in " + names.get(0));
        }
        DType dtype = a.meta().dtype();
        StatsKernel.Accumulator acc = StatsKernel.accumulator(dtype, a.meta().fillValue());
        ChunkGrid grid = a.grid();
        for (Map.Entry<GridCoord, MergedView.ChunkSource> e : a.chunks().entrySet()) {
            long[] coord = e.getKey().toArray();
            byte[] chunk = chunkBytes(name, e.getValue());
            long n = grid.chunkElementCount(coord);
            String what = names.get(e.getValue().layer()) + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
            if (dtype.elementSize() > 0) {
                ChunkCodec.checkFixed(dtype, chunk.length, n, what);
                acc.addFixed(ByteBuffer.wrap(chunk), n);
            } else if (dtype.isStorable()) {
                acc.addVarLen(ChunkCodec.decodeVarLen(ByteBuffer.wrap(chunk), n, what));
            }
        }
        return acc.finish(name, grid.shape());
    }

    /** The raw bytes of one chunk (decompressing its block on first use). */
    private byte[] chunkBytes(String array, MergedView.ChunkSource src) {
        int layer = src.layer();
        ChunkAddress addr = src.address();
        byte[] block = block(layer, addr.blockId());
        long end = addr.offset() + addr.size();
        if (end > block.length) {
            throw new CorruptFileException(names.get(layer), "chunk of array '" + array + "' at [" + addr.offset()
                    + ", " + end + ") lies outside block " + addr.blockId() + " of " + block.length + " bytes");
        }
        return Arrays.copyOfRange(block, (int) addr.offset(), (int) end);
    }

    /**
     * Decompressed bytes of block {@code id} of layer {@code layer}; its stored bytes are verified
     * first when the layer has a checksum record.
     */
    public byte[] block(int layer, long id) {
        long key = ((long) layer << 32) | id;
        byte[] cached = blockCache.get(key);
        if (cached != null) {
            return cached;
        }
        Footer f = footers.get(layer);
        BlockMeta meta = null;
        for (BlockMeta b : f.blocks()) {
            if (b.id() == id) {
                meta = b;
                break;
            }
        }
        String what = names.get(layer) + " block " + id;
        if (meta == null) {
            throw new CorruptFileException(names.get(layer), "chunk refers to block " + id + ", which the block table lacks");
        }
        ByteBuffer file = files.get(layer);
        ByteBuffer stored = file.slice((int) meta.fileOffset(), (int) meta.compressedSize());
        Checksums.Layer sums = checksums.get(layer);
        if (sums != null) {
            sums.verify(names.get(layer), id, stored);
        }
        BlockCodec codec = BlockCodecs.forId(meta.codec());
        ByteBuf src = Unpooled.wrappedBuffer(stored);
        ByteBuf out = codec.decompress(src, meta.uncompressedSize(), alloc, what);
        try {
            byte[] bytes = new byte[out.readableBytes()];
            out.getBytes(out.readerIndex(), bytes);
            blockCache.put(key, bytes);
            return bytes;
        } finally {
            out.release();
            src.release();
        }
    }
}
