package dev.atlas.array;

import dev.atlas.cache.BlockCache;
import dev.atlas.cache.SlabCache;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.codec.BlockRanges;
import dev.atlas.error.CorruptFileException;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.Checksums;
import dev.atlas.codec.CodecId;
import dev.atlas.internal.Offload;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import reactor.core.publisher.Mono;

/**
 * Fetches the decompressed bytes of a planned block. Committed blocks go through the cache stack
 * composed here once: storage, slab cache, base-epoch guard, decompression on the codec
 * scheduler, block cache. Pending blocks come from the pending layer's memory or its spill file.
 */
final class BlockSource {
    private final Storage storage;
    private final EngineResources resources;
    private final BlockCache blocks;
    private final SlabCache slabs;
    private final AtomicLong baseEpoch;
    private final AtomicLong retainedReads;
    private final boolean verify;

    BlockSource(OpenFileSet state) {
        this(state.storage, state.options, state.baseEpoch, state.retainedReads);
    }

    /**
     * A source on {@code storage} outside an open handle (a verification walk reads through it
     * too); stored bytes are checked against their layer's checksum record when
     * {@code options.verifyChecksums()}; {@code retainedReads} counts blocks read from retained copies.
     */
    BlockSource(Storage storage, ArrayFileOptions options, AtomicLong baseEpoch, AtomicLong retainedReads) {
        this.storage = storage;
        this.resources = options.resources();
        this.blocks = options.caches().blocks();
        this.slabs = options.caches().slabs();
        this.baseEpoch = baseEpoch;
        this.retainedReads = retainedReads;
        this.verify = options.verifyChecksums();
    }

    /**
     * The decompressed block of {@code r}, planned in base epoch {@code epoch}; the emitted buffer
     * is owned by the subscriber.
     */
    Mono<ByteBuf> fetch(ReadPlanner.BlockRead r, long epoch) {
        if (r.pending() != null) {
            return pending(r.pending(), r.file());
        }
        return fetch(r, epoch, () -> null, null);
    }

    /**
     * As {@link #fetch(ReadPlanner.BlockRead, long)}, decoding only what {@code needed} names where
     * the codec can stop early: then only the bytes inside {@code needed} are the block's, and the
     * buffer is cached under exactly those ranges (never served to a read needing other bytes).
     * For a read of one dataset ({@link NeededBytes#of}): reads of other parts of the block share
     * one read and one verification of its stored bytes, cached under a key of their own.
     *
     * @param needed the block's byte ranges the caller will read ({@link NeededBytes}); null: all
     */
    Mono<ByteBuf> fetchPart(ReadPlanner.BlockRead r, long epoch, BlockRanges needed) {
        if (r.pending() != null) {
            return pending(r.pending(), r.file());
        }
        if (needed == null) {
            return fetch(r, epoch, () -> null, null);
        }
        ObjectInfo object = r.object();
        BlockMeta b = r.meta();
        String what = object.key() + " block " + b.id();
        // Reads of other parts of this block (other datasets' chunks of a stacked read that fetches
        // each dataset apart) share one read and one verification of its stored bytes: those are
        // cached, verified, under their own key; each part decodes from them. A block the codec
        // cannot decode in independent parts (one zstd frame: the crate's) is decoded whole once
        // and shared, as several partial decodes of it would each decode most of it.
        BlockCodec codec;
        try {
            codec = BlockCodecs.forId(b.codec());
        } catch (RuntimeException e) {
            return Mono.error(e);
        }
        return blocks.getStored(storage, object, b.fileOffset(), () -> verified(stored(r, epoch), verifier(r)))
                .flatMap(st -> {
                    BlockRanges part;
                    try {
                        // A block asked for before is decoded whole: one entry for every reader.
                        part = codec.decodesInParts(st, b.uncompressedSize())
                                && !blocks.askedBefore(storage, object, b.fileOffset()) ? needed : null;
                    } catch (RuntimeException e) {
                        st.release();
                        return Mono.error(e);
                    }
                    return blocks.get(storage, object, b.fileOffset(), part, () -> decompressed(
                            Mono.fromSupplier(st::retainedDuplicate), b.codec(), b.uncompressedSize(), part, what, null))
                            .doFinally(sig -> st.release());
                })
                .onErrorResume(dev.atlas.error.CorruptFileException.class, e -> stillTheVersion(object, e));
    }

