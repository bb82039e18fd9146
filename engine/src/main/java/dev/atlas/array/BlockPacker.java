package dev.atlas.array;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.internal.format.StatsKernel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Packs a pending layer's chunks into blocks: the open block grows in memory and is sealed at the
 * target size (or holds one large chunk alone); whole blocks of chunks laid out by a streamed
 * write are adopted as slices without a copy. Not thread-safe: only its {@link PendingLayer}
 * calls it, under that layer's monitor.
 */
final class BlockPacker {
    private final long blockTarget;
    private final long soloChunkSize;
    private final ByteBufAllocator allocator;
    private final List<PendingBlock> blocks = new ArrayList<>();
    private PendingBlock open;

    BlockPacker(long blockTarget, long soloChunkSize, ByteBufAllocator allocator) {
        this.blockTarget = blockTarget;
        this.soloChunkSize = soloChunkSize;
        this.allocator = allocator;
    }

    /** Every block, by id (the layer's view; guarded by the layer). */
    List<PendingBlock> blocks() {
        return blocks;
    }

    /** Drops the open block (the layer releases every block's bytes). */
    void clearOpen() {
        open = null;
    }

    /**
     * Appends encoded chunks to the blocks without making them visible (see {@link PendingLayer#publish}). A
     * block is sealed before a chunk that would take it past the target, and as soon as it reaches
     * the target, so blocks stay below the target unless one chunk alone is larger. A chunk of
     * {@code soloChunkSize} bytes or more gets a block of its own.
     *
     * @param encoded read from position to limit, not modified
     * @return the chunks' addresses and the blocks sealed by this call, which the caller must {@link PendingLayer#spill}
     */
    PendingLayer.Staged stage(List<ByteBuffer> encoded, Object run) {
        List<PendingBlock> sealed = new ArrayList<>();
        List<ChunkAddress> addresses = new ArrayList<>(encoded.size());
        for (ByteBuffer bytes : encoded) {
            addresses.add(append(bytes.remaining(), (dst, at) -> dst.setBytes(at, bytes.duplicate()), sealed, run));
        }
        return new PendingLayer.Staged(addresses, sealed);
    }

    /** Writes one chunk's encoded bytes straight into a block (see {@link #stageInto}). */
    interface ChunkFiller {
        /** Writes exactly the chunk's bytes at {@code [at, at + length)} of {@code dst}; nothing else. */
        void fill(ByteBuf dst, int at);
    }

    /**
     * As {@link #stage} for one fixed-width chunk of {@code length} bytes ({@code count} elements)
     * that {@code filler} writes in place in the open block (under the layer's monitor): no intermediate
     * copy. Its statistics go to {@code acc} (empty) on the codec thread that compresses the block
     * (see {@link ChunkStats}); the entry is added to {@code stats}.
     */
    PendingLayer.Staged stageInto(int length, ChunkFiller filler, StatsKernel.Accumulator acc,
            long count, List<ChunkStats> stats, Object run) {
        List<PendingBlock> sealed = new ArrayList<>(1);
        ChunkAddress a = append(length, filler, sealed, run);
        stats.add(deferStats(a, acc, count));
        return new PendingLayer.Staged(List.of(a), sealed);
    }

    /** Registers the statistics of the chunk at {@code a} with its block, to be taken before it compresses. */
    private ChunkStats deferStats(ChunkAddress a, StatsKernel.Accumulator acc, long count) {
        ChunkStats cs = ChunkStats.deferred(acc, (int) a.offset(), (int) a.size(), count);
        PendingBlock b = blocks.get((int) a.blockId());
        if (b.deferredStats == null) {
            b.deferredStats = new ArrayList<>();
        }
        b.deferredStats.add(cs);
        return cs;
    }

    /**
     * Stages {@code chunks}, fixed-width chunks already laid out one after the other (their lengths
     * in {@code lengths}), packed into blocks exactly as {@link #stage} would pack them, but a block
     * that these chunks fill from empty to sealed is not copied: it holds a retained slice of
     * {@code chunks}. Chunks that top up the open block, and a tail that leaves a block open, are
     * copied into the open block as usual. Statistics are deferred to the blocks' compression.
     *
     * @param chunks not released: the caller keeps its reference (the blocks take their own)
     * @param counts each chunk's element count
     * @param newStats an empty accumulator for each chunk
     * @param stats receives each chunk's statistics, in order
     * @return the chunks' addresses and the blocks sealed (the caller must {@link PendingLayer#spill} them)
     */
    PendingLayer.Staged adopt(ByteBuf chunks, int[] lengths, long[] counts,
            Supplier<StatsKernel.Accumulator> newStats, List<ChunkStats> stats, Object run) {
        List<PendingBlock> sealed = new ArrayList<>();
        List<ChunkAddress> addresses = new ArrayList<>(lengths.length);
        int n = lengths.length;
        int i = 0;
        int pos = chunks.readerIndex();
        // Top up a non-empty open block until it seals (copies, as stage does).
        while (i < n && open != null && open.raw.readableBytes() > 0) {
            if (lengths[i] >= soloChunkSize || open.raw.readableBytes() + (long) lengths[i] > blockTarget) {
                sealed.add(sealOpen());
                break;
            }
            copyIn(chunks, pos, lengths[i], counts[i], newStats, addresses, stats, sealed, run);
            pos += lengths[i++];
        }
        // Whole blocks, from empty to sealed: slices, no copy.
        while (i < n && (open == null || open.raw.readableBytes() == 0)) {
            long size = lengths[i];
            int j = i + 1;
            if (lengths[i] < soloChunkSize) {
                while (j < n && lengths[j] < soloChunkSize && size < blockTarget && size + lengths[j] <= blockTarget) {
                    size += lengths[j];
                    j++;
                }
            }
            // Sealed unless these chunks ran out first with the block still below its target.
            if (j == n && lengths[i] < soloChunkSize && size < blockTarget) {
                break;
            }
            PendingBlock b = new PendingBlock(blocks.size());
            b.raw = chunks.retainedSlice(pos, (int) size);
            b.uncompressedSize = size;
            blocks.add(b);
            int off = 0; // a block of this call alone: one run
            for (int k = i; k < j; k++) {
                ChunkAddress a = new ChunkAddress(b.id, off, lengths[k]);
                b.chunkAt(off);
                addresses.add(a);
                stats.add(deferStats(a, newStats.get(), counts[k]));
                off += lengths[k];
            }
            sealed.add(b);
            pos += (int) size;
            i = j;
        }
        // The tail starts the next open block (copies).
        for (; i < n; i++) {
            copyIn(chunks, pos, lengths[i], counts[i], newStats, addresses, stats, sealed, run);
            pos += lengths[i];
        }
        return new PendingLayer.Staged(addresses, sealed);
    }

