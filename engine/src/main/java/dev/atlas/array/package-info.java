/**
 * The {@code .af} file set as a live reactive object ({@link dev.atlas.array.ArrayFile}), the schema of an array to define, its options, and read results ({@link dev.atlas.array.NdArray}).
 */
package dev.atlas.array;
