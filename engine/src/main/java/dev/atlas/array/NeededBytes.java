package dev.atlas.array;

import dev.atlas.codec.BlockRanges;
import dev.atlas.codec.CodecId;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.internal.nd.ChunkGrid;

/**
 * The bytes of a block a fixed-width region read actually copies from: per chunk, from the first
 * to the last element of the region inside it (elements are in C order, so a region that starts
 * at a chunk's origin needs a prefix of it). A codec that can stop early decodes only these.
 */
final class NeededBytes {
    /**
     * Below this share of the block, a read asks for its ranges; above it the whole block is
     * decoded and cached as one entry that every read shares (the little left to skip is not worth
     * a cache entry of its own).
     */
    private static final double PARTIAL_SHARE = 0.9;

    /**
     * For reads of one dataset ({@link RegionAssembler}; bulk reads across datasets use
     * {@link #bulk}). Off by default: measured on AtlasBench profile and gridded
     * (benchmarks/RESULTS.md, issue 25) while stacked reads still fetched each dataset apart,
     * partial decoding did not make them faster (a block shared by 7 datasets became 7 partial
     * loads, each with its own buffer and cache entries), although it cuts codec CPU 1.5-2x.
     * System property {@code atlas.partialDecode=true} turns it on.
     */
    static volatile boolean enabled = Boolean.getBoolean("atlas.partialDecode");

    /**
     * Whether a bulk read across datasets ({@link AcrossReads}) decodes only the union of the
     * ranges its datasets need of each block, for blocks that decode in parts (zstd frames, which
     * the engine writes: {@code FORMAT.md} 7.1). On by default: such a read decodes each block once
     * for all its datasets, so the parts cost no extra reads or loads (benchmarks/RESULTS.md,
     * issue 25). System property {@code atlas.bulkPartialDecode=false} turns it off.
     */
    static volatile boolean bulk = !"false".equalsIgnoreCase(System.getProperty("atlas.bulkPartialDecode"));

    /**
     * Whether a bulk read decodes a block of one zstd frame (the reference crate's layout, and
     * Atlas files written with one frame per block) only up to the last byte its datasets need,
     * with a streaming decoder that stops there, when that is at most {@link #PREFIX_SHARE} of a
     * block larger than {@link #PREFIX_MIN_BLOCK}. System property {@code atlas.prefixDecode=false}
     * turns it off.
     */
    static volatile boolean prefix = !"false".equalsIgnoreCase(System.getProperty("atlas.prefixDecode"));

    /**
     * The largest share of a one-frame block a bulk read decodes as a prefix; beyond it the whole
     * block is decoded with the one-shot decoder, which is faster per byte than streaming.
     */
    static final double PREFIX_SHARE = 0.5;

    /** Blocks up to one zstd block (128 KiB) cannot stop earlier than their end: decoded whole. */
    static final long PREFIX_MIN_BLOCK = 128 << 10;

    private NeededBytes() {
    }

    /**
     * The ranges of {@code r}'s block that the region {@code start}/{@code shape} of an array of
     * {@code grid} with {@code width}-byte elements needs; null for the whole block (pending
     * blocks, codecs that decode only whole, or when it needs nearly all of it).
     */
    static BlockRanges of(ReadPlanner.BlockRead r, ChunkGrid grid, long width, long[] start, long[] shape) {
        if (!enabled) {
            return null;
        }
        return ranges(r, k -> grid, width, start, shape);
    }

    /**
     * The union of the ranges of shared block {@code b} that the region {@code start}/{@code shape}
     * needs in every dataset taking chunks from it (dataset {@code i}'s array laid out by
     * {@code grids[i]}); null for the whole block, as {@link #of}.
     */
    static BlockRanges across(ReadPlanner.SharedBlock b, ChunkGrid[] grids, long width, long[] start, long[] shape) {
        if (!bulk) {
            return null;
        }
        int[] datasets = b.datasets();
        return ranges(b.read(), k -> grids[datasets[k]], width, start, shape);
    }

    /** The ranges of {@code r}'s block the region needs, its {@code k}th chunk in the grid {@code gridOf} gives. */
    private static BlockRanges ranges(ReadPlanner.BlockRead r, java.util.function.IntFunction<ChunkGrid> gridOf, long width,
            long[] start, long[] shape) {
        if (r.pending() != null || r.meta() == null || !CodecId.ZSTD.equals(r.meta().codec())) {
            return null;
        }
        int rank = start.length;
        long[] pairs = new long[2 * r.coords().size()];
        for (int i = 0; i < r.coords().size(); i++) {
            ChunkGrid grid = gridOf.apply(i);
            long[] coord = r.coords().get(i);
            ChunkAddress addr = r.addresses().get(i);
            long[] origin = grid.chunkOrigin(coord);
            long[] extent = grid.chunkExtent(coord);
            long first = 0;
            long last = 0;
            long stride = 1;
            boolean empty = false;
            for (int d = rank - 1; d >= 0; d--) {
                long a = Math.max(start[d] - origin[d], 0);
                long b = Math.min(start[d] + shape[d] - origin[d], extent[d]);
                if (a >= b) {
                    empty = true;
                    break;
                }
                first += a * stride;
                last += (b - 1) * stride;
                stride *= extent[d];
            }
            long chunkEnd = addr.offset() + addr.size();
            if (empty) {
                pairs[2 * i] = addr.offset();
                pairs[2 * i + 1] = addr.offset();
                continue;
            }
            pairs[2 * i] = Math.min(chunkEnd, addr.offset() + first * width);
            pairs[2 * i + 1] = Math.min(chunkEnd, addr.offset() + (last + 1) * width);
        }
        BlockRanges ranges = BlockRanges.of(pairs);
        if (ranges.bytes() >= PARTIAL_SHARE * r.meta().uncompressedSize()) {
            return null;
        }
        return ranges;
    }
}
