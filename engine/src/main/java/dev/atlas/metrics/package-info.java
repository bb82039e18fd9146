/**
 * The engine's meters in Micrometer ({@link dev.atlas.metrics.AtlasMetrics}): the only package of
 * the engine that uses Micrometer, an optional dependency; everything else counts with plain
 * {@code LongAdder}s that the binder reads.
 */
package dev.atlas.metrics;
