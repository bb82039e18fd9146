package dev.atlas.internal.format;

import static dev.atlas.internal.format.FooterLayout.ARRAY_META_SIZE;
import static dev.atlas.internal.format.FooterLayout.BLOCK_META_SIZE;
import static dev.atlas.internal.format.FooterLayout.CHUNK_ENTRY_SIZE;
import static dev.atlas.internal.format.FooterLayout.DTYPE_SIZE;
import static dev.atlas.internal.format.FooterLayout.FOOTER_SIZE;
import static dev.atlas.internal.format.FooterLayout.VALUE_SIZE;

import dev.atlas.codec.CodecId;
import dev.atlas.error.CorruptFileException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes footer payloads (v4 and v5): the root, block and array metadata, dtypes, fill values and
 * attribute maps, validating every pointer, tag and count. Pure functions, thread-safe.
 */
final class FooterDecoder {
    /** Nesting limit for FixedSizeList/List dtypes (the format itself has none). */
    private static final int MAX_DTYPE_DEPTH = 32;

    private FooterDecoder() {
    }

    /**
     * Decodes a footer payload (the bytes between the data region and the trailer).
     *
     * @param payload read from its position to its limit; not modified
     * @param file name used in error messages
     * @throws CorruptFileException if the payload is not a valid v4 or v5 footer
     */
    static Footer decode(ByteBuffer payload, String file) {
        ArchiveReader r = new ArchiveReader(payload, file);
        if (r.limit() < FOOTER_SIZE) {
            throw r.corrupt("footer payload of " + r.limit() + " bytes is shorter than the " + FOOTER_SIZE
                    + "-byte footer root");
        }
        long root = r.limit() - FOOTER_SIZE;
        if (root % 8 != 0) {
            throw r.corrupt("footer payload length " + r.limit() + " leaves the root misaligned");
        }
        long version = r.u32(root);
        if (version != Footer.VERSION_V4 && version != Footer.VERSION_V5) {
            throw r.corrupt("unsupported footer version " + version + " (supported: 4, 5)");
        }
        int v = (int) version;

        int nBlocks = r.vecLength(root + 8, BLOCK_META_SIZE, 8, root);
        long blocksAt = r.vecStart(root + 8);
        List<BlockMeta> blocks = new ArrayList<>(nBlocks);
        for (int i = 0; i < nBlocks; i++) {
            blocks.add(readBlockMeta(r, blocksAt + (long) i * BLOCK_META_SIZE));
        }

        int nArrays = r.vecLength(root + 24, ARRAY_META_SIZE, 8, root);
        long arraysAt = r.vecStart(root + 24);
        List<ArrayMeta> arrays = new ArrayList<>(nArrays);
        for (int i = 0; i < nArrays; i++) {
            arrays.add(readArrayMeta(r, arraysAt + (long) i * ARRAY_META_SIZE));
        }

        List<String> keys = r.stringVec(root + 40, root);

        int nValues = r.vecLength(root + 56, VALUE_SIZE, 8, root);
        long valuesAt = r.vecStart(root + 56);
        List<AttributeValue> values = new ArrayList<>(nValues);
        for (int i = 0; i < nValues; i++) {
            AttributeValue av = AttributeValueCodec.read(r, valuesAt + (long) i * VALUE_SIZE);
            if (v == Footer.VERSION_V4 && !av.kind().inFooterV4()) {
                throw r.corrupt("footer v4 holds attribute variant " + av.kind().displayName()
                        + " (tag " + av.tag() + "), which only v5 allows");
            }
            values.add(av);
        }
        long overlay = r.u32(root + 72);
        String hint = r.string(root + 80, root);
        return new Footer(v, blocks, arrays, keys, values, overlay, hint);
    }

    private static BlockMeta readBlockMeta(ArchiveReader r, long at) {
        long id = r.u32(at);
        long fileOffset = r.u64AsLong(at + 8, "block file offset");
        long compressed = r.u64AsLong(at + 16, "block compressed size");
        long uncompressed = r.u64AsLong(at + 24, "block uncompressed size");
        CodecId codec;
        int tag = r.u8(at + 32);
        if (tag == 0) {
            codec = CodecId.NONE;
        } else if (tag == 1) {
            codec = CodecId.named(r.string(at + 40, at));
        } else {
            throw r.corrupt("codec tag " + tag + " at payload offset " + (at + 32) + " is not 0 (None) or 1 (Named)");
        }
        if (fileOffset > Long.MAX_VALUE - compressed) {
            throw r.corrupt("block " + id + " range overflows: offset " + fileOffset + " + " + compressed);
        }
        return new BlockMeta(id, fileOffset, compressed, uncompressed, codec);
    }

