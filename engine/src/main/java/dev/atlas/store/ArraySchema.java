package dev.atlas.store;

import dev.atlas.format.DType;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What the registry records of one array of one dataset: dtype, shape, chunk shape (equal to the
 * shape for one chunk), dimension names as given, and the codec at definition time. The fill value
 * is not part of it: it lives in the array file.
 *
 * <p>A stored record, distinct from {@link dev.atlas.array.ArraySpec}, the request to define an array
 * (which carries the fill value and the checked limits, and no codec).
 */
public record ArraySchema(DType dtype, long[] shape, long[] chunkShape, List<String> dimensionNames, StoreCodec codec) {

    public ArraySchema {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(codec, "codec");
        shape = shape.clone();
        chunkShape = chunkShape.clone();
        dimensionNames = List.copyOf(dimensionNames);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public long[] chunkShape() {
        return chunkShape.clone();
    }

    public int rank() {
        return shape.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ArraySchema s && dtype.equals(s.dtype) && Arrays.equals(shape, s.shape)
                && Arrays.equals(chunkShape, s.chunkShape) && dimensionNames.equals(s.dimensionNames) && codec == s.codec;
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), Arrays.hashCode(chunkShape), dimensionNames, codec);
    }

    @Override
    public String toString() {
        return "ArraySchema[" + dtype + " " + Arrays.toString(shape) + " chunks " + Arrays.toString(chunkShape) + " dims "
                + dimensionNames + " " + codec.serdeName() + "]";
    }
}
