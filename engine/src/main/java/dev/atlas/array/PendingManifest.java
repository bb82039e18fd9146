package dev.atlas.array;

import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.format.AttributeValue;
import dev.atlas.internal.format.Attributes;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.internal.format.ChunkEntry;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.StatsKernel;
import dev.atlas.internal.nd.GridCoord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The array entries of a pending layer (definitions, copies of committed arrays that got chunks or
 * attributes, tombstones) with their chunk addresses and statistics, and the footer they become.
 * Not thread-safe: only its {@link PendingLayer} calls it, under that layer's monitor.
 */
final class PendingManifest {

    /** One array entry of the layer; an opaque handle outside this class. */
    static final class Entry {
        private final String name;
        /** Schema (chunks and attributes unused), or null for a tombstone only. */
        private ArrayMeta schema;
        /** The committed incarnation this layer deletes; a tombstone for it is written first. */
        private ArrayMeta buried;
        /** True when the array was defined in this layer: older layers' chunks are not its own. */
        private boolean fresh;
        private final Map<GridCoord, ChunkAddress> chunks = new HashMap<>();
        /**
         * Statistics of the chunks as written, so a flush need not read them back; a chunk without
         * an entry here, or whose entry is not {@link ChunkStats#ready()} yet, is read when
         * statistics are due.
         */
        private final Map<GridCoord, ChunkStats> chunkStats = new HashMap<>();
        private final LinkedHashMap<String, AttributeValue> attributes = new LinkedHashMap<>();

        private Entry(String name) {
            this.name = name;
        }

        /** The chunk's address, or null when this entry does not hold it. */
        ChunkAddress chunk(GridCoord g) {
            return chunks.get(g);
        }
    }

    /**
     * What a reader sees of one entry, copied: {@code entry} is the handle to pass back.
     * {@code schema} null: the array is deleted here; {@code buries}: a committed incarnation is
     * tombstoned; {@code fresh}: defined here (older chunks are not its own).
     */
    record PendingArray(Entry entry, String name, ArrayMeta schema, boolean buries, boolean fresh, boolean hasChunks,
            List<Map.Entry<String, AttributeValue>> attributes) {
    }

    /** Statistics of an entry's chunks taken when they were written, ready now: the chunks and their accumulators. */
    record ReadyStats(Set<GridCoord> chunks, List<StatsKernel.Accumulator> accumulators) {
        static final ReadyStats NONE = new ReadyStats(Set.of(), List.of());
    }

    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

    boolean isEmpty() {
        return entries.isEmpty();
    }

    private static PendingArray view(Entry e) {
        List<Map.Entry<String, AttributeValue>> attrs = new ArrayList<>(e.attributes.size());
        e.attributes.forEach((k, v) -> attrs.add(Map.entry(k, v)));
        return new PendingArray(e, e.name, e.schema, e.buried != null, e.fresh, !e.chunks.isEmpty(), attrs);
    }

    PendingArray resolve(String name) {
        Entry e = entries.get(name);
        return e == null ? null : view(e);
    }

