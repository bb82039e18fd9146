package dev.atlas.internal.format;

import java.util.Arrays;
import java.util.Objects;

/** One stored chunk of an array in one layer: its grid coordinate (u32 per axis) and address. */
public final class ChunkEntry {
    private final long[] coord;
    private final ChunkAddress address;

    public ChunkEntry(long[] coord, ChunkAddress address) {
        for (long c : coord) {
            ChunkAddress.requireU32("chunk coordinate", c);
        }
        this.coord = coord.clone();
        this.address = Objects.requireNonNull(address, "address");
    }

    /** Copy of the grid coordinate. */
    public long[] coord() {
        return coord.clone();
    }

    /** Grid coordinate along {@code axis}. */
    public long coord(int axis) {
        return coord[axis];
    }

    public int rank() {
        return coord.length;
    }

    public ChunkAddress address() {
        return address;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkEntry && Arrays.equals(coord, ((ChunkEntry) o).coord)
                && address.equals(((ChunkEntry) o).address);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(coord) * 31 + address.hashCode();
    }

    @Override
    public String toString() {
        return Arrays.toString(coord) + "->" + address;
    }
}
