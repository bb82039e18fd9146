package dev.atlas.storage.s3;

import java.util.EnumMap;
import java.util.concurrent.atomic.LongAdder;

/** The live counters behind {@link S3Stats}; lock-free. */
final class S3Counters {
    private final EnumMap<S3Request, LongAdder> requests = new EnumMap<>(S3Request.class);
    private final LongAdder failures = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();

    S3Counters() {
        for (S3Request r : S3Request.values()) {
            requests.put(r, new LongAdder());
        }
    }

    void request(S3Request kind) {
        requests.get(kind).increment();
    }

    void failure() {
        failures.increment();
    }

    void retry() {
        retries.increment();
    }

    void bytesIn(long n) {
        bytesIn.add(n);
    }

    void bytesOut(long n) {
        bytesOut.add(n);
    }

    S3Stats snapshot() {
        EnumMap<S3Request, Long> m = new EnumMap<>(S3Request.class);
        requests.forEach((k, v) -> m.put(k, v.sum()));
        return new S3Stats(m, failures.sum(), retries.sum(), bytesIn.sum(), bytesOut.sum());
    }
}
