package dev.atlas.array;

import dev.atlas.cache.ReadCaches;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.format.Footer;
import dev.atlas.runtime.EngineResources;
import java.nio.file.Path;
import java.util.Objects;

/** Immutable options of an {@link ArrayFile}; build with {@link #builder(EngineResources)}. */
public final class ArrayFileOptions {
    /** Blocks fetched and decoded at once by one read: enough to overlap storage latency with decoding. */
    public static final int DEFAULT_READ_CONCURRENCY = 16;
    /**
     * Sealed blocks a writer lets compress and spill in the background at once: two keep both
     * codec threads of a small machine busy while the writer encodes the next chunks; pending
     * memory is at most this many blocks plus the open one.
     */
    public static final int DEFAULT_WRITE_CONCURRENCY = 2;
    /** Bytes of a layer's tail read speculatively on open; usually holds trailer and footer in one request. */
    public static final int DEFAULT_TAIL_READ = 64 * 1024;
    /**
     * Uncompressed bytes after which a pending block is sealed: the reference crate's 8 MiB, large
     * enough for good compression and few range requests, small enough to decompress quickly.
     */
    public static final long DEFAULT_BLOCK_TARGET_SIZE = 8L << 20;
    /** Default of {@link #syncBehindBytes()}. */
    public static final long DEFAULT_SYNC_BEHIND_BYTES = 32L << 20;
    /** Default of {@link #soloChunkSize()}: chunks of 1 MiB or more get a block each. */
    public static final long DEFAULT_SOLO_CHUNK_SIZE = 1L << 20;

    /**
     * Codec for the blocks this engine writes (reads follow the codec recorded per block). zstd
     * level 3: it is the codec that actually shrinks numeric data (1.1-1.5x where LZ4 gets 1.0x,
     * see the machine limits), which is what matters for files sent over S3.
     */
    public static BlockCodec defaultCodec() {
        return BlockCodecs.zstd(BlockCodecs.DEFAULT_ZSTD_LEVEL);
    }

    private final EngineResources resources;
    private final int readConcurrency;
    private final int writeConcurrency;
    private final int tailRead;
    private final BlockCodec codec;
    private final long blockTargetSize;
    private final Path tempDirectory;
    private final int footerVersion;
    private final ReadCaches caches;
    private final boolean adoptSpillFiles;
    private final long syncBehindBytes;
    private final long soloChunkSize;
    private final boolean writeChecksums;
    private final boolean verifyChecksums;

    private ArrayFileOptions(Builder b) {
        this.writeChecksums = b.writeChecksums;
        this.verifyChecksums = b.verifyChecksums;
        this.soloChunkSize = b.soloChunkSize;
        this.adoptSpillFiles = b.adoptSpillFiles;
        this.syncBehindBytes = b.syncBehindBytes;
        this.caches = b.caches == null ? b.resources.caches() : b.caches;
        this.resources = b.resources;
        this.readConcurrency = b.readConcurrency;
        this.writeConcurrency = b.writeConcurrency;
        this.tailRead = b.tailRead;
        this.codec = b.codec;
        this.blockTargetSize = b.blockTargetSize;
        this.tempDirectory = b.tempDirectory;
        this.footerVersion = b.footerVersion;
    }

    /** These options writing footer version {@code version} (4 or 5) instead. */
    public ArrayFileOptions withFooterVersion(int version) {
        return copy(version, verifyChecksums);
    }

    /** These options with checksum verification on (a verification walk checks whatever reads are set to skip). */
    ArrayFileOptions verifying() {
        return verifyChecksums ? this : copy(footerVersion, true);
    }

    private ArrayFileOptions copy(int version, boolean verify) {
        Builder b = new Builder(resources).readConcurrency(readConcurrency).writeConcurrency(writeConcurrency)
                .tailRead(tailRead).codec(codec).blockTargetSize(blockTargetSize).footerVersion(version).caches(caches)
                .adoptSpillFiles(adoptSpillFiles).syncBehindBytes(syncBehindBytes)
                .soloChunkSize(soloChunkSize).writeChecksums(writeChecksums).verifyChecksums(verify);
        if (tempDirectory != null) {
            b.tempDirectory(tempDirectory);
        }
        return b.build();
    }