    /**
     * The decompressed block of committed read {@code r} through the block cache, as
     * {@link #fetch(ReadPlanner.BlockRead, long)}; when the cache has to load it, the stored bytes
     * come from {@code stored} (a block's slice of a coalesced range read, see {@link #fetchRange},
     * whose ownership passes to the load) or, when it supplies null, from the slab cache. The
     * emitted buffer is owned by the subscriber; {@code stored} is asked at most once per load.
     *
     * @param part null: the whole block, cached under the block's key; else the ranges the caller
     *     will read: the load decodes only those where the codec can stop early, and the buffer is
     *     cached under exactly these ranges, served only to reads asking for the same ranges (see
     *     {@link #partFor}: a bulk read passes ranges only for blocks that decode in parts)
     */
    Mono<ByteBuf> fetch(ReadPlanner.BlockRead r, long epoch, java.util.function.Supplier<ByteBuf> stored,
            BlockRanges part) {
        // The epoch guard sits inside the block load: bytes read while the base was being replaced
        // fail the load and are never cached.
        // Verification runs inside the load too, before decompression: a block whose stored bytes
        // fail their checksum fails the load, and a failed load is never cached.
        return blocks.get(storage, r.object(), r.meta().fileOffset(), part, () -> load(r, epoch, stored, part));
    }

    /**
     * As {@link #fetch(ReadPlanner.BlockRead, long, java.util.function.Supplier, BlockRanges)}, past
     * the block cache: the block is decoded for this caller alone and not kept (a bulk read scanning
     * more than the cache could usefully hold). The emitted buffer is owned by the subscriber.
     */
    Mono<ByteBuf> fetchPastCache(ReadPlanner.BlockRead r, long epoch, java.util.function.Supplier<ByteBuf> stored,
            BlockRanges part) {
        return load(r, epoch, stored, part);
    }

    /**
     * The ranges a bulk read should decode of committed block {@code r} whose stored bytes are
     * {@code stored} (not released; null when they were not fetched: the block is in the cache),
     * given the ranges it {@code needed} (null: all): {@code needed} when the block decodes in
     * independent parts (zstd frames, {@link BlockCodec#decodesInParts}) and its whole decode is not
     * cached, or when it is one large frame (the crate's layout) of which the read needs only a
     * prefix of at most {@link NeededBytes#PREFIX_SHARE} (decoded by a streaming decoder that stops
     * early, {@link NeededBytes#prefix}); else null (decode, or take from the cache, the whole block).
     * A fetched block that goes into the cache ({@code cached}) and was asked for before
     * ({@link BlockCache#askedBefore}) is decoded whole, so that its entry serves every later reader:
     * parts pay off for blocks met once (a cold scan), whole blocks for blocks read again (serving).
     */
    BlockRanges partFor(ReadPlanner.BlockRead r, ByteBuf stored, BlockRanges needed, boolean cached) {
        if (needed == null) {
            return null;
        }
        if (stored == null) {
            // Planned as cached: the whole block's entry serves any read; else the entry of these
            // very ranges (planned as cached because it was there).
            return blocks.contains(storage, r.object(), r.meta().fileOffset(), null) ? null : needed;
        }
        if (cached && blocks.askedBefore(storage, r.object(), r.meta().fileOffset())) {
            return null;
        }
        long size = r.meta().uncompressedSize();
        try {
            if (BlockCodecs.forId(r.meta().codec()).decodesInParts(stored, size)) {
                return needed;
            }
        } catch (RuntimeException e) {
            return null; // an unknown codec fails the load itself, with its own message
        }
        // One frame (the crate's layout): a streaming decode stops after the last needed byte
        // (zstd, the only codec NeededBytes names ranges for), worth it when that comes early in
        // a block larger than one zstd block.
        return NeededBytes.prefix && size > NeededBytes.PREFIX_MIN_BLOCK && needed.end() <= NeededBytes.PREFIX_SHARE * size
                ? needed : null;
    }

    /** The block cache's budget in bytes (0: no block cache). */
    long blockCacheBudget() {
        return blocks.budget();
    }

