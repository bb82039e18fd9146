package dev.atlas.benchmarks;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.buffer.BlockBufferAllocator;
import dev.atlas.cache.BlockCache;
import dev.atlas.cache.ReadCaches;
import dev.atlas.cache.SlabCache;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;

/**
 * Streams an array larger than the heap into a local store through the streamed write, then reads
 * every element back. Run it with a small heap and a bounded direct memory:
 *
 * <pre>
 * java -Xmx512m -XX:MaxDirectMemorySize=1g -Dio.netty.leakDetection.level=disabled \
 *   -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.BigIngest /tmp/atlas-big 8192
 * </pre>
 *
 * The array is {@code steps x 512 x 512} float32 (8 GiB for 8,192 steps) in 16 x 128 x 128 chunks
 * (1 MiB), written as time steps of 4 x 512 x 512; value(t, y, x) = t + y / 1024 + x / 2^20
 * rounded to float (a smooth field LZ4 can shrink a little).
 */
public final class BigIngest {
    static final int NY = 512;
    static final int NX = 512;
    static final int STEP = 4;

    static float value(long t, int y, int x) {
        return (float) (t + y / 1024.0 + x / 1048576.0);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "/tmp/atlas-big");
        long steps = args.length > 1 ? Long.parseLong(args[1]) : 8192;
        FastPath.deleteTree(dir);
        Files.createDirectories(dir);
        Duration t = Duration.ofHours(1);
        BlockBufferAllocator alloc = BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT, 64 << 20, 64L << 20);
        ReadCaches caches = ReadCaches.of(SlabCache.create(SlabCache.Options.defaults().withBudget(64L << 20), alloc),
                BlockCache.create(64L << 20));
        EngineResources res = EngineResources.create(2, 4, alloc, caches);
        AtomicLong peakDirect = new AtomicLong();
        Runnable sample = () -> peakDirect.accumulateAndGet(direct(), Math::max);
        try {
            ArrayFileOptions o = ArrayFileOptions.builder(res).codec(BlockCodecs.lz4()).tempDirectory(dir).build();
            LocalStorage local = LocalStorage.open(dir, res);
            ArrayFile f = ArrayFile.create(local, "big.af", o).block(t);
            f.defineArray("field", ArraySpec.of(DType.FLOAT32, steps, NY, NX).withChunks(16, 128, 128)).block(t);
            long bytes = steps * NY * NX * 4;
            long t0 = System.nanoTime();
            long rows = f.writeArray("field", new long[] {0, 0, 0}, Flux.range(0, (int) ((steps + STEP - 1) / STEP)).map(i -> {
                long first = (long) i * STEP;
                int h = (int) Math.min(STEP, steps - first);
                ByteBuf b = alloc.directBuffer(h * NY * NX * 4);
                for (int s = 0; s < h; s++) {
                    for (int y = 0; y < NY; y++) {
                        for (int x = 0; x < NX; x++) {
                            b.writeIntLE(Float.floatToRawIntBits(value(first + s, y, x)));
                        }
                    }
                }
                sample.run();
                return NdArray.wrap(DType.FLOAT32, new long[] {h, NY, NX}, b);
            })).block(t);
            f.flush().block(t);
            double ws = (System.nanoTime() - t0) / 1e9;
            long fileBytes = Files.size(dir.resolve("big.1.af"));
            System.out.printf(Locale.ROOT, "ingested %d steps (%.2f GiB) in %.1f s = %.2f GB/s; layer file %.2f GiB%n",
                    rows, bytes / 1073741824.0, ws, bytes / ws / 1e9, fileBytes / 1073741824.0);
            // Read back every element, 64 steps (64 MiB) at a time.
            long t1 = System.nanoTime();
            long checked = 0;
            for (long s0 = 0; s0 < steps; s0 += 64) {
                long h = Math.min(64, steps - s0);
                try (NdArray a = f.readArray("field", new long[] {s0, 0, 0}, new long[] {h, NY, NX}).block(t)) {
                    sample.run();
                    ByteBuf d = a.data();
                    int at = d.readerIndex();
                    for (long s = 0; s < h; s++) {
                        for (int y = 0; y < NY; y++) {
                            for (int x = 0; x < NX; x++) {
                                float got = Float.intBitsToFloat(d.getIntLE(at));
                                at += 4;
                                if (got != value(s0 + s, y, x)) {
                                    throw new IllegalStateException("mismatch at " + (s0 + s) + "," + y + "," + x + ": " + got);
                                }
                                checked++;
                            }
                        }
                    }
                }
            }
            double rs = (System.nanoTime() - t1) / 1e9;
            System.out.printf(Locale.ROOT, "read back and checked %d elements in %.1f s = %.2f GB/s%n", checked, rs, bytes / rs / 1e9);
            long heapPeak = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
                    heapPeak += p.getPeakUsage().getUsed();
                }
            }
            System.out.printf(Locale.ROOT, "heap: max %d MiB, peak pool usage sum %d MiB; direct memory peak (sampled) %d MiB%n",
                    Runtime.getRuntime().maxMemory() >> 20, heapPeak >> 20, peakDirect.get() >> 20);
            f.close().block(t);
        } finally {
            res.disposeLater().block(t);
            alloc.trim();
        }
        System.exit(0);
    }

    /** Direct memory in use: JDK buffers (our recycled blocks) plus Netty's own accounting. */
    static long direct() {
        long n = 0;
        for (BufferPoolMXBean p : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (p.getName().equals("direct")) {
                n += p.getMemoryUsed();
            }
        }
        return n + Math.max(0, io.netty.util.internal.PlatformDependent.usedDirectMemory());
    }
}
