/**
 * The engine-owned runtime shared by files, stores and storage backends: schedulers, buffer allocator and default read caches ({@link dev.atlas.runtime.EngineResources}).
 */
package dev.atlas.runtime;
