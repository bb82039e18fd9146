/**
 * The values a user of the engine reads and writes: dtypes, fill values, attribute values and array statistics. The byte-level encoding of them lives in {@code dev.atlas.internal.format}.
 */
package dev.atlas.format;
