package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.runtime.EngineResources;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.testing.StorageContract;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;

/** {@link LocalStorage} passes the storage contract, keeps keys inside its root, and never shows a partial object. */
class LocalStorageTest extends StorageContract {
    static EngineResources resources;

    @TempDir
    Path dir;

    private LocalStorage store;

    @BeforeAll
    static void start() {
        resources = EngineResources.create(2, 4, PooledByteBufAllocator.DEFAULT);
    }

    @AfterAll
    static void stop() {
        resources.disposeLater().block(TIMEOUT);
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    @Override
    protected Storage storage() {
        store = LocalStorage.open(dir.resolve("root"), resources);
        return store;
    }

    @Test
    void badOpenSettingsAreInvalidArguments() {
        assertThrows(InvalidArgumentException.class,
                () -> LocalStorage.open(dir.resolve("r"), resources, java.time.Duration.ofSeconds(-1), 4));
        assertThrows(InvalidArgumentException.class,
                () -> LocalStorage.open(dir.resolve("r"), resources, LocalStorage.DEFAULT_IDLE, 0));
    }

    @Test
    void keysCannotLeaveTheRoot() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        for (String bad : List.of("../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "x\0y", "a\\b", "",
                LocalStorage.TEMP_PREFIX + "x", "a/" + "n".repeat(256))) {
            assertThrows(InvalidArgumentException.class, () -> s.read(bad, 0, 1).block(TIMEOUT), bad);
            assertThrows(InvalidArgumentException.class, () -> s.put(bad, body(new byte[1], 1)).block(TIMEOUT), bad);
        }
        // A symlinked directory pointing outside the root is refused for reads and writes.
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.write(outside.resolve("secret"), new byte[] {1, 2, 3});
        Files.createSymbolicLink(s.root().resolve("link"), outside);
        assertThrows(InvalidArgumentException.class, () -> s.read("link/secret", 0, 1).block(TIMEOUT));
        assertThrows(InvalidArgumentException.class, () -> s.put("link/new", body(new byte[1], 1)).block(TIMEOUT));
        assertEquals(List.of("secret"), Files.list(outside).map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void aFailedUploadLeavesNoObjectAndNoTempFile() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        s.put("a/obj", body(bytes(5000, 1), 1000)).block(TIMEOUT);
        Flux<ByteBuf> failing = body(bytes(5000, 2), 1000).concatWith(Flux.error(new IllegalStateException("boom")));
        assertThrows(IllegalStateException.class, () -> s.put("a/obj", failing).block(TIMEOUT));
        assertArrayEquals(bytes(5000, 1), readAll(s, "a/obj", 0, 5000), "the old object is untouched");
        assertThrows(IllegalStateException.class, () -> s.put("a/new", failing).block(TIMEOUT));
        assertEquals(List.of("a/obj"), s.list("a/").map(ObjectInfo::key).collectList().block(TIMEOUT));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (tempFiles(s.root()) > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, tempFiles(s.root()), "abandoned temp files are removed");
    }

    /** Temp files under {@code root}; the walk is retried when a file vanishes under it (the cleanup runs async). */
    private static long tempFiles(Path root) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try (Stream<Path> w = Files.walk(root)) {
                return w.filter(p -> p.getFileName().toString().startsWith(LocalStorage.TEMP_PREFIX)).count();
            } catch (java.io.UncheckedIOException e) {
                if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    @Test
    void aStagedFileIsAdoptedWithoutACopyAndConflictsLeaveItInPlace() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        dev.atlas.storage.FileAdoption a = s.fileAdoption();
        Path dir = a.stagingDirectory("s/t/x.af");
        assertEquals(s.root().resolve("s/t"), dir);
        Path staged = Files.createTempFile(dir, a.stagedFilePrefix(), ".tmp");
        Files.write(staged, new byte[] {1, 2, 3});
        assertEquals(List.of(), s.list("s/").map(ObjectInfo::key).collectList().block(TIMEOUT), "staged files are not listed");
        Object inode = Files.readAttributes(staged, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        ObjectInfo info = a.adopt("s/t/x.af", staged, true).block(TIMEOUT);
        assertEquals(3, info.size());
        assertArrayEquals(new byte[] {1, 2, 3}, readAll(s, "s/t/x.af", 0, 3));
        assertTrue(Files.notExists(staged), "the staged name is gone");
        assertEquals(inode, Files.readAttributes(s.root().resolve("s/t/x.af"),
                java.nio.file.attribute.BasicFileAttributes.class).fileKey(), "the same file, not a copy");
        // If absent, but present: typed conflict, the staged file untouched for a retry.
        Path second = Files.createTempFile(dir, a.stagedFilePrefix(), ".tmp");
        Files.write(second, new byte[] {9});
        assertThrows(dev.atlas.error.AlreadyExistsException.class, () -> a.adopt("s/t/x.af", second, true).block(TIMEOUT));
        assertTrue(Files.exists(second));
        assertArrayEquals(new byte[] {1, 2, 3}, readAll(s, "s/t/x.af", 0, 3));
        // Replacing: the object becomes the new file.
        a.adopt("s/t/x.af", second, false).block(TIMEOUT);
        assertArrayEquals(new byte[] {9}, readAll(s, "s/t/x.af", 0, 1));
        // Only files staged beside the object, under the prefix.
        Path elsewhere = Files.createTempFile(dir, "other-", ".tmp");
        assertThrows(InvalidArgumentException.class, () -> a.adopt("s/t/x.af", elsewhere, false).block(TIMEOUT));
        Path otherDir = Files.createTempFile(a.stagingDirectory("s/u/y.af"), a.stagedFilePrefix(), ".tmp");
        assertThrows(InvalidArgumentException.class, () -> a.adopt("s/t/x.af", otherDir, false).block(TIMEOUT));
        assertThrows(InvalidArgumentException.class, () -> a.stagingDirectory("../x.af"));
    }

    @Test
    void tempFilesOfDeadWritersAreInvisibleAndSwept() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        s.put("d/x", body(new byte[] {1}, 1)).block(TIMEOUT);
        Path stale = s.root().resolve("d").resolve(LocalStorage.TEMP_PREFIX + "dead");
        Files.write(stale, new byte[10]);
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.fromMillis(0));
        assertEquals(List.of("d/x"), s.list("d/").map(ObjectInfo::key).collectList().block(TIMEOUT));
        assertEquals(1, s.sweepTempFiles(java.time.Duration.ofMinutes(1)));
        assertTrue(Files.notExists(stale));
    }

