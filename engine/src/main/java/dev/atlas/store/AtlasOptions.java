package dev.atlas.store;

import dev.atlas.array.ArrayFileOptions;
import dev.atlas.runtime.EngineResources;
import dev.atlas.cache.ReadCaches;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.format.Footer;
import java.util.Objects;

/**
 * How an {@link Atlas} store is created and used. Immutable; build with {@link #builder}.
 * {@code codec} and {@code registryFile} only matter when a store is created: an opened store
 * keeps the registry file it was found with and the codec its registry names.
 */
public final class AtlasOptions {
    /**
     * The former single knob of bulk reads (one per core); kept for {@link #bulkConcurrency()}.
     *
     * @deprecated bulk reads have two knobs now: {@link #DEFAULT_LOCAL_IO_CONCURRENCY} /
     *     {@link #DEFAULT_REMOTE_IO_CONCURRENCY} and {@link #DEFAULT_CPU_CONCURRENCY}
     */
    @Deprecated
    public static final int DEFAULT_BULK_CONCURRENCY = Math.max(1, Runtime.getRuntime().availableProcessors());
    /**
     * Storage ranges a bulk read has in flight on a storage with cheap range reads (local files,
     * memory; {@link dev.atlas.storage.Storage#cheapRangeReads()}): shallow, since a read from the
     * page cache is a copy that costs CPU the decoding needs too; a few in flight keep the codec
     * threads fed.
     */
    public static final int DEFAULT_LOCAL_IO_CONCURRENCY = 4;
    /**
     * Storage ranges a bulk read has in flight on an object store: deep, since each range waits a
     * request's latency (tens of milliseconds) while costing almost no CPU.
     */
    public static final int DEFAULT_REMOTE_IO_CONCURRENCY = 64;
    /**
     * Blocks a bulk read decodes at once: two per core, so a codec thread that finishes a block
     * finds the next one queued.
     */
    public static final int DEFAULT_CPU_CONCURRENCY = 2 * Math.max(1, Runtime.getRuntime().availableProcessors());
    /** Array files flushed at once: each flush is mostly one storage put, so a few overlap usefully. */
    public static final int DEFAULT_FLUSH_CONCURRENCY = 4;
    /**
     * Block target of the store's array files: 256 KiB, not the file format's 8 MiB. A block is
     * the unit of decompression, and the store's typical read (one region of each of many datasets)
     * needs one chunk per dataset: with 8 MiB blocks the reference's gridded benchmark decompresses
     * its whole 7 GiB file set to read 1 GiB of chunks. Blocks near chunk size keep the volume
     * close to what is read, while still holding thousands of small chunks (zstd-3's ratio on
     * 256 KiB blocks is that of larger ones).
     */
    public static final long DEFAULT_BLOCK_TARGET_SIZE = 256L << 10;
    /** Array files opened at once when a bulk operation (compact) opens many. */
    public static final int DEFAULT_OPEN_CONCURRENCY = 16;

    private final EngineResources resources;
    private final StoreCodec codec;
    private final RegistryFile registryFile;
    private final int footerVersion;
    private final long blockTargetSize;
    private final int ioConcurrency;
    private final int cpuConcurrency;
    private final int flushConcurrency;
    private final ReadCaches caches;
    private final java.nio.file.Path tempDirectory;
    private final java.time.Duration refreshInterval;
    private final java.time.Duration garbageAge;
    private final int commitAttempts;
    private final java.time.Duration commitLease;

    /** Default {@link #garbageAge()}: far longer than any flush, so no live writer's object is taken for garbage. */
    public static final java.time.Duration DEFAULT_GARBAGE_AGE = java.time.Duration.ofHours(1);
    /** Default {@link #commitAttempts()}. */
    public static final int DEFAULT_COMMIT_ATTEMPTS = 16;

    private AtlasOptions(Builder b) {
        this.refreshInterval = b.refreshInterval;
        this.garbageAge = b.garbageAge;
        this.commitAttempts = b.commitAttempts;
        this.commitLease = b.commitLease;
        this.tempDirectory = b.tempDirectory;
        this.resources = b.resources;
        this.codec = b.codec;
        this.registryFile = b.registryFile;
        this.footerVersion = b.footerVersion;
        this.blockTargetSize = b.blockTargetSize;
        this.ioConcurrency = b.ioConcurrency;
        this.cpuConcurrency = b.cpuConcurrency;
        this.flushConcurrency = b.flushConcurrency;
        this.caches = b.caches;
    }

    public static Builder builder(EngineResources resources) {
        return new Builder(resources);
    }

    public EngineResources resources() {
        return resources;
    }

    /** Block codec of arrays defined in a new store (default Zstd level 3, as the reference). */
    public StoreCodec codec() {
        return codec;
    }

