package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.AttributeValue;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.GridCoord;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The merged, visible state of a stack of layer footers (base first), with the intended semantics
 * that fix the reference crate's merge bugs:
 * <ul>
 *   <li>the newest meta of a name decides its schema; a tombstone hides the name;</li>
 *   <li>a chunk coordinate resolves to the newest layer holding it, searching from the newest
 *       meta's layer downwards and stopping at the first tombstone, or after a layer whose footer
 *       lists a tombstone and then a definition of the name (a delete and re-define committed in
 *       one layer), so older incarnations of a deleted and re-defined name stay hidden;</li>
 *   <li>attribute index pairs resolve against the dictionaries of the meta's own layer; pairs
 *       outside them are absent; a layer with both dictionaries empty had no attribute change, so
 *       its pairs are copies and resolve against the next older layer of the name that has
 *       dictionaries (stopping at a tombstone);</li>
 *   <li>list order is first appearance walking layers oldest to newest; a name re-defined after
 *       a delete moves to the end.</li>
 * </ul>
 * Pure and immutable once built.
 */
public final class MergedView {

    /** Where a visible chunk lives: layer index (0 = base) and address in that layer. */
    public record ChunkSource(int layer, ChunkAddress address) {
    }

    /** One visible array. */
    public static final class VisibleArray {
        private final ArrayMeta meta;
        private final int metaLayer;
        private final ChunkGrid grid;
        private final Map<GridCoord, ChunkSource> chunks;
        private final List<Map.Entry<String, AttributeValue>> attributes;

        VisibleArray(ArrayMeta meta, int metaLayer, ChunkGrid grid, Map<GridCoord, ChunkSource> chunks,
                List<Map.Entry<String, AttributeValue>> attributes) {
            this.meta = meta;
            this.metaLayer = metaLayer;
            this.grid = grid;
            this.chunks = Collections.unmodifiableMap(chunks);
            this.attributes = List.copyOf(attributes);
        }

        /** The newest meta (schema); its chunk list is only that layer's chunks. */
        public ArrayMeta meta() {
            return meta;
        }

        public String name() {
            return meta.name();
        }

        /** Layer index of the newest meta. */
        public int metaLayer() {
            return metaLayer;
        }

        public ChunkGrid grid() {
            return grid;
        }

        /** Every visible stored chunk, by grid coordinate. */
        public Map<GridCoord, ChunkSource> chunks() {
            return chunks;
        }

        /** Resolved attributes in pair order. */
        public List<Map.Entry<String, AttributeValue>> attributes() {
            return attributes;
        }

        /** The value of attribute {@code key}, or null. */
        public AttributeValue attribute(String key) {
            for (Map.Entry<String, AttributeValue> e : attributes) {
                if (e.getKey().equals(key)) {
                    return e.getValue();
                }
            }
            return null;
        }
    }

    private final List<Footer> layers;
    private final Map<String, VisibleArray> visible;

    private MergedView(List<Footer> layers, Map<String, VisibleArray> visible) {
        this.layers = layers;
        this.visible = visible;
    }