    @Test
    void aReplacementByAnotherProcessIsSeenByTheNextRead() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        s.put("r/x", body(new byte[] {1, 1, 1, 1}, 4)).block(TIMEOUT);
        assertArrayEquals(new byte[] {1, 1, 1, 1}, readAll(s, "r/x", 0, 4)); // handle now cached
        // "another process": replace the file behind the store's back (new inode, like our own writes)
        Path tmp = s.root().resolve("r").resolve("other.tmp");
        Files.write(tmp, new byte[] {2, 2, 2, 2, 2, 2});
        Files.move(tmp, s.root().resolve("r/x"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertArrayEquals(new byte[] {2, 2, 2, 2, 2, 2}, readAll(s, "r/x", 0, 6));
    }

    @Test
    void ioErrorsAreTyped() {
        LocalStorage s = (LocalStorage) storage();
        s.put("e/file", body(new byte[] {1}, 1)).block(TIMEOUT);
        // a key below a regular file: the directory cannot exist
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> s.put("e/file/child", body(new byte[] {1}, 1)).block(TIMEOUT));
        assertTrue(e.getMessage().contains("e/file/child"), e.getMessage());
    }

    @Test
    void dotsInsideANameAreNotAParentReference() {
        LocalStorage s = (LocalStorage) storage();
        s.put("x/data..af", body(new byte[] {1}, 1)).block(TIMEOUT);
        assertEquals(List.of("x/data..af"), s.list("x/data.").map(ObjectInfo::key).collectList().block(TIMEOUT));
        assertThrows(InvalidArgumentException.class, () -> s.list("x/../").collectList().block(TIMEOUT));
    }

