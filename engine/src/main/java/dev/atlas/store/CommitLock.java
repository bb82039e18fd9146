package dev.atlas.store;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ConflictException;
import dev.atlas.error.NotFoundException;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * A lease on the store's commit point, held only around one registry read-merge-write: the
 * object {@code _commit.lock} under the store prefix, created with create-if-absent and deleted
 * after. It serialises commits on storages whose compare-and-swap is not atomic under concurrency
 * (S3-compatible servers that check {@code If-Match} and then write, as S3Mock and S3Proxy do);
 * the registry write inside it is still a compare-and-swap, so on a storage whose conditional
 * writes are atomic (AWS S3, local files) the lock is a second guard, not the only one. A lease
 * names its expiry; one left by a writer that died is broken once expired. (Dataset and array
 * names cannot start with {@code _}, so the key never collides with the store's data.)
 */
final class CommitLock {
    private static final Logger LOG = LoggerFactory.getLogger(CommitLock.class);
    /** The lease object's name under the store prefix. */
    static final String NAME = "_commit.lock";
    /** How long a commit waits for the lease before it gives up with a ConflictException. */
    static final Duration WAIT = Duration.ofSeconds(120);

    private final Storage storage;
    private final String key;
    private final Scheduler timer;
    /** How long a lease lasts: far longer than a registry read-merge-write. */
    private final Duration lease;

    CommitLock(Storage storage, StoreLayout layout, Scheduler timer, Duration lease) {
        this.lease = lease;
        this.storage = storage;
        this.key = layout.key(NAME);
        this.timer = timer;
    }

    /** Runs {@code body} holding the lease; releases it however the body ends. */
    <T> Mono<T> around(Supplier<Mono<T>> body) {
        return Mono.usingWhen(acquire(Instant.now().plus(WAIT), 0), held -> body.get(), held -> release(),
                (held, e) -> release(), held -> release());
    }

    private Mono<String> acquire(Instant giveUp, int attempt) {
        return Mono.defer(() -> {
            // Not UUID.randomUUID(): SecureRandom may read /dev/urandom, a blocking call on this thread.
            String owner = Long.toHexString(ThreadLocalRandom.current().nextLong()) + " " + Instant.now().plus(lease).toEpochMilli();
            byte[] body = owner.getBytes(StandardCharsets.UTF_8);
            return storage.putIfAbsent(key, Mono.fromSupplier(() -> Unpooled.wrappedBuffer(body))).thenReturn(owner)
                    .onErrorResume(AlreadyExistsException.class, e -> {
                        if (Instant.now().isAfter(giveUp)) {
                            return Mono.error(new ConflictException("the commit lease " + key + " stayed taken for "
                                    + WAIT.toSeconds() + " s", e));
                        }
                        return breakIfExpired().then(Mono.defer(() -> {
                            long backoff = Math.min(200, 2L << Math.min(attempt, 7));
                            return Mono.delay(Duration.ofMillis(ThreadLocalRandom.current().nextLong(1, backoff + 1)), timer);
                        })).then(acquire(giveUp, attempt + 1));
                    });
        });
    }

    /** Deletes the lease when the one stored has expired (its writer died holding it). */
    private Mono<Void> breakIfExpired() {
        return storage.getIfChanged(key, null, 4096).flatMap(o -> {
            String text;
            try {
                text = new String(ByteBufUtil.getBytes(o.content()), StandardCharsets.UTF_8);
            } finally {
                o.content().release();
            }
            long expires;
            try {
                expires = Long.parseLong(text.substring(text.indexOf(' ') + 1).trim());
            } catch (RuntimeException unreadable) {
                expires = 0; // not a lease this engine wrote: treat as expired
            }
            if (Instant.now().toEpochMilli() <= expires) {
                return Mono.<Void>empty();
            }
            LOG.warn("breaking the expired commit lease {} ({})", key, text);
            return storage.delete(key);
        }).onErrorResume(NotFoundException.class, e -> Mono.empty());
    }

    private Mono<Void> release() {
        return storage.delete(key).onErrorResume(e -> {
            LOG.warn("releasing the commit lease {} failed ({}); it expires in {} s", key, e.toString(), lease.toSeconds());
            return Mono.empty();
        });
    }
}
