package dev.atlas.storage.local;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Scheduler;
import dev.atlas.runtime.EngineResources;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.RangeNotSatisfiableException;
import dev.atlas.error.StorageException;
import dev.atlas.internal.Offload;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.storage.FileAdoption;
import dev.atlas.storage.Keys;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.storage.StoredObject;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link Storage} over a directory: key {@code a/b/c.af} is the file {@code root/a/b/c.af}.
 *
 * <ul>
 *   <li><b>Versions</b> are {@code fileKey@mtime#size} of the object's file, spelled the same by
 *       every call; each write stamps its file with its own modification time.</li>
 *   <li><b>Reads</b> are positional reads into pooled direct buffers on the engine's I/O
 *       scheduler, through cached open file handles (closed after {@link #DEFAULT_IDLE} without
 *       use, or as soon as the object is replaced or deleted; each read checks the file's
 *       identity, so a replacement by another process is seen at once). A handle knows the
 *       version of the file it has open (the path's version is the same before and after the
 *       open), so a version-checked read is served by a handle of that version, even of a file
 *       since replaced, and otherwise fails with {@link ObjectChangedException}.</li>
 *   <li><b>Writes</b> are atomic and durable: the body streams into a hidden temp file in the
 *       target's directory, which is fsynced, renamed over the target, and the directory fsynced.
 *       Create-if-absent links the temp file to the target name ({@code link(2)} fails if the name
 *       exists), which is atomic across processes. A crash leaves at most a hidden temp file, never
 *       a partial object; temp files are invisible to {@link #list} and removed by
 *       {@link #sweepTempFiles}. Compare-and-swap ({@link #putIfMatch},
 *       {@link FileAdoption#adoptIfMatch}) compares and renames under an exclusive lock of a
 *       per-key lock file, held by one process at a time; lock files are never listed or removed.</li>
 *   <li><b>Keys</b> cannot leave the root: {@code ..}, absolute keys, NUL, backslashes, reserved
 *       temp and lock names and path segments longer than 255 bytes are refused, and so is any key whose
 *       directory resolves (through symlinks) outside the root.</li>
 * </ul>
 * All blocking calls run on the I/O scheduler of the {@link EngineResources}; nothing blocks the
 * caller's thread.
 */
public final class LocalStorage implements Storage, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalStorage.class);
    /** Idle time after which a cached file handle is closed: long enough for a burst of block reads. */
    public static final Duration DEFAULT_IDLE = Duration.ofSeconds(30);
    /** Open handles kept at most: far below a default ulimit of 1024+ with room for the rest of the process. */
    public static final int DEFAULT_MAX_HANDLES = 256;
    /** Prefix of in-flight temp files; keys may not use it. */
    static final String TEMP_PREFIX = ".atlas-tmp-";
    /**
     * Prefix of the lock files of compare-and-swap writes ({@link #putIfMatch}); keys may not use
     * it. Never swept or deleted: two processes must always lock the same file.
     */
    static final String LOCK_PREFIX = ".atlas-lock-";
    /**
     * JVM-wide locks striped by lock file: a {@link FileLock} excludes other processes only, and
     * closing any channel of a locked file drops the process's lock, so every open, lock and close
     * of one lock file happens under one of these (also across {@code LocalStorage} instances on
     * the same directory).
     */
    private static final ReentrantLock[] SWAP_LOCKS = new ReentrantLock[64];

    static {
        for (int i = 0; i < SWAP_LOCKS.length; i++) {
            SWAP_LOCKS[i] = new ReentrantLock();
        }
    }

    private final Path root;
    private final Path rootReal;
    private final reactor.core.scheduler.Scheduler io;
    private final ByteBufAllocator alloc;
    private final Cache<String, Handle> handles;

    private LocalStorage(Path root, Path rootReal, EngineResources resources, Duration idle, int maxHandles) {
        this.root = root;
        this.rootReal = rootReal;
        this.io = resources.ioScheduler();
        this.alloc = resources.allocator();
        this.handles = Caffeine.newBuilder()
                .maximumSize(maxHandles)
                .expireAfterAccess(idle)
                .scheduler(Scheduler.systemScheduler())
                .executor(Runnable::run)
                .<String, Handle>removalListener((k, h, cause) -> {
                    if (h != null) {
                        h.release();
                    }
                })
                .build();
    }

    /** A store rooted at {@code root} (created if absent), with default handle caching. */
    public static LocalStorage open(Path root, EngineResources resources) {
        return open(root, resources, DEFAULT_IDLE, DEFAULT_MAX_HANDLES);
    }

    /**
     * A store rooted at {@code root} (created if absent), closing a cached read handle after
     * {@code idle} without use and keeping at most {@code maxHandles}. Blocking: call it at startup,
     * not on an event loop.
     *
     * @throws InvalidArgumentException for a negative {@code idle} or fewer than one handle
     * @throws StorageException if the directory cannot be created or resolved
     */
    public static LocalStorage open(Path root, EngineResources resources, Duration idle, int maxHandles) {
        Objects.requireNonNull(resources, "resources");
        if (maxHandles < 1) {
            throw new InvalidArgumentException("maxHandles must be at least 1");
        }
        if (idle == null || idle.isNegative()) {
            throw new InvalidArgumentException("idle must be zero or positive, not " + idle);
        }
        try {
            Path abs = root.toAbsolutePath().normalize();
            Files.createDirectories(abs);
            return new LocalStorage(abs, abs.toRealPath(), resources, idle, maxHandles);
        } catch (IOException e) {
            throw new StorageException("cannot open store directory " + root + ": " + e.getMessage(), false, e);
        }
    }

    /** The root directory. */
    public Path root() {
        return root;
    }

    // ------------------------------------------------------------------ keys

    private Path path(String key) {
        Keys.check(key);
        for (String seg : key.split("/")) {
            if (seg.startsWith(TEMP_PREFIX) || seg.startsWith(LOCK_PREFIX)) {
                throw new InvalidArgumentException("object key '" + key + "' uses a reserved prefix ("
                        + TEMP_PREFIX + ", " + LOCK_PREFIX + ")");
            }
            if (seg.getBytes(StandardCharsets.UTF_8).length > 255) {
                throw new InvalidArgumentException("object key '" + key + "' has a segment longer than 255 bytes");
            }
        }
        Path p = root.resolve(key).normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            throw new InvalidArgumentException("object key '" + key + "' leaves the store root");
        }
        return p;
    }

    /** Fails if {@code dir} (existing) resolves outside the root through symlinks. Blocking. */
    private void checkInside(String key, Path dir) throws IOException {
        if (!dir.toRealPath().startsWith(rootReal)) {
            throw new InvalidArgumentException("object key '" + key + "' resolves outside the store root");
        }
    }

    // ------------------------------------------------------------------ reads

    /**
     * An open read handle: one reference for the cache, one per read in flight. {@code info} is
     * the version of the file this channel has open (its identity was checked on both sides of the
     * open), whatever is at the path now.
     */
    private static final class Handle extends io.netty.util.AbstractReferenceCounted {
        final FileChannel channel;
        final ObjectInfo info;

        Handle(FileChannel channel, ObjectInfo info) {
            this.channel = channel;
            this.info = info;
        }

        boolean tryRetain() {
            try {
                retain();
                return true;
            } catch (IllegalReferenceCountException gone) {
                return false;
            }
        }

        @Override
        protected void deallocate() {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.debug("closing a read handle failed: {}", e.getMessage());
            }
        }

        @Override
        public io.netty.util.ReferenceCounted touch(Object hint) {
            return this;
        }
    }

    /** Opens of a path replaced faster than it can be opened, before an unversioned read gives up. */
    private static final int OPEN_ATTEMPTS = 4;

    /**
     * A retained handle on the file of {@code key}: with {@code version} null the file stored now,
     * otherwise exactly that version (a cached handle of it, even if the path has been replaced
     * since, or the file at the path if it is that version). Blocking.
     *
     * @throws NoSuchFileException if no object is stored (and no handle of the version is cached)
     * @throws ObjectChangedException if the object stored is another version
     */
    private Handle handle(String key, Path p, String version) throws IOException {
        Handle cached = handles.getIfPresent(key);
        if (version != null && cached != null && cached.info.version().equals(version) && cached.tryRetain()) {
            return cached; // an open file of the old inode still holds exactly that version
        }
        for (int attempt = 1; ; attempt++) {
            BasicFileAttributes before = stat(p);
            if (!before.isRegularFile()) {
                throw new NoSuchFileException(p.toString());
            }
            String now = version(before);
            if (version != null && !version.equals(now)) {
                throw changed(key, version, now);
            }
            if (cached != null && cached.info.version().equals(now) && cached.tryRetain()) {
                return cached;
            }
            checkInside(key, p.getParent());
            FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            Handle opened = null;
            try {
                // Same version on both sides of the open: the channel has that file open (a
                // replacement in between would show as another identity afterwards).
                BasicFileAttributes after = stat(p);
                if (after.isRegularFile() && version(after).equals(now)) {
                    opened = new Handle(ch, info(key, after));
                }
            } finally {
                if (opened == null) {
                    ch.close();
                }
            }
            if (opened != null) {
                opened.retain();
                handles.put(key, opened);
                return opened;
            }
            if (version != null) {
                throw changed(key, version, "another (replaced while it was opened)");
            }
            if (attempt >= OPEN_ATTEMPTS) {
                throw new StorageException("'" + key + "' was replaced during each of " + OPEN_ATTEMPTS
                        + " attempts to open it", true);
            }
            cached = handles.getIfPresent(key);
        }
    }

    private static ObjectChangedException changed(String key, String expected, String found) {
        return new ObjectChangedException(key, "object '" + key + "' is version " + found + ", not " + expected);
    }

    private static final int PAGE = 4096;
    /** Reads from this size on are page-aligned (below it the cliff costs less than the slack). */
    private static final int ALIGN_FROM = 64 * 1024;

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length) {
        return read(key, offset, length, null);
    }

    /**
     * {@inheritDoc} The version is the identity of a file: a cached open handle of that file
     * serves it even after the path was replaced; otherwise the file at the path is opened and
     * must be that version. {@code version} null reads whatever is stored now.
     */
    @Override
    public Mono<ByteBuf> read(String key, long offset, long length, String version) {
        return Mono.defer(() -> {
            Path p = path(key);
            Keys.checkRange(key, offset, length);
            return Offload.run(io, null, none -> {
                try {
                    Handle h = handle(key, p, version);
                    try {
                        return readRange(key, h, offset, length);
                    } finally {
                        h.release();
                    }
                } catch (IOException e) {
                    throw mapped(key, e);
                }
            });
        });
    }

    /**
     * Bytes {@code [offset, offset + length)} of the open file {@code h} in a new pooled direct
     * buffer that the caller owns and must release. Blocking.
     */
    private ByteBuf readRange(String key, Handle h, long offset, long length) throws IOException {
        long size = h.info.size();
        if (offset + length > size) {
            throw new RangeNotSatisfiableException(key, offset, length, size);
        }
        int n = (int) length;
        // The kernel's copy from the page cache to user space runs at about
        // 2 GB/s instead of 8-10 GB/s (measured on FileChannel reads) when
        // (destination address - file position) mod 4096 lies in [1, 31], and
        // Netty's pooled direct buffers sit at 16 mod 4096, so a read of a
        // page-aligned file position into them always hits that slow case. Large
        // reads go into a buffer with a page of slack, started where the two align.
        boolean align = n >= ALIGN_FROM;
        int cap = align ? n + PAGE : n;
        ByteBuf buf = alloc.directBuffer(cap, cap);
        try {
            int pad = align && buf.hasMemoryAddress()
                    ? (int) Math.floorMod(offset - buf.memoryAddress(), (long) PAGE) : 0;
            ByteBuffer dst = buf.nioBuffer(pad, n);
            long at = offset;
            while (dst.hasRemaining()) {
                int r = h.channel.read(dst, at);
                if (r < 0) {
                    throw new StorageException("'" + key + "' ended at " + at + " while reading", true);
                }
                at += r;
            }
            if (!align) {
                buf.writerIndex(n);
                return buf;
            }
            ByteBuf out = buf.retainedSlice(pad, n);
            buf.release();
            return out;
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw e;
        }
    }

    /**
     * {@inheritDoc} One stat answers "unchanged"; otherwise the whole file is read through one
     * open handle and reported with that handle's version.
     */
    @Override
    public Mono<StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
        return Mono.defer(() -> {
            Path p = path(key);
            AtomicReference<ObjectInfo> readAt = new AtomicReference<>();
            return Offload.run(io, null, none -> {
                try {
                    BasicFileAttributes a = stat(p);
                    if (!a.isRegularFile()) {
                        throw new NoSuchFileException(p.toString());
                    }
                    if (version(a).equals(knownVersion)) {
                        return null;
                    }
                    checkLimit(key, a.size(), maxBytes);
                    Handle h = handle(key, p, null);
                    try {
                        if (h.info.version().equals(knownVersion)) {
                            return null;
                        }
                        checkLimit(key, h.info.size(), maxBytes);
                        Keys.checkRange(key, 0, h.info.size());
                        ByteBuf content = readRange(key, h, 0, h.info.size());
                        readAt.set(h.info);
                        return content;
                    } finally {
                        h.release();
                    }
                } catch (IOException e) {
                    throw mapped(key, e);
                }
            }).map(content -> new StoredObject(readAt.get(), content));
        });
    }

    private static void checkLimit(String key, long size, long maxBytes) {
        if (size > maxBytes) {
            throw new InvalidArgumentException("object '" + key + "' of " + size + " bytes is above the limit of "
                    + maxBytes);
        }
    }

    /** {@code true}: a range read is a copy (memory) or a positional read (page cache). */
    @Override
    public boolean cheapRangeReads() {
        return true;
    }

    /** {@link dev.atlas.storage.StorageKind#LOCAL}. */
    @Override
    public dev.atlas.storage.StorageKind kind() {
        return dev.atlas.storage.StorageKind.LOCAL;
    }

    @Override
    public Mono<ObjectInfo> head(String key) {
        return Mono.defer(() -> {
            Path p = path(key);
            return Mono.fromCallable(() -> {
                try {
                    BasicFileAttributes a = stat(p);
                    if (!a.isRegularFile()) {
                        throw new NotFoundException("no object '" + key + "'");
                    }
                    return info(key, a);
                } catch (IOException e) {
                    throw mapped(key, e);
                }
            }).subscribeOn(io);
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>A hard link of the file, no bytes copied: the link is made under a temporary name, its
     * identity compared with {@code from}'s version (so a file that replaced the path meanwhile is
     * never taken for it), then renamed over {@code toKey}. The copy therefore has the same version
     * as {@code from}. A filesystem without hard links gets the streamed copy of the default.
     */
    @Override
    public Mono<ObjectInfo> copy(ObjectInfo from, String toKey) {
        return Mono.defer(() -> {
            Path src = path(from.key());
            Path dst = path(toKey);
            return Mono.fromCallable(() -> {
                Path dir = dst.getParent();
                try {
                    prepareDirectory(toKey, dir);
                    Path temp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
                    try {
                        Files.createLink(temp, src);
                    } catch (NoSuchFileException e) {
                        throw new NotFoundException("no object '" + from.key() + "'");
                    } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
                        return null; // no hard links here: the default streams the bytes
                    }
                    try {
                        BasicFileAttributes a = stat(temp);
                        String now = version(a);
                        if (from.version() != null && !from.version().equals(now)) {
                            throw changed(from.key(), from.version(), now);
                        }
                        // Two links of one file: rename(2) succeeds and leaves the temp name, removed below.
                        Files.move(temp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                        return info(toKey, a);
                    } finally {
                        Files.deleteIfExists(temp);
                    }
                } catch (IOException e) {
                    throw mapped(toKey, e);
                }
            }).subscribeOn(io).switchIfEmpty(Mono.defer(() -> Storage.super.copy(from, toKey)));
        });
    }

    /** The attributes of {@code p} itself (a symbolic link is not an object). Blocking. */
    private static BasicFileAttributes stat(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The one spelling of a version, {@code fileKey@mtime#size}: a replacement is always a new
     * file (temp + rename), and every write stamps its file with a modification time of its own
     * (see {@link #stamp}), so a reused inode number does not bring an old version back.
     */
    private static String version(BasicFileAttributes a) {
        return a.fileKey() + "@" + a.lastModifiedTime().toInstant() + "#" + a.size();
    }

    private static ObjectInfo info(String key, BasicFileAttributes a) {
        return new ObjectInfo(key, a.size(), version(a), a.lastModifiedTime().toInstant());
    }

    @Override
    public Flux<ObjectInfo> list(String prefix) {
        return Mono.fromCallable(() -> listNow(prefix)).subscribeOn(io).flatMapIterable(l -> l);
    }

    private List<ObjectInfo> listNow(String prefix) throws IOException {
        if (prefix.indexOf('\0') >= 0 || prefix.startsWith("/") || prefix.indexOf('\\') >= 0
                || java.util.Arrays.asList(prefix.split("/", -1)).contains("..")) {
            throw new InvalidArgumentException("invalid listing prefix '" + prefix + "'");
        }
        int slash = prefix.lastIndexOf('/');
        Path dir = slash < 0 ? root : root.resolve(prefix.substring(0, slash)).normalize();
        if (!dir.startsWith(root) || !Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<ObjectInfo> out = new ArrayList<>();
        // Recursive: a prefix matches keys in subdirectories of matching names too.
        listInto(dir, prefix, out);
        out.sort(Comparator.comparing(ObjectInfo::key));
        return out;
    }

    /**
     * Adds the regular files under {@code dir} whose keys start with {@code prefix}, descending only
     * into directories whose keys could still match. The walk skips an entry or directory that
     * vanishes while it runs (another writer's temp file renamed or removed) and goes on:
     * {@code Files.walk} ends at the first such entry, which cut listings short under concurrent
     * writers.
     */
    private void listInto(Path dir, String prefix, List<ObjectInfo> out) throws IOException {
        walkSkippingVanished(dir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) {
                String key = keyOf(d);
                return d.equals(dir) || key.startsWith(prefix) || prefix.startsWith(key + "/")
                        ? java.nio.file.FileVisitResult.CONTINUE : java.nio.file.FileVisitResult.SKIP_SUBTREE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path p, BasicFileAttributes a) {
                String name = p.getFileName().toString();
                if (!name.startsWith(TEMP_PREFIX) && !name.startsWith(LOCK_PREFIX) && a.isRegularFile()) {
                    String key = keyOf(p);
                    if (key.startsWith(prefix)) {
                        out.add(info(key, a));
                    }
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    private String keyOf(Path p) {
        return root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    }

    /**
     * {@link Files#walkFileTree} (no links followed) where an entry or directory that is gone by
     * the time it is looked at is skipped; any other I/O error ends the walk.
     */
    private static void walkSkippingVanished(Path start, java.nio.file.SimpleFileVisitor<Path> visitor) throws IOException {
        Files.walkFileTree(start, new java.nio.file.FileVisitor<Path>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a) throws IOException {
                return visitor.preVisitDirectory(d, a);
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path p, BasicFileAttributes a) throws IOException {
                return visitor.visitFile(p, a);
            }

            @Override
            public java.nio.file.FileVisitResult visitFileFailed(Path p, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return java.nio.file.FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException)) {
                    throw e;
                }
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    // ------------------------------------------------------------------ writes

    /** One upload in progress: its temp file and channel. */
    private static final class Upload {
        final Path temp;
        final FileChannel channel;
        long position;
        final AtomicBoolean done = new AtomicBoolean();

        Upload(Path temp, FileChannel channel) {
            this.temp = temp;
            this.channel = channel;
        }
    }

    @Override
    public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
        return write(key, body, false, null);
    }

    @Override
    public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
        return write(key, body, true, null);
    }

    /**
     * {@inheritDoc} The body is written to a temp file first; only the comparison and the rename
     * run under an exclusive lock of the key's lock file ({@code .atlas-lock-<name>} beside the
     * object), which other processes on this directory take too. Plain {@link #put},
     * {@link #delete} and {@link FileAdoption#adopt} do not take it: writers of a key updated by
     * compare-and-swap should create it with {@link #putIfAbsent} and change it only with this.
     */
    @Override
    public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
        if (expectedVersion == null) {
            return Mono.error(new InvalidArgumentException("putIfMatch of '" + key + "' names no version"));
        }
        return write(key, body, false, expectedVersion);
    }

    /** A write: create-if-absent, replace-if-version {@code ifMatch} (non-null), or replace. */
    private Mono<ObjectInfo> write(String key, Publisher<ByteBuf> body, boolean ifAbsent, String ifMatch) {
        return Mono.defer(() -> {
            Path target;
            try {
                target = path(key);
            } catch (RuntimeException e) {
                return Mono.error(e); // the body is never subscribed, so it never made a buffer
            }
            Path dir = target.getParent();
            return Mono.fromCallable(() -> {
                try {
                    if (ifMatch != null) {
                        checkVersion(key, target, ifMatch); // early answer; decided again under the lock
                    }
                    prepareDirectory(key, dir);
                    if (ifAbsent && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                        throw new AlreadyExistsException("object '" + key + "' already exists");
                    }
                    Path temp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
                    FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    return new Upload(temp, ch);
                } catch (IOException e) {
                    throw mapped(key, e);
                }
            }).subscribeOn(io).flatMap(up -> Flux.from(body)
                    .concatMap(buf -> Offload.run(io, buf, b -> {
                        try {
                            ByteBuffer src = b.nioBuffer();
                            while (src.hasRemaining()) {
                                up.position += up.channel.write(src, up.position);
                            }
                            return Boolean.TRUE;
                        } catch (IOException e) {
                            throw mapped(key, e);
                        }
                    }), 1)
                    .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease)
                    .then(Mono.fromCallable(() -> commit(key, target, up, ifAbsent, ifMatch)).subscribeOn(io))
                    .doFinally(sig -> {
                        if (!up.done.get()) {
                            io.schedule(() -> abandon(up));
                        }
                    }));
        });
    }

    /** Creates the directory of {@code key}'s object if needed and checks it is inside the root. Blocking. */
    private void prepareDirectory(String key, Path dir) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new InvalidArgumentException("object key '" + key + "' needs a directory where an object is: "
                    + root.relativize(Path.of(e.getFile())));
        }
        checkInside(key, dir);
    }

    /** Stamp and fsync the temp file, move it into place, fsync the directory. Blocking. */
    private ObjectInfo commit(String key, Path target, Upload up, boolean ifAbsent, String ifMatch) {
        try {
            stamp(up.temp);
            up.channel.force(true);
            up.channel.close();
            ObjectInfo info = ifMatch != null
                    ? swapIfMatch(key, target, up.temp, ifMatch)
                    : install(key, target, up.temp, ifAbsent);
            up.done.set(true);
            return info;
        } catch (IOException e) {
            throw mapped(key, e);
        }
    }

    /**
     * Sets the modification time of a file about to become an object to now, with the
     * sub-millisecond digits drawn at random. Versions include the mtime, and a filesystem with a
     * coarse clock (ext4 ticks every few milliseconds) could otherwise give a new file on a reused
     * inode number the same size and mtime as an object it replaced moments ago: the same version
     * string for different bytes, which a compare-and-swap would take for the old one. Blocking.
     */
    private static void stamp(Path file) throws IOException {
        long nanos = System.currentTimeMillis() * 1_000_000L + ThreadLocalRandom.current().nextInt(1_000_000);
        Files.setLastModifiedTime(file, FileTime.from(nanos, TimeUnit.NANOSECONDS));
    }

    /**
     * Moves the stamped and synced file {@code temp} into place as {@code key} (with
     * {@code ifAbsent}: links it, failing if the key exists, then drops the temp name) and fsyncs
     * the directory. Blocking.
     *
     * @return the object as installed: a rename or link keeps the file's identity, mtime and size,
     *     so its version is read from the file before it moves (another writer may already have
     *     replaced the path by the time it could be read there)
     */
    private ObjectInfo install(String key, Path target, Path temp, boolean ifAbsent) throws IOException {
        ObjectInfo info = info(key, stat(temp));
        if (ifAbsent) {
            try {
                Files.createLink(target, temp);
            } catch (FileAlreadyExistsException e) {
                throw new AlreadyExistsException("object '" + key + "' already exists");
            }
            Files.delete(temp);
        } else {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        handles.invalidate(key);
        syncDirectory(target.getParent());
        return info;
    }

    /**
     * {@link #install} replacing {@code key} only if it is version {@code expected}: compare and
     * rename under the key's lock, in this JVM ({@link #SWAP_LOCKS}) and across processes (an
     * exclusive {@link FileLock} on the lock file). Blocking.
     *
     * @throws ObjectChangedException (moving nothing) if another version or none is stored
     */
    private ObjectInfo swapIfMatch(String key, Path target, Path file, String expected) throws IOException {
        ObjectInfo info = info(key, stat(file));
        Path dir = target.getParent();
        Path lockFile = dir.toRealPath().resolve(lockName(target.getFileName().toString()));
        ReentrantLock inJvm = SWAP_LOCKS[Math.floorMod(lockFile.hashCode(), SWAP_LOCKS.length)];
        inJvm.lock();
        try (FileChannel lc = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock held = lc.lock()) {
            checkVersion(key, target, expected);
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            handles.invalidate(key);
            syncDirectory(dir);
        } finally {
            inJvm.unlock();
        }
        return info;
    }

    /** Fails with {@link ObjectChangedException} unless {@code target} is version {@code expected}. Blocking. */
    private static void checkVersion(String key, Path target, String expected) throws IOException {
        String now;
        try {
            BasicFileAttributes a = stat(target);
            now = a.isRegularFile() ? version(a) : null;
        } catch (NoSuchFileException | NotDirectoryException e) {
            now = null;
        }
        if (!expected.equals(now)) {
            throw changed(key, expected, now == null ? "none (no object is stored)" : now);
        }
    }

    /** The lock file name of object file {@code name}: the name itself when it fits, else its SHA-256. */
    private static String lockName(String name) {
        if (LOCK_PREFIX.length() + name.getBytes(StandardCharsets.UTF_8).length <= 255) {
            return LOCK_PREFIX + name;
        }
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return LOCK_PREFIX + java.util.HexFormat.of().formatHex(d);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new StorageException("SHA-256 is not available: " + e.getMessage(), false, e);
        }
    }

    /**
     * Adoption of finished local files (an engine's layer spill file, footer appended): staged
     * files live beside their object under the temp prefix, and adopting one is the commit step of
     * a put without the copy.
     */
    @Override
    public FileAdoption fileAdoption() {
        return adoption;
    }

    private final FileAdoption adoption = new FileAdoption() {
        @Override
        public Path stagingDirectory(String key) {
            Path dir = path(key).getParent();
            try {
                prepareDirectory(key, dir);
                return dir;
            } catch (IOException e) {
                throw mapped(key, e);
            }
        }

        @Override
        public String stagedFilePrefix() {
            return TEMP_PREFIX;
        }

        @Override
        public Mono<ObjectInfo> adopt(String key, Path staged, boolean ifAbsent) {
            return adoptStaged(key, staged, ifAbsent, null);
        }

        /** As {@link LocalStorage#putIfMatch}, with the same lock; the staged file stays if it fails. */
        @Override
        public Mono<ObjectInfo> adoptIfMatch(String key, Path staged, String expectedVersion) {
            if (expectedVersion == null) {
                return Mono.error(new InvalidArgumentException("adoptIfMatch of '" + key + "' names no version"));
            }
            return adoptStaged(key, staged, false, expectedVersion);
        }
    };

    private Mono<ObjectInfo> adoptStaged(String key, Path staged, boolean ifAbsent, String ifMatch) {
        return Mono.fromCallable(() -> {
            Path target = path(key);
            Path file = staged.toAbsolutePath().normalize();
            if (!file.getParent().equals(target.getParent()) || !file.getFileName().toString().startsWith(TEMP_PREFIX)) {
                throw new InvalidArgumentException("file " + staged + " is not staged for object '" + key
                        + "' (stage it in " + target.getParent() + " with a name starting " + TEMP_PREFIX + ")");
            }
            try {
                checkInside(key, target.getParent());
                stamp(file);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                return ifMatch != null ? swapIfMatch(key, target, file, ifMatch) : install(key, target, file, ifAbsent);
            } catch (IOException e) {
                throw mapped(key, e);
            }
        }).subscribeOn(io);
    }

    private void abandon(Upload up) {
        try {
            up.channel.close();
            Files.deleteIfExists(up.temp);
        } catch (IOException e) {
            LOG.warn("cannot remove temp file {}: {}", up.temp, e.getMessage());
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (AccessDeniedException | UnsupportedOperationException e) {
            // Some filesystems do not let a directory be opened or synced; the rename is still atomic.
            LOG.debug("directory fsync not supported for {}: {}", dir, e.getMessage());
        }
    }

    @Override
    public Mono<Void> delete(String key) {
        return Mono.defer(() -> {
            Path p = path(key);
            return Mono.<Void>fromRunnable(() -> {
                try {
                    boolean existed = Files.deleteIfExists(p);
                    handles.invalidate(key);
                    if (existed) {
                        syncDirectory(p.getParent());
                    }
                } catch (IOException e) {
                    throw mapped(key, e);
                }
            }).subscribeOn(io);
        });
    }

    /**
     * Staging and upload files of writers that died (temp-prefixed files older than
     * {@code olderThan}), removed on the I/O scheduler; see {@link #sweepTempFiles}.
     */
    @Override
    public Mono<Long> deleteAbandonedUploads(Duration olderThan) {
        return Mono.fromCallable(() -> (long) sweepTempFiles(olderThan)).subscribeOn(io);
    }

    /**
     * Removes temp files left by writers that died mid-upload, older than {@code age}. Blocking;
     * returns how many were removed. Lock files ({@code .atlas-lock-*}) are never removed: a
     * process may hold one at any time, and a deleted lock file would let the next two writers
     * lock two different files.
     */
    public int sweepTempFiles(Duration age) {
        long cutoff = System.currentTimeMillis() - age.toMillis();
        int[] removed = {0};
        try {
            walkSkippingVanished(root, new java.nio.file.SimpleFileVisitor<>() {
                @Override
                public java.nio.file.FileVisitResult visitFile(Path p, BasicFileAttributes a) throws IOException {
                    if (p.getFileName().toString().startsWith(TEMP_PREFIX)
                            && a.lastModifiedTime().toMillis() < cutoff && Files.deleteIfExists(p)) {
                        removed[0]++;
                    }
                    return java.nio.file.FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            LOG.warn("temp file sweep of {} incomplete: {}", root, e.getMessage());
        }
        return removed[0];
    }

    private static RuntimeException mapped(String key, IOException e) {
        if (e instanceof NoSuchFileException || e instanceof NotDirectoryException) {
            return new NotFoundException("no object '" + key + "'");
        }
        if (e instanceof FileAlreadyExistsException) {
            return new AlreadyExistsException("object '" + key + "' already exists");
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null
                && fse.getReason().contains("name too long")) {
            return new InvalidArgumentException("object key '" + key + "' is a name the filesystem rejects: " + fse.getReason());
        }
        return new StorageException("I/O on '" + key + "' failed: " + e, false, e);
    }

    /** Closes every cached handle (reads in flight finish first). */
    @Override
    public void close() {
        handles.invalidateAll();
        handles.cleanUp();
    }

    @Override
    public String toString() {
        return "LocalStorage{" + root + "}";
    }
}
