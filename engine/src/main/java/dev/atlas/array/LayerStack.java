package dev.atlas.array;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.ArrayStats;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.Checksums;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.format.StatsFile;
import dev.atlas.internal.format.StatsStamp;
import dev.atlas.storage.ObjectInfo;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The committed state of a file set, immutable and replaced as a whole: its layers (base first),
 * their merged view, the loaded statistics and whether they describe these layers, the absorbed
 * sidecars still to delete, and the number of the newest committed layer.
 */
record LayerStack(List<Layer> layers, MergedView view, Map<String, ArrayStats> stats, ArrayFile.StatsStatus statsStatus,
        List<ObjectInfo> absorbed, long lastNumber) {

    /**
     * One committed layer; {@code number} is 0 for the base, N for sidecar {@code {stem}.N.af};
     * {@code checksums} are those of its checksum record (null: the layer has none, or the options
     * do not verify).
     */
    record Layer(ObjectInfo object, Footer footer, Map<Long, BlockMeta> blocks, long number, long footerCrc,
            Checksums.Layer checksums) {

        /** A layer whose footer payload (CRC {@code footerCrc}) follows a data region of {@code dataRegion} bytes. */
        static Layer of(ObjectInfo object, Footer footer, long dataRegion, long number, long footerCrc,
                Checksums.Layer checksums) {
            return new Layer(object, footer, blockIndex(footer, object.key(), dataRegion), number, footerCrc, checksums);
        }
    }

    /** The stack of {@code layers} with the statistics read from the stats object (null: none). */
    static LayerStack of(List<Layer> layers, StatsFile stats, StatsStamp stamp, List<ObjectInfo> absorbed, long lastNumber) {
        List<Footer> footers = new ArrayList<>(layers.size());
        for (Layer l : layers) {
            footers.add(l.footer());
        }
        MergedView view = MergedView.of(footers, layers.get(0).object().key());
        Map<String, ArrayStats> table = new LinkedHashMap<>();
        ArrayFile.StatsStatus status = ArrayFile.StatsStatus.NONE;
        if (stats != null) {
            for (ArrayStats s : stats.arrays()) {
                table.put(s.name(), s);
            }
            if (stamp == null) {
                status = ArrayFile.StatsStatus.UNVERIFIED;
            } else {
                status = stamp.equals(stampOf(layers)) ? ArrayFile.StatsStatus.CURRENT : ArrayFile.StatsStatus.STALE;
            }
        }
        return new LayerStack(List.copyOf(layers), view, Collections.unmodifiableMap(table), status, List.copyOf(absorbed),
                lastNumber);
    }

    /** The stamp of this stack, which a stats file written for it carries. */
    StatsStamp stamp() {
        return stampOf(layers);
    }

    /** The stamp of a layer stack: its size and the hash of each layer's key, size and footer checksum. */
    private static StatsStamp stampOf(List<Layer> layers) {
        long h = StatsStamp.EMPTY_STACK;
        for (Layer l : layers) {
            h = StatsStamp.hashLayer(h, l.object().key(), l.object().size(), l.footerCrc());
        }
        return new StatsStamp(layers.size(), h);
    }

    /** This stack with {@code stats}, known to describe it. */
    LayerStack withStats(Map<String, ArrayStats> stats) {
        return new LayerStack(layers, view, Collections.unmodifiableMap(new LinkedHashMap<>(stats)),
                ArrayFile.StatsStatus.CURRENT, absorbed, lastNumber);
    }

    /** This stack with the absorbed sidecars still to delete. */
    LayerStack withAbsorbed(List<ObjectInfo> stillAbsorbed) {
        return new LayerStack(layers, view, stats, statsStatus, List.copyOf(stillAbsorbed), lastNumber);
    }

    /** The blocks of a footer by id, each checked to lie in the data region. */
    static Map<Long, BlockMeta> blockIndex(Footer f, String key, long dataRegion) {
        Map<Long, BlockMeta> blocks = new HashMap<>();
        for (BlockMeta b : f.blocks()) {
            if (b.fileEnd() > dataRegion) {
                throw new CorruptFileException(key, "block " + b.id() + " spans [" + b.fileOffset() + ", "
                        + b.fileEnd() + ") beyond the " + dataRegion + "-byte data region");
            }
            blocks.put(b.id(), b);
        }
        return blocks;
    }

    /** The CRC32C of a footer payload (read from position to limit, not moved). */
    static long crc(ByteBuffer payload) {
        CRC32C c = new CRC32C();
        c.update(payload.duplicate());
        return c.getValue();
    }
}
