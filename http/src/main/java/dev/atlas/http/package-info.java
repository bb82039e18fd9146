/**
 * The HTTP service of an Atlas store ({@code atlas serve}): a JSON catalog, region reads streamed as
 * little-endian binary with backpressure, stacked bulk reads across datasets, PNG quick-looks,
 * health and Prometheus metrics, on reactor-netty. Entry point: {@link dev.atlas.http.AtlasHttpServer}.
 */
package dev.atlas.http;
