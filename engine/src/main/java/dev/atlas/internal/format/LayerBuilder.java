package dev.atlas.internal.format;

import dev.atlas.codec.BlockCodec;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.nd.ChunkGrid;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds one complete layer file in memory, synchronously: array metas (with attributes interned
 * into this layer's own dictionaries), chunks packed into blocks of about {@code blockTargetSize}
 * uncompressed bytes (a block is sealed once it reaches the target), the checksum record, the
 * footer and the trailer.
 * For tools, tests and small files; the engine's pending layer spills to disk instead.
 */
final class LayerBuilder {
    private final BlockCodec codec;
    private final long blockTargetSize;
    private final ByteBufAllocator alloc;
    private final int version;
    private final LinkedHashMap<String, ArrayMeta> arrays = new LinkedHashMap<>();
    private final Map<String, LinkedHashMap<List<Long>, ChunkEntry>> chunks = new HashMap<>();
    private final List<String> keys = new ArrayList<>();
    private final List<AttributeValue> values = new ArrayList<>();
    private final ByteArrayOutputStream data = new ByteArrayOutputStream();
    private final List<BlockMeta> blocks = new ArrayList<>();
    private final List<Integer> crcs = new ArrayList<>();
    private boolean checksums = true;
    private ByteArrayOutputStream current = new ByteArrayOutputStream();

    /**
     * @param version footer version to write ({@link Footer#VERSION_V5}, or V4 to stay readable by crate 0.10)
     */
    public LayerBuilder(BlockCodec codec, long blockTargetSize, ByteBufAllocator alloc, int version) {
        this.codec = codec;
        this.blockTargetSize = blockTargetSize;
        this.alloc = alloc;
        this.version = version;
    }

    /**
     * Whether the layer carries a checksum record (FORMAT.md section 14; the default, as every
     * layer the engine writes). False builds exactly the file the reference crate would write for
     * the same content, for byte-exact comparisons with its vectors.
     */
    public LayerBuilder withChecksums(boolean on) {
        this.checksums = on;
        return this;
    }

    /**
     * Adds an array definition (or a copy of one) to this layer.
     *
     * @throws AlreadyExistsException if this layer already holds {@code name}
     */
    public LayerBuilder define(String name, DType dtype, long[] shape, List<String> dims, long[] chunkShape,
            FillValue fill) {
        if (arrays.containsKey(name)) {
            throw new AlreadyExistsException("array '" + name + "' is already in this layer");
        }
        ChunkGrid.of(shape, chunkShape);
        if (dims.size() != shape.length) {
            throw new InvalidArgumentException("array '" + name + "' has rank " + shape.length + " but "
                    + dims.size() + " dimension names");
        }
        arrays.put(name, new ArrayMeta(name, dtype, shape, dims, chunkShape, List.of(), fill, false, Attributes.EMPTY));
        chunks.put(name, new LinkedHashMap<>());
        return this;
    }

    /** Adds a tombstone for {@code name} (deleted, no chunks). */
    public LayerBuilder tombstone(ArrayMeta of) {
        arrays.put(of.name(), of.asTombstone().withAttributes(Attributes.EMPTY));
        chunks.put(of.name(), new LinkedHashMap<>());
        return this;
    }

    /** Sets attribute {@code key} of array {@code name}, interning both into this layer. */
    public LayerBuilder attribute(String name, String key, AttributeValue value) {
        ArrayMeta m = meta(name);
        if (version == Footer.VERSION_V4 && !value.kind().inFooterV4()) {
            throw new InvalidArgumentException("footer v4 cannot hold attribute variant " + value.kind().displayName());
        }
        long k = intern(keys, key);
        long v = intern(values, value);
        arrays.put(name, m.withAttributes(m.attributes().with(k, v)));
        return this;
    }

    private static <T> long intern(List<T> dict, T item) {
        int i = dict.indexOf(item);
        if (i >= 0) {
            return i;
        }
        dict.add(item);
        return dict.size() - 1;
    }

    /**
     * Appends the encoded bytes of chunk {@code coord} of {@code name} (a later write of the same
     * coordinate replaces the address; its old bytes stay behind as dead space, as in the reference).
     */
    public LayerBuilder chunk(String name, long[] coord, byte[] encoded) {
        ArrayMeta m = meta(name);
        ChunkGrid grid = ChunkGrid.of(m.shape(), m.chunkShape());
        if (!grid.contains(coord)) {
            throw new InvalidArgumentException("chunk " + Arrays.toString(coord) + " is outside the grid of '" + name + "'");
        }
        long offset = current.size();
        current.writeBytes(encoded);
        ChunkAddress addr = new ChunkAddress(blocks.size(), offset, encoded.length);
        List<Long> key = new ArrayList<>();
        for (long c : coord) {
            key.add(c);
        }
        chunks.get(name).put(key, new ChunkEntry(coord, addr));
        if (current.size() >= blockTargetSize) {
            seal();
        }
        return this;
    }

    private ArrayMeta meta(String name) {
        ArrayMeta m = arrays.get(name);
        if (m == null || m.deleted()) {
            throw new NotFoundException("array '" + name + "' is not defined in this layer");
        }
        return m;
    }

    private void seal() {
        if (current.size() == 0) {
            return;
        }
        byte[] raw = current.toByteArray();
        ByteBuf src = Unpooled.wrappedBuffer(raw);
        ByteBuf out = codec.compress(src, alloc);
        try {
            byte[] stored = new byte[out.readableBytes()];
            out.getBytes(out.readerIndex(), stored);
            blocks.add(new BlockMeta(blocks.size(), data.size(), stored.length, raw.length, codec.id()));
            crcs.add(Checksums.crc(stored));
            data.writeBytes(stored);
        } finally {
            out.release();
            src.release();
        }
        current = new ByteArrayOutputStream();
    }

    /** Seals the last block and returns the complete layer file. */
    public byte[] build(long overlayIndex, String baseFileHint) {
        seal();
        List<ArrayMeta> metas = new ArrayList<>(arrays.size());
        for (ArrayMeta m : arrays.values()) {
            metas.add(m.withChunks(new ArrayList<>(chunks.get(m.name()).values())));
        }
        Footer f = new Footer(version, blocks, metas, keys, values, overlayIndex, baseFileHint);
        int[] sums = crcs.stream().mapToInt(Integer::intValue).toArray();
        byte[] tail = Checksums.tail(f, sums, data.size(), checksums).tail();
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.size() + tail.length);
        out.writeBytes(data.toByteArray());
        out.writeBytes(tail);
        return out.toByteArray();
    }
}