    List<PendingArray> arrays() {
        List<PendingArray> out = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            out.add(view(e));
        }
        return out;
    }

    ReadyStats readyStats(Entry e) {
        Set<GridCoord> known = new HashSet<>();
        List<StatsKernel.Accumulator> accs = new ArrayList<>();
        for (Map.Entry<GridCoord, ChunkAddress> c : e.chunks.entrySet()) {
            ChunkStats cs = e.chunkStats.get(c.getKey());
            if (cs != null && cs.ready()) {
                known.add(c.getKey());
                accs.add(cs.acc);
            }
        }
        return new ReadyStats(known, accs);
    }

    /** Defines {@code schema}, moving the entry to the end; {@code buried}: a committed incarnation to tombstone first, or null. */
    Entry define(ArrayMeta schema, ArrayMeta buried) {
        Entry old = entries.remove(schema.name());
        Entry e = new Entry(schema.name());
        e.schema = schema;
        e.fresh = true;
        e.buried = buried != null ? buried : old == null ? null : old.buried;
        entries.put(e.name, e);
        return e;
    }

    /** The entry of a committed array, created as a copy (no chunks) with its resolved attributes. */
    Entry copy(ArrayMeta schema, Map<String, AttributeValue> attributes) {
        Entry e = entries.get(schema.name());
        if (e == null) {
            e = new Entry(schema.name());
            e.schema = schema;
            e.attributes.putAll(attributes);
            entries.put(e.name, e);
        }
        return e;
    }

    /** Deletes {@code name}: a tombstone when a committed incarnation must be hidden, else the entry disappears. */
    void delete(String name, ArrayMeta buried) {
        Entry old = entries.get(name);
        ArrayMeta b = buried != null ? buried : old == null ? null : old.buried;
        if (b == null) {
            entries.remove(name);
            return;
        }
        Entry e = new Entry(name);
        e.buried = b;
        entries.put(name, e);
    }

    void setAttribute(Entry e, String key, AttributeValue value) {
        e.attributes.put(key, value);
    }

    /** Makes chunks visible, replacing earlier addresses of the same coordinates, with their statistics (null: unknown). */
    void publish(Entry e, List<long[]> coords, List<ChunkAddress> addresses, List<ChunkStats> stats) {
        for (int i = 0; i < coords.size(); i++) {
            GridCoord g = GridCoord.of(coords.get(i));
            e.chunks.put(g, addresses.get(i));
            ChunkStats a = stats == null ? null : stats.get(i);
            if (a == null) {
                e.chunkStats.remove(g);
            } else {
                e.chunkStats.put(g, a);
            }
        }
    }

    /**
     * The footer of these entries over blocks {@code metas}, block ids mapped by {@code renumbered}:
     * entries in layer order (a tombstone before a re-definition), chunks in C order of their grid
     * coordinates, attributes interned into the layer's own dictionaries.
     */
    Footer footer(int version, List<BlockMeta> metas, long[] renumbered, long overlayIndex, String baseHint) {
        List<String> keys = new ArrayList<>();
        Map<String, Long> keyIndex = new HashMap<>();
        List<AttributeValue> values = new ArrayList<>();
        Map<AttributeValue, Long> valueIndex = new HashMap<>();
        List<ArrayMeta> arrays = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.buried != null) {
                arrays.add(e.buried.asTombstone().withAttributes(Attributes.EMPTY));
            }
            if (e.schema == null) {
                continue;
            }
            Attributes pairs = Attributes.EMPTY;
            for (Map.Entry<String, AttributeValue> a : e.attributes.entrySet()) {
                long k = keyIndex.computeIfAbsent(a.getKey(), x -> {
                    keys.add(x);
                    return (long) keys.size() - 1;
                });
                long v = valueIndex.computeIfAbsent(a.getValue(), x -> {
                    values.add(x);
                    return (long) values.size() - 1;
                });
                pairs = pairs.with(k, v);
            }
            List<ChunkEntry> chunks = new ArrayList<>(e.chunks.size());
            for (Map.Entry<GridCoord, ChunkAddress> c : e.chunks.entrySet()) {
                ChunkAddress a = c.getValue();
                chunks.add(new ChunkEntry(c.getKey().toArray(), new ChunkAddress(renumbered[(int) a.blockId()], a.offset(), a.size())));
            }
            chunks.sort(CHUNK_ORDER);
            arrays.add(e.schema.withChunks(chunks).withAttributes(pairs));
        }
        return new Footer(version, metas, arrays, keys, values, overlayIndex, baseHint);
    }

    private static final Comparator<ChunkEntry> CHUNK_ORDER = (a, b) -> {
        for (int i = 0; i < a.rank(); i++) {
            int c = Long.compare(a.coord(i), b.coord(i));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    };
}
