/** N-dimensional geometry: chunk grids, regions, and strided copies between chunk tiles and results. */
package dev.atlas.nd;
