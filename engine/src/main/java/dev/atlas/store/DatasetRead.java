package dev.atlas.store;

import dev.atlas.array.NdArray;

/**
 * One dataset's result of {@link Atlas#readArrayAcross}: its position in the requested list, its
 * name, and the region read, or no array when the dataset is not registered or does not declare
 * the array. The subscriber owns the array: close this result once consumed (idempotent).
 */
public final class DatasetRead implements AutoCloseable {
    private final int index;
    private final String dataset;
    private final NdArray array;

    DatasetRead(int index, String dataset, NdArray array) {
        this.index = index;
        this.dataset = dataset;
        this.array = array;
    }

    /** Position of the dataset in the requested list. */
    public int index() {
        return index;
    }

    public String dataset() {
        return dataset;
    }

    /** True when the dataset is not registered or does not declare the array. */
    public boolean absent() {
        return array == null;
    }

    /** The region read; null when {@link #absent()}. Owned by this result. */
    public NdArray array() {
        return array;
    }

    @Override
    public void close() {
        if (array != null) {
            array.close();
        }
    }

    @Override
    public String toString() {
        return "DatasetRead[" + index + " " + dataset + (array == null ? " absent" : " " + array) + "]";
    }
}
