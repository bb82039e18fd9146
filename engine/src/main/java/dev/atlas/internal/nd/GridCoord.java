package dev.atlas.internal.nd;

import java.util.Arrays;

/** A chunk grid coordinate usable as a hash key. Immutable. */
public final class GridCoord {
    private final long[] c;
    private final int hash;

    private GridCoord(long[] c) {
        this.c = c;
        this.hash = Arrays.hashCode(c);
    }

    /** Copies {@code coord}. */
    public static GridCoord of(long... coord) {
        return new GridCoord(coord.clone());
    }

    /** Copy of the coordinate. */
    public long[] toArray() {
        return c.clone();
    }

    public int rank() {
        return c.length;
    }

    public long get(int axis) {
        return c[axis];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GridCoord && Arrays.equals(c, ((GridCoord) o).c);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return Arrays.toString(c);
    }
}
