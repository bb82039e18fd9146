/** Helpers shared by the engine's packages and backends; not API, may change without notice. */
package dev.atlas.internal;
