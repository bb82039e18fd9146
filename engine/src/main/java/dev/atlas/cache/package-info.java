/**
 * The read caches: stored bytes in slabs, decompressed blocks, the pair a file reads through, and their statistics.
 */
package dev.atlas.cache;