    /**
     * Merges {@code layers} (index 0 = base, then sidecars in ascending order).
     *
     * @param file names the file set in error messages
     * @throws CorruptFileException if a visible array's schema is unusable (rank mismatch, zero chunk
     *     extent on a non-empty axis)
     */
    public static MergedView of(List<Footer> layers, String file) {
        List<Footer> ls = List.copyOf(layers);
        // Per layer: name -> meta (last wins inside one footer).
        List<Map<String, ArrayMeta>> byName = new ArrayList<>(ls.size());
        // Per layer: names whose entry is a definition preceded by a tombstone in the same footer
        // (a delete and re-define committed together): a barrier for older chunks, like a tombstone.
        List<Set<String>> redefined = new ArrayList<>(ls.size());
        LinkedHashMap<String, Integer> order = new LinkedHashMap<>();
        for (int li = 0; li < ls.size(); li++) {
            Map<String, ArrayMeta> m = new HashMap<>();
            Set<String> r = new HashSet<>();
            for (ArrayMeta a : ls.get(li).arrays()) {
                ArrayMeta prev = m.put(a.name(), a);
                if (a.deleted()) {
                    order.remove(a.name());
                    r.remove(a.name());
                } else {
                    order.put(a.name(), li);
                    if (prev != null && prev.deleted()) {
                        r.add(a.name());
                    }
                }
            }
            byName.add(m);
            redefined.add(r);
        }
        LinkedHashMap<String, VisibleArray> visible = new LinkedHashMap<>();
        for (String name : order.keySet()) {
            int metaLayer = -1;
            for (int li = ls.size() - 1; li >= 0; li--) {
                if (byName.get(li).containsKey(name)) {
                    metaLayer = li;
                    break;
                }
            }
            ArrayMeta meta = byName.get(metaLayer).get(name);
            ChunkGrid grid;
            try {
                grid = ChunkGrid.of(meta.shape(), meta.chunkShape());
            } catch (RuntimeException e) {
                throw new CorruptFileException(file, "array '" + name + "' has an unusable schema: " + e.getMessage(), e);
            }
            Map<GridCoord, ChunkSource> chunks = new LinkedHashMap<>();
            for (int li = metaLayer; li >= 0; li--) {
                ArrayMeta m = byName.get(li).get(name);
                if (m == null) {
                    continue;
                }
                if (m.deleted()) {
                    break;
                }
                for (ChunkEntry e : m.chunks()) {
                    long[] c = e.coord();
                    if (grid.contains(c)) {
                        chunks.putIfAbsent(GridCoord.of(c), new ChunkSource(li, e.address()));
                    }
                }
                if (redefined.get(li).contains(name)) {
                    break;
                }
            }
            visible.put(name, new VisibleArray(meta, metaLayer, grid, chunks,
                    resolveAttributes(ls, byName, redefined, name, metaLayer, meta.attributes())));
        }
        return new MergedView(ls, Collections.unmodifiableMap(visible));
    }

    private static List<Map.Entry<String, AttributeValue>> resolveAttributes(List<Footer> ls,
            List<Map<String, ArrayMeta>> byName, List<Set<String>> redefined, String name, int metaLayer,
            Attributes ownPairs) {
        int dictLayer = metaLayer;
        Attributes pairs = ownPairs;
        // A layer with no dictionaries had no attribute change: its pairs are copies, so the
        // attributes are those of the next older meta of the name (unless a tombstone intervenes).
        while (pairs.size() > 0 && ls.get(dictLayer).attrKeys().isEmpty() && ls.get(dictLayer).attrValues().isEmpty()
                && !redefined.get(dictLayer).contains(name)) {
            int older = -1;
            for (int li = dictLayer - 1; li >= 0; li--) {
                if (byName.get(li).containsKey(name)) {
                    older = li;
                    break;
                }
            }
            if (older < 0 || byName.get(older).get(name).deleted()) {
                break;
            }
            dictLayer = older;
            pairs = byName.get(older).get(name).attributes();
        }
        Footer f = ls.get(dictLayer);
        // Pair order is kept; should two pairs name the same key (only a damaged dictionary can do
        // that), the later value wins.
        LinkedHashMap<String, AttributeValue> resolved = new LinkedHashMap<>();
        for (int i = 0; i < pairs.size(); i++) {
            long k = pairs.keyIndex(i);
            long v = pairs.valueIndex(i);
            if (k >= 0 && k < f.attrKeys().size() && v >= 0 && v < f.attrValues().size()) {
                resolved.put(f.attrKeys().get((int) k), f.attrValues().get((int) v));
            }
        }
        List<Map.Entry<String, AttributeValue>> out = new ArrayList<>(resolved.size());
        for (Map.Entry<String, AttributeValue> e : resolved.entrySet()) {
            out.add(new AbstractMap.SimpleImmutableEntry<>(e.getKey(), e.getValue()));
        }
        return out;
    }

    /** The footers this view merged, base first. */
    public List<Footer> layers() {
        return layers;
    }

    /** Visible arrays in list order. */
    public Map<String, VisibleArray> arrays() {
        return visible;
    }

    /** The visible array {@code name}, or null. */
    public VisibleArray array(String name) {
        return visible.get(name);
    }

    /** Names that appear in some layer but are deleted (tombstoned) in the merged state. */
    public List<String> deletedNames() {
        List<String> out = new ArrayList<>();
        for (Footer f : layers) {
            for (ArrayMeta a : f.arrays()) {
                if (!visible.containsKey(a.name()) && !out.contains(a.name())) {
                    out.add(a.name());
                }
            }
        }
        return out;
    }
}
