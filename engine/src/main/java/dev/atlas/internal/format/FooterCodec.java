package dev.atlas.internal.format;

import dev.atlas.codec.CodecId;
import dev.atlas.error.CorruptFileException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.StatValue;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Encoder and decoder of layer footers and stats payloads in the archive layout of the reference
 * crate (rkyv 0.8, 64-bit relative pointers, little endian). Decoding validates every pointer, tag
 * and count; encoding emits dependencies before bodies in field order (post-order), which
 * reproduces the reference serializer byte for byte. Pure functions, thread-safe.
 */
public final class FooterCodec {
    static final int FOOTER_SIZE = 96;
    static final int BLOCK_META_SIZE = 56;
    static final int ARRAY_META_SIZE = 168;
    static final int DTYPE_SIZE = 24;
    static final int CHUNK_ENTRY_SIZE = 32;
    static final int VALUE_SIZE = 24;
    static final int STRING_SIZE = 16;
    static final int VEC_SIZE = 16;
    static final int STATS_V1_SIZE = 24;
    static final int STATS_UNVERSIONED_SIZE = 16;
    static final int ARRAY_STATS_SIZE = 96;
    /** Nesting limit for FixedSizeList/List dtypes (the format itself has none). */
    static final int MAX_DTYPE_DEPTH = 32;

    private FooterCodec() {
    }

    // ------------------------------------------------------------------------------------------
    // Footer decoding

