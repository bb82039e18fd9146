package dev.atlas.store;

import dev.atlas.array.NdArray;

/**
 * One dataset's result of {@link Atlas#readArrayAcross}: its position in the requested list, its
 * name, and the region read, or no array when the dataset is not registered or does not declare
 * the array. The subscriber owns the array: close this result once consumed (idempotent).
 *
 * @param index position of the dataset in the requested list
 * @param dataset the dataset's name
 * @param array the region read; null when {@link #absent()}. Owned by this result.
 */
public record DatasetRead(int index, String dataset, NdArray array) implements AutoCloseable {

    /** True when the dataset is not registered or does not declare the array. */
    public boolean absent() {
        return array == null;
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
