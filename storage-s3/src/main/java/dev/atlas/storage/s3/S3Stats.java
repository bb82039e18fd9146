package dev.atlas.storage.s3;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * A snapshot of an {@link S3Storage}'s counters: request attempts by kind (every retry counts as
 * one more), failed attempts, retries, and payload bytes received (GET bodies) and sent (PUT and
 * part bodies that completed).
 */
public record S3Stats(Map<S3Request, Long> requests, long failures, long retries, long bytesIn, long bytesOut) {
    public S3Stats {
        EnumMap<S3Request, Long> copy = new EnumMap<>(S3Request.class);
        for (S3Request r : S3Request.values()) {
            copy.put(r, requests.getOrDefault(r, 0L));
        }
        requests = Collections.unmodifiableMap(copy);
    }

    /** Attempts of one kind. */
    public long requests(S3Request kind) {
        return requests.get(kind);
    }

    /** Attempts of every kind. */
    public long totalRequests() {
        return requests.values().stream().mapToLong(Long::longValue).sum();
    }

    /** What happened between {@code earlier} and this snapshot. */
    public S3Stats minus(S3Stats earlier) {
        EnumMap<S3Request, Long> d = new EnumMap<>(S3Request.class);
        for (S3Request r : S3Request.values()) {
            d.put(r, requests(r) - earlier.requests(r));
        }
        return new S3Stats(d, failures - earlier.failures, retries - earlier.retries, bytesIn - earlier.bytesIn,
                bytesOut - earlier.bytesOut);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("S3Stats{");
        requests.forEach((k, v) -> {
            if (v != 0) {
                sb.append(k).append('=').append(v).append(", ");
            }
        });
        return sb.append("failures=").append(failures).append(", retries=").append(retries).append(", bytesIn=")
                .append(bytesIn).append(", bytesOut=").append(bytesOut).append('}').toString();
    }
}
