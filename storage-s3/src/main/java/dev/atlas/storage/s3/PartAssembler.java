package dev.atlas.storage.s3;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Cuts a body of buffers into upload parts of exactly {@code partSize} bytes (the last one
 * smaller), copied into heap arrays that the SDK may read at its own pace: no reference-counted
 * memory is lent to the native client, so a cancelled upload can never read a buffer returned to
 * the pool. A full part is emitted only when the next byte arrives, so the first part is flagged
 * {@code last} exactly when the whole body fits one PUT. Each body buffer is released as soon as
 * it is copied; parts grow by doubling, so a small body costs a small array.
 */
final class PartAssembler {
    /** One upload part: {@code bytes[0, length)}. */
    record Part(byte[] bytes, int length, boolean last) {
    }

    private static final int INITIAL = 64 << 10;

    private final int partSize;
    private byte[] cur;
    private int filled;

    private PartAssembler(int partSize) {
        this.partSize = partSize;
        this.cur = new byte[0];
    }

    /** The parts of {@code body}, subscribed once per subscription of the result. */
    static Flux<Part> parts(Publisher<ByteBuf> body, int partSize) {
        return Flux.defer(() -> {
            PartAssembler a = new PartAssembler(partSize);
            return Flux.from(body)
                    .concatMapIterable(a::add, 1)
                    .concatWith(Mono.fromCallable(a::finish))
                    .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
        });
    }

    private List<Part> add(ByteBuf buf) {
        List<Part> out = List.of();
        try {
            while (buf.isReadable()) {
                if (filled == partSize) {
                    if (out.isEmpty()) {
                        out = new ArrayList<>(1);
                    }
                    out.add(new Part(cur, filled, false));
                    cur = new byte[0];
                    filled = 0;
                }
                int n = Math.min(buf.readableBytes(), partSize - filled);
                ensure(filled + n);
                buf.readBytes(cur, filled, n);
                filled += n;
            }
        } finally {
            buf.release();
        }
        return out;
    }

    private void ensure(int need) {
        if (need > cur.length) {
            int cap = Math.max(cur.length, INITIAL);
            while (cap < need) {
                cap = Math.min(partSize, cap * 2);
            }
            cur = Arrays.copyOf(cur, cap);
        }
    }

    private Part finish() {
        Part p = new Part(cur, filled, true);
        cur = null;
        return p;
    }
}