    private static ArrayMeta readArrayMeta(ArchiveReader r, long at) {
        String name = r.string(at, at);
        DType dtype = readDType(r, at + 16, at, 0);
        long layout = at + 40;
        long[] shape = r.u32Vec(layout, at);
        List<String> dims = r.stringVec(layout + 16, at);
        long[] chunkShape = r.u32Vec(layout + 32, at);
        int nChunks = r.vecLength(layout + 48, CHUNK_ENTRY_SIZE, 8, at);
        long chunksAt = r.vecStart(layout + 48);
        List<ChunkEntry> chunks = new ArrayList<>(nChunks);
        for (int i = 0; i < nChunks; i++) {
            long e = chunksAt + (long) i * CHUNK_ENTRY_SIZE;
            long[] coord = r.u32Vec(e, e);
            chunks.add(new ChunkEntry(coord, new ChunkAddress(r.u32(e + 16), r.u32(e + 20), r.u32(e + 24))));
        }
        FillValue fill = null;
        int optTag = r.u8(at + 104);
        if (optTag == 1) {
            fill = readFillValue(r, at + 112, at);
        } else if (optTag != 0) {
            throw r.corrupt("Option tag " + optTag + " of fill value of array '" + name + "'");
        }
        boolean deleted = r.bool(at + 136);
        Attributes attrs = readAttributes(r, at + 144, at);
        return new ArrayMeta(name, dtype, shape, dims, chunkShape, chunks, fill, deleted, attrs);
    }

    private static DType readDType(ArchiveReader r, long at, long owner, int depth) {
        if (depth > MAX_DTYPE_DEPTH) {
            throw r.corrupt("dtype nesting deeper than " + MAX_DTYPE_DEPTH + " at payload offset " + at);
        }
        int tag = r.u8(at);
        DType.Kind kind = DType.Kind.ofTag(tag);
        if (kind == null) {
            throw r.corrupt("dtype tag " + tag + " at payload offset " + at + " is not a known dtype (0-15)");
        }
        if (kind == DType.Kind.FIXED_SIZE_LIST || kind == DType.Kind.LIST) {
            long child = r.box(at + 8, DTYPE_SIZE, 8, Math.min(owner, at));
            DType c = readDType(r, child, child, depth + 1);
            return kind == DType.Kind.LIST ? DType.list(c) : DType.fixedSizeList(c, r.u32(at + 16));
        }
        return DType.of(kind);
    }

    private static FillValue readFillValue(ArchiveReader r, long at, long owner) {
        int tag = r.u8(at);
        switch (tag) {
            case 0: return new FillValue.Bool(r.bool(at + 1));
            case 1: return new FillValue.Int(r.i64(at + 8));
            case 2: return new FillValue.UInt(r.i64(at + 8));
            case 3: return new FillValue.Float(Double.longBitsToDouble(r.i64(at + 8)));
            case 4: return new FillValue.Str(r.string(at + 8, owner));
            case 5: return new FillValue.TimestampNs(r.i64(at + 8));
            default: throw r.corrupt("fill value tag " + tag + " at payload offset " + at + " is not 0-5");
        }
    }

    private static Attributes readAttributes(ArchiveReader r, long at, long owner) {
        int tag = r.u8(at);
        if (tag > 2) {
            throw r.corrupt("attribute index width tag " + tag + " at payload offset " + at + " is not 0-2");
        }
        Attributes.Width width = Attributes.Width.values()[tag];
        int half = FooterLayout.indexWidth(tag);
        int n = r.vecLength(at + 8, 2 * half, half, owner);
        long p = r.vecStart(at + 8);
        long[] keys = new long[n];
        long[] values = new long[n];
        for (int i = 0; i < n; i++) {
            long e = p + (long) i * 2 * half;
            keys[i] = readIndex(r, e, half);
            values[i] = readIndex(r, e + half, half);
        }
        return Attributes.of(width, keys, values);
    }

    private static long readIndex(ArchiveReader r, long at, int width) {
        switch (width) {
            case 2: return r.u16(at);
            case 4: return r.u32(at);
            default: return r.i64(at);
        }
    }
}
