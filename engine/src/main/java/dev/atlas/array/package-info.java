/**
 * The {@code .af} file set as a live reactive object ({@link dev.atlas.array.ArrayFile}), its
 * results ({@link dev.atlas.array.NdArray}), options and the engine-owned schedulers.
 */
package dev.atlas.array;