    /**
     * Loads committed block {@code r}: stored bytes from {@code stored} or the slab cache, verified
     * over all of them, then decoded ({@code part} of it, when not null and the codec can stop early).
     */
    private Mono<ByteBuf> load(ReadPlanner.BlockRead r, long epoch, java.util.function.Supplier<ByteBuf> stored,
            BlockRanges part) {
        ObjectInfo object = r.object();
        BlockMeta b = r.meta();
        return decompressed(Mono.defer(() -> {
                    ByteBuf given = stored.get();
                    return given != null ? Mono.just(given) : stored(r, epoch);
                }), b.codec(), b.uncompressedSize(), part, object.key() + " block " + b.id(), verifier(r))
                .onErrorResume(dev.atlas.error.CorruptFileException.class, e -> stillTheVersion(object, e));
    }

    /**
     * Whether the block of committed read {@code r} is in the block cache (or loading), whole or
     * as exactly the ranges {@code part} (null: whole only): a hint, see {@link BlockCache#contains}.
     */
    boolean cached(ReadPlanner.BlockRead r, BlockRanges part) {
        return blocks.contains(storage, r.object(), r.meta().fileOffset(), null)
                || (part != null && blocks.contains(storage, r.object(), r.meta().fileOffset(), part));
    }

    /**
     * Stored bytes {@code [offset, offset + length)} of {@code object} in one version-checked range
     * read past the slab cache (a bulk read's coalesced run of blocks, which it cuts into the
     * blocks' stored bytes itself), from a retained copy when the object was replaced or removed,
     * and failing like a block read when a base read may have seen another incarnation of the base.
     *
     * @return a buffer of exactly {@code length} bytes the subscriber owns and releases
     */
    Mono<ByteBuf> fetchRange(ObjectInfo object, boolean base, long epoch, long offset, long length) {
        return guardBase(base, epoch, Retained.read(storage, object, offset, length,
                storage.read(object.key(), offset, length, object.version()), retainedReads));
    }

    /** Whether range reads of this source's storage are cheap (local files, memory), see {@link Storage#cheapRangeReads()}. */
    boolean cheapRangeReads() {
        return storage.cheapRangeReads();
    }

    /** The stored bytes of committed read {@code r}, through the slab cache and the base-epoch guard; owned by the subscriber. */
    private Mono<ByteBuf> stored(ReadPlanner.BlockRead r, long epoch) {
        ObjectInfo object = r.object();
        BlockMeta b = r.meta();
        return guardBase(r.base(), epoch, Retained.read(storage, object, b.fileOffset(), b.compressedSize(),
                slabs.read(storage, object, b.fileOffset(), b.compressedSize()), retainedReads));
    }

    /**
     * {@code raw}'s buffer once {@code verify} (null: none) accepted it, checked on the thread that
     * delivers it (CRC-32C only computes, it never blocks; no extra hop to the codec scheduler); a
     * buffer that fails is released and the error emitted. Owned by the subscriber.
     */
    private static Mono<ByteBuf> verified(Mono<ByteBuf> raw, Consumer<ByteBuf> verify) {
        if (verify == null) {
            return raw;
        }
        return raw.map(in -> {
            try {
                verify.accept(in);
                return in;
            } catch (RuntimeException e) {
                in.release();
                throw e;
            }
        });
    }

    /**
     * A block that does not decode (or fails its checksum) is corruption only if its object is still the version the read
     * was planned on. A store that replaces objects in place without isolating readers (some S3
     * emulations do) can hand a version-checked read bytes of the object being written; when the
     * object has changed since, the failure is a stale read: {@code ObjectChangedException}, which
     * re-plans, and the bytes cached for the key are dropped.
     */
    private Mono<ByteBuf> stillTheVersion(ObjectInfo object, dev.atlas.error.CorruptFileException e) {
        return storage.head(object.key())
                .map(now -> now.version().equals(object.version()))
                .onErrorResume(dev.atlas.error.NotFoundException.class, gone -> Mono.just(false))
                .flatMap(same -> {
                    if (same) {
                        return Mono.error(e);
                    }
                    slabs.invalidate(storage, object.key());
                    return Mono.error(new dev.atlas.error.ObjectChangedException(object.key(), object.key()
                            + " was replaced while a read of it was under way (" + e.getMessage() + ")", e));
                });
    }

