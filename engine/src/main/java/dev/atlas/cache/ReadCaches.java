package dev.atlas.cache;

import io.netty.buffer.ByteBufAllocator;
import java.util.Objects;

/**
 * The two read caches an {@code ArrayFile} reads through: stored (compressed)
 * bytes in slabs, then decompressed blocks. Share one instance across files to put them under one
 * budget (an {@code EngineResources} carries a default one).
 */
public final class ReadCaches {
    private final SlabCache slabs;
    private final BlockCache blocks;

    private ReadCaches(SlabCache slabs, BlockCache blocks) {
        this.slabs = Objects.requireNonNull(slabs, "slabs");
        this.blocks = Objects.requireNonNull(blocks, "blocks");
    }

    public static ReadCaches of(SlabCache slabs, BlockCache blocks) {
        return new ReadCaches(slabs, blocks);
    }

    /**
     * Default slab options and block budget, each capped at an eighth of the JVM's direct memory
     * limit (so a small {@code -XX:MaxDirectMemorySize} leaves room for reads in flight); fetch
     * buffers come from {@code alloc}.
     */
    public static ReadCaches defaults(ByteBufAllocator alloc) {
        long cap = defaultBudgetCap();
        return new ReadCaches(SlabCache.create(SlabCache.Options.defaults().withBudget(Math.min(cap, 256L << 20)), alloc),
                BlockCache.create(Math.min(cap, BlockCache.DEFAULT_BUDGET)));
    }

    /** An eighth of the direct memory limit (Netty's reading of it), at least 8 MiB. */
    static long defaultBudgetCap() {
        long max = io.netty.util.internal.PlatformDependent.maxDirectMemory();
        return max <= 0 ? 256L << 20 : Math.max(8L << 20, max / 8);
    }

    /** No caching: every read goes to storage and every block is decompressed again. */
    public static ReadCaches disabled(ByteBufAllocator alloc) {
        return new ReadCaches(SlabCache.create(SlabCache.Options.defaults().withBudget(0), alloc), BlockCache.create(0));
    }

    public SlabCache slabs() {
        return slabs;
    }

    public BlockCache blocks() {
        return blocks;
    }

    /** Drops every entry of {@code object} in {@code storage} (all versions) from both caches. */
    public void invalidate(dev.atlas.storage.Storage storage, String object) {
        slabs.invalidate(storage, object);
        blocks.invalidate(storage, object);
    }

    /** Drops the entries of {@code object} whose version is not {@code keep} from both caches. */
    public void invalidateOtherVersions(dev.atlas.storage.Storage storage, String object, String keep) {
        slabs.invalidateOtherVersions(storage, object, keep);
        blocks.invalidateOtherVersions(storage, object, keep);
    }

    /** Drops everything both caches hold. */
    public void invalidateAll() {
        slabs.invalidateAll();
        blocks.invalidateAll();
    }

    @Override
    public String toString() {
        return "ReadCaches[slabs " + slabs.stats() + ", blocks " + blocks.stats() + "]";
    }
}