    public static Builder builder(EngineResources resources) {
        return new Builder(resources);
    }

    public EngineResources resources() {
        return resources;
    }

    public int readConcurrency() {
        return readConcurrency;
    }

    /** Sealed blocks compressed and spilled in the background at once while writing. */
    public int writeConcurrency() {
        return writeConcurrency;
    }

    public int tailRead() {
        return tailRead;
    }

    /** Codec for written blocks. */
    public BlockCodec codec() {
        return codec;
    }

    public long blockTargetSize() {
        return blockTargetSize;
    }

    /**
     * Chunks of at least this many bytes (as stored, before compression) are written one per block;
     * smaller ones are packed into blocks of up to {@link #blockTargetSize()}. A block decodes only
     * whole, so a read that needs one large chunk of a packed block decodes its neighbours too (a
     * 64³ float32 window over 8 chunks of 1 MiB decoded 16 MiB from 8 MiB blocks); packing only
     * pays for small chunks, where it amortises the per-block cost and helps compression. Zarr,
     * HDF5 and TileDB compress each chunk on its own. Default {@value #DEFAULT_SOLO_CHUNK_SIZE}
     * bytes; {@link Long#MAX_VALUE} packs every chunk.
     */
    public long soloChunkSize() {
        return soloChunkSize;
    }

    /**
     * Directory for pending layers' spill files on storages that cannot adopt files (see
     * {@link #adoptSpillFiles()}).
     */
    public Path tempDirectory() {
        return tempDirectory;
    }

    /**
     * Whether a storage that can {@linkplain dev.atlas.storage.Storage#fileAdoption() adopt local
     * files} gets each layer's spill file itself, footer appended, instead of a copy of it: the
     * spill file then lives in the storage's staging directory, not {@link #tempDirectory()}.
     * Default true.
     */
    public boolean adoptSpillFiles() {
        return adoptSpillFiles;
    }

    /**
     * Bytes spilled between two background syncs of an adopted spill file (0: none). A flush must
     * sync the whole layer before it commits; syncing behind the writer lets the device take the
     * bytes while later blocks still compress, so the flush's own sync finds little left. Default
     * 32 MiB.
     */
    public long syncBehindBytes() {
        return syncBehindBytes;
    }

    /** Footer version of written layers ({@link Footer#VERSION_V5}, or V4 for crate 0.9/0.10 readers). */
    public int footerVersion() {
        return footerVersion;
    }

    /** The caches committed blocks are read through (by default the resources' shared ones). */
    public ReadCaches caches() {
        return caches;
    }

    /**
     * Whether written layers carry a checksum record (FORMAT.md section 14: the CRC-32C of every
     * block and of the footer, in a block the reference crate never reads). Default true.
     */
    public boolean writeChecksums() {
        return writeChecksums;
    }

    /**
     * Whether reads check what they fetch against the layers' checksum records: footers when a
     * layer is loaded, every block's stored bytes before they are decompressed (a mismatch is a
     * {@link dev.atlas.error.CorruptFileException} naming the object and block, never cached).
     * Layers without a record (written by the reference crate) are read as before either way.
     * Default true; false exists to measure what verification costs.
     */
    public boolean verifyChecksums() {
        return verifyChecksums;
    }

    /** Builder of {@link ArrayFileOptions}. */
    public static final class Builder {
        private final EngineResources resources;
        private int readConcurrency = DEFAULT_READ_CONCURRENCY;
        private int writeConcurrency = DEFAULT_WRITE_CONCURRENCY;
        private int tailRead = DEFAULT_TAIL_READ;
        private BlockCodec codec = defaultCodec();
        private long blockTargetSize = DEFAULT_BLOCK_TARGET_SIZE;
        private Path tempDirectory = Path.of(System.getProperty("java.io.tmpdir"));
        private int footerVersion = Footer.VERSION_V5;
        private ReadCaches caches;
        private boolean adoptSpillFiles = true;
        private long syncBehindBytes = DEFAULT_SYNC_BEHIND_BYTES;
        private long soloChunkSize = DEFAULT_SOLO_CHUNK_SIZE;
        private boolean writeChecksums = true;
        private boolean verifyChecksums = true;