    /**
     * The block of committed read {@code r}, read past the caches (a compaction reads each block
     * once) and verified like {@link #fetch}; owned by the subscriber.
     */
    Mono<ByteBuf> fetchUncached(ReadPlanner.BlockRead r) {
        BlockMeta b = r.meta();
        return decompressed(storage.read(r.file(), b.fileOffset(), b.compressedSize()), b.codec(), b.uncompressedSize(), null,
                r.file() + " block " + b.id(), verifier(r));
    }

    /** Checks the stored bytes of committed read {@code r} against its layer's record; null when there is none (or verification is off). */
    private Consumer<ByteBuf> verifier(ReadPlanner.BlockRead r) {
        Checksums.Layer sums = r.checksums();
        if (sums == null || !verify) {
            return null;
        }
        String key = r.file();
        long id = r.meta().id();
        return stored -> sums.verifyCrc(key, id, crc(stored));
    }

    /** CRC-32C of {@code b}'s readable bytes, piece by piece (a block spanning slabs is not copied). */
    private static int crc(ByteBuf b) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        for (java.nio.ByteBuffer n : b.nioBuffers(b.readerIndex(), b.readableBytes())) {
            c.update(n);
        }
        return (int) c.getValue();
    }

    private Mono<ByteBuf> pending(PendingLayer.BlockRef ref, String what) {
        if (ref.inMemory() != null) {
            byte[] bytes = ref.inMemory();
            return Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes));
        }
        TempFile temp = ref.temp();
        ByteBufAllocator alloc = resources.allocator();
        return decompressed(Offload.run(resources.ioScheduler(), null, none -> {
            int n = (int) ref.storedSize();
            ByteBuf buf = alloc.directBuffer(n, n);
            try {
                temp.read(buf.nioBuffer(0, n), ref.tempOffset());
                buf.writerIndex(n);
                return buf;
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            }
        }), ref.codec(), ref.uncompressedSize(), null, what + " block " + ref.id(), !verify ? null : stored -> {
            // The spill file is ours, but it is on disk: a damaged one must not be served either.
            int got = crc(stored);
            if (got != ref.crc()) {
                throw new CorruptFileException(what + " (spill file)", ref.id(), "block " + ref.id()
                        + ": spilled bytes fail their checksum");
            }
        });
    }

    /** Fails a base read (releasing its bytes) that may have seen another incarnation of the base. */
    private Mono<ByteBuf> guardBase(boolean isBase, long epoch, Mono<ByteBuf> read) {
        if (!isBase) {
            return read;
        }
        if ((epoch & 1) != 0) {
            return Mono.error(new OpenFileSet.StaleSnapshotException(null));
        }
        return read.flatMap(buf -> {
            if (baseEpoch.get() != epoch) {
                buf.release();
                return Mono.error(new OpenFileSet.StaleSnapshotException(null));
            }
            return Mono.just(buf);
        });
    }

    /**
     * Verifies (when {@code verify} is not null; it throws on a mismatch: the check covers all the
     * stored bytes, whatever part is then decoded) and decompresses ({@code needed} of) the
     * stored bytes {@code raw} emits on the codec scheduler; the emitted buffer is
     * owned by the subscriber. Whoever takes the raw buffer out of the holder releases it: the
     * decompression task, or doFinally when the read is cancelled before that task ran.
     */
    private Mono<ByteBuf> decompressed(Mono<ByteBuf> raw, CodecId codecId, long uncompressedSize, BlockRanges needed,
            String what, Consumer<ByteBuf> verify) {
        BlockCodec codec;
        try {
            codec = BlockCodecs.forId(codecId);
        } catch (RuntimeException e) {
            return Mono.error(e);
        }
        ByteBufAllocator alloc = resources.allocator();
        return raw.flatMap(r -> Offload.run(resources.codecScheduler(), r, in -> {
                    if (verify != null) {
                        verify.accept(in);
                    }
                    return codec.decompress(in, uncompressedSize, needed, alloc, what);
                }))
                .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
    }
}
