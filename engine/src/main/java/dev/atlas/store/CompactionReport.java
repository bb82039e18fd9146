package dev.atlas.store;

import java.util.List;

/**
 * What {@link Atlas#compact()} did: the array file sets it rewrote as one base, those it left for
 * later because another writer was committing to them, and the objects it deleted as garbage
 * (absorbed sidecars are counted in {@code compacted}, not here).
 *
 * @param compacted array names whose file set was rewritten as one base layer
 * @param yielded array names skipped because another writer's flush to them was in progress
 * @param garbage keys deleted: sidecars of failed commits and unreferenced array file sets older
 *     than {@link AtlasOptions#garbageAge()}
 * @param abandonedUploads staging files and uploads of dead writers the storage removed
 */
public record CompactionReport(List<String> compacted, List<String> yielded, List<String> garbage, long abandonedUploads) {
    public CompactionReport {
        compacted = List.copyOf(compacted);
        yielded = List.copyOf(yielded);
        garbage = List.copyOf(garbage);
    }
}
