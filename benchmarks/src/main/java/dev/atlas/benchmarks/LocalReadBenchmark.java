package dev.atlas.benchmarks;

import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.CompletionHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * How LocalStorage should read: positional {@code FileChannel} reads on the engine's bounded I/O
 * scheduler (what {@link LocalStorage} does, handle cache and identity check included) against
 * {@link AsynchronousFileChannel} completion handlers, both into pooled direct buffers, from a
 * 256 MiB file in the page cache. One op = {@value #READS} range reads with {@code concurrency}
 * in flight; bytes per op = {@value #READS} x {@code size}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:MaxDirectMemorySize=4g",
        "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LocalReadBenchmark {
    static final int READS = 32;
    static final long FILE = 256L << 20;

    @Param({"positional", "async"})
    public String strategy;

    @Param({"65536", "8388608"})
    public int size;

    @Param({"1", "4"})
    public int concurrency;

    private Path dir;
    private EngineResources resources;
    private LocalStorage storage;
    private AsynchronousFileChannel async;
    private ByteBufAllocator alloc;
    private long[] offsets;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("atlas-bench-");
        resources = EngineResources.create(2, 8, PooledByteBufAllocator.DEFAULT);
        alloc = resources.allocator();
        storage = LocalStorage.open(dir, resources);
        byte[] chunk = new byte[1 << 20];
        new Random(42).nextBytes(chunk);
        Path file = dir.resolve("data.bin");
        try (var out = Files.newOutputStream(file)) {
            for (long n = 0; n < FILE; n += chunk.length) {
                out.write(chunk);
            }
        }
        Files.readAllBytes(file); // into the page cache
        async = AsynchronousFileChannel.open(file, StandardOpenOption.READ);
        Random r = new Random(7);
        offsets = new long[READS];
        for (int i = 0; i < READS; i++) {
            // block-aligned offsets at random places, like a reader's block fetches
            offsets[i] = (r.nextLong() & Long.MAX_VALUE) % ((FILE - size) / 4096) * 4096;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        async.close();
        storage.close();
        resources.dispose();
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Mono<ByteBuf> asyncRead(long offset, int length) {
        return Mono.create(sink -> {
            ByteBuf buf = alloc.directBuffer(length, length);
            ByteBuffer dst = buf.nioBuffer(0, length);
            async.read(dst, offset, offset, new CompletionHandler<Integer, Long>() {
                @Override
                public void completed(Integer n, Long at) {
                    if (n < 0) {
                        buf.release();
                        sink.error(new IOException("end of file"));
                    } else if (dst.hasRemaining()) {
                        async.read(dst, at + n, at + n, this);
                    } else {
                        buf.writerIndex(length);
                        sink.success(buf);
                    }
                }

                @Override
                public void failed(Throwable e, Long at) {
                    buf.release();
                    sink.error(e);
                }
            });
        });
    }

    @Benchmark
    public long read() {
        boolean positional = strategy.equals("positional");
        return Flux.range(0, READS)
                .flatMap(i -> positional ? storage.read("data.bin", offsets[i], size) : asyncRead(offsets[i], size),
                        concurrency)
                .map(b -> {
                    int n = b.readableBytes();
                    b.release();
                    return (long) n;
                })
                .reduce(0L, Long::sum)
                .block();
    }
}
