package dev.atlas.benchmarks;

import com.github.luben.zstd.Zstd;
import dev.atlas.array.NdArray;
import dev.atlas.codec.CodecId;
import dev.atlas.error.AtlasException;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkEntry;
import dev.atlas.internal.format.Footer;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.Storage;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * Issue 25's measurement: a cross-dataset stacked read (one time step of {@code temperature} from
 * every dataset of the {@code atlas demo} store, {@code readArrayAcrossStacked}) against the raw
 * limit of the same read on the same machine, in one run, on a local directory and on S3Proxy
 * behind a latency-injecting TCP proxy (+0, +10, +25 ms before each response's first byte).
 *
 * <p>Three numbers per store, each the median of {@code reps} timed runs after one warm-up:
 * <ul>
 *   <li><b>raw limit</b>: no engine. The footers are read once, outside the timing, and turned
 *       into a plan: the blocks that hold a needed chunk, coalesced into byte ranges per layer
 *       file (adjacent blocks merged up to {@code --max-range} bytes), and for each block the
 *       row runs to copy. Timed: the ranges are read (positional reads on local files; ranged
 *       GETs with {@code --in-flight} in flight on S3, through the same proxy and client as the
 *       engine), every needed block is decoded whole with zstd-jni into a reused buffer, and the
 *       needed bytes are copied into one pooled direct destination, on as many threads as cores.</li>
 *   <li><b>engine cold</b>: a fresh {@link EngineResources} (so fresh read caches) and a fresh
 *       {@link Atlas} handle per read; the page cache is warm. The handle is opened outside the
 *       timing (registry read); the timing covers the read, including opening the array file set
 *       (its footers). On S3 the CRT client (its connection pool) is shared by all handles.</li>
 *   <li><b>engine warm</b>: the same read repeated on one handle.</li>
 * </ul>
 * The first raw and engine results of each store are compared byte for byte.
 *
 * <p>The S3 server is S3Proxy (filesystem backend), started here as a child JVM from the jar the
 * storage-s3 build copies into {@code storage-s3/target/s3-servers}, and stopped at the end;
 * the store is uploaded to it directly, and read through the proxy.
 *
 * <pre>
 * java -Xmx4g -XX:MaxDirectMemorySize=4g -Dio.netty.leakDetection.level=disabled \
 *   -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.BulkLimitBench \
 *   --store /tmp/atlas-demo [--reps 5] [--delays 0,10,25] [--in-flight 64] [--max-range 2097152] \
 *   [--bulk-concurrency N] [--s3proxy-jar storage-s3/target/s3-servers/s3proxy.jar] [--no-s3] [--netty-raw]
 * </pre>
 * {@code --netty-raw} adds, at each delay, the raw limit with its GETs on reactor-netty's client
 * ({@link NettyRangeGets}) instead of the CRT: what the receive path costs.
 * The store is made once with {@code ./atlas demo --no-serve --store /tmp/atlas-demo}.
 */
public final class BulkLimitBench {
    private static final Duration T = Duration.ofMinutes(5);
    private static final String ARRAY = "temperature";
    private static final String BUCKET = "atlas";
    private static final String ACCESS_KEY = "atlas-access";
    private static final String SECRET_KEY = "atlas-secret-key";
    private static final Pattern LAYER = Pattern.compile("data(?:\\.(\\d+))?\\.af");

    private BulkLimitBench() {
    }

    // ------------------------------------------------------------------ the plan

    /** One needed block: where it starts in its range, its sizes, and its copy runs (src, dst, len triples). */
    record BlockWork(int offsetInRange, int compressedSize, int uncompressedSize, int[] runs) {
    }

    /** One coalesced byte range of one layer file. */
    record Range(String key, int file, long offset, int length, List<BlockWork> blocks) {
    }

    /** The whole read: ranges, destination size, and what they add up to. */
    record Plan(List<Range> ranges, int destBytes, long storedBytes, long decodedBytes, long neededChunks,
            int maxUncompressed, int maxRange, List<String> datasets, long[] start, long[] shape, double planMs) {
    }

    /**
     * Reads the footers of the array's file set under {@code store} and resolves, per dataset,
     * the chunks of the region (newest layer wins, tombstones are barriers: FORMAT.md 9.2).
     */
    static Plan plan(Path store, List<String> datasets, int maxRange) throws IOException {
        long t0 = System.nanoTime();
        Path dir = store.resolve(ARRAY);
        List<Path> layers;
        try (Stream<Path> s = Files.list(dir)) {
            layers = s.filter(p -> LAYER.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(BulkLimitBench::layerNumber).reversed()).toList();
        }
        Map<String, Integer> row = new HashMap<>();
        for (int i = 0; i < datasets.size(); i++) {
            row.put(datasets.get(i), i);
        }
        Set<String> barred = new HashSet<>();
        Map<String, Set<String>> taken = new HashMap<>();
        // per layer: block id -> runs collected for it
        List<Map<Long, List<int[]>>> perLayer = new ArrayList<>();
        List<Footer> footers = new ArrayList<>();
        long[] start = null;
        long[] shape = null;
        int elem = 0;
        long chunks = 0;
        for (Path layer : layers) {
            Footer f = FastPath.footerOf(layer);
            footers.add(f);
            Map<Long, List<int[]>> need = new HashMap<>();
            perLayer.add(need);
            Map<String, ArrayMeta> newest = new LinkedHashMap<>();
            Set<String> tomb = new HashSet<>();
            for (ArrayMeta m : f.arrays()) {
                newest.put(m.name(), m);
                if (m.deleted()) {
                    tomb.add(m.name());
                }
            }
            for (ArrayMeta m : newest.values()) {
                Integer r = row.get(m.name());
                if (r == null || barred.contains(m.name())) {
                    continue;
                }
                if (!m.deleted()) {
                    if (start == null) {
                        start = new long[m.rank()];
                        shape = m.shape().clone();
                        shape[0] = 1;
                        elem = (int) m.dtype().elementSize();
                    }
                    long rowBytes = product(shape) * elem;
                    Set<String> seen = taken.computeIfAbsent(m.name(), k -> new HashSet<>());
                    for (ChunkEntry c : m.chunks()) {
                        if (!seen.add(Arrays.toString(c.coord()))) {
                            continue;
                        }
                        int[] runs = runs(c, m.shape(), m.chunkShape(), start, shape, elem, (int) c.address().offset(),
                                r * rowBytes);
                        if (runs.length > 0) {
                            need.computeIfAbsent(c.address().blockId(), k -> new ArrayList<>()).add(runs);
                            chunks++;
                        }
                    }
                }
                if (tomb.contains(m.name())) {
                    barred.add(m.name());
                }
            }
        }
        if (start == null) {
            throw new AtlasException("no dataset of " + store + " has array " + ARRAY);
        }
        List<Range> ranges = new ArrayList<>();
        long stored = 0;
        long decoded = 0;
        int maxUnc = 0;
        int maxLen = 0;
        for (int li = 0; li < layers.size(); li++) {
            Map<Long, BlockMeta> byId = new HashMap<>();
            footers.get(li).blocks().forEach(b -> byId.put(b.id(), b));
            List<BlockMeta> blocks = perLayer.get(li).keySet().stream().map(byId::get)
                    .sorted(Comparator.comparingLong(BlockMeta::fileOffset)).toList();
            String key = ARRAY + "/" + layers.get(li).getFileName();
            long rStart = -1;
            long rEnd = -1;
            List<BlockWork> work = new ArrayList<>();
            for (BlockMeta b : blocks) {
                if (!b.codec().equals(CodecId.ZSTD)) {
                    throw new AtlasException("the raw limit decodes zstd only, block " + b);
                }
                if (rStart >= 0 && (b.fileOffset() < rEnd || b.fileEnd() - rStart > maxRange || b.fileOffset() - rEnd > 4096)) {
                    ranges.add(new Range(key, li, rStart, (int) (rEnd - rStart), work));
                    maxLen = Math.max(maxLen, (int) (rEnd - rStart));
                    rStart = -1;
                    work = new ArrayList<>();
                }
                if (rStart < 0) {
                    rStart = b.fileOffset();
                }
                rEnd = b.fileEnd();
                List<int[]> rs = perLayer.get(li).get(b.id());
                int[] all = rs.stream().flatMapToInt(Arrays::stream).toArray();
                work.add(new BlockWork((int) (b.fileOffset() - rStart), (int) b.compressedSize(), (int) b.uncompressedSize(), all));
                stored += b.compressedSize();
                decoded += b.uncompressedSize();
                maxUnc = Math.max(maxUnc, (int) b.uncompressedSize());
            }
            if (rStart >= 0) {
                ranges.add(new Range(key, li, rStart, (int) (rEnd - rStart), work));
                maxLen = Math.max(maxLen, (int) (rEnd - rStart));
            }
        }
        int dest = (int) (product(shape) * elem * datasets.size());
        double ms = (System.nanoTime() - t0) / 1e6;
        return new Plan(ranges, dest, stored, decoded, chunks, maxUnc, maxLen, datasets, start, shape, ms);
    }

    /** Median ms of reading and decoding every layer footer of the array's file set (JIT-warm). */
    static double footerMillis(Path store, int reps) throws IOException {
        List<Path> layers;
        try (Stream<Path> s = Files.list(store.resolve(ARRAY))) {
            layers = s.filter(p -> LAYER.matcher(p.getFileName().toString()).matches()).toList();
        }
        double[] ms = new double[reps];
        for (int i = -2; i < reps; i++) {
            long t0 = System.nanoTime();
            for (Path p : layers) {
                FastPath.footerOf(p);
            }
            if (i >= 0) {
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        return FastPath.median(ms);
    }

    private static long layerNumber(Path p) {
        Matcher m = LAYER.matcher(p.getFileName().toString());
        return m.matches() && m.group(1) != null ? Long.parseLong(m.group(1)) : 0;
    }

    static long product(long[] v) {
        long p = 1;
        for (long x : v) {
            p *= x;
        }
        return p;
    }

    /**
     * The row runs of one chunk inside the region: (offset in the decoded block, offset in the
     * destination, length) triples; empty when the chunk misses the region.
     */
    static int[] runs(ChunkEntry c, long[] arrayShape, long[] chunkShape, long[] start, long[] shape, int elem, int chunkOffset,
            long destBase) {
        int n = arrayShape.length;
        long[] lo = new long[n];
        long[] hi = new long[n];
        long[] origin = new long[n];
        long[] extent = new long[n];
        for (int d = 0; d < n; d++) {
            origin[d] = c.coord(d) * chunkShape[d];
            extent[d] = Math.min(chunkShape[d], arrayShape[d] - origin[d]);
            lo[d] = Math.max(origin[d], start[d]);
            hi[d] = Math.min(origin[d] + extent[d], start[d] + shape[d]);
            if (lo[d] >= hi[d]) {
                return new int[0];
            }
        }
        long[] cStride = new long[n];
        long[] rStride = new long[n];
        cStride[n - 1] = 1;
        rStride[n - 1] = 1;
        for (int d = n - 2; d >= 0; d--) {
            cStride[d] = cStride[d + 1] * extent[d + 1];
            rStride[d] = rStride[d + 1] * shape[d + 1];
        }
        int len = (int) ((hi[n - 1] - lo[n - 1]) * elem);
        List<int[]> out = new ArrayList<>();
        long[] idx = lo.clone();
        while (true) {
            long src = 0;
            long dst = 0;
            for (int d = 0; d < n; d++) {
                src += (idx[d] - origin[d]) * cStride[d];
                dst += (idx[d] - start[d]) * rStride[d];
            }
            out.add(new int[] {chunkOffset + (int) (src * elem), (int) (destBase + dst * elem), len});
            int d = n - 2;
            while (d >= 0 && ++idx[d] == hi[d]) {
                idx[d] = lo[d];
                d--;
            }
            if (d < 0) {
                break;
            }
        }
        return out.stream().flatMapToInt(Arrays::stream).toArray();
    }

    // ------------------------------------------------------------------ the raw limit

    /** Per-thread reused buffers of the raw limit. */
    static final class Scratch {
        ByteBuffer raw;
        final ByteBuffer dec;
        final long decAddr;

        Scratch(int rawSize, int decSize) {
            raw = ByteBuffer.allocateDirect(Math.max(rawSize, 1));
            dec = ByteBuffer.allocateDirect(Math.max(decSize, 1));
            decAddr = PlatformDependent.directBufferAddress(dec);
        }

        ByteBuffer raw(int size) {
            if (raw.capacity() < size) {
                raw = ByteBuffer.allocateDirect(size);
            }
            return raw;
        }
    }

    /** What the raw limit does of its work (for stage timings). */
    enum Stages { READ, READ_DECODE, ALL }

    /** Decodes the blocks of one range held in {@code src} (positions relative to its start) and copies their runs. */
    static void decodeAndCopy(Range r, ByteBuffer src, Scratch s, long dstAddr, Stages stages) {
        if (stages == Stages.READ) {
            return;
        }
        for (BlockWork b : r.blocks()) {
            if (!neededFramesOnly || !decodeNeededFrames(b, src, s)) {
                long got = Zstd.decompressDirectByteBuffer(s.dec, 0, b.uncompressedSize(), src, b.offsetInRange(),
                        b.compressedSize());
                if (got != b.uncompressedSize()) {
                    throw new AtlasException("zstd: " + got + " bytes, expected " + b.uncompressedSize());
                }
            }
            if (stages == Stages.ALL) {
                int[] runs = b.runs();
                for (int i = 0; i < runs.length; i += 3) {
                    PlatformDependent.copyMemory(s.decAddr + runs[i], dstAddr + runs[i + 1], runs[i + 2]);
                }
            }
        }
    }

    /**
     * Whether the raw limit decodes, of a block of several zstd frames (the engine's layout since
     * issue 25, FORMAT.md 7.1), only the frames holding bytes the read copies, as the engine does;
     * false: every block whole. A block of one frame is decoded whole either way.
     */
    static volatile boolean neededFramesOnly;

    /**
     * Decodes into {@code s.dec} only the frames of block {@code b} (stored in {@code src}) that
     * hold bytes of its runs; false (nothing decoded) when the block is one frame or a frame does
     * not declare its size: then the caller decodes it whole.
     */
    static boolean decodeNeededFrames(BlockWork b, ByteBuffer src, Scratch s) {
        int pos = b.offsetInRange();
        int end = pos + b.compressedSize();
        long first = Zstd.getDirectByteBufferFrameContentSize(src, pos, end - pos);
        if (first < 0 || first >= b.uncompressedSize()) {
            return false;
        }
        int[] runs = b.runs();
        long at = 0;
        while (pos < end) {
            long content = Zstd.getDirectByteBufferFrameContentSize(src, pos, end - pos);
            long stored = Zstd.findDirectByteBufferFrameCompressedSize(src, pos, end - pos);
            if (content < 0 || stored <= 0) {
                throw new AtlasException("zstd: frame at " + pos + " declares no size");
            }
            boolean needed = false;
            for (int i = 0; i < runs.length && !needed; i += 3) {
                needed = runs[i] < at + content && runs[i] + runs[i + 2] > at;
            }
            if (needed) {
                long got = Zstd.decompressDirectByteBuffer(s.dec, (int) at, (int) content, src, pos, (int) stored);
                if (got != content) {
                    throw new AtlasException("zstd: frame of " + got + " bytes, expected " + content);
                }
            }
            pos += (int) stored;
            at += content;
        }
        return true;
    }

    /** The raw limit on local files: threads take ranges, read them with positional reads, decode, copy. */
    static final class LocalRaw implements AutoCloseable {
        final Plan plan;
        final FileChannel[] files;
        final ExecutorService pool;
        final int threads;
        final ThreadLocal<Scratch> scratch;

        LocalRaw(Plan plan, Path store, int threads) throws IOException {
            this.plan = plan;
            this.threads = threads;
            int nFiles = plan.ranges().stream().mapToInt(Range::file).max().orElse(-1) + 1;
            files = new FileChannel[nFiles];
            for (Range r : plan.ranges()) {
                if (files[r.file()] == null) {
                    files[r.file()] = FileChannel.open(store.resolve(r.key()), StandardOpenOption.READ);
                }
            }
            pool = Executors.newFixedThreadPool(threads, daemon("raw-local"));
            scratch = ThreadLocal.withInitial(() -> new Scratch(plan.maxRange(), plan.maxUncompressed()));
        }

        /** One read; returns the destination (the caller releases it). */
        ByteBuf run(Stages stages) {
            ByteBuf dst = PooledByteBufAllocator.DEFAULT.directBuffer(plan.destBytes(), plan.destBytes());
            long dstAddr = dst.memoryAddress();
            AtomicInteger next = new AtomicInteger();
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                fs.add(pool.submit(() -> {
                    Scratch s = scratch.get();
                    for (int i; (i = next.getAndIncrement()) < plan.ranges().size(); ) {
                        Range r = plan.ranges().get(i);
                        ByteBuffer in = s.raw(r.length()).clear().limit(r.length());
                        try {
                            long at = r.offset();
                            while (in.hasRemaining()) {
                                int n = files[r.file()].read(in, at);
                                if (n < 0) {
                                    throw new AtlasException("short read of " + r.key());
                                }
                                at += n;
                            }
                        } catch (IOException e) {
                            throw new AtlasException("read of " + r.key(), e);
                        }
                        decodeAndCopy(r, in, s, dstAddr, stages);
                    }
                    return null;
                }));
            }
            try {
                for (Future<?> f : fs) {
                    f.get();
                }
            } catch (Exception e) {
                dst.release();
                throw new AtlasException("raw read failed", e);
            }
            return dst.writerIndex(plan.destBytes());
        }

        @Override
        public void close() throws IOException {
            pool.shutdownNow();
            for (FileChannel f : files) {
                if (f != null) {
                    f.close();
                }
            }
        }
    }

    /** The raw limit on an object store: ranged GETs with {@code inFlight} in flight, decoded and copied on {@code decode}. */
    static ByteBuf s3Raw(Plan plan, Storage storage, int inFlight, Scheduler decode, ThreadLocal<Scratch> scratch) {
        return s3Raw(plan, r -> storage.read(r.key(), r.offset(), r.length()), inFlight, decode, scratch);
    }

    /** As above, each range fetched by {@code get} (a buffer of exactly the range that the caller releases). */
    static ByteBuf s3Raw(Plan plan, java.util.function.Function<Range, reactor.core.publisher.Mono<ByteBuf>> get, int inFlight,
            Scheduler decode, ThreadLocal<Scratch> scratch) {
        ByteBuf dst = PooledByteBufAllocator.DEFAULT.directBuffer(plan.destBytes(), plan.destBytes());
        long dstAddr = dst.memoryAddress();
        try {
            Flux.fromIterable(plan.ranges())
                    .flatMap(r -> get.apply(r).map(b -> Map.entry(r, b)), inFlight)
                    .parallel(Math.max(1, Runtime.getRuntime().availableProcessors()))
                    .runOn(decode)
                    .doOnNext(e -> {
                        ByteBuf b = e.getValue();
                        try {
                            Scratch s = scratch.get();
                            ByteBuffer src = b.nioBuffer(b.readerIndex(), b.readableBytes());
                            if (!src.isDirect()) {
                                ByteBuffer d = s.raw(src.remaining()).clear();
                                d.put(src).flip();
                                src = d;
                            }
                            decodeAndCopy(e.getKey(), src, s, dstAddr, Stages.ALL);
                        } finally {
                            b.release();
                        }
                    })
                    .sequential()
                    .then()
                    .block(T);
        } catch (RuntimeException e) {
            dst.release();
            throw e;
        }
        return dst.writerIndex(plan.destBytes());
    }

    // ------------------------------------------------------------------ the engine

    /** Opens a store handle on fresh resources; the storage comes from {@code storage}. */
    interface StorageOf {
        Storage open(EngineResources r) throws IOException;
    }

    static AtlasOptions options(EngineResources r, int bulk) {
        AtlasOptions.Builder b = AtlasOptions.builder(r).refreshInterval(Duration.ZERO);
        if (bulk > 0) {
            b.bulkConcurrency(bulk);
        }
        return b.build();
    }

    /** [cold median s, warm median s, cold min, cold max, warm min, warm max]; checks the first result against {@code expect}. */
    static double[] engine(StorageOf storageOf, Plan plan, int reps, int warmups, int bulk, ByteBuf expect, String where)
            throws IOException {
        double[] cold = new double[reps];
        double[] coldCpu = new double[reps];
        Map<String, Double> byGroup = new java.util.TreeMap<>();
        double getsPerRead = 0;
        // Untimed reads first (the first one checked): the engine's code JIT-warm, as the raw limit's
        // (which runs its stages first). With 2 of them, C2 was still compiling the engine's read path
        // during the timed reads: a fifth of the samples of a cold read's profile were compiler threads.
        for (int i = -warmups; i < reps; i++) {
            EngineResources r = EngineResources.create();
            Storage s = storageOf.open(r);
            Atlas atlas = Atlas.open(s, "", options(r, bulk)).block(T);
            try {
                long g0 = gets(s);
                long server0 = serverCpuNanos();
                Map<Long, Long> before = threadCpu();
                long c0 = cpuNanos();
                long t0 = System.nanoTime();
                try (NdArray a = atlas.readArrayAcrossStacked(ARRAY, plan.datasets(), plan.start(), plan.shape()).block(T)) {
                    double sec = (System.nanoTime() - t0) / 1e9;
                    double cpu = (cpuNanos() - c0) / 1e9;
                    if (i >= 0) {
                        addThreadCpu(before, cpu, byGroup);
                        if (server0 >= 0) {
                            byGroup.merge("(S3Proxy child JVM)", (serverCpuNanos() - server0) / 1e9, Double::sum);
                        }
                        getsPerRead += (gets(s) - g0) / (double) reps;
                    }
                    if (i == -warmups) {
                        check(a.data(), expect, where);
                    } else if (i >= 0) {
                        cold[i] = sec;
                        coldCpu[i] = cpu;
                    }
                }
            } finally {
                atlas.close().block(T);
                if (s instanceof AutoCloseable c) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        throw new AtlasException("closing " + where, e);
                    }
                }
                r.disposeLater().block(T);
            }
        }
        StringBuilder groups = new StringBuilder();
        byGroup.forEach((g, sec) -> groups.append(String.format(Locale.ROOT, " %s %.3f,", g, sec / reps)));
        System.out.printf(Locale.ROOT, "%s engine cold, CPU s per read by thread group (mean):%s%s%n", where,
                groups.substring(0, Math.max(0, groups.length() - 1)),
                where.startsWith("s3") ? String.format(Locale.ROOT, "; GETs per read %.0f (the raw limit: %d)", getsPerRead,
                        plan.ranges().size()) : "");
        double[] warm = new double[reps];
        EngineResources r = EngineResources.create();
        Storage s = storageOf.open(r);
        Atlas atlas = Atlas.open(s, "", options(r, bulk)).block(T);
        try {
            long warmGets = 0;
            for (int i = -1; i < reps; i++) {
                long g0 = gets(s);
                long t0 = System.nanoTime();
                atlas.readArrayAcrossStacked(ARRAY, plan.datasets(), plan.start(), plan.shape()).block(T).close();
                if (i >= 0) {
                    warm[i] = (System.nanoTime() - t0) / 1e9;
                    warmGets += gets(s) - g0;
                }
            }
            if (where.startsWith("s3")) {
                // A read decoding more than a quarter of the block cache is a scan (AcrossReads): its
                // blocks are not kept, so a warm read fetches them again.
                System.out.printf(Locale.ROOT, "%s engine warm: GETs per read %.1f%n", where, warmGets / (double) reps);
            }
        } finally {
            atlas.close().block(T);
            if (s instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new AtlasException("closing " + where, e);
                }
            }
            r.disposeLater().block(T);
        }
        return new double[] {FastPath.median(cold), FastPath.median(warm), min(cold), max(cold), min(warm), max(warm),
                FastPath.median(coldCpu)};
    }

    /** CPU time of this JVM so far (all its threads; on S3 the S3Proxy child's CPU is not in it). */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** GETs {@code s} has sent so far (0 for other storages). */
    static long gets(Storage s) {
        return s instanceof S3Storage x ? x.stats().requests().getOrDefault(dev.atlas.storage.s3.S3Request.GET, 0L) : 0;
    }

    /** The running S3 server child process (null: none), whose CPU shares the cores with the read. */
    static volatile Process server;

    /** CPU nanoseconds the S3 server child has used so far, or -1 (no server, or not measurable). */
    static long serverCpuNanos() {
        Process p = server;
        return p == null ? -1 : p.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** CPU nanoseconds of every live Java thread by id. */
    static Map<Long, Long> threadCpu() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        Map<Long, Long> m = new HashMap<>();
        for (long id : mx.getAllThreadIds()) {
            long c = mx.getThreadCpuTime(id);
            if (c >= 0) {
                m.put(id, c);
            }
        }
        return m;
    }

    /**
     * Adds the CPU seconds each live Java thread spent since {@code before} to its group (name
     * without its number); what the process spent beyond the Java threads (GC, JIT compilers, the
     * VM; threads that ended meanwhile) goes to "jvm (gc, jit, ended)".
     */
    static void addThreadCpu(Map<Long, Long> before, double processCpu, Map<String, Double> byGroup) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        double java = 0;
        for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (t == null) {
                continue;
            }
            long c = mx.getThreadCpuTime(t.getThreadId());
            if (c < 0) {
                continue;
            }
            double d = (c - before.getOrDefault(t.getThreadId(), 0L)) / 1e9;
            if (d > 0.0005) {
                byGroup.merge(t.getThreadName().replaceAll("[-_#]?\\d+$", ""), d, Double::sum);
            }
            java += d;
        }
        byGroup.merge("jvm (gc, jit, ended)", processCpu - java, Double::sum);
    }

    static void check(ByteBuf got, ByteBuf expect, String where) {
        if (expect != null && !ByteBufUtil.equals(got, got.readerIndex(), expect, expect.readerIndex(), expect.readableBytes())) {
            throw new AtlasException(where + ": the engine's result differs from the raw limit's");
        }
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    // ------------------------------------------------------------------ the latency proxy

    /**
     * A TCP proxy on loopback that forwards to {@code upstream} and holds back the first bytes of
     * each response (the first upstream bytes after the client sent request bytes) for
     * {@link #delayMillis} ms. One request per connection at a time, as S3 clients do (no pipelining).
     */
    static final class DelayProxy implements AutoCloseable {
        final ServerSocket server;
        final InetSocketAddress upstream;
        volatile long delayMillis;
        final ExecutorService pool = Executors.newCachedThreadPool(daemon("delay-proxy"));
        final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
        final AtomicInteger connections = new AtomicInteger();

        DelayProxy(int upstreamPort) throws IOException {
            server = new ServerSocket(0, 256, InetAddress.getLoopbackAddress());
            upstream = new InetSocketAddress(InetAddress.getLoopbackAddress(), upstreamPort);
            pool.execute(this::accept);
        }

        URI endpoint() {
            return URI.create("http://127.0.0.1:" + server.getLocalPort());
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket c = server.accept();
                    Socket u = new Socket();
                    u.connect(upstream, 5000);
                    c.setTcpNoDelay(true);
                    u.setTcpNoDelay(true);
                    sockets.add(c);
                    sockets.add(u);
                    connections.incrementAndGet();
                    AtomicBoolean requested = new AtomicBoolean();
                    pool.execute(() -> pump(c, u, requested, false));
                    pool.execute(() -> pump(u, c, requested, true));
                } catch (IOException e) {
                    if (!server.isClosed()) {
                        System.err.println("proxy: " + e);
                    }
                }
            }
        }

        private void pump(Socket from, Socket to, AtomicBoolean requested, boolean response) {
            byte[] buf = new byte[64 << 10];
            try (InputStream in = from.getInputStream()) {
                OutputStream out = to.getOutputStream();
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (response) {
                        if (requested.getAndSet(false) && delayMillis > 0) {
                            LockSupport.parkNanos(delayMillis * 1_000_000L);
                        }
                    } else {
                        requested.set(true);
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException closed) {
                // the other side went away
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }

        private void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
            sockets.remove(s);
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : sockets) {
                closeQuietly(s);
            }
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ S3Proxy

    /** A running S3Proxy child JVM with its data directory. */
    record S3ProxyServer(Process process, int port, Path dir) implements AutoCloseable {
        static S3ProxyServer start(Path jar, Path work) throws IOException, InterruptedException {
            if (!Files.isRegularFile(jar)) {
                throw new AtlasException("S3Proxy jar missing at " + jar.toAbsolutePath()
                        + " (the storage-s3 build copies it: mvn -pl storage-s3 -am package -DskipTests)");
            }
            int port;
            try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = ss.getLocalPort();
            }
            Path dir = Files.createTempDirectory(work, "s3proxy-");
            Path data = Files.createDirectories(dir.resolve("data"));
            Path props = dir.resolve("s3proxy.properties");
            Files.writeString(props, String.join("\n",
                    "s3proxy.endpoint=http://127.0.0.1:" + port,
                    "s3proxy.authorization=aws-v2-or-v4",
                    "s3proxy.identity=" + ACCESS_KEY,
                    "s3proxy.credential=" + SECRET_KEY,
                    "jclouds.provider=filesystem-nio2",
                    "jclouds.filesystem.basedir=" + data.toAbsolutePath(), ""), StandardCharsets.UTF_8);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-Xmx512m", "-XX:+UseSerialGC", "-jar", jar.toString(), "--properties",
                    props.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("s3proxy.log").toFile()).start();
            S3ProxyServer s = new S3ProxyServer(p, port, dir);
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (true) {
                if (!p.isAlive()) {
                    throw new AtlasException("S3Proxy exited: see " + dir.resolve("s3proxy.log"));
                }
                try (Socket sock = new Socket()) {
                    sock.connect(new InetSocketAddress("127.0.0.1", port), 500);
                    break;
                } catch (IOException notYet) {
                    if (System.nanoTime() > deadline) {
                        s.close();
                        throw new AtlasException("S3Proxy did not start: see " + dir.resolve("s3proxy.log"));
                    }
                    Thread.sleep(200);
                }
            }
            return s;
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    static S3StorageOptions s3Options(URI endpoint) {
        return S3StorageOptions.builder(BUCKET).endpoint(endpoint).pathStyle(true).region(Region.US_EAST_1)
                .staticCredentials(ACCESS_KEY, SECRET_KEY).keyPrefix("demo/").build();
    }

    /** Creates the bucket (retrying while the server warms up) and uploads the store's objects. */
    static long upload(Path store, URI endpoint) throws Exception {
        S3StorageOptions o = s3Options(endpoint);
        try (S3AsyncClient c = S3Storage.crtClient(o)) {
            for (int attempt = 0; ; attempt++) {
                try {
                    c.createBucket(b -> b.bucket(BUCKET)).get(30, TimeUnit.SECONDS);
                    break;
                } catch (Exception e) {
                    if (attempt > 50) {
                        throw e;
                    }
                    Thread.sleep(300);
                }
            }
            List<Path> files;
            try (Stream<Path> s = Files.walk(store)) {
                files = s.filter(Files::isRegularFile)
                        .filter(p -> !p.getFileName().toString().startsWith(".atlas-")).toList();
            }
            long bytes = 0;
            for (Path p : files) {
                bytes += Files.size(p);
            }
            Flux.fromIterable(files).flatMap(p -> reactor.core.publisher.Mono.fromFuture(() -> c.putObject(
                    b -> b.bucket(BUCKET).key("demo/" + store.relativize(p).toString().replace('\\', '/')),
                    AsyncRequestBody.fromFile(p))), 8).then().block(T);
            return bytes;
        }
    }

    // ------------------------------------------------------------------ main

    static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Median seconds of {@code reps} raw runs after one warm-up (min, max too); the warm-up's result is returned in {@code first}. */
    static double[] timeRaw(int reps, java.util.function.Supplier<ByteBuf> op, ByteBuf[] first) {
        ByteBuf b = op.get();
        if (first != null) {
            first[0] = b;
        } else {
            b.release();
        }
        double[] s = new double[reps];
        double[] cpu = new double[reps];
        for (int i = 0; i < reps; i++) {
            long c0 = cpuNanos();
            long t0 = System.nanoTime();
            ByteBuf x = op.get();
            s[i] = (System.nanoTime() - t0) / 1e9;
            cpu[i] = (cpuNanos() - c0) / 1e9;
            x.release();
        }
        return new double[] {FastPath.median(s), min(s), max(s), FastPath.median(cpu)};
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        Set<String> flags = new HashSet<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--no-s3") || args[i].equals("--netty-raw")) {
                flags.add(args[i]);
            } else if (args[i].startsWith("--") && i + 1 < args.length) {
                a.put(args[i], args[++i]);
            } else {
                System.err.println("usage: BulkLimitBench --store DIR [--reps K] [--warmups K] [--delays 0,10,25] [--in-flight N]"
                        + " [--max-range BYTES] [--bulk-concurrency N] [--s3proxy-jar JAR] [--no-s3] [--netty-raw]");
                System.exit(2);
            }
        }
        Path store = Path.of(a.getOrDefault("--store", "atlas-demo")).toAbsolutePath();
        int reps = Integer.parseInt(a.getOrDefault("--reps", "5"));
        int warmups = Integer.parseInt(a.getOrDefault("--warmups", "10"));
        int inFlight = Integer.parseInt(a.getOrDefault("--in-flight", "64"));
        int maxRange = Integer.parseInt(a.getOrDefault("--max-range", String.valueOf(2 << 20)));
        int bulk = Integer.parseInt(a.getOrDefault("--bulk-concurrency", "0"));
        long[] delays = Arrays.stream(a.getOrDefault("--delays", "0,10,25").split(",")).mapToLong(Long::parseLong).toArray();
        Path jar = Path.of(a.getOrDefault("--s3proxy-jar", "storage-s3/target/s3-servers/s3proxy.jar"));
        int cores = Runtime.getRuntime().availableProcessors();
        if (!Files.isRegularFile(store.resolve("atlas.json"))) {
            throw new AtlasException("no store at " + store + ": make it with ./atlas demo --no-serve --store " + store);
        }

        List<String> datasets;
        {
            EngineResources r = EngineResources.create();
            Atlas atlas = Atlas.open(LocalStorage.open(store, r), "", options(r, bulk)).block(T);
            datasets = atlas.listDatasets().stream().filter(d -> atlas.dataset(d).meta().arrays().containsKey(ARRAY)).toList();
            atlas.close().block(T);
            r.disposeLater().block(T);
        }
        Plan plan = plan(store, datasets, maxRange);
        // Once more, JIT-warmer: what reading and decoding the footers costs (the cold engine pays it inside its timing).
        double replanMs = plan(store, datasets, maxRange).planMs();
        double footerMs = footerMillis(store, reps);
        EngineResources probe = EngineResources.create();
        AtlasOptions knobs = options(probe, bulk);
        System.out.printf(Locale.ROOT, "BulkLimitBench: %s[0, :, :] of %d datasets -> %s, %.1f MiB of result; store %s%n",
                ARRAY, datasets.size(), Arrays.toString(plan.shape()), plan.destBytes() / 1048576.0, store);
        System.out.printf(Locale.ROOT, "plan (outside the timing): %d chunks in %d blocks, %.1f MB stored -> %.1f MB decoded,"
                        + " %d ranges (<= %d B each, largest %d B); footers read + plan built in %.0f ms (again: %.0f ms;"
                        + " reading and decoding the footers alone: %.1f ms)%n",
                plan.neededChunks(), plan.ranges().stream().mapToInt(r -> r.blocks().size()).sum(), plan.storedBytes() / 1e6,
                plan.decodedBytes() / 1e6, plan.ranges().size(), maxRange, plan.maxRange(), plan.planMs(), replanMs, footerMs);
        System.out.printf(Locale.ROOT, "machine: %d cores, load average %s; JVM %s, max heap %d MiB%n", cores,
                Files.readString(Path.of("/proc/loadavg")).trim(), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20);
        System.out.printf(Locale.ROOT, "engine knobs: bulkConcurrency=%d (default %d), blockTargetSize=%d, codec threads=%d,"
                        + " io threads=%d, caches=%s; S3 maxConcurrency=%d; raw: %d threads, %d GETs in flight; reps=%d%n",
                knobs.bulkConcurrency(), AtlasOptions.DEFAULT_BULK_CONCURRENCY, knobs.blockTargetSize(),
                EngineResources.DEFAULT_CODEC_THREADS, EngineResources.DEFAULT_IO_THREADS, probe.caches(),
                S3StorageOptions.DEFAULT_MAX_CONCURRENCY, cores, inFlight, reps);
        probe.disposeLater().block(T);

        Map<String, double[][]> rows = new LinkedHashMap<>();
        // local
        ByteBuf expect;
        try (LocalRaw raw = new LocalRaw(plan, store, cores)) {
            // The stages first, so that the full raw read runs JIT-warm like the engine.
            double[] readOnly = timeRaw(reps, () -> raw.run(Stages.READ), null);
            double[] readDecode = timeRaw(reps, () -> raw.run(Stages.READ_DECODE), null);
            ByteBuf[] first = new ByteBuf[1];
            double[] lim = timeRaw(reps, () -> raw.run(Stages.ALL), first);
            expect = first[0];
            System.out.printf(Locale.ROOT, "raw local stages (medians): read %.3f s, read+decode %.3f s, read+decode+copy %.3f s%n",
                    readOnly[0], readDecode[0], lim[0]);
            // The same raw read decoding only the frames holding needed bytes (blocks of several
            // frames; one-frame blocks whole): the limit for a layout the engine decodes in parts.
            neededFramesOnly = true;
            ByteBuf[] firstParts = new ByteBuf[1];
            double[] limParts;
            try {
                limParts = timeRaw(reps, () -> raw.run(Stages.ALL), firstParts);
            } finally {
                neededFramesOnly = false;
            }
            check(firstParts[0], expect, "local raw (needed frames)");
            firstParts[0].release();
            System.out.printf(Locale.ROOT, "raw local, needed frames only: %.3f s (%.3f-%.3f), CPU %.2f s per read%n",
                    limParts[0], limParts[1], limParts[2], limParts[3]);
            double[] eng = engine(r -> LocalStorage.open(store, r), plan, reps, warmups, bulk, expect, "local");
            rows.put("local", new double[][] {lim, eng});
            rows.put("local, raw of needed frames", new double[][] {limParts, null});
            System.out.printf(Locale.ROOT, "local done: raw %.3f s, cold %.3f s, warm %.3f s%n", lim[0], eng[0], eng[1]);
        }

        if (!flags.contains("--no-s3")) {
            Path work = Files.createTempDirectory("bulk-limit-");
            S3ProxyServer server = S3ProxyServer.start(jar, work);
            BulkLimitBench.server = server.process();
            DelayProxy proxy = new DelayProxy(server.port());
            Scheduler decode = Schedulers.newParallel("raw-decode", cores, true);
            try {
                long t0 = System.nanoTime();
                long up = upload(store, URI.create("http://127.0.0.1:" + server.port()));
                System.out.printf(Locale.ROOT, "S3Proxy on 127.0.0.1:%d (filesystem), store uploaded (%.1f MB) in %.1f s;"
                        + " read through the delay proxy %s%n", server.port(), up / 1e6, (System.nanoTime() - t0) / 1e9, proxy.endpoint());
                S3StorageOptions so = s3Options(proxy.endpoint());
                ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(() -> new Scratch(plan.maxRange(), plan.maxUncompressed()));
                try (S3AsyncClient client = S3Storage.crtClient(so)) {
                    // Untimed: S3Proxy's JVM and this one's S3 path warm before the first measured setting.
                    proxy.delayMillis = 0;
                    EngineResources wr = EngineResources.create();
                    S3Storage warmStorage = S3Storage.of(client, so, wr.allocator(), wr.codecScheduler());
                    for (int i = 0; i < 3; i++) {
                        s3Raw(plan, warmStorage, inFlight, decode, scratch).release();
                    }
                    Atlas warmAtlas = Atlas.open(warmStorage, "", options(wr, bulk)).block(T);
                    warmAtlas.readArrayAcrossStacked(ARRAY, plan.datasets(), plan.start(), plan.shape()).block(T).close();
                    warmAtlas.close().block(T);
                    wr.disposeLater().block(T);
                    for (long d : delays) {
                        proxy.delayMillis = d;
                        EngineResources rr = EngineResources.create();
                        S3Storage rawStorage = S3Storage.of(client, so, rr.allocator(), rr.codecScheduler());
                        ByteBuf[] first = new ByteBuf[1];
                        double[] lim = timeRaw(reps, () -> s3Raw(plan, rawStorage, inFlight, decode, scratch), first);
                        check(first[0], expect, "s3+" + d + " raw");
                        first[0].release();
                        rawStorage.close();
                        rr.disposeLater().block(T);
                        double[] eng = engine(r -> S3Storage.of(client, so, r.allocator(), r.codecScheduler()), plan, reps, warmups, bulk,
                                expect, "s3+" + d);
                        rows.put("s3+" + d + " ms", new double[][] {lim, eng});
                        if (flags.contains("--netty-raw")) {
                            // The same raw read with its GETs on reactor-netty instead of the CRT (an experiment:
                            // what the receive path costs), engine column = the CRT engine's, for the ratio.
                            try (NettyRangeGets gets = new NettyRangeGets(proxy.endpoint(), BUCKET, "demo/", "us-east-1",
                                    ACCESS_KEY, SECRET_KEY, inFlight, PooledByteBufAllocator.DEFAULT)) {
                                for (int i = 0; i < 3; i++) {
                                    s3Raw(plan, r -> gets.read(r.key(), r.offset(), r.length()), inFlight, decode, scratch).release();
                                }
                                ByteBuf[] firstNetty = new ByteBuf[1];
                                double[] limNetty = timeRaw(reps, () -> s3Raw(plan, r -> gets.read(r.key(), r.offset(), r.length()),
                                        inFlight, decode, scratch), firstNetty);
                                check(firstNetty[0], expect, "s3+" + d + " raw over reactor-netty");
                                firstNetty[0].release();
                                rows.put("s3+" + d + " ms, raw GETs on reactor-netty", new double[][] {limNetty, eng});
                                System.out.printf(Locale.ROOT, "s3+%d raw over reactor-netty: %.3f s, %.2f s CPU%n", d, limNetty[0],
                                        limNetty[3]);
                            }
                        }
                        System.out.printf(Locale.ROOT, "s3+%d done: raw %.3f s, cold %.3f s, warm %.3f s (proxy connections so far %d)%n",
                                d, lim[0], eng[0], eng[1], proxy.connections.get());
                    }
                }
            } finally {
                decode.dispose();
                proxy.close();
                server.close();
                deleteTree(work);
            }
        }
        expect.release();

        System.out.println();
        System.out.printf("| store | raw limit (s) | engine cold (s) | engine warm (s) | cold / raw | warm / raw |"
                + " CPU s per read: raw / cold |%n");
        System.out.printf("| --- | --- | --- | --- | --- | --- | --- |%n");
        for (Map.Entry<String, double[][]> e : rows.entrySet()) {
            double[] lim = e.getValue()[0];
            double[] eng = e.getValue()[1];
            if (eng == null) {
                eng = rows.get("local")[1];
            }
            System.out.printf(Locale.ROOT, "| %s | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.1fx | %.2fx | %.2f / %.2f |%n",
                    e.getKey(), lim[0], lim[1], lim[2], eng[0], eng[2], eng[3], eng[1], eng[4], eng[5], eng[0] / lim[0],
                    eng[1] / lim[0], lim[3], eng[6]);
        }
        System.out.printf(Locale.ROOT, "medians of %d reps (min-max); CPU: this JVM's process CPU time per read (median);"
                + " load average at the end: %s%n", reps,
                Files.readString(Path.of("/proc/loadavg")).trim());
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
