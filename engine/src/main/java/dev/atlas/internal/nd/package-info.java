/**
 * N-dimensional geometry behind the read and write paths, not API: chunk grids, grid coordinates and strided copies between chunk tiles and results.
 */
package dev.atlas.internal.nd;
