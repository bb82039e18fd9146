/**
 * The storage SPI: a small reactive contract over object-store-like backends (range reads,
 * head, listing, atomic whole-object puts, create-if-absent, delete), an in-memory backend, and
 * a fault-injecting wrapper for tests.
 */
package dev.atlas.storage;