    /**
     * Files that come and go beside a key during a listing (other writers' temp files, renamed or
     * removed while the directory is read) never hide the keys that stay: a listing is never cut short.
     */
    @Test
    void filesVanishingDuringAListingNeverHideTheOthers() throws Exception {
        LocalStorage s = (LocalStorage) storage();
        for (String k : List.of("v/w.af", "v/w.1.af", "v/w.2.af", "v/w.stats")) {
            s.put(k, body(new byte[] {1}, 1)).block(TIMEOUT);
        }
        Path dir = s.root().resolve("v");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread churn = new Thread(() -> {
            int n = 0;
            try {
                while (!stop.get()) {
                    Path t = dir.resolve(LocalStorage.TEMP_PREFIX + (n++ % 64));
                    Files.write(t, new byte[] {2});
                    Path d = dir.resolve("w.gone" + (n % 8));
                    Files.move(t, d, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    Files.deleteIfExists(d);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        churn.start();
        try {
            for (int i = 0; i < 3000; i++) {
                List<String> keys = s.list("v/w.").map(ObjectInfo::key).collectList().block(TIMEOUT);
                assertTrue(keys.containsAll(List.of("v/w.1.af", "v/w.2.af", "v/w.af", "v/w.stats")),
                        "listing " + i + " lost a key that never moved: " + keys);
            }
        } finally {
            stop.set(true);
            churn.join();
        }
    }

    // ------------------------------------------------------------------ versions (issue 22)

    /** Replaces the file of {@code key} behind the store's back, as another process does (new inode). */
    private static void replaceExternally(LocalStorage s, String key, byte[] bytes) throws IOException {
        Path target = s.root().resolve(key);
        Path tmp = target.resolveSibling("other-process.tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * A handle opened on the old file still holds exactly the old version after another process
     * replaced the path: a read naming it is served from there; once no handle of it is left,
     * the read names a version the path no longer has and fails typed.
     */
    @Test
    void anOpenHandleServesItsVersionAfterAnotherProcessReplacedThePath() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        byte[] a = bytes(100_000, 31);
        byte[] b = bytes(100_000, 32);
        String v1 = s.put("o/x", body(a, 8192)).block(TIMEOUT).version();
        assertArrayEquals(a, readAll(s, "o/x", 0, a.length, v1)); // handle of v1 cached
        replaceExternally(s, "o/x", b);
        String v2 = s.head("o/x").block(TIMEOUT).version();
        assertTrue(!v1.equals(v2));
        assertArrayEquals(a, readAll(s, "o/x", 0, a.length, v1), "the open file of v1 is v1");
        assertArrayEquals(java.util.Arrays.copyOfRange(a, 65_536, 65_540), readAll(s, "o/x", 65_536, 4, v1));
        // An unversioned read moves the cache to the new file; v1 is then gone for good.
        assertArrayEquals(b, readAll(s, "o/x", 0, b.length));
        assertThrows(dev.atlas.error.ObjectChangedException.class, () -> readAll(s, "o/x", 0, 1, v1));
        assertArrayEquals(b, readAll(s, "o/x", 0, b.length, v2));
        // A store that never opened v1 cannot read it.
        try (LocalStorage fresh = LocalStorage.open(s.root(), resources)) {
            assertThrows(dev.atlas.error.ObjectChangedException.class, () -> readAll(fresh, "o/x", 0, 1, v1));
            replaceExternally(s, "o/x", a);
            dev.atlas.storage.StoredObject got = fresh.getIfChanged("o/x", v2, 1 << 20).block(TIMEOUT);
            assertEquals(fresh.head("o/x").block(TIMEOUT).version(), got.info().version());
            assertArrayEquals(a, bytesOf(got.content()));
        }
        // Deleted by another process: an open handle of v2 still reads v2; without one, not found.
        Files.delete(s.root().resolve("o/x"));
        assertArrayEquals(b, readAll(s, "o/x", 0, b.length, v2));
        try (LocalStorage fresh = LocalStorage.open(s.root(), resources)) {
            assertThrows(dev.atlas.error.NotFoundException.class, () -> readAll(fresh, "o/x", 0, 1, v2));
        }
    }

    /** Versions and modification times are the file's, the same through every call. */
    @Test
    void versionsAndTimesAreTheFilesOwn() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        ObjectInfo put = s.put("m/x", body(bytes(10, 33), 10)).block(TIMEOUT);
        java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(s.root().resolve("m/x"),
                java.nio.file.attribute.BasicFileAttributes.class);
        assertEquals(a.lastModifiedTime().toInstant(), put.modified());
        assertTrue(put.version().startsWith(a.fileKey() + "@"), put.version());
        assertEquals(put, s.head("m/x").block(TIMEOUT));
        assertEquals(List.of(put), s.list("m/").collectList().block(TIMEOUT));
        dev.atlas.storage.StoredObject got = s.getIfChanged("m/x", null, 100).block(TIMEOUT);
        bytesOf(got.content());
        assertEquals(put, got.info());
        ObjectInfo swapped = s.putIfMatch("m/x", put.version(), body(bytes(10, 34), 10)).block(TIMEOUT);
        assertEquals(swapped, s.head("m/x").block(TIMEOUT));
        // Same size, written within the same clock tick: still another version.
        assertTrue(!put.version().equals(swapped.version()));
    }

    /**
     * The lock file of a compare-and-swap key is no object, no valid key, and survives sweeps and
     * the object's deletion (two processes must never lock two different files).
     */
    @Test
    void lockFilesAreInvisibleAndNeverRemoved() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        String v = s.put("l/reg.json", body(new byte[] {1}, 1)).block(TIMEOUT).version();
        s.putIfMatch("l/reg.json", v, body(new byte[] {2}, 1)).block(TIMEOUT);
        Path lock = s.root().resolve("l").resolve(LocalStorage.LOCK_PREFIX + "reg.json");
        assertTrue(Files.exists(lock));
        assertEquals(List.of("l/reg.json"), s.list("l/").map(ObjectInfo::key).collectList().block(TIMEOUT));
        assertEquals(List.of("l/reg.json"), s.list("").map(ObjectInfo::key).collectList().block(TIMEOUT));
        assertThrows(InvalidArgumentException.class, () -> s.head("l/" + LocalStorage.LOCK_PREFIX + "reg.json").block(TIMEOUT));
        assertThrows(InvalidArgumentException.class,
                () -> s.put("l/" + LocalStorage.LOCK_PREFIX + "x", body(new byte[] {1}, 1)).block(TIMEOUT));
        Files.setLastModifiedTime(lock, java.nio.file.attribute.FileTime.fromMillis(0));
        assertEquals(0, s.sweepTempFiles(java.time.Duration.ZERO));
        s.delete("l/reg.json").block(TIMEOUT);
        assertTrue(Files.exists(lock), "the lock file outlives its object");
        // A name too long to carry the prefix locks a hashed name.
        String longKey = "l/" + "n".repeat(250);
        String lv = s.put(longKey, body(new byte[] {1}, 1)).block(TIMEOUT).version();
        s.putIfMatch(longKey, lv, body(new byte[] {3}, 1)).block(TIMEOUT);
        assertArrayEquals(new byte[] {3}, readAll(s, longKey, 0, 1));
        assertEquals(List.of(longKey), s.list("l/").map(ObjectInfo::key).collectList().block(TIMEOUT));
    }

    @Test
    void adoptIfMatchReplacesOnlyTheNamedVersionAndKeepsTheStagedFileOtherwise() throws IOException {
        LocalStorage s = (LocalStorage) storage();
        dev.atlas.storage.FileAdoption a = s.fileAdoption();
        ObjectInfo v1 = s.put("c/x.af", body(new byte[] {1, 1}, 2)).block(TIMEOUT);
        Path staged = Files.createTempFile(a.stagingDirectory("c/x.af"), a.stagedFilePrefix(), ".tmp");
        Files.write(staged, new byte[] {2, 2, 2});
        Object inode = Files.readAttributes(staged, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        ObjectInfo v2 = a.adoptIfMatch("c/x.af", staged, v1.version()).block(TIMEOUT);
        assertEquals(v2, s.head("c/x.af").block(TIMEOUT));
        assertTrue(Files.notExists(staged));
        assertEquals(inode, Files.readAttributes(s.root().resolve("c/x.af"),
                java.nio.file.attribute.BasicFileAttributes.class).fileKey(), "adopted, not copied");
        Path stale = Files.createTempFile(a.stagingDirectory("c/x.af"), a.stagedFilePrefix(), ".tmp");
        Files.write(stale, new byte[] {3});
        assertThrows(dev.atlas.error.ObjectChangedException.class,
                () -> a.adoptIfMatch("c/x.af", stale, v1.version()).block(TIMEOUT));
        assertTrue(Files.exists(stale), "a lost compare leaves the staged file for the caller");
        assertArrayEquals(new byte[] {2, 2, 2}, readAll(s, "c/x.af", 0, 3));
        assertThrows(dev.atlas.error.ObjectChangedException.class,
                () -> a.adoptIfMatch("c/absent.af", stale, v2.version()).block(TIMEOUT));
        assertThrows(InvalidArgumentException.class, () -> a.adoptIfMatch("c/x.af", stale, null).block(TIMEOUT));
        assertTrue(Files.exists(stale));
    }

    /**
     * Two stores on one directory in one JVM (FileLock alone would throw
     * OverlappingFileLockException here): of 2 x 8 concurrent swaps of one version, one wins.
     */
    @Test
    void twoStoresInOneJvmShareTheCompareAndSwap() {
        LocalStorage s = (LocalStorage) storage();
        try (LocalStorage other = LocalStorage.open(s.root(), resources)) {
            String v = s.put("j/reg", body(new byte[] {0}, 1)).block(TIMEOUT).version();
            java.util.concurrent.atomic.AtomicInteger won = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger lost = new java.util.concurrent.atomic.AtomicInteger();
            Flux.range(0, 16)
                    .flatMap(i -> (i % 2 == 0 ? s : other).putIfMatch("j/reg", v, body(new byte[] {1}, 1))
                            .doOnNext(x -> won.incrementAndGet())
                            .onErrorResume(dev.atlas.error.ObjectChangedException.class, e -> {
                                lost.incrementAndGet();
                                return reactor.core.publisher.Mono.empty();
                            }), 16)
                    .blockLast(TIMEOUT);
            assertEquals(1, won.get());
            assertEquals(15, lost.get());
        }
    }
}
