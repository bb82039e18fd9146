/**
 * The S3 backend's request counters in Micrometer ({@link dev.atlas.storage.s3.metrics.S3Metrics}):
 * the only package of the module that uses Micrometer, an optional dependency.
 */
package dev.atlas.storage.s3.metrics;
