/**
 * Block compression codecs (none, lz4, zstd) on Netty buffers, the registry that maps stored codec
 * ids to them, and the one LZ4 size-prefixed format that the store's {@code .lz4} registry files share.
 */
package dev.atlas.codec;
