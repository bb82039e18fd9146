/**
 * The {@code .af} on-disk format as plain values and pure codecs (no I/O): dtypes, fill values,
 * attributes, footers and stats, their byte-exact archive encoding, and chunk element encoding.
 */
package dev.atlas.format;
