/** Block compression codecs (none, lz4, zstd) on Netty buffers, and the registry that maps stored codec ids to them. */
package dev.atlas.codec;
