package dev.atlas.array;

import dev.atlas.codec.CodecId;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * One block of a pending layer: raw bytes in memory until spilled, then a range of the spill file.
 * Its fields are guarded by the owning {@link PendingLayer}.
 */
final class PendingBlock {
    final long id;
    /** Statistics to take from this block's bytes before it compresses (guarded by the layer); null once taken. */
    List<ChunkStats> deferredStats;
    ByteBuf raw;
    long uncompressedSize;
    long tempOffset = -1;
    long storedSize;
    /** CRC-32C of the stored (compressed) bytes, set with {@link #storedSize} when the block spills. */
    int crc;
    CodecId codec;
    /**
     * Completes once this block's place in the spill file is reserved (or its spill ended
     * without one): the next block's spill waits for it, so blocks spilled one after the other
     * land in the file in id order even though they compress in parallel. Null until a spill
     * starts.
     */
    java.util.concurrent.CompletableFuture<Void> placed;

    /** Offsets of the chunks appended to {@link #raw}, in order; the codec may cut its frames there. */
    private int[] chunkStarts = new int[4];
    private int chunkCount;

    PendingBlock(long id) {
        this.id = id;
    }

    /** Records that a chunk starts at {@code offset} of the raw bytes. */
    void chunkAt(long offset) {
        if (chunkCount == chunkStarts.length) {
            chunkStarts = java.util.Arrays.copyOf(chunkStarts, chunkCount * 2);
        }
        chunkStarts[chunkCount++] = (int) offset;
    }

    /** Offsets where a run of chunks staged by one call (one write of one entry) starts, in order. */
    private int[] runStarts = new int[2];
    private int runCount;

    /** Records that a run of chunks written together starts at {@code offset} of the raw bytes. */
    void runAt(long offset) {
        if (runCount == runStarts.length) {
            runStarts = java.util.Arrays.copyOf(runStarts, runCount * 2);
        }
        runStarts[runCount++] = (int) offset;
    }

    /** The run starts recorded so far, in a new array. */
    int[] runStarts() {
        return java.util.Arrays.copyOf(runStarts, runCount);
    }

    /** The chunk starts recorded so far, in a new array. */
    int[] chunkStarts() {
        return java.util.Arrays.copyOf(chunkStarts, chunkCount);
    }
}
