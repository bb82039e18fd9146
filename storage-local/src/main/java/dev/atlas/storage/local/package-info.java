/** The local filesystem backend of the storage SPI: atomic, durable writes and cached read handles. */
package dev.atlas.storage.local;
