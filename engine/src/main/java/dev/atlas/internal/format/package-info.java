/**
 * The {@code .af} on-disk format as bytes, not API: footers, archive reader and writer, trailer, chunk and stats encodings, layer naming and the merged view of a file set; may change without notice.
 */
package dev.atlas.internal.format;
