package dev.atlas.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.util.ReferenceCounted;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;

/**
 * Races completion, request and cancellation of {@link FutureTake} (a {@link OneShotSubscription})
 * on two threads many times: every value must be delivered once or released once, never both,
 * never twice, never neither. Reactor's MonoSubscriber fails this (double release or leak).
 */
class OneShotSubscriptionTest {

    /** A value that counts its releases (an over-release is counted, not swallowed). */
    static final class Counted implements ReferenceCounted {
        final AtomicInteger releases = new AtomicInteger();

        @Override public int refCnt() { return 1 - releases.get(); }
        @Override public ReferenceCounted retain() { throw new UnsupportedOperationException(); }
        @Override public ReferenceCounted retain(int n) { throw new UnsupportedOperationException(); }
        @Override public ReferenceCounted touch() { return this; }
        @Override public ReferenceCounted touch(Object hint) { return this; }
        @Override public boolean release() { releases.incrementAndGet(); return true; }
        @Override public boolean release(int n) { return release(); }
    }

    @Test
    void everyValueIsDeliveredOrReleasedExactlyOnce() throws Exception {
        int delivered = 0;
        int released = 0;
        for (int i = 0; i < 20_000; i++) {
            boolean lateRequest = i % 2 == 1;
            CompletableFuture<Integer> f = new CompletableFuture<>();
            Counted value = new Counted();
            AtomicReference<Subscription> sub = new AtomicReference<>();
            AtomicInteger onNext = new AtomicInteger();
            FutureTake.of(f, x -> value).subscribe(new CoreSubscriber<Counted>() {
                @Override public void onSubscribe(Subscription s) {
                    sub.set(s);
                    if (!lateRequest) {
                        s.request(1);
                    }
                }
                @Override public void onNext(Counted c) { onNext.incrementAndGet(); }
                @Override public void onError(Throwable t) { }
                @Override public void onComplete() { }
            });
            CountDownLatch go = new CountDownLatch(1);
            Thread completer = new Thread(() -> {
                await(go);
                f.complete(1);
            });
            completer.start();
            go.countDown();
            if (lateRequest) {
                sub.get().request(1);
            }
            sub.get().cancel();
            completer.join();
            int n = onNext.get();
            int r = value.releases.get();
            assertEquals(1, n + r, "iteration " + i + ": delivered " + n + ", released " + r);
            delivered += n;
            released += r;
        }
        // Both outcomes occur, or the race was never exercised.
        System.out.println("delivered " + delivered + ", released " + released);
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
