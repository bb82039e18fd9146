package dev.atlas.testing;

import dev.atlas.error.StorageException;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link Storage} wrapper for failure tests. Every subscription to any operation is one call,
 * numbered from 1 in subscription order. Faults: fail call N; "crash" at call N (it and every later
 * call fail, as if the process died there); fail a put's body after K bytes; delay every call.
 * Failed calls never reach the delegate (a failed put leaves nothing behind). Thread-safe.
 */
public final class FaultInjectingStorage implements Storage {
    private final Storage delegate;
    private final AtomicInteger calls = new AtomicInteger();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private volatile int failCall = -1;
    private volatile int crashAt = -1;
    private volatile long failPutAfterBytes = -1;
    private volatile Duration delay = Duration.ZERO;

    public FaultInjectingStorage(Storage delegate) {
        this.delegate = delegate;
    }

    /** Makes call {@code n} (1-based) fail with a non-retryable {@link StorageException}. */
    public FaultInjectingStorage failCall(int n) {
        this.failCall = n;
        return this;
    }

    /** Makes call {@code n} and every later call fail, like a process that died at call n. */
    public FaultInjectingStorage crashAt(int n) {
        this.crashAt = n;
        return this;
    }

    /** Makes every put fail once {@code k} body bytes have been passed to the delegate. */
    public FaultInjectingStorage failPutAfterBytes(long k) {
        this.failPutAfterBytes = k;
        return this;
    }

    /** Delays every call by {@code d}. */
    public FaultInjectingStorage delay(Duration d) {
        this.delay = d;
        return this;
    }

    /** Calls made so far. */
    public int calls() {
        return calls.get();
    }

    /** One line per call: {@code "3 PUT key"}, with {@code " FAILED"} when injected. */
    public List<String> log() {
        synchronized (log) {
            return List.copyOf(log);
        }
    }

    private <T> Mono<T> call(String op, String key, Mono<T> action) {
        return Mono.defer(() -> {
            int n = calls.incrementAndGet();
            boolean fail = n == failCall || (crashAt > 0 && n >= crashAt);
            log.add(n + " " + op + " " + key + (fail ? " FAILED" : ""));
            Mono<T> m = fail
                    ? Mono.error(new StorageException("injected failure at call " + n + " (" + op + " " + key + ")", false))
                    : action;
            // delaySubscription subscribes the action normally, so a value produced after a cancel is discarded (released).
            return delay.isZero() ? m : m.delaySubscription(delay);
        });
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length) {
        return call("READ", key + "[" + offset + "+" + length + "]", delegate.read(key, offset, length));
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length, String version) {
        return call("READ", key + "[" + offset + "+" + length + "]", delegate.read(key, offset, length, version));
    }

    @Override
    public Mono<dev.atlas.storage.StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
        return call("GET", key, delegate.getIfChanged(key, knownVersion, maxBytes));
    }

    @Override
    public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
        return call("PUT_IF_MATCH", key, Mono.defer(() -> delegate.putIfMatch(key, expectedVersion, limited(body))));
    }

    @Override
    public Mono<ObjectInfo> head(String key) {
        return call("HEAD", key, delegate.head(key));
    }

    @Override
    public Flux<ObjectInfo> list(String prefix) {
        return call("LIST", prefix, delegate.list(prefix).collectList()).flatMapMany(Flux::fromIterable);
    }

    @Override
    public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
        return call("PUT", key, Mono.defer(() -> delegate.put(key, limited(body))));
    }

    @Override
    public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
        return call("PUT_IF_ABSENT", key, Mono.defer(() -> delegate.putIfAbsent(key, limited(body))));
    }

    @Override
    public Mono<Void> delete(String key) {
        return call("DELETE", key, delegate.delete(key));
    }

    private Publisher<ByteBuf> limited(Publisher<ByteBuf> body) {
        long limit = failPutAfterBytes;
        if (limit < 0) {
            return body;
        }
        AtomicLong passed = new AtomicLong();
        return Flux.from(body).handle((buf, sink) -> {
            if (passed.addAndGet(buf.readableBytes()) > limit) {
                ReferenceCountUtil.safeRelease(buf);
                sink.error(new StorageException("injected failure after " + limit + " body bytes", true));
            } else {
                sink.next(buf);
            }
        });
    }
}
