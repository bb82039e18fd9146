package dev.atlas.array;

import dev.atlas.internal.format.StatsKernel;
import io.netty.buffer.ByteBuf;

/**
 * The statistics of one staged chunk. Taken either at once (ready from the start) or, for a
 * chunk copied whole into a block, on the codec thread that compresses the block, just before
 * it does: the writer's thread then only copies, and the statistics pass runs on the cores the
 * compression spreads over. Until then {@link #ready()} is false and whoever needs the chunk's
 * statistics reads the chunk instead.
 */
final class ChunkStats {
    final StatsKernel.Accumulator acc;
    /** Where the chunk's bytes are in its block, and its element count (deferred form only). */
    private final int offset;
    private final int length;
    private final long count;
    private volatile boolean ready;

    private ChunkStats(StatsKernel.Accumulator acc, int offset, int length, long count, boolean ready) {
        this.acc = acc;
        this.offset = offset;
        this.length = length;
        this.count = count;
        this.ready = ready;
    }

    /** Statistics to take from the block's bytes at {@code [offset, offset + length)} before it compresses. */
    static ChunkStats deferred(StatsKernel.Accumulator acc, int offset, int length, long count) {
        return new ChunkStats(acc, offset, length, count, false);
    }

    /** Statistics already taken (or null: none kept). */
    static ChunkStats of(StatsKernel.Accumulator acc) {
        return acc == null ? null : new ChunkStats(acc, 0, 0, 0, true);
    }

    /** Whether {@link #acc} holds the chunk's statistics (a volatile read: publishes them). */
    boolean ready() {
        return ready;
    }

    /** Takes the statistics from the block's raw bytes (called once, by the block's compression). */
    void take(ByteBuf blockRaw) {
        acc.addFixed(blockRaw.nioBuffer(offset, length), count);
        ready = true;
    }
}