    /** Registry file of a new store (default {@code atlas.json}, as the reference). */
    public RegistryFile registryFile() {
        return registryFile;
    }

    /** Footer version of array files a new store creates (default 5; 4 keeps the store readable by atlas-rust 0.10). */
    public int footerVersion() {
        return footerVersion;
    }

    public long blockTargetSize() {
        return blockTargetSize;
    }

    /**
     * The I/O concurrency set with {@link Builder#ioConcurrency} (or the deprecated
     * {@link Builder#bulkConcurrency}), else {@link #DEFAULT_BULK_CONCURRENCY}.
     *
     * @deprecated use {@link #ioConcurrency(dev.atlas.storage.Storage)} and {@link #cpuConcurrency()}
     */
    @Deprecated
    public int bulkConcurrency() {
        return ioConcurrency > 0 ? ioConcurrency : DEFAULT_BULK_CONCURRENCY;
    }

    /**
     * Storage range reads a bulk read ({@link Atlas#readArrayAcross}, {@link Atlas#readArrayAcrossStacked})
     * has in flight at once, as set with {@link Builder#ioConcurrency}; 0 when it is chosen per
     * storage ({@link #ioConcurrency(dev.atlas.storage.Storage)}).
     */
    public int ioConcurrency() {
        return ioConcurrency;
    }

    /**
     * Storage range reads a bulk read on {@code storage} has in flight at once: the value set with
     * {@link Builder#ioConcurrency}, else {@link #DEFAULT_LOCAL_IO_CONCURRENCY} when the storage's
     * range reads are cheap (local files, memory) and {@link #DEFAULT_REMOTE_IO_CONCURRENCY}
     * otherwise (object stores).
     */
    public int ioConcurrency(dev.atlas.storage.Storage storage) {
        if (ioConcurrency > 0) {
            return ioConcurrency;
        }
        return storage.cheapRangeReads() ? DEFAULT_LOCAL_IO_CONCURRENCY : DEFAULT_REMOTE_IO_CONCURRENCY;
    }

    /**
     * Blocks a bulk read decodes at once (the decoding runs on the engine's codec threads; this
     * bounds how many of a read's blocks are queued there or decoded into memory at a time).
     * Default {@link #DEFAULT_CPU_CONCURRENCY}.
     */
    public int cpuConcurrency() {
        return cpuConcurrency;
    }

    public int flushConcurrency() {
        return flushConcurrency;
    }

    /**
     * How often an open handle brings itself to the store's latest commit on its own
     * ({@link Atlas#refresh()}); {@link java.time.Duration#ZERO} (the default of an embedded
     * handle) refreshes only when asked, or when a read finds an object replaced under it.
     */
    public java.time.Duration refreshInterval() {
        return refreshInterval;
    }

    /**
     * How old an object nobody committed must be before compaction or {@link Atlas#gc()} deletes it
     * (sidecars of failed commits, spill files and uploads of dead writers): it must exceed the
     * longest flush of any writer of the store, since a younger one may be a flush in progress.
     */
    public java.time.Duration garbageAge() {
        return garbageAge;
    }

    /**
     * How long a writer's lease on the commit point lasts (it is held only around one registry
     * read-merge-write): a writer that died holding it delays other writers' commits by at most
     * this long. Default 30 s.
     */
    public java.time.Duration commitLease() {
        return commitLease;
    }

    /** How many times a flush tries to commit the registry when other writers commit first. */
    public int commitAttempts() {
        return commitAttempts;
    }

    /** The array-file options for a store codec and footer version. */
    ArrayFileOptions fileOptions(StoreCodec storeCodec, int version) {
        BlockCodec c = switch (storeCodec) {
            case ZSTD -> BlockCodecs.zstd();
            case LZ4 -> BlockCodecs.lz4();
            case UNCOMPRESSED -> BlockCodecs.none();
        };
        ArrayFileOptions.Builder b = ArrayFileOptions.builder(resources).codec(c).blockTargetSize(blockTargetSize)
                .footerVersion(version);
        if (caches != null) {
            b.caches(caches);
        }
        if (tempDirectory != null) {
            b.tempDirectory(tempDirectory);
        }
        return b.build();
    }

    public static final class Builder {
        private final EngineResources resources;
        private StoreCodec codec = StoreCodec.ZSTD;
        private RegistryFile registryFile = RegistryFile.DEFAULT;
        private int footerVersion = Footer.VERSION_V5;
        private long blockTargetSize = DEFAULT_BLOCK_TARGET_SIZE;
        private int ioConcurrency;
        private int cpuConcurrency = DEFAULT_CPU_CONCURRENCY;
        private int flushConcurrency = DEFAULT_FLUSH_CONCURRENCY;
        private ReadCaches caches;
        private java.nio.file.Path tempDirectory;
        private java.time.Duration refreshInterval = java.time.Duration.ZERO;
        private java.time.Duration garbageAge = DEFAULT_GARBAGE_AGE;
        private int commitAttempts = DEFAULT_COMMIT_ATTEMPTS;
        private java.time.Duration commitLease = java.time.Duration.ofSeconds(30);

