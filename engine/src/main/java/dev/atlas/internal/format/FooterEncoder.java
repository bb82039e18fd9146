package dev.atlas.internal.format;

import static dev.atlas.internal.format.FooterLayout.ARRAY_META_SIZE;
import static dev.atlas.internal.format.FooterLayout.BLOCK_META_SIZE;
import static dev.atlas.internal.format.FooterLayout.CHUNK_ENTRY_SIZE;
import static dev.atlas.internal.format.FooterLayout.DTYPE_SIZE;
import static dev.atlas.internal.format.FooterLayout.FOOTER_SIZE;
import static dev.atlas.internal.format.FooterLayout.VALUE_SIZE;

import dev.atlas.codec.CodecId;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.util.List;

/**
 * Encodes footer payloads, emitting dependencies before bodies in field order (post-order), which
 * reproduces the reference serializer byte for byte. Pure functions, thread-safe.
 */
final class FooterEncoder {
    private FooterEncoder() {
    }

    /**
     * Encodes a footer payload byte-identical to the reference serializer's output for the same
     * footer (version 4 or 5 as given by {@link Footer#version()}).
     */
    static byte[] encode(Footer footer) {
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
        int keysAt = w.stringVec(footer.attrKeys());
        int[] valueDeps = new int[footer.attrValues().size()];
        for (int i = 0; i < valueDeps.length; i++) {
            valueDeps[i] = AttributeValueCodec.deps(w, footer.attrValues().get(i));
        }
        w.pad(8);
        int valuesAt = w.pos();
        for (int i = 0; i < valueDeps.length; i++) {
            AttributeValueCodec.put(w, w.reserve(VALUE_SIZE), footer.attrValues().get(i), valueDeps[i]);
        }
        int hintDep = w.stringDeps(footer.baseFileHint());
        w.pad(8);
        int root = w.reserve(FOOTER_SIZE);
        w.put32(root, footer.version());
        w.putVec(root + 8, blocksAt, footer.blocks().size());
        w.putVec(root + 24, arraysAt, arrays.size());
        w.putVec(root + 40, keysAt, footer.attrKeys().size());
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
        d.dims = w.stringVec(m.dimensionNames());
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
        int half = FooterLayout.indexWidth(a.width().ordinal());
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
}
