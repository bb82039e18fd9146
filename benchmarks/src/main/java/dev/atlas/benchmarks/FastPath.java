package dev.atlas.benchmarks;

import com.github.luben.zstd.Zstd;
import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.cache.CacheStats;
import dev.atlas.cache.ReadCaches;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkEntry;
import dev.atlas.codec.CodecId;
import dev.atlas.format.DType;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.FooterCodec;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.local.LocalStorage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import reactor.core.publisher.Flux;

/**
 * The fast-path harness: in one JVM run, for each data kind and codec, measures the physical limit
 * of this machine (positional reads of the compressed blocks into page-aligned buffers, JNI
 * decompression into reused buffers, copy of every chunk into one pooled direct destination; 1 and
 * 2 threads) and the engine on the same file ({@code ArrayFile.readArray} from local files and
 * from memory: the whole array, a 1/8 window; 10,000 concurrent single-chunk reads), plus writes
 * against raw compression. Prints a Markdown table of medians and ratios.
 *
 * <pre>
 * java -Xms6g -Xmx6g -XX:MaxDirectMemorySize=8g -Dio.netty.leakDetection.level=disabled \
 *   -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.FastPath [dir] [reps] [kinds] [codecs] [write]
 * </pre>
 *
 * Knobs for experiments: {@code -DverifyAB=true} adds the read rows with checksum verification
 * off next to the same rows with it on (measured in pairs in the same run; see {@link #verifyAB}),
 * {@code -Drc=N} sets the engine's read concurrency, {@code -Dwc=N} its
 * write concurrency (defaults otherwise); a fifth argument {@code write} runs the write rows only,
 * {@code -DreadOnly=true} the read rows only (the file is written once, untimed).
 */
public final class FastPath {
    static final long ROWS = 16384;
    static final long COLS = 16384; // 16384 x 16384 float32 = 1 GiB
    static final long[] CHUNK = {256, 1024}; // 1 MiB chunks, 8 per 8 MiB block
    /**
     * The issue measures 8 MiB blocks: the 1 MiB chunks are packed 8 to a block here, where the
     * engine's default would give each its own block (-DsoloChunk=1048576 for that layout).
     */
    static final long SOLO = Long.getLong("soloChunk", Long.MAX_VALUE);
    static final long TILES = 4096; // "tiles": 4096 x 4096 float32 (64 MiB) in 64 x 64 chunks of 16 KiB
    static final long[] WIN_START = {1000, 3000};
    static final long[] WIN_SHAPE = {8192, 4096}; // 1/8 of the array, not chunk-aligned

