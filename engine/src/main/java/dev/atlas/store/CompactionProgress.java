package dev.atlas.store;

/**
 * Where a compaction stands after one more array file set was handled (see
 * {@link Atlas#compact(java.util.function.Consumer)}).
 *
 * @param array the array whose file set was just handled
 * @param compacted true when it was rewritten as one base, false when it yielded to another writer
 * @param fileSetsDone file sets handled so far, this one included
 * @param fileSetsTotal file sets this compaction handles (the arrays the registry references)
 */
public record CompactionProgress(String array, boolean compacted, int fileSetsDone, int fileSetsTotal) {
}
