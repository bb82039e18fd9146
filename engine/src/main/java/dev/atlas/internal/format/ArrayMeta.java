package dev.atlas.internal.format;

import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One array's entry in one layer footer: schema (name, dtype, shape, dimension names, chunk shape,
 * fill), the chunks stored in that layer, the tombstone flag, and attribute index pairs into that
 * layer's dictionaries. Shape and chunk shape are u32 per axis on disk. Immutable.
 *
 * <p>The stored record, not the request: a user defines an array with a
 * {@code dev.atlas.array.ArraySpec} (checked, with defaults), which the writer records as one
 * of these; an Atlas store keeps its own record of a store array in the registry
 * ({@code dev.atlas.store.ArraySchema}).
 */
public final class ArrayMeta {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final List<String> dimensionNames;
    private final long[] chunkShape;
    private final List<ChunkEntry> chunks;
    private final FillValue fillValue;
    private final boolean deleted;
    private final Attributes attributes;

    public ArrayMeta(String name, DType dtype, long[] shape, List<String> dimensionNames, long[] chunkShape,
            List<ChunkEntry> chunks, FillValue fillValue, boolean deleted, Attributes attributes) {
        this.name = Objects.requireNonNull(name, "name");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        for (long s : shape) {
            ChunkAddress.requireU32("shape extent", s);
        }
        for (long s : chunkShape) {
            ChunkAddress.requireU32("chunk extent", s);
        }
        this.shape = shape.clone();
        this.dimensionNames = List.copyOf(dimensionNames);
        this.chunkShape = chunkShape.clone();
        this.chunks = List.copyOf(chunks);
        this.fillValue = fillValue;
        this.deleted = deleted;
        this.attributes = Objects.requireNonNull(attributes, "attributes");
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** Copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public List<String> dimensionNames() {
        return dimensionNames;
    }

    /** Copy of the chunk shape. */
    public long[] chunkShape() {
        return chunkShape.clone();
    }

    public List<ChunkEntry> chunks() {
        return chunks;
    }

    /** Declared fill value, or null. */
    public FillValue fillValue() {
        return fillValue;
    }

    /** True for a tombstone. */
    public boolean deleted() {
        return deleted;
    }

    public Attributes attributes() {
        return attributes;
    }

    /** Same meta with another chunk list. */
    public ArrayMeta withChunks(List<ChunkEntry> newChunks) {
        return new ArrayMeta(name, dtype, shape, dimensionNames, chunkShape, newChunks, fillValue, deleted, attributes);
    }

    /** Same meta with other attribute pairs. */
    public ArrayMeta withAttributes(Attributes newAttributes) {
        return new ArrayMeta(name, dtype, shape, dimensionNames, chunkShape, chunks, fillValue, deleted, newAttributes);
    }

    /** A tombstone of this meta: deleted, no chunks. */
    public ArrayMeta asTombstone() {
        return new ArrayMeta(name, dtype, shape, dimensionNames, chunkShape, List.of(), fillValue, true, attributes);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ArrayMeta)) {
            return false;
        }
        ArrayMeta m = (ArrayMeta) o;
        return name.equals(m.name) && dtype.equals(m.dtype) && Arrays.equals(shape, m.shape)
                && dimensionNames.equals(m.dimensionNames) && Arrays.equals(chunkShape, m.chunkShape)
                && chunks.equals(m.chunks) && Objects.equals(fillValue, m.fillValue) && deleted == m.deleted
                && attributes.equals(m.attributes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), chunks.size(), deleted);
    }

    @Override
    public String toString() {
        return "ArrayMeta{" + name + " " + dtype + " " + Arrays.toString(shape) + " chunks=" + chunks.size()
                + (deleted ? " deleted" : "") + "}";
    }
}
