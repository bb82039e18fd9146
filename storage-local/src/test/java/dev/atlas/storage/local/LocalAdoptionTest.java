package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.StorageException;
import dev.atlas.format.DType;
import dev.atlas.storage.FileAdoption;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.ForwardingStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * Flushes and compactions over {@link LocalStorage} adopt the spill file as the layer object: the
 * layer is byte for byte what the copying path writes (blocks in id order however many compressed
 * side by side), a failed adoption leaves the layer pending and a retried flush commits it, and no
 * staged file outlives its layer.
 */
class LocalAdoptionTest extends EngineTestBase {
    private static final int ROWS = 64;
    private static final int COLS = 256;

    private static float value(int r, int c) {
        return (float) Math.sin(r * 0.1) * c + (r * 31 + c) % 7;
    }

    /** Writes "v" (several blocks), flushes (retrying once if the first flush fails), compacts. */
    private static void build(Storage s, ArrayFileOptions o, boolean compact) {
        ArrayFile f = ArrayFile.create(s, "d/x.af", o).block(TIMEOUT);
        f.defineArray("v", ArraySpec.of(DType.FLOAT32, ROWS, COLS).withChunks(8, 64)).block(TIMEOUT);
        try (NdArray a = NdArray.wrap(DType.FLOAT32, new long[] {ROWS, COLS}, floats())) {
            f.writeArray("v", new long[] {0, 0}, a).block(TIMEOUT);
        }
        try {
            f.flush().block(TIMEOUT);
        } catch (StorageException firstAttempt) {
            f.flush().block(TIMEOUT);
        }
        if (compact) {
            f.compact().block(TIMEOUT);
        }
        f.close().block(TIMEOUT);
    }

