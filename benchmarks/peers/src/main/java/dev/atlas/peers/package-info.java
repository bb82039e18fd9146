/**
 * The side-by-side benchmark of Atlas against zarr-java, TileDB-Java and jHDF behind one small store interface.
 */
package dev.atlas.peers;