        private Builder(EngineResources resources) {
            this.resources = Objects.requireNonNull(resources, "resources");
        }

        /** Blocks one read fetches and decodes concurrently (1..1024). */
        public Builder readConcurrency(int n) {
            if (n < 1 || n > 1024) {
                throw new InvalidArgumentException("readConcurrency must be 1..1024, not " + n);
            }
            this.readConcurrency = n;
            return this;
        }

        /**
         * Sealed blocks compressed and spilled in the background at once while writing (1..64);
         * pending memory is bounded by this many blocks plus the open one.
         */
        public Builder writeConcurrency(int n) {
            if (n < 1 || n > 64) {
                throw new InvalidArgumentException("writeConcurrency must be 1..64, not " + n);
            }
            this.writeConcurrency = n;
            return this;
        }

        /** Speculative tail read on open, in bytes (at least the 12-byte trailer). */
        public Builder tailRead(int bytes) {
            if (bytes < 12) {
                throw new InvalidArgumentException("tailRead must be at least 12 bytes, not " + bytes);
            }
            this.tailRead = bytes;
            return this;
        }

        /** Codec for blocks this engine writes. */
        public Builder codec(BlockCodec c) {
            this.codec = Objects.requireNonNull(c, "codec");
            return this;
        }

        /** Uncompressed bytes after which a block is sealed (1 byte .. 1 GiB). */
        public Builder blockTargetSize(long bytes) {
            if (bytes < 1 || bytes > (1L << 30)) {
                throw new InvalidArgumentException("blockTargetSize must be 1 byte .. 1 GiB, not " + bytes);
            }
            this.blockTargetSize = bytes;
            return this;
        }

        /** See {@link ArrayFileOptions#soloChunkSize()} (at least 1 byte). */
        public Builder soloChunkSize(long bytes) {
            if (bytes < 1) {
                throw new InvalidArgumentException("soloChunkSize must be >= 1 byte, not " + bytes);
            }
            this.soloChunkSize = bytes;
            return this;
        }

        /**
         * Directory for spill files of pending layers, on storages that cannot adopt files (a
         * local store spills into its own directory instead, see {@link #adoptSpillFiles}).
         */
        public Builder tempDirectory(Path dir) {
            this.tempDirectory = Objects.requireNonNull(dir, "dir");
            return this;
        }

        /** Footer version to write: 5 (default) or 4 (readable by crate 0.9/0.10; attribute kinds 0-11 only). */
        public Builder footerVersion(int version) {
            if (version != Footer.VERSION_V4 && version != Footer.VERSION_V5) {
                throw new InvalidArgumentException("footerVersion must be 4 or 5, not " + version);
            }
            this.footerVersion = version;
            return this;
        }

        /**
         * Read caches for this file: share one {@link ReadCaches} across files to bound them
         * together; {@link ReadCaches#disabled} reads every block from storage. Default: the
         * resources' caches.
         */
        public Builder caches(ReadCaches c) {
            this.caches = Objects.requireNonNull(c, "caches");
            return this;
        }

        /**
         * Whether a local store adopts each layer's spill file (footer appended) instead of
         * receiving a copy: one write of every block instead of two. Default true; false spills
         * into {@link #tempDirectory} and copies at flush.
         */
        public Builder adoptSpillFiles(boolean adopt) {
            this.adoptSpillFiles = adopt;
            return this;
        }

        /** See {@link ArrayFileOptions#syncBehindBytes()}; 0 turns the background syncs off. */
        public Builder syncBehindBytes(long bytes) {
            if (bytes < 0) {
                throw new InvalidArgumentException("syncBehindBytes must be >= 0, got " + bytes);
            }
            this.syncBehindBytes = bytes;
            return this;
        }

        /** See {@link ArrayFileOptions#writeChecksums()}. */
        public Builder writeChecksums(boolean on) {
            this.writeChecksums = on;
            return this;
        }

        /** See {@link ArrayFileOptions#verifyChecksums()}. */
        public Builder verifyChecksums(boolean on) {
            this.verifyChecksums = on;
            return this;
        }

        /** The options. */
        public ArrayFileOptions build() {
            return new ArrayFileOptions(this);
        }
    }
}