        private Builder(EngineResources resources) {
            this.resources = Objects.requireNonNull(resources, "resources");
        }

        public Builder codec(StoreCodec c) {
            this.codec = Objects.requireNonNull(c, "codec");
            return this;
        }

        public Builder registryFile(RegistryFile f) {
            this.registryFile = Objects.requireNonNull(f, "registryFile");
            return this;
        }

        public Builder registryFile(RegistryFormat format, StoreCodec compression) {
            return registryFile(new RegistryFile(format, compression));
        }

        public Builder footerVersion(int v) {
            if (v != Footer.VERSION_V4 && v != Footer.VERSION_V5) {
                throw new InvalidArgumentException("footerVersion must be 4 or 5, not " + v);
            }
            this.footerVersion = v;
            return this;
        }

        public Builder blockTargetSize(long bytes) {
            this.blockTargetSize = atLeastOne("blockTargetSize", bytes);
            return this;
        }

        /**
         * The one knob bulk reads had before they planned across datasets (datasets read at once);
         * now the I/O concurrency, which bounds the same thing it bounded then: storage reads in
         * flight.
         *
         * @deprecated use {@link #ioConcurrency(int)} and {@link #cpuConcurrency(int)}
         */
        @Deprecated
        public Builder bulkConcurrency(int n) {
            this.ioConcurrency = (int) atLeastOne("bulkConcurrency", n);
            return this;
        }

        /**
         * Storage range reads a bulk read has in flight at once (see
         * {@link AtlasOptions#ioConcurrency(dev.atlas.storage.Storage)}); by default chosen per
         * storage: {@link #DEFAULT_LOCAL_IO_CONCURRENCY} for local files,
         * {@link #DEFAULT_REMOTE_IO_CONCURRENCY} for object stores. Raise it for a store with high
         * latency per request.
         */
        public Builder ioConcurrency(int n) {
            this.ioConcurrency = (int) atLeastOne("ioConcurrency", n);
            return this;
        }

        /** Blocks a bulk read decodes at once (see {@link AtlasOptions#cpuConcurrency()}). */
        public Builder cpuConcurrency(int n) {
            this.cpuConcurrency = (int) atLeastOne("cpuConcurrency", n);
            return this;
        }

        public Builder flushConcurrency(int n) {
            this.flushConcurrency = (int) atLeastOne("flushConcurrency", n);
            return this;
        }

        /** {@code v}, unless it is below 1: then InvalidArgumentException naming {@code option}. */
        private static long atLeastOne(String option, long v) {
            if (v < 1) {
                throw new InvalidArgumentException(option + " must be >= 1, not " + v);
            }
            return v;
        }

        /** Read caches shared by every array file of the store (default: the resources' caches). */
        public Builder caches(ReadCaches c) {
            this.caches = Objects.requireNonNull(c, "caches");
            return this;
        }

        /** Directory of the array files' pending-layer spill files (default: {@code java.io.tmpdir}). */
        public Builder tempDirectory(java.nio.file.Path dir) {
            this.tempDirectory = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** See {@link AtlasOptions#refreshInterval()}; zero turns automatic refresh off. */
        public Builder refreshInterval(java.time.Duration every) {
            Objects.requireNonNull(every, "every");
            if (every.isNegative()) {
                throw new InvalidArgumentException("refreshInterval must not be negative, not " + every);
            }
            this.refreshInterval = every;
            return this;
        }

        /** See {@link AtlasOptions#garbageAge()}. */
        public Builder garbageAge(java.time.Duration age) {
            Objects.requireNonNull(age, "age");
            if (age.isNegative()) {
                throw new InvalidArgumentException("garbageAge must not be negative, not " + age);
            }
            this.garbageAge = age;
            return this;
        }

        /** See {@link AtlasOptions#commitLease()}. */
        public Builder commitLease(java.time.Duration lease) {
            Objects.requireNonNull(lease, "lease");
            if (lease.isNegative() || lease.isZero()) {
                throw new InvalidArgumentException("commitLease must be positive, not " + lease);
            }
            this.commitLease = lease;
            return this;
        }

        /** See {@link AtlasOptions#commitAttempts()}. */
        public Builder commitAttempts(int n) {
            this.commitAttempts = (int) atLeastOne("commitAttempts", n);
            return this;
        }

        public AtlasOptions build() {
            return new AtlasOptions(this);
        }
    }
}