    /** Appends one chunk of {@code chunks} by copy, its statistics deferred to its block. */
    private void copyIn(ByteBuf chunks, int pos, int len, long count,
            Supplier<StatsKernel.Accumulator> newStats, List<ChunkAddress> addresses,
            List<ChunkStats> stats, List<PendingBlock> sealed, Object run) {
        ChunkAddress a = append(len, (dst, at) -> dst.setBytes(at, chunks, pos, len), sealed, run);
        addresses.add(a);
        stats.add(deferStats(a, newStats.get(), count));
    }

    private ChunkAddress append(int len, ChunkFiller filler, List<PendingBlock> sealed, Object run) {
        boolean solo = len >= soloChunkSize;
        if (open != null && open.raw.readableBytes() > 0 && (solo || open.raw.readableBytes() + (long) len > blockTarget)) {
            sealed.add(sealOpen());
        }
        if (open == null) {
            open = new PendingBlock(blocks.size());
            // A solo chunk gets exactly its size. Large chunks (a sixteenth of the target or more)
            // start the block at its full size; small ones start small, so many files with a small
            // pending write hold little.
            long full = Math.min(blockTarget, MAX_INITIAL_BLOCK);
            int initial = solo ? len : (int) Math.max(len, len * 16L >= full ? full : Math.min(64 * 1024, full));
            open.raw = allocator.directBuffer(initial, Integer.MAX_VALUE - 8);
            blocks.add(open);
            lastRun = NO_RUN;
        }
        if (open.raw.readableBytes() + (long) len > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("chunk of " + len + " bytes does not fit a block");
        }
        growOpen(len);
        int offset = open.raw.writerIndex();
        filler.fill(open.raw, offset);
        open.raw.writerIndex(offset + len);
        ChunkAddress address = new ChunkAddress(open.id, offset, len);
        open.chunkAt(offset - open.raw.readerIndex());
        if (!java.util.Objects.equals(run, lastRun)) {
            open.runAt(offset - open.raw.readerIndex());
            lastRun = run;
        }
        if (solo || open.raw.readableBytes() >= blockTarget) {
            sealed.add(sealOpen());
        }
        return address;
    }

    /**
     * The run (the entry, for writes) of the last chunk appended to the open block: a chunk of
     * another run starts a new one (see {@link PendingBlock#runAt}), so the chunks of concurrent
     * writes to different entries, interleaved in one block, still form one run per stretch.
     */
    private Object lastRun = NO_RUN;
    private static final Object NO_RUN = new Object();

    /** The largest capacity an open block starts with, or jumps to on its first growth. */
    private static final long MAX_INITIAL_BLOCK = 8L << 20;

    /**
     * Makes room for {@code len} more bytes in the open block. It grows by a fresh buffer from the
     * engine's allocator (at least doubling, straight to the block target when that is within
     * {@link #MAX_INITIAL_BLOCK}), not by {@code ensureWritable}: a pooled buffer reallocating past
     * Netty's chunk size gets fresh, zeroed memory each time, where the engine's allocator recycles
     * block-sized buffers.
     */
    private void growOpen(int len) {
        ByteBuf raw = open.raw;
        if (raw.writableBytes() >= len) {
            return;
        }
        long needed = (long) raw.writerIndex() + len;
        long want = Math.max(2L * raw.capacity(), Math.min(blockTarget, MAX_INITIAL_BLOCK));
        int cap = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(needed, want));
        ByteBuf bigger = allocator.directBuffer(cap, Integer.MAX_VALUE - 8);
        try {
            bigger.writeBytes(raw, raw.readerIndex(), raw.readableBytes());
        } catch (RuntimeException e) {
            bigger.release();
            throw e;
        }
        open.raw = bigger;
        raw.release();
    }

    private PendingBlock sealOpen() {
        PendingBlock b = open;
        open = null;
        b.uncompressedSize = b.raw.readableBytes();
        return b;
    }

    /** Seals the open block (if any) and returns every block still held in memory, for spilling. */
    List<PendingBlock> sealAll() {
        if (open != null) {
            sealOpen();
        }
        List<PendingBlock> out = new ArrayList<>();
        for (PendingBlock b : blocks) {
            if (b.raw != null) {
                out.add(b);
            }
        }
        return out;
    }
}
