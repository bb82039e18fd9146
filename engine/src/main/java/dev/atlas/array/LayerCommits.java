package dev.atlas.array;

import reactor.core.publisher.Mono;

/**
 * Where a file set learns which of its layers are committed: the commit record it belongs to. A
 * store answers from its registry; a file set on its own counts every sidecar
 * ({@link #STANDALONE}). The file set asks again when it refreshes, and with {@code latest} true
 * when a read found an object replaced or gone (the record it knows may be older than the files).
 */
@FunctionalInterface
public interface LayerCommits {
    /** Every sidecar that exists is committed. */
    LayerCommits STANDALONE = latest -> Mono.just(CommittedLayers.ALL);

    /**
     * The committed layers as of the newest commit known, after bringing that knowledge up to
     * date first when {@code latest} is true.
     */
    Mono<CommittedLayers> committed(boolean latest);
}
