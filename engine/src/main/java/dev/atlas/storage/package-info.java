/**
 * The storage SPI: a small reactive contract over object-store-like backends (range reads,
 * head, listing, atomic whole-object puts, create-if-absent, delete), an in-memory backend, and
 * the counters of storage calls by backend kind, operation and outcome ({@link dev.atlas.storage.StorageMeters}).
 */
package dev.atlas.storage;