    static final Duration T = Duration.ofMinutes(10);
    /** Fifth argument "write": only the write rows (for profiling the write path). */
    static boolean writeOnly;
    /** The engine's default allocator, for the engine and the limit alike. */
    static final dev.atlas.buffer.BlockBufferAllocator ALLOC =
            dev.atlas.buffer.BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT);

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "/tmp/atlas-fastpath");
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        String[] kinds = (args.length > 2 ? args[2] : "smoothNoise,quantized").split(",");
        String[] codecs = (args.length > 3 ? args[3] : "lz4,zstd3").split(",");
        writeOnly = args.length > 4 && args[4].equals("write");
        List<String> rows = new ArrayList<>();
        rows.add("| data | codec | ratio | case | threads | limit GB/s | engine, local files GB/s | local/limit | engine, in memory GB/s | memory/limit |");
        rows.add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        List<String> notes = new ArrayList<>();
        ByteBuf source = PooledByteBufAllocator.DEFAULT.directBuffer((int) (ROWS * COLS * 4));
        try {
            for (String kind : kinds) {
                generate(kind, source);
                for (String codecName : codecs) {
                    BlockCodec codec = codecName.equals("lz4") ? BlockCodecs.lz4() : BlockCodecs.zstd(3);
                    runCase(dir.resolve(kind + "-" + codecName), kind, codecName, codec, source, reps, rows, notes);
                }
            }
        } finally {
            source.release();
        }
        System.out.println();
        rows.forEach(System.out::println);
        System.out.println();
        notes.forEach(System.out::println);
        System.exit(0);
    }

    /** Fills {@code out} with ROWS x COLS float32 of the given kind (deterministic). */
    static void generate(String kind, ByteBuf out) {
        out.clear();
        SplittableRandom rnd = new SplittableRandom(42);
        for (long r = 0; r < ROWS; r++) {
            double sr = Math.sin(0.01 * r);
            for (long c = 0; c < COLS; c++) {
                double v = sr * Math.cos(0.01 * c);
                float f = switch (kind) {
                    case "smoothNoise" -> (float) (v + 0.01 * gaussian(rnd));
                    case "quantized" -> (float) (Math.round(v * 64) / 64.0);
                    default -> throw new IllegalArgumentException("kind " + kind);
                };
                out.writeIntLE(Float.floatToRawIntBits(f));
            }
        }
    }

    private static double gaussian(SplittableRandom r) {
        // Irwin-Hall approximation: cheap and good enough for measurement-like noise.
        double s = 0;
        for (int i = 0; i < 4; i++) {
            s += r.nextDouble();
        }
        return (s - 2) * Math.sqrt(3);
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Median seconds of {@code reps} runs after one warm-up. */
    static double time(int reps, Runnable before, Runnable op) {
        before.run();
        op.run();
        double[] s = new double[reps];
        for (int i = 0; i < reps; i++) {
            before.run();
            long t0 = System.nanoTime();
            op.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
        }
        return median(s);
    }

    static void runCase(Path dir, String kind, String codecName, BlockCodec codec, ByteBuf source, int reps,
            List<String> rows, List<String> notes) throws Exception {
        long bytes = ROWS * COLS * 4;
        if (Boolean.getBoolean("readOnly")) {
            // -DreadOnly=true: write the file once, untimed, and measure the read rows only.
            deleteTree(dir);
            Files.createDirectories(dir);
            writeFile(dir, codec, source, true);
            readRows(dir, kind, codecName, source, reps, rows, notes);
            return;
        }
        // ---- write: streamed writeArray + flush vs raw compression, 2 threads. The limit compresses
        // the bytes the engine stores: the chunks laid out one after the other (chunk-major), 8 MiB
        // blocks. The source's row-major bytes compress differently (quantized: 1.4-1.8x faster and
        // smaller, runs along a whole row), so that figure is reported too but is not a like-for-like
        // limit. The raw write pipeline adds the positional write of the compressed blocks to a file
        // and its fsync, as the write to local files must.
        double rawRowMajor = bytes / time(reps, () -> { }, () -> compressAll(codec, source, 2)) / 1e9;
        ByteBuf blocksLaidOut = chunkMajor(source);
        double rawCompress;
        double rawPipeline;
        try {
            rawCompress = bytes / time(reps, () -> { }, () -> compressAll(codec, blocksLaidOut, 2)) / 1e9;
            Files.createDirectories(dir);
            Path raw = dir.resolve("raw-pipeline.bin");
            rawPipeline = bytes / time(reps, () -> { }, () -> compressAndWriteAll(codec, blocksLaidOut, 2, raw)) / 1e9;
            Files.deleteIfExists(raw);
        } finally {
            blocksLaidOut.release();
        }
        // First with the spill file copied into the layer object (the path of storages that cannot
        // adopt files), then the default (adopted), which also leaves the file the reads use.
        double[] copying = new double[reps];
        double[] write = new double[reps];
        for (double[] times : List.of(copying, write)) {
            for (int i = 0; i < reps + 1; i++) {
                deleteTree(dir);
                Files.createDirectories(dir);
                double secs = writeFile(dir, codec, source, times == write);
                if (i > 0) {
                    times[i - 1] = secs;
                }
            }
        }
        double writeGbs = bytes / median(write) / 1e9;
        notes.add(String.format(Locale.ROOT, "write %s/%s to local files: %.2f GB/s with the spill file adopted as the layer "
                + "(default), %.2f GB/s with it copied (adoptSpillFiles=false); raw compression %.2f GB/s of the stored "
                + "(chunk-major) blocks, %.2f GB/s of the row-major source; raw compression + file write + fsync %.2f GB/s",
                kind, codecName, writeGbs, bytes / median(copying) / 1e9, rawCompress, rawRowMajor, rawPipeline));
        // The same write into memory, spilling to tmpfs: the pipeline without the disk.
        Path shm = Path.of("/dev/shm");
        double memWriteGbs = Double.NaN;
        if (Files.isDirectory(shm) && !Boolean.getBoolean("noMemory")) {
            double[] mw = new double[reps];
            for (int i = 0; i < reps + 1; i++) {
                double secs = writeInMemory(shm, codec, source);
                if (i > 0) {
                    mw[i - 1] = secs;
                }
            }
            memWriteGbs = bytes / median(mw) / 1e9;
        }
        rows.add(String.format(Locale.ROOT, "| %s | %s | | write (writeArray stream + flush) vs raw compression of the stored blocks | 2 | %.2f | %.2f | %.0f %% | %.2f | %.0f %% |",
                kind, codecName, rawCompress, writeGbs, 100 * writeGbs / rawCompress, memWriteGbs, 100 * memWriteGbs / rawCompress));
        rows.add(String.format(Locale.ROOT, "| %s | %s | | write vs raw compression + file write + fsync | 2 | %.2f | %.2f | %.0f %% | | |",
                kind, codecName, rawPipeline, writeGbs, 100 * writeGbs / rawPipeline));
        rows.add(String.format(Locale.ROOT, "| %s | %s | | write vs raw compression of the row-major source (not like for like) | 2 | %.2f | %.2f | %.0f %% | %.2f | %.0f %% |",
                kind, codecName, rawRowMajor, writeGbs, 100 * writeGbs / rawRowMajor, memWriteGbs, 100 * memWriteGbs / rawRowMajor));
        if (writeOnly) {
            return;
        }
        readRows(dir, kind, codecName, source, reps, rows, notes);
    }

    /** The read rows: the limit and the engine (local files, memory) on the file {@code dir/x.af}. */
    static void readRows(Path dir, String kind, String codecName, ByteBuf source, int reps, List<String> rows,
            List<String> notes) throws Exception {
        long bytes = ROWS * COLS * 4;
        // ---- the layer holding the data, its blocks and the chunk -> block map of "x"
        Path layer = dir.resolve("x.af");
        Footer footer = footerOf(layer);
        ArrayMeta x = footer.arrays().stream().filter(a -> a.name().equals("x")).findFirst().orElseThrow();
        Map<Long, BlockMeta> blocks = new HashMap<>();
        long stored = 0;
        for (BlockMeta b : footer.blocks()) {
            blocks.put(b.id(), b);
            stored += b.compressedSize();
        }
        double ratio = (double) (bytes + TILES * TILES * 4) / stored;
        byte[] baseBytes = Files.readAllBytes(layer);
        for (int threads = 1; threads <= 2; threads++) {
            int t = threads;
            EngineResources res = EngineResources.create(t, 4, ALLOC);
            try {
                ArrayFileOptions o = ArrayFileOptions.builder(res)
                        .readConcurrency(Integer.getInteger("rc", ArrayFileOptions.DEFAULT_READ_CONCURRENCY)).build();
                LocalStorage local = LocalStorage.open(dir, res);
                InMemoryStorage mem = InMemoryStorage.create(ALLOC);
                mem.putBytes("x.af", baseBytes);
                ArrayFile lf = ArrayFile.open(local, "x.af", o).block(T);
                ArrayFile mf = ArrayFile.open(mem, "x.af", o).block(T);
                ReadCaches caches = res.caches();
                Runnable cold = caches::invalidateAll;
                // whole array
                double limWhole = time(reps, () -> { }, () -> limit(layer, x, blocks, new long[] {0, 0}, new long[] {ROWS, COLS}, t));
                double engWhole = time(reps, cold, () -> readAndCheck(lf, new long[] {0, 0}, new long[] {ROWS, COLS}, source));
                double memWhole = time(reps, cold, () -> readAndCheck(mf, new long[] {0, 0}, new long[] {ROWS, COLS}, source));
                rows.add(row(kind, codecName, ratio, "whole array (1 GiB)", t, bytes, limWhole, engWhole, memWhole));
                // 1/8 window
                long wbytes = WIN_SHAPE[0] * WIN_SHAPE[1] * 4;
                double limWin = time(reps, () -> { }, () -> limit(layer, x, blocks, WIN_START, WIN_SHAPE, t));
                double engWin = time(reps, cold, () -> readAndCheck(lf, WIN_START, WIN_SHAPE, source));
                double memWin = time(reps, cold, () -> readAndCheck(mf, WIN_START, WIN_SHAPE, source));
                rows.add(row(kind, codecName, ratio, "1/8 window (128 MiB, unaligned)", t, wbytes, limWin, engWin, memWin));
                if (Boolean.getBoolean("verifyAB")) {
                    verifyAB(kind, codecName, ratio, t, reps, dir, baseBytes, source, limWhole, engWhole, memWhole, limWin, engWin,
                            memWin, rows, notes);
                }
                // 10,000 concurrent single-chunk reads of "tiles", 64 in flight, from cold caches
                if (t == 2) {
                    notes.add(smallReads(kind, codecName, lf, caches, "local"));
                    notes.add(smallReads(kind, codecName, mf, caches, "memory"));
                }
                lf.close().block(T);
                mf.close().block(T);
                caches.invalidateAll();
            } finally {
                res.disposeLater().block(T);
            }
        }
    }

    /**
     * {@code -DverifyAB=true}: the read rows with checksum verification on (the default) and off
     * ({@code verifyChecksums(false)}), measured in pairs: per pair one cold read with it off, then
     * one with it on, each on its own handle; {@code max(6, 2 * reps)} pairs per case. The ratio of
     * a pair cancels the machine's drift between pairs; the note gives the median pair ratio
     * (throughput on / off) and the median extra time per GB read. Rows show the median times.
     */
    static void verifyAB(String kind, String codecName, double ratio, int t, int reps, Path dir, byte[] baseBytes, ByteBuf source,
            double limWhole, double engWhole, double memWhole, double limWin, double engWin, double memWin, List<String> rows,
            List<String> notes) throws IOException {
        long bytes = ROWS * COLS * 4;
        long wbytes = WIN_SHAPE[0] * WIN_SHAPE[1] * 4;
        int pairs = Math.max(6, 2 * reps);
        EngineResources res = EngineResources.create(t, 4, ALLOC);
        try {
            ArrayFileOptions.Builder b = ArrayFileOptions.builder(res)
                    .readConcurrency(Integer.getInteger("rc", ArrayFileOptions.DEFAULT_READ_CONCURRENCY));
            ArrayFileOptions on = b.verifyChecksums(true).build();
            ArrayFileOptions off = b.verifyChecksums(false).build();
            LocalStorage local = LocalStorage.open(dir, res);
            InMemoryStorage mem = InMemoryStorage.create(ALLOC);
            mem.putBytes("x.af", baseBytes);
            ArrayFile lOn = ArrayFile.open(local, "x.af", on).block(T);
            ArrayFile lOff = ArrayFile.open(local, "x.af", off).block(T);
            ArrayFile mOn = ArrayFile.open(mem, "x.af", on).block(T);
            ArrayFile mOff = ArrayFile.open(mem, "x.af", off).block(T);
            ArrayFile[][] files = {{lOn, lOff}, {mOn, mOff}, {lOn, lOff}, {mOn, mOff}};
            long[][] starts = {{0, 0}, {0, 0}, WIN_START, WIN_START};
            long[][] shapes = {{ROWS, COLS}, {ROWS, COLS}, WIN_SHAPE, WIN_SHAPE};
            String[] what = {"whole/local", "whole/memory", "window/local", "window/memory"};
            long[] size = {bytes, bytes, wbytes, wbytes};
            double[] medOn = new double[4];
            double[] medOff = new double[4];
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "verification A/B %s/%s, %d thread(s), %d pairs, median throughput on/off:", kind, codecName, t, pairs));
            for (int i = 0; i < 4; i++) {
                ArrayFile fOn = files[i][0];
                ArrayFile fOff = files[i][1];
                long[] st = starts[i];
                long[] sh = shapes[i];
                readAndCheck(fOff, st, sh, source); // warm-up of both handles
                readAndCheck(fOn, st, sh, source);
                double[] tOn = new double[pairs];
                double[] tOff = new double[pairs];
                double[] r = new double[pairs];
                double[] extra = new double[pairs];
                for (int p = 0; p < pairs; p++) {
                    tOff[p] = timeOnce(res, fOff, st, sh, source);
                    tOn[p] = timeOnce(res, fOn, st, sh, source);
                    r[p] = tOff[p] / tOn[p];
                    extra[p] = 1e3 * (tOn[p] - tOff[p]) / (size[i] / 1e9);
                }
                medOn[i] = median(tOn);
                medOff[i] = median(tOff);
                sb.append(String.format(Locale.ROOT, " %s %.1f %% (%+.1f ms per GB read);", what[i], 100 * median(r),
                        median(extra)));
            }
            rows.add(row(kind, codecName, ratio, "whole array, verification ON (A/B pairs)", t, bytes, limWhole, medOn[0], medOn[1]));
            rows.add(row(kind, codecName, ratio, "whole array, verification OFF (A/B pairs)", t, bytes, limWhole, medOff[0], medOff[1]));
            rows.add(row(kind, codecName, ratio, "1/8 window, verification ON (A/B pairs)", t, wbytes, limWin, medOn[2], medOn[3]));
            rows.add(row(kind, codecName, ratio, "1/8 window, verification OFF (A/B pairs)", t, wbytes, limWin, medOff[2], medOff[3]));
            notes.add(sb.toString());
            for (ArrayFile f : List.of(lOn, lOff, mOn, mOff)) {
                f.close().block(T);
            }
            res.caches().invalidateAll();
        } finally {
            res.disposeLater().block(T);
        }
    }

    /** Seconds of one read from cold caches. */
    static double timeOnce(EngineResources res, ArrayFile f, long[] start, long[] shape, ByteBuf source) {
        res.caches().invalidateAll();
        long t0 = System.nanoTime();
        readAndCheck(f, start, shape, source);
        return (System.nanoTime() - t0) / 1e9;
    }

    static String row(String kind, String codec, double ratio, String what, int threads, long bytes, double lim,
            double eng, double mem) {
        double l = bytes / lim / 1e9;
        double e = bytes / eng / 1e9;
        double m = bytes / mem / 1e9;
        return String.format(Locale.ROOT, "| %s | %s | %.2f | %s | %d | %.2f | %.2f | %.0f %% | %.2f | %.0f %% |",
                kind, codec, ratio, what, threads, l, e, 100 * e / l, m, 100 * m / l);
    }

    /** Writes "x" (the source) and "tiles" through the streamed write, then flushes; returns the seconds "x" took. */
    static double writeFile(Path dir, BlockCodec codec, ByteBuf source, boolean adopt) {
        EngineResources res = EngineResources.create(2, 4, ALLOC);
        try {
            ArrayFileOptions o = ArrayFileOptions.builder(res).codec(codec).tempDirectory(dir).adoptSpillFiles(adopt)
                    .soloChunkSize(SOLO).build();
            LocalStorage local = LocalStorage.open(dir, res);
            ArrayFile f = ArrayFile.create(local, "x.af", o).block(T);
            f.defineArray("x", ArraySpec.of(DType.FLOAT32, ROWS, COLS).withChunks(CHUNK)).block(T);
            f.defineArray("tiles", ArraySpec.of(DType.FLOAT32, TILES, TILES).withChunks(64, 64)).block(T);
            double secs = timedStreamedWrite(f, source);
            long rowBytes = COLS * 4;
            // tiles: the top-left 4096 x 4096 of the source
            f.writeArray("tiles", new long[] {0, 0}, Flux.range(0, (int) TILES).map(r -> {
                ByteBuf row = source.retainedSlice((int) (r * rowBytes), (int) (TILES * 4));
                return NdArray.wrap(DType.FLOAT32, new long[] {1, TILES}, row);
            })).block(T);
            f.flush().block(T);
            f.compact().block(T); // one layer: x.af holds everything (compaction rewrites the base)
            f.close().block(T);
            return secs;
        } finally {
            res.disposeLater().block(T);
        }
    }

    /** Streams the source into "x" in 64-row slabs and flushes; returns the seconds it took. */
    static double timedStreamedWrite(ArrayFile f, ByteBuf source) {
        long rowBytes = COLS * 4;
        int band = 64;
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long c0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        f.writeArray("x", new long[] {0, 0}, Flux.range(0, (int) (ROWS / band)).map(i -> NdArray.wrap(DType.FLOAT32,
                new long[] {band, COLS}, source.retainedSlice((int) (i * band * rowBytes), (int) (band * rowBytes)))))
                .block(T);
        long t1 = System.nanoTime();
        long c1 = os.getProcessCpuTime();
        f.flush().block(T);
        long t2 = System.nanoTime();
        long c2 = os.getProcessCpuTime();
        if (Boolean.getBoolean("verbose")) {
            System.out.printf(Locale.ROOT, "  write: writeArray %.3f s (cpu %.2f s), flush %.3f s (cpu %.2f s)%n",
                    (t1 - t0) / 1e9, (c1 - c0) / 1e9, (t2 - t1) / 1e9, (c2 - c1) / 1e9);
        }
        return (t2 - t0) / 1e9;
    }

    /** Streams "x" into an in-memory store (spill files in {@code tmp}) and flushes; returns seconds. */
    static double writeInMemory(Path tmp, BlockCodec codec, ByteBuf source) {
        EngineResources res = EngineResources.create(2, 4, ALLOC);
        try {
            ArrayFileOptions o = ArrayFileOptions.builder(res).codec(codec).tempDirectory(tmp).writeConcurrency(Integer.getInteger("wc", 2))
                    .soloChunkSize(SOLO).build();
            InMemoryStorage mem = InMemoryStorage.create(ALLOC);
            ArrayFile f = ArrayFile.create(mem, "x.af", o).block(T);
            f.defineArray("x", ArraySpec.of(DType.FLOAT32, ROWS, COLS).withChunks(CHUNK)).block(T);
            double secs = timedStreamedWrite(f, source);
            f.close().block(T);
            return secs;
        } finally {
            res.disposeLater().block(T);
        }
    }

    /** The source's bytes as "x" stores them: chunk after chunk in grid order (caller releases). */
    static ByteBuf chunkMajor(ByteBuf source) {
        int rowBytes = (int) (COLS * 4);
        int runBytes = (int) (CHUNK[1] * 4);
        ByteBuf out = ALLOC.directBuffer(source.writerIndex(), source.writerIndex());
        for (long r0 = 0; r0 < ROWS; r0 += CHUNK[0]) {
            for (long c0 = 0; c0 < COLS; c0 += CHUNK[1]) {
                for (long r = r0; r < r0 + CHUNK[0]; r++) {
                    out.writeBytes(source, (int) (r * rowBytes + c0 * 4), runBytes);
                }
            }
        }
        return out;
    }

    /**
     * The raw write pipeline: {@code threads} threads compress 8 MiB blocks and write each at its
     * place in {@code file} (places taken in completion order, as the engine's spill does), then
     * one fsync.
     */
    static void compressAndWriteAll(BlockCodec codec, ByteBuf source, int threads, Path file) {
        int block = 8 << 20;
        int n = source.writerIndex() / block;
        AtomicInteger next = new AtomicInteger();
        java.util.concurrent.atomic.AtomicLong end = new java.util.concurrent.atomic.AtomicLong();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            runThreads(threads, () -> {
                for (int i; (i = next.getAndIncrement()) < n; ) {
                    ByteBuf c = codec.compress(source.slice(i * block, block), ALLOC);
                    try {
                        java.nio.ByteBuffer bb = c.nioBuffer();
                        long at = end.getAndAdd(bb.remaining());
                        while (bb.hasRemaining()) {
                            at += ch.write(bb, at);
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    } finally {
                        c.release();
                    }
                }
            });
            ch.force(true);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void compressAll(BlockCodec codec, ByteBuf source, int threads) {
        int block = 8 << 20;
        int n = source.writerIndex() / block;
        AtomicInteger next = new AtomicInteger();
        runThreads(threads, () -> {
            for (int i; (i = next.getAndIncrement()) < n; ) {
                codec.compress(source.slice(i * block, block), ALLOC).release();
            }
        });
    }

    static void runThreads(int n, Runnable r) {
        Thread[] ts = new Thread[n];
        Throwable[] err = new Throwable[1];
        for (int i = 0; i < n; i++) {
            ts[i] = new Thread(() -> {
                try {
                    r.run();
                } catch (Throwable e) {
                    err[0] = e;
                }
            });
            ts[i].start();
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
        if (err[0] != null) {
            throw new IllegalStateException(err[0]);
        }
    }

    static Footer footerOf(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer tail = ByteBuffer.allocate(Trailer.SIZE);
            ch.read(tail, size - Trailer.SIZE);
            tail.flip();
            long len = Trailer.payloadLength(tail, size, Trailer.LAYER_MAGIC, file.toString());
            ByteBuffer payload = ByteBuffer.allocate((int) len);
            ch.read(payload, size - Trailer.SIZE - len);
            payload.flip();
            return FooterCodec.decodeFooter(payload, file.toString());
        }
    }

    /**
     * The physical limit of a region read: the blocks holding the region's chunks are read with
     * positional reads into page-aligned reused buffers, decompressed by JNI into reused buffers,
     * and each chunk's part is copied into one pooled direct destination (row runs, as the engine).
     */
    static void limit(Path file, ArrayMeta x, Map<Long, BlockMeta> blocks, long[] start, long[] shape, int threads) {
        Map<Long, List<ChunkEntry>> byBlock = new HashMap<>();
        for (ChunkEntry c : x.chunks()) {
            long r0 = c.coord(0) * CHUNK[0];
            long c0 = c.coord(1) * CHUNK[1];
            if (r0 < start[0] + shape[0] && r0 + CHUNK[0] > start[0] && c0 < start[1] + shape[1] && c0 + CHUNK[1] > start[1]) {
                byBlock.computeIfAbsent(c.address().blockId(), k -> new ArrayList<>()).add(c);
            }
        }
        List<Long> ids = new ArrayList<>(byBlock.keySet());
        int out = (int) (shape[0] * shape[1] * 4);
        ByteBuf dst = ALLOC.directBuffer(out, out);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            AtomicInteger next = new AtomicInteger();
            LZ4SafeDecompressor lz4 = LZ4Factory.nativeInstance().safeDecompressor();
            runThreads(threads, () -> {
                ByteBuffer raw = ByteBuffer.allocateDirect((12 << 20) + 8192);
                ByteBuffer dec = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
                long rawAddr = address(raw);
                for (int i; (i = next.getAndIncrement()) < ids.size(); ) {
                    BlockMeta b = blocks.get(ids.get(i));
                    int n = (int) b.compressedSize();
                    int pad = (int) Math.floorMod(b.fileOffset() - rawAddr, 4096L);
                    ByteBuffer in = raw.duplicate().position(pad).limit(pad + n);
                    try {
                        long at = b.fileOffset();
                        while (in.hasRemaining()) {
                            at += ch.read(in, at);
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                    int size = (int) b.uncompressedSize();
                    if (b.codec().equals(CodecId.LZ4)) {
                        lz4.decompress(raw, pad + 4, n - 4, dec, 0, size);
                    } else if (b.codec().equals(CodecId.ZSTD)) {
                        long got = Zstd.decompressDirectByteBuffer(dec, 0, size, raw, pad, n);
                        if (got != size) {
                            throw new IllegalStateException("zstd " + got);
                        }
                    } else {
                        throw new IllegalStateException("codec " + b.codec());
                    }
                    for (ChunkEntry c : byBlock.get(b.id())) {
                        copyChunk(dec, (int) c.address().offset(), c.coord(0) * CHUNK[0], c.coord(1) * CHUNK[1], start, shape, dst);
                    }
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            dst.release();
        }
    }

    private static long address(ByteBuffer direct) {
        return io.netty.util.internal.PlatformDependent.directBufferAddress(direct);
    }

    /** Row runs of one 2-D chunk (at {@code r0, c0}) that fall inside the region, into the region buffer. */
    static void copyChunk(ByteBuffer chunkData, int off, long r0, long c0, long[] start, long[] shape, ByteBuf dst) {
        long rFrom = Math.max(r0, start[0]);
        long rTo = Math.min(r0 + CHUNK[0], start[0] + shape[0]);
        long cFrom = Math.max(c0, start[1]);
        long cTo = Math.min(c0 + CHUNK[1], start[1] + shape[1]);
        int len = (int) ((cTo - cFrom) * 4);
        for (long r = rFrom; r < rTo; r++) {
            int src = off + (int) (((r - r0) * CHUNK[1] + (cFrom - c0)) * 4);
            int to = (int) (((r - start[0]) * shape[1] + (cFrom - start[1])) * 4);
            dst.setBytes(to, chunkData.duplicate().position(src).limit(src + len));
        }
    }

    /** Reads a region and spot-checks 1,000 elements against the source. */
    static void readAndCheck(ArrayFile f, long[] start, long[] shape, ByteBuf source) {
        try (NdArray a = f.readArray("x", start, shape).block(T)) {
            SplittableRandom r = new SplittableRandom(7);
            for (int i = 0; i < 1000; i++) {
                long y = r.nextLong(shape[0]);
                long xx = r.nextLong(shape[1]);
                int want = source.getInt((int) (((start[0] + y) * COLS + start[1] + xx) * 4));
                int got = Float.floatToRawIntBits(a.getFloat(a.index(y, xx)));
                if (Integer.reverseBytes(want) != got) {
                    throw new IllegalStateException("mismatch at " + (start[0] + y) + "," + (start[1] + xx));
                }
            }
        }
    }

    /** 10,000 single-chunk reads of "tiles" at random, 64 in flight, from cold caches. */
    static String smallReads(String kind, String codec, ArrayFile f, ReadCaches caches, String where) {
        caches.invalidateAll();
        CacheStats s0 = caches.slabs().stats();
        CacheStats b0 = caches.blocks().stats();
        SplittableRandom r = new SplittableRandom(11);
        long[][] coords = new long[10_000][];
        for (int i = 0; i < coords.length; i++) {
            coords[i] = new long[] {r.nextLong(TILES / 64), r.nextLong(TILES / 64)};
        }
        long t0 = System.nanoTime();
        long n = Flux.fromArray(coords)
                .flatMap(c -> f.readArray("tiles", new long[] {c[0] * 64, c[1] * 64}, new long[] {64, 64})
                        .doOnNext(NdArray::close), 64)
                .count().block(T);
        double secs = (System.nanoTime() - t0) / 1e9;
        CacheStats s = caches.slabs().stats().minus(s0);
        CacheStats b = caches.blocks().stats().minus(b0);
        return String.format(Locale.ROOT, "- %s / %s, %s: %d single-chunk reads (16 KiB chunks of 8 MiB blocks, 64 in flight) "
                + "in %.2f s = %.0f reads/s; storage range reads %d (%.3f per read, %.1f MiB fetched); "
                + "block cache %d lookups, %.1f %% hits, %d decompressions; slab cache %.1f %% hits",
                kind, codec, where, n, secs, n / secs, s.loads(), (double) s.loads() / n, s.loadedBytes() / 1048576.0,
                b.requests(), 100 * b.hitRate(), b.misses(), 100 * s.hitRate());
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var w = Files.walk(dir)) {
            for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
