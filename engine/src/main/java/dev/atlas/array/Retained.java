package dev.atlas.array;

import dev.atlas.error.NotFoundException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Keeps the committed objects a compaction replaces or deletes readable for a while, so a read
 * planned on them (a pinned HTTP response streaming its pieces, a bulk read across datasets)
 * finishes on the state it started on instead of being cut when another process compacts.
 *
 * <p>Before a compaction replaces a base or deletes an absorbed sidecar it copies the version it
 * read to {@code {dir}/_retained/{name}.{tag}.{millis}}: {@code tag} names the version (a hash of
 * its token), {@code millis} the moment of retention (a local copy is a hard link, which keeps the
 * original's modification time, so the age is in the name). A read that finds its object replaced
 * or gone looks for that version there ({@link #read}) before the error stands. The copies are
 * garbage once older than the garbage age ({@link #deleteOld}): a response streaming longer than
 * that can still be cut. The reference crate never looks into {@code _retained/}; the sidecar
 * listing ({@code {stem}.}) never matches it.
 */
final class Retained {
    /** The directory, beside the file set's objects, that holds retained versions. */
    static final String DIR = "_retained";

    private Retained() {
    }

    /** The key prefix of every retained version of the objects whose keys are in {@code stem}'s directory and start with its name. */
    static String prefix(String stem) {
        int slash = stem.lastIndexOf('/');
        return stem.substring(0, slash + 1) + DIR + "/" + stem.substring(slash + 1) + ".";
    }

    /** The key prefix of the retained copies of the version {@code o} names. */
    static String prefixOf(ObjectInfo o) {
        String key = o.key();
        int slash = key.lastIndexOf('/');
        return key.substring(0, slash + 1) + DIR + "/" + key.substring(slash + 1) + "." + tag(o.version()) + ".";
    }

    /** A new key for a copy of {@code o} retained at {@code now}. */
    static String keyOf(ObjectInfo o, Instant now) {
        return prefixOf(o) + now.toEpochMilli();
    }

    private static String tag(String version) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(version.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JVM has SHA-256", e);
        }
    }

    /**
     * Retains the version {@code o} names before it is replaced or deleted. If it already is
     * another version or gone, there is nothing left to retain: completes empty, and the caller's
     * own version-checked step decides.
     */
    static Mono<Void> keep(Storage storage, ObjectInfo o) {
        return storage.copy(o, keyOf(o, Instant.now()))
                .onErrorResume(e -> e instanceof ObjectChangedException || e instanceof NotFoundException, e -> Mono.empty())
                .then();
    }

    /**
     * {@code primary} (a version-checked read of {@code o}), or, when it finds {@code o} replaced or
     * gone, the same range of a retained copy of that version; when there is none the primary's
     * error stands. {@code served} counts the reads a copy answered.
     *
     * @return a buffer the subscriber owns and releases
     */
    static Mono<ByteBuf> read(Storage storage, ObjectInfo o, long offset, long length, Mono<ByteBuf> primary,
            java.util.concurrent.atomic.AtomicLong served) {
        return primary.onErrorResume(e -> e instanceof ObjectChangedException || e instanceof NotFoundException,
                e -> storage.list(prefixOf(o)).next()
                        .flatMap(copy -> storage.read(copy.key(), offset, length))
                        .doOnNext(b -> served.incrementAndGet())
                        .onErrorResume(NotFoundException.class, gone -> Mono.empty())
                        .switchIfEmpty(Mono.error(e)));
    }

    /**
     * Deletes the retained copies of {@code stem}'s objects retained longer than {@code age} ago.
     *
     * @return the objects deleted
     */
    static Flux<ObjectInfo> deleteOld(Storage storage, String stem, Duration age) {
        Instant cutoff = Instant.now().minus(age);
        return storage.list(prefix(stem))
                .filter(o -> {
                    String k = o.key();
                    int dot = k.lastIndexOf('.');
                    try {
                        return Instant.ofEpochMilli(Long.parseLong(k.substring(dot + 1))).isBefore(cutoff);
                    } catch (NumberFormatException e) {
                        return false; // not ours
                    }
                })
                .concatMap(o -> storage.delete(o.key()).thenReturn(o), 0);
    }
}