    private static io.netty.buffer.ByteBuf floats() {
        io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.directBuffer(ROWS * COLS * 4);
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                b.writeFloatLE(value(r, c));
            }
        }
        return b;
    }

    private static void checkContent(Storage s, ArrayFileOptions o) {
        ArrayFile f = ArrayFile.open(s, "d/x.af", o).block(TIMEOUT);
        try (NdArray a = f.readArray("v").block(TIMEOUT)) {
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < COLS; c++) {
                    assertEquals(value(r, c), a.getFloat((long) r * COLS + c), "v[" + r + "," + c + "]");
                }
            }
        }
        f.close().block(TIMEOUT);
    }

    private static List<String> stagedFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(LocalStorage.TEMP_PREFIX)).toList();
        }
    }

    /** Staged files left in {@code dir} once released spill files are gone (their removal is asynchronous). */
    private static List<String> stagedFilesSettled(Path dir) throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<String> left = stagedFiles(dir);
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            left = stagedFiles(dir);
        }
        return left;
    }

    @Test
    void adoptedLayersAreByteForByteTheCopiedOnesAndFailedAdoptionsRetry() throws IOException {
        // Small blocks, four compressing at once: the spills race, the file must still be in id order.
        // Background syncs every 16 KiB run while later blocks are written.
        ArrayFileOptions.Builder b = ArrayFileOptions.builder(resources).codec(BlockCodecs.zstd(3))
                .blockTargetSize(8 * 1024).writeConcurrency(4).syncBehindBytes(16 * 1024).tempDirectory(tmp);
        ArrayFileOptions adopt = b.build();
        ArrayFileOptions copy = b.adoptSpillFiles(false).build();
        for (boolean compact : List.of(false, true)) {
            Path rootA = tmp.resolve("adopt-" + compact);
            Path rootC = tmp.resolve("copy-" + compact);
            AtomicInteger adoptions = new AtomicInteger();
            AtomicInteger failures = new AtomicInteger();
            try (LocalStorage la = LocalStorage.open(rootA, resources); LocalStorage lc = LocalStorage.open(rootC, resources)) {
                FileAdoption real = la.fileAdoption();
                // The first adoption fails after the footer was appended: the flush must stay retryable.
                Storage flaky = new ForwardingStorage(la) {
                    @Override
                    public FileAdoption fileAdoption() {
                        return new FileAdoption() {
                            @Override
                            public Path stagingDirectory(String key) {
                                return real.stagingDirectory(key);
                            }

                            @Override
                            public String stagedFilePrefix() {
                                return real.stagedFilePrefix();
                            }

                            @Override
                            public Mono<ObjectInfo> adopt(String key, Path staged, boolean ifAbsent) {
                                if (failures.getAndIncrement() == 0) {
                                    return Mono.error(new StorageException("injected: adoption of " + key + " failed", true));
                                }
                                adoptions.incrementAndGet();
                                return real.adopt(key, staged, ifAbsent);
                            }

                            @Override
                            public Mono<ObjectInfo> adoptIfMatch(String key, Path staged, String expectedVersion) {
                                adoptions.incrementAndGet();
                                return real.adoptIfMatch(key, staged, expectedVersion);
                            }
                        };
                    }
                };
                build(flaky, adopt, compact);
                build(lc, copy, compact);
                assertEquals(compact ? 2 : 1, adoptions.get(), "layers written by adoption");
                // The copies a compaction retains for readers are named by version and time: unique per run.
                List<ObjectInfo> objects = la.list("d/").filter(o -> !o.key().startsWith("d/_retained/")).collectList().block(TIMEOUT);
                assertEquals(lc.list("d/").map(ObjectInfo::key).filter(k -> !k.startsWith("d/_retained/")).collectList().block(TIMEOUT),
                        objects.stream().map(ObjectInfo::key).toList(), "the same objects");
                if (!compact) {
                    // (A compaction packs chunks as their source blocks arrive, so two runs may pack
                    // them differently; a flush's layer is deterministic.)
                    for (ObjectInfo o : objects) {
                        assertArrayEquals(Files.readAllBytes(rootC.resolve(o.key())), Files.readAllBytes(rootA.resolve(o.key())),
                                o.key() + " byte for byte");
                    }
                }
                assertTrue(Files.size(rootA.resolve(compact ? "d/x.af" : "d/x.1.af")) > 8 * 1024 * 4, "several blocks");
                assertEquals(List.of(), stagedFilesSettled(rootA.resolve("d")), "no staged file outlives its layer");
                for (ObjectInfo o : objects) {
                    assertEquals(Files.getPosixFilePermissions(rootC.resolve(o.key())),
                            Files.getPosixFilePermissions(rootA.resolve(o.key())), o.key() + ": the permissions of a put");
                }
                checkContent(la, adopt);
            }
        }
    }

    @Test
    void aStagedFileIsNeverTakenForAnObject() throws IOException {
        try (LocalStorage s = LocalStorage.open(tmp.resolve("staged"), resources)) {
            ArrayFileOptions o = ArrayFileOptions.builder(resources).blockTargetSize(4096).build();
            ArrayFile f = ArrayFile.create(s, "x.af", o).block(TIMEOUT);
            f.defineArray("v", ArraySpec.of(DType.FLOAT32, ROWS, COLS).withChunks(8, 64)).block(TIMEOUT);
            try (NdArray a = NdArray.wrap(DType.FLOAT32, new long[] {ROWS, COLS}, floats())) {
                f.writeArray("v", new long[] {0, 0}, a).block(TIMEOUT);
            }
            // Blocks spilled, not flushed: the spill file is in the store's directory, invisible.
            assertEquals(1, stagedFiles(s.root()).size(), "the pending layer's spill file");
            assertEquals(List.of("x.af"), s.list("").map(ObjectInfo::key).collectList().block(TIMEOUT));
            assertThrows(dev.atlas.error.InvalidArgumentException.class,
                    () -> s.head(stagedFiles(s.root()).get(0)).block(TIMEOUT), "not addressable as a key");
            f.close().block(TIMEOUT); // discards the pending layer
            assertEquals(List.of(), stagedFilesSettled(s.root()), "a discarded layer leaves no spill file");
        }
    }
}
