package dev.atlas.storage;

import java.nio.file.Path;
import reactor.core.publisher.Mono;

/**
 * The optional ability of a storage on a local filesystem to take a finished local file over as an
 * object without copying it (see {@link Storage#fileAdoption()}). The engine spills a pending
 * layer's compressed blocks into a file in the {@linkplain #stagingDirectory staging directory},
 * appends the footer when it flushes, and asks the storage to adopt the file: every byte is written
 * once instead of twice.
 */
public interface FileAdoption {

    /**
     * A directory on the same filesystem as the object {@code key} (and its sibling keys) where the
     * caller may create files to adopt later, created if absent. Blocking: call on an I/O thread.
     *
     * @throws dev.atlas.error.InvalidArgumentException for a key the storage refuses
     */
    Path stagingDirectory(String key);

    /**
     * The prefix every staged file's name must start with: the storage ignores such files in
     * listings and may sweep them when a writer died before adopting them.
     */
    String stagedFilePrefix();

    /**
     * Makes the complete file {@code staged} (created in {@link #stagingDirectory} for this key)
     * the object {@code key}, atomically and durably: the file is synced, moved into place (or, with
     * {@code ifAbsent}, linked into place only if {@code key} does not exist, failing with
     * {@link dev.atlas.error.AlreadyExistsException} otherwise), its staged name removed, and the
     * directory synced. On failure the staged file is left as it was, for the caller to retry or
     * delete. The caller must not write to the file afterwards.
     */
    Mono<ObjectInfo> adopt(String key, Path staged, boolean ifAbsent);

    /**
     * As {@link #adopt} replacing {@code key}, but only if the object stored there is version
     * {@code expectedVersion} (the compare-and-swap of {@link Storage#putIfMatch}, also across
     * processes); otherwise fails with {@link dev.atlas.error.ObjectChangedException} and leaves
     * the staged file as it was.
     */
    Mono<ObjectInfo> adoptIfMatch(String key, Path staged, String expectedVersion);
}