    /**
     * Decodes a footer payload (the bytes between the data region and the trailer).
     *
     * @param payload read from its position to its limit; not modified
     * @param file name used in error messages
     * @throws CorruptFileException if the payload is not a valid v4 or v5 footer
     */
    public static Footer decodeFooter(ByteBuffer payload, String file) {
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

        int nKeys = r.vecLength(root + 40, STRING_SIZE, 8, root);
        long keysAt = r.vecStart(root + 40);
        List<String> keys = new ArrayList<>(nKeys);
        for (int i = 0; i < nKeys; i++) {
            long at = keysAt + (long) i * STRING_SIZE;
            keys.add(r.string(at, at));
        }

        int nValues = r.vecLength(root + 56, VALUE_SIZE, 8, root);
        long valuesAt = r.vecStart(root + 56);
        List<AttributeValue> values = new ArrayList<>(nValues);
        for (int i = 0; i < nValues; i++) {
            AttributeValue av = readAttributeValue(r, valuesAt + (long) i * VALUE_SIZE);
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

    private static long[] readU32Vec(ArchiveReader r, long fieldAt, long owner) {
        int n = r.vecLength(fieldAt, 4, 4, owner);
        long at = r.vecStart(fieldAt);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.u32(at + 4L * i);
        }
        return out;
    }

    private static ArrayMeta readArrayMeta(ArchiveReader r, long at) {
        String name = r.string(at, at);
        DType dtype = readDType(r, at + 16, at, 0);
        long layout = at + 40;
        long[] shape = readU32Vec(r, layout, at);
        int nDims = r.vecLength(layout + 16, STRING_SIZE, 8, at);
        long dimsAt = r.vecStart(layout + 16);
        List<String> dims = new ArrayList<>(nDims);
        for (int i = 0; i < nDims; i++) {
            long s = dimsAt + (long) i * STRING_SIZE;
            dims.add(r.string(s, s));
        }
        long[] chunkShape = readU32Vec(r, layout + 32, at);
        int nChunks = r.vecLength(layout + 48, CHUNK_ENTRY_SIZE, 8, at);
        long chunksAt = r.vecStart(layout + 48);
        List<ChunkEntry> chunks = new ArrayList<>(nChunks);
        for (int i = 0; i < nChunks; i++) {
            long e = chunksAt + (long) i * CHUNK_ENTRY_SIZE;
            long[] coord = readU32Vec(r, e, e);
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
        int half = 2 << tag; // 2, 4, 8 bytes per index
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

    private static AttributeValue readAttributeValue(ArchiveReader r, long at) {
        int tag = r.u8(at);
        AttributeValue.Kind kind = AttributeValue.Kind.ofTag(tag);
        if (kind == null) {
            throw r.corrupt("attribute value tag " + tag + " at payload offset " + at + " is not 0-25");
        }
        long f = at + 8;
        switch (kind) {
            case BOOL: return AttributeValue.ofBool(r.bool(at + 1));
            case INT8: return AttributeValue.ofInt8((byte) r.u8(at + 1));
            case UINT8: return AttributeValue.ofUInt8((byte) r.u8(at + 1));
            case INT16: return AttributeValue.ofInt16((short) r.u16(at + 2));
            case UINT16: return AttributeValue.ofUInt16((short) r.u16(at + 2));
            case INT32: return AttributeValue.ofInt32((int) r.u32(at + 4));
            case UINT32: return AttributeValue.ofUInt32((int) r.u32(at + 4));
            case FLOAT32: return AttributeValue.ofFloat32(Float.intBitsToFloat((int) r.u32(at + 4)));
            case INT64: return AttributeValue.ofInt64(r.i64(f));
            case UINT64: return AttributeValue.ofUInt64(r.i64(f));
            case FLOAT64: return AttributeValue.ofFloat64(Double.longBitsToDouble(r.i64(f)));
            case STRING: return AttributeValue.ofString(r.string(f, at));
            case BINARY: return AttributeValue.ofBinary(readByteVec(r, f, at));
            case BOOL_LIST: {
                int n = r.vecLength(f, 1, 1, at);
                long p = r.vecStart(f);
                boolean[] out = new boolean[n];
                for (int i = 0; i < n; i++) {
                    out[i] = r.bool(p + i);
                }
                return AttributeValue.ofBoolList(out);
            }
            case INT8_LIST: return AttributeValue.ofInt8List(readByteVec(r, f, at));
            case UINT8_LIST: return AttributeValue.ofUInt8List(readByteVec(r, f, at));
            case INT16_LIST: case UINT16_LIST: {
                int n = r.vecLength(f, 2, 2, at);
                long p = r.vecStart(f);
                short[] out = new short[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (short) r.u16(p + 2L * i);
                }
                return kind == AttributeValue.Kind.INT16_LIST ? AttributeValue.ofInt16List(out)
                        : AttributeValue.ofUInt16List(out);
            }
            case INT32_LIST: case UINT32_LIST: case FLOAT32_LIST: {
                int n = r.vecLength(f, 4, 4, at);
                long p = r.vecStart(f);
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (int) r.u32(p + 4L * i);
                }
                if (kind == AttributeValue.Kind.FLOAT32_LIST) {
                    float[] fl = new float[n];
                    for (int i = 0; i < n; i++) {
                        fl[i] = Float.intBitsToFloat(out[i]);
                    }
                    return AttributeValue.ofFloat32List(fl);
                }
                return kind == AttributeValue.Kind.INT32_LIST ? AttributeValue.ofInt32List(out)
                        : AttributeValue.ofUInt32List(out);
            }
            case INT64_LIST: case UINT64_LIST: case FLOAT64_LIST: {
                int n = r.vecLength(f, 8, 8, at);
                long p = r.vecStart(f);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = r.i64(p + 8L * i);
                }
                if (kind == AttributeValue.Kind.FLOAT64_LIST) {
                    double[] d = new double[n];
                    for (int i = 0; i < n; i++) {
                        d[i] = Double.longBitsToDouble(out[i]);
                    }
                    return AttributeValue.ofFloat64List(d);
                }
                return kind == AttributeValue.Kind.INT64_LIST ? AttributeValue.ofInt64List(out)
                        : AttributeValue.ofUInt64List(out);
            }
            case STRING_LIST: {
                int n = r.vecLength(f, STRING_SIZE, 8, at);
                long p = r.vecStart(f);
                List<String> out = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    long s = p + (long) i * STRING_SIZE;
                    out.add(r.string(s, s));
                }
                return AttributeValue.ofStringList(out);
            }
            case BINARY_LIST: {
                int n = r.vecLength(f, VEC_SIZE, 8, at);
                long p = r.vecStart(f);
                List<byte[]> out = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    long s = p + (long) i * VEC_SIZE;
                    out.add(readByteVec(r, s, s));
                }
                return AttributeValue.ofBinaryList(out);
            }
            default:
                throw r.corrupt("unhandled attribute variant " + kind);
        }
    }

    private static byte[] readByteVec(ArchiveReader r, long fieldAt, long owner) {
        int n = r.vecLength(fieldAt, 1, 1, owner);
        return r.bytes(r.vecStart(fieldAt), n);
    }

    // ------------------------------------------------------------------------------------------
    // Footer encoding

    /**
     * Encodes a footer payload byte-identical to the reference serializer's output for the same
     * footer (version 4 or 5 as given by {@link Footer#version()}).
     */
    public static byte[] encodeFooter(Footer footer) {
        ArchiveWriter w = new ArchiveWriter();
        // blocks
        int[] codecDeps = new int[footer.blocks().size()];
        for (int i = 0; i < codecDeps.length; i++) {
            CodecId c = footer.blocks().get(i).codec();
            codecDeps[i] = c.isNone() ? -1 : w.stringDeps(c.name());
        }
        w.pad(8);
        int blocksAt = w.pos();
        for (int i = 0; i < codecDeps.length; i++) {
            BlockMeta b = footer.blocks().get(i);
            int at = w.reserve(BLOCK_META_SIZE);
            w.put32(at, b.id());
            w.put64(at + 8, b.fileOffset());
            w.put64(at + 16, b.compressedSize());
            w.put64(at + 24, b.uncompressedSize());
            if (!b.codec().isNone()) {
                w.put8(at + 32, 1);
                w.putString(at + 40, b.codec().name(), codecDeps[i]);
            }
        }
        // arrays
        List<ArrayMeta> arrays = footer.arrays();
        ArrayDeps[] arrayDeps = new ArrayDeps[arrays.size()];
        for (int i = 0; i < arrayDeps.length; i++) {
            arrayDeps[i] = arrayMetaDeps(w, arrays.get(i));
        }
        w.pad(8);
        int arraysAt = w.pos();
        for (int i = 0; i < arrayDeps.length; i++) {
            int at = w.reserve(ARRAY_META_SIZE);
            putArrayMeta(w, at, arrays.get(i), arrayDeps[i]);
        }
        // dictionaries
        int[] keyDeps = new int[footer.attrKeys().size()];
        for (int i = 0; i < keyDeps.length; i++) {
            keyDeps[i] = w.stringDeps(footer.attrKeys().get(i));
        }
        w.pad(8);
        int keysAt = w.pos();
        for (int i = 0; i < keyDeps.length; i++) {
            w.putString(w.reserve(STRING_SIZE), footer.attrKeys().get(i), keyDeps[i]);
        }
        int[] valueDeps = new int[footer.attrValues().size()];
        for (int i = 0; i < valueDeps.length; i++) {
            valueDeps[i] = attributeValueDeps(w, footer.attrValues().get(i));
        }
        w.pad(8);
        int valuesAt = w.pos();
        for (int i = 0; i < valueDeps.length; i++) {
            putAttributeValue(w, w.reserve(VALUE_SIZE), footer.attrValues().get(i), valueDeps[i]);
        }
        int hintDep = w.stringDeps(footer.baseFileHint());
        w.pad(8);
        int root = w.reserve(FOOTER_SIZE);
        w.put32(root, footer.version());
        w.putVec(root + 8, blocksAt, footer.blocks().size());
        w.putVec(root + 24, arraysAt, arrays.size());
        w.putVec(root + 40, keysAt, keyDeps.length);
        w.putVec(root + 56, valuesAt, valueDeps.length);
        w.put32(root + 72, footer.overlayIndex());
        w.putString(root + 80, footer.baseFileHint(), hintDep);
        return w.toByteArray();
    }

    /** Positions of the out-of-line parts of one ArrayMeta. */
    private static final class ArrayDeps {
        int name;
        int dtype;
        int shape;
        int dims;
        int chunkShape;
        int chunks;
        int fillString = -1;
        int attrs;
    }

    private static int u32VecDeps(ArchiveWriter w, long[] values) {
        w.pad(4);
        int at = w.pos();
        for (long v : values) {
            w.put32(w.reserve(4), v);
        }
        return at;
    }

    private static ArrayDeps arrayMetaDeps(ArchiveWriter w, ArrayMeta m) {
        ArrayDeps d = new ArrayDeps();
        d.name = w.stringDeps(m.name());
        d.dtype = dtypeDeps(w, m.dtype());
        d.shape = u32VecDeps(w, m.shape());
        int[] dimDeps = new int[m.dimensionNames().size()];
        for (int i = 0; i < dimDeps.length; i++) {
            dimDeps[i] = w.stringDeps(m.dimensionNames().get(i));
        }
        w.pad(8);
        d.dims = w.pos();
        for (int i = 0; i < dimDeps.length; i++) {
            w.putString(w.reserve(STRING_SIZE), m.dimensionNames().get(i), dimDeps[i]);
        }
        d.chunkShape = u32VecDeps(w, m.chunkShape());
        List<ChunkEntry> chunks = m.chunks();
        int[] coordDeps = new int[chunks.size()];
        for (int i = 0; i < coordDeps.length; i++) {
            coordDeps[i] = u32VecDeps(w, chunks.get(i).coord());
        }
        w.pad(8);
        d.chunks = w.pos();
        for (int i = 0; i < coordDeps.length; i++) {
            ChunkEntry e = chunks.get(i);
            int at = w.reserve(CHUNK_ENTRY_SIZE);
            w.putVec(at, coordDeps[i], e.rank());
            w.put32(at + 16, e.address().blockId());
            w.put32(at + 20, e.address().offset());
            w.put32(at + 24, e.address().size());
        }
        if (m.fillValue() instanceof FillValue.Str) {
            d.fillString = w.stringDeps(((FillValue.Str) m.fillValue()).value());
        }
        Attributes a = m.attributes();
        int half = 2 << a.width().ordinal();
        w.pad(half);
        d.attrs = w.pos();
        for (int i = 0; i < a.size(); i++) {
            int at = w.reserve(2 * half);
            putIndex(w, at, half, a.keyIndex(i));
            putIndex(w, at + half, half, a.valueIndex(i));
        }
        return d;
    }

    private static void putIndex(ArchiveWriter w, int at, int width, long v) {
        switch (width) {
            case 2: w.put16(at, (int) v); break;
            case 4: w.put32(at, v); break;
            default: w.put64(at, v); break;
        }
    }

    /** Emits the boxed children of a nested dtype; returns the child body position or -1. */
    private static int dtypeDeps(ArchiveWriter w, DType t) {
        if (t.child() == null) {
            return -1;
        }
        int childDeps = dtypeDeps(w, t.child());
        w.pad(8);
        int at = w.reserve(DTYPE_SIZE);
        putDType(w, at, t.child(), childDeps);
        return at;
    }

    private static void putDType(ArchiveWriter w, int at, DType t, int childAt) {
        w.put8(at, t.kind().tag());
        if (t.child() != null) {
            w.putBox(at + 8, childAt);
            if (t.kind() == DType.Kind.FIXED_SIZE_LIST) {
                w.put32(at + 16, t.listSize());
            }
        }
    }

    private static void putArrayMeta(ArchiveWriter w, int at, ArrayMeta m, ArrayDeps d) {
        w.putString(at, m.name(), d.name);
        putDType(w, at + 16, m.dtype(), d.dtype);
        int layout = at + 40;
        w.putVec(layout, d.shape, m.rank());
        w.putVec(layout + 16, d.dims, m.dimensionNames().size());
        w.putVec(layout + 32, d.chunkShape, m.chunkShape().length);
        w.putVec(layout + 48, d.chunks, m.chunks().size());
        FillValue fill = m.fillValue();
        if (fill != null) {
            w.put8(at + 104, 1);
            int f = at + 112;
            w.put8(f, fill.tag());
            if (fill instanceof FillValue.Bool) {
                w.put8(f + 1, ((FillValue.Bool) fill).value() ? 1 : 0);
            } else if (fill instanceof FillValue.Int) {
                w.put64(f + 8, ((FillValue.Int) fill).value());
            } else if (fill instanceof FillValue.UInt) {
                w.put64(f + 8, ((FillValue.UInt) fill).value());
            } else if (fill instanceof FillValue.Float) {
                w.put64(f + 8, Double.doubleToRawLongBits(((FillValue.Float) fill).value()));
            } else if (fill instanceof FillValue.Str) {
                w.putString(f + 8, ((FillValue.Str) fill).value(), d.fillString);
            } else {
                w.put64(f + 8, ((FillValue.TimestampNs) fill).value());
            }
        }
        w.put8(at + 136, m.deleted() ? 1 : 0);
        w.put8(at + 144, m.attributes().width().ordinal());
        w.putVec(at + 152, d.attrs, m.attributes().size());
    }

    /**
     * The payload of {@code v} through its public accessors: a boxed scalar (unsigned kinds as their
     * raw bits), a String, or an array / list for Binary and the list kinds (a copy).
     */
    private static Object payload(AttributeValue v) {
        switch (v.kind()) {
            case BOOL: return v.asBool();
            case INT8: case UINT8: return (byte) v.asLong();
            case INT16: case UINT16: return (short) v.asLong();
            case INT32: case UINT32: return (int) v.asLong();
            case INT64: case UINT64: return v.asLong();
            case FLOAT32: return v.asFloat32();
            case FLOAT64: return v.asDouble();
            case STRING: return v.asString();
            default: return v.listValue();
        }
    }

    /** Emits the out-of-line parts of an attribute value; returns the position its body points at. */
    private static int attributeValueDeps(ArchiveWriter w, AttributeValue v) {
        Object raw = payload(v);
        switch (v.kind()) {
            case STRING:
                return w.stringDeps((String) raw);
            case BINARY: case INT8_LIST: case UINT8_LIST: {
                return w.bytes((byte[]) raw);
            }
            case BOOL_LIST: {
                boolean[] b = (boolean[]) raw;
                int at = w.pos();
                for (boolean x : b) {
                    w.put8(w.reserve(1), x ? 1 : 0);
                }
                return at;
            }
            case INT16_LIST: case UINT16_LIST: {
                w.pad(2);
                int at = w.pos();
                for (short s : (short[]) raw) {
                    w.put16(w.reserve(2), s);
                }
                return at;
            }
            case INT32_LIST: case UINT32_LIST: {
                w.pad(4);
                int at = w.pos();
                for (int s : (int[]) raw) {
                    w.put32(w.reserve(4), s);
                }
                return at;
            }
            case FLOAT32_LIST: {
                w.pad(4);
                int at = w.pos();
                for (float s : (float[]) raw) {
                    w.put32(w.reserve(4), Float.floatToRawIntBits(s));
                }
                return at;
            }
            case INT64_LIST: case UINT64_LIST: {
                w.pad(8);
                int at = w.pos();
                for (long s : (long[]) raw) {
                    w.put64(w.reserve(8), s);
                }
                return at;
            }
            case FLOAT64_LIST: {
                w.pad(8);
                int at = w.pos();
                for (double s : (double[]) raw) {
                    w.put64(w.reserve(8), Double.doubleToRawLongBits(s));
                }
                return at;
            }
            case STRING_LIST: {
                @SuppressWarnings("unchecked")
                List<String> l = (List<String>) raw;
                int[] deps = new int[l.size()];
                for (int i = 0; i < deps.length; i++) {
                    deps[i] = w.stringDeps(l.get(i));
                }
                w.pad(8);
                int at = w.pos();
                for (int i = 0; i < deps.length; i++) {
                    w.putString(w.reserve(STRING_SIZE), l.get(i), deps[i]);
                }
                return at;
            }
            case BINARY_LIST: {
                @SuppressWarnings("unchecked")
                List<byte[]> l = (List<byte[]>) raw;
                int[] deps = new int[l.size()];
                for (int i = 0; i < deps.length; i++) {
                    deps[i] = w.bytes(l.get(i));
                }
                w.pad(8);
                int at = w.pos();
                for (int i = 0; i < deps.length; i++) {
                    w.putVec(w.reserve(VEC_SIZE), deps[i], l.get(i).length);
                }
                return at;
            }
            default:
                return -1;
        }
    }

    private static void putAttributeValue(ArchiveWriter w, int at, AttributeValue v, int dep) {
        Object raw = payload(v);
        w.put8(at, v.tag());
        switch (v.kind()) {
            case BOOL: w.put8(at + 1, ((Boolean) raw) ? 1 : 0); break;
            case INT8: case UINT8: w.put8(at + 1, (Byte) raw); break;
            case INT16: case UINT16: w.put16(at + 2, (Short) raw); break;
            case INT32: case UINT32: w.put32(at + 4, (Integer) raw); break;
            case FLOAT32: w.put32(at + 4, Float.floatToRawIntBits((Float) raw)); break;
            case INT64: case UINT64: w.put64(at + 8, (Long) raw); break;
            case FLOAT64: w.put64(at + 8, Double.doubleToRawLongBits((Double) raw)); break;
            case STRING: w.putString(at + 8, (String) raw, dep); break;
            default: w.putVec(at + 8, dep, listLength(raw)); break;
        }
    }

    private static int listLength(Object raw) {
        if (raw instanceof List) {
            return ((List<?>) raw).size();
        }
        return java.lang.reflect.Array.getLength(raw);
    }

    // ------------------------------------------------------------------------------------------
    // Stats

    /**
     * Decodes a stats payload: the v1 layout first, then the unversioned 0.9-0.11 layout.
     *
     * @throws CorruptFileException if neither layout decodes
     */
    public static StatsFile decodeStats(ByteBuffer payload, String file) {
        ArchiveReader r = new ArchiveReader(payload, file);
        CorruptFileException v1Failure = null;
        if (r.limit() >= STATS_V1_SIZE && (r.limit() - STATS_V1_SIZE) % 8 == 0) {
            long root = r.limit() - STATS_V1_SIZE;
            try {
                long version = r.u32(root);
                if (version != StatsFile.VERSION_V1) {
                    throw r.corrupt("stats version " + version + " is not 1");
                }
                // A v1 root's padding bytes 4..8 are zero.
                if (r.u32(root + 4) != 0) {
                    throw r.corrupt("stats root padding is not zero");
                }
                return new StatsFile(StatsFile.VERSION_V1, readStatsEntries(r, root + 8, root));
            } catch (CorruptFileException e) {
                v1Failure = e;
            }
        }
        if (r.limit() < STATS_UNVERSIONED_SIZE || (r.limit() - STATS_UNVERSIONED_SIZE) % 8 != 0) {
            throw v1Failure != null ? v1Failure
                    : r.corrupt("stats payload of " + r.limit() + " bytes is too short or misaligned");
        }
        long root = r.limit() - STATS_UNVERSIONED_SIZE;
        try {
            return new StatsFile(StatsFile.UNVERSIONED, readStatsEntries(r, root, root));
        } catch (CorruptFileException e) {
            if (v1Failure != null) {
                e.addSuppressed(v1Failure);
            }
            throw e;
        }
    }

    private static List<ArrayStats> readStatsEntries(ArchiveReader r, long fieldAt, long owner) {
        int n = r.vecLength(fieldAt, ARRAY_STATS_SIZE, 8, owner);
        long p = r.vecStart(fieldAt);
        List<ArrayStats> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long at = p + (long) i * ARRAY_STATS_SIZE;
            String name = r.string(at, at);
            StatValue min = readOptionalStat(r, at + 16, at);
            StatValue max = readOptionalStat(r, at + 48, at);
            out.add(new ArrayStats(name, min, max, r.i64(at + 80), r.i64(at + 88)));
        }
        return out;
    }

    private static StatValue readOptionalStat(ArchiveReader r, long at, long owner) {
        int opt = r.u8(at);
        if (opt == 0) {
            return null;
        }
        if (opt != 1) {
            throw r.corrupt("Option tag " + opt + " at payload offset " + at);
        }
        long v = at + 8;
        int tag = r.u8(v);
        switch (tag) {
            case 0: return new StatValue.Int(r.i64(v + 8));
            case 1: return new StatValue.UInt(r.i64(v + 8));
            case 2: return new StatValue.Float(Double.longBitsToDouble(r.i64(v + 8)));
            case 3: return new StatValue.Bytes(readByteVec(r, v + 8, owner));
            case 4: return new StatValue.TimestampNs(r.i64(v + 8));
            default: throw r.corrupt("stat value tag " + tag + " at payload offset " + v + " is not 0-4");
        }
    }

    /** Encodes a stats payload in the layout named by {@link StatsFile#version()}. */
    public static byte[] encodeStats(StatsFile stats) {
        ArchiveWriter w = new ArchiveWriter();
        List<ArrayStats> entries = stats.arrays();
        int[][] deps = new int[entries.size()][3];
        for (int i = 0; i < entries.size(); i++) {
            ArrayStats s = entries.get(i);
            deps[i][0] = w.stringDeps(s.name());
            deps[i][1] = s.min() instanceof StatValue.Bytes ? w.bytes(((StatValue.Bytes) s.min()).value()) : -1;
            deps[i][2] = s.max() instanceof StatValue.Bytes ? w.bytes(((StatValue.Bytes) s.max()).value()) : -1;
        }
        w.pad(8);
        int entriesAt = w.pos();
        for (int i = 0; i < entries.size(); i++) {
            ArrayStats s = entries.get(i);
            int at = w.reserve(ARRAY_STATS_SIZE);
            w.putString(at, s.name(), deps[i][0]);
            putOptionalStat(w, at + 16, s.min(), deps[i][1]);
            putOptionalStat(w, at + 48, s.max(), deps[i][2]);
            w.put64(at + 80, s.nullCount());
            w.put64(at + 88, s.rowCount());
        }
        w.pad(8);
        if (stats.version() == StatsFile.UNVERSIONED) {
            int root = w.reserve(STATS_UNVERSIONED_SIZE);
            w.putVec(root, entriesAt, entries.size());
        } else {
            int root = w.reserve(STATS_V1_SIZE);
            w.put32(root, stats.version());
            w.putVec(root + 8, entriesAt, entries.size());
        }
        return w.toByteArray();
    }

    private static void putOptionalStat(ArchiveWriter w, int at, StatValue v, int dep) {
        if (v == null) {
            return;
        }
        w.put8(at, 1);
        int p = at + 8;
        w.put8(p, v.tag());
        if (v instanceof StatValue.Int) {
            w.put64(p + 8, ((StatValue.Int) v).value());
        } else if (v instanceof StatValue.UInt) {
            w.put64(p + 8, ((StatValue.UInt) v).value());
        } else if (v instanceof StatValue.Float) {
            w.put64(p + 8, Double.doubleToRawLongBits(((StatValue.Float) v).value()));
        } else if (v instanceof StatValue.Bytes) {
            w.putVec(p + 8, dep, ((StatValue.Bytes) v).value().length);
        } else {
            w.put64(p + 8, ((StatValue.TimestampNs) v).value());
        }
    }
}
