package dev.atlas.integrity;

/**
 * Where a verification walk stands: the object it last finished a step on, and running totals.
 *
 * @param object the storage key of the object just checked (a layer, stats file or registry)
 * @param fileSetsDone file sets completely checked
 * @param fileSetsTotal file sets to check (known after the store's listing; 1 for a single file set)
 * @param blocksChecked blocks read and decoded so far
 * @param bytesChecked stored bytes of those blocks
 * @param findings findings so far
 */
public record VerifyProgress(String object, int fileSetsDone, int fileSetsTotal, long blocksChecked, long bytesChecked,
        int findings) {
}
