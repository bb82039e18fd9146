/**
 * The pooled direct buffer allocator the engine writes and reads blocks with, and its statistics.
 */
package dev.atlas.buffer;
